//! Scoring a message against the index: the weights of evidence, the score of each response,
//! and the ranking of the candidates.

use std::collections::BinaryHeap;

use super::derivation;
use super::index::{GuichetIndex, GuichetResponse, StartKind};
use super::matching::{Evidence, Phrase, Word, find, key, word_match};
use super::text::{MAX_WORD_CHARS, bounded, is_meaningful, normalize, words};
use crate::engine::hash::FastMap;

/// Weight of a keyword found exactly (whole word, word-start prefix or same stem).
pub(super) const EXACT_WEIGHT: f64 = 1.0;
/// Weight of a keyword found by its stem only (`partager` for `partage`): as good as found,
/// but a keyword written as the message writes it wins between two otherwise equal.
const STEM_WEIGHT: f64 = 0.95;
/// Weight of a keyword found only through typos: evidence, but weaker.
const FUZZY_WEIGHT: f64 = 0.6;
/// Title words count less than keywords the author chose.
pub(super) const TITLE_WORD_WEIGHT: f64 = 0.5;
/// The whole title found in a message names the response: it counts double, as in ChatMD
/// (where the title is tested as a keyword and, for one word, again as a title word).
pub(super) const TITLE_WEIGHT: f64 = 2.0;
/// A name of the response (a choice's label leading to it, its first heading) found whole:
/// the author's own name for it, as telling as a keyword.
pub(super) const NAME_WEIGHT: f64 = 1.0;
/// A word of the response's text (`rechercheContenu`): ranks, never answers alone.
pub(super) const CONTENT_WEIGHT: f64 = 0.3;
/// A term of a response's text set in bold: the author's own emphasis on what the page is
/// about, as telling as a name. Measured on the bases of tests/data/quality between 0.3 and
/// 2.0: from 0.6 up, the same cases of the three bases by others (+1); ours is best at 1.0.
pub(super) const EMPHASIS_WEIGHT: f64 = 1.0;
/// Contractions typed without their apostrophe, as elision and small word (`cest`, `jai`,
/// `quil`): only those that are not also words (`dune`, `lune`, `don`, `mai` are).
const CONTRACTIONS: &[(&str, &[&str])] = &[
    ("c", &["est", "etait"]),
    ("j", &["ai", "en", "y"]),
    ("n", &["est", "ai", "en", "y"]),
    ("s", &["il", "ils", "est", "en"]),
    (
        "qu",
        &["il", "ils", "elle", "elles", "on", "un", "une", "en"],
    ),
];
/// The shortest word two neighbours of a message are read as (`videoprojecteur`): shorter
/// ones are too often two words of their own (`en fin`, `pour tant`).
const MIN_COMPOUND_CHARS: usize = 8;
/// The shortest singular (`affiche` of `affichent`) read for a plural verb the base does not
/// know: shorter rests (`clie` of `client`, `pare` of `parent`) are too often other words.
const PLURAL_VERB_MIN_SINGULAR: usize = 5;

/// The fewest meaningful words beside courtesy (`bonjour`, `cordialement`) for the
/// courtesy to be left out of a message's unknown share.
const MIN_WORDS_BESIDE_COURTESY: usize = 2;

/// How much a text's length lowers the weight of its words (BM25's `b`: 0 not at all, 1 in
/// proportion to the length).
pub(super) const LENGTH_NORMALISATION: f64 = 0.75;
/// A negative keyword vetoes its response: it outweighs any realistic positive total.
pub(super) const NEGATIVE_WEIGHT: f64 = 3.0;

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
    /// Found only through words of its text in a base that did not turn content search on:
    /// the author named the response by its keywords, and a word its text happens to hold
    /// (`cantine` in a page about something else) is the weakest evidence there is.
    pub implicit: bool,
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
        implicit: false,
    };
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

/// The message as [`GuichetIndex::score`] and [`GuichetIndex::score_all`] see it.
pub(super) struct Message {
    pub(super) words: Vec<Word>,
    /// For each word, whether it only wraps the message in courtesy (see
    /// [`crate::engine::lexicon::Lexicon::courtesy`]).
    courtesy: Vec<bool>,
    meaningful: Vec<usize>,
    /// How many words are meaningful: what coverage divides by.
    total_weight: f64,
    rarity: Vec<f64>,
    total_rarity: f64,
    /// For each word, the other words it is read as, with the best evidence each can give:
    /// those that mean the same (see [`crate::engine::lexicon::Lexicon`]) as the word itself,
    /// a relative of another stem (`connecter` for `connexion`) as a stem at most, so that a
    /// word written as the message writes it wins between two otherwise equal.
    alternatives: Vec<Vec<(Word, Evidence)>>,
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
                    .chain(message.alternatives[at].iter().map(|(word, _)| word))
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

    /// The meaningful words of `name` (a label) that the message word `word` names as a
    /// keyword would: the same word or stem, or a word of its synonym line (`prof` for
    /// `professeur`). Typos aside: who one is is stated, not guessed.
    pub fn names(&self, word: &str, name: &str) -> bool {
        let word = Word::new(normalize(word), &self.stemmer);
        let same = self.lexicon.same(&word.text);
        words(&normalize(name))
            .into_iter()
            .filter(|w| is_meaningful(w))
            .any(|w| {
                same.contains(&w)
                    || word_match(&Word::new(w, &self.stemmer), &word, false)
                        .is_some_and(Evidence::is_exact)
            })
    }

    /// Whether a message only names the bot (`chirobot`, `@chirobot ?`): its meaningful
    /// words, one at least, are all words of the bot's name.
    pub fn only_names_the_bot(&self, text: &str) -> bool {
        let words = words(&normalize(bounded(text)));
        let mut meaningful = words.iter().filter(|w| is_meaningful(w)).peekable();
        meaningful.peek().is_some() && meaningful.all(|w| self.bot_name.contains(w))
    }

    /// How many meaningful words a message holds (see [`GuichetIndex::unknown_share`]).
    pub fn meaningful_words(&self, text: &str) -> usize {
        self.message(text).meaningful.len()
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
        let mut found = Vec::new();
        // Courtesy is left out around a question of its own; one word beside it is more
        // likely small talk too (`merci, c'était très clair`).
        let mut said: Vec<usize> = message
            .meaningful
            .iter()
            .copied()
            .filter(|&i| !message.courtesy[i])
            .collect();
        if said.len() < MIN_WORDS_BESIDE_COURTESY {
            said.clone_from(&message.meaningful);
        }
        let unknown = said
            .iter()
            .filter(|&&i| !self.known_at(message, table, i, &mut found))
            .count();
        unknown as f64 / said.len() as f64
    }

    /// Whether the base uses message word `i` in any form: the word or a synonym as it is or
    /// by its stem, or as a match that vouches for it (`Vocabulary::vouches`). `table`,
    /// when the message was already matched, holds those matches; `found` is scratch space.
    fn known_at(
        &self,
        message: &Message,
        table: Option<&[MatchRow]>,
        i: usize,
        found: &mut Vec<(u32, [Option<Evidence>; 2])>,
    ) -> bool {
        let others = message.alternatives[i].iter().map(|(word, _)| word);
        let mut forms = std::iter::once(&message.words[i]).chain(others);
        if forms.clone().any(|word| self.knows(word)) {
            return true;
        }
        let vocabulary = &self.vocabulary;
        // A table row already holds the matches of the word and of its synonyms.
        match table {
            Some(table) => table
                .get(i)
                .is_some_and(|row| row.iter().any(|(id, e)| vocabulary.vouches(*id, e))),
            None => forms.any(|word| {
                found.clear();
                vocabulary.matches(word, found);
                found.iter().any(|(id, e)| vocabulary.vouches(*id, e))
            }),
        }
    }

    /// Whether a word the base uses is followed by `de`, `du` or `d'`, maybe an article, and a
    /// noun the base never uses, nor the word after it: `les horaires de la mairie`, `le mot
    /// de passe de ma boîte gmail`. The base's word is then said of something else. (`des` is
    /// more often "some" than "of the", as in `visiter des monuments`; `à`, `au`, `aux` lead
    /// elsewhere without changing the topic: `une sortie au théâtre` is a school outing.)
    pub fn qualified_by_unknown(&self, text: &str) -> bool {
        self.qualified_in(&self.message(text), None)
    }

    /// [`GuichetIndex::qualified_by_unknown`] of a prepared message (`table` as for
    /// [`GuichetIndex::unknown_in`]).
    fn qualified_in(&self, message: &Message, table: Option<&[MatchRow]>) -> bool {
        const OF: &[&str] = &["de", "du", "d"];
        const ARTICLES: &[&str] = &[
            "la", "l", "le", "les", "ma", "mon", "mes", "ta", "ton", "tes", "sa", "son", "ses",
            "notre", "nos", "votre", "vos", "leur", "leurs", "un", "une", "cette", "ce", "cet",
        ];
        let words = &message.words;
        let mut found = Vec::new();
        let mut known = |i: usize| self.known_at(message, table, i, &mut found);
        (1..words.len()).any(|i| {
            if !OF.contains(&words[i].text.as_str())
                || !is_meaningful(&words[i - 1].text)
                || !known(i - 1)
            {
                return false;
            }
            let mut j = i + 1;
            while j < words.len() && ARTICLES.contains(&words[j].text.as_str()) {
                j += 1;
            }
            // The noun and the word after it, when that one is meaningful too: in `le bulletin
            // du premier trimestre` the base knows `trimestre`.
            let phrase: Vec<usize> = (j..words.len().min(j + 3))
                .filter(|&k| is_meaningful(&words[k].text))
                .take(2)
                .collect();
            j < words.len() && is_meaningful(&words[j].text) && phrase.iter().all(|&k| !known(k))
        })
    }

    /// Whether the base uses `word`, as it is or by its stem.
    pub(super) fn knows(&self, word: &Word) -> bool {
        self.known.contains(&key(0, word.chars.iter().copied()))
            || self.known.contains(&key(1, word.stem.chars()))
    }

    /// `word`, or its elision and the word after when the apostrophe was not typed
    /// (`lexport`, `narrive`, `cest`, `quil`): only for a word the base does not know whose
    /// rest, starting with a vowel or `h` as an elided word must, is a word the base knows or
    /// is one of the [`CONTRACTIONS`]. A word the base knows (`dossier`, `lecture`) is never
    /// cut.
    fn unelided(&self, word: Word) -> Vec<Word> {
        let cut = match word.text.as_bytes() {
            [b'q', b'u', ..] => 2,
            [b'c' | b'd' | b'j' | b'l' | b'm' | b'n' | b's' | b't', ..] => 1,
            _ => return vec![word],
        };
        let (elision, rest) = word.text.split_at(cut);
        let contraction = CONTRACTIONS
            .iter()
            .any(|(e, small)| *e == elision && small.contains(&rest));
        let elidable = (contraction || rest.len() >= 2)
            && rest.starts_with(['a', 'e', 'i', 'o', 'u', 'y', 'h'])
            && is_meaningful(&word.text)
            && !self.knows(&word);
        if !elidable {
            return vec![word];
        }
        let rest = Word::new(rest.to_owned(), &self.stemmer);
        if contraction || (is_meaningful(&rest.text) && self.knows(&rest)) {
            let elision = Word::new(elision.to_owned(), &self.stemmer);
            return vec![elision, rest];
        }
        vec![word]
    }

    /// The same verb in the singular, when `word` may be a third person plural
    /// (`affichent`, `chassent`) and the singular's stem is one the base uses (`affiche`,
    /// `afficher`): the stemmer leaves `-ent` alone because of nouns and adverbs (`moment`,
    /// `element`), so the plural is matched as itself and as its singular.
    fn singular_verb(&self, word: &Word) -> Option<Word> {
        let singular = word.text.strip_suffix("nt")?;
        if !singular.ends_with('e')
            || singular.len() < PLURAL_VERB_MIN_SINGULAR
            || !is_meaningful(&word.text)
        {
            return None;
        }
        let singular = Word::new(singular.to_owned(), &self.stemmer);
        (singular.stem != word.stem && self.knows(&singular)).then_some(singular)
    }

    /// `words` with two neighbours typed apart that the base writes as one word of a keyword,
    /// title or name (`vidéo projecteur` for `vidéoprojecteur`, `week end`) read as that
    /// word. Only long words (see [`MIN_COMPOUND_CHARS`]): `en fin` is not `enfin`.
    fn compounds(&self, words: Vec<Word>) -> Vec<Word> {
        let mut out: Vec<Word> = Vec::with_capacity(words.len());
        let mut words = words.into_iter().peekable();
        while let Some(word) = words.next() {
            if let Some(next) = words.peek() {
                let joined = format!("{}{}", word.text, next.text);
                // As written: the stemmer on every pair of a message would cost more than
                // the rule is worth, and the base's compound is one word as it wrote it.
                if joined.chars().count() >= MIN_COMPOUND_CHARS
                    && word.text.chars().all(char::is_alphabetic)
                    && next.text.chars().all(char::is_alphabetic)
                    && self.vocabulary.names_written(&joined)
                {
                    out.push(Word::new(joined, &self.stemmer));
                    words.next();
                    continue;
                }
            }
            out.push(word);
        }
        out
    }

    /// The other member of `word`'s family of noun and verb that the base uses, where the
    /// stemmer splits them (`affichage`, `afficher`; see `derivation.rs`). For a word the
    /// base uses itself, only a relative that names a response (a keyword, title or label
    /// word) counts: a base that says `connexion` in a text already answers `connexion`, and
    /// a text saying `connecter` elsewhere would only compete with it; the keyword
    /// `identification` is the author's name for what `identifier` asks.
    fn relatives(&self, word: &Word) -> Vec<Word> {
        if !is_meaningful(&word.text) {
            return Vec::new();
        }
        let known = self.knows(word);
        derivation::relatives(&word.text)
            .into_iter()
            .map(|relative| Word::new(relative, &self.stemmer))
            .filter(|relative| {
                let used = if known {
                    self.vocabulary.names(relative)
                } else {
                    self.knows(relative)
                };
                relative.stem != word.stem && used
            })
            .collect()
    }

    pub(super) fn message(&self, text: &str) -> Message {
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
            .flat_map(|w| self.unelided(w))
            .collect();
        let mut words = self.compounds(words);
        // The bot addressed by its name (`chirobot, c'est quoi le sonar ?`) is not what the
        // message is about, unless the name is all it says: it is read past, so that no
        // keyword is found in it either.
        let named = |w: &Word| self.bot_name.contains(&w.text);
        if words.iter().any(|w| !named(w) && is_meaningful(&w.text)) {
            words.retain(|w| !named(w));
        }
        let alternatives: Vec<Vec<(Word, Evidence)>> = words
            .iter()
            .map(|w| {
                self.lexicon
                    .same(&w.text)
                    .iter()
                    .map(|other| Word::new(other.clone(), &self.stemmer))
                    .chain(self.singular_verb(w))
                    .map(|other| (other, Evidence::Exact))
                    .chain(self.relatives(w).into_iter().map(|r| (r, Evidence::Stem)))
                    .collect()
            })
            .collect();
        let meaningful: Vec<usize> = (0..words.len())
            .filter(|&i| is_meaningful(&words[i].text))
            .collect();
        // Courtesy around a question (`bonjour à tous`, `merci d'avance`, `cordialement` and
        // a signature) says nothing of what it is about: a base never using its words does
        // not make the message off-topic. They still count in what a response must explain,
        // so that small talk alone (`merci, c'était très clair`) stays small talk.
        let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        let courtesy = self.lexicon.courtesy(&texts);
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
                    .chain(others.iter().map(|(other, _)| other))
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
            courtesy,
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
        if message.meaningful.is_empty() {
            return Scored::NOTHING;
        }
        let mut scored = Scored::NOTHING;
        let mut covered = Covered::new(message.words.len());
        let mut named = Covered::new(message.words.len());
        let mut explicit = false;
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
            explicit |= !phrase.implicit;
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
        scored.implicit = scored.evidence.is_some() && !explicit;
        scored
    }

    /// Scores every response for a message, trying every phrase of every response: the
    /// straightforward reference for [`GuichetIndex::score`]. A message made only of stop
    /// words scores nothing anywhere.
    pub fn score_all(&self, text: &str) -> Vec<Scored> {
        let message = self.message(text);
        let words = &self.vocabulary.words;
        let matches = |id: u32, at: usize, last: bool| {
            std::iter::once((&message.words[at], Evidence::Exact))
                .chain(message.alternatives[at].iter().map(|(w, best)| (w, *best)))
                .filter_map(|(word, best)| {
                    word_match(&words[id as usize], word, last).map(|e| e.min(best))
                })
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
                        implicit: false,
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
            for (other, best) in others {
                let from = found.len();
                self.vocabulary.matches(other, &mut found);
                for (_, evidence) in &mut found[from..] {
                    *evidence = evidence.map(|e| e.map(|e| e.min(*best)));
                }
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
                if !kind.has(StartKind::PHRASE) {
                    // Known exactly: whether it occurs, how, and where.
                    let Some((evidence, start_at)) = alone else {
                        continue;
                    };
                    candidate.most += start.most * strength(evidence);
                    candidate.terms += u32::from(start.most > 0.0);
                    candidate.keyword |= kind.has(StartKind::KEYWORD) && evidence.is_exact();
                    candidate.about |= kind.has(StartKind::TITLE) && evidence.is_exact();
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
                    candidate.keyword |= kind.has(StartKind::KEYWORD);
                    candidate.about |= kind.has(StartKind::TITLE);
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
    /// The most its phrases can add: [`super::index::Start::most`], times the strength for a
    /// one-word phrase (whose match is known). No score of it can be higher.
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
pub(super) fn strength(evidence: Evidence) -> f64 {
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

    /// [`GuichetIndex::qualified_by_unknown`], from the matching already done for the ranking.
    pub fn qualified_by_unknown(&self) -> bool {
        self.matched
            .as_ref()
            .is_some_and(|m| self.index.qualified_in(&m.message, Some(&m.table)))
    }

    /// How many meaningful words the message holds (see [`GuichetIndex::meaningful_words`]),
    /// from the message already read for the ranking.
    pub fn meaningful_words(&self) -> usize {
        self.matched
            .as_ref()
            .map_or(0, |m| m.message.meaningful.len())
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
