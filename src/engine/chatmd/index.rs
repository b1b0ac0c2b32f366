//! An index over a knowledge base's responses that gives exactly ChatMD's choice and best
//! score (`docs/chatmd.md` §M4–§M7) while scoring only the responses that could win.
//!
//! ChatMD scores every keyword of every response for every message, so its cost grows with
//! the base. Almost all of that work produces zeros or losers, and both can be told apart
//! without computing them. Per knowledge base, [`IndexedResponses`] keeps each distinct
//! keyword once and, for each, where a non-zero score can come from:
//!
//! - **found** (§M5): the keyword is a substring of the input. Texts are looked up by their
//!   first up to 7 UTF-16 units at every input position; longer texts are then compared.
//!   A keyword that is not found has an exact score of 0.
//! - **common run** (§M5.2): the weighted longest common substring is non-zero only for a
//!   run longer than 4 units, which starts with a 5-unit substring shared by the keyword and
//!   the input. A map from every 5-unit substring of a keyword to (keyword, position) finds
//!   every keyword that may have such a run; the matches also bound the run's length and
//!   start, hence its weight ([`IndexedResponses::evidence`]).
//! - **n-gram edit distance** (§M5.1): credit needs a window `g` of the keyword's number of
//!   words with `levenshtein(g, k) ≤ 2`, hence `|len g − len k| ≤ 2`. Cut `k` into three
//!   parts; each edit of an optimal alignment damages at most one part, so one part survives
//!   intact in `g`, shifted by at most 2 (each edit before it moves it by one). The map from
//!   (words, length, part number, part text) to keywords, probed at the 5 possible shifts of
//!   each part of each window, finds every keyword within distance 2 of some window; each
//!   (window, keyword) pair is then checked exactly, which gives the credit's upper bound.
//! - **content** (§M6.2): the cosine is non-zero only for a shared token; postings from each
//!   token to the responses holding it, with their weights, give every dot product.
//!
//! Per message, every keyword that is neither found nor a fuzzy candidate scores `(0, 0)`.
//! Summing positive exact scores and fuzzy bounds over a response's keyword list (and, with
//! content search, its content score or `cos + 0.5 ≤ 1.5` by Cauchy–Schwarz) gives a ceiling
//! on its score. Responses are scored exactly — with the straightforward path's functions and
//! the same summation as [`PreparedResponse::score`], zeros included — from the highest
//! ceiling down, until no ceiling left reaches the best score found:
//!
//! 1. a response whose ceiling is below the best score scores strictly less than the winner;
//! 2. a response no keyword reaches scores at most its content, so only content search can
//!    make it win, and only when nothing scored above [`CONTENT_ONLY_CEILING`];
//! 3. every other response scores `0 + (negative keywords) ≤ 0` and never wins (§M7).
//!
//! The winner is then picked by [`best_of`] over the scored responses in document order, so
//! ties still go to the earlier response. `!SelectNext` and `!Next` restrict the candidates to
//! one title: those few responses are scored directly, keyword by keyword.
//!
//! [`PreparedResponse::score`]: super::PreparedResponse::score

use std::borrow::Cow;
use std::ops::Range;

use super::content::{
    MAX_PACKED_UNITS, TitlePieces, Token, TokenSink, add_word_tokens, array_index,
    content_score_from_dot, in_key_order, pack_units, with_title_bonus, word_tokens,
};
use super::fuzzy::Pattern;
use super::keywords::{FuzzyReach, KeywordScore, PreparedKeyword, keyword_score_with};
use super::normalise::normalize;
use super::score::{
    Candidates, PreparedInput, ScoreMode, best_of, combine_scores, finish_score,
    keyword_list_entries, list_for_mode, next_replaces_input, tokenize_response,
};
use super::{
    MIN_COMMON_RUN, MIN_FUZZY_INPUT_LEN, MIN_FUZZY_KEYWORD_LEN, NGRAM_BOOST, POSITION_DECAY,
    WORD_LENGTH_FACTOR,
};
use crate::engine::hash::{FastMap, FastSet, KeyedLists, Postings, hash_words};

/// Ceilings are sums of a few dozen terms under 10⁴, computed in another order than the
/// scores they bound: their rounding errors are below 10⁻⁹. A response is skipped only when
/// its ceiling is below the best score by more than this.
const BOUND_MARGIN: f64 = 1e-6;

/// Content search alone gives at most `cos + 0.5`, and `cos ≤ 1` (Cauchy–Schwarz); rounding
/// can only move that by a few ulps. A best score above this cannot be reached by a response
/// with no positive keyword, so those are not scored (see the module note).
const CONTENT_ONLY_CEILING: f64 = 2.0;

/// Marks the missing second form of a keyword text.
const NO_KEYWORD: u32 = u32::MAX;

/// Length of the substrings shared by a common run that counts (§M5.2: longer than 4).
const RUN_SEED_LEN: usize = MIN_COMMON_RUN + 1;

/// An edit distance of at most this earns n-gram credit (§M5.1: strictly below 3).
const MAX_NGRAM_EDITS: usize = 2;

/// Parts a keyword is cut into for the n-gram filter: one more than the edits allowed.
const NGRAM_PARTS: usize = MAX_NGRAM_EDITS + 1;

// The part argument needs every part non-empty: keywords with n-gram credit are longer than
// 4 units (§M5), so three parts of at least one unit each.
const _: () = assert!(MIN_FUZZY_KEYWORD_LEN + 1 >= NGRAM_PARTS);

/// [`pack_units`] for slices known to be short enough.
fn pack(units: &[u16]) -> u128 {
    pack_units(units).unwrap_or_default()
}

/// Offset and length of part `part` of a keyword of `len` units (three near-equal parts).
fn ngram_part(len: usize, part: usize) -> (usize, usize) {
    let first = len / NGRAM_PARTS;
    let second = (len + 1) / NGRAM_PARTS;
    match part {
        0 => (0, first),
        1 => (first, second),
        _ => (first + second, len - first - second),
    }
}

/// Key of one part in the n-gram filter. A collision only adds a candidate, which is then
/// scored exactly; it never hides one.
fn ngram_part_key(words: usize, len: usize, part: usize, units: &[u16]) -> u64 {
    hash_words(
        [words as u64, len as u64, part as u64]
            .into_iter()
            .chain(units.iter().map(|&unit| u64::from(unit))),
    )
}

/// One response as the index sees it.
#[derive(Debug, Clone)]
struct IndexedResponse {
    /// Keyword ids of its keyword list, in list order (§M4): keywords, title, title words.
    keyword_list: Box<[u32]>,
    /// How many leading entries of `keyword_list` are its own keywords.
    own_keywords: usize,
    /// Norm of its content vector (0 without content search).
    norm: f64,
}

/// Content vectors stored as postings: token → (response, weight), responses ascending.
#[derive(Debug, Clone)]
struct ContentIndex {
    /// Ids of the tokens of at most [`MAX_PACKED_UNITS`] units, by packed units.
    packed: FastMap<u128, u32>,
    /// Ids of the longer tokens (whole words).
    long: FastMap<Box<[u16]>, u32>,
    /// Token id → range of its postings in `responses` and `weights`.
    offsets: Vec<u32>,
    responses: ResponseIds,
    weights: PostingWeights,
}

/// Response ids of the postings: 16 bits each while the base has at most 65,536 responses.
#[derive(Debug, Clone)]
enum ResponseIds {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

impl ResponseIds {
    fn new(ids: Vec<u32>, responses: usize) -> Self {
        if responses <= usize::from(u16::MAX) + 1 {
            ResponseIds::Narrow(ids.into_iter().map(|id| id as u16).collect())
        } else {
            ResponseIds::Wide(ids)
        }
    }

    fn get(&self, posting: usize) -> Option<u32> {
        match self {
            ResponseIds::Narrow(ids) => ids.get(posting).map(|&id| u32::from(id)),
            ResponseIds::Wide(ids) => ids.get(posting).copied(),
        }
    }

    /// The posting of `response` within `range` (ascending ids), if any.
    fn find(&self, range: Range<usize>, response: u32) -> Option<usize> {
        let start = range.start;
        let found = match self {
            ResponseIds::Narrow(ids) => {
                let target = u16::try_from(response).ok()?;
                ids.get(range)?.binary_search(&target)
            }
            ResponseIds::Wide(ids) => ids.get(range)?.binary_search(&response),
        };
        found.ok().map(|position| start + position)
    }
}

impl ContentIndex {
    fn id(&self, token: &Token) -> Option<u32> {
        match token {
            Token::Packed(key) => self.packed.get(key).copied(),
            Token::Long(units) => self.long.get(units).copied(),
        }
    }

    fn range(&self, token: u32) -> Range<usize> {
        let start = self.offsets.get(token as usize).copied().unwrap_or(0) as usize;
        let end = self.offsets.get(token as usize + 1).copied().unwrap_or(0) as usize;
        start..end.max(start)
    }
}

/// The weights of the postings. Few distinct values occur (sums of a handful of tokenizer
/// weights), so they are usually stored once and referred to by a 16-bit id.
#[derive(Debug, Clone)]
enum PostingWeights {
    Shared { values: Vec<f64>, ids: Vec<u16> },
    Plain(Vec<f64>),
}

impl PostingWeights {
    fn new(weights: Vec<f64>) -> Self {
        let mut ids_by_bits: FastMap<u64, u16> = FastMap::default();
        let mut values = Vec::new();
        let mut ids = Vec::with_capacity(weights.len());
        for &weight in &weights {
            let next = values.len();
            let id = match ids_by_bits.get(&weight.to_bits()) {
                Some(&id) => id,
                None => {
                    let Ok(id) = u16::try_from(next) else {
                        return PostingWeights::Plain(weights);
                    };
                    ids_by_bits.insert(weight.to_bits(), id);
                    values.push(weight);
                    id
                }
            };
            ids.push(id);
        }
        PostingWeights::Shared { values, ids }
    }

    fn get(&self, posting: usize) -> f64 {
        match self {
            PostingWeights::Shared { values, ids } => ids
                .get(posting)
                .and_then(|&id| values.get(usize::from(id)))
                .copied(),
            PostingWeights::Plain(weights) => weights.get(posting).copied(),
        }
        .unwrap_or(0.0)
    }
}

/// Builds the content postings as responses are added: tokens get global ids as the
/// tokenizer emits them, and each response's vector is summed by id, in emission order.
#[derive(Debug, Default)]
struct ContentBuilder {
    packed: FastMap<u128, u32>,
    long: FastMap<Box<[u16]>, u32>,
    /// Per token id: its value when JavaScript treats it as an array index.
    array_indexes: Vec<Option<u32>>,
    /// Per token id: (1 + the last response that used it, its position in `current`).
    slots: Vec<(u32, u32)>,
    /// The vector of the response being added, in insertion order.
    current: Vec<(u32, f64)>,
    /// 1 + the response being added.
    current_response: u32,
    /// (token, response, weight) of every response added, responses in order.
    postings: Vec<(u32, u32, f64)>,
    /// Each distinct word's tokens, as [`word_tokens`] gives them, with their ids: a base
    /// repeats its words thousands of times, and a word's tokens never change.
    words: FastMap<Box<[u16]>, Box<[WordToken]>>,
}

/// One token of a remembered word.
#[derive(Debug, Clone, Copy)]
struct WordToken {
    id: u32,
    /// Weight before the title bonus.
    weight: f64,
    start: u8,
    len: u8,
    whole: bool,
}

impl TokenSink for ContentBuilder {
    fn add(&mut self, token: &[u16], weight: f64) {
        let id = self.intern(token);
        self.add_id(id, weight);
    }

    fn add_word(&mut self, word: &[u16], title: Option<&TitlePieces<'_>>) {
        if word.len() > usize::from(u8::MAX) {
            // Offsets would not fit in a `WordToken`; such words are rare.
            return add_word_tokens(self, word, title);
        }
        // Out of `self` while its tokens are added, which needs `self` mutably.
        let mut words = std::mem::take(&mut self.words);
        if !words.contains_key(word) {
            let mut tokens = Vec::new();
            word_tokens(word, |start, len, weight, whole| {
                tokens.push(WordToken {
                    id: self.intern(&word[start..start + len]),
                    weight,
                    start: u8::try_from(start).unwrap_or(u8::MAX),
                    len: u8::try_from(len).unwrap_or(u8::MAX),
                    whole,
                });
            });
            words.insert(word.into(), tokens.into());
        }
        let tokens = words.get(word).map(|tokens| &**tokens).unwrap_or_default();
        // Most words share nothing with the title: one check spares one per token.
        let title = title.filter(|t| t.may_hold_tokens_of(word));
        for token in tokens.iter() {
            let in_title = title.is_some_and(|t| {
                let start = usize::from(token.start);
                word.get(start..start + usize::from(token.len))
                    .is_some_and(|units| t.contains(units))
            });
            self.add_id(
                token.id,
                with_title_bonus(token.weight, token.whole, in_title),
            );
        }
        self.words = words;
    }
}

impl ContentBuilder {
    /// Adds `weight` to token `id` of the response being added.
    fn add_id(&mut self, id: u32, weight: f64) {
        let Some(slot) = self.slots.get_mut(id as usize) else {
            return;
        };
        if slot.0 == self.current_response {
            if let Some((_, total)) = self.current.get_mut(slot.1 as usize) {
                *total += weight;
            }
        } else {
            *slot = (
                self.current_response,
                u32::try_from(self.current.len()).unwrap_or(u32::MAX),
            );
            self.current.push((id, weight));
        }
    }

    fn intern(&mut self, token: &[u16]) -> u32 {
        let next = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        let id = match pack_units(token) {
            Some(key) => *self.packed.entry(key).or_insert(next),
            None => match self.long.get(token) {
                Some(&id) => id,
                None => {
                    self.long.insert(token.into(), next);
                    next
                }
            },
        };
        if id == next {
            self.array_indexes.push(array_index(token));
            self.slots.push((0, 0));
        }
        id
    }

    /// Takes in the tokens and postings of `later`, which was built from responses that
    /// all come after this builder's: its tokens get this builder's ids (new ones for
    /// tokens it alone has), its postings follow this builder's, so that every token's
    /// postings stay in response order.
    fn absorb(&mut self, later: ContentBuilder) {
        let mut ids = vec![0u32; later.slots.len()];
        let mut take = |this: &mut Self, id: u32, new: u32| {
            if new as usize == this.slots.len() {
                this.array_indexes
                    .push(later.array_indexes.get(id as usize).copied().flatten());
                this.slots.push((0, 0));
            }
            if let Some(slot) = ids.get_mut(id as usize) {
                *slot = new;
            }
        };
        for (key, id) in later.packed {
            let next = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
            let new = *self.packed.entry(key).or_insert(next);
            take(self, id, new);
        }
        for (key, id) in later.long {
            let next = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
            let new = *self.long.entry(key).or_insert(next);
            take(self, id, new);
        }
        self.postings.extend(
            later
                .postings
                .into_iter()
                .map(|(token, response, weight)| (ids[token as usize], response, weight)),
        );
        self.current_response = self.current_response.max(later.current_response);
    }

    /// Tokenizes response `response` (§M6.2) and returns its vector's norm.
    fn add_response(
        &mut self,
        response: u32,
        title: &str,
        content_lines: &[impl AsRef<str>],
    ) -> f64 {
        self.current_response = response.saturating_add(1);
        self.current.clear();
        tokenize_response(self, title, content_lines);
        let entries = std::mem::take(&mut self.current);
        let (entries, norm) = in_key_order(entries, |&id| {
            self.array_indexes.get(id as usize).copied().flatten()
        });
        self.postings.extend(
            entries
                .iter()
                .map(|&(token, weight)| (token, response, weight)),
        );
        norm
    }

    fn finish(self) -> ContentIndex {
        // Counting sort by token; responses stay in order within each token.
        let tokens = self.slots.len();
        let mut offsets = vec![0u32; tokens + 1];
        for &(token, _, _) in &self.postings {
            if let Some(count) = offsets.get_mut(token as usize + 1) {
                *count += 1;
            }
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        let mut next = offsets.clone();
        let mut responses = vec![0u32; self.postings.len()];
        let mut weights = vec![0.0; self.postings.len()];
        for (token, response, weight) in self.postings {
            if let Some(slot) = next.get_mut(token as usize) {
                let at = *slot as usize;
                if let (Some(r), Some(w)) = (responses.get_mut(at), weights.get_mut(at)) {
                    *r = response;
                    *w = weight;
                }
                *slot += 1;
            }
        }
        ContentIndex {
            packed: self.packed,
            long: self.long,
            offsets,
            responses: ResponseIds::new(responses, self.current_response as usize),
            weights: PostingWeights::new(weights),
        }
    }
}

/// The tokens of an input that occur in some response, with the input's weights, in the
/// input vector's order (the order ChatMD sums in).
type KnownTokens = Vec<(u32, f64)>;

/// The responses of a knowledge base with the index described in the module note. Gives the
/// same best response and score as `best_of(score_all(..))` over [`super::PreparedResponse`]s
/// built from the same sections.
#[derive(Debug, Clone)]
pub struct IndexedResponses {
    responses: Vec<IndexedResponse>,
    /// Responses by title, in document order (`!SelectNext`, `!Next`).
    by_title: FastMap<Box<str>, Box<[u32]>>,
    /// §M4: when the first response has an empty title nothing can match.
    first_untitled: bool,
    /// Distinct keyword-list entries, by id.
    keywords: Vec<PreparedKeyword>,
    /// Keyword id → responses whose list holds it, ascending.
    keyword_responses: Postings<u32>,
    /// Distinct keyword texts, as the ids of their positive and negative forms
    /// ([`NO_KEYWORD`] when there is only one); the units are the first keyword's.
    texts: Vec<[u32; 2]>,
    /// Texts by their first `min(len, 7)` units (packed): see [`Self::found_texts`].
    texts_by_start: KeyedLists<u128>,
    /// Bit `n` is set when some key of `texts_by_start` has `n` units.
    start_lengths: u8,
    /// Ids of the empty text, found in every input.
    empty_text: Option<u32>,
    /// 5-unit substring → (keyword, position) of each occurrence in a keyword eligible for
    /// fuzzy credit (§M5.2).
    run_seeds: KeyedLists<u128, (u32, u32)>,
    /// Parts of keywords eligible for fuzzy credit (§M5.1), see [`ngram_part_key`].
    ngram_parts: KeyedLists<u64>,
    /// (words, length) of every keyword eligible for fuzzy credit.
    ngram_shapes: FastSet<(usize, usize)>,
    /// Distinct word counts of those keywords, ascending.
    ngram_word_counts: Vec<usize>,
    content: Option<ContentIndex>,
}

/// One `## ` section, as [`IndexedResponses::new`] reads it; fields as the arguments of
/// [`super::PreparedResponse::new`].
#[derive(Debug, Clone)]
pub struct Section<'a> {
    pub title: &'a str,
    pub keywords: Vec<&'a str>,
    pub content_lines: Vec<Cow<'a, str>>,
}

/// Collects the keyword side of the index, section by section.
#[derive(Debug, Default)]
struct KeywordBuilder {
    responses: Vec<IndexedResponse>,
    by_title: FastMap<Box<str>, Vec<u32>>,
    first_untitled: Option<bool>,
    keywords: Vec<PreparedKeyword>,
    keyword_responses: Vec<Vec<u32>>,
    /// Raw entry → id, so repeated entries are prepared once.
    by_entry: FastMap<Box<str>, u32>,
    /// (normalised text, negative) → id.
    by_keyword: FastMap<(Box<[u16]>, bool), u32>,
}

impl KeywordBuilder {
    /// Adds the next response in document order.
    fn add(&mut self, title: &str, keywords: &[impl AsRef<str>]) {
        let response = u32::try_from(self.responses.len()).unwrap_or(u32::MAX);
        self.first_untitled.get_or_insert(title.is_empty());
        let mut keyword_list = Vec::with_capacity(keywords.len() + 3);
        for entry in keyword_list_entries(title, keywords) {
            let id = self.keyword_id(&entry);
            keyword_list.push(id);
            // Once per occurrence: a response's ceiling counts a keyword as often as its
            // score does (a one-word title is also its own title word).
            if let Some(holders) = self.keyword_responses.get_mut(id as usize) {
                holders.push(response);
            }
        }
        self.by_title
            .entry(title.into())
            .or_default()
            .push(response);
        self.responses.push(IndexedResponse {
            keyword_list: keyword_list.into(),
            own_keywords: keywords.len(),
            norm: 0.0,
        });
    }

    fn keyword_id(&mut self, entry: &str) -> u32 {
        if let Some(&id) = self.by_entry.get(entry) {
            return id;
        }
        let keyword = PreparedKeyword::new(entry);
        let key = (
            Box::<[u16]>::from(keyword.units.as_slice()),
            keyword.negative,
        );
        let id = match self.by_keyword.get(&key) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.keywords.len()).unwrap_or(u32::MAX);
                self.by_keyword.insert(key, id);
                self.keywords.push(keyword);
                self.keyword_responses.push(Vec::new());
                id
            }
        };
        self.by_entry.insert(entry.into(), id);
        id
    }

    /// The index, with the content side (and each response's norm) from `content`, which is
    /// called only once the keyword side is done: it may wait for other threads.
    fn finish(
        self,
        content: impl FnOnce() -> Option<(ContentIndex, Vec<f64>)>,
    ) -> IndexedResponses {
        let mut texts: Vec<[u32; 2]> = Vec::new();
        let mut text_ids: FastMap<&[u16], usize> = FastMap::default();
        for (id, keyword) in self.keywords.iter().enumerate() {
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            match text_ids.get(keyword.units.as_slice()) {
                // Keywords are distinct by (text, negative): a text has two forms at most.
                Some(&text) => {
                    if let Some(ids) = texts.get_mut(text) {
                        ids[1] = id;
                    }
                }
                None => {
                    text_ids.insert(&keyword.units, texts.len());
                    texts.push([id, NO_KEYWORD]);
                }
            }
        }
        drop(text_ids);

        let mut by_start: FastMap<u128, Vec<u32>> = FastMap::default();
        let mut start_lengths = 0u8;
        let mut empty_text = None;
        for (text_id, &[first, _]) in texts.iter().enumerate() {
            let text_id = u32::try_from(text_id).unwrap_or(u32::MAX);
            let units = self
                .keywords
                .get(first as usize)
                .map_or(&[][..], |keyword| keyword.units.as_slice());
            if units.is_empty() {
                empty_text = Some(text_id);
                continue;
            }
            let start = units.get(..MAX_PACKED_UNITS).unwrap_or(units);
            start_lengths |= 1 << start.len();
            by_start.entry(pack(start)).or_default().push(text_id);
        }

        let mut run_seeds: FastMap<u128, Vec<(u32, u32)>> = FastMap::default();
        let mut ngram_parts: FastMap<u64, Vec<u32>> = FastMap::default();
        let mut ngram_shapes = FastSet::default();
        for (id, keyword) in self.keywords.iter().enumerate() {
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            let units = keyword.units.as_slice();
            // §M5: fuzzy credit only for positive keywords longer than 4 units.
            if keyword.negative || units.len() <= MIN_FUZZY_KEYWORD_LEN {
                continue;
            }
            for (position, seed) in units.windows(RUN_SEED_LEN).enumerate() {
                let position = u32::try_from(position).unwrap_or(u32::MAX);
                run_seeds
                    .entry(pack(seed))
                    .or_default()
                    .push((id, position));
            }
            let shape = (keyword.pieces, units.len());
            ngram_shapes.insert(shape);
            for part in 0..NGRAM_PARTS {
                let (offset, len) = ngram_part(units.len(), part);
                let piece = units.get(offset..offset + len).unwrap_or_default();
                let key = ngram_part_key(shape.0, shape.1, part, piece);
                ngram_parts.entry(key).or_default().push(id);
            }
        }
        let mut ngram_word_counts: Vec<usize> =
            ngram_shapes.iter().map(|&(words, _)| words).collect();
        ngram_word_counts.sort_unstable();
        ngram_word_counts.dedup();

        let mut responses = self.responses;
        let content = content().map(|(index, norms)| {
            for (response, norm) in responses.iter_mut().zip(norms) {
                response.norm = norm;
            }
            index
        });
        IndexedResponses {
            responses,
            by_title: self
                .by_title
                .into_iter()
                .map(|(title, ids)| (title, ids.into()))
                .collect(),
            first_untitled: self.first_untitled.unwrap_or(true),
            keywords: self.keywords,
            keyword_responses: Postings::from_lists(self.keyword_responses),
            texts,
            texts_by_start: KeyedLists::new(by_start),
            start_lengths,
            empty_text,
            run_seeds: KeyedLists::new(run_seeds),
            ngram_parts: KeyedLists::new(ngram_parts),
            ngram_shapes,
            ngram_word_counts,
            content,
        }
    }
}

impl IndexedResponses {
    /// Indexes the sections of a knowledge base, in document order; `content_search` is its
    /// `rechercheContenu`. The keyword side and the content side are independent: with
    /// content search they are built on two threads.
    pub fn new(sections: &[Section<'_>], content_search: bool) -> Self {
        /// Below this many responses the content side is built in one piece.
        const SPLIT_FROM: usize = 16;
        // The content of `sections[range]`, responses numbered from `range.start`.
        let content_part = |range: std::ops::Range<usize>| {
            let mut builder = ContentBuilder::default();
            let norms: Vec<f64> = sections[range.clone()]
                .iter()
                .zip(range.start as u32..)
                .map(|(section, response)| {
                    builder.add_response(response, section.title, &section.content_lines)
                })
                .collect();
            (builder, norms)
        };
        let keyword_side = || {
            let mut builder = KeywordBuilder::default();
            for section in sections {
                builder.add(section.title, &section.keywords);
            }
            builder
        };
        if !content_search {
            return keyword_side().finish(|| None);
        }
        // Tokenizing the content is most of the work: its two halves are built on two
        // threads while this one builds the keyword side, then merged.
        let middle = if sections.len() >= SPLIT_FROM {
            sections.len() / 2
        } else {
            sections.len()
        };
        std::thread::scope(|scope| {
            let spawn = |range: std::ops::Range<usize>| {
                std::thread::Builder::new()
                    .name("index-content".into())
                    .spawn_scoped(scope, move || content_part(range))
            };
            let first = spawn(0..middle);
            let second = (middle < sections.len()).then(|| spawn(middle..sections.len()));
            let join = |spawned: std::io::Result<std::thread::ScopedJoinHandle<'_, _>>,
                        range: std::ops::Range<usize>| match spawned {
                Ok(thread) => thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                // No thread to be had: build that part here.
                Err(_) => content_part(range),
            };
            keyword_side().finish(|| {
                let (mut builder, mut norms) = join(first, 0..middle);
                if let Some(second) = second {
                    let (later, later_norms) = join(second, middle..sections.len());
                    builder.absorb(later);
                    norms.extend(later_norms);
                }
                Some((builder.finish(), norms))
            })
        })
    }

    /// Whether content search is on (the index then has a content side).
    fn content_search(&self) -> bool {
        self.content.is_some()
    }

    /// Number of responses.
    pub fn len(&self) -> usize {
        self.responses.len()
    }

    /// Whether there are no responses.
    pub fn is_empty(&self) -> bool {
        self.responses.is_empty()
    }

    /// ChatMD's choice among `candidates` for `input` and its score: exactly
    /// `best_of(score_all(responses, input, candidates))` (§M4, §M7).
    pub fn best(&self, input: &PreparedInput, candidates: Candidates<'_>) -> Option<(usize, f64)> {
        if self.responses.is_empty() || self.first_untitled {
            return None;
        }
        match candidates {
            Candidates::All => self.best_of_all(input),
            Candidates::Selected(title) => best_of(
                self.titled(title)
                    .map(|r| (r, self.score_directly(r, input, ScoreMode::Normal))),
            ),
            Candidates::Next {
                target,
                ignore_keywords,
            } => {
                // As `score_all`: once a target has replaced the input by its title, later
                // responses of the same title are scored against that title too.
                let mode = ScoreMode::Next { ignore_keywords };
                let mut replaced: Option<PreparedInput> = None;
                best_of(self.titled(target).map(|r| {
                    if self.next_replaces_input(r, ignore_keywords) {
                        replaced = Some(PreparedInput::from_normalised(
                            normalize(target),
                            self.content_search(),
                        ));
                    }
                    let scored = replaced.as_ref().unwrap_or(input);
                    (r, self.score_directly(r, scored, mode))
                }))
            }
        }
    }

    /// Responses titled `title`, in document order.
    fn titled(&self, title: &str) -> impl Iterator<Item = usize> + '_ {
        self.by_title
            .get(title)
            .into_iter()
            .flat_map(|ids| ids.iter().map(|&id| id as usize))
    }

    fn response(&self, index: usize) -> Option<&IndexedResponse> {
        self.responses.get(index)
    }

    /// [`super::PreparedResponse::next_replaces_input`].
    fn next_replaces_input(&self, index: usize, ignore_keywords: bool) -> bool {
        next_replaces_input(
            self.response(index).map_or(0, |r| r.own_keywords),
            ignore_keywords,
        )
    }

    /// [`super::PreparedResponse::keyword_list`].
    fn keyword_list(&self, index: usize, mode: ScoreMode) -> &[u32] {
        let Some(response) = self.response(index) else {
            return &[];
        };
        list_for_mode(&response.keyword_list, response.own_keywords, mode)
    }

    fn keyword(&self, id: u32) -> Option<&PreparedKeyword> {
        self.keywords.get(id as usize)
    }

    /// One response scored keyword by keyword, as [`super::PreparedResponse::score`] does.
    fn score_directly(&self, index: usize, input: &PreparedInput, mode: ScoreMode) -> f64 {
        let known = self.known_tokens(input);
        let content = self.content_score(index, input, &known);
        let next_pending = matches!(mode, ScoreMode::Next { .. });
        let scores = self.keyword_list(index, mode).iter().map(|&id| {
            self.keyword(id)
                .map_or_else(KeywordScore::default, |keyword| {
                    keyword_score_with(input, keyword, next_pending, FuzzyReach::ALL)
                })
        });
        combine_scores(content, scores, self.content_search(), mode)
    }

    /// Every response a message could select (see the module note for what is skipped).
    fn best_of_all(&self, input: &PreparedInput) -> Option<(usize, f64)> {
        let evidence = self.evidence(input);
        let known = self.known_tokens(input);
        let mut exact = ExactScores::default();

        // Per response reached by a keyword, the sum of the positive exact scores and the
        // sum of the fuzzy bounds of its keyword list. Postings repeat a response once per
        // occurrence of the keyword in its list, as its score counts it.
        let mut parts = vec![(0.0, 0.0); self.responses.len()];
        let mut touched: Vec<u32> = Vec::new();
        let positive_parts = evidence
            .found
            .iter()
            .map(|(&id, score)| (id, score.exact.max(0.0), 0.0))
            .chain(
                evidence
                    .fuzzy
                    .entries
                    .iter()
                    .map(|&(id, fuzzy)| (id, 0.0, fuzzy.bound)),
            )
            .filter(|&(_, exact, fuzzy)| exact > 0.0 || fuzzy > 0.0);
        for (id, exact, fuzzy) in positive_parts {
            for &response in self.keyword_responses.get(id as usize) {
                if let Some(part) = parts.get_mut(response as usize) {
                    if *part == (0.0, 0.0) {
                        touched.push(response);
                    }
                    part.0 += exact;
                    part.1 += fuzzy;
                }
            }
        }
        // The ceiling of a response. With content search, content plus both parts, the
        // content being CONTENT_ONLY_CEILING until the dot products are known. Without,
        // fuzzy credit counts only when the exact scores sum to zero (§M7), so the score is
        // below one part or the other.
        let content_counts = self.content_search() && !known.is_empty();
        let ceiling = |index: u32, dots: Option<&DotProducts>| {
            let (exact, fuzzy) = parts.get(index as usize).copied().unwrap_or_default();
            if !self.content_search() {
                return f64::max(exact, fuzzy);
            }
            let content = match dots {
                _ if !content_counts => 0.0,
                Some(dots) => self.content_from_dots(index as usize, input, dots),
                None => CONTENT_ONLY_CEILING,
            };
            content + exact + fuzzy
        };
        let content_of = |index: usize, dots: Option<&DotProducts>| match dots {
            Some(dots) => self.content_from_dots(index, input, dots),
            None => self.content_score(index, input, &known),
        };
        let fuzzy_bound = |index: usize| parts.get(index).map_or(0.0, |&(_, fuzzy)| fuzzy);
        let mut scored: Vec<(usize, f64)> = Vec::new();
        // Scores a response, unless its exact part and fuzzy bound show it below `best`.
        let mut score = |index: usize, content: f64, best: f64| {
            let value = self.exact_score(
                index,
                content,
                fuzzy_bound(index),
                best,
                &evidence,
                input,
                &mut exact,
            )?;
            scored.push((index, value));
            Some(value)
        };

        // The highest ceiling first: its score is a first bar for the others.
        let mut best = 0.0_f64;
        let top = touched
            .iter()
            .copied()
            .max_by(|&a, &b| ceiling(a, None).total_cmp(&ceiling(b, None)));
        if let Some(top) = top {
            let content = content_of(top as usize, None);
            best = best.max(score(top as usize, content, best).unwrap_or(0.0));
        }
        // When the bar is low, content may decide: the dot products with every response,
        // computed once, tighten the ceilings and serve the responses only content reaches.
        let dots = if content_counts && best <= CONTENT_ONLY_CEILING + BOUND_MARGIN {
            self.dot_products(&known)
        } else {
            None
        };
        // Then every response whose ceiling reaches the best score so far, highest first;
        // the others score strictly less than the winner.
        let mut order: Vec<(f64, u32)> = touched
            .iter()
            .filter(|&&index| Some(index) != top)
            .map(|&index| (ceiling(index, dots.as_ref()), index))
            .filter(|&(ceiling, _)| ceiling + BOUND_MARGIN >= best)
            .collect();
        order.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
        for (ceiling, index) in order {
            if ceiling + BOUND_MARGIN < best {
                break;
            }
            let index = index as usize;
            let content = content_of(index, dots.as_ref());
            best = best.max(score(index, content, best).unwrap_or(0.0));
        }

        // Responses no keyword reached score at most their content, below
        // CONTENT_ONLY_CEILING: they matter only when nothing scored above it.
        if let Some(dots) = &dots
            && best <= CONTENT_ONLY_CEILING + BOUND_MARGIN
        {
            touched.sort_unstable();
            // Those holding a found negative keyword need the full sum.
            let mut negative: Vec<u32> = evidence
                .found
                .iter()
                .filter(|(_, score)| score.exact < 0.0)
                .flat_map(|(&id, _)| self.keyword_responses.get(id as usize).iter().copied())
                .collect();
            negative.sort_unstable();
            // The others add `+0` for every keyword and get no fuzzy credit: they score their
            // content exactly, and among them only the first of the highest can win.
            let mut plain: Option<(usize, f64)> = None;
            for &index in &dots.touched {
                if touched.binary_search(&index).is_ok() {
                    continue;
                }
                let content = self.content_from_dots(index as usize, input, dots);
                if negative.binary_search(&index).is_ok() {
                    score(index as usize, content, 0.0);
                } else if plain.is_none_or(|(_, value)| content > value) {
                    plain = Some((index as usize, content));
                }
            }
            scored.extend(plain);
        }
        scored.sort_unstable_by_key(|&(index, _)| index);
        best_of(scored)
    }

    /// One response's exact score, as [`super::PreparedResponse::score`] sums it: the
    /// content score, then every entry of its keyword list in order. Found keywords have
    /// their score from `evidence`, fuzzy candidates are scored on first use, and every other
    /// keyword scores `(0, 0)` (module note).
    ///
    /// The fuzzy total, the costly part, is computed only when it counts (§M7) and the response
    /// can still reach `best`: with its exact part known, its score is at most that part plus
    /// `fuzzy_bound` (the sum of its keywords' fuzzy bounds), or, without content search and a
    /// non-zero exact part, that part alone. `None` when that is below `best`.
    #[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
    fn exact_score(
        &self,
        index: usize,
        content: f64,
        fuzzy_bound: f64,
        best: f64,
        evidence: &Evidence,
        input: &PreparedInput,
        exact: &mut ExactScores,
    ) -> Option<f64> {
        let list = self.keyword_list(index, ScoreMode::Normal);
        // Keywords that are not found score exactly 0 (§M5), and `x + 0 = x`: the same sum.
        let total = list.iter().fold(content, |total, id| {
            total + evidence.found.get(id).map_or(0.0, |score| score.exact)
        });
        let ceiling = if self.content_search() {
            total + fuzzy_bound
        } else if total == 0.0 {
            fuzzy_bound
        } else {
            total
        };
        if ceiling + BOUND_MARGIN < best {
            return None;
        }
        let fuzzy = || {
            list.iter().fold(0.0, |fuzzy, &id| {
                if let Some(found) = evidence.found.get(&id) {
                    return fuzzy + found.fuzzy;
                }
                let Some(candidate) = evidence.fuzzy.get(id) else {
                    return fuzzy;
                };
                let score = *exact.entry(id).or_insert_with(|| {
                    self.keyword(id)
                        .map_or_else(KeywordScore::default, |keyword| {
                            keyword_score_with(input, keyword, false, candidate.reach)
                        })
                });
                fuzzy + score.fuzzy
            })
        };
        Some(finish_score(
            total,
            fuzzy,
            self.content_search(),
            ScoreMode::Normal,
        ))
    }

    /// What the index tells about each keyword for this input, no `!Next` pending: the exact
    /// score of every found keyword, and for every keyword that may earn fuzzy credit, an
    /// upper bound of that credit. Every other keyword scores `(0, 0)` (module note).
    fn evidence(&self, input: &PreparedInput) -> Evidence {
        let units = input.units.as_slice();
        let mut found = FastMap::default();
        for text in self.found_texts(units) {
            let Some(ids) = self.texts.get(text as usize) else {
                continue;
            };
            for &id in ids.iter().filter(|&&id| id != NO_KEYWORD) {
                if let Some(keyword) = self.keyword(id) {
                    let score = keyword_score_with(input, keyword, false, FuzzyReach::ALL);
                    found.insert(id, score);
                }
            }
        }
        // §M5: no fuzzy credit for inputs of 5 units or fewer.
        if units.len() <= MIN_FUZZY_INPUT_LEN {
            return Evidence {
                found,
                fuzzy: FuzzyTable::default(),
            };
        }

        // §M5.2: a run of L > 4 common units starting at keyword position j is a run of
        // L − 4 matching 5-unit seeds, the first at j. So L ≤ 4 + (seed matches), and j is
        // at least the first position any seed matched at; L is also shorter than the
        // keyword (which is not found), than the keyword from j on, and than the input. The
        // weight `1.1 L / ((1 + 10 j/K)(1 + K − L))` grows with L and falls with j, so the
        // largest L with the smallest j bounds it.
        let mut seeds = vec![(0_u32, u32::MAX); self.keywords.len()];
        let mut matched: Vec<u32> = Vec::new();
        for seed in units.windows(RUN_SEED_LEN) {
            for &(id, position) in self.run_seeds.get(&pack(seed)) {
                if let Some((count, first)) = seeds.get_mut(id as usize) {
                    if *count == 0 {
                        matched.push(id);
                    }
                    *count += 1;
                    *first = (*first).min(position);
                }
            }
        }
        let mut fuzzy = FuzzyTable {
            entries: Vec::with_capacity(matched.len()),
            places: Vec::new(),
        };
        for &id in &matched {
            let (Some(keyword), Some(&(matches, first))) =
                (self.keyword(id), seeds.get(id as usize))
            else {
                continue;
            };
            if found.contains_key(&id) {
                continue;
            }
            let keyword_len = keyword.units.len();
            let first = first as usize;
            let longest = (MIN_COMMON_RUN + matches as usize)
                .min(keyword_len - 1)
                .min(keyword_len.saturating_sub(first))
                .min(units.len());
            if longest <= MIN_COMMON_RUN {
                continue;
            }
            let (longest, len) = (longest as f64, keyword_len as f64);
            let position_factor = 1.0 / (1.0 + (first as f64 / len) * POSITION_DECAY);
            let length_factor = 1.0 / (1.0 + (len - longest));
            let bound = (longest + longest * WORD_LENGTH_FACTOR) * position_factor * length_factor;
            fuzzy.entries.push((
                id,
                FuzzyEvidence {
                    bound,
                    reach: FuzzyReach {
                        ngrams: false,
                        common_run: true,
                    },
                },
            ));
        }
        // The counting table becomes the table of places: its entries are rewritten for the
        // keywords kept, the others are left as counted, which `FuzzyTable` reads as absent.
        for (place, &(id, _)) in fuzzy.entries.iter().enumerate() {
            if let Some(entry) = seeds.get_mut(id as usize) {
                *entry = (PLACED, place as u32);
            }
        }
        fuzzy.places = seeds;

        // §M5.1: n-gram credit is `0.3 len(g)` for each window `g` within distance 2.
        self.close_ngrams(input, |id, window_units| {
            if found.contains_key(&id) {
                return;
            }
            let bound = window_units as f64 * WORD_LENGTH_FACTOR * NGRAM_BOOST;
            let entry = fuzzy.entry(id);
            entry.bound += bound;
            entry.reach.ngrams = true;
        });
        Evidence { found, fuzzy }
    }

    /// Ids of every distinct keyword text that is a substring of `units` (§M5 `includes`).
    /// A text starting at position `i` has its first `min(len, 7)` units there, so probing
    /// each position with each key length present finds them all; texts longer than the key
    /// are then compared in full.
    fn found_texts(&self, units: &[u16]) -> Vec<u32> {
        let mut found: Vec<u32> = self.empty_text.into_iter().collect();
        for start in 0..units.len() {
            let rest = units.get(start..).unwrap_or_default();
            for len in 1..=rest.len().min(MAX_PACKED_UNITS) {
                if self.start_lengths & (1 << len) == 0 {
                    continue;
                }
                let key = pack(rest.get(..len).unwrap_or_default());
                for &text in self.texts_by_start.get(&key) {
                    let Some(text_units) = self
                        .texts
                        .get(text as usize)
                        .and_then(|&[first, _]| self.keyword(first))
                        .map(|keyword| keyword.units.as_slice())
                    else {
                        continue;
                    };
                    if text_units.len() == len || rest.starts_with(text_units) {
                        found.push(text);
                    }
                }
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Keywords within edit distance 2 of some input window of as many words (§M5.1): `close`
    /// is called with the keyword and the window's length for each such pair. Candidates
    /// come from the three-part argument of the module note, then each (window, keyword) pair
    /// is checked exactly.
    fn close_ngrams(&self, input: &PreparedInput, mut close: impl FnMut(u32, usize)) {
        let units = input.units.as_slice();
        let mut candidates = Vec::new();
        for &words in &self.ngram_word_counts {
            for window in input.words.windows(words) {
                let (Some(first), Some(last)) = (window.first(), window.last()) else {
                    continue;
                };
                let Some(gram) = units.get(first.start..last.end) else {
                    continue;
                };
                candidates.clear();
                let low = gram.len().saturating_sub(MAX_NGRAM_EDITS);
                for len in low..=gram.len() + MAX_NGRAM_EDITS {
                    if !self.ngram_shapes.contains(&(words, len)) {
                        continue;
                    }
                    for part in 0..NGRAM_PARTS {
                        let (offset, part_len) = ngram_part(len, part);
                        let first_start = offset.saturating_sub(MAX_NGRAM_EDITS);
                        for start in first_start..=offset + MAX_NGRAM_EDITS {
                            let Some(piece) = gram.get(start..start + part_len) else {
                                continue;
                            };
                            let key = ngram_part_key(words, len, part, piece);
                            candidates.extend_from_slice(self.ngram_parts.get(&key));
                        }
                    }
                }
                if candidates.is_empty() {
                    continue;
                }
                candidates.sort_unstable();
                candidates.dedup();
                let pattern = Pattern::new(gram);
                for &id in &candidates {
                    let Some(keyword) = self.keyword(id) else {
                        continue;
                    };
                    if pattern.within(&keyword.units, MAX_NGRAM_EDITS) {
                        close(id, gram.len());
                    }
                }
            }
        }
    }

    /// The input's tokens that some response holds, in the input vector's order. Tokens no
    /// response holds add `w × 0 = +0` to every dot product, which changes no sum.
    fn known_tokens(&self, input: &PreparedInput) -> KnownTokens {
        let (Some(content), Some(vector)) = (&self.content, &input.vector) else {
            return Vec::new();
        };
        vector
            .entries
            .iter()
            .filter_map(|(token, weight)| content.id(token).map(|id| (id, *weight)))
            .collect()
    }

    fn input_norm(input: &PreparedInput) -> f64 {
        input.vector.as_ref().map_or(0.0, |vector| vector.norm)
    }

    /// §M6.2 for one response, one binary search per known input token.
    fn content_score(&self, index: usize, input: &PreparedInput, known: &KnownTokens) -> f64 {
        let (Some(content), Some(response)) = (&self.content, self.response(index)) else {
            return 0.0;
        };
        let input_norm = Self::input_norm(input);
        if input_norm == 0.0 || response.norm == 0.0 {
            return 0.0;
        }
        let target = u32::try_from(index).unwrap_or(u32::MAX);
        let dot = known.iter().fold(0.0, |dot, &(token, weight)| {
            match content.responses.find(content.range(token), target) {
                Some(posting) => dot + weight * content.weights.get(posting),
                None => dot,
            }
        });
        content_score_from_dot(dot, input_norm, response.norm)
    }

    /// Dot products of the input with every response sharing a token, accumulated token by
    /// token in the input's order: each response's sum takes its terms in the same order as
    /// the straightforward path, minus its `+0` terms.
    fn dot_products(&self, known: &KnownTokens) -> Option<DotProducts> {
        let content = self.content.as_ref()?;
        let mut sums = vec![0.0; self.responses.len()];
        let mut touched = Vec::new();
        let mut seen = vec![false; self.responses.len()];
        for &(token, weight) in known {
            for posting in content.range(token) {
                let Some(response) = content.responses.get(posting) else {
                    continue;
                };
                let response_weight = content.weights.get(posting);
                let index = response as usize;
                if let (Some(sum), Some(seen)) = (sums.get_mut(index), seen.get_mut(index)) {
                    *sum += weight * response_weight;
                    if !*seen {
                        *seen = true;
                        touched.push(response);
                    }
                }
            }
        }
        touched.sort_unstable();
        Some(DotProducts { sums, touched })
    }

    fn content_from_dots(&self, index: usize, input: &PreparedInput, dots: &DotProducts) -> f64 {
        let Some(response) = self.response(index) else {
            return 0.0;
        };
        let input_norm = Self::input_norm(input);
        if input_norm == 0.0 || response.norm == 0.0 {
            return 0.0;
        }
        let dot = dots.sums.get(index).copied().unwrap_or(0.0);
        content_score_from_dot(dot, input_norm, response.norm)
    }
}

/// What the index proves about the keywords for one message ([`IndexedResponses::evidence`]).
struct Evidence {
    /// Exact scores of the keywords found in the input.
    found: FastMap<u32, KeywordScore>,
    /// Keywords that may earn fuzzy credit.
    fuzzy: FuzzyTable,
}

/// Marks an entry of [`FuzzyTable::places`] that holds a place.
const PLACED: u32 = u32::MAX;

/// The keywords that may earn fuzzy credit for a message, with their evidence, and where
/// each is by keyword id. A long message shares seeds with thousands of keywords: a map
/// cost more to fill than the table, already built to count the seeds, costs to reuse.
#[derive(Debug, Default)]
struct FuzzyTable {
    entries: Vec<(u32, FuzzyEvidence)>,
    /// By keyword id: `(PLACED, place in entries)`, or anything else for none.
    places: Vec<(u32, u32)>,
}

impl FuzzyTable {
    fn get(&self, id: u32) -> Option<&FuzzyEvidence> {
        match self.places.get(id as usize)? {
            &(PLACED, place) => self
                .entries
                .get(place as usize)
                .map(|(_, evidence)| evidence),
            _ => None,
        }
    }

    /// The evidence of keyword `id`, none yet if it had none.
    fn entry(&mut self, id: u32) -> &mut FuzzyEvidence {
        let index = id as usize;
        if self.places.len() <= index {
            self.places.resize(index + 1, (0, 0));
        }
        let place = match self.places[index] {
            (PLACED, place) => place as usize,
            _ => {
                self.entries.push((
                    id,
                    FuzzyEvidence {
                        bound: 0.0,
                        reach: FuzzyReach {
                            ngrams: false,
                            common_run: false,
                        },
                    },
                ));
                let place = self.entries.len() - 1;
                self.places[index] = (PLACED, place as u32);
                place
            }
        };
        &mut self.entries[place].1
    }
}

#[derive(Debug, Clone, Copy)]
struct FuzzyEvidence {
    /// At least the keyword's fuzzy credit.
    bound: f64,
    /// Which measures can be non-zero.
    reach: FuzzyReach,
}

/// Fuzzy scores computed while scoring responses, each keyword once per message.
type ExactScores = FastMap<u32, KeywordScore>;

/// Per-message dot products with every response (0 where no token is shared).
struct DotProducts {
    sums: Vec<f64>,
    /// Responses sharing at least one token, ascending.
    touched: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::super::{PreparedResponse, score_all};
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    type Sample<'a> = (&'a str, &'a [&'a str], &'a str);

    fn both(
        samples: &[Sample<'_>],
        content_search: bool,
    ) -> (Vec<PreparedResponse>, IndexedResponses) {
        let sections: Vec<Section<'_>> = samples
            .iter()
            .map(|&(title, keywords, content)| Section {
                title,
                keywords: keywords.to_vec(),
                content_lines: vec![Cow::Borrowed(content)],
            })
            .collect();
        let prepared = samples
            .iter()
            .map(|(title, keywords, content)| {
                PreparedResponse::new(
                    title,
                    &strings(keywords),
                    &strings(&[content]),
                    content_search,
                )
            })
            .collect();
        (prepared, IndexedResponses::new(&sections, content_search))
    }

    fn same_choice(samples: &[Sample<'_>], inputs: &[&str]) {
        for content_search in [false, true] {
            let (prepared, index) = both(samples, content_search);
            for raw in inputs {
                let input = PreparedInput::new(raw, &[], content_search);
                let expected = best_of(score_all(&prepared, &input, Candidates::All));
                let got = index.best(&input, Candidates::All);
                assert_eq!(
                    got.map(|(i, s)| (i, s.to_bits())),
                    expected.map(|(i, s)| (i, s.to_bits())),
                    "{raw:?} (content search {content_search}): {got:?} vs {expected:?}"
                );
            }
        }
    }

    #[test]
    fn packed_keys_are_distinct() {
        assert_ne!(pack(&[0]), pack(&[0, 0]));
        assert_ne!(pack(&[1, 2]), pack(&[2, 1]));
        assert_eq!(pack(&[104, 111]), pack(&[104, 111]));
    }

    #[test]
    fn parts_cover_the_keyword() {
        for len in 5..60 {
            let parts: Vec<(usize, usize)> = (0..NGRAM_PARTS).map(|p| ngram_part(len, p)).collect();
            assert_eq!(parts[0].0, 0);
            for pair in parts.windows(2) {
                assert_eq!(pair[0].0 + pair[0].1, pair[1].0);
            }
            assert_eq!(parts[2].0 + parts[2].1, len);
            assert!(parts.iter().all(|&(_, l)| l >= 1), "{len}: {parts:?}");
        }
    }

    #[test]
    fn worked_examples_choose_as_chatmd() {
        let vacances: &[Sample<'_>] = &[
            (
                "Plage",
                &[
                    "mer",
                    "soleil",
                    "baignade",
                    "séjour",
                    "! pas la mer",
                    "! sans soleil",
                ],
                "La plage et le soleil.",
            ),
            (
                "Montagne",
                &["randonnée", "neige", "altitude", "! pas de neige"],
                "Randonnées en altitude.",
            ),
            (
                "Campagne",
                &["calme", "nature", "tranquille", "séjour"],
                "Le calme de la nature.",
            ),
            ("Art", &["art", "peinture"], "Musées et peinture."),
            (
                "Artisanat",
                &["artisanat", "poterie"],
                "Ateliers de poterie.",
            ),
        ];
        same_choice(
            vacances,
            &[
                "je veux du soleil mais pas la mer",
                "pas la mer, plutôt la neige",
                "rando",
                "de la rando",
                "j'aime la peinture et la poterie",
                "un séjour",
                "partir",
                "randonee en altitud",
                "recette de cuisine",
                "",
                "musées",
            ],
        );
    }

    #[test]
    fn typos_reach_keywords_through_either_filter() {
        let samples: &[Sample<'_>] = &[
            (
                "Horaires",
                &["ouverture", "ouvert", "fermé", "heure", "dimanche"],
                "",
            ),
            (
                "Mot de passe",
                &["mot de passe oublié", "réinitialiser", "abcdefgh"],
                "",
            ),
            ("Café", &["coffee", "jalapeño"], ""),
        ];
        // `abXdeYgh` is within distance 2 of `abcdefgh` but shares no 5-unit run with it.
        same_choice(
            samples,
            &[
                "horraires",
                "mot de pase oublie",
                "reinitialisr",
                "abXdeYgh",
                "x abXdeYgh y",
                "jalapeno",
                "mot  de passe",
                "ouvertur dimanch",
            ],
        );
    }

    #[test]
    fn candidates_restrictions_match_score_all() {
        let samples: &[Sample<'_>] = &[
            ("Question", &[], "Quelle est la capitale ?"),
            ("Réponse", &["paris"], "Bravo."),
            ("Réponse", &[], "Doublon."),
            ("Libre", &[], ""),
        ];
        for content_search in [false, true] {
            let (prepared, index) = both(samples, content_search);
            for raw in ["paris", "Paris !", "parisien", "lyon", "réponse"] {
                let input = PreparedInput::new(raw, &[], content_search);
                for candidates in [
                    Candidates::Selected("Réponse"),
                    Candidates::Selected("Absent"),
                    Candidates::Next {
                        target: "Réponse",
                        ignore_keywords: false,
                    },
                    Candidates::Next {
                        target: "Réponse",
                        ignore_keywords: true,
                    },
                    Candidates::Next {
                        target: "Libre",
                        ignore_keywords: false,
                    },
                ] {
                    let expected = best_of(score_all(&prepared, &input, candidates));
                    assert_eq!(
                        index.best(&input, candidates),
                        expected,
                        "{raw:?} {candidates:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn untitled_first_response_matches_nothing() {
        let (_, index) = both(&[("", &["x"], ""), ("X", &["x"], "")], false);
        assert_eq!(
            index.best(&PreparedInput::new("x", &[], false), Candidates::All),
            None
        );
        let (_, empty) = both(&[], true);
        assert!(empty.is_empty());
        assert_eq!(
            empty.best(&PreparedInput::new("x", &[], true), Candidates::All),
            None
        );
    }

    #[test]
    fn empty_keywords_and_astral_characters() {
        let samples: &[Sample<'_>] = &[
            ("Zzz", &[""], ""),
            ("Emoji", &["😀😀x", "😀 wifi"], "Le wifi 😀 partout"),
            ("Négatif", &["! ", "wifi"], ""),
        ];
        same_choice(
            samples,
            &["bonjour", "a 😀😀x", "😀 wif", "wifi", "😀 wiif partout"],
        );
    }
}
