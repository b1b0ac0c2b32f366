//! What people type for what knowledge bases say: chat French (`koi`, `cmt`, `jsp`) and
//! words that stand for each other (`prof`, `enseignant`), read from `data/chat-fr.txt` and
//! from the base's own synonyms. guichet mode reads a message through it before matching.

use super::guichet::{normalize, words};
use super::hash::FastMap;

/// After a sign-off, at most this many words are a signature (`M. Dupont, CPE`); more is
/// the message going on.
const MAX_SIGNATURE_WORDS: usize = 4;

/// The list guichet ships, compiled in so that a bare binary has it.
const SHIPPED: &str = include_str!("../../data/chat-fr.txt");

/// Chat forms and synonyms, normalised as messages are.
#[derive(Debug, Default, Clone)]
pub struct Lexicon {
    /// A typed form and the words it stands for.
    short: FastMap<String, Vec<String>>,
    /// For a word, the other words of its synonym lines.
    same: FastMap<String, Vec<String>>,
    /// Formulas that wrap a message without saying what it is about (`bonjour à tous`,
    /// `merci d'avance`, `cordialement`), as normalised words, longest first.
    courtesies: Vec<Vec<String>>,
    /// Sign-offs after which the rest of a message is a signature (`cordialement`).
    sign_offs: Vec<Vec<String>>,
}

impl Lexicon {
    /// The shipped list, extended by a base's own synonym groups (single words only: a
    /// message word is matched as one other word).
    pub fn with_synonyms(groups: &[Vec<String>]) -> Self {
        let mut lexicon = Self::parse(SHIPPED);
        for group in groups {
            lexicon.add_same(group.iter().map(String::as_str));
        }
        lexicon
    }

    fn parse(text: &str) -> Self {
        let mut lexicon = Self::default();
        let mut section = "";
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with('[') {
                section = line;
                continue;
            }
            match section {
                "[short]" => {
                    if let Some((form, meaning)) = line.split_once(" = ") {
                        let form = normalize(form);
                        let meaning = words(&normalize(meaning));
                        if !form.contains(' ') && !form.is_empty() && !meaning.is_empty() {
                            lexicon.short.insert(form, meaning);
                        }
                    }
                }
                "[same]" => lexicon.add_same(line.split(',')),
                "[courtesy]" | "[sign-off]" => {
                    let phrase = words(&normalize(line));
                    if !phrase.is_empty() {
                        lexicon.courtesies.push(phrase.clone());
                        if section == "[sign-off]" {
                            lexicon.sign_offs.push(phrase);
                        }
                    }
                }
                _ => {}
            }
        }
        lexicon
            .courtesies
            .sort_by_key(|phrase| std::cmp::Reverse(phrase.len()));
        lexicon
    }

    /// Which of a message's words only wrap it in courtesy (`bonjour à tous`, `merci
    /// d'avance`, and a signature after `cordialement`): true at each such word.
    pub fn courtesy(&self, words: &[&str]) -> Vec<bool> {
        let mut wrap = vec![false; words.len()];
        let at = |i: usize, phrase: &[String]| {
            words.len() >= i + phrase.len() && phrase.iter().zip(&words[i..]).all(|(p, w)| p == w)
        };
        let mut i = 0;
        while i < words.len() {
            if let Some(phrase) = self.sign_offs.iter().find(|p| at(i, p))
                && words.len() - i - phrase.len() <= MAX_SIGNATURE_WORDS
            {
                wrap[i..].fill(true);
                break;
            }
            match self.courtesies.iter().find(|p| at(i, p)) {
                Some(phrase) => {
                    wrap[i..i + phrase.len()].fill(true);
                    i += phrase.len();
                }
                None => i += 1,
            }
        }
        wrap
    }

    fn add_same<'a>(&mut self, group: impl Iterator<Item = &'a str>) {
        let group: Vec<String> = group
            .map(normalize)
            .filter(|w| !w.is_empty() && !w.contains(' '))
            .collect();
        for word in &group {
            let others = self.same.entry(word.clone()).or_default();
            for other in &group {
                if other != word && !others.contains(other) {
                    others.push(other.clone());
                }
            }
        }
    }

    /// A message's words with chat forms written out (`cmt` → `comment`).
    pub fn expand(&self, words: Vec<String>) -> Vec<String> {
        if !words.iter().any(|w| self.short.contains_key(w)) {
            return words;
        }
        let mut out = Vec::with_capacity(words.len() + 2);
        for word in words {
            match self.short.get(&word) {
                Some(meaning) => out.extend(meaning.iter().cloned()),
                None => out.push(word),
            }
        }
        out
    }

    /// The other words that mean what `word` means.
    pub fn same(&self, word: &str) -> &[String] {
        self.same.get(word).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(lexicon: &Lexicon, text: &str) -> String {
        lexicon.expand(words(&normalize(text))).join(" ")
    }

    #[test]
    fn chat_forms_are_written_out() {
        let lexicon = Lexicon::with_synonyms(&[]);
        assert_eq!(expand(&lexicon, "cmt on fai"), "comment on fai");
        assert_eq!(expand(&lexicon, "c koi jsp"), "c quoi je ne sais pas");
        assert_eq!(expand(&lexicon, "koman on fé"), "comment on fait");
        assert_eq!(
            expand(&lexicon, "jvois pas mon emploi du tps"),
            "je vois pas mon emploi du temps"
        );
        assert_eq!(expand(&lexicon, "jai mal o ventre"), "j ai mal au ventre");
        assert_eq!(expand(&lexicon, "certification"), "certification");
    }

    #[test]
    fn courtesy_and_signatures_are_marked() {
        let lexicon = Lexicon::with_synonyms(&[]);
        let marked = |text: &str| -> String {
            let words = words(&normalize(text));
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            let wrap = lexicon.courtesy(&words);
            words
                .iter()
                .zip(wrap)
                .map(|(w, c)| if c { "_" } else { w })
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            marked("Bonjour à tous, où est la salle ? Merci d'avance"),
            "_ _ _ ou est la salle _ _ _"
        );
        // A signature after a sign-off; a message that goes on after one is not a signature.
        assert_eq!(
            marked("la salle ? Cordialement, M. Dupont"),
            "la salle _ _ _"
        );
        assert_eq!(
            marked("cordialement ne veut pas dire que la salle est libre demain"),
            "_ ne veut pas dire que la salle est libre demain"
        );
    }

    #[test]
    fn synonyms_come_from_the_list_and_the_base() {
        let lexicon = Lexicon::with_synonyms(&[vec!["Référent".into(), "RUPN".into()]]);
        assert!(lexicon.same("prof").contains(&"enseignant".to_string()));
        assert_eq!(lexicon.same("rupn"), ["referent"]);
        assert!(lexicon.same("certification").is_empty());
    }
}
