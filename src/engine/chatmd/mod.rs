//! ChatMD 8.12 response selection, reproduced to the last digit (`docs/chatmd.md` §M2–§M11).
//!
//! Everything here is pure computation: no I/O, no randomness, no knowledge of platforms.
//! Per knowledge base, build one [`PreparedResponse`] per `## ` section; per typed message,
//! build one [`PreparedInput`]; then [`score_all`] and [`best_of`] give ChatMD's choice.
//!
//! JavaScript semantics matter for exactness and are reproduced deliberately:
//! lengths, substrings, Levenshtein and the common-run scan work on UTF-16 code units
//! (`docs/chatmd.md` §M2, §M14); `trim` and `\s` use JavaScript's white-space set (which includes
//! U+FEFF but not U+0085); floating-point sums keep ChatMD's order, including the order in
//! which JavaScript enumerates object keys when it sums vector components.
//!
//! Deliberate divergences from ChatMD (both are defects there):
//! - `!Next` word-boundary test (§M8): ChatMD pastes the keyword unescaped into a regular
//!   expression, so `? . + * ( [` act as pattern syntax and an invalid pattern makes it fail to
//!   answer. Here the keyword is always matched literally (`docs/chatmd.md` §M14).
//! - Content vectors (§M6): ChatMD stores tokens as keys of a plain JavaScript object, so the
//!   token `constructor` collides with `Object.prototype` and turns its weight into a string.
//!   Here every token is an ordinary key.

mod badwords;
mod content;
mod fuzzy;
mod index;
mod keywords;
mod normalise;
mod score;
mod synonyms;
mod utf16;

pub use crate::distance::levenshtein;
pub use badwords::{BadWords, is_bad_words};
pub use fuzzy::{lcs_weighted, lev_ngrams};
pub use index::{IndexedResponses, Section};
pub use keywords::{KeywordScore, PreparedKeyword, keyword_score};
pub use normalise::{label_matches, normalize};
pub use score::{
    Candidates, PreparedInput, PreparedResponse, ScoreMode, best_of, score_all, score_each,
};
pub use synonyms::{expand_synonyms, prepare_synonym_groups};

// §M5 and §M7 constants (`computeKeywordScore.mjs`, `computeResponseScore.mjs`, `nlp.mjs`).
/// Bonus for a keyword found verbatim (`MATCH_SCORE_IDENTITY`, §M5).
const IDENTITY_BONUS: f64 = 30.0;
/// Per-UTF-16-unit weight of a keyword or n-gram (`WORD_LENGTH_FACTOR`, §M5).
const WORD_LENGTH_FACTOR: f64 = 0.1;
/// An n-gram counts when its edit distance is strictly below this (`LEVENSHTEIN_THRESHOLD`, §M5).
const LEVENSHTEIN_LIMIT: usize = 3;
/// Multiplier of the n-gram credit (`hasLevenshteinDistanceLessThan`, §M5.1).
const NGRAM_BOOST: f64 = 3.0;
/// Penalty for common runs far from the keyword start (`longestCommonSubstringWeightedLength`,
/// §M5.2).
const POSITION_DECAY: f64 = 10.0;
/// A common run must be longer than this to count (§M5.2).
const MIN_COMMON_RUN: usize = 4;
/// The n-gram credit of one keyword is kept only above this (§M5).
const MIN_NGRAM_CREDIT: f64 = 1.0;
/// Fuzzy credit needs an input longer than this (§M5).
const MIN_FUZZY_INPUT_LEN: usize = 5;
/// Fuzzy credit needs a keyword longer than this (§M5).
const MIN_FUZZY_KEYWORD_LEN: usize = 4;
/// Title words longer than this become keywords (§M4).
const MIN_TITLE_WORD_LEN: usize = 4;
/// Added to a non-zero cosine similarity (§M6.2).
const CONTENT_OFFSET: f64 = 0.5;
/// With `!Next` pending, a score above this earns [`IDENTITY_BONUS`] again (§M8).
const NEXT_BONUS_THRESHOLD: f64 = 0.5;

/// With `!Next` pending, a best score above this accepts the answer (`BESTMATCH_THRESHOLD`, §M8).
/// Below it the answer is refused; exactly equal shows the target but keeps `!Next` pending.
pub const NEXT_ACCEPT_THRESHOLD: f64 = 0.545;

#[cfg(test)]
mod tests {
    use super::content::{
        ContentVector, IGNORED_5, IGNORED_6, Token, TokenSink, VectorBuilder, content_score,
        tokenize_into,
    };
    use super::fuzzy::Pattern;
    use super::keywords::title_words;
    use super::utf16::utf16;
    use super::*;
    use crate::distance::{bit_parallel_distance, within_edits};
    use crate::js::map_accents;

    #[test]
    fn lower_casing_is_idempotent() {
        // Char by char over all of Unicode; the one contextual rule (final sigma) concerns
        // 'Σ', which no lower-cased text contains.
        for c in (0..=0x10_FFFF).filter_map(char::from_u32) {
            let once = c.to_lowercase().to_string();
            assert_eq!(once.to_lowercase(), once, "{c:?}");
            assert!(!once.contains('Σ'));
        }
        let text = "ΟΔΥΣΣΕΥΣ ΣΑΣ. İstanbul ǅemal";
        assert_eq!(text.to_lowercase().to_lowercase(), text.to_lowercase());
    }

    fn units(s: &str) -> Vec<u16> {
        utf16(s)
    }

    fn round6(x: f64) -> f64 {
        (x * 1e6).round() / 1e6
    }

    /// Jasmine's `toBeCloseTo(expected, precision)`, which ChatMD's unit tests use.
    fn close_to(actual: f64, expected: f64, precision: i32) -> bool {
        let scale = 10f64.powi(precision + 1);
        ((expected - actual).abs() * scale).round() <= 10f64.powi(-precision) / 2.0 * scale
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn response(title: &str, keywords: &[&str]) -> PreparedResponse {
        PreparedResponse::new(title, &strings(keywords), &[] as &[&str], false)
    }

    fn with_content(title: &str, keywords: &[&str], content: &str) -> PreparedResponse {
        PreparedResponse::new(title, &strings(keywords), &strings(&[content]), true)
    }

    fn input(raw: &str) -> PreparedInput {
        PreparedInput::new(raw, &[], false)
    }

    fn score(response: &PreparedResponse, raw: &str) -> f64 {
        response.score(&input(raw), ScoreMode::Normal)
    }

    /// Scores every response for `raw` and returns ChatMD's choice.
    fn choose(responses: &[PreparedResponse], raw: &str) -> Option<(usize, f64)> {
        let content_search = responses.iter().any(|r| r.content_search);
        let prepared = PreparedInput::new(raw, &[], content_search);
        best_of(score_all(responses, &prepared, Candidates::All))
    }

    fn next_score(response: &PreparedResponse, raw: &str, ignore_keywords: bool) -> f64 {
        let candidates = Candidates::Next {
            target: response.title(),
            ignore_keywords,
        };
        let scores = score_all(std::slice::from_ref(response), &input(raw), candidates);
        scores.first().map_or(f64::NAN, |&(_, s)| s)
    }

    #[test]
    fn normalize_follows_javascript() {
        let cases = [
            ("Éléphant à l'école", "elephant a l'ecole"),
            ("Hello World", "hello world"),
            ("", ""),
            ("  UN ÉLÈVE \u{FEFF}", "un eleve"),
            ("\u{A0}\u{3000}x\u{2028}", "x"),
            // U+0085 is white space for Rust but not for JavaScript.
            ("\u{85}x", "\u{85}x"),
            ("C'est quoi PIX ?", "c'est quoi pix ?"),
            ("cænogénèse œuvre ñ á", "cænogenese œuvre ñ á"),
            (
                "à â é è ê ë î ï ô ö û ü ù ÿ ç",
                "a a e e e e i i o o u u u y c",
            ),
            (
                "À Â É È Ê Ë Î Ï Ô Ö Û Ü Ù Ÿ Ç",
                "a a e e e e i i o o u u u y c",
            ),
            ("l’école", "l’ecole"),
            ("0123456789 !?%@&", "0123456789 !?%@&"),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalize(raw), expected, "{raw:?}");
        }
        assert_eq!(
            map_accents("À Â É È Ê Ë Î Ï Ô Ö Û Ü Ù Ÿ Ç Æ Œ"),
            "A A E E E E I I O O U U U Y C Æ Œ"
        );
    }

    #[test]
    fn option_labels_match_case_and_accent_insensitively_only() {
        let cases = [
            ("Un élève", "UN ÉLÈVE ", true),
            ("Un élève", "un eleve", true),
            ("Et le dimanche ?", "et le dimanche ?", true),
            ("Et le dimanche ?", "et le dimanche", false),
            ("S'inscrire", "s’inscrire", false),
            ("S'inscrire", "sinscrire", false),
            ("Horaires d'ouverture", "1", false),
            // The label is not trimmed, the input is.
            ("Oui ", "oui ", false),
            ("@choix=A", "@choix=a", true),
        ];
        for (label, typed, expected) in cases {
            assert_eq!(
                label_matches(label, &normalize(typed)),
                expected,
                "{label:?} {typed:?}"
            );
        }
    }

    #[test]
    fn levenshtein_counts_utf16_edits() {
        let cases = [
            ("kitten", "kitten", 0),
            ("", "test", 4),
            ("test", "", 4),
            ("", "", 0),
            ("kitten", "sitten", 1),
            ("kitten", "kittlen", 1),
            ("kitten", "kiten", 1),
            ("kitten", "sitting", 3),
            ("abc", "xyz", 3),
            ("Apple", "apple", 1),
            ("horraires", "horaires", 1),
            // Two emoji sharing their high surrogate differ by one unit.
            ("😀", "😃", 1),
            ("a😀", "a", 2),
        ];
        for (a, b, expected) in cases {
            assert_eq!(levenshtein(&units(a), &units(b)), expected, "{a:?} {b:?}");
            assert_eq!(levenshtein(&units(b), &units(a)), expected, "{b:?} {a:?}");
        }
    }

    #[test]
    fn within_edits_agrees_with_levenshtein() {
        let words = [
            "",
            "a",
            "ab",
            "abc",
            "horaires",
            "horraires",
            "hraires",
            "horaire",
            "oraires",
            "hroaires",
            "kitten",
            "sitting",
            "sittin",
            "mot de passe",
            "mot de pase",
            "mot  de passe",
            "abcdefgh",
            "abXdeYgh",
            "😀😀x",
            "😀x",
            "jalapeño",
            "jalapeno",
        ];
        for a in words {
            for b in words {
                let distance = levenshtein(&units(a), &units(b));
                for max in 0..4 {
                    assert_eq!(
                        within_edits(&units(a), &units(b), max),
                        distance <= max,
                        "{a:?} {b:?} {max}"
                    );
                }
            }
        }
        // Random strings over a small alphabet, so that close pairs are common.
        let mut rng = crate::engine::Rng::seeded(3);
        let random = |rng: &mut crate::engine::Rng| -> Vec<u16> {
            (0..rng.below(9))
                .map(|_| 97 + rng.below(3) as u16)
                .collect()
        };
        for _ in 0..5000 {
            let (a, b) = (random(&mut rng), random(&mut rng));
            let distance = levenshtein(&a, &b);
            for max in 0..4 {
                assert_eq!(within_edits(&a, &b, max), distance <= max, "{a:?} {b:?}");
            }
        }
        // A prepared pattern, over units below and above 256 (accents, emoji halves).
        let alphabet = [97, 98, 233, 0x2019, 0xd83d, 0xde00];
        for _ in 0..5000 {
            let mut random = || -> Vec<u16> {
                (0..rng.below(9))
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect()
            };
            let (a, b) = (random(), random());
            let distance = levenshtein(&a, &b);
            let pattern = Pattern::new(&a);
            for max in 0..4 {
                assert_eq!(pattern.within(&b, max), distance <= max, "{a:?} {b:?}");
            }
        }
        // Long strings, on both sides of the 64 units the bit-parallel distance takes, and
        // the distance itself.
        for _ in 0..2000 {
            let len = 50 + rng.below(20);
            let a: Vec<u16> = (0..len).map(|_| 97 + rng.below(2) as u16).collect();
            let mut b = a.clone();
            for _ in 0..rng.below(4) {
                let at = rng.below(b.len() + 1);
                match rng.below(3) {
                    0 => b.insert(at, 97 + rng.below(3) as u16),
                    1 if at < b.len() => {
                        b.remove(at);
                    }
                    _ if at < b.len() => b[at] = 99,
                    _ => {}
                }
            }
            let distance = levenshtein(&a, &b);
            if a.len() <= 64 {
                assert_eq!(bit_parallel_distance(&a, &b), distance, "{a:?} {b:?}");
            }
            for max in 0..4 {
                assert_eq!(within_edits(&a, &b, max), distance <= max, "{a:?} {b:?}");
                assert_eq!(Pattern::new(&a).within(&b, max), distance <= max);
            }
        }
        for (a, b) in [("a", ""), ("a", "b"), ("ab", "ba"), ("kitten", "sitting")] {
            assert_eq!(
                bit_parallel_distance(&units(a), &units(b)),
                levenshtein(&units(a), &units(b)),
                "{a:?} {b:?}"
            );
        }
    }

    #[test]
    fn lev_ngrams_adds_close_windows() {
        let cases = [
            ("this is a test string", "test string", 3.3),
            ("foo bar foo bar foo bar ", "foo bar", 6.3),
            ("hello", "this is", 0.0),
            (
                "a string that is not very interesting",
                "a test string",
                0.0,
            ),
            ("horraires", "horaires", 2.7),
            ("passwrod", "password", 2.4),
            ("jalapeno", "jalapeño", 2.4),
            // Consecutive spaces give empty words, which still form windows.
            ("x  horaire", "horaires", 2.1),
        ];
        for (input, keyword, expected) in cases {
            let credit = lev_ngrams(&units(input), &units(keyword));
            assert!(
                (credit - expected).abs() < 1e-9,
                "{input:?} {keyword:?}: {credit}"
            );
        }
    }

    #[test]
    fn lcs_weighted_favours_long_early_runs() {
        let cases = [
            ("horraires", "horaires", 0.628571),
            ("de la rando", "randonnee", 1.1),
            ("passwrod", "password", 1.375),
            ("passwrod", "password reset", 0.55),
            ("jalapeno", "jalapeño", 2.2),
            ("campagne de rentree", "campagne sos", 2.475),
            ("campagne de rentree", "campagne rentree", 1.2375),
            ("castings", "testing", 0.475309),
            ("abcdxyz", "xyzabcd", 0.0),
            ("abc", "xyz", 0.0),
            ("", "test", 0.0),
            ("test", "", 0.0),
        ];
        for (input, keyword, expected) in cases {
            let weight = lcs_weighted(&units(input), &units(keyword));
            assert_eq!(round6(weight), expected, "{input:?} {keyword:?}: {weight}");
        }
        let lcs = |a: &str, b: &str| lcs_weighted(&units(a), &units(b));
        assert!(lcs("intelligent", "intellect") > 0.0);
        assert!(lcs("abcdefgh", "abcdefxx") > lcs("abcdefgh", "abcdexxx"));
        assert!(lcs("abcdef", "abcdef") > lcs("abcdef", "zzabcdef"));
    }

    #[test]
    fn keywords_are_prepared_like_chatmd() {
        let cases = [
            ("Fermé", "ferme", false),
            ("! pas la mer", "pas la mer", true),
            ("!  Pas de neige ", "pas de neige", true),
            // The marker is stripped by `^!\s`, but negativity needs a plain space.
            ("!\tfroid", "froid", false),
            ("!froid", "!froid", false),
            ("  BOnJoUR ", "bonjour", false),
            ("", "", false),
        ];
        for (entry, text, negative) in cases {
            let keyword = PreparedKeyword::new(entry);
            assert_eq!(keyword.text(), text, "{entry:?}");
            assert_eq!(keyword.is_negative(), negative, "{entry:?}");
        }
    }

    #[test]
    fn keyword_list_appends_title_and_long_title_words() {
        let list = |r: &PreparedResponse, mode| -> Vec<String> {
            r.keyword_list(mode)
                .iter()
                .map(|k| k.text().to_owned())
                .collect()
        };
        let wifi = response("Wi-Fi access", &["wifi", "wireless"]);
        assert_eq!(
            list(&wifi, ScoreMode::Normal),
            ["wifi", "wireless", "wi-fi access", "access"]
        );
        let next = ScoreMode::Next {
            ignore_keywords: false,
        };
        assert_eq!(list(&wifi, next), ["wifi", "wireless"]);
        let ignore = ScoreMode::Next {
            ignore_keywords: true,
        };
        assert_eq!(list(&wifi, ignore).len(), 4);
        let bare = response("Horaires", &[]);
        assert_eq!(list(&bare, next), ["horaires", "horaires"]);

        let cases = [
            ("Qu'est-ce que l'ENT ? (aide/infos)", vec!["infos"]),
            ("Mot de passe oublié", vec!["passe", "oublié"]),
            (
                "Prêt: durée, [tarifs] | règles!",
                vec!["durée", "tarifs]", "règles"],
            ),
            ("lien/]suite et l’appli", vec!["liensuite", "appli"]),
            ("Wi-Fi", vec![]),
            // Measured in UTF-16 units before lower-casing (`İ` lower-cases to two units).
            ("Aİİİ ab😀c", vec!["ab😀c"]),
        ];
        for (title, expected) in cases {
            assert_eq!(title_words(title), expected, "{title:?}");
        }
    }

    #[test]
    fn tokenizer_reproduces_reference_weights() {
        let vector = |text: &str, title: Option<&str>| {
            let title = title.map(|t| units(&t.to_lowercase()));
            let mut builder = VectorBuilder::default();
            tokenize_into(&mut builder, text, title.as_deref());
            builder.finish()
        };
        let weight = |v: &ContentVector, token: &str| v.weight(&Token::new(&units(token)));
        let second = vector("second", None);
        assert_eq!(round6(weight(&second, "second").unwrap_or(0.0)), 11.6);
        assert_eq!(round6(weight(&second, "secon").unwrap_or(0.0)), 5.6);
        assert_eq!(round6(weight(&second, "econd").unwrap_or(0.0)), 5.4);
        assert_eq!(
            round6(weight(&vector("first", None), "first").unwrap_or(0.0)),
            11.2
        );
        let titled = vector("Response response", Some("Response"));
        assert_eq!(round6(weight(&titled, "response").unwrap_or(0.0)), 32.4);
        let consectetur = vector("consectetur", None);
        assert_eq!(
            round6(weight(&consectetur, "consectetur").unwrap_or(0.0)),
            6.2
        );
        assert_eq!(
            round6(weight(&consectetur, "conse").unwrap_or(0.0)),
            1.433333
        );
        assert_eq!(round6(weight(&consectetur, "consect").unwrap_or(0.0)), 2.25);

        // Short words, punctuation and accents; non-significant endings are dropped.
        assert!(vector("is a cat dog sun", None).entries.is_empty());
        let sentence = vector(
            "l'association pour rendre les acteurs capables d'évolution, français!",
            None,
        );
        for kept in [
            "association",
            "rendre",
            "acteurs",
            "capables",
            "evolution",
            "francais",
        ] {
            assert!(weight(&sentence, kept).is_some(), "{kept}");
        }
        for dropped in [
            "ation", "endre", "teurs", "ution", "l", "pour", "tions", "ables",
        ] {
            assert!(weight(&sentence, dropped).is_none(), "{dropped}");
        }
        // A word that is itself an ignored ending is not filtered: it gets its whole-word
        // weight twice, like any other 5-letter word (§M6.1, golden `ngram-words`).
        assert_eq!(
            round6(weight(&vector("elles", None), "elles").unwrap_or(0.0)),
            11.2
        );
        assert_eq!(
            round6(weight(&vector("santes", None), "santes").unwrap_or(0.0)),
            11.6
        );
        // Inside a longer word the same n-gram is still dropped.
        assert!(weight(&vector("ruelles", None), "elles").is_none());
        // JavaScript enumerates array-index keys first, in numeric order.
        let order: Vec<String> = vector("zzzzz 20240 10000 01234", None)
            .entries
            .iter()
            .map(|(token, _)| token.with_units(String::from_utf16_lossy))
            .collect();
        assert_eq!(order, ["10000", "20240", "zzzzz", "01234"]);
    }

    #[test]
    fn tokens_keep_their_units() {
        for text in [
            "",
            "a",
            "abcde",
            "abcdefg",
            "abcdefgh",
            "😀😀x",
            "\u{0}\u{0}",
            "2024",
        ] {
            let token = Token::new(&units(text));
            assert_eq!(token.with_units(|u| u.to_vec()), units(text), "{text:?}");
        }
        assert_ne!(Token::new(&[0]), Token::new(&[0, 0]));
        assert_ne!(Token::new(&[1, 2]), Token::new(&[2, 1]));
    }

    #[test]
    fn cosine_follows_chatmd_reference_vector() {
        let reference = [
            ("lorem", 11.2),
            ("ipsum", 11.2),
            ("dolor", 11.2),
            ("consectetur", 6.2),
            ("conse", 1.4333333333333336),
            ("onsec", 1.2333333333333334),
            ("nsect", 1.2333333333333334),
            ("secte", 1.2333333333333334),
            ("ectet", 1.2333333333333334),
            ("ctetu", 1.2333333333333334),
            ("tetur", 1.2333333333333334),
            ("consec", 1.8),
            ("onsect", 1.6),
            ("nsecte", 1.6),
            ("sectet", 1.6),
            ("ectetu", 1.6),
            ("ctetur", 1.6),
            ("consect", 2.25),
            ("onsecte", 2.05),
            ("nsectet", 2.05),
            ("sectetu", 2.05),
            ("ectetur", 2.05),
            ("adipiscing", 6.2),
            ("adipi", 1.6),
            ("dipis", 1.4),
            ("ipisc", 1.4),
            ("pisci", 1.4),
            ("iscin", 1.4),
            ("scing", 1.4),
            ("adipis", 2.05),
            ("dipisc", 1.85),
            ("ipisci", 1.85),
            ("piscin", 1.85),
            ("iscing", 1.85),
            ("adipisc", 2.666666666666667),
            ("dipisci", 2.466666666666667),
            ("ipiscin", 2.466666666666667),
            ("piscing", 2.466666666666667),
        ];
        let mut builder = VectorBuilder::default();
        for (token, weight) in reference {
            builder.add(&units(token), weight);
        }
        let reference = builder.finish();
        let cosine = |text: &str| {
            let prepared = PreparedInput::new(text, &[], true);
            let vector = prepared.vector.unwrap_or_default();
            let score = content_score(&vector, &reference);
            if score == 0.0 {
                0.0
            } else {
                score - CONTENT_OFFSET
            }
        };
        assert_eq!(cosine(""), 0.0);
        assert_eq!(cosine("test"), 0.0);
        for (text, expected) in [
            ("Lorem", 0.5),
            ("Lorem ipsum,", 0.65),
            ("Lorem ipsum dolor sit amet,", 0.82),
        ] {
            let value = cosine(text);
            assert!(close_to(value, expected, 1), "{text:?}: {value}");
        }
        let long = cosine("Lorem ipsum dolor sit amet, consectetur adipiscing elit. Integer vel.");
        assert!(long > -1.0 && long < 1.0);
    }

    #[test]
    fn mediatheque_worked_examples() {
        let responses = [
            response(
                "Horaires",
                &["ouverture", "ouvert", "fermé", "heure", "dimanche"],
            ),
            response("Dimanche", &[]),
            response(
                "Emprunt",
                &["emprunter", "prêt", "combien de livres", "durée"],
            ),
            response("Prolongation", &["prolonger", "renouveler", "rallonger"]),
        ];
        assert_eq!(score(&responses[0], "horaires"), 61.6);
        assert_eq!(round6(score(&responses[0], "horraires")), 6.657143);
        assert_eq!(choose(&responses, "dimanche"), Some((1, 61.6)));
        assert_eq!(round6(score(&responses[0], "dimanche")), 30.8);
        let loan = "je voudrais prolonger mon prêt";
        assert_eq!(round6(score(&responses[3], loan)), 30.9);
        assert_eq!(round6(score(&responses[2], loan)), 30.4);
        assert_eq!(choose(&responses, loan).map(|(i, _)| i), Some(3));
    }

    #[test]
    fn vacances_worked_examples() {
        let responses = [
            response(
                "Plage",
                &[
                    "mer",
                    "soleil",
                    "baignade",
                    "séjour",
                    "! pas la mer",
                    "! sans soleil",
                ],
            ),
            response(
                "Montagne",
                &["randonnée", "neige", "altitude", "! pas de neige"],
            ),
            response("Campagne", &["calme", "nature", "tranquille", "séjour"]),
            response("Art", &["art", "peinture"]),
            response("Artisanat", &["artisanat", "poterie"]),
        ];
        let mixed = "je veux du soleil mais pas la mer";
        assert_eq!(round6(score(&responses[0], mixed)), -0.1);
        assert_eq!(choose(&responses, mixed), None);
        let snow = "pas la mer, plutôt la neige";
        assert_eq!(round6(score(&responses[0], snow)), -30.7);
        assert_eq!(
            choose(&responses, snow).map(|(i, s)| (i, round6(s))),
            Some((1, 30.5))
        );
        assert_eq!(choose(&responses, "rando"), None);
        assert_eq!(
            choose(&responses, "de la rando").map(|(i, s)| (i, round6(s))),
            Some((1, 1.1))
        );
        let crafts = "j'aime la peinture et la poterie";
        assert_eq!(round6(score(&responses[3], crafts)), 30.8);
        assert_eq!(round6(score(&responses[4], crafts)), 30.7);
        assert_eq!(choose(&responses, crafts).map(|(i, _)| i), Some(3));
        // A tie goes to the earlier response.
        assert_eq!(choose(&responses, "un séjour").map(|(i, _)| i), Some(0));
        // Substring, not word: `art` (keyword and title) is found in `partir`.
        assert_eq!(round6(score(&responses[3], "partir")), 60.6);
    }

    #[test]
    fn helpdesk_worked_examples() {
        let responses = [
            response(
                "Password reset",
                &["password", "forgot", "locked out", "! wifi password"],
            ),
            response(
                "Wi-Fi access",
                &["wifi", "wireless", "wifi password", "internet"],
            ),
            response("Printer", &["printer", "print", "toner"]),
            response("Café", &["coffee", "jalapeño"]),
        ];
        assert_eq!(round6(score(&responses[0], "passwrod")), 8.1);
        let wifi = "what's the wifi password?";
        assert_eq!(round6(score(&responses[0], wifi)), 0.3);
        assert_eq!(round6(score(&responses[1], wifi)), 61.7);
        assert_eq!(choose(&responses, wifi).map(|(i, _)| i), Some(1));
        assert_eq!(round6(score(&responses[2], "printer")), 122.6);
        assert_eq!(round6(score(&responses[3], "jalapeno")), 4.6);
    }

    #[test]
    fn chatmd_unit_test_scores() {
        assert_eq!(
            score(
                &response("contenu pour tester", &["art"]),
                "j'aime ce qui est artistique"
            ),
            30.3
        );
        let test = response("Test", &["test", "testing", "tester"]);
        assert_eq!(score(&test, "testons"), 60.8);
        assert_eq!(score(&test, "test"), 60.8);
        assert_eq!(score(&test, "tester"), 91.4);
        assert_eq!(score(&test, "testing"), 91.5);
        assert!(close_to(score(&test, "castings"), 0.47, 2));

        let contact = [
            response("Horaires", &["horaire", "ouverture", "fermé"]),
            response("Contact", &["téléphone", "appeler"]),
        ];
        assert_eq!(
            choose(&contact, "Comment faire pour vous appeler ?").map(|(i, _)| i),
            Some(1)
        );
        let lengths = [
            response("Test1", &["info"]),
            response("Test2", &["information"]),
            response("Test3", &["informationnel"]),
        ];
        assert_eq!(choose(&lengths, "information").map(|(i, _)| i), Some(1));
        assert!(score(&response("Info", &["café"]), "cafe") > 0.0);
        let negative = [
            response("Réponse1", &["! non merci", "aide", "aidant", "aidez-moi"]),
            response("Réponse2", &["aide"]),
        ];
        assert_eq!(choose(&negative, "aide non merci").map(|(i, _)| i), Some(1));
        let greeting =
            |keywords: &[&str], raw: &str| score(&response("contenu pour tester", keywords), raw);
        assert!(greeting(&["bonjour"], "bonjur") > 0.0);
        assert!(greeting(&["bonjour", "poteau"], "bon pote") < 5.0);
        assert!(greeting(&["BOnJoUR"], "bonjour") > 0.0);
        let strength = [
            response("Faible", &["correspondance", "moins", "importante"]),
            response("Forte", &["correspondance", "plus", "importante"]),
        ];
        assert_eq!(
            choose(&strength, "correspondance plus importante").map(|(i, _)| i),
            Some(1)
        );
        // An empty keyword is a substring of everything: a catch-all.
        assert_eq!(score(&response("Zzz", &[""]), "bonjour"), 30.0);
        // Lengths are UTF-16 units: an emoji counts two.
        assert_eq!(round6(score(&response("Zzz", &["😀😀x"]), "a 😀😀x")), 30.5);
    }

    #[test]
    fn content_search_adds_to_keywords() {
        let content_only = [
            with_content("Info", &[], "Voici quelques informations importantes."),
            with_content("Autre", &[], "Ceci est un autre message sans rapport."),
        ];
        let close = |responses: &[PreparedResponse], raw: &str, expected: f64| {
            let (_, best) = choose(responses, raw).unwrap_or((0, 0.0));
            assert!(close_to(best, expected, 1), "{raw:?}: {best}");
        };
        close(&content_only, "importantes informations", 31.5);
        close(&content_only, "autre message", 62.2);
        let both = |content_search: bool| {
            let build = |title: &str, keywords: &[&str], content: &str| {
                PreparedResponse::new(
                    title,
                    &strings(keywords),
                    &strings(&[content]),
                    content_search,
                )
            };
            [
                build(
                    "Info",
                    &["important"],
                    "Voici quelques informations importantes.",
                ),
                build(
                    "Autre",
                    &["argument", "philosophique"],
                    "Ceci est une argumentation d'un philosophe",
                ),
            ]
        };
        close(&both(true), "importantes informations", 62.4);
        close(&both(true), "Donne moi un argument philosophique", 62.7);
        close(&both(false), "importantes informations", 61.3);
        close(&both(false), "Donne moi un argument philosophique", 62.1);
    }

    #[test]
    fn next_mode_requires_delimited_keywords() {
        let target = response("Bonne réponse France", &["paris"]);
        assert_eq!(round6(next_score(&target, "paris", false)), 60.5);
        for accepted in ["Paris !", "PARIS", "je pense que c'est Paris"] {
            assert!(
                next_score(&target, accepted, false) > NEXT_ACCEPT_THRESHOLD,
                "{accepted:?}"
            );
        }
        for refused in ["parisien", "pari", "paaris", "lyon"] {
            assert_eq!(next_score(&target, refused, false), 0.0, "{refused:?}");
        }
        // Case and accents of the keyword do not matter.
        for keyword in ["Spécifique", "café"] {
            let target = response("Cible", &[keyword]);
            for typed in [keyword.to_owned(), normalize(keyword)] {
                assert!(next_score(&target, &typed, false) > NEXT_ACCEPT_THRESHOLD);
            }
            assert_eq!(next_score(&target, "autre", false), 0.0);
        }
        // Keywords are literal (a documented divergence: ChatMD builds a regex from them).
        let literal = response("Cible", &["a.b"]);
        assert!(next_score(&literal, "a.b", false) > NEXT_ACCEPT_THRESHOLD);
        assert_eq!(next_score(&literal, "axb", false), 0.0);
        let exact = response("contenu pour tester", &["contenu pour tester"]);
        assert!(
            next_score(&exact, "contenu pour tester", false) > next_score(&exact, "testabc", false)
        );
    }

    #[test]
    fn next_mode_replaces_input_by_title_without_keywords() {
        let steps = [response("Etape1", &[]), response("Etape2", &[])];
        let candidates = Candidates::Next {
            target: "Etape2",
            ignore_keywords: false,
        };
        let scores = score_all(&steps, &input("contenu pour tester"), candidates);
        assert_eq!(scores.len(), 1);
        assert_eq!(best_of(scores).map(|(i, _)| i), Some(1));

        let target = response("Bonne réponse", &["paris"]);
        assert!(!target.next_replaces_input(false));
        assert!(target.next_replaces_input(true));
        // "bonne reponse" 31.3 + "bonne" 30.5 + "reponse" 30.7, then the +30 bonus.
        assert_eq!(round6(next_score(&target, "n'importe quoi", true)), 122.5);

        let others = [
            response(
                "Autre",
                &["argument", "argumentation", "argumenter", "arguments"],
            ),
            response("Cible", &["argument"]),
        ];
        let candidates = Candidates::Next {
            target: "Cible",
            ignore_keywords: false,
        };
        let scores = score_all(&others, &input("argument"), candidates);
        assert_eq!(best_of(scores).map(|(i, _)| i), Some(1));
    }

    #[test]
    fn candidates_follow_chatmd() {
        let options = [
            response("Option1", &["test", "tests", "tester", "testons"]),
            response("Option2", &["test"]),
        ];
        let scores = score_all(&options, &input("testons"), Candidates::Selected("Option2"));
        assert_eq!(best_of(scores).map(|(i, _)| i), Some(1));
        assert!(score_all(&[], &input("x"), Candidates::All).is_empty());
        let untitled = [response("", &["x"]), response("X", &["x"])];
        assert!(score_all(&untitled, &input("x"), Candidates::All).is_empty());
    }

    #[test]
    fn best_of_takes_first_strictly_greater_positive() {
        type Case<'a> = (&'a [f64], Option<(usize, f64)>);
        let cases: [Case<'_>; 5] = [
            (&[], None),
            (&[0.0, -1.0], None),
            (&[1.0, 2.0, 2.0], Some((1, 2.0))),
            (&[-5.0, 0.5, 0.4], Some((1, 0.5))),
            (&[3.0, 3.0], Some((0, 3.0))),
        ];
        for (scores, expected) in cases {
            assert_eq!(best_of(scores.iter().copied().enumerate()), expected);
        }
    }

    #[test]
    fn synonyms_extend_the_input() {
        let groups = prepare_synonym_groups(&strings(&[
            "Vélo, bicyclette,biclou",
            "pomme de terre, patate",
            "wifi",
        ]));
        assert_eq!(groups[0], ["velo", "bicyclette", "biclou"]);
        let cases = [
            ("je cherche un velo", "je cherche un velo bicyclette biclou"),
            ("velo?", "velo? bicyclette biclou"),
            (
                "bicyclette/biclou",
                "bicyclette/biclou velo biclou velo bicyclette",
            ),
            // The multi-word check runs for every input word.
            (
                "une pomme de terre",
                "une pomme de terre patate patate patate patate",
            ),
            ("wifi", "wifi "),
            ("rien", "rien"),
        ];
        for (typed, expected) in cases {
            assert_eq!(expand_synonyms(typed, &groups), expected, "{typed:?}");
        }
        assert_eq!(
            PreparedInput::new("Un VÉLO", &groups, false).text(),
            "un velo bicyclette biclou"
        );
    }

    #[test]
    fn bad_words_need_exact_space_separated_tokens() {
        let list = BadWords::french();
        assert_eq!(list.len(), 2432);
        let cases = [
            ("connard", true),
            ("CONNARD", true),
            ("t'es con", true),
            ("tu es con.", true),
            ("con,toi", true),
            ("connard!", false),
            ("con?", false),
            ("salut\tcon", false),
            ("bonjour", false),
            ("", false),
        ];
        for (typed, expected) in cases {
            assert_eq!(is_bad_words(typed, &list), expected, "{typed:?}");
        }
        let custom = BadWords::from_list("zut\n\nflûte\n");
        assert_eq!(custom.len(), 2);
        assert!(is_bad_words("Flûte alors", &custom));
        assert!(!is_bad_words("flute", &custom));
    }

    #[test]
    fn ignored_lists_are_complete() {
        assert_eq!(IGNORED_5.len(), 36);
        assert_eq!(IGNORED_6.len(), 27);
        assert!(IGNORED_5.iter().all(|s| s.len() == 5));
        assert!(IGNORED_6.iter().all(|s| s.len() == 6));
    }
}
