//! How a keyword's word matches a message word (whole, word start, stem, typo), and the
//! vocabulary of the base that finds, for a message word, the base words it matches.

use rust_stemmers::Stemmer;

use crate::distance::within_edits;
use crate::engine::hash::{FastMap, KeyedLists, hash_words};

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

/// A word with its stem, prepared once.
#[derive(Debug, Clone)]
pub(super) struct Word {
    pub(super) text: String,
    pub(super) chars: Vec<char>,
    pub(super) stem: String,
}

impl Word {
    pub(super) fn new(text: String, stemmer: &Stemmer) -> Self {
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
pub(super) struct Phrase {
    /// Ids of its words in the index's [`Vocabulary`].
    pub(super) words: Box<[u32]>,
    /// From the title (whole or one word).
    pub(super) from_title: bool,
    /// A word of the response's text, not a keyword or title.
    pub(super) content: bool,
    /// A word of the text of a base that did not turn content search on (see
    /// [`super::Scored::implicit`]).
    pub(super) implicit: bool,
    /// Specificity: letters of each word times how rare the word is in the base.
    pub(super) specificity: f64,
    pub(super) weight: f64,
    pub(super) negative: bool,
    /// An author keyword or the whole title, as opposed to a single title word.
    pub(super) keyword: bool,
    /// The whole title or a whole name, of two words or more.
    pub(super) whole_name: bool,
}

/// How one keyword word relates to one message word.
pub(super) fn word_match(keyword: &Word, word: &Word, last: bool) -> Option<Evidence> {
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
    if budget > 0 && within_edits(&keyword.chars, &word.chars, budget) {
        return Some(Evidence::Fuzzy);
    }
    None
}

/// The best way a phrase of these words occurs in the message (consecutive words), and
/// where. `matches(word, position, last)` is [`word_match`] of the phrase's word `word` (an
/// id) against the message word at `position`, `last` for the phrase's last word.
pub(super) fn find(
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

/// Key of a word's text (tag 0), its stem (tag 1), or a part of it (tag 2, with the word's
/// length in chars, the number of parts and the part's number).
pub(super) fn key(tag: u64, chars: impl IntoIterator<Item = char>) -> u64 {
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
pub(super) struct Vocabulary {
    pub(super) words: Vec<Word>,
    /// Keyed by hashes: a collision only adds a candidate, which [`word_match`] rejects.
    by_text: KeyedLists<u64>,
    by_stem: KeyedLists<u64>,
    by_part: KeyedLists<u64>,
    /// Ids sorted by text, for the base words a message word starts.
    sorted: Vec<u32>,
    /// The length in chars of the longest base word.
    pub(super) longest: usize,
    /// Whether each word is in a keyword, title or name (not only in a text): a typo of a
    /// word of the text alone (`blague` for `blogue`) is no sign that the message is about
    /// the base.
    named: Vec<bool>,
}

impl Vocabulary {
    pub(super) fn new(words: Vec<Word>, named: Vec<bool>) -> Self {
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
    pub(super) fn vouches(&self, id: u32, evidence: &[Option<Evidence>; 2]) -> bool {
        self.named[id as usize]
            || evidence
                .iter()
                .flatten()
                .any(|e| !matches!(e, Evidence::Fuzzy))
    }

    /// Whether `text`, as written, is a word of a keyword, title or name: [`Self::names`]
    /// without the stemmer, for the many candidates of which few are words.
    pub(super) fn names_written(&self, text: &str) -> bool {
        let written = self.by_text.get(&key(0, text.chars()));
        written.iter().any(|&id| self.named[id as usize])
    }

    /// Whether `word`, as written or by its stem, is a word of a keyword, title or name.
    pub(super) fn names(&self, word: &Word) -> bool {
        let written = self.by_text.get(&key(0, word.chars.iter().copied()));
        let stem = self.by_stem.get(&key(1, word.stem.chars()));
        written
            .iter()
            .chain(stem)
            .any(|&id| self.named[id as usize])
    }

    /// The base words that match a message word, with [`word_match`]'s answers for a
    /// phrase's inner word and for its last word (at least one of them is `Some`).
    pub(super) fn matches(&self, word: &Word, found: &mut Vec<(u32, [Option<Evidence>; 2])>) {
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
