//! §M4 and §M5: a response's keywords (title words included) and the score of one keyword.

use super::fuzzy::{lcs_weighted, lev_ngrams_in};
use super::score::PreparedInput;
use super::utf16::{
    contains_delimited, contains_units, split_on_spaces, strip_chatmd_punctuation, utf16,
};
use super::{
    IDENTITY_BONUS, MIN_FUZZY_INPUT_LEN, MIN_FUZZY_KEYWORD_LEN, MIN_NGRAM_CREDIT,
    MIN_TITLE_WORD_LEN, WORD_LENGTH_FACTOR,
};
use crate::js::{is_js_whitespace, js_trim, map_accents, utf16_len};

/// One entry of a response's keyword list (§M4), ready for scoring (§M5).
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedKeyword {
    /// The entry started with `! `: finding it subtracts instead of adding.
    pub(super) negative: bool,
    /// Lower-cased, `! ` marker removed, trimmed, accent-mapped, in UTF-16.
    pub(super) units: Vec<u16>,
    /// Number of pieces of `text.split(" ")`, the n-gram size of §M5.1.
    pub(super) pieces: usize,
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
/// computes both; [`super::IndexedResponses`] skips a measure only when its index proves it is
/// zero, which leaves the sum unchanged (adding `0.0` to a non-negative total is exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FuzzyReach {
    /// Some word n-gram of the input may be within edit distance 2 (§M5.1).
    pub(super) ngrams: bool,
    /// The input and the keyword may share a run longer than 4 units (§M5.2).
    pub(super) common_run: bool,
}

impl FuzzyReach {
    pub(super) const ALL: Self = Self {
        ngrams: true,
        common_run: true,
    };
}

pub(super) fn keyword_score_with(
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
pub(super) fn title_words(title: &str) -> Vec<String> {
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
