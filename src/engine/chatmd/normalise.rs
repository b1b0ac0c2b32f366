//! §M2: ChatMD's normalisation of a message (`normalizeText`) and of button labels.

use crate::js::{map_accents, normalize_text};

/// `normalizeText` (§M2): see [`crate::js::normalize_text`].
pub fn normalize(input: &str) -> String {
    normalize_text(input)
}

/// Typed option label equality (§M3): the label, lower-cased and accent-mapped but **not**
/// trimmed, must equal the normalised input exactly.
pub fn label_matches(label: &str, normalised_input: &str) -> bool {
    map_accents(&label.to_lowercase()) == normalised_input
}
