//! §M11: the profanity filter.

use std::collections::HashSet;

/// The French list ChatMD's profanity filter uses (§M11), one entry per line.
const FRENCH_BAD_WORDS: &str = include_str!("../../../data/badwords-fr.txt");

/// A profanity list for ChatMD's `gestionGrosMots` filter (§M11).
#[derive(Debug, Clone, Default)]
pub struct BadWords {
    entries: HashSet<String>,
}

impl BadWords {
    /// Builds the list from its text, one entry per line (empty lines ignored). Entries with a
    /// space or an upper-case letter are kept as ChatMD keeps them, though they never match.
    pub fn from_list(text: &str) -> Self {
        let entries = text
            .lines()
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect();
        Self { entries }
    }

    /// The French list ChatMD 8.12 ships (2432 entries).
    pub fn french() -> Self {
        Self::from_list(FRENCH_BAD_WORDS)
    }

    /// Number of distinct entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// §M11: lower-cases the raw message, treats `.` and `,` as spaces, splits on spaces only and
/// flags the message if a token is exactly an entry (`connard!` or a tab-separated word escape).
pub fn is_bad_words(raw_input: &str, list: &BadWords) -> bool {
    raw_input
        .to_lowercase()
        .split([' ', '.', ','])
        .any(|token| !token.is_empty() && list.entries.contains(token))
}
