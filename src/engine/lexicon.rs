//! What people type for what knowledge bases say: chat French (`koi`, `cmt`, `jsp`) and
//! words that stand for each other (`prof`, `enseignant`), read from `data/chat-fr.txt` and
//! from the base's own synonyms. guichet mode reads a message through it before matching.

use super::guichet::{normalize, words};
use super::hash::FastMap;

/// The list guichet ships, compiled in so that a bare binary has it.
const SHIPPED: &str = include_str!("../../data/chat-fr.txt");

/// Chat forms and synonyms, normalised as messages are.
#[derive(Debug, Default, Clone)]
pub struct Lexicon {
    /// A typed form and the words it stands for.
    short: FastMap<String, Vec<String>>,
    /// For a word, the other words of its synonym lines.
    same: FastMap<String, Vec<String>>,
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
                _ => {}
            }
        }
        lexicon
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
        assert_eq!(expand(&lexicon, "certification"), "certification");
    }

    #[test]
    fn synonyms_come_from_the_list_and_the_base() {
        let lexicon = Lexicon::with_synonyms(&[vec!["Référent".into(), "RUPN".into()]]);
        assert!(lexicon.same("prof").contains(&"enseignant".to_string()));
        assert_eq!(lexicon.same("rupn"), ["referent"]);
        assert!(lexicon.same("certification").is_empty());
    }
}
