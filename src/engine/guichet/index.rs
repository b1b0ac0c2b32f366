//! The index built once per knowledge base: each response as weighted phrases, listed under
//! their first word.

use rust_stemmers::{Algorithm, Stemmer};

use std::borrow::Cow;

use super::matching::{Phrase, Vocabulary, Word, key};
use super::rank::{
    CONTENT_WEIGHT, EMPHASIS_WEIGHT, EXACT_WEIGHT, LENGTH_NORMALISATION, NAME_WEIGHT,
    NEGATIVE_WEIGHT, TITLE_WEIGHT, TITLE_WORD_WEIGHT,
};
use super::text::{is_meaningful, is_negation, normalize, word_iter, words};
use crate::engine::hash::{FastMap, FastSet, Postings};
use crate::engine::lexicon::Lexicon;
use crate::kb::KnowledgeBase;

/// What guichet matching reads of one response.
#[derive(Debug, Clone, Default)]
pub struct ResponseText<'a> {
    pub title: &'a str,
    /// As written, negative ones with their `! `.
    pub keywords: Vec<&'a str>,
    /// The names people know it by: see [`crate::engine::names`].
    pub names: Vec<&'a str>,
    /// Its text: the words the base knows (see [`GuichetIndex::unknown_share`]), and
    /// evidence for the response (see `search_text`).
    pub text: String,
    /// Content search (`rechercheContenu`): words of the text are evidence for the response.
    /// Without it they still are, but a response found through them alone is never offered
    /// and answers only in the strictest case (see [`Scored::implicit`](super::Scored)).
    pub search_text: bool,
}

/// A response prepared for guichet matching.
#[derive(Debug, Clone)]
pub struct GuichetResponse {
    pub(super) phrases: Vec<Phrase>,
}

/// A phrase as listed under its first word: which response, which phrase, and what it can
/// add to the response's score at most, so that a message's candidates get a ceiling
/// without opening their responses (what else the ceiling needs is in its [`StartKind`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Start {
    pub(super) response: u32,
    pub(super) phrase: u32,
    /// `weight × specificity`, which [`GuichetIndex::score_response`] multiplies by a strength
    /// of at most 1; 0 for a negative keyword, which only subtracts.
    pub(super) most: f64,
}

/// What kind of phrase a [`Start`] is, as bits, kept beside the starts (a byte rather than
/// padding each start to 24 bytes: a loaded base holds one start per phrase).
#[derive(Debug, Clone, Copy)]
pub(super) struct StartKind(u8);

impl StartKind {
    /// A positive author keyword or the whole title: what can make a response strong (see
    /// [`super::Ranking`]).
    pub(super) const KEYWORD: u8 = 1;
    /// From the title, positive: what makes a response about the message.
    pub(super) const TITLE: u8 = 2;
    /// More than one word: where it occurs is not known from its first word alone.
    pub(super) const PHRASE: u8 = 4;

    pub(super) fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
}

/// Everything guichet matching prepares once per knowledge base.
pub struct GuichetIndex {
    pub(super) stemmer: Stemmer,
    pub(super) vocabulary: Vocabulary,
    pub(super) responses: Vec<GuichetResponse>,
    /// For each base word, the phrases it starts, in order.
    pub(super) starts: Postings<Start>,
    /// The [`StartKind`] of each start, in the same order as all the lists of `starts`.
    pub(super) kinds: Vec<StartKind>,
    /// Rarity of each stem found in the base's keywords and titles.
    pub(super) rarity: FastMap<String, f64>,
    /// The rarity of a word the base never uses: the highest there is.
    pub(super) unknown_rarity: f64,
    /// Keys of every word and stem the base uses anywhere (titles, keywords, names, text).
    pub(super) known: FastSet<u64>,
    /// Chat forms and synonyms read in messages.
    pub(super) lexicon: Lexicon,
    /// The bot's own name, as normalised words: the words of the base's title that no
    /// response uses (`chirobot` of "Chirobot-sons: Petit guide sur les sons…", not `sons`).
    pub(super) bot_name: Vec<String>,
}

impl std::fmt::Debug for GuichetIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuichetIndex")
            .field("responses", &self.responses.len())
            .field("words", &self.vocabulary.words.len())
            .finish_non_exhaustive()
    }
}

/// The short terms of a title or name, normalised: its acronyms (`IGN`, `ENT`, `FM`) and its
/// words joined at a hyphen (`Wi-Fi`, `e-mail`: see [`normalize`]). Short, but as specific
/// as a long word, so a title word even under five letters.
fn short_terms(name: &str) -> Vec<String> {
    let split = normalize(&name.replace('-', " "));
    let split: Vec<&str> = split.split(' ').collect();
    let joined = normalize(name)
        .split(' ')
        .filter(|w| !split.contains(w))
        .map(str::to_owned)
        .collect::<Vec<_>>();
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| {
            w.chars().filter(char::is_ascii_uppercase).count() >= 2
                && w.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
        .map(normalize)
        .chain(joined)
        .collect()
}

/// A bold span longer than this (in bytes) is a sentence set in bold, not a term.
const MAX_EMPHASIS_BYTES: usize = 60;
/// A bold span of more meaningful words than this is a sentence, not a term.
const MAX_EMPHASIS_WORDS: usize = 4;

/// How much of the base's title is read for the bot's name.
const MAX_TITLE_CHARS: usize = 200;

/// The shortest word of the title taken for the bot's name: shorter ones are too often
/// other words of a message.
const MIN_NAME_WORD_CHARS: usize = 4;

/// Words set in bold to flag a remark rather than to name what a page is about
/// (`**Attention :**`, `**Important !**`): a span made only of them is no term.
const REMARKS: &[&str] = &[
    "attention",
    "important",
    "remarque",
    "rappel",
    "nb",
    "astuce",
    "conseil",
    "exemple",
    "note",
    "info",
    "nouveau",
];

/// The spans of a text set in bold (`**…**`), short enough to be terms. Paired within a
/// line, and none from a line with a `**` left unpaired (`2**3`), whose pairs are unknown.
pub(super) fn emphasized(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|line| line.matches("**").count() % 2 == 0)
        .flat_map(|line| line.split("**").skip(1).step_by(2))
        .map(str::trim)
        // A link or HTML set in bold is not a term.
        .filter(|span| {
            !span.is_empty()
                && span.len() <= MAX_EMPHASIS_BYTES
                && !span.contains("](")
                && !span.contains('<')
        })
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
            implicit: false,
            // Set once every response is known (it depends on word rarity).
            specificity: 0.0,
            weight,
            negative,
            keyword,
            whole_name: false,
        })
    }
}

impl GuichetIndex {
    /// Prepares a knowledge base's responses: titles, keywords, the names people know them by
    /// (see [`crate::engine::names`]), and their text when `rechercheContenu` is on.
    pub fn for_kb(kb: &KnowledgeBase) -> Self {
        Self::with_names(kb, &crate::engine::names::Names::for_kb(kb))
    }

    /// [`GuichetIndex::for_kb`] with the base's names already worked out.
    pub fn with_names(kb: &KnowledgeBase, names: &crate::engine::names::Names) -> Self {
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
        // A name is a few words: a title of a million characters is not read whole.
        let title: String = kb.title.chars().take(MAX_TITLE_CHARS).collect();
        index.bot_name = words(&normalize(&title))
            .into_iter()
            .filter(|w| is_meaningful(w) && w.chars().count() >= MIN_NAME_WORD_CHARS)
            .filter(|w| !index.knows(&Word::new(w.clone(), &index.stemmer)))
            .collect();
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
                // Bold spans are read off the text as written, before normalising drops the `*`.
                let emphasis: Vec<String> = emphasized(&text).map(normalize).collect();
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
                // The names, normalised: a bold span that repeats one adds nothing.
                let mut named: FastSet<String> = FastSet::default();
                for (i, name) in std::iter::once(title)
                    .chain(names.iter().copied())
                    .enumerate()
                {
                    let text = normalize(name);
                    let short_terms = short_terms(name);
                    for word in word_iter(&text) {
                        if (word.chars().count() > 4 || short_terms.iter().any(|a| *a == *word))
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
                    if i > 0 {
                        named.insert(text);
                    }
                }
                // What the author set in bold (`**sonar**`, `**Pic de fréquence**`) is what
                // the page is about, more than any other word of its text: it counts as the
                // text does, but the author chose it, so it is never implicit, even with
                // content search off (ChatMD's default).
                for normal in emphasis {
                    let words: Vec<_> = word_iter(&normal).filter(|w| is_meaningful(w)).collect();
                    let remark = words.iter().all(|w| REMARKS.contains(&w.as_ref()));
                    if (1..=MAX_EMPHASIS_WORDS).contains(&words.len())
                        && !remark
                        && !named.contains(&normal)
                        && seen.insert(normal.clone())
                    {
                        let phrase = builder.phrase(&normal, EMPHASIS_WEIGHT, false, false);
                        phrases.extend(phrase.map(|p| Phrase { content: true, ..p }));
                        seen.extend(word_iter(&normal).map(Cow::into_owned));
                    }
                }
                for word in word_iter(&text) {
                    if word.chars().count() >= 5
                        && is_meaningful(&word)
                        && seen.insert(word.to_string())
                    {
                        phrases.extend(builder.phrase(&word, CONTENT_WEIGHT, false, false).map(
                            |p| Phrase {
                                content: true,
                                implicit: !search_text,
                                ..p
                            },
                        ));
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
        let mut starts: Vec<Vec<(Start, StartKind)>> = vec![Vec::new(); words.len()];
        for (r, response) in responses.iter_mut().enumerate() {
            for (p, phrase) in response.phrases.iter_mut().enumerate() {
                phrase.specificity = phrase
                    .words
                    .iter()
                    .map(|&w| &words[w as usize])
                    // A negation counts in a phrase: `pas certifiable` says more than
                    // `certifiable`, and the other way round.
                    .filter(|w| is_meaningful(&w.text) || is_negation(&w.text))
                    .map(|w| {
                        w.chars.len() as f64
                            * rarity.get(&w.stem).copied().unwrap_or(unknown_rarity)
                    })
                    .sum();
                if let Some(&first) = phrase.words.first() {
                    let bit = |on: bool, bit: u8| if on { bit } else { 0 };
                    let positive = !phrase.negative;
                    let kind = StartKind(
                        bit(phrase.keyword && positive, StartKind::KEYWORD)
                            | bit(phrase.from_title && positive, StartKind::TITLE)
                            | bit(phrase.words.len() > 1, StartKind::PHRASE),
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
        let kinds: Vec<StartKind> = starts.iter().flatten().map(|&(_, kind)| kind).collect();
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
            bot_name: Vec::new(),
        }
    }
}
