//! UTF-16 helpers: ChatMD measures and searches text in JavaScript's UTF-16 code units.

use std::ops::Range;

pub(super) fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

/// JavaScript `includes` on UTF-16 units; the empty needle is found everywhere.
pub(super) fn contains_units(haystack: &[u16], needle: &[u16]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// ASCII word character of JavaScript regular expressions without the `u` flag.
fn is_word_unit(unit: u16) -> bool {
    u8::try_from(unit).is_ok_and(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `\b` at `position` of `units`.
fn is_word_boundary(units: &[u16], position: usize) -> bool {
    let before = position
        .checked_sub(1)
        .and_then(|p| units.get(p))
        .is_some_and(|&u| is_word_unit(u));
    let after = units.get(position).is_some_and(|&u| is_word_unit(u));
    before != after
}

/// `/\bKEYWORD\b/.test(input)` with the keyword taken literally (see the module note).
pub(super) fn contains_delimited(haystack: &[u16], needle: &[u16]) -> bool {
    let Some(last_start) = haystack.len().checked_sub(needle.len()) else {
        return false;
    };
    (0..=last_start).any(|start| {
        haystack.get(start..start + needle.len()) == Some(needle)
            && is_word_boundary(haystack, start)
            && is_word_boundary(haystack, start + needle.len())
    })
}

/// Ranges of the pieces of JavaScript `units.split(" ")`, empty pieces included.
pub(super) fn split_on_spaces(units: &[u16]) -> Vec<Range<usize>> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (i, &unit) in units.iter().enumerate() {
        if unit == u16::from(b' ') {
            pieces.push(start..i);
            start = i + 1;
        }
    }
    pieces.push(start..units.len());
    pieces
}

/// Deletes what ChatMD's `/,|\.|:|\?|!|\(|\)|\[|\||\/\]/g` deletes: `, . : ? ! ( ) [ |` and
/// the two-character sequence `/]` (a lone `]` or `/` stays).
pub(super) fn strip_chatmd_punctuation(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ',' | '.' | ':' | '?' | '!' | '(' | ')' | '[' | '|' => {}
            '/' if chars.peek() == Some(&']') => {
                chars.next();
            }
            other => out.push(other),
        }
    }
    out
}
