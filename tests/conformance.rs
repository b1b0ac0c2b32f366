//! Golden conformance: in ChatMD-compatible mode, every case of ChatMD's golden files gives
//! the same answer and the same best score (to 6 decimals) as ChatMD 8.12 itself.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::Path;
use std::sync::Arc;

use guichet::engine::{Conversation, Engine, Input, MatchingMode, Rng};
use guichet::kb;
use guichet::strings::Strings;
use serde_json::Value;

fn golden(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/golden")
        .join(name)
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Runs every case of one golden file; returns the failures.
fn run(base: &str, golden_file: &str) -> (usize, Vec<String>) {
    let (kb, _) = kb::load(&golden(base)).unwrap();
    let engine = Engine::new(Arc::new(kb), MatchingMode::Chatmd, Strings::default());
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(golden(golden_file)).unwrap()).unwrap();
    let mut failures = Vec::new();
    for (n, case) in cases.iter().enumerate() {
        let mut conversation = Conversation::default();
        let mut rng = Rng::seeded(n as u64);
        engine.reply(&mut conversation, Input::Start, &mut rng);
        let history: Vec<&str> = case["history"]
            .as_array()
            .map(|h| h.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (i, step) in history.iter().enumerate() {
            let reply = engine.reply(
                &mut conversation,
                Input::Text((*step).to_string()),
                &mut rng,
            );
            if let Some(expected) = case["historyExpected"][i].as_str()
                && reply.answer.name() != expected
            {
                failures.push(format!(
                    "{golden_file} #{n} history {step:?}: got {}, expected {expected}",
                    reply.answer.name()
                ));
            }
        }
        let input = case["input"].as_str().unwrap();
        let reply = engine.reply(&mut conversation, Input::Text(input.to_string()), &mut rng);
        let expected = case["expected"].as_str().unwrap();
        if reply.answer.name() != expected {
            failures.push(format!(
                "{golden_file} #{n} {input:?}: got {} ({:?}), expected {expected}",
                reply.answer.name(),
                reply.path
            ));
        }
        if let Some(shown) = case["shown"].as_str() {
            let got = match &reply.answer {
                guichet::engine::Answer::Fallback { shown } => shown.clone(),
                _ => None,
            };
            if got.as_deref() != Some(shown) {
                failures.push(format!(
                    "{golden_file} #{n} {input:?}: fallback showed {got:?}, expected {shown}"
                ));
            }
        }
        let path = serde_json::to_value(reply.path).unwrap();
        if path.as_str() != case["path"].as_str() {
            failures.push(format!(
                "{golden_file} #{n} {input:?}: path {path}, expected {}",
                case["path"]
            ));
        }
        if let Some(score) = case["bestScore"].as_f64()
            && round6(reply.score) != round6(score)
        {
            failures.push(format!(
                "{golden_file} #{n} {input:?}: score {}, expected {score}",
                round6(reply.score)
            ));
        }
    }
    (cases.len(), failures)
}

#[test]
fn golden_cases_match_chatmd_exactly() {
    let mut total = 0;
    let mut failures = Vec::new();
    for (base, file) in [
        ("mediatheque.md", "mediatheque.golden.json"),
        ("vacances.md", "vacances.golden.json"),
        ("aide-info-on.md", "aide-info-on.golden.json"),
        ("aide-info-off.md", "aide-info-off.golden.json"),
        ("helpdesk-en.md", "helpdesk-en.golden.json"),
        ("ngram-words.md", "ngram-words.golden.json"),
    ] {
        let (count, mut f) = run(base, file);
        total += count;
        failures.append(&mut f);
    }
    println!(
        "golden conformance: {} / {total} cases",
        total - failures.len()
    );
    assert!(total >= 200, "expected every golden case, got {total}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// guichet mode on the same golden cases: every answer differs from ChatMD's only where
/// `guichet-divergences.tsv` says so, with the reason.
#[test]
fn guichet_mode_diverges_only_where_listed() {
    let listed: std::collections::BTreeSet<(String, String, String, String)> =
        std::fs::read_to_string(golden("guichet-divergences.tsv"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                assert_eq!(f.len(), 5, "base, input, ChatMD, guichet, reason: {l}");
                assert!(
                    !f[4].trim().is_empty(),
                    "a divergence needs its reason: {l}"
                );
                (
                    f[0].to_string(),
                    f[1].to_string(),
                    f[2].to_string(),
                    f[3].to_string(),
                )
            })
            .collect();
    let mut found = std::collections::BTreeSet::new();
    for base in [
        "mediatheque",
        "vacances",
        "aide-info-on",
        "aide-info-off",
        "helpdesk-en",
        "ngram-words",
    ] {
        let (kb, _) = kb::load(&golden(&format!("{base}.md"))).unwrap();
        let engine = Engine::new(Arc::new(kb), MatchingMode::Guichet, Strings::default());
        let cases: Vec<Value> = serde_json::from_str(
            &std::fs::read_to_string(golden(&format!("{base}.golden.json"))).unwrap(),
        )
        .unwrap();
        for (n, case) in cases.iter().enumerate() {
            let mut conversation = Conversation::default();
            let mut rng = Rng::seeded(n as u64);
            engine.reply(&mut conversation, Input::Start, &mut rng);
            for step in case["history"].as_array().into_iter().flatten() {
                engine.reply(
                    &mut conversation,
                    Input::Text(step.as_str().unwrap().to_string()),
                    &mut rng,
                );
            }
            let input = case["input"].as_str().unwrap();
            let reply = engine.reply(&mut conversation, Input::Text(input.to_string()), &mut rng);
            let expected = case["expected"].as_str().unwrap();
            if reply.answer.name() != expected {
                found.insert((
                    base.to_string(),
                    input.to_string(),
                    expected.to_string(),
                    reply.answer.name().to_string(),
                ));
            }
        }
    }
    let unexplained: Vec<_> = found.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&found).collect();
    assert!(
        unexplained.is_empty(),
        "divergences without a reason: {unexplained:#?}"
    );
    assert!(
        stale.is_empty(),
        "listed divergences that no longer happen: {stale:#?}"
    );
}
