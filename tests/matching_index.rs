//! The indexed matchers answer exactly as the exhaustive ones (issue 9): over generated
//! knowledge bases and thousands of generated messages, in both content-search settings and
//! both matching modes, the same reply (answer, path, messages) and the same best score, bit
//! for bit, and the same choice under `!SelectNext` and `!Next` candidate restrictions. In
//! guichet mode, every response's score is also compared, not only the winner's, and the
//! lazy ranking the decision reads is compared with sorting every response.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;

use guichet::engine::chatmd::Candidates;
use guichet::engine::guichet::{Evidence, GuichetIndex, Scored};
use guichet::engine::{Conversation, Engine, Input, MatchingMode, Rng, Scoring};
use guichet::strings::Strings;
use proptest::prelude::*;

#[path = "../benches/support/generate.rs"]
mod generate;

/// Messages per generated base and content-search setting.
const MESSAGES_PER_BASE: usize = 50;

fn engines(text: &str, mode: MatchingMode) -> (Engine, Engine) {
    let checked = guichet::kb::parse_str("generated.md", text);
    let kb = Arc::new(checked.kb.expect("generated bases parse"));
    let build = |scoring| Engine::with_scoring(Arc::clone(&kb), mode, Strings::default(), scoring);
    (build(Scoring::Indexed), build(Scoring::Exhaustive))
}

/// guichet mode's index of a base.
fn guichet_index(text: &str) -> GuichetIndex {
    let kb = guichet::kb::parse_str("generated.md", text)
        .kb
        .expect("generated bases parse");
    GuichetIndex::for_kb(&kb)
}

/// guichet mode's index against trying every phrase of every response: the same score for
/// every response, bit for bit (a response the index leaves out must score nothing).
fn same_guichet_scores(text: &str, messages: &[String]) {
    let index = guichet_index(text);
    for message in messages {
        let all = index.score_all(message);
        let mut indexed = vec![Scored::NOTHING; all.len()];
        let mut previous = None;
        for (i, scored) in index.score(message) {
            assert!(previous < Some(i), "{message:?}: not in document order");
            previous = Some(i);
            indexed[i] = scored;
        }
        for (i, (a, b)) in indexed.iter().zip(&all).enumerate() {
            assert_eq!(a, b, "{message:?}, response {i}");
            assert_eq!(
                a.score.to_bits(),
                b.score.to_bits(),
                "{message:?}, response {i}"
            );
            assert_eq!(
                a.coverage.to_bits(),
                b.coverage.to_bits(),
                "{message:?}, response {i}"
            );
        }
    }
}

/// Predicates of "strong" evidence for [`same_ranking`] (each needs an author keyword, as
/// [`GuichetIndex::rank`] requires): the engine's shape, any keyword, none.
const STRONG: [fn(&Scored) -> bool; 3] = [
    |s| s.keyword && s.evidence.is_some_and(Evidence::is_exact) && s.coverage >= 0.5,
    |s| s.keyword,
    |_| false,
];

/// guichet mode's lazy ranking against scoring every response and sorting them: the same
/// responses in the same order with the same relevance, bit for bit, read the way the engine
/// reads it (the first, then those strong and close to it, then the rest).
fn same_ranking(text: &str, messages: &[String]) {
    let index = guichet_index(text);
    for message in messages {
        for strong in STRONG {
            let mut expected: Vec<(usize, Scored)> = index
                .score_all(message)
                .into_iter()
                .enumerate()
                .filter(|(_, s)| s.score > 0.0 && s.evidence.is_some())
                .map(|(i, s)| {
                    let relevance = s.score * s.coverage;
                    (
                        i,
                        Scored {
                            score: relevance,
                            ..s
                        },
                    )
                })
                .filter(|(_, s)| s.score > 0.0)
                .collect();
            expected.sort_by(|a, b| {
                strong(&b.1)
                    .cmp(&strong(&a.1))
                    .then(b.1.score.total_cmp(&a.1.score))
            });
            let mut ranking = index.rank(message, strong);
            let mut read = Vec::new();
            read.extend(ranking.next());
            if let Some(&(_, best)) = read.first() {
                let at_least = best.score * 0.85;
                loop {
                    let next = ranking.next_strong_at_least(at_least);
                    let wanted = expected
                        .get(read.len())
                        .filter(|(_, s)| strong(s) && s.score >= at_least);
                    assert_eq!(next, wanted.copied(), "{message:?}: after {}", read.len());
                    match next {
                        Some(next) => read.push(next),
                        None => break,
                    }
                }
            }
            read.extend(ranking);
            assert_eq!(read.len(), expected.len(), "{message:?}");
            for ((i, a), (j, b)) in read.iter().zip(&expected) {
                assert_eq!((i, a), (j, b), "{message:?}");
                assert_eq!(a.score.to_bits(), b.score.to_bits(), "{message:?}");
            }
        }
    }
}

/// Messages for one base: the generator's realistic queries, plus slices of the base's own
/// text (partial keywords, titles cut anywhere, content words), which reach many more
/// keywords at once, and the same slices with a typo-like change.
fn messages(base: &generate::GeneratedBase, seed: u64) -> Vec<String> {
    let mut messages = generate::queries(base, MESSAGES_PER_BASE / 2, seed);
    let mut rng = Rng::seeded(seed);
    let chars: Vec<char> = base.text.chars().collect();
    while messages.len() < MESSAGES_PER_BASE {
        let start = rng.below(chars.len());
        let len = 1 + rng.below(40);
        let mut slice: String = chars.iter().skip(start).take(len).collect();
        slice = slice.replace('\n', " ");
        if rng.below(2) == 0 && slice.len() > 4 {
            let cut = slice
                .char_indices()
                .nth(rng.below(slice.chars().count()))
                .map_or(0, |(i, _)| i);
            slice.insert(cut, 'x');
        }
        messages.push(slice);
    }
    messages
}

/// Runs one conversation on both engines and compares every reply.
fn same_conversation(indexed: &Engine, exhaustive: &Engine, messages: &[String], seed: u64) {
    let mut conversations = (Conversation::default(), Conversation::default());
    let mut rngs = (Rng::seeded(seed), Rng::seeded(seed));
    let first = indexed.reply(&mut conversations.0, Input::Start, &mut rngs.0);
    let second = exhaustive.reply(&mut conversations.1, Input::Start, &mut rngs.1);
    assert_eq!(first, second);
    for message in messages {
        let a = indexed.reply(
            &mut conversations.0,
            Input::Text(message.clone()),
            &mut rngs.0,
        );
        let b = exhaustive.reply(
            &mut conversations.1,
            Input::Text(message.clone()),
            &mut rngs.1,
        );
        assert_eq!(
            a.score.to_bits(),
            b.score.to_bits(),
            "{message:?}: score {} vs {}",
            a.score,
            b.score
        );
        assert_eq!(a, b, "{message:?}");
        assert_eq!(conversations.0, conversations.1, "{message:?}");
    }
}

/// Compares the scoring step under every kind of candidate restriction.
fn same_choices(
    indexed: &Engine,
    exhaustive: &Engine,
    base: &generate::GeneratedBase,
    messages: &[String],
    seed: u64,
) {
    let mut rng = Rng::seeded(seed);
    for message in messages {
        let title = base.responses[rng.below(base.responses.len())]
            .title
            .as_str();
        // `Candidates::All` is what every conversation turn compares.
        let candidates = [
            Candidates::Selected(title),
            Candidates::Next {
                target: title,
                ignore_keywords: false,
            },
            Candidates::Next {
                target: title,
                ignore_keywords: true,
            },
            Candidates::Selected("no such title"),
        ];
        for candidates in candidates {
            let a = indexed.best_match(message, candidates);
            let b = exhaustive.best_match(message, candidates);
            assert_eq!(
                a.map(|(i, s)| (i, s.to_bits())),
                b.map(|(i, s)| (i, s.to_bits())),
                "{message:?} {candidates:?}: {a:?} vs {b:?}"
            );
        }
        // `!SelectNext` types the drawn title itself (docs/chatmd.md §M9).
        let a = indexed.best_match(title, Candidates::Selected(title));
        let b = exhaustive.best_match(title, Candidates::Selected(title));
        assert_eq!(
            a.map(|(i, s)| (i, s.to_bits())),
            b.map(|(i, s)| (i, s.to_bits()))
        );
    }
}

proptest! {
    // 16 bases × 2 settings × 50 messages: 1,600 conversation turns and 8,000 restricted
    // scorings per run, on new bases each run (failures are kept as regressions). The
    // exhaustive side is slow in debug builds, which bounds the base sizes.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn indexed_matching_equals_exhaustive_matching(
        seed in any::<u64>(),
        responses in 1usize..80,
        edge_cases in any::<bool>(),
    ) {
        for content_search in [false, true] {
            let options = generate::Options {
                edge_cases,
                ..generate::Options::new(responses, seed, content_search)
            };
            let base = generate::generate(&options);
            let messages = messages(&base, seed);
            for mode in [MatchingMode::Chatmd, MatchingMode::Guichet] {
                let (indexed, exhaustive) = engines(&base.text, mode);
                same_conversation(&indexed, &exhaustive, &messages, seed);
                same_choices(&indexed, &exhaustive, &base, &messages, seed);
            }
            same_guichet_scores(&base.text, &messages);
            same_ranking(&base.text, &messages);
        }
    }
}

/// The golden bases and the shipped one, with their own test messages, on both engines.
#[test]
fn real_bases_answer_identically() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (base, cases) in [
        (
            "tests/data/golden/mediatheque.md",
            "tests/data/golden/mediatheque.cases.json",
        ),
        (
            "tests/data/golden/vacances.md",
            "tests/data/golden/vacances.cases.json",
        ),
        (
            "tests/data/golden/aide-info-on.md",
            "tests/data/golden/aide-info.cases.json",
        ),
        (
            "tests/data/golden/aide-info-off.md",
            "tests/data/golden/aide-info.cases.json",
        ),
        (
            "tests/data/golden/helpdesk-en.md",
            "tests/data/golden/helpdesk-en.cases.json",
        ),
    ] {
        let text = std::fs::read_to_string(root.join(base)).unwrap();
        let cases: Vec<serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(root.join(cases)).unwrap()).unwrap();
        let messages: Vec<String> = cases
            .iter()
            .filter_map(|case| case["input"].as_str().map(str::to_string))
            .collect();
        for mode in [MatchingMode::Chatmd, MatchingMode::Guichet] {
            let (indexed, exhaustive) = engines(&text, mode);
            same_conversation(&indexed, &exhaustive, &messages, 7);
        }
        same_guichet_scores(&text, &messages);
        same_ranking(&text, &messages);
    }
    let (kb, _) = guichet::kb::load(&root.join("content")).unwrap();
    let kb = Arc::new(kb);
    let generated = generate::base(30, 11, false);
    let messages = generate::queries(&generated, 200, 11);
    for mode in [MatchingMode::Chatmd, MatchingMode::Guichet] {
        let build =
            |scoring| Engine::with_scoring(Arc::clone(&kb), mode, Strings::default(), scoring);
        same_conversation(
            &build(Scoring::Indexed),
            &build(Scoring::Exhaustive),
            &messages,
            11,
        );
    }
    let index = GuichetIndex::for_kb(&kb);
    for message in &messages {
        let all = index.score_all(message);
        for (i, scored) in index.score(message) {
            assert_eq!(scored, all[i], "{message:?}");
        }
        let found = index.score(message).len();
        let nonzero = all.iter().filter(|s| **s != Scored::NOTHING).count();
        assert!(
            found >= nonzero,
            "{message:?}: {found} scored, {nonzero} non-zero"
        );
    }
}
