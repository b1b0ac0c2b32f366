//! §M2: ChatMD's normalisation of a message (`normalizeText`) and of button labels.

// JavaScript's white-space set (`trim`, `\s`); one definition, shared with the expression parser.
use crate::kb::expr::{is_js_whitespace, js_trim};

/// [`is_js_whitespace`] for one UTF-16 unit (all white-space characters are in the BMP).
pub(super) fn is_js_whitespace_unit(unit: u16) -> bool {
    char::from_u32(u32::from(unit)).is_some_and(is_js_whitespace)
}

/// ChatMD's fixed accent map (`removeAccents`): 15 letters and their upper-case forms, nothing
/// else (`á ñ æ œ` and decomposed accents are left alone). `normalizeText` in expressions
/// applies the same table, so [`crate::engine::eval`] calls this one rather than keep a copy.
pub(crate) fn map_accent(c: char) -> char {
    match c {
        'à' | 'â' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'î' | 'ï' => 'i',
        'ô' | 'ö' => 'o',
        'û' | 'ù' | 'ü' => 'u',
        'ÿ' => 'y',
        'ç' => 'c',
        'À' | 'Â' => 'A',
        'É' | 'È' | 'Ê' | 'Ë' => 'E',
        'Î' | 'Ï' => 'I',
        'Ô' | 'Ö' => 'O',
        'Û' | 'Ù' | 'Ü' => 'U',
        'Ÿ' => 'Y',
        'Ç' => 'C',
        other => other,
    }
}

pub(super) fn map_accents(s: &str) -> String {
    s.chars().map(map_accent).collect()
}

/// `normalizeText` (§M2): lower-case (full Unicode, like JavaScript `toLowerCase`), trim
/// JavaScript white space (U+FEFF included), then apply the 15-letter accent map.
/// Punctuation, apostrophes and inner white space are kept as typed.
pub fn normalize(input: &str) -> String {
    map_accents(js_trim(&input.to_lowercase()))
}

/// Typed option label equality (§M3): the label, lower-cased and accent-mapped but **not**
/// trimmed, must equal the normalised input exactly.
pub fn label_matches(label: &str, normalised_input: &str) -> bool {
    map_accents(&label.to_lowercase()) == normalised_input
}
