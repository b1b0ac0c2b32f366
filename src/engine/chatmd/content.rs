//! §M6: content search, ChatMD's tokenizer and the content vectors compared by cosine.

use std::sync::OnceLock;

use super::CONTENT_OFFSET;
use super::utf16::{contains_units, utf16};
use crate::engine::hash::{FastMap, FastSet};
use crate::js::{is_js_whitespace_unit, map_accent};

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
pub(super) const IGNORED_5: &[&str] = &[
    "ation", "etion", "ition", "otion", "ution", "ement", "mment", "ssant", "sante", "ments",
    "antes", "ourir", "endre", "isser", "ction", "tions", "aient", "erent", "irent", "euses",
    "elles", "iques", "ables", "pable", "ibles", "asses", "esses", "isses", "osses", "usses",
    "oires", "aires", "entes", "anger", "teurs", "trice",
];
/// 6-unit sub-tokens skipped by the tokenizer (§M6.1). ChatMD's list also holds the 7-letter
/// `eraient` and `iraient`, which a 6-unit token can never equal, so they are left out.
pub(super) const IGNORED_6: &[&str] = &[
    "ations", "etions", "itions", "otions", "utions", "ements", "mments", "ssants", "santes",
    "rement", "amment", "emment", "iquent", "issent", "assent", "ussent", "escent", "erions",
    "irions", "ueuses", "eusent", "ateurs", "atrice", "trices", "ctions", "ssions", "uerait",
];

/// A weighted token vector, entries in the order JavaScript enumerates the keys of the object
/// ChatMD builds (array-index keys such as `20240` first, ascending, then insertion order), so
/// that sums over it round exactly as ChatMD's do.
#[derive(Debug, Clone, Default)]
pub(super) struct ContentVector {
    pub(super) entries: VectorEntries,
    positions: FastMap<Token, usize>,
    pub(super) norm: f64,
}

/// Tokens and their weights.
type VectorEntries = Vec<(Token, f64)>;

/// Most units a [`Token::Packed`] holds.
pub(super) const MAX_PACKED_UNITS: usize = 7;

/// Packs up to [`MAX_PACKED_UNITS`] UTF-16 units and their count into one integer; distinct
/// slices give distinct keys. `None` for longer slices.
pub(super) fn pack_units(units: &[u16]) -> Option<u128> {
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
pub(super) enum Token {
    Packed(u128),
    Long(Box<[u16]>),
}

impl Token {
    pub(super) fn new(units: &[u16]) -> Self {
        match pack_units(units) {
            Some(packed) => Token::Packed(packed),
            None => Token::Long(units.into()),
        }
    }

    /// Calls `f` with the token's units.
    pub(super) fn with_units<R>(&self, f: impl FnOnce(&[u16]) -> R) -> R {
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
    pub(super) fn weight(&self, token: &Token) -> Option<f64> {
        let &position = self.positions.get(token)?;
        self.entries.get(position).map(|(_, weight)| *weight)
    }
}

/// Where [`tokenize_into`] sends each token it emits, in emission order.
pub(super) trait TokenSink {
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
pub(super) fn add_word_tokens<S: TokenSink + ?Sized>(
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
pub(super) fn word_tokens(word: &[u16], mut emit: impl FnMut(usize, usize, f64, bool)) {
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
pub(super) fn with_title_bonus(weight: f64, whole: bool, in_title: bool) -> f64 {
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
pub(super) struct VectorBuilder {
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
    pub(super) fn finish(self) -> ContentVector {
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
pub(super) fn in_key_order<T>(
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
pub(super) fn array_index(token: &[u16]) -> Option<u32> {
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
pub(super) struct TitlePieces<'a> {
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
    pub(super) fn may_hold_tokens_of(&self, word: &[u16]) -> bool {
        const _: () = assert!(MIN_TOKEN_WORD_LEN == SUB_TOKEN_LENGTHS[0]);
        word.windows(SUB_TOKEN_LENGTHS[0])
            .any(|window| pack_units(window).is_some_and(|key| self.packed.contains(&key)))
    }

    /// `title.includes(token)`.
    pub(super) fn contains(&self, token: &[u16]) -> bool {
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
pub(super) fn tokenize_into(builder: &mut impl TokenSink, text: &str, title: Option<&[u16]>) {
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
pub(super) fn content_score(input: &ContentVector, response: &ContentVector) -> f64 {
    if input.norm == 0.0 || response.norm == 0.0 {
        return 0.0;
    }
    let dot = input.entries.iter().fold(0.0, |dot, (token, weight)| {
        dot + weight * response.weight(token).unwrap_or(0.0)
    });
    content_score_from_dot(dot, input.norm, response.norm)
}

/// §M6.2 once the dot product is known; both norms must be non-zero.
pub(super) fn content_score_from_dot(dot: f64, input_norm: f64, response_norm: f64) -> f64 {
    let cosine = dot / (input_norm * response_norm);
    if cosine == 0.0 {
        0.0
    } else {
        cosine + CONTENT_OFFSET
    }
}
