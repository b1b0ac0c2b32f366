//! §M5.1 and §M5.2: the fuzzy measures (Levenshtein on UTF-16 units with its banded and
//! bit-parallel fast paths, n-gram distance, weighted longest common run).

use std::ops::Range;

use super::utf16::split_on_spaces;
use super::{LEVENSHTEIN_LIMIT, MIN_COMMON_RUN, NGRAM_BOOST, POSITION_DECAY, WORD_LENGTH_FACTOR};
use crate::distance::{myers, within_edits};

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

pub(super) fn lev_ngrams_in(
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
