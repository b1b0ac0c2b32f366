//! guichet's own matching (`matching = "guichet"`), for people typing in a chat: robust
//! normalisation, keywords matched at word starts, typo tolerance on whole words with a
//! French stemmer, and a measure of the evidence behind each candidate so the engine can
//! answer, ask "did you mean…?", or admit it does not know.
//!
//! It keeps what ChatMD authors rely on: keywords (negative ones too), titles and title
//! words. Only *how* they are found in a message changes.

use std::collections::HashSet;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;

/// A keyword token this long or longer also matches words it starts (`certif` finds
/// `certification`); shorter ones must be whole words, or `art` would find `partir` and
/// `prof` would find `profil`.
const MIN_PREFIX_LENGTH: usize = 5;

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

/// Whether coverage weighs words by rarity (see `score_all`).
const COVERAGE_BY_RARITY: bool = false;

/// Weight of a keyword found exactly (whole word, word-start prefix or same stem).
const EXACT_WEIGHT: f64 = 1.0;
/// Weight of a keyword found only through typos: evidence, but weaker.
const FUZZY_WEIGHT: f64 = 0.6;
/// Title words count less than keywords the author chose.
const TITLE_WORD_WEIGHT: f64 = 0.5;
/// The whole title found in a message names the response: it counts double, as in ChatMD
/// (where the title is tested as a keyword and, for one word, again as a title word).
const TITLE_WEIGHT: f64 = 2.0;
/// A word of the response's text (`rechercheContenu`): ranks, never answers alone.
const CONTENT_WEIGHT: f64 = 0.3;
/// A negative keyword vetoes its response: it outweighs any realistic positive total.
const NEGATIVE_WEIGHT: f64 = 3.0;

/// Words that say nothing about the topic: never title-word keywords, never evidence alone.
const STOP_WORDS: &[&str] = &[
    "a", "au", "aux", "avec", "c", "ca", "ce", "ces", "cette", "comment", "dans", "de", "des",
    "du", "d", "elle", "elles", "en", "est", "et", "faire", "il", "ils", "j", "je", "l", "la",
    "le", "les", "leur", "leurs", "m", "ma", "mais", "me", "mes", "moi", "mon", "n", "ne", "nos",
    "notre", "nous", "on", "ou", "par", "pas", "peut", "pour", "pourquoi", "qu", "quand", "que",
    "quel", "quelle", "quelles", "quels", "qui", "quoi", "s", "sa", "se", "ses", "si", "son",
    "sont", "sur", "t", "ta", "te", "tes", "toi", "ton", "tu", "un", "une", "vos", "votre", "vous",
    "y", "est-ce", "dois", "doit", "faut", "veux", "voudrais", "suis", "sais", "savoir", "bien",
    "tout", "tous", "toutes", "plus", "tres", "fait", "ai", "as", "avez", "etes", "es", "sommes",
    "etait", "ete", "ont", "avons", "sera", "serait",
    // English, for English knowledge bases.
    "the", "an", "is", "are", "am", "i", "i'm", "im", "my", "me", "of", "to", "in", "on", "at",
    "it", "its", "not", "do", "does", "how", "what", "can", "you", "your", "we", "and", "or",
    "for", "with", "be", "this", "that", "there", "get",
];

/// Lower case, accents and other marks removed (Unicode NFKD), `œ`/`æ` expanded,
/// typographic apostrophes, quotes and dashes folded, punctuation ignored, whitespace
/// collapsed.
pub fn normalize(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
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
            // Everything else (punctuation, quotes, dashes, symbols, spaces) separates words.
            _ => folded.push(' '),
        }
    }
    let mut out = String::with_capacity(folded.len());
    for word in folded
        .split(|c: char| c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Words of a normalised text; elisions are split off (`l'ecole` → `l`, `ecole`), and
/// French ordinals are written one way (`6eme`, `6ème`, `6e` → `6e`): school levels are
/// written all three ways.
pub fn words(normalised: &str) -> Vec<String> {
    normalised
        .split([' ', '\''])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let digits = w.chars().take_while(char::is_ascii_digit).count();
            match &w[digits..] {
                "e" | "eme" | "em" | "ieme" | "er" | "ere" if digits > 0 => {
                    format!("{}e", &w[..digits])
                }
                _ => w.to_string(),
            }
        })
        .collect()
}

/// A word that can carry meaning: not a stop word, and not a bare number (room numbers,
/// dates) that no keyword explains.
fn is_meaningful(word: &str) -> bool {
    !is_stop_word(word) && word.chars().any(char::is_alphabetic)
}

fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.contains(&word)
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
    /// Whole words, a word-start prefix, or the same stem.
    Exact,
}

/// A keyword phrase, normalised into words.
#[derive(Debug, Clone)]
struct Phrase {
    words: Vec<Word>,
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
}

/// Edit distance on chars, giving up past `budget` (returns `budget + 1`).
fn bounded_distance(a: &[char], b: &[char], budget: usize) -> usize {
    if a.len().abs_diff(b.len()) > budget {
        return budget + 1;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
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
        return Some(Evidence::Exact);
    }
    // People abbreviate (`rando` for `randonnée`, `certif`): evidence, but it may stand for
    // several words, so only a weak one.
    if word.chars.len() >= MIN_PREFIX_LENGTH && keyword.text.starts_with(&word.text) {
        return Some(Evidence::Fuzzy);
    }
    let budget = typo_budget(keyword.chars.len().min(word.chars.len()));
    if budget > 0 && bounded_distance(&keyword.chars, &word.chars, budget) <= budget {
        return Some(Evidence::Fuzzy);
    }
    None
}

impl Phrase {
    /// The best way this phrase occurs in the message (consecutive words), and where.
    fn find(&self, message: &[Word]) -> Option<(Evidence, usize)> {
        let n = self.words.len();
        if n == 0 || message.len() < n {
            return None;
        }
        let mut best: Option<(Evidence, usize)> = None;
        for start in 0..=message.len() - n {
            let mut evidence = Evidence::Exact;
            let mut ok = true;
            for (i, keyword) in self.words.iter().enumerate() {
                match word_match(keyword, &message[start + i], i + 1 == n) {
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
    /// Whether an author's keyword or the full title was found (not only title words).
    pub keyword: bool,
    /// Whether the title (or one of its words) was found: the response is *about* what the
    /// message says, not just tagged with one of its words.
    pub about: bool,
}

/// Everything guichet matching prepares once per knowledge base.
pub struct GuichetIndex {
    stemmer: Stemmer,
    responses: Vec<GuichetResponse>,
    /// Rarity of each stem found in the base's keywords and titles.
    rarity: std::collections::HashMap<String, f64>,
    /// The rarity of a word the base never uses: the highest there is.
    unknown_rarity: f64,
}

impl std::fmt::Debug for GuichetIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuichetIndex")
            .field("responses", &self.responses.len())
            .finish_non_exhaustive()
    }
}

impl GuichetIndex {
    /// Prepares responses given as (title, keywords as written, text for content search —
    /// empty unless `rechercheContenu` is on).
    pub fn new<'a>(responses: impl IntoIterator<Item = (&'a str, Vec<&'a str>, String)>) -> Self {
        let stemmer = Stemmer::create(Algorithm::French);
        let mut responses: Vec<GuichetResponse> = responses
            .into_iter()
            .map(|(title, keywords, content)| {
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
                    phrases.extend(phrase(text, weight, negative, true, &stemmer));
                }
                phrases.extend(phrase(title, TITLE_WEIGHT, false, true, &stemmer).map(|p| {
                    Phrase {
                        from_title: true,
                        ..p
                    }
                }));
                let mut seen = HashSet::new();
                for word in words(&normalize(title)) {
                    if word.chars().count() > 4 && is_meaningful(&word) && seen.insert(word.clone())
                    {
                        // Many bases rely on titles only: there, title words are the keywords.
                        phrases.extend(
                            phrase(&word, TITLE_WORD_WEIGHT, false, !has_keywords, &stemmer).map(
                                |p| Phrase {
                                    from_title: true,
                                    ..p
                                },
                            ),
                        );
                    }
                }
                for word in words(&normalize(&content)) {
                    if word.chars().count() >= 5
                        && is_meaningful(&word)
                        && seen.insert(word.clone())
                    {
                        phrases.extend(
                            phrase(&word, CONTENT_WEIGHT, false, false, &stemmer)
                                .map(|p| Phrase { content: true, ..p }),
                        );
                    }
                }
                GuichetResponse { phrases }
            })
            .collect();
        // Rarity (inverse document frequency) of each stem among responses: a word found in
        // one response's keywords says more than one found in twenty.
        let total = responses.len().max(1) as f64;
        let mut frequency: std::collections::HashMap<String, usize> =
            std::collections::HashMap::new();
        for response in &responses {
            let stems: HashSet<&str> = response
                .phrases
                .iter()
                .filter(|p| !p.negative)
                .flat_map(|p| p.words.iter().map(|w| w.stem.as_str()))
                .collect();
            for stem in stems {
                *frequency.entry(stem.to_string()).or_default() += 1;
            }
        }
        let rarity: std::collections::HashMap<String, f64> = frequency
            .into_iter()
            .map(|(stem, df)| (stem, (1.0 + total / df.max(1) as f64).ln()))
            .collect();
        let unknown_rarity = (1.0 + total).ln();
        for response in &mut responses {
            for phrase in &mut response.phrases {
                phrase.specificity = phrase
                    .words
                    .iter()
                    .filter(|w| is_meaningful(&w.text))
                    .map(|w| {
                        w.chars.len() as f64
                            * rarity.get(&w.stem).copied().unwrap_or(unknown_rarity)
                    })
                    .sum();
            }
        }
        Self {
            stemmer,
            responses,
            rarity,
            unknown_rarity,
        }
    }

    /// Scores every response for a message. A message made only of stop words scores
    /// nothing anywhere.
    pub fn score_all(&self, message: &str) -> Vec<Scored> {
        let message: Vec<Word> = words(&normalize(message))
            .into_iter()
            .map(|w| Word::new(w, &self.stemmer))
            .collect();
        let meaningful: Vec<usize> = (0..message.len())
            .filter(|&i| is_meaningful(&message[i].text))
            .collect();
        // Coverage counts each word by its rarity: an unexplained word common to the whole
        // base (the domain itself, `pix`) matters little; an unexplained word the base never
        // uses (`cantine`, `wifi`) says the message is about something else.
        let weight = |i: usize| {
            if COVERAGE_BY_RARITY {
                self.rarity
                    .get(&message[i].stem)
                    .copied()
                    .unwrap_or(self.unknown_rarity)
            } else {
                1.0
            }
        };
        let total_weight: f64 = meaningful.iter().map(|&i| weight(i)).sum();
        self.responses
            .iter()
            .map(|response| {
                let mut scored = Scored {
                    score: 0.0,
                    evidence: None,
                    coverage: 0.0,
                    keyword: false,
                    about: false,
                };
                if meaningful.is_empty() {
                    return scored;
                }
                let mut covered = vec![false; message.len()];
                for phrase in &response.phrases {
                    let Some((found, start)) = phrase.find(&message) else {
                        continue;
                    };
                    let strength = match found {
                        Evidence::Exact => 1.0,
                        Evidence::Fuzzy => FUZZY_WEIGHT,
                        Evidence::Content => 1.0,
                    };
                    let found = if phrase.content {
                        Evidence::Content
                    } else {
                        found
                    };
                    let value = phrase.weight * strength * phrase.specificity;
                    if phrase.negative {
                        scored.score -= value;
                        continue;
                    }
                    scored.score += value;
                    scored.evidence = scored.evidence.max(Some(found));
                    scored.keyword |= phrase.keyword && found == Evidence::Exact;
                    scored.about |= phrase.from_title && found == Evidence::Exact;
                    for flag in covered.iter_mut().skip(start).take(phrase.words.len()) {
                        *flag = true;
                    }
                }
                let explained: f64 = meaningful
                    .iter()
                    .filter(|&&i| covered[i])
                    .map(|&i| weight(i))
                    .sum();
                scored.coverage = if total_weight > 0.0 {
                    explained / total_weight
                } else {
                    0.0
                };
                scored
            })
            .collect()
    }
}

/// A keyword phrase; `None` when it has no meaningful word (only stop words or nothing),
/// since such a keyword would match every message.
fn phrase(
    text: &str,
    weight: f64,
    negative: bool,
    keyword: bool,
    stemmer: &Stemmer,
) -> Option<Phrase> {
    let list = words(&normalize(text));
    if list.is_empty() || !list.iter().any(|w| is_meaningful(w)) {
        return None;
    }
    Some(Phrase {
        words: list.into_iter().map(|w| Word::new(w, stemmer)).collect(),
        from_title: false,
        content: false,
        // Set once every response is known (it depends on word rarity).
        specificity: 0.0,
        weight,
        negative,
        keyword,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn index(entries: &[(&str, &[&str])]) -> GuichetIndex {
        GuichetIndex::new(entries.iter().map(|(t, k)| (*t, k.to_vec(), String::new())))
    }

    fn evidence(index: &GuichetIndex, message: &str) -> Vec<Option<Evidence>> {
        index
            .score_all(message)
            .iter()
            .map(|s| s.evidence)
            .collect()
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
        assert_eq!(evidence(&i, "horaire"), vec![Some(Evidence::Exact), None]);
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
