//! §M7: prepared responses and inputs, the score of a response, and ChatMD's choice.

use std::borrow::Cow;
use std::ops::Range;

use super::content::{ContentVector, TokenSink, VectorBuilder, content_score, tokenize_into};
use super::keywords::{FuzzyReach, KeywordScore, PreparedKeyword, keyword_score_with, title_words};
use super::normalise::normalize;
use super::synonyms::expand_synonyms;
use super::utf16::{split_on_spaces, utf16};
use super::{IDENTITY_BONUS, NEXT_BONUS_THRESHOLD};

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
    pub(super) units: Vec<u16>,
    pub(super) words: Vec<Range<usize>>,
    pub(super) vector: Option<ContentVector>,
}

impl PreparedInput {
    /// Normalises `raw` (§M2), extends it with `synonym_groups` (§M10, from
    /// [`super::prepare_synonym_groups`]; pass none while a `!Next` or `!SelectNext` is being
    /// served) and, with `content_search`, builds its vector (§M6.2).
    pub fn new(raw: &str, synonym_groups: &[Vec<String>], content_search: bool) -> Self {
        let text = expand_synonyms(&normalize(raw), synonym_groups);
        Self::from_normalised(text, content_search)
    }

    pub(super) fn from_normalised(text: String, content_search: bool) -> Self {
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
    pub(super) content_search: bool,
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
/// ChatMD's. Both the straightforward path and [`super::IndexedResponses`] end here.
pub(super) fn combine_scores(
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
pub(super) fn finish_score(
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
pub(super) fn keyword_list_entries<'a>(
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
pub(super) fn list_for_mode<T>(list: &[T], own: usize, mode: ScoreMode) -> &[T] {
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
pub(super) fn next_replaces_input(own_keywords: usize, ignore_keywords: bool) -> bool {
    own_keywords == 0 || ignore_keywords
}

/// §M6.2: the tokens of a response, from `title + " " + lower-case(content lines joined)`,
/// with the title bonus.
pub(super) fn tokenize_response(
    sink: &mut impl TokenSink,
    title: &str,
    content_lines: &[impl AsRef<str>],
) {
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
