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

pub(crate) mod hash;
mod index;

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;
use std::sync::OnceLock;

use hash::{FastMap, FastSet};

// JavaScript's white-space set (`trim`, `\s`); one definition, shared with the expression parser.
use crate::kb::expr::{is_js_whitespace, js_trim};

pub use index::{IndexedResponses, Section};

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

// §M6.1 tokenizer constants (`nlp.mjs`, `tokenize`).
/// Words shorter than this are not tokenised.
const MIN_TOKEN_WORD_LEN: usize = 5;
/// Lengths of the sub-tokens emitted for every word.
const SUB_TOKEN_LENGTHS: [usize; 3] = [5, 6, 7];
/// Bonus of a token that starts its word.
const TOKEN_START_BONUS: f64 = 0.2;
/// Length-similarity bonus: `5 / (word length - token length)`, or 5 for the whole word.
const TOKEN_LENGTH_BONUS: f64 = 5.0;
/// Floor of the whole-word weight.
const WHOLE_WORD_MIN_WEIGHT: f64 = 5.0;
/// Bonus of a response token found in the lower-cased title.
const TITLE_BONUS: f64 = 10.0;

/// 5-unit sub-tokens skipped by the tokenizer (non-significant French endings, §M6.1).
const IGNORED_5: &[&str] = &[
    "ation", "etion", "ition", "otion", "ution", "ement", "mment", "ssant", "sante", "ments",
    "antes", "ourir", "endre", "isser", "ction", "tions", "aient", "erent", "irent", "euses",
    "elles", "iques", "ables", "pable", "ibles", "asses", "esses", "isses", "osses", "usses",
    "oires", "aires", "entes", "anger", "teurs", "trice",
];
/// 6-unit sub-tokens skipped by the tokenizer (§M6.1). ChatMD's list also holds the 7-letter
/// `eraient` and `iraient`, which a 6-unit token can never equal, so they are left out.
const IGNORED_6: &[&str] = &[
    "ations", "etions", "itions", "otions", "utions", "ements", "mments", "ssants", "santes",
    "rement", "amment", "emment", "iquent", "issent", "assent", "ussent", "escent", "erions",
    "irions", "ueuses", "eusent", "ateurs", "atrice", "trices", "ctions", "ssions", "uerait",
];

/// The French list ChatMD's profanity filter uses (§M11), one entry per line.
const FRENCH_BAD_WORDS: &str = include_str!("../../data/badwords-fr.txt");

// ---------------------------------------------------------------------------------------------
// §M2 Normalisation
// ---------------------------------------------------------------------------------------------

/// [`is_js_whitespace`] for one UTF-16 unit (all white-space characters are in the BMP).
fn is_js_whitespace_unit(unit: u16) -> bool {
    char::from_u32(u32::from(unit)).is_some_and(is_js_whitespace)
}

/// ChatMD's fixed accent map (`removeAccents`): 15 letters and their upper-case forms, nothing
/// else (`á ñ æ œ` and decomposed accents are left alone). `normalizeText` in expressions
/// applies the same table, so [`super::eval`] calls this one rather than keep a copy.
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

fn map_accents(s: &str) -> String {
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

// ---------------------------------------------------------------------------------------------
// UTF-16 helpers
// ---------------------------------------------------------------------------------------------

fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// JavaScript `includes` on UTF-16 units; the empty needle is found everywhere.
fn contains_units(haystack: &[u16], needle: &[u16]) -> bool {
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
fn contains_delimited(haystack: &[u16], needle: &[u16]) -> bool {
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
fn split_on_spaces(units: &[u16]) -> Vec<Range<usize>> {
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
fn strip_chatmd_punctuation(s: &str) -> String {
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

// ---------------------------------------------------------------------------------------------
// §M5.1 and §M5.2: the fuzzy measures
// ---------------------------------------------------------------------------------------------

/// Plain Levenshtein distance (insert, delete, substitute, each cost 1) on UTF-16 units.
pub fn levenshtein(a: &[u16], b: &[u16]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &unit_a) in a.iter().enumerate() {
        // `diagonal` is the previous row's value one column to the left.
        let mut diagonal = i;
        let mut left = i + 1;
        for (&unit_b, cell) in b.iter().zip(row.iter_mut().skip(1)) {
            let above = *cell;
            let substitution = diagonal + usize::from(unit_a != unit_b);
            let value = (above + 1).min(left + 1).min(substitution);
            diagonal = above;
            *cell = value;
            left = value;
        }
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
    }
    row.last().copied().unwrap_or(0)
}

/// Widest band [`within_edits`] keeps on the stack (distances up to 3).
const BAND_CAPACITY: usize = 7;

/// Whether `levenshtein(a, b) <= max`, computing only the diagonal band `|i − j| ≤ max` of
/// the distance table: a path leaving the band already costs more than `max`. For the small
/// `max` of §M5.1 this is a few operations per unit instead of a full table.
fn within_edits(a: &[u16], b: &[u16], max: usize) -> bool {
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    if !a.is_empty() && a.len() <= 64 {
        return bit_parallel_distance(a, b) <= max;
    }
    let over = max + 1;
    let width = 2 * max + 1;
    if width > BAND_CAPACITY {
        return levenshtein(a, b) <= max;
    }
    // Cell `t` of row `i` is column `j = i + t − max`; values are capped at `over`.
    let mut previous = [over; BAND_CAPACITY];
    for (t, cell) in previous.iter_mut().enumerate().take(width).skip(max) {
        *cell = t - max;
    }
    let mut current = [over; BAND_CAPACITY];
    for (i, &unit_a) in a.iter().enumerate() {
        let row = i + 1;
        let mut row_min = over;
        for t in 0..width {
            let Some(j) = (row + t).checked_sub(max) else {
                current[t] = over;
                continue;
            };
            let value = if j > b.len() {
                over
            } else if j == 0 {
                row.min(over)
            } else {
                let unit_b = b.get(j - 1).copied();
                let diagonal = previous[t] + usize::from(unit_b != Some(unit_a));
                let above = previous.get(t + 1).map_or(over, |v| v + 1);
                let left = t.checked_sub(1).map_or(over, |l| current[l] + 1);
                diagonal.min(above).min(left).min(over)
            };
            current[t] = value;
            row_min = row_min.min(value);
        }
        if row_min > max {
            return false;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous
        .get(b.len() + max - a.len())
        .is_some_and(|&distance| distance <= max)
}

/// `levenshtein(a, b)` for `a` of 1 to 64 units, one column of the distance table per unit
/// of `b` held as bit vectors of vertical differences (Myers 1999, with Hyyrö's change for a
/// global distance: the top row grows by one per column). This is the inner check of fuzzy
/// matching, run for every candidate pair of every message.
fn bit_parallel_distance(a: &[u16], b: &[u16]) -> usize {
    // Positions of each distinct unit of `a`: few, so a short list (on the stack) beats a
    // map.
    let mut table = [(0u16, 0u64); 64];
    let mut distinct = 0;
    for (i, &unit) in a.iter().enumerate() {
        match table[..distinct].iter_mut().find(|(u, _)| *u == unit) {
            Some((_, mask)) => *mask |= 1 << i,
            None => {
                table[distinct] = (unit, 1 << i);
                distinct += 1;
            }
        }
    }
    let masks = &table[..distinct];
    myers(a.len(), b, |unit| {
        masks
            .iter()
            .find(|(u, _)| *u == unit)
            .map_or(0, |&(_, mask)| mask)
    })
}

/// The column recurrence of [`bit_parallel_distance`] for a pattern of `len` units (1 to
/// 64), `equal(unit)` giving the positions where the pattern has `unit`.
#[inline(always)]
fn myers(len: usize, b: &[u16], equal: impl Fn(u16) -> u64) -> usize {
    let last = 1u64 << (len - 1);
    let (mut positive, mut negative) = (u64::MAX, 0u64);
    let mut distance = len;
    for &unit in b {
        let equal = equal(unit);
        let vertical = equal | negative;
        let horizontal = (((equal & positive).wrapping_add(positive)) ^ positive) | equal;
        let mut horizontal_positive = negative | !(horizontal | positive);
        let mut horizontal_negative = positive & horizontal;
        if horizontal_positive & last != 0 {
            distance += 1;
        } else if horizontal_negative & last != 0 {
            distance -= 1;
        }
        horizontal_positive = (horizontal_positive << 1) | 1;
        horizontal_negative <<= 1;
        positive = horizontal_negative | !(vertical | horizontal_positive);
        negative = horizontal_positive & vertical;
    }
    distance
}

/// A text compared with many others within a few edits, as an input window is with every
/// keyword that may be close to it: where each of its units occurs is worked out once, in a
/// table that answers in one step for units below 256 (most of French text).
pub(crate) struct Pattern<'a> {
    units: &'a [u16],
    low: [u64; 256],
    /// Units from 256 up, with their positions.
    high: Vec<(u16, u64)>,
}

impl<'a> Pattern<'a> {
    pub(crate) fn new(units: &'a [u16]) -> Self {
        let mut pattern = Pattern {
            units,
            low: [0; 256],
            high: Vec::new(),
        };
        if units.len() <= 64 {
            for (i, &unit) in units.iter().enumerate() {
                match pattern.low.get_mut(usize::from(unit)) {
                    Some(mask) => *mask |= 1 << i,
                    None => match pattern.high.iter_mut().find(|(u, _)| *u == unit) {
                        Some((_, mask)) => *mask |= 1 << i,
                        None => pattern.high.push((unit, 1 << i)),
                    },
                }
            }
        }
        pattern
    }

    /// [`within_edits`]`(self, b, max)`.
    pub(crate) fn within(&self, b: &[u16], max: usize) -> bool {
        let a = self.units;
        if a.len().abs_diff(b.len()) > max {
            return false;
        }
        if a.is_empty() || a.len() > 64 {
            return within_edits(a, b, max);
        }
        let distance = myers(a.len(), b, |unit| match self.low.get(usize::from(unit)) {
            Some(&mask) => mask,
            None => self
                .high
                .iter()
                .find(|(u, _)| *u == unit)
                .map_or(0, |&(_, mask)| mask),
        });
        distance <= max
    }
}

/// §M5.1 `hasLevenshteinDistanceLessThan(input, keyword, 3)`: for every window of as many
/// space-separated input words as the keyword has, adds `len × 0.1 × 3` when the window is
/// within edit distance 2 of the keyword.
pub fn lev_ngrams(input: &[u16], keyword: &[u16]) -> f64 {
    let words = split_on_spaces(input);
    let pieces = split_on_spaces(keyword).len();
    lev_ngrams_in(input, &words, keyword, pieces)
}

fn lev_ngrams_in(
    input: &[u16],
    words: &[Range<usize>],
    keyword: &[u16],
    keyword_pieces: usize,
) -> f64 {
    let mut credit = 0.0;
    if keyword_pieces == 0 {
        return credit;
    }
    for window in words.windows(keyword_pieces) {
        let (Some(first), Some(last)) = (window.first(), window.last()) else {
            continue;
        };
        // Words are contiguous pieces of the input, so the joined window is a slice of it.
        let Some(gram) = input.get(first.start..last.end) else {
            continue;
        };
        // The distance is at least the length difference: skip hopeless windows early.
        if gram.len().abs_diff(keyword.len()) >= LEVENSHTEIN_LIMIT {
            continue;
        }
        if within_edits(gram, keyword, LEVENSHTEIN_LIMIT - 1) {
            credit += gram.len() as f64 * WORD_LENGTH_FACTOR * NGRAM_BOOST;
        }
    }
    credit
}

/// §M5.2 `longestCommonSubstringWeightedLength`: the first longest common run (scanning input
/// positions, then keyword positions) longer than 4 units, weighted
/// `(L + 0.1 L) × 1/(1 + 10 j/len(k)) × 1/(1 + len(k) − L)`.
pub fn lcs_weighted(input: &[u16], keyword: &[u16]) -> f64 {
    let keyword_len = keyword.len();
    let mut best_len = 0;
    let mut best_weight = 0.0;
    for (i, &first) in input.iter().enumerate() {
        let Some(input_tail) = input.get(i..) else {
            break;
        };
        // No run from here on (input and keyword tails only shrink) can beat the best one.
        if input_tail.len() <= best_len.max(MIN_COMMON_RUN) {
            break;
        }
        for (j, &unit) in keyword.iter().enumerate() {
            if keyword_len - j <= best_len.max(MIN_COMMON_RUN) {
                break;
            }
            // A run starting here would have length 0.
            if unit != first {
                continue;
            }
            let Some(keyword_tail) = keyword.get(j..) else {
                break;
            };
            let run = input_tail
                .iter()
                .zip(keyword_tail)
                .take_while(|(a, b)| a == b)
                .count();
            if run > MIN_COMMON_RUN && run > best_len {
                let position_factor =
                    1.0 / (1.0 + (j as f64 / keyword_len as f64) * POSITION_DECAY);
                let length_factor = 1.0 / (1.0 + (keyword_len - run) as f64);
                let position_weight = position_factor * length_factor;
                best_len = run;
                best_weight = (run as f64 + run as f64 * WORD_LENGTH_FACTOR) * position_weight;
            }
        }
    }
    best_weight
}

// ---------------------------------------------------------------------------------------------
// §M4 and §M5: keywords
// ---------------------------------------------------------------------------------------------

/// One entry of a response's keyword list (§M4), ready for scoring (§M5).
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedKeyword {
    /// The entry started with `! `: finding it subtracts instead of adding.
    negative: bool,
    /// Lower-cased, `! ` marker removed, trimmed, accent-mapped, in UTF-16.
    units: Vec<u16>,
    /// Number of pieces of `text.split(" ")`, the n-gram size of §M5.1.
    pieces: usize,
}

impl PreparedKeyword {
    /// Prepares a keyword-list entry as ChatMD does: lower-case; negative when it then starts
    /// with `! `; remove a leading `!` followed by one white-space character; trim; accent-map.
    pub fn new(entry: &str) -> Self {
        let lower = entry.to_lowercase();
        let negative = lower.starts_with("! ");
        // `replace(/^!\s/, "")` runs for every keyword, so `!<tab>x` loses its marker
        // without becoming negative.
        let body = match lower.strip_prefix('!') {
            Some(rest) => {
                let mut chars = rest.chars();
                if chars.next().is_some_and(is_js_whitespace) {
                    chars.as_str()
                } else {
                    lower.as_str()
                }
            }
            None => lower.as_str(),
        };
        let text = map_accents(js_trim(body));
        let units = utf16(&text);
        let pieces = split_on_spaces(&units).len();
        Self {
            negative,
            units,
            pieces,
        }
    }

    /// The normalised keyword.
    pub fn text(&self) -> String {
        String::from_utf16_lossy(&self.units)
    }

    /// Whether the keyword was written `! keyword`.
    pub fn is_negative(&self) -> bool {
        self.negative
    }
}

/// Score of one keyword against one input (§M5).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct KeywordScore {
    /// `±(30 + 0.1 len)` when found (positive) or `−60 − 0.1 len` (negative keyword), else 0.
    pub exact: f64,
    /// Fuzzy credit (n-gram Levenshtein, then common run), only when the keyword was not found.
    pub fuzzy: f64,
}

/// §M5 `computeKeywordScore`. With `next_pending`, a found keyword must also be delimited by
/// ASCII word boundaries, and the common-run credit is not computed.
pub fn keyword_score(
    input: &PreparedInput,
    keyword: &PreparedKeyword,
    next_pending: bool,
) -> KeywordScore {
    keyword_score_with(input, keyword, next_pending, FuzzyReach::ALL)
}

/// Which fuzzy measures can be non-zero for a keyword and an input. The straightforward path
/// computes both; [`IndexedResponses`] skips a measure only when its index proves it is zero,
/// which leaves the sum unchanged (adding `0.0` to a non-negative total is exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FuzzyReach {
    /// Some word n-gram of the input may be within edit distance 2 (§M5.1).
    ngrams: bool,
    /// The input and the keyword may share a run longer than 4 units (§M5.2).
    common_run: bool,
}

impl FuzzyReach {
    const ALL: Self = Self {
        ngrams: true,
        common_run: true,
    };
}

fn keyword_score_with(
    input: &PreparedInput,
    keyword: &PreparedKeyword,
    next_pending: bool,
    reach: FuzzyReach,
) -> KeywordScore {
    let u = input.units.as_slice();
    let k = keyword.units.as_slice();
    let length_credit = k.len() as f64 * WORD_LENGTH_FACTOR;
    if contains_units(u, k) {
        if next_pending && !contains_delimited(u, k) {
            return KeywordScore::default();
        }
        let exact = if keyword.negative {
            (0.0 - 2.0 * IDENTITY_BONUS) - length_credit
        } else {
            (0.0 + IDENTITY_BONUS) + length_credit
        };
        return KeywordScore { exact, fuzzy: 0.0 };
    }
    if u.len() > MIN_FUZZY_INPUT_LEN && k.len() > MIN_FUZZY_KEYWORD_LEN && !keyword.negative {
        let ngram = if reach.ngrams {
            lev_ngrams_in(u, &input.words, k, keyword.pieces)
        } else {
            0.0
        };
        let mut fuzzy = if ngram > MIN_NGRAM_CREDIT {
            0.0 + ngram
        } else {
            0.0
        };
        if !next_pending && reach.common_run {
            fuzzy += lcs_weighted(u, k);
        }
        return KeywordScore { exact: 0.0, fuzzy };
    }
    KeywordScore::default()
}

/// The title words that §M4 adds to the keyword list: delete `, . : ? ! ( ) [ |` and `/]`,
/// turn `/ - ' ’` into spaces, split on single spaces, keep words longer than 4 UTF-16 units
/// (measured before lower-casing, as ChatMD filters before it lower-cases).
fn title_words(title: &str) -> Vec<String> {
    let spaced: String = strip_chatmd_punctuation(title)
        .chars()
        .map(|c| match c {
            '/' | '-' | '\'' | '’' => ' ',
            other => other,
        })
        .collect();
    spaced
        .split(' ')
        .filter(|word| utf16_len(word) > MIN_TITLE_WORD_LEN)
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// §M6 Content search
// ---------------------------------------------------------------------------------------------

/// A weighted token vector, entries in the order JavaScript enumerates the keys of the object
/// ChatMD builds (array-index keys such as `20240` first, ascending, then insertion order), so
/// that sums over it round exactly as ChatMD's do.
#[derive(Debug, Clone, Default)]
struct ContentVector {
    entries: VectorEntries,
    positions: FastMap<Token, usize>,
    norm: f64,
}

/// Tokens and their weights.
type VectorEntries = Vec<(Token, f64)>;

/// Most units a [`Token::Packed`] holds.
const MAX_PACKED_UNITS: usize = 7;

/// Packs up to [`MAX_PACKED_UNITS`] UTF-16 units and their count into one integer; distinct
/// slices give distinct keys. `None` for longer slices.
fn pack_units(units: &[u16]) -> Option<u128> {
    // The units fill the low bits, the count sits above the last possible unit.
    (units.len() <= MAX_PACKED_UNITS).then(|| {
        let packed = units
            .iter()
            .fold(0, |key, &unit| (key << 16) | u128::from(unit));
        packed | ((units.len() as u128) << (16 * MAX_PACKED_UNITS))
    })
}

/// A content-search token. Most are 5- to 7-unit sub-tokens (§M6.1): kept packed in an
/// integer, they cost no allocation and hash in one step. A slice has exactly one form, so
/// equality is equality of the units.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Token {
    Packed(u128),
    Long(Box<[u16]>),
}

impl Token {
    fn new(units: &[u16]) -> Self {
        match pack_units(units) {
            Some(packed) => Token::Packed(packed),
            None => Token::Long(units.into()),
        }
    }

    /// Calls `f` with the token's units.
    fn with_units<R>(&self, f: impl FnOnce(&[u16]) -> R) -> R {
        match self {
            Token::Long(units) => f(units),
            Token::Packed(packed) => {
                let len = (packed >> (16 * MAX_PACKED_UNITS)) as usize;
                let mut units = [0u16; MAX_PACKED_UNITS];
                for (i, unit) in units.iter_mut().take(len).enumerate() {
                    *unit = ((packed >> (16 * (len - 1 - i))) & 0xFFFF) as u16;
                }
                f(units.get(..len).unwrap_or_default())
            }
        }
    }
}

impl ContentVector {
    fn weight(&self, token: &Token) -> Option<f64> {
        let &position = self.positions.get(token)?;
        self.entries.get(position).map(|(_, weight)| *weight)
    }
}

/// Where [`tokenize_into`] sends each token it emits, in emission order.
trait TokenSink {
    /// `vec[token] = (vec[token] || 0) + weight`.
    fn add(&mut self, token: &[u16], weight: f64);

    /// Every token of one word of at least [`MIN_TOKEN_WORD_LEN`] units, in emission order,
    /// with the title bonus when `title` holds the token. A sink that sees the same words
    /// many times may remember each word's tokens instead.
    fn add_word(&mut self, word: &[u16], title: Option<&TitlePieces<'_>>) {
        add_word_tokens(self, word, title);
    }
}

/// [`TokenSink::add_word`] token by token.
fn add_word_tokens<S: TokenSink + ?Sized>(
    sink: &mut S,
    word: &[u16],
    title: Option<&TitlePieces<'_>>,
) {
    word_tokens(word, |start, len, weight, whole| {
        let token = &word[start..start + len];
        let in_title = title.is_some_and(|t| t.contains(token));
        sink.add(token, with_title_bonus(weight, whole, in_title));
    });
}

/// §M6.1: the tokens of a word (the whole word, then its sub-tokens by length and position,
/// less the ignored ones), as (start, length, weight before the title bonus, whole word).
fn word_tokens(word: &[u16], mut emit: impl FnMut(usize, usize, f64, bool)) {
    let word_len = word.len();
    let mut whole = token_base_weight(word_len) + TOKEN_START_BONUS;
    whole += TOKEN_LENGTH_BONUS;
    emit(0, word_len, whole, true);
    for token_len in SUB_TOKEN_LENGTHS {
        if word_len < token_len {
            continue;
        }
        for (start, token) in word.windows(token_len).enumerate() {
            // §M6.1: ChatMD checks the lists only for substrings shorter than the word, so a
            // word that is itself on a list (`elles`, `sante`) keeps its second whole-word
            // token (golden `ngram-words`).
            if token_len < word_len && is_ignored_sub_token(token) {
                continue;
            }
            let mut weight = token_base_weight(token_len);
            if start == 0 {
                weight += TOKEN_START_BONUS;
            }
            weight += match word_len - token_len {
                0 => TOKEN_LENGTH_BONUS,
                difference => TOKEN_LENGTH_BONUS / difference as f64,
            };
            emit(start, token_len, weight, false);
        }
    }
}

/// A token's weight from [`word_tokens`]' with the title bonus, added last as ChatMD does;
/// a whole word then weighs at least [`WHOLE_WORD_MIN_WEIGHT`].
fn with_title_bonus(weight: f64, whole: bool, in_title: bool) -> f64 {
    let mut weight = weight;
    if in_title {
        weight += TITLE_BONUS;
    }
    if whole {
        weight.max(WHOLE_WORD_MIN_WEIGHT)
    } else {
        weight
    }
}

#[derive(Default)]
struct VectorBuilder {
    entries: VectorEntries,
    positions: FastMap<Token, usize>,
}

impl TokenSink for VectorBuilder {
    fn add(&mut self, token: &[u16], weight: f64) {
        let token = Token::new(token);
        if let Some(&position) = self.positions.get(&token) {
            if let Some((_, total)) = self.entries.get_mut(position) {
                *total += weight;
            }
            return;
        }
        self.positions.insert(token.clone(), self.entries.len());
        self.entries.push((token, weight));
    }
}

impl VectorBuilder {
    fn finish(self) -> ContentVector {
        let (entries, norm) = self.finish_entries();
        let positions = entries
            .iter()
            .enumerate()
            .map(|(position, (token, _))| (token.clone(), position))
            .collect();
        ContentVector {
            entries,
            positions,
            norm,
        }
    }

    /// The entries in JavaScript key order and the vector's norm.
    fn finish_entries(self) -> (VectorEntries, f64) {
        in_key_order(self.entries, |token| token.with_units(array_index))
    }
}

/// Puts a vector's entries in the order JavaScript enumerates an object's keys (array-index
/// keys first, ascending, then insertion order) and returns them with the vector's norm,
/// summed in that order.
fn in_key_order<T>(
    entries: Vec<(T, f64)>,
    array_index_of: impl Fn(&T) -> Option<u32>,
) -> (Vec<(T, f64)>, f64) {
    let mut indexed = Vec::new();
    let mut named = Vec::with_capacity(entries.len());
    for (token, weight) in entries {
        match array_index_of(&token) {
            Some(index) => indexed.push((index, token, weight)),
            None => named.push((token, weight)),
        }
    }
    let entries: Vec<(T, f64)> = if indexed.is_empty() {
        named
    } else {
        indexed.sort_by_key(|(index, _, _)| *index);
        indexed
            .into_iter()
            .map(|(_, token, weight)| (token, weight))
            .chain(named)
            .collect()
    };
    let norm = entries
        .iter()
        .fold(0.0, |sum, (_, weight)| sum + weight * weight)
        .sqrt();
    (entries, norm)
}

/// The value of `token` if JavaScript treats it as an array index (canonical decimal integer
/// below 2³² − 1), which puts it first, in numeric order, among an object's keys.
fn array_index(token: &[u16]) -> Option<u32> {
    let digits: Vec<u8> = token
        .iter()
        .map(|&unit| u8::try_from(unit).ok().filter(u8::is_ascii_digit))
        .collect::<Option<_>>()?;
    if digits.is_empty() || (digits.len() > 1 && digits.first() == Some(&b'0')) {
        return None;
    }
    let value = std::str::from_utf8(&digits).ok()?.parse::<u32>().ok()?;
    (value != u32::MAX).then_some(value)
}

/// Base weight of a token of `len` units: 0.4, 0.6, 0.8, then 1 from 8 units on.
fn token_base_weight(len: usize) -> f64 {
    match len {
        0..=4 => 0.0,
        5 => 0.4,
        6 => 0.6,
        7 => 0.8,
        _ => 1.0,
    }
}

fn is_ignored_sub_token(token: &[u16]) -> bool {
    static IGNORED: OnceLock<FastSet<u128>> = OnceLock::new();
    let ignored = IGNORED.get_or_init(|| {
        IGNORED_5
            .iter()
            .chain(IGNORED_6)
            .filter_map(|ending| pack_units(&utf16(ending)))
            .collect()
    });
    matches!(token.len(), 5 | 6) && pack_units(token).is_some_and(|key| ignored.contains(&key))
}

/// The substrings of a lower-cased title that tokens can equal, for the title bonus (§M6.1):
/// tokens are tested against every title, so a set of its 5- to 7-unit pieces saves a scan
/// of the title per token.
struct TitlePieces<'a> {
    units: &'a [u16],
    packed: FastSet<u128>,
}

impl<'a> TitlePieces<'a> {
    fn new(units: &'a [u16]) -> Self {
        let packed = SUB_TOKEN_LENGTHS
            .iter()
            .flat_map(|&len| units.windows(len))
            .filter_map(pack_units)
            .collect();
        Self { units, packed }
    }

    /// Whether the title can hold any token of `word`: every token has 5 units or more,
    /// so it starts with a 5-unit window of the word, which the title would hold too.
    fn may_hold_tokens_of(&self, word: &[u16]) -> bool {
        const _: () = assert!(MIN_TOKEN_WORD_LEN == SUB_TOKEN_LENGTHS[0]);
        word.windows(SUB_TOKEN_LENGTHS[0])
            .any(|window| pack_units(window).is_some_and(|key| self.packed.contains(&key)))
    }

    /// `title.includes(token)`.
    fn contains(&self, token: &[u16]) -> bool {
        if SUB_TOKEN_LENGTHS.contains(&token.len())
            && let Some(key) = pack_units(token)
        {
            return self.packed.contains(&key);
        }
        contains_units(self.units, token)
    }
}

/// §M6.1 `tokenize` + `createVector`. `title` is the lower-cased (not accent-mapped) response
/// title for the title bonus; inputs have none.
fn tokenize_into(builder: &mut impl TokenSink, text: &str, title: Option<&[u16]>) {
    // Lower-case, strip punctuation, `/` as a space, accent-map and encode, in one pass.
    let lower = text.to_lowercase();
    let mut units: Vec<u16> = Vec::with_capacity(lower.len());
    let mut chars = lower.chars().peekable();
    let mut buffer = [0u16; 2];
    while let Some(c) = chars.next() {
        let c = match c {
            ',' | '.' | ':' | '?' | '!' | '(' | ')' | '[' | '|' => continue,
            '/' if chars.peek() == Some(&']') => {
                chars.next();
                continue;
            }
            '/' => ' ',
            other => map_accent(other),
        };
        units.extend_from_slice(c.encode_utf16(&mut buffer));
    }
    let title = title.map(TitlePieces::new);
    // Splitting on `\s|'` leaves no white space to trim in the pieces.
    for word in units.split(|&unit| unit == u16::from(b'\'') || is_js_whitespace_unit(unit)) {
        if word.len() >= MIN_TOKEN_WORD_LEN {
            builder.add_word(word, title.as_ref());
        }
    }
}

/// §M6.2: `cos + 0.5` when the cosine is not 0, else 0. The dot product runs over the input's
/// keys in JavaScript order (the response-only keys add exact zeros).
fn content_score(input: &ContentVector, response: &ContentVector) -> f64 {
    if input.norm == 0.0 || response.norm == 0.0 {
        return 0.0;
    }
    let dot = input.entries.iter().fold(0.0, |dot, (token, weight)| {
        dot + weight * response.weight(token).unwrap_or(0.0)
    });
    content_score_from_dot(dot, input.norm, response.norm)
}

/// §M6.2 once the dot product is known; both norms must be non-zero.
fn content_score_from_dot(dot: f64, input_norm: f64, response_norm: f64) -> f64 {
    let cosine = dot / (input_norm * response_norm);
    if cosine == 0.0 {
        0.0
    } else {
        cosine + CONTENT_OFFSET
    }
}

// ---------------------------------------------------------------------------------------------
// §M10 Synonyms
// ---------------------------------------------------------------------------------------------

/// §M10: turns the YAML `synonymes` entries (`"a, b, c"`, one group per entry or per line of
/// the linked file) into groups of normalised members, once per knowledge base.
pub fn prepare_synonym_groups(entries: &[String]) -> Vec<Vec<String>> {
    entries
        .iter()
        .map(|entry| entry.split(',').map(normalize).collect())
        .collect()
}

/// §M10: extends a normalised input with synonyms. `groups` must hold normalised members, as
/// [`prepare_synonym_groups`] returns them.
///
/// For each input word (punctuation of §M6.1 deleted, `/` as a space, split on single spaces),
/// groups are scanned in order: a group with a member equal to the word appends its other
/// members and ends the scan for that word; any other group appends its other members once for
/// each of its multi-word members found in the input as extended so far.
pub fn expand_synonyms(normalised_input: &str, groups: &[Vec<String>]) -> String {
    let mut extended = normalised_input.to_owned();
    if groups.is_empty() {
        return extended;
    }
    let words = strip_chatmd_punctuation(normalised_input).replace('/', " ");
    for word in words.split(' ') {
        for group in groups {
            if group.iter().any(|member| member == word) {
                append_other_members(&mut extended, group, word);
                break;
            }
            for member in group {
                if member.contains(' ') && extended.contains(member.as_str()) {
                    append_other_members(&mut extended, group, member);
                }
            }
        }
    }
    extended
}

/// `input += " " + group.filter(m => m !== found).join(" ")`.
fn append_other_members(extended: &mut String, group: &[String], found: &str) {
    extended.push(' ');
    let mut first = true;
    for member in group.iter().filter(|member| *member != found) {
        if !first {
            extended.push(' ');
        }
        extended.push_str(member);
        first = false;
    }
}

// ---------------------------------------------------------------------------------------------
// §M11 Bad words
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// §M7 Responses, inputs and scores
// ---------------------------------------------------------------------------------------------

/// How one response is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScoreMode {
    /// No `!Next` pending.
    #[default]
    Normal,
    /// A `!Next` is pending and this response is its target (§M8). The caller must also apply
    /// [`PreparedResponse::next_replaces_input`]; [`score_all`] does.
    Next {
        /// The `!Next` directive carried `ignoreKeywords`.
        ignore_keywords: bool,
    },
}

impl ScoreMode {
    fn is_next(self) -> bool {
        matches!(self, Self::Next { .. })
    }
}

/// The typed message, prepared once per message (§M2, §M10, §M6.2).
#[derive(Debug, Clone)]
pub struct PreparedInput {
    text: String,
    units: Vec<u16>,
    words: Vec<Range<usize>>,
    vector: Option<ContentVector>,
}

impl PreparedInput {
    /// Normalises `raw` (§M2), extends it with `synonym_groups` (§M10, from
    /// [`prepare_synonym_groups`]; pass none while a `!Next` or `!SelectNext` is being served)
    /// and, with `content_search`, builds its vector (§M6.2).
    pub fn new(raw: &str, synonym_groups: &[Vec<String>], content_search: bool) -> Self {
        let text = expand_synonyms(&normalize(raw), synonym_groups);
        Self::from_normalised(text, content_search)
    }

    fn from_normalised(text: String, content_search: bool) -> Self {
        let units = utf16(&text);
        let words = split_on_spaces(&units);
        let vector = content_search.then(|| {
            let mut builder = VectorBuilder::default();
            tokenize_into(&mut builder, &text, None);
            builder.finish()
        });
        Self {
            text,
            units,
            words,
            vector,
        }
    }

    /// The normalised (and synonym-extended) text that is scored.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// One `## ` response, prepared once per knowledge base (§M4, §M6.2).
#[derive(Debug, Clone)]
pub struct PreparedResponse {
    title: String,
    /// Keywords, then the title, then the title words (§M4).
    keyword_list: Vec<PreparedKeyword>,
    /// How many entries of `keyword_list` are the response's own keywords.
    own_keywords: usize,
    content_search: bool,
    vector: Option<ContentVector>,
}

impl PreparedResponse {
    /// `title` as parsed (trimmed), `keywords` as written (without the `- ` bullet),
    /// `content_lines` the raw Markdown lines of the answer without keyword and option lines.
    /// The content vector is built only with `content_search` (`rechercheContenu: true`).
    pub fn new(
        title: &str,
        keywords: &[impl AsRef<str>],
        content_lines: &[impl AsRef<str>],
        content_search: bool,
    ) -> Self {
        let keyword_list = keyword_list_entries(title, keywords)
            .map(|entry| PreparedKeyword::new(&entry))
            .collect();
        let vector = content_search.then(|| {
            let mut builder = VectorBuilder::default();
            tokenize_response(&mut builder, title, content_lines);
            builder.finish()
        });
        Self {
            title: title.to_owned(),
            keyword_list,
            own_keywords: keywords.len(),
            content_search,
            vector,
        }
    }

    /// The title, as given.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Whether the response has keywords (an empty `- ` bullet counts).
    pub fn has_keywords(&self) -> bool {
        self.own_keywords > 0
    }

    /// The keyword list scored in `mode` (§M4): only the keywords when a `!Next` is pending,
    /// the response has keywords and `ignoreKeywords` was not given; otherwise the keywords,
    /// the title and the title words.
    pub fn keyword_list(&self, mode: ScoreMode) -> &[PreparedKeyword] {
        list_for_mode(&self.keyword_list, self.own_keywords, mode)
    }

    /// §M8: with a `!Next` pending on this response, ChatMD scores the normalised title instead
    /// of what was typed when the response has no keywords or `ignoreKeywords` was given.
    pub fn next_replaces_input(&self, ignore_keywords: bool) -> bool {
        next_replaces_input(self.own_keywords, ignore_keywords)
    }

    /// The input ChatMD substitutes when [`Self::next_replaces_input`] holds.
    pub fn title_as_input(&self) -> PreparedInput {
        PreparedInput::from_normalised(normalize(&self.title), self.content_search)
    }

    /// §M7 `computeResponseScore`: content score first, then every keyword in list order, the
    /// fuzzy total last, so that sums round exactly as ChatMD's. In [`ScoreMode::Next`] this
    /// response is taken to be the `!Next` target and `input` must already be the one ChatMD
    /// scores (see [`Self::next_replaces_input`]).
    pub fn score(&self, input: &PreparedInput, mode: ScoreMode) -> f64 {
        let next_pending = mode.is_next();
        let content = match (&input.vector, &self.vector) {
            (Some(input_vector), Some(response_vector)) => {
                content_score(input_vector, response_vector)
            }
            _ => 0.0,
        };
        let keyword_scores = self
            .keyword_list(mode)
            .iter()
            .map(|keyword| keyword_score_with(input, keyword, next_pending, FuzzyReach::ALL));
        combine_scores(content, keyword_scores, self.content_search, mode)
    }
}

/// §M7 `computeResponseScore` once the parts are known: the content score first, then every
/// keyword's exact score in list order, the fuzzy total last, so that sums round exactly as
/// ChatMD's. Both the straightforward path and [`IndexedResponses`] end here.
fn combine_scores(
    content: f64,
    keyword_scores: impl IntoIterator<Item = KeywordScore>,
    content_search: bool,
    mode: ScoreMode,
) -> f64 {
    let mut total = content;
    let mut fuzzy = 0.0;
    for score in keyword_scores {
        total += score.exact;
        fuzzy += score.fuzzy;
    }
    finish_score(total, || fuzzy, content_search, mode)
}

/// The end of §M7 once `total` (content score plus exact keyword scores, summed in list
/// order) is known. The fuzzy total, summed in list order too, is asked for only when it
/// can count.
fn finish_score(
    mut total: f64,
    fuzzy: impl FnOnce() -> f64,
    content_search: bool,
    mode: ScoreMode,
) -> f64 {
    let next_pending = mode.is_next();
    // Without content search, fuzzy credit only helps a response that matched nothing
    // exactly (and had no negative keyword fire): the total must be exactly zero.
    if (total == 0.0 || content_search) && !next_pending {
        let fuzzy = fuzzy();
        if fuzzy > 0.0 {
            total += fuzzy;
        }
    }
    if next_pending && total > NEXT_BONUS_THRESHOLD {
        total += IDENTITY_BONUS;
    }
    total
}

/// The entries of a response's keyword list as written (§M4): its keywords, then its title,
/// then the title words.
fn keyword_list_entries<'a>(
    title: &'a str,
    keywords: &'a [impl AsRef<str>],
) -> impl Iterator<Item = Cow<'a, str>> {
    keywords
        .iter()
        .map(|keyword| Cow::Borrowed(keyword.as_ref()))
        .chain(std::iter::once(Cow::Borrowed(title)))
        .chain(title_words(title).into_iter().map(Cow::Owned))
}

/// §M8: the part of a response's keyword list (its `own` keywords first, then title and title
/// words) that counts in `mode`: a `!Next` target with keywords of its own is judged on those
/// alone, unless `ignoreKeywords` was given.
fn list_for_mode<T>(list: &[T], own: usize, mode: ScoreMode) -> &[T] {
    match mode {
        ScoreMode::Next {
            ignore_keywords: false,
        } if own > 0 => list.get(..own),
        _ => None,
    }
    .unwrap_or(list)
}

/// §M8: whether ChatMD scores a `!Next` target's normalised title instead of what was typed:
/// when the target has no keywords of its own, or `ignoreKeywords` was given.
fn next_replaces_input(own_keywords: usize, ignore_keywords: bool) -> bool {
    own_keywords == 0 || ignore_keywords
}

/// §M6.2: the tokens of a response, from `title + " " + lower-case(content lines joined)`,
/// with the title bonus.
fn tokenize_response(sink: &mut impl TokenSink, title: &str, content_lines: &[impl AsRef<str>]) {
    let mut content = String::new();
    for (i, line) in content_lines.iter().enumerate() {
        if i > 0 {
            content.push(' ');
        }
        content.push_str(line.as_ref());
    }
    // ChatMD lower-cases the content here and the whole text again in `tokenize`; once is
    // the same (lower-casing is idempotent, see the test `lower_casing_is_idempotent`, and
    // the space keeps the title out of any final-sigma context).
    let text = format!("{title} {content}");
    let title_lower = utf16(&title.to_lowercase());
    tokenize_into(sink, &text, Some(&title_lower));
}

/// Which responses are candidates (§M4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Candidates<'a> {
    /// Every response, in document order.
    #[default]
    All,
    /// A `!SelectNext` choice is being served: only responses with this title.
    Selected(&'a str),
    /// A `!Next` is pending: only responses with the target title, scored in quiz mode.
    Next {
        /// The `!Next` target title.
        target: &'a str,
        /// The directive carried `ignoreKeywords`.
        ignore_keywords: bool,
    },
}

/// §M4/§M7 `computeSimilarityScore`: the score of every candidate, as `(index, score)` in
/// document order. Nothing is a candidate when there are no responses or the first one has an
/// empty title. Under `!Next`, once a target without keywords (or with `ignoreKeywords`) has
/// replaced the input by its title, the replacement also holds for later responses of the same
/// title, as in ChatMD.
pub fn score_all(
    responses: &[PreparedResponse],
    input: &PreparedInput,
    candidates: Candidates<'_>,
) -> Vec<(usize, f64)> {
    if responses.first().is_none_or(|first| first.title.is_empty()) {
        return Vec::new();
    }
    score_each(responses.iter().enumerate(), input, candidates)
}

/// [`score_all`] over some of the responses, given with their index in the base (in
/// document order), without its check of the first title, which is the caller's.
pub fn score_each<'r>(
    responses: impl IntoIterator<Item = (usize, &'r PreparedResponse)>,
    input: &PreparedInput,
    candidates: Candidates<'_>,
) -> Vec<(usize, f64)> {
    let mut replaced: Option<PreparedInput> = None;
    let mut scores = Vec::new();
    for (index, response) in responses {
        let score = match candidates {
            Candidates::All => response.score(input, ScoreMode::Normal),
            Candidates::Selected(title) if response.title == title => {
                response.score(input, ScoreMode::Normal)
            }
            Candidates::Next {
                target,
                ignore_keywords,
            } if response.title == target => {
                if response.next_replaces_input(ignore_keywords) {
                    replaced = Some(response.title_as_input());
                }
                let scored = replaced.as_ref().unwrap_or(input);
                response.score(scored, ScoreMode::Next { ignore_keywords })
            }
            _ => continue,
        };
        scores.push((index, score));
    }
    scores
}

/// §M7: the first candidate whose score is strictly greater than every previous best, starting
/// from 0 (ties go to the earlier response; a score ≤ 0 never wins).
pub fn best_of(scores: impl IntoIterator<Item = (usize, f64)>) -> Option<(usize, f64)> {
    let mut best = None;
    let mut best_score = 0.0;
    for (index, score) in scores {
        if score > best_score {
            best = Some((index, score));
            best_score = score;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

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
