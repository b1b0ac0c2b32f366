//! guichet's own matching (`matching = "guichet"`), for people typing in a chat: robust
//! normalisation, keywords matched at word starts, typo tolerance on whole words with a
//! French stemmer, and a measure of the evidence behind each candidate so the engine can
//! answer, ask "did you mean…?", or admit it does not know.
//!
//! It keeps what ChatMD authors rely on: keywords (negative ones too), titles and title
//! words. Only *how* they are found in a message changes.

use rust_stemmers::{Algorithm, Stemmer};

use std::borrow::Cow;
use std::collections::BinaryHeap;

use super::chatmd::hash::{FastMap, FastSet, KeyedLists, Postings, hash_words};
use super::lexicon::Lexicon;
use crate::kb::KnowledgeBase;

/// A keyword token this long or longer also matches words it starts (`certif` finds
/// `certification`); shorter ones must be whole words, or `art` would find `partir` and
/// `prof` would find `profil`.
const MIN_PREFIX_LENGTH: usize = 5;

/// The length of the words whose one added or missing last letter is a typo (see
/// `word_match`).
const SHORT_WORD_TYPO: usize = 4;

/// Typo budget by word length: short words must be exact (one edit turns `mer` into `mes`),
/// longer ones tolerate one edit, long ones two. `collège` (7 letters) is then two edits
/// away from `collecte` and does not match it; `horraires` is one edit from `horaires`.
fn typo_budget(len: usize) -> usize {
    match len {
        0..=4 => 0,
        5..=7 => 1,
        _ => 2,
    }
}

/// Weight of a keyword found exactly (whole word, word-start prefix or same stem).
const EXACT_WEIGHT: f64 = 1.0;
/// Weight of a keyword found by its stem only (`partager` for `partage`): as good as found,
/// but a keyword written as the message writes it wins between two otherwise equal.
const STEM_WEIGHT: f64 = 0.95;
/// Weight of a keyword found only through typos: evidence, but weaker.
const FUZZY_WEIGHT: f64 = 0.6;
/// Title words count less than keywords the author chose.
const TITLE_WORD_WEIGHT: f64 = 0.5;
/// The whole title found in a message names the response: it counts double, as in ChatMD
/// (where the title is tested as a keyword and, for one word, again as a title word).
const TITLE_WEIGHT: f64 = 2.0;
/// A name of the response (a choice's label leading to it, its first heading) found whole:
/// the author's own name for it, as telling as a keyword.
const NAME_WEIGHT: f64 = 1.0;
/// A word of the response's text (`rechercheContenu`): ranks, never answers alone.
const CONTENT_WEIGHT: f64 = 0.3;
/// How much a text's length lowers the weight of its words (BM25's `b`: 0 not at all, 1 in
/// proportion to the length).
const LENGTH_NORMALISATION: f64 = 0.75;
/// A negative keyword vetoes its response: it outweighs any realistic positive total.
const NEGATIVE_WEIGHT: f64 = 3.0;

/// Words that say nothing about the topic: never title-word keywords, never evidence alone.
const STOP_WORDS: &[&str] = &[
    "a",
    "au",
    "aux",
    "avec",
    "c",
    "ca",
    "ce",
    "ces",
    "cette",
    "comment",
    "dans",
    "de",
    "des",
    "du",
    "d",
    "elle",
    "elles",
    "en",
    "est",
    "et",
    "faire",
    "il",
    "ils",
    "j",
    "je",
    "l",
    "la",
    "le",
    "les",
    "leur",
    "leurs",
    "m",
    "ma",
    "mais",
    "me",
    "mes",
    "moi",
    "mon",
    "n",
    "ne",
    "nos",
    "notre",
    "nous",
    "on",
    "ou",
    "par",
    "pas",
    "peut",
    "pour",
    "pourquoi",
    "qu",
    "quand",
    "que",
    "quel",
    "quelle",
    "quelles",
    "quels",
    "qui",
    "quoi",
    "s",
    "sa",
    "se",
    "ses",
    "si",
    "son",
    "sont",
    "sur",
    "t",
    "ta",
    "te",
    "tes",
    "toi",
    "ton",
    "tu",
    "un",
    "une",
    "vos",
    "votre",
    "vous",
    "y",
    "est-ce",
    "dois",
    "doit",
    "faut",
    "veux",
    "voudrais",
    "suis",
    "sais",
    "savoir",
    "bien",
    "tout",
    "tous",
    "toutes",
    "plus",
    "tres",
    "fait",
    "ai",
    "as",
    "avez",
    "etes",
    "es",
    "sommes",
    "etait",
    "ete",
    "ont",
    "avons",
    "sera",
    "serait",
    // Question words: every question has them, no answer is about them.
    "lequel",
    "laquelle",
    "lesquels",
    "lesquelles",
    // English, for English knowledge bases.
    "the",
    "an",
    "is",
    "are",
    "am",
    "i",
    "i'm",
    "im",
    "my",
    "me",
    "of",
    "to",
    "in",
    "on",
    "at",
    "it",
    "its",
    "not",
    "do",
    "does",
    "how",
    "what",
    "can",
    "you",
    "your",
    "we",
    "and",
    "or",
    "for",
    "with",
    "be",
    "this",
    "that",
    "there",
    "get",
    "which",
    "where",
    "when",
    "why",
    "who",
];

/// A message is matched on its first this many chars: a question is a few lines, and a
/// chat event can carry 60,000 letters.
pub const MAX_MESSAGE_CHARS: usize = 2_000;
/// A word is matched on its first this many chars: no word of a knowledge base is longer,
/// and typo matching costs grow with the length.
pub const MAX_WORD_CHARS: usize = 40;

/// The first [`MAX_MESSAGE_CHARS`] of a message.
fn bounded(text: &str) -> &str {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

/// Lower case, accents and other marks removed (Unicode NFKD), `œ`/`æ` expanded,
/// typographic apostrophes, quotes and dashes folded, punctuation ignored, whitespace
/// collapsed.
pub fn normalize(text: &str) -> String {
    /// Appends `c` folded; consecutive separators become one space, none at either end.
    fn fold(c: char, out: &mut String, space: &mut bool) {
        let mut push = |c: char| {
            if *space && !out.is_empty() {
                out.push(' ');
            }
            *space = false;
            out.push(c);
        };
        match c {
            'a'..='z' | '0'..='9' => push(c),
            'A'..='Z' => push(c.to_ascii_lowercase()),
            c if unicode_normalization::char::is_combining_mark(c) => {}
            'œ' | 'Œ' => "oe".chars().for_each(push),
            'æ' | 'Æ' => "ae".chars().for_each(push),
            'ß' => "ss".chars().for_each(push),
            '\'' | '’' | '‘' | '`' | '´' | 'ʼ' => push('\''),
            c if c.is_alphanumeric() => c.to_lowercase().for_each(push),
            // Everything else (punctuation, quotes, dashes, symbols, spaces) separates words.
            _ => *space = true,
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_ascii() {
            // NFKD leaves ASCII as it is.
            fold(c, &mut out, &mut space);
        } else {
            // Decomposing char by char differs from NFKD of the whole text only in the order
            // of consecutive combining marks, which are all dropped.
            unicode_normalization::char::decompose_compatible(c, |d| fold(d, &mut out, &mut space));
        }
    }
    out
}

/// Words of a normalised text; elisions are split off (`l'ecole` → `l`, `ecole`), and
/// French ordinals are written one way (`6eme`, `6ème`, `6e` → `6e`): school levels are
/// written all three ways.
pub fn words(normalised: &str) -> Vec<String> {
    word_iter(normalised).map(Cow::into_owned).collect()
}

/// [`words`], borrowing what needs no rewriting.
fn word_iter(normalised: &str) -> impl Iterator<Item = Cow<'_, str>> {
    normalised
        .split([' ', '\''])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let digits = w.bytes().take_while(u8::is_ascii_digit).count();
            match &w[digits..] {
                "e" | "eme" | "em" | "ieme" | "er" | "ere" if digits > 0 => {
                    Cow::Owned(format!("{}e", &w[..digits]))
                }
                _ => Cow::Borrowed(w),
            }
        })
}

/// A word that can carry meaning: not a stop word, and not a bare number (room numbers,
/// dates) that no keyword explains.
fn is_meaningful(word: &str) -> bool {
    !is_stop_word(word) && word.chars().any(char::is_alphabetic)
}

fn is_stop_word(word: &str) -> bool {
    static SET: std::sync::OnceLock<FastSet<&'static str>> = std::sync::OnceLock::new();
    SET.get_or_init(|| STOP_WORDS.iter().copied().collect())
        .contains(word)
}

/// A word with its stem, prepared once.
#[derive(Debug, Clone)]
struct Word {
    text: String,
    chars: Vec<char>,
    stem: String,
}

impl Word {
    fn new(text: String, stemmer: &Stemmer) -> Self {
        let stem = stemmer.stem(&text).into_owned();
        Self {
            chars: text.chars().collect(),
            text,
            stem,
        }
    }
}

/// How a keyword was found in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Evidence {
    /// Only through words of the response's text (`rechercheContenu`).
    Content,
    /// Only through typos or abbreviations.
    Fuzzy,
    /// The same stem (`horaire` for `horaires`): found, but a keyword written as the message
    /// writes it says a little more.
    Stem,
    /// Whole words, or a word-start prefix.
    Exact,
}

impl Evidence {
    /// Found as written or by its stem: what an author's keyword needs to be real evidence.
    pub fn is_exact(self) -> bool {
        self >= Evidence::Stem
    }
}

/// A keyword phrase, normalised into words.
#[derive(Debug, Clone)]
struct Phrase {
    /// Ids of its words in the index's [`Vocabulary`].
    words: Box<[u32]>,
    /// From the title (whole or one word).
    from_title: bool,
    /// A word of the response's text, not a keyword or title.
    content: bool,
    /// Specificity: letters of each word times how rare the word is in the base.
    specificity: f64,
    weight: f64,
    negative: bool,
    /// An author keyword or the whole title, as opposed to a single title word.
    keyword: bool,
    /// The whole title or a whole name, of two words or more.
    whole_name: bool,
}

/// Edit distance on chars, giving up past `budget` (returns `budget + 1`).
fn bounded_distance(a: &[char], b: &[char], budget: usize) -> usize {
    /// Rows up to this long live on the stack: words are short, and this runs for every
    /// candidate pair of every message.
    const STACK_ROW: usize = 48;
    if a.len().abs_diff(b.len()) > budget {
        return budget + 1;
    }
    if b.len() < STACK_ROW {
        let (mut previous, mut current) = ([0; STACK_ROW], [0; STACK_ROW]);
        let row = b.len() + 1;
        distance_rows(a, b, budget, &mut previous[..row], &mut current[..row])
    } else {
        distance_rows(
            a,
            b,
            budget,
            &mut vec![0; b.len() + 1],
            &mut vec![0; b.len() + 1],
        )
    }
}

/// [`bounded_distance`]'s dynamic programme over two rows of `b.len() + 1` cells.
fn distance_rows<'r>(
    a: &[char],
    b: &[char],
    budget: usize,
    mut previous: &'r mut [usize],
    mut current: &'r mut [usize],
) -> usize {
    for (j, cell) in previous.iter_mut().enumerate() {
        *cell = j;
    }
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        let mut row_min = current[0];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            current[j + 1] = (previous[j] + cost)
                .min(previous[j + 1] + 1)
                .min(current[j] + 1);
            row_min = row_min.min(current[j + 1]);
        }
        if row_min > budget {
            return budget + 1;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// How one keyword word relates to one message word.
fn word_match(keyword: &Word, word: &Word, last: bool) -> Option<Evidence> {
    if keyword.text == word.text {
        return Some(Evidence::Exact);
    }
    if last && keyword.chars.len() >= MIN_PREFIX_LENGTH && word.text.starts_with(&keyword.text) {
        return Some(Evidence::Exact);
    }

    if keyword.chars.len() >= MIN_PREFIX_LENGTH
        && keyword.stem.len() >= 4
        && keyword.stem == word.stem
    {
        return Some(Evidence::Stem);
    }
    // People abbreviate (`rando` for `randonnée`, `certif`): evidence, but it may stand for
    // several words, so only a weak one.
    if word.chars.len() >= MIN_PREFIX_LENGTH && keyword.text.starts_with(&word.text) {
        return Some(Evidence::Fuzzy);
    }
    // A letter more or less at the end of a four-letter word (`quiz` for `quizz`): the typo
    // budget allows no edit under five letters, but this one changes no other letter.
    let (short, long) = if keyword.chars.len() < word.chars.len() {
        (keyword, word)
    } else {
        (word, keyword)
    };
    if short.chars.len() == SHORT_WORD_TYPO
        && long.chars.len() == SHORT_WORD_TYPO + 1
        && long.text.starts_with(&short.text)
    {
        return Some(Evidence::Fuzzy);
    }
    let budget = typo_budget(keyword.chars.len().min(word.chars.len()));
    if budget > 0 && bounded_distance(&keyword.chars, &word.chars, budget) <= budget {
        return Some(Evidence::Fuzzy);
    }
    None
}

/// The best way a phrase of these words occurs in the message (consecutive words), and
/// where. `matches(word, position, last)` is [`word_match`] of the phrase's word `word` (an
/// id) against the message word at `position`, `last` for the phrase's last word.
fn find(
    words: &[u32],
    message_len: usize,
    matches: impl Fn(u32, usize, bool) -> Option<Evidence>,
) -> Option<(Evidence, usize)> {
    let n = words.len();
    if n == 0 || message_len < n {
        return None;
    }
    let mut best: Option<(Evidence, usize)> = None;
    for start in 0..=message_len - n {
        let mut evidence = Evidence::Exact;
        let mut ok = true;
        for (i, &keyword) in words.iter().enumerate() {
            match matches(keyword, start + i, i + 1 == n) {
                Some(e) => evidence = evidence.min(e),
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok && best.is_none_or(|(e, _)| evidence > e) {
            best = Some((evidence, start));
            if evidence == Evidence::Exact {
                break;
            }
        }
    }
    best
}

/// What guichet matching reads of one response.
#[derive(Debug, Clone, Default)]
pub struct ResponseText<'a> {
    pub title: &'a str,
    /// As written, negative ones with their `! `.
    pub keywords: Vec<&'a str>,
    /// The names people know it by: see [`super::names`].
    pub names: Vec<&'a str>,
    /// Its text: the words the base knows (see [`GuichetIndex::unknown_share`]), and
    /// evidence when `search_text` is set.
    pub text: String,
    /// Content search (`rechercheContenu`): words of the text are evidence for the response.
    pub search_text: bool,
}

/// A response prepared for guichet matching.
#[derive(Debug, Clone)]
pub struct GuichetResponse {
    phrases: Vec<Phrase>,
}

/// The score of one response for one message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub score: f64,
    /// The strongest evidence among the positive phrases found.
    pub evidence: Option<Evidence>,
    /// The share of the message's meaningful words that the positive phrases found explain
    /// (0 to 1): a message about something else keeps most of its words unexplained.
    pub coverage: f64,
    /// The same share with each word weighed by its rarity in the base (a word the base
    /// never uses the rarest): what the response explains of what is specific in the message.
    pub rare_coverage: f64,
    /// The share of the message that keywords, titles and names explain, text aside.
    pub named_coverage: f64,
    /// Whether an author's keyword or the full title was found (not only title words).
    pub keyword: bool,
    /// Whether the title (or one of its words) was found: the response is *about* what the
    /// message says, not just tagged with one of its words.
    pub about: bool,
    /// Whether an author's keyword, the title or a name of the response was found, exactly
    /// or through a typo: a name, not only words of its text.
    pub named: bool,
    /// Whether the whole title or a whole name (two words or more) was found, exactly or
    /// through typos: the message names this response as its author does.
    pub whole_name: bool,
}

impl Scored {
    /// The score of a response none of whose phrases occurs in the message.
    pub const NOTHING: Scored = Scored {
        score: 0.0,
        evidence: None,
        coverage: 0.0,
        rare_coverage: 0.0,
        named_coverage: 0.0,
        keyword: false,
        about: false,
        named: false,
        whole_name: false,
    };
}

/// Key of a word's text (tag 0), its stem (tag 1), or a part of it (tag 2, with the word's
/// length in chars, the number of parts and the part's number).
fn key(tag: u64, chars: impl IntoIterator<Item = char>) -> u64 {
    hash_words(std::iter::once(tag).chain(chars.into_iter().map(u64::from)))
}

fn part_tag(len: usize, parts: usize, part: usize) -> u64 {
    2 | (len as u64) << 8 | (parts as u64) << 40 | (part as u64) << 48
}

/// Where the `part`-th of `parts` equal parts of a word of `len` chars starts, and its length.
fn part_span(len: usize, parts: usize, part: usize) -> (usize, usize) {
    let start = part * len / parts;
    (start, (part + 1) * len / parts - start)
}

/// Every distinct word of the base's phrases, prepared once, with the tables that give, for
/// a message word, a superset of the base words [`word_match`] accepts: the same text; a
/// base word that the message word starts (`certif` in `certification`); the same stem; a
/// base word the message word starts to spell (`rando` for `randonnee`); a base word within
/// the typo budget. For the typos: if two words are within `k` edits, splitting the base word
/// into `k + 1` parts leaves one part untouched by the edits, found in the message word
/// shifted by at most `k`; parts are indexed by (length, parts, part, text).
#[derive(Debug)]
struct Vocabulary {
    words: Vec<Word>,
    /// Keyed by hashes: a collision only adds a candidate, which [`word_match`] rejects.
    by_text: KeyedLists<u64>,
    by_stem: KeyedLists<u64>,
    by_part: KeyedLists<u64>,
    /// Ids sorted by text, for the base words a message word starts.
    sorted: Vec<u32>,
    /// The length in chars of the longest base word.
    longest: usize,
    /// Whether each word is in a keyword, title or name (not only in a text): a typo of a
    /// word of the text alone (`blague` for `blogue`) is no sign that the message is about
    /// the base.
    named: Vec<bool>,
}

impl Vocabulary {
    fn new(words: Vec<Word>, named: Vec<bool>) -> Self {
        let mut text: FastMap<u64, Vec<u32>> = FastMap::default();
        let mut stem: FastMap<u64, Vec<u32>> = FastMap::default();
        let mut part: FastMap<u64, Vec<u32>> = FastMap::default();
        for (id, word) in words.iter().enumerate() {
            let id = id as u32;
            let len = word.chars.len();
            text.entry(key(0, word.chars.iter().copied()))
                .or_default()
                .push(id);
            if len >= MIN_PREFIX_LENGTH && word.stem.len() >= 4 {
                stem.entry(key(1, word.stem.chars())).or_default().push(id);
            }
            // A budget of one edit needs both words of 5 letters or more; of two, of 8.
            for (parts, min_len) in [(2, 5), (3, 8)] {
                if len < min_len {
                    continue;
                }
                for p in 0..parts {
                    let (start, n) = part_span(len, parts, p);
                    let chars = word.chars[start..start + n].iter().copied();
                    part.entry(key(part_tag(len, parts, p), chars))
                        .or_default()
                        .push(id);
                }
            }
        }
        let longest = words.iter().map(|w| w.chars.len()).max().unwrap_or(0);
        let mut sorted: Vec<u32> = (0..words.len() as u32).collect();
        sorted.sort_unstable_by(|&a, &b| words[a as usize].text.cmp(&words[b as usize].text));
        Self {
            by_text: KeyedLists::new(text),
            by_stem: KeyedLists::new(stem),
            by_part: KeyedLists::new(part),
            sorted,
            longest,
            words,
            named,
        }
    }

    /// Whether a base word that matches a message word (with [`word_match`]'s answers) shows
    /// the message word is one the base uses: any match but a typo of a word of the text.
    fn vouches(&self, id: u32, evidence: &[Option<Evidence>; 2]) -> bool {
        self.named[id as usize]
            || evidence
                .iter()
                .flatten()
                .any(|e| !matches!(e, Evidence::Fuzzy))
    }

    /// The base words that match a message word, with [`word_match`]'s answers for a
    /// phrase's inner word and for its last word (at least one of them is `Some`).
    fn matches(&self, word: &Word, found: &mut Vec<(u32, [Option<Evidence>; 2])>) {
        let mut candidates: Vec<u32> = Vec::new();
        let m = word.chars.len();
        candidates.extend_from_slice(self.by_text.get(&key(0, word.chars.iter().copied())));
        // Base words the message word starts: its prefixes of 5 letters or more, up to the
        // longest base word (a longer prefix starts none; without the bound a word of 60,000
        // letters hashed every prefix, quadratic).
        for end in MIN_PREFIX_LENGTH..m.min(self.longest + 1) {
            candidates
                .extend_from_slice(self.by_text.get(&key(0, word.chars[..end].iter().copied())));
        }
        candidates.extend_from_slice(self.by_stem.get(&key(1, word.stem.chars())));
        // A letter more or less at the end of a four-letter word: the base word it loses one
        // to (`quizz` typed for `quiz`), and those it gains one to (`quiz` for `quizz`), found
        // by the sorted scan below.
        if m == SHORT_WORD_TYPO + 1 {
            let chars = word.chars[..SHORT_WORD_TYPO].iter().copied();
            candidates.extend_from_slice(self.by_text.get(&key(0, chars)));
        }
        if m >= MIN_PREFIX_LENGTH || m == SHORT_WORD_TYPO {
            let from = self
                .sorted
                .partition_point(|&id| self.words[id as usize].text < word.text);
            candidates.extend(
                self.sorted[from..]
                    .iter()
                    .take_while(|&&id| self.words[id as usize].text.starts_with(&word.text)),
            );
        }
        for len in m.saturating_sub(2).max(MIN_PREFIX_LENGTH)..=m + 2 {
            let budget = typo_budget(len.min(m));
            if budget == 0 || len.abs_diff(m) > budget {
                continue;
            }
            let parts = budget + 1;
            for p in 0..parts {
                let (start, n) = part_span(len, parts, p);
                for at in start.saturating_sub(budget)..=start + budget {
                    if at + n > m {
                        break;
                    }
                    let chars = word.chars[at..at + n].iter().copied();
                    candidates
                        .extend_from_slice(self.by_part.get(&key(part_tag(len, parts, p), chars)));
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        for id in candidates {
            let base = &self.words[id as usize];
            let both = [word_match(base, word, false), word_match(base, word, true)];
            if both.iter().any(Option::is_some) {
                found.push((id, both));
            }
        }
    }
}

/// Which message words the phrases found explain. Most messages have at most 64 words: a
/// bit set on the stack then spares an allocation per scored response.
enum Covered {
    Small(u64),
    Large(Vec<bool>),
}

impl Covered {
    fn new(words: usize) -> Self {
        if words <= 64 {
            Covered::Small(0)
        } else {
            Covered::Large(vec![false; words])
        }
    }

    /// Marks `len` words from `start` (within the message).
    fn set(&mut self, start: usize, len: usize) {
        match self {
            Covered::Small(bits) => {
                for i in start..(start + len).min(64) {
                    *bits |= 1 << i;
                }
            }
            Covered::Large(flags) => {
                for flag in flags.iter_mut().skip(start).take(len) {
                    *flag = true;
                }
            }
        }
    }

    fn get(&self, i: usize) -> bool {
        match self {
            Covered::Small(bits) => i < 64 && bits & (1 << i) != 0,
            Covered::Large(flags) => flags.get(i).copied().unwrap_or(false),
        }
    }
}

/// A phrase as listed under its first word: which response, which phrase, and what it can
/// add to the response's score at most, so that a message's candidates get a ceiling
/// without opening their responses (what else the ceiling needs is in its [`Kind`]).
#[derive(Debug, Clone, Copy)]
struct Start {
    response: u32,
    phrase: u32,
    /// `weight × specificity`, which [`GuichetIndex::score_response`] multiplies by a strength
    /// of at most 1; 0 for a negative keyword, which only subtracts.
    most: f64,
}

/// What kind of phrase a [`Start`] is, as bits, kept beside the starts (a byte rather than
/// padding each start to 24 bytes: a loaded base holds one start per phrase).
#[derive(Debug, Clone, Copy)]
struct Kind(u8);

impl Kind {
    /// A positive author keyword or the whole title: what can make a response strong (see
    /// [`Ranking`]).
    const KEYWORD: u8 = 1;
    /// From the title, positive: what makes a response about the message.
    const TITLE: u8 = 2;
    /// More than one word: where it occurs is not known from its first word alone.
    const PHRASE: u8 = 4;

    fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
}

/// Everything guichet matching prepares once per knowledge base.
pub struct GuichetIndex {
    stemmer: Stemmer,
    vocabulary: Vocabulary,
    responses: Vec<GuichetResponse>,
    /// For each base word, the phrases it starts, in order.
    starts: Postings<Start>,
    /// The [`Kind`] of each start, in the same order as all the lists of `starts`.
    kinds: Vec<Kind>,
    /// Rarity of each stem found in the base's keywords and titles.
    rarity: FastMap<String, f64>,
    /// The rarity of a word the base never uses: the highest there is.
    unknown_rarity: f64,
    /// Keys of every word and stem the base uses anywhere (titles, keywords, names, text).
    known: FastSet<u64>,
    /// Chat forms and synonyms read in messages.
    lexicon: Lexicon,
}

impl std::fmt::Debug for GuichetIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuichetIndex")
            .field("responses", &self.responses.len())
            .field("words", &self.vocabulary.words.len())
            .finish_non_exhaustive()
    }
}

/// The acronyms of a title or name (`IGN`, `ENT`, `FM`), normalised: short, but as specific
/// as a long word, so a title word even under five letters.
fn acronyms(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| {
            w.chars().filter(char::is_ascii_uppercase).count() >= 2
                && w.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
        .map(normalize)
        .collect()
}

/// Builds phrases while interning their words (a base repeats the same words thousands of
/// times: each is normalised and stemmed once).
struct Builder {
    stemmer: Stemmer,
    ids: FastMap<String, u32>,
    words: Vec<Word>,
}

impl Builder {
    fn id(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.words.len() as u32;
        self.words.push(Word::new(text.to_string(), &self.stemmer));
        self.ids.insert(text.to_string(), id);
        id
    }

    /// A keyword phrase; `None` when it has no meaningful word (only stop words or
    /// nothing), since such a keyword would match every message.
    fn phrase(&mut self, text: &str, weight: f64, negative: bool, keyword: bool) -> Option<Phrase> {
        // Lower-case ASCII letters and digits are their own normalised form.
        let normalised = if text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            Cow::Borrowed(text)
        } else {
            Cow::Owned(normalize(text))
        };
        let list: Vec<Cow<'_, str>> = word_iter(&normalised).collect();
        if list.is_empty() || !list.iter().any(|w| is_meaningful(w)) {
            return None;
        }
        Some(Phrase {
            words: list.iter().map(|w| self.id(w)).collect(),
            from_title: false,
            content: false,
            // Set once every response is known (it depends on word rarity).
            specificity: 0.0,
            weight,
            negative,
            keyword,
            whole_name: false,
        })
    }
}

/// The message as [`GuichetIndex::score`] and [`GuichetIndex::score_all`] see it.
struct Message {
    words: Vec<Word>,
    meaningful: Vec<usize>,
    /// How many words are meaningful: what coverage divides by.
    total_weight: f64,
    rarity: Vec<f64>,
    total_rarity: f64,
    /// For each word, the other words that mean the same (see [`Lexicon`]).
    alternatives: Vec<Vec<Word>>,
}

impl Message {
    /// The share of the meaningful words `covered` explains, each weighing its `weights`
    /// entry (one each without), out of `total`.
    fn explained(&self, covered: &Covered, weights: Option<&[f64]>, total: f64) -> f64 {
        let explained = self
            .meaningful
            .iter()
            .filter(|&&i| covered.get(i))
            .map(|&i| weights.map_or(1.0, |w| w[i]))
            // From +0.0: an empty `sum()` of floats is -0.0, and a response that explains
            // nothing must score exactly `Scored::NOTHING`.
            .fold(0.0, |sum, weight| sum + weight);
        if total > 0.0 { explained / total } else { 0.0 }
    }
}

impl GuichetIndex {
    /// Prepares a knowledge base's responses: titles, keywords, the names people know them by
    /// (see [`super::names`]), and their text when `rechercheContenu` is on.
    pub fn for_kb(kb: &KnowledgeBase) -> Self {
        Self::with_names(kb, &super::names::Names::for_kb(kb))
    }

    /// [`GuichetIndex::for_kb`] with the base's names already worked out.
    pub fn with_names(kb: &KnowledgeBase, names: &super::names::Names) -> Self {
        let mut index = Self::new(kb.responses.iter().enumerate().map(|(i, r)| {
            let text: Vec<&str> = r.message.lines.iter().map(|l| l.text.as_str()).collect();
            ResponseText {
                title: r.title.as_str(),
                keywords: r.keywords.iter().map(|k| k.text.as_str()).collect(),
                names: names
                    .names
                    .get(i)
                    .map(|n| n.iter().map(String::as_str).collect())
                    .unwrap_or_default(),
                text: crate::kb::parse::strip_html_comments(&text.join("\n")),
                // A response with no keyword (reached by buttons only) is described by its
                // text alone, whatever `rechercheContenu` says: on the bases of
                // tests/data/quality with content search turned off, this is worth +4.5
                // points of top-1 on the one with such responses, −0.8 on another.
                search_text: kb.settings.content_search
                    || r.keywords.iter().all(|k| k.text.starts_with("! ")),
            }
        }));
        index.lexicon = Lexicon::with_synonyms(&kb.synonyms);
        index
    }

    /// Prepares responses from what matching reads of each.
    pub fn new<'a>(responses: impl IntoIterator<Item = ResponseText<'a>>) -> Self {
        let mut builder = Builder {
            stemmer: Stemmer::create(Algorithm::French),
            ids: FastMap::default(),
            words: Vec::new(),
        };
        let mut known: FastSet<u64> = FastSet::default();
        let mut responses: Vec<GuichetResponse> = responses
            .into_iter()
            .map(|response| {
                let ResponseText {
                    title,
                    keywords,
                    names,
                    text,
                    search_text,
                } = response;
                let text = normalize(&text);
                for word in std::iter::once(title)
                    .chain(keywords.iter().copied())
                    .chain(names.iter().copied())
                    .flat_map(|t| words(&normalize(t)))
                    .chain(word_iter(&text).map(Cow::into_owned))
                {
                    let stem = builder.stemmer.stem(&word);
                    known.insert(key(1, stem.chars()));
                    known.insert(key(0, word.chars()));
                }
                let has_keywords = keywords.iter().any(|k| !k.starts_with("! "));
                let mut phrases = Vec::new();
                for keyword in keywords {
                    let (negative, text) = match keyword.strip_prefix("! ") {
                        Some(rest) => (true, rest),
                        None => (false, keyword),
                    };
                    let weight = if negative {
                        NEGATIVE_WEIGHT
                    } else {
                        EXACT_WEIGHT
                    };
                    phrases.extend(builder.phrase(text, weight, negative, true));
                }
                // The title and the names people know the response by (a choice's label, the
                // first heading): found whole, they name it as surely as a keyword.
                for (name, weight) in std::iter::once((title, TITLE_WEIGHT))
                    .chain(names.iter().map(|n| (*n, NAME_WEIGHT)))
                {
                    phrases.extend(builder.phrase(name, weight, false, true).map(|p| Phrase {
                        from_title: true,
                        whole_name: p.words.len() > 1,
                        ..p
                    }));
                }
                let mut seen: FastSet<String> = FastSet::default();
                for name in std::iter::once(title).chain(names.iter().copied()) {
                    let text = normalize(name);
                    let acronyms = acronyms(name);
                    for word in word_iter(&text) {
                        if (word.chars().count() > 4 || acronyms.iter().any(|a| *a == *word))
                            && is_meaningful(&word)
                            && seen.insert(word.to_string())
                        {
                            // Many bases rely on titles and buttons only: there, their words
                            // are the keywords.
                            phrases.extend(
                                builder
                                    .phrase(&word, TITLE_WORD_WEIGHT, false, !has_keywords)
                                    .map(|p| Phrase {
                                        from_title: true,
                                        ..p
                                    }),
                            );
                        }
                    }
                }
                let content_text = if search_text { text.as_str() } else { "" };
                for word in word_iter(content_text) {
                    if word.chars().count() >= 5
                        && is_meaningful(&word)
                        && seen.insert(word.to_string())
                    {
                        phrases.extend(
                            builder
                                .phrase(&word, CONTENT_WEIGHT, false, false)
                                .map(|p| Phrase { content: true, ..p }),
                        );
                    }
                }
                GuichetResponse { phrases }
            })
            .collect();
        // A long page holds many words and so matches many messages by chance: as BM25 does,
        // a word of the text counts less the longer the text is against the base's average.
        let content_length = |r: &GuichetResponse| r.phrases.iter().filter(|p| p.content).count();
        let average = responses.iter().map(content_length).sum::<usize>() as f64
            / responses.len().max(1) as f64;
        if average > 0.0 {
            for response in &mut responses {
                let norm = 1.0 - LENGTH_NORMALISATION
                    + LENGTH_NORMALISATION * content_length(response) as f64 / average;
                for phrase in response.phrases.iter_mut().filter(|p| p.content) {
                    phrase.weight /= norm;
                }
            }
        }
        let Builder { stemmer, words, .. } = builder;
        let mut named = vec![false; words.len()];
        for phrase in responses.iter().flat_map(|r| &r.phrases) {
            if !phrase.content {
                for &w in &phrase.words {
                    named[w as usize] = true;
                }
            }
        }
        // Rarity (inverse document frequency) of each stem among responses: a word found in
        // one response's keywords says more than one found in twenty.
        let total = responses.len().max(1) as f64;
        let mut frequency: FastMap<&str, usize> = FastMap::default();
        for response in &responses {
            let stems: FastSet<&str> = response
                .phrases
                .iter()
                .filter(|p| !p.negative)
                .flat_map(|p| p.words.iter().map(|&w| words[w as usize].stem.as_str()))
                .collect();
            for stem in stems {
                *frequency.entry(stem).or_default() += 1;
            }
        }
        let rarity: FastMap<String, f64> = frequency
            .into_iter()
            .map(|(stem, df)| (stem.to_string(), (1.0 + total / df.max(1) as f64).ln()))
            .collect();
        let unknown_rarity = (1.0 + total).ln();
        let mut starts: Vec<Vec<(Start, Kind)>> = vec![Vec::new(); words.len()];
        for (r, response) in responses.iter_mut().enumerate() {
            for (p, phrase) in response.phrases.iter_mut().enumerate() {
                phrase.specificity = phrase
                    .words
                    .iter()
                    .map(|&w| &words[w as usize])
                    .filter(|w| is_meaningful(&w.text))
                    .map(|w| {
                        w.chars.len() as f64
                            * rarity.get(&w.stem).copied().unwrap_or(unknown_rarity)
                    })
                    .sum();
                if let Some(&first) = phrase.words.first() {
                    let bit = |on: bool, bit: u8| if on { bit } else { 0 };
                    let positive = !phrase.negative;
                    let kind = Kind(
                        bit(phrase.keyword && positive, Kind::KEYWORD)
                            | bit(phrase.from_title && positive, Kind::TITLE)
                            | bit(phrase.words.len() > 1, Kind::PHRASE),
                    );
                    let most = if positive {
                        phrase.weight * phrase.specificity
                    } else {
                        0.0
                    };
                    let start = Start {
                        response: r as u32,
                        phrase: p as u32,
                        most,
                    };
                    starts[first as usize].push((start, kind));
                }
            }
        }
        let kinds: Vec<Kind> = starts.iter().flatten().map(|&(_, kind)| kind).collect();
        let starts = Postings::from_lists(
            starts
                .into_iter()
                .map(|list| list.into_iter().map(|(start, _)| start).collect())
                .collect(),
        );
        Self {
            stemmer,
            vocabulary: Vocabulary::new(words, named),
            responses,
            starts,
            kinds,
            rarity,
            unknown_rarity,
            known,
            lexicon: Lexicon::with_synonyms(&[]),
        }
    }

    /// How much of the response's best-found whole title or name the message holds (0 to 1),
    /// each of its meaningful words weighed by its rarity: `partage` holds most of `Comment
    /// partager une carte` (`carte` is everywhere in a map base) and a third of `Comment
    /// partager une bibliothèque de symboles`. As BM25F normalises a field by its length, it
    /// tells which of two responses found the same way the message is more about.
    pub fn focus(&self, text: &str, response: usize) -> f64 {
        let Some(response) = self.responses.get(response) else {
            return 0.0;
        };
        let message = self.message(text);
        let words = &self.vocabulary.words;
        let in_message = |id: u32| {
            message.words.iter().enumerate().any(|(at, _)| {
                std::iter::once(&message.words[at])
                    .chain(&message.alternatives[at])
                    .any(|word| word_match(&words[id as usize], word, true).is_some())
            })
        };
        response
            .phrases
            .iter()
            .filter(|p| p.whole_name || (p.from_title && p.keyword && !p.negative))
            .map(|phrase| {
                let (mut found, mut total) = (0.0, 0.0);
                for &id in phrase.words.iter() {
                    let word = &words[id as usize];
                    if !is_meaningful(&word.text) {
                        continue;
                    }
                    let weight = self
                        .rarity
                        .get(&word.stem)
                        .copied()
                        .unwrap_or(self.unknown_rarity);
                    total += weight;
                    if in_message(id) {
                        found += weight;
                    }
                }
                if total > 0.0 { found / total } else { 0.0 }
            })
            .fold(0.0, f64::max)
    }

    /// The share of a message's meaningful words that the base never uses, anywhere, in any
    /// form (same word, stem, prefix or typo of a keyword): a message about something else
    /// (`la recette des crêpes`) is mostly made of them, a question about the base's topic in
    /// a person's own words much less.
    pub fn unknown_share(&self, text: &str) -> f64 {
        self.unknown_in(&self.message(text), None)
    }

    /// [`GuichetIndex::unknown_share`] of a prepared message; `table`, when the message was
    /// already matched against the vocabulary, says which words matched (a non-empty row).
    fn unknown_in(&self, message: &Message, table: Option<&[MatchRow]>) -> f64 {
        if message.meaningful.is_empty() {
            return 0.0;
        }
        let forms = |i: usize| std::iter::once(&message.words[i]).chain(&message.alternatives[i]);
        let mut found = Vec::new();
        // A table row already holds the matches of the word and of its synonyms.
        let vocabulary = &self.vocabulary;
        let mut matched = |i: usize| match table {
            Some(table) => table
                .get(i)
                .is_some_and(|row| row.iter().any(|(id, e)| vocabulary.vouches(*id, e))),
            None => forms(i).any(|word| {
                found.clear();
                vocabulary.matches(word, &mut found);
                found.iter().any(|(id, e)| vocabulary.vouches(*id, e))
            }),
        };
        let unknown = message
            .meaningful
            .iter()
            .filter(|&&i| {
                let known = forms(i).any(|word| {
                    self.known.contains(&key(0, word.chars.iter().copied()))
                        || self.known.contains(&key(1, word.stem.chars()))
                });
                !known && !matched(i)
            })
            .count();
        unknown as f64 / message.meaningful.len() as f64
    }

    fn message(&self, text: &str) -> Message {
        let text = bounded(text);
        let words: Vec<Word> = self
            .lexicon
            .expand(words(&normalize(text)))
            .into_iter()
            .map(|mut w| {
                if let Some((cut, _)) = w.char_indices().nth(MAX_WORD_CHARS) {
                    w.truncate(cut);
                }
                w
            })
            .map(|w| Word::new(w, &self.stemmer))
            .collect();
        let alternatives: Vec<Vec<Word>> = words
            .iter()
            .map(|w| {
                self.lexicon
                    .same(&w.text)
                    .iter()
                    .map(|other| Word::new(other.clone(), &self.stemmer))
                    .collect()
            })
            .collect();
        let meaningful: Vec<usize> = (0..words.len())
            .filter(|&i| is_meaningful(&words[i].text))
            .collect();
        // Coverage counts words; `rarity` weighs them by how rare they are in the base, a
        // word the base never uses being the rarest: an unexplained word common to the
        // whole base (the domain itself, `carte` on a map editor's help) matters little, an
        // unexplained word the base never uses (`vitale`, `cantine`) says the message is
        // about something else.
        let rarity: Vec<f64> = words
            .iter()
            .zip(&alternatives)
            .map(|(w, others)| {
                std::iter::once(w)
                    .chain(others)
                    .map(|w| {
                        self.rarity
                            .get(&w.stem)
                            .copied()
                            .unwrap_or(self.unknown_rarity)
                    })
                    .fold(self.unknown_rarity, f64::min)
            })
            .collect();
        let total_rarity = meaningful.iter().map(|&i| rarity[i]).sum();
        let total_weight = meaningful.len() as f64;
        Message {
            words,
            meaningful,
            total_weight,
            rarity,
            total_rarity,
            alternatives,
        }
    }

    /// Scores one response from the phrases of it that may occur (`phrases`, in order; the
    /// others do not occur), `find` telling where and how a phrase occurs.
    fn score_response(
        &self,
        response: &GuichetResponse,
        phrases: impl IntoIterator<Item = usize>,
        message: &Message,
        find: &impl Fn(&Phrase) -> Option<(Evidence, usize)>,
    ) -> Scored {
        let mut scored = Scored::NOTHING;
        if message.meaningful.is_empty() {
            return scored;
        }
        let mut covered = Covered::new(message.words.len());
        let mut named = Covered::new(message.words.len());
        for p in phrases {
            let phrase = &response.phrases[p];
            let Some((found, start)) = find(phrase) else {
                continue;
            };
            let strength = strength(found);
            let found = if phrase.content {
                Evidence::Content
            } else {
                found
            };
            // In this order so that `Start::most` times the strength is this value exactly.
            let value = phrase.weight * phrase.specificity * strength;
            if phrase.negative {
                scored.score -= value;
                continue;
            }
            scored.score += value;
            scored.evidence = scored.evidence.max(Some(found));
            scored.keyword |= phrase.keyword && found.is_exact();
            scored.about |= phrase.from_title && found.is_exact();
            scored.named |= phrase.keyword && found != Evidence::Content;
            scored.whole_name |= phrase.whole_name;
            covered.set(start, phrase.words.len());
            if !phrase.content {
                named.set(start, phrase.words.len());
            }
        }
        scored.coverage = message.explained(&covered, None, message.total_weight);
        scored.rare_coverage =
            message.explained(&covered, Some(&message.rarity), message.total_rarity);
        scored.named_coverage = message.explained(&named, None, message.total_weight);
        scored
    }

    /// Scores every response for a message, trying every phrase of every response: the
    /// straightforward reference for [`GuichetIndex::score`]. A message made only of stop
    /// words scores nothing anywhere.
    pub fn score_all(&self, text: &str) -> Vec<Scored> {
        let message = self.message(text);
        let words = &self.vocabulary.words;
        let matches = |id: u32, at: usize, last: bool| {
            std::iter::once(&message.words[at])
                .chain(&message.alternatives[at])
                .filter_map(|word| word_match(&words[id as usize], word, last))
                .max()
        };
        let find = |phrase: &Phrase| find(&phrase.words, message.words.len(), matches);
        self.responses
            .iter()
            .map(|response| {
                self.score_response(response, 0..response.phrases.len(), &message, &find)
            })
            .collect()
    }

    /// The responses that have a phrase whose first word matches a message word, scored,
    /// in document order: every other response scores [`Scored::NOTHING`]. Same scores,
    /// bit for bit, as [`GuichetIndex::score_all`]: the phrases tried are the same minus
    /// those that cannot occur, in the same order, with the same word matches.
    pub fn score(&self, text: &str) -> Vec<(usize, Scored)> {
        let Some(mut matched) = self.matched(text) else {
            return Vec::new();
        };
        let mut order: Vec<usize> = (0..matched.candidates.len()).collect();
        order.sort_unstable_by_key(|&c| matched.candidates[c].response);
        order
            .into_iter()
            .map(|c| {
                let response = matched.candidates[c].response as usize;
                (response, self.score_candidate(&mut matched, c))
            })
            .collect()
    }

    /// The responses a message may be about, in the order the engine weighs them (strong
    /// first, then relevance, then document order), scored only as far as that order is
    /// read: see [`Ranking`]. `strong` must be monotone: true of a [`Scored`], it is true of
    /// any other found exactly, with as much coverage, `keyword` and `about`.
    pub fn rank(&self, text: &str, strong: fn(&Scored) -> bool) -> Ranking<'_> {
        let matched = self.matched(text);
        let unscored = matched
            .iter()
            .flat_map(|m| {
                let total = m.message.total_weight;
                m.candidates.iter().enumerate().map(move |(c, candidate)| {
                    // As `score_response` turns what a response explains into coverage.
                    let coverage = if total > 0.0 {
                        candidate.explains / total
                    } else {
                        0.0
                    };
                    // One term is the score's own product; a sum of several may round
                    // otherwise than the score's sum, in another order.
                    let most = if candidate.terms > 1 {
                        candidate.most * CEILING_SLACK
                    } else {
                        candidate.most
                    };
                    let relevance = most * coverage;
                    let best_case = Scored {
                        score: relevance,
                        evidence: Some(Evidence::Exact),
                        coverage,
                        rare_coverage: 1.0,
                        named_coverage: coverage,
                        keyword: candidate.keyword,
                        about: candidate.about,
                        named: candidate.keyword,
                        whole_name: false,
                    };
                    let ceiling = Rank {
                        strong: strong(&best_case),
                        relevance,
                        response: candidate.response,
                    };
                    (ceiling, c as u32)
                })
            })
            // Ranked responses have a positive relevance.
            .filter(|(ceiling, _)| ceiling.relevance > 0.0)
            .collect();
        Ranking {
            index: self,
            matched,
            strong,
            unscored,
            scored: BinaryHeap::new(),
            results: Vec::new(),
        }
    }

    /// The message matched against the vocabulary, with its candidates; `None` when it has
    /// no meaningful word (it then scores nothing anywhere).
    fn matched(&self, text: &str) -> Option<Matched> {
        let message = self.message(text);
        if message.meaningful.is_empty() {
            return None;
        }
        // For each message word, every base word that matches it.
        let mut table: Vec<MatchRow> = Vec::with_capacity(message.words.len());
        let mut ids: Vec<u32> = Vec::new();
        for (word, others) in message.words.iter().zip(&message.alternatives) {
            let mut found = Vec::new();
            self.vocabulary.matches(word, &mut found);
            for other in others {
                self.vocabulary.matches(other, &mut found);
            }
            ids.extend(found.iter().map(|&(id, _)| id));
            found.sort_unstable_by_key(|&(id, _)| id);
            // A base word matched through the word and a synonym: its best evidence, once.
            found.dedup_by(|later, kept| {
                if later.0 != kept.0 {
                    return false;
                }
                kept.1 = [kept.1[0].max(later.1[0]), kept.1[1].max(later.1[1])];
                true
            });
            table.push(found);
        }
        ids.sort_unstable();
        ids.dedup();
        // Where each matched base word is, as a bit set of message positions (the first 64).
        let n = message.words.len();
        let mut positions: FastMap<u32, u64> = FastMap::default();
        for (at, row) in table.iter().enumerate().take(64) {
            for &(id, _) in row {
                *positions.entry(id).or_default() |= 1 << at;
            }
        }
        let mut single: FastMap<u32, Option<(Evidence, usize)>> = FastMap::default();
        // Each phrase is listed under its first word only, and each matched word once: every
        // (response, phrase) comes once. Grouped by response with a counting sort, each
        // response getting its ceiling on the way (see `Ranking`).
        let mut slots: FastMap<u32, u32> = FastMap::default();
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut postings: Vec<(u32, u32)> = Vec::new();
        for &id in &ids {
            // Most phrases are one word (title words, content words), and where a one-word
            // phrase occurs depends only on its word: found once per matched word.
            let alone = find(&[id], n, |w, at, last| lookup(&table, w, at, last));
            single.insert(id, alone);
            let at = positions.get(&id).copied().unwrap_or(0);
            let kinds = self
                .kinds
                .get(self.starts.range(id as usize))
                .unwrap_or_default();
            for (start, kind) in self.starts.get(id as usize).iter().zip(kinds) {
                let slot = *slots.entry(start.response).or_insert_with(|| {
                    candidates.push(Candidate {
                        response: start.response,
                        from: 0,
                        to: 0,
                        most: 0.0,
                        keyword: false,
                        about: false,
                        terms: 0,
                        covers: 0,
                        explains: 0.0,
                    });
                    (candidates.len() - 1) as u32
                });
                let candidate = &mut candidates[slot as usize];
                candidate.to += 1;
                postings.push((slot, start.phrase));
                if !kind.has(Kind::PHRASE) {
                    // Known exactly: whether it occurs, how, and where.
                    let Some((evidence, start_at)) = alone else {
                        continue;
                    };
                    candidate.most += start.most * strength(evidence);
                    candidate.terms += u32::from(start.most > 0.0);
                    candidate.keyword |= kind.has(Kind::KEYWORD) && evidence.is_exact();
                    candidate.about |= kind.has(Kind::TITLE) && evidence.is_exact();
                    candidate.covers |= 1_u64.checked_shl(start_at as u32).unwrap_or(0);
                } else {
                    // It can only start where its first word is, followed by its second.
                    let words = &self.responses[start.response as usize].phrases
                        [start.phrase as usize]
                        .words;
                    let mut from = at;
                    if n <= 64 {
                        let second = words.get(1).and_then(|w| positions.get(w));
                        let second = second.copied().unwrap_or(0);
                        from &= second >> 1;
                        if from == 0 {
                            continue;
                        }
                    }
                    candidate.most += start.most;
                    candidate.terms += u32::from(start.most > 0.0);
                    candidate.keyword |= kind.has(Kind::KEYWORD);
                    candidate.about |= kind.has(Kind::TITLE);
                    while from != 0 {
                        let p = from.trailing_zeros();
                        from &= from - 1;
                        let len = u32::try_from(words.len()).unwrap_or(u32::MAX);
                        candidate.covers |= span(p, len);
                    }
                }
            }
        }
        let weight_of = |covers: u64| -> f64 {
            if n > 64 {
                return message.total_weight;
            }
            // As `score_response` sums what a response explains, over more words.
            message
                .meaningful
                .iter()
                .filter(|&&i| covers & (1 << i) != 0)
                .count() as f64
        };
        for candidate in &mut candidates {
            candidate.explains = weight_of(candidate.covers);
        }
        let mut next = 0;
        for candidate in &mut candidates {
            let count = candidate.to;
            candidate.from = next;
            candidate.to = next;
            next += count;
        }
        let mut phrases = vec![0; postings.len()];
        for (slot, phrase) in postings {
            let candidate = &mut candidates[slot as usize];
            phrases[candidate.to as usize] = phrase;
            candidate.to += 1;
        }
        Some(Matched {
            message,
            table,
            single,
            candidates,
            phrases,
        })
    }

    /// Scores candidate `c` of a matched message: its phrases that may occur, in order.
    fn score_candidate(&self, matched: &mut Matched, c: usize) -> Scored {
        let Matched {
            message,
            table,
            single,
            candidates,
            phrases,
        } = matched;
        let candidate = &candidates[c];
        let list = &mut phrases[candidate.from as usize..candidate.to as usize];
        list.sort_unstable();
        let n = message.words.len();
        let find = |phrase: &Phrase| match &*phrase.words {
            [id] => single.get(id).copied().flatten(),
            words => find(words, n, |w, at, last| lookup(table, w, at, last)),
        };
        self.score_response(
            &self.responses[candidate.response as usize],
            list.iter().map(|&p| p as usize),
            message,
            &find,
        )
    }
}

/// [`word_match`] of base word `id` against message word `at`, read from the table of a
/// matched message (a word missing from its row does not match).
fn lookup(table: &[MatchRow], id: u32, at: usize, last: bool) -> Option<Evidence> {
    let row = &table[at];
    let i = row.binary_search_by_key(&id, |&(id, _)| id).ok()?;
    row[i].1[usize::from(last)]
}

/// The base words that match one message word, by id, with [`word_match`]'s answers for a
/// phrase's inner word and for its last word.
type MatchRow = Vec<(u32, [Option<Evidence>; 2])>;

/// A message matched against the vocabulary: its candidate responses (those with a phrase
/// whose first word matches a message word) and what scoring one of them needs.
struct Matched {
    message: Message,
    /// For each message word, every base word that matches it (sorted by id), with
    /// [`word_match`]'s answers for a phrase's inner word and for its last word.
    table: Vec<MatchRow>,
    /// Where each one-word phrase occurs, by its word.
    single: FastMap<u32, Option<(Evidence, usize)>>,
    candidates: Vec<Candidate>,
    /// The candidates' phrases that may occur: candidate `c`'s are `phrases[c.from..c.to]`,
    /// put in order when it is scored.
    phrases: Vec<u32>,
}

/// A response with a phrase whose first word matches the message.
struct Candidate {
    response: u32,
    from: u32,
    to: u32,
    /// The most its phrases can add: [`Start::most`], times the strength for a one-word
    /// phrase (whose match is known). No score of it can be higher.
    most: f64,
    /// Whether one of its phrases is a positive author keyword or the title that may be
    /// found exactly.
    keyword: bool,
    /// Whether one of its phrases is from the title, positive, and may be found exactly.
    about: bool,
    /// How many positive phrases `most` adds up.
    terms: u32,
    /// The message words (the first 64) its phrases may cover.
    covers: u64,
    /// The weight of the meaningful words among them: no coverage of it can be higher.
    explains: f64,
}

/// A phrase's strength for how it was found (see [`GuichetIndex::score_response`]).
fn strength(evidence: Evidence) -> f64 {
    match evidence {
        Evidence::Exact => 1.0,
        Evidence::Stem => STEM_WEIGHT,
        Evidence::Fuzzy => FUZZY_WEIGHT,
        Evidence::Content => 1.0,
    }
}

/// Message words `at..at + len` as a bit set of the first 64.
fn span(at: u32, len: u32) -> u64 {
    let ones = 1_u64.checked_shl(len).map_or(u64::MAX, |bit| bit - 1);
    ones.checked_shl(at).unwrap_or(0)
}

/// [`Candidate::most`] is summed in another order than [`GuichetIndex::score_response`]
/// sums the score, and floating-point sums depend on order by a few units in the last
/// place: the ceiling is raised by far more than that (a relative 1e-13 for a thousand
/// phrases) so that it stays a ceiling.
const CEILING_SLACK: f64 = 1.0 + 1e-9;

/// Where a response stands in a [`Ranking`]: strong first, then relevance, then the
/// earlier response (greater is ranked first).
#[derive(Debug, Clone, Copy)]
struct Rank {
    strong: bool,
    relevance: f64,
    response: u32,
}

impl Ord for Rank {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.strong
            .cmp(&other.strong)
            .then(self.relevance.total_cmp(&other.relevance))
            .then(other.response.cmp(&self.response))
    }
}

impl PartialOrd for Rank {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Rank {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Rank {}

/// A message's candidates in ranked order, scored lazily: the engine reads the first few
/// (the best answer and its close rivals, up to four suggestions), and a base of thousands
/// of responses gives a message hundreds of candidates, most of them through one common
/// word of their text.
///
/// What is ranked: the responses with a positive score and some evidence, by
/// `relevance = score × coverage` (kept when positive), strong ones (as the engine's
/// `strong` says) first, ties in document order; each comes with its [`Scored`], whose
/// `score` is the relevance.
///
/// Why it is exact: every candidate gets a ceiling on its rank without being scored. Its
/// score is a sum of `weight × specificity × strength` over its phrases found, minus
/// negatives, with strength at most 1: at most the sum of `weight × specificity`, and for a
/// one-word phrase the table of matches already says whether, how (so the strength) and
/// where it occurs. Its coverage counts only message words its phrases can cover: a one-word
/// phrase where it occurs, a longer one from where its first word is. Its relevance is at
/// most the product of the two, and it can be strong only if `strong` holds of that best case
/// with the keyword and title evidence it may have. Candidates are scored from the highest
/// ceiling down, and a scored response is returned once it ranks above every ceiling left,
/// which every response not scored yet ranks below. Every response that is not a candidate
/// scores nothing and is not ranked. `tests/matching_index.rs` compares it with sorting
/// every response's score.
pub struct Ranking<'a> {
    index: &'a GuichetIndex,
    matched: Option<Matched>,
    strong: fn(&Scored) -> bool,
    /// Candidates not scored yet, by ceiling.
    unscored: BinaryHeap<(Rank, u32)>,
    /// Candidates scored and ranked, not returned yet, with their place in `results`.
    scored: BinaryHeap<(Rank, u32)>,
    results: Vec<Scored>,
}

impl std::fmt::Debug for Ranking<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranking")
            .field("unscored", &self.unscored.len())
            .field("scored", &self.scored.len())
            .finish_non_exhaustive()
    }
}

impl Ranking<'_> {
    /// The share of the message's meaningful words the base never uses (see
    /// [`GuichetIndex::unknown_share`]), from the matching already done for the ranking.
    pub fn unknown_share(&self) -> f64 {
        self.matched
            .as_ref()
            .map_or(0.0, |m| self.index.unknown_in(&m.message, Some(&m.table)))
    }

    /// The next response, if it is strong with a relevance of at least `relevance`;
    /// `None` otherwise, and the response stays next.
    pub fn next_strong_at_least(&mut self, relevance: f64) -> Option<(usize, Scored)> {
        self.next_from(Some(relevance))
    }

    fn next_from(&mut self, at_least: Option<f64>) -> Option<(usize, Scored)> {
        let below = |rank: &Rank| {
            at_least.is_some_and(|relevance| !rank.strong || rank.relevance < relevance)
        };
        let matched = self.matched.as_mut()?;
        loop {
            let best = self.scored.peek().map(|&(rank, _)| rank);
            let ceiling = self.unscored.peek().map(|&(rank, _)| rank);
            if let Some(best) = best {
                // Known to come next when no response left to score can rank above it
                // (with a threshold: when none of them can reach it, and it does).
                let next = match &ceiling {
                    None => true,
                    Some(ceiling) => best > *ceiling || (below(ceiling) && !below(&best)),
                };
                if next {
                    if below(&best) {
                        return None;
                    }
                    let (_, i) = self.scored.pop()?;
                    return Some((best.response as usize, self.results[i as usize]));
                }
            }
            let ceiling = ceiling?;
            if below(&ceiling) && best.as_ref().is_none_or(below) {
                return None;
            }
            let (_, c) = self.unscored.pop()?;
            let scored = self.index.score_candidate(matched, c as usize);
            if scored.score > 0.0 && scored.evidence.is_some() {
                let relevance = scored.score * scored.coverage;
                if relevance > 0.0 {
                    let scored = Scored {
                        score: relevance,
                        ..scored
                    };
                    let strong = (self.strong)(&scored);
                    debug_assert!(!strong || scored.keyword, "strong without a keyword");
                    let rank = Rank {
                        strong,
                        relevance,
                        response: ceiling.response,
                    };
                    self.scored.push((rank, self.results.len() as u32));
                    self.results.push(scored);
                }
            }
        }
    }
}

impl Iterator for Ranking<'_> {
    type Item = (usize, Scored);

    fn next(&mut self) -> Option<Self::Item> {
        self.next_from(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The off-topic signal: a word the base has only a near neighbour of, in a text
    /// (`blague`, `blogue`), is unknown; a typo of a keyword (`partagr`) is not.
    #[test]
    fn a_typo_of_a_text_word_is_not_a_known_word() {
        let response = |title, keywords: Vec<&'static str>, text: &str| ResponseText {
            title,
            keywords,
            names: Vec::new(),
            text: text.to_string(),
            search_text: true,
        };
        let index = GuichetIndex::new([
            response(
                "Partager",
                vec!["partager"],
                "Le lien se publie sur un blogue.",
            ),
            response("Raconter", vec!["raconter"], "Une carte narrative."),
        ]);
        assert_eq!(index.unknown_share("raconte-moi une blague"), 0.5);
        assert_eq!(index.unknown_share("partagr sur mon blogue"), 0.0);
    }

    #[test]
    fn normalisation() {
        let cases = [
            ("Élève  ÉCOLE", "eleve ecole"),
            ("C’est quoi PIX ?", "c'est quoi pix"),
            ("cœur, Æsop", "coeur aesop"),
            ("mañana — «hola»", "manana hola"),
            ("  l'année\t2024-2025 ", "l'annee 2024 2025"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input), expected, "{input}");
        }
        assert_eq!(words("l'annee scolaire"), vec!["l", "annee", "scolaire"]);
    }

    /// `normalize` as first written: NFKD of the whole text, then folding, then spaces.
    fn reference_normalize(text: &str) -> String {
        use unicode_normalization::UnicodeNormalization;
        let mut folded = String::new();
        for c in text.nfkd() {
            if unicode_normalization::char::is_combining_mark(c) {
                continue;
            }
            match c {
                'œ' | 'Œ' => folded.push_str("oe"),
                'æ' | 'Æ' => folded.push_str("ae"),
                'ß' => folded.push_str("ss"),
                '\'' | '’' | '‘' | '`' | '´' | 'ʼ' => folded.push('\''),
                c if c.is_alphanumeric() => folded.extend(c.to_lowercase()),
                _ => folded.push(' '),
            }
        }
        folded.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn normalisation_equals_whole_text_nfkd() {
        // Letters, digits, separators, precomposed and decomposed accents, ligatures,
        // compatibility forms, stacked combining marks, capitals that lower-case to marks.
        let pool: Vec<char> =
            "aZé9 \t'’-.,«»ÉÈçÇœŒæßﬁ①²ＡｂİĲǅ\u{301}\u{327}\u{308}\u{31b}\u{323}ᾈΣ東ñÑ"
                .chars()
                .collect();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 12) as usize;
            let text: String = (0..len)
                .map(|i| pool[((state >> (i * 5)) % pool.len() as u64) as usize])
                .collect();
            assert_eq!(normalize(&text), reference_normalize(&text), "{text:?}");
        }
    }

    fn index(entries: &[(&str, &[&str])]) -> GuichetIndex {
        GuichetIndex::new(entries.iter().map(|(t, k)| ResponseText {
            title: t,
            keywords: k.to_vec(),
            ..ResponseText::default()
        }))
    }

    fn evidence(index: &GuichetIndex, message: &str) -> Vec<Option<Evidence>> {
        index
            .score_all(message)
            .iter()
            .map(|s| s.evidence)
            .collect()
    }

    #[test]
    fn hostile_lengths_are_bounded_before_matching() {
        let i = index(&[("Horaires", &["horaires"])]);
        // One word of 200,000 letters: once every prefix was hashed (quadratic).
        let word = "a".repeat(200_000);
        let message = i.message(&word);
        assert_eq!(message.words.len(), 1);
        assert_eq!(message.words[0].chars.len(), MAX_WORD_CHARS);
        assert_eq!(i.score_all(&word), vec![Scored::NOTHING]);
        // A long message is read up to its bound, and still matched there.
        let long = format!("horaires {}", "mot ".repeat(100_000));
        assert!(i.message(&long).words.len() <= MAX_MESSAGE_CHARS / 2);
        assert!(i.score_all(&long)[0].score > 0.0);
        assert!(i.vocabulary.longest < MAX_WORD_CHARS);
    }

    #[test]
    fn keywords_match_at_word_starts() {
        let i = index(&[
            ("Art", &["art"]),
            ("Certif", &["certif"]),
            ("Profil", &["profil"]),
        ]);
        // `art` no longer matches `partir`; `certif` still finds `certification`.
        assert_eq!(evidence(&i, "je veux partir"), vec![None, None, None]);
        assert_eq!(
            evidence(&i, "la certification"),
            vec![None, Some(Evidence::Exact), None]
        );
        // `prof` is not `profil`.
        assert_eq!(evidence(&i, "je suis prof"), vec![None, None, None]);
        assert_eq!(
            evidence(&i, "j'aime l'art"),
            vec![Some(Evidence::Exact), None, None]
        );
    }

    #[test]
    fn typos_and_stems() {
        let i = index(&[("Horaires", &["horaires"]), ("Collecte", &["collecte"])]);
        assert_eq!(evidence(&i, "horraires"), vec![Some(Evidence::Fuzzy), None]);
        assert_eq!(evidence(&i, "horaire"), vec![Some(Evidence::Stem), None]);
        // One letter more or less at the end of a four-letter word, both ways; not inside.
        let q = index(&[
            ("Quizz", &["quizz"]),
            ("Quiz", &["quiz"]),
            ("Mots", &["mots"]),
        ]);
        assert_eq!(
            evidence(&q, "quiz"),
            vec![Some(Evidence::Fuzzy), Some(Evidence::Exact), None]
        );
        assert_eq!(
            evidence(&q, "quizz"),
            vec![Some(Evidence::Exact), Some(Evidence::Fuzzy), None]
        );
        assert_eq!(evidence(&q, "mois"), vec![None, None, None]);
        // `collège` is two edits from `collecte`: not a match.
        assert_eq!(evidence(&i, "au collège"), vec![None, None]);
    }

    #[test]
    fn negative_keywords_veto_and_stop_words_say_nothing() {
        let i = index(&[("Plage", &["mer", "! pas la mer"])]);
        assert!(i.score_all("la mer")[0].score > 0.0);
        assert!(i.score_all("pas la mer")[0].score < 0.0);
        assert_eq!(i.score_all("comment faire ?")[0].evidence, None);
    }

    #[test]
    fn bounded_distance_gives_up_early() {
        let a: Vec<char> = "horaires".chars().collect();
        let b: Vec<char> = "horraires".chars().collect();
        assert_eq!(bounded_distance(&a, &b, 2), 1);
        let c: Vec<char> = "zzzzzzzzzz".chars().collect();
        assert_eq!(bounded_distance(&a, &c, 2), 3);
    }
}
