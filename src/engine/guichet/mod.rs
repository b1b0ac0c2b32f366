//! guichet's own matching (`matching = "guichet"`), for people typing in a chat: robust
//! normalisation, keywords matched at word starts, typo tolerance on whole words with a
//! French stemmer, and a measure of the evidence behind each candidate so the engine can
//! answer, ask "did you mean…?", or admit it does not know.
//!
//! It keeps what ChatMD authors rely on: keywords (negative ones too), titles and title
//! words. Only *how* they are found in a message changes.

mod derivation;
mod index;
mod matching;
mod rank;
mod text;

pub use index::{GuichetIndex, GuichetResponse, ResponseText};
pub use matching::Evidence;
pub use rank::{Ranking, Scored};
pub use text::{MAX_MESSAGE_CHARS, MAX_WORD_CHARS, is_meaningful, normalize, unstretched, words};

#[cfg(test)]
mod tests {
    use super::*;

    /// The off-topic signal: a word the base has only a near neighbour of, in a text
    /// (`blague`, `blogue`), is unknown; a typo of a keyword (`partagr`) is not.
    #[test]
    fn a_typo_of_a_text_word_is_not_a_known_word() {
        let response = |title, keywords: Vec<&'static str>, text: &str| ResponseText {
            title,
            keywords,
            names: Vec::new(),
            text: text.to_string(),
            search_text: true,
        };
        let index = GuichetIndex::new([
            response(
                "Partager",
                vec!["partager"],
                "Le lien se publie sur un blogue.",
            ),
            response("Raconter", vec!["raconter"], "Une carte narrative."),
        ]);
        assert_eq!(index.unknown_share("raconte-moi une blague"), 0.5);
        assert_eq!(index.unknown_share("partagr sur mon blogue"), 0.0);
    }

    #[test]
    fn normalisation() {
        let cases = [
            ("Élève  ÉCOLE", "eleve ecole"),
            ("C’est quoi PIX ?", "c'est quoi pix"),
            ("cœur, Æsop", "coeur aesop"),
            ("mañana — «hola»", "manana hola"),
            ("  l'année\t2024-2025 ", "l'annee 2024 2025"),
            // A one-letter first part, or two parts of two letters, are joined as people type
            // them; a word of its own (`au`, `là`), a prefix before a word people search
            // (`mi-janvier`), an inversion (`vas-y`) or three parts are not.
            ("Wi-Fi, e-mail, T-shirt", "wifi email tshirt"),
            ("mi-janvier, ex-collègue", "mi janvier ex collegue"),
            (
                "au-dessus, là-bas, vas-y, a-t-il",
                "au dessus la bas vas y a t il",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input), expected, "{input}");
        }
        assert_eq!(words("l'annee scolaire"), vec!["l", "annee", "scolaire"]);
        assert_eq!(unstretched("merciiii BONJOUUUR"), "merci BONJOUR");
        assert_eq!(unstretched("cool, 2000 !!!"), "cool, 2000 !!!");
    }

    /// `normalize` as first written: NFKD of the whole text, then folding, then spaces.
    fn reference_normalize(text: &str) -> String {
        use unicode_normalization::UnicodeNormalization;
        let mut folded = String::new();
        for c in text.nfkd() {
            if unicode_normalization::char::is_combining_mark(c) {
                continue;
            }
            match c {
                'œ' | 'Œ' => folded.push_str("oe"),
                'æ' | 'Æ' => folded.push_str("ae"),
                'ß' => folded.push_str("ss"),
                '\'' | '’' | '‘' | '`' | '´' | 'ʼ' => folded.push('\''),
                c if c.is_alphanumeric() => folded.extend(c.to_lowercase()),
                _ => folded.push(' '),
            }
        }
        folded.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn normalisation_equals_whole_text_nfkd() {
        // Letters, digits, separators, precomposed and decomposed accents, ligatures,
        // compatibility forms, stacked combining marks, capitals that lower-case to marks.
        let pool: Vec<char> =
            "aZé9 \t'’-.,«»ÉÈçÇœŒæßﬁ①²ＡｂİĲǅ\u{301}\u{327}\u{308}\u{31b}\u{323}ᾈΣ東ñÑ"
                .chars()
                .collect();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 12) as usize;
            let text: String = (0..len)
                .map(|i| pool[((state >> (i * 5)) % pool.len() as u64) as usize])
                .collect();
            // Hyphens joined first (`Wi-Fi`), then folded as NFKD of the whole text would.
            let reference = reference_normalize(&text::joined(&text));
            assert_eq!(normalize(&text), reference, "{text:?}");
        }
    }

    fn index(entries: &[(&str, &[&str])]) -> GuichetIndex {
        GuichetIndex::new(entries.iter().map(|(t, k)| ResponseText {
            title: t,
            keywords: k.to_vec(),
            ..ResponseText::default()
        }))
    }

    fn evidence(index: &GuichetIndex, message: &str) -> Vec<Option<Evidence>> {
        index
            .score_all(message)
            .iter()
            .map(|s| s.evidence)
            .collect()
    }

    #[test]
    fn bold_spans_pair_within_a_line() {
        let spans: Vec<&str> =
            index::emphasized("2**3 vaut 8\nLe **sonar** des **chauves-souris**").collect();
        assert_eq!(spans, ["sonar", "chauves-souris"]);
    }

    #[test]
    fn hostile_lengths_are_bounded_before_matching() {
        let i = index(&[("Horaires", &["horaires"])]);
        // One word of 200,000 letters: once every prefix was hashed (quadratic).
        let word = "a".repeat(200_000);
        let message = i.message(&word);
        assert_eq!(message.words.len(), 1);
        assert_eq!(message.words[0].chars.len(), MAX_WORD_CHARS);
        assert_eq!(i.score_all(&word), vec![Scored::NOTHING]);
        // A long message is read up to its bound, and still matched there.
        let long = format!("horaires {}", "mot ".repeat(100_000));
        assert!(i.message(&long).words.len() <= MAX_MESSAGE_CHARS / 2);
        assert!(i.score_all(&long)[0].score > 0.0);
        assert!(i.vocabulary.longest < MAX_WORD_CHARS);
    }

    #[test]
    fn keywords_match_at_word_starts() {
        let i = index(&[
            ("Art", &["art"]),
            ("Certif", &["certif"]),
            ("Profil", &["profil"]),
        ]);
        // `art` no longer matches `partir`; `certif` still finds `certification`.
        assert_eq!(evidence(&i, "je veux partir"), vec![None, None, None]);
        assert_eq!(
            evidence(&i, "la certification"),
            vec![None, Some(Evidence::Exact), None]
        );
        // `prof` is not `profil`.
        assert_eq!(evidence(&i, "je suis prof"), vec![None, None, None]);
        assert_eq!(
            evidence(&i, "j'aime l'art"),
            vec![Some(Evidence::Exact), None, None]
        );
    }

    #[test]
    fn typos_and_stems() {
        let i = index(&[("Horaires", &["horaires"]), ("Collecte", &["collecte"])]);
        assert_eq!(evidence(&i, "horraires"), vec![Some(Evidence::Fuzzy), None]);
        assert_eq!(evidence(&i, "horaire"), vec![Some(Evidence::Stem), None]);
        // One letter more or less at the end of a four-letter word, both ways; not inside.
        let q = index(&[
            ("Quizz", &["quizz"]),
            ("Quiz", &["quiz"]),
            ("Mots", &["mots"]),
        ]);
        assert_eq!(
            evidence(&q, "quiz"),
            vec![Some(Evidence::Fuzzy), Some(Evidence::Exact), None]
        );
        assert_eq!(
            evidence(&q, "quizz"),
            vec![Some(Evidence::Exact), Some(Evidence::Fuzzy), None]
        );
        assert_eq!(evidence(&q, "mois"), vec![None, None, None]);
        // `collège` is two edits from `collecte`: not a match.
        assert_eq!(evidence(&i, "au collège"), vec![None, None]);
    }

    #[test]
    fn a_plural_verb_is_also_its_singular() {
        let i = index(&[
            ("Afficher", &["afficher"]),
            ("Moments", &["les moments forts"]),
        ]);
        // The stemmer leaves `affichent` whole; its singular `affiche` has `afficher`'s stem.
        assert_eq!(
            evidence(&i, "les noms s'affichent"),
            vec![Some(Evidence::Stem), None]
        );
        // A noun in `-ent` keeps its own stem: `moment` is not read as `mome`.
        assert_eq!(evidence(&i, "un moment"), vec![None, Some(Evidence::Stem)]);
    }

    #[test]
    fn politeness_is_no_unknown_word() {
        let i = index(&[("Horaires", &["horaires"])]);
        // `stp` is read as `s'il te plait`: none of it is a word the base should know.
        assert_eq!(i.unknown_share("les horaires stp"), 0.0);
        assert_eq!(i.unknown_share("les horaires s'il vous plaît"), 0.0);
    }

    #[test]
    fn negative_keywords_veto_and_stop_words_say_nothing() {
        let i = index(&[("Plage", &["mer", "! pas la mer"])]);
        assert!(i.score_all("la mer")[0].score > 0.0);
        assert!(i.score_all("pas la mer")[0].score < 0.0);
        assert_eq!(i.score_all("comment faire ?")[0].evidence, None);
    }
}
