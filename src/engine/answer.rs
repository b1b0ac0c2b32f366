//! Deciding the answer in guichet mode (`matching = "guichet"`): the determination half of a
//! typed message, once numbers and shown labels have been handled as clicks.
//!
//! Order: a quiz keeps ChatMD's rules; a number out of range gets the menu again; a label of
//! the last options is a click; then candidates are scored (`guichet/`), those whose text
//! is empty for this user or meant for another audience (`audience.rs`) are set aside, and
//! the evidence — strong or weak, how much of the message it explains, how much of the
//! message the base never uses — decides between answering, asking "did you mean…?",
//! guichet's own small talk and navigation, and the fallback. docs/matching.md explains each
//! step and threshold, with the figures that set it.

use super::conversation::{ChoiceTarget, Conversation, OfferedChoice};
use super::guichet::{self, Evidence, Scored};
use super::hash::FastMap;
use super::{Answer, AnswerPath, BotMessage, Engine, MessageRef, Reply, Rng, Scoring, display};

/// Two candidates both found exactly whose scores are this close (second ÷ first) are both
/// plausible readings of the message: the user chooses rather than guichet guessing.
const CLOSE_RATIO: f64 = 0.9;

/// The largest share of a message's meaningful words that the base may never use, anywhere,
/// for guichet to answer or ask on anything but overwhelming evidence. Off-topic messages
/// are mostly made of words the base never uses (`ma carte vitale`, `la recette des crêpes`);
/// a question on the base's topic in a person's own words far less (see docs/matching.md).
const MAX_UNKNOWN: f64 = 0.2;

/// Real evidence still answers past [`MAX_UNKNOWN`] when it explains this share of the
/// message's words, or this share of them weighed by rarity (the message's specific words
/// are the base's, the unknown ones are the person's own).
const COVERAGE_DESPITE_UNKNOWN: f64 = 0.6;
const RARE_COVERAGE_DESPITE_UNKNOWN: f64 = 0.5;

/// A name found whole through a typo (`test de persistence`) beats an exact keyword whose
/// names (keywords, titles, names: the words of its text aside) explain at least this share
/// of the message less (`test`), even when that keyword's text repeats the name word for word.
const WHOLE_NAME_MARGIN: f64 = 0.25;

/// A response the message names, this many times as relevant as the next one, and explaining
/// this share of the message weighed by rarity, is the answer: the rest of the message is the
/// person's own words around it (`quel détecteur d'ultrasons acheter ?`).
const DOMINANCE: f64 = 3.0;
const DOMINANCE_RARE_COVERAGE: f64 = 0.3;

/// Words of a response's text alone answer when they explain this share of the message and
/// the next response is less than this fraction as relevant.
const TEXT_COVERAGE: f64 = 0.75;
const TEXT_RATIO: f64 = 0.7;

/// A response found only through the words of a text its author did not ask to search
/// answers only when the message holds at least this many meaningful words (and the text
/// explains [`TEXT_COVERAGE`] of them with a clear lead); it is never offered. One word
/// (`cantine`) that a page mentions in passing says nothing of what the page is about.
const IMPLICIT_TEXT_WORDS: usize = 2;

/// Of close candidates, the one whose best name the message holds this share of (weighed by
/// rarity), when no other holds more than `FOCUS_RATIO` of that, is the one meant.
const MIN_FOCUS: f64 = 0.5;
const FOCUS_RATIO: f64 = 0.67;

/// Words that open a follow-up to the page just shown (`et pour les couleurs ?`), as
/// normalised (lower case, no accents).
const FOLLOW_UPS: &[&str] = &["et", "du coup", "et du coup", "mais alors"];

/// How far down the ranking a follow-up's page may be.
const FOLLOW_UP_DEPTH: usize = 20;

/// A message of at most this many meaningful words may name a shown choice by words of its
/// label (`direction`, `vie scolaire`); a longer one is a question of its own.
const MAX_LABEL_WORDS: usize = 2;

/// A response empty for a person without a profile is shown again under at most this many
/// of the welcome's profiles to learn whether one of them would see it: a welcome has a few
/// profiles, and each try displays the response once (a base with thousands would make every
/// message pay for them).
const MAX_PROFILES_TRIED: usize = 16;

/// "Did you mean…?" offers at most this many responses: more is a menu, not a question.
const MAX_SUGGESTIONS: usize = 3;

/// Share of the message (its meaningful words weighted by rarity) that a candidate must
/// explain, strictly more than this, to be answered directly or offered at all. A message
/// about something else (the canteen, a strike, a room) shares at most a word with a response
/// and leaves the rest, often words the base never uses, unexplained.
const MIN_COVERAGE: f64 = 0.5;

/// A message of at least this many meaningful words is long: a teacher explains the
/// context before the question (`plusieurs élèves arrivés en cours d'année n'apparaissent
/// pas… faut-il réimporter ?`), and the share of its words a response explains, or the base
/// never uses, says less than how many of them the response's names explain.
const LONG_MESSAGE_WORDS: usize = 6;
/// In a long message, a response found by an exact keyword or title whose keywords, title
/// and names explain at least this many of its words, and this many times as relevant as the
/// next one, answers. Measured on the corpus (see docs/matching.md): flat from 4 to 6 words,
/// 2 names and a lead of 1.2 to 3; 3 names or 8 words lose the one case it gains.
const LONG_MESSAGE_NAMED_WORDS: f64 = 2.0;
const LONG_MESSAGE_LEAD: f64 = 1.5;

/// A yes or a no with its courtesies is at most this many words (`oui merci beaucoup`).
const MAX_YES_NO_WORDS: usize = 6;

/// Words that may follow a yes or a no without changing it (`oui stp`, `non merci`).
const COURTESIES: &[&str] = &["stp", "svp", "please", "merci", "alors", "bien", "sur"];

/// Words that may follow a greeting or thanks without changing what it is.
const PLEASANTRIES: &[&str] = &[
    "a",
    "et",
    "vous",
    "tous",
    "toi",
    "beaucoup",
    "bcp",
    "bien",
    "encore",
    "tres",
    "c",
    "est",
    "etait",
    "clair",
    "parfait",
    "super",
    "top",
    "cool",
    "vraiment",
    "infiniment",
    "pour",
    "tout",
    "monde",
    "ca",
    "l",
    "aide",
    "la",
    "le",
    "reponse",
    "madame",
    "monsieur",
    "j",
    "ai",
    "une",
    "question",
    "tu",
    "peux",
    "pouvez",
    "m",
    "aider",
    "toi",
    "demain",
    "prochaine",
    "ma",
    "mon",
    "bonne",
    "journee",
    "soiree",
    "chatbot",
    "bot",
    // What a person thanks for: "merci pour votre aide", "merci pour tes explications".
    "votre",
    "vos",
    "ton",
    "ta",
    "tes",
    "les",
    "ces",
    "infos",
    "informations",
    "explications",
    "renseignements",
    "precisions",
    "conseils",
    "reponses",
    // What a person says of the help: "merci, c'est gentil".
    "gentil",
    "sympa",
    "genial",
    "nickel",
];

/// The kinds of small talk guichet answers itself when the base has no answer of its own.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Talk {
    Greeting,
    Thanks,
    Goodbye,
    Ok,
    /// A question about the bot itself (`t'es un robot ?`, `tu sers à quoi ?`).
    Identity,
    /// `ça va ?`
    HowAreYou,
}

impl Talk {
    /// Its phrases in the bot's words (`[strings]`), normalised.
    fn phrases(self, phrases: &Phrases) -> &[String] {
        match self {
            Talk::Greeting => &phrases.greeting,
            Talk::Thanks => &phrases.thanks,
            Talk::Goodbye => &phrases.goodbye,
            Talk::Ok => &phrases.ok,
            Talk::Identity => &phrases.identity,
            Talk::HowAreYou => &phrases.how_are_you,
        }
    }
}

/// The phrase lists of `[strings]` that messages are compared with, normalised once when
/// the engine is made rather than for every message.
#[derive(Debug)]
pub(super) struct Phrases {
    greeting: Vec<String>,
    thanks: Vec<String>,
    goodbye: Vec<String>,
    ok: Vec<String>,
    identity: Vec<String>,
    how_are_you: Vec<String>,
    yes: Vec<String>,
    no: Vec<String>,
    menu: Vec<String>,
    help: Vec<String>,
    profile: Vec<String>,
    back: Vec<String>,
}

impl Phrases {
    pub(super) fn new(strings: &crate::strings::Strings) -> Self {
        let normalised = |list: &[String]| list.iter().map(|p| guichet::normalize(p)).collect();
        Self {
            greeting: normalised(&strings.greeting_words),
            thanks: normalised(&strings.thanks_words),
            goodbye: normalised(&strings.goodbye_words),
            ok: normalised(&strings.ok_words),
            identity: normalised(&strings.identity_words),
            how_are_you: normalised(&strings.how_are_you_words),
            yes: normalised(&strings.yes_words),
            no: normalised(&strings.no_words),
            menu: normalised(&strings.menu_words),
            help: normalised(&strings.help_words),
            profile: normalised(&strings.profile_words),
            back: normalised(&strings.back_words),
        }
    }
}

/// A message of emoji alone that is small talk in a chat: `👍` is "ok", `🙏` is "merci".
fn emoji_small_talk(text: &str) -> Option<Talk> {
    const OK: &[char] = &['👍', '👌', '✅', '🆗', '🙂', '😊'];
    const THANKS: &[char] = &['🙏'];
    // Skin tones and the variation selector ride along with the emoji.
    let emoji: Vec<char> = text
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '\u{fe0f}' | '\u{1f3fb}'..='\u{1f3ff}'))
        .collect();
    if emoji.is_empty() {
        None
    } else if emoji.iter().all(|c| THANKS.contains(c)) {
        Some(Talk::Thanks)
    } else if emoji.iter().all(|c| OK.contains(c) || THANKS.contains(c)) {
        Some(Talk::Ok)
    } else {
        None
    }
}

/// How people say who they are before naming their profile ("je suis prof").
const PROFILE_STATEMENTS: &[&[&str]] = &[
    &["je", "suis"],
    &["suis"],
    &["nous", "sommes"],
    &["en", "tant", "que"],
    &["moi", "c", "est"],
];

/// A profile stated among more words than this, with no question after it that the clause
/// ends before, is not only a profile: it is matched as a question.
const MAX_PROFILE_WORDS: usize = 3;

/// Small words that may be part of a profile's name ("prof de maths", "parent d'élève",
/// "professeur des écoles"); any other ends the profile clause.
const PROFILE_LINKS: &[&str] = &[
    "de", "du", "des", "d", "en", "au", "aux", "a", "la", "le", "les", "l", "un", "une",
];

/// Profiles a stated one is looked for among: a welcome offers a handful, and a base with
/// thousands of choices that set a variable must not cost that much on every message.
const MAX_PROFILES: usize = 32;

/// Meaningful words after the profile clause that make it a question of its own.
const MIN_QUESTION_WORDS: usize = 2;

/// Words that may come before small talk without changing it ("allez, au revoir").
const LEAD_INS: &[&str] = &[
    "allez", "bon", "ok", "eh", "bien", "alors", "et", "oui", "ben", "bah", "re",
];

/// A response whose title names what the message is about may explain less of it: people
/// wrap a topic in words of their own ("je suis référente pix cette année").
const MIN_COVERAGE_WHEN_ABOUT: f64 = 0.25;

/// guichet mode's matching and how it names responses, prepared when that mode is on.
#[derive(Debug)]
pub(super) struct Guichet {
    pub(super) index: guichet::GuichetIndex,
    /// How a "did you mean…?" list shows each response: see [`super::names`].
    pub(super) labels: Vec<String>,
    /// Which responses are for which profile: see [`super::audience`].
    pub(super) audiences: super::audience::Audiences,
    /// Each title normalised without spaces (`au revoir` → `aurevoir`), with its first
    /// response: small talk finds the base's own page by it.
    pub(super) compact_titles: FastMap<String, usize>,
    /// The responses by their page's name, for choices whose target names no response.
    leaves: super::names::Leaves,
    /// Which responses are menus of which: see [`super::menus`].
    menus: super::menus::Menus,
}

impl Guichet {
    pub(super) fn new(kb: &crate::kb::KnowledgeBase) -> Self {
        let names = super::names::Names::for_kb(kb);
        Self {
            index: guichet::GuichetIndex::with_names(kb, &names),
            labels: names.labels,
            audiences: super::audience::Audiences::for_kb(kb),
            compact_titles: {
                let mut titles = FastMap::default();
                for (i, response) in kb.responses.iter().enumerate() {
                    titles.entry(compact(&response.title)).or_insert(i);
                }
                titles
            },
            leaves: super::names::Leaves::for_kb(kb),
            menus: super::menus::Menus::for_kb(kb),
        }
    }

    /// The response a choice whose target names no response means, if one is clear: see
    /// [`super::names::Leaves`]. The person asked for that page, and a welcome message in its
    /// place would look like the bot lost the thread.
    pub(super) fn dangling(&self, target: &str) -> Option<usize> {
        self.leaves.resolve(target)
    }
}

/// Real evidence: an author's keyword or the whole title found as written (word starts,
/// stems), explaining most of the message.
fn strong(s: &Scored) -> bool {
    s.keyword
        && s.evidence.is_some_and(Evidence::is_exact)
        && (s.named_coverage >= MIN_COVERAGE
            || (s.about && s.named_coverage >= MIN_COVERAGE_WHEN_ABOUT))
}

/// What follows `phrase` when the normalised `typed` starts with it as whole words (`Some`
/// of an empty text when it is all of it). An apostrophe typed as a space (`t es qui`,
/// `d accord`) reads as the phrase.
fn after_phrase(typed: &str, phrase: &str) -> Option<String> {
    let typed = typed.replace('\'', " ");
    let phrase = phrase.replace('\'', " ");
    let rest = typed.strip_prefix(&phrase)?;
    (rest.is_empty() || rest.starts_with(' ')).then(|| rest.trim().to_owned())
}

/// The only item of `items`, if there is exactly one.
fn sole<T>(mut items: impl Iterator<Item = T>) -> Option<T> {
    match (items.next(), items.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// A text normalised, without its spaces.
fn compact(text: &str) -> String {
    guichet::normalize(text).split(' ').collect()
}

/// A message's candidates in ranked order (see [`guichet::Ranking`]), each with its
/// relevance as its score.
enum Ranked<'a> {
    /// Every response scored and sorted at once: the reference.
    Sorted(std::iter::Peekable<std::vec::IntoIter<(usize, Scored)>>),
    /// Scored on demand through the index.
    Lazy(Box<guichet::Ranking<'a>>),
}

impl Ranked<'_> {
    /// The next candidate; with `at_least`, only if it is strong with at least that
    /// relevance (otherwise it stays next).
    fn next_at_least(&mut self, at_least: Option<f64>) -> Option<(usize, Scored)> {
        match (self, at_least) {
            (Ranked::Lazy(ranking), None) => ranking.next(),
            (Ranked::Lazy(ranking), Some(relevance)) => ranking.next_strong_at_least(relevance),
            (Ranked::Sorted(list), at_least) => {
                let (_, next) = list.peek()?;
                if at_least.is_some_and(|relevance| !strong(next) || next.score < relevance) {
                    return None;
                }
                list.next()
            }
        }
    }
}

impl Engine {
    /// The responses a message may be about, scored, in document order: through the index,
    /// or by trying every response (the reference the index is tested against).
    fn guichet_scores(&self, index: &guichet::GuichetIndex, text: &str) -> Vec<(usize, Scored)> {
        match self.scoring() {
            Scoring::Indexed => index.score(text),
            Scoring::Exhaustive => index.score_all(text).into_iter().enumerate().collect(),
        }
    }

    /// The responses a message may be about, in the order the decision weighs them: through
    /// the index, scored as far as they are read, or every response scored and sorted (the
    /// reference the index is tested against).
    fn guichet_ranking<'a>(&self, index: &'a guichet::GuichetIndex, text: &str) -> Ranked<'a> {
        match self.scoring() {
            Scoring::Indexed => Ranked::Lazy(Box::new(index.rank(text, strong))),
            Scoring::Exhaustive => {
                let mut ranked: Vec<(usize, Scored)> = index
                    .score_all(text)
                    .into_iter()
                    .enumerate()
                    .filter(|(_, s)| s.score > 0.0 && s.evidence.is_some())
                    .collect();
                // Relevance is how strongly a response matches times how much of the
                // message it explains: a menu tagged with the topic's main word matches
                // strongly but explains less than the answer it leads to.
                for (_, scored) in &mut ranked {
                    scored.score *= scored.coverage;
                }
                ranked.retain(|(_, s)| s.score > 0.0);
                // Real evidence outranks any amount of weak evidence (typos,
                // abbreviations, text); then relevance; ties keep document order.
                ranked.sort_by(|a, b| {
                    strong(&b.1)
                        .cmp(&strong(&a.1))
                        .then(b.1.score.total_cmp(&a.1.score))
                });
                Ranked::Sorted(ranked.into_iter().peekable())
            }
        }
    }

    pub(super) fn typed_guichet(
        &self,
        conversation: &mut Conversation,
        input: &str,
        rng: &mut Rng,
    ) -> Reply {
        // Quizzes (`!Next`) are the author's explicit rules: whole words, retries, skip.
        if conversation.next.is_some() {
            return self.typed_chatmd(conversation, input, rng);
        }
        // `merciii`, `okkk`: a stretched word is the word.
        let unstretched = guichet::unstretched(input);
        let input: &str = &unstretched;
        // `a+` (à plus): a goodbye whose `+` normalising would drop; and a reply that is only
        // a thumbs-up or folded hands, which normalise to nothing.
        let trimmed = input.trim().trim_end_matches(['!', '.', ' ']);
        let sign = match trimmed.strip_suffix('+').map(str::trim_end) {
            Some("a" | "A" | "à" | "À" | "@") => Some(Talk::Goodbye),
            _ => emoji_small_talk(trimmed),
        };
        // Read as the first phrase of its kind in the bot's words (`[strings]`).
        let input = sign
            .and_then(|talk| talk.phrases(&self.phrases).first())
            .map_or(input, String::as_str);
        let normalised = guichet::normalize(input);

        let number = super::menu_number(input);
        if !number.is_empty() && number.len() <= 3 && number.bytes().all(|b| b.is_ascii_digit()) {
            return self.number_out_of_range(conversation, &number, rng);
        }
        // A label of ChatMD's last options, typed as it reads (case, accents, apostrophes and
        // punctuation aside), is a click.
        if let Some(choice) = conversation
            .last_options
            .iter()
            .find(|o| {
                guichet::normalize(&o.label) == normalised
                    || guichet::normalize(&o.raw_label) == normalised
            })
            .cloned()
        {
            return self.click(conversation, &choice, rng);
        }

        // A yes or a no typed as people do (`ouais`, `vas-y`, `non merci`) after a question
        // whose choices say yes and no is a click on the one it means.
        if let Some(choice) = self.yes_or_no(conversation, &normalised) {
            return self.click(conversation, &choice, rng);
        }

        let Some(guichet) = &self.guichet else {
            return self.typed_chatmd(conversation, input, rng);
        };
        // "je suis prof de maths": the welcome's profile choice, as a click on it would. With a
        // question after it, the profile is set and the question is what is matched.
        let stated = self.stated_profile(&guichet.index, &normalised);
        let question = match stated {
            Some((choice, None)) => return self.follow(conversation, &choice, rng),
            Some((choice, Some(question))) => {
                if let Some((name, value)) = &choice.assignment {
                    display::perform_assignment(conversation, name, value, rng);
                }
                Some(question)
            }
            None => None,
        };
        let input = question.as_deref().unwrap_or(input);
        let mut ranked = self.guichet_ranking(&guichet.index, input);

        // Role-aware choice: a response whose text is empty for this user is never chosen,
        // unless a profile not chosen yet would show it (the answer then asks for it first).
        // `visible` holds the first of the others, in ranked order, read as far as needed.
        let first = self.next_visible(conversation, &mut ranked, None);
        let mut visible: Vec<(usize, Scored)> = first.into_iter().collect();

        let unknown = match &ranked {
            Ranked::Lazy(ranking) => ranking.unknown_share(),
            Ranked::Sorted(_) => guichet.index.unknown_share(input),
        };
        let meaningful_words = |ranked: &Ranked<'_>| match ranked {
            Ranked::Lazy(ranking) => ranking.meaningful_words(),
            Ranked::Sorted(_) => guichet.index.meaningful_words(input),
        };
        // `les horaires de la mairie`: the base's word said of something it never mentions
        // answers only when the rest of the message is the base's too. The reference path
        // reads the message again, so only when it decides.
        let matched_qualified = match &ranked {
            Ranked::Lazy(ranking) => Some(ranking.qualified_by_unknown()),
            Ranked::Sorted(_) => None,
        };
        let qualified =
            || matched_qualified.unwrap_or_else(|| guichet.index.qualified_by_unknown(input));
        if let Some(&(_, best)) = visible.first()
            && strong(&best)
            && (unknown <= MAX_UNKNOWN
                || ((best.coverage >= COVERAGE_DESPITE_UNKNOWN
                    || best.rare_coverage >= RARE_COVERAGE_DESPITE_UNKNOWN)
                    && !qualified()))
        {
            // Its close rivals: the next ones, as strong and within `CLOSE_RATIO` of it.
            let mut close = vec![visible[0]];
            while close.len() < MAX_SUGGESTIONS {
                let at_least = Some(best.score * CLOSE_RATIO);
                let Some(rival) = self.next_visible(conversation, &mut ranked, at_least) else {
                    break;
                };
                visible.push(rival);
                close.push(rival);
            }
            // Of close candidates, the one the message names (its title or a name) is the
            // specific answer; the others only share its words.
            if close.len() > 1 {
                let about: Vec<(usize, Scored)> =
                    close.iter().copied().filter(|(_, s)| s.about).collect();
                if about.len() == 1 {
                    close = about;
                }
            }
            // Of those, the one whose whole title or name the message holds.
            if close.len() > 1 {
                let whole: Vec<(usize, Scored)> = close
                    .iter()
                    .copied()
                    .filter(|(_, s)| s.whole_name)
                    .collect();
                if whole.len() == 1 {
                    close = whole;
                }
            }
            // Of those, the one whose name the message holds far more of.
            if close.len() > 1 {
                let focus: Vec<f64> = close
                    .iter()
                    .map(|&(i, _)| guichet.index.focus(input, i))
                    .collect();
                let (top, &best_focus) = focus
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .unwrap_or((0, &0.0));
                if best_focus >= MIN_FOCUS
                    && focus
                        .iter()
                        .enumerate()
                        .all(|(i, &f)| i == top || f <= FOCUS_RATIO * best_focus)
                {
                    close = vec![close[top]];
                }
            }
            Self::drop_menus_of(&guichet.menus, &mut close);
            // A name found whole through a typo (`test de persistence`) says more than an
            // exact keyword that explains part of the message (`test`).
            while visible.len() < close.len() + MAX_SUGGESTIONS {
                let Some(next) = self.next_visible(conversation, &mut ranked, None) else {
                    break;
                };
                visible.push(next);
            }
            if let Some(&(index, better)) = visible.iter().find(|(_, s)| {
                !strong(s)
                    && (s.named || s.about)
                    && s.named_coverage >= best.named_coverage + WHOLE_NAME_MARGIN
                    && s.rare_coverage >= best.rare_coverage
            }) {
                return self.answer_with(conversation, index, better.score, rng);
            }
            // A menu gives way to a page it leads to that explains more of the message, as
            // much of it by names: the person asked that page's question.
            if let [(menu, found)] = close.as_slice()
                && let Some(&(index, page)) = visible.iter().find(|&&(i, s)| {
                    guichet.menus.offers(*menu, i)
                        && s.coverage > found.coverage
                        && s.named_coverage >= found.named_coverage
                        && s.evidence.is_some_and(Evidence::is_exact)
                })
            {
                return self.answer_with(conversation, index, page.score, rng);
            }
            if let [(only, scored)] = close.as_slice() {
                return self.answer_with(conversation, *only, scored.score, rng);
            }
            if !close.is_empty() {
                return self.suggest(conversation, &guichet.labels, &close, best.score, rng);
            }
        }
        if let Some(reply) = self.builtin(conversation, &normalised, rng) {
            return reply;
        }
        // A follow-up (`et ça coûte combien ?`) is about the page just shown or one it leads
        // to: of those, one the message finds something of is the answer.
        if let Some(context) = self.follow_up_context(conversation, &normalised) {
            while visible.len() < FOLLOW_UP_DEPTH {
                let Some(next) = self.next_visible(conversation, &mut ranked, None) else {
                    break;
                };
                visible.push(next);
            }
            let in_context = visible.iter().filter(|(i, s)| {
                context.contains(i) && s.score > 0.0 && s.coverage >= MIN_COVERAGE
            });
            if let Some(&(index, scored)) = sole(in_context) {
                return self.answer_with(conversation, index, scored.score, rng);
            }
        }
        // Weaker evidence: a name found through a typo, or words of the text only.
        while visible.len() <= MAX_SUGGESTIONS + 1 {
            let Some(next) = self.next_visible(conversation, &mut ranked, None) else {
                break;
            };
            visible.push(next);
        }
        if let Some(&(best_index, best)) = visible.first() {
            // A long message names its answer among words of the person's own: what counts
            // is how many of its words the best response's names explain, and its lead.
            let words = meaningful_words(&ranked);
            let second = visible.get(1).map_or(0.0, |(_, s)| s.score);
            if words >= LONG_MESSAGE_WORDS
                && best.keyword
                && best.evidence.is_some_and(Evidence::is_exact)
                && (best.named_coverage * words as f64).round() >= LONG_MESSAGE_NAMED_WORDS
                && best.score >= LONG_MESSAGE_LEAD * second
            {
                return self.answer_with(conversation, best_index, best.score, rng);
            }
            // A name found (through a typo, a title word) against the best other name: words
            // of the texts do not compete with a name.
            if let Some(&(index, named)) = visible.iter().find(|(_, s)| s.named) {
                let rival = visible
                    .iter()
                    .filter(|(i, s)| *i != index && s.named)
                    .map(|(_, s)| s.score)
                    .fold(0.0, f64::max);
                if named.coverage >= MIN_COVERAGE
                    && named.coverage >= best.coverage
                    && unknown <= MAX_UNKNOWN
                    && rival < named.score
                {
                    return self.answer_with(conversation, index, named.score, rng);
                }
            }
            // One response the message names stands far above every other: the rest of the
            // message is the person's own words around it.
            if (best.named || best.about)
                && second > 0.0
                && best.score >= DOMINANCE * second
                && best.rare_coverage >= DOMINANCE_RARE_COVERAGE
                && !qualified()
            {
                return self.answer_with(conversation, best_index, best.score, rng);
            }
            if best.coverage >= TEXT_COVERAGE
                && unknown <= MAX_UNKNOWN
                && second < TEXT_RATIO * best.score
                && (!best.implicit || words >= IMPLICIT_TEXT_WORDS)
            {
                return self.answer_with(conversation, best_index, best.score, rng);
            }
        }
        // Nothing answers for sure: a word or two of one shown choice's label, and of no
        // other (`direction` for "Je fais partie de la direction"), is a click on it. People
        // type what they read; a word the base answers on its own (`pix`) was answered above.
        if let Some(choice) = self.label_named_by(conversation, &guichet.index, input) {
            return self.click(conversation, &choice, rng);
        }
        let suggestions: Vec<(usize, Scored)> = visible
            .into_iter()
            .filter(|(_, s)| s.coverage >= MIN_COVERAGE && !s.implicit)
            .take(MAX_SUGGESTIONS)
            .collect();
        // Pages that only mention the message's words in their text, none of them named by
        // it, are a guess, not a question worth asking: off-topic messages share a word or two
        // with some text by chance (`la hauteur d'une éolienne` on a base about wildlife
        // surveys around wind farms).
        let only_text = suggestions
            .iter()
            .all(|(_, s)| s.evidence <= Some(Evidence::Content));
        if only_text && suggestions.len() > 1 {
            return self.fallback_reply(conversation, rng);
        }
        // One candidate explains the message and no other comes close: asking would offer
        // a single choice, which is the answer.
        if let [(only, scored)] = suggestions.as_slice()
            && unknown <= MAX_UNKNOWN
        {
            return self.answer_with(conversation, *only, scored.score, rng);
        }
        if let Some((_, best)) = suggestions.first()
            && unknown <= MAX_UNKNOWN
        {
            let best = best.score;
            return self.suggest(conversation, &guichet.labels, &suggestions, best, rng);
        }
        self.fallback_reply(conversation, rng)
    }

    /// The responses a follow-up message may be about: the one shown last and those its
    /// choices lead to, when the message opens as a follow-up does ([`FOLLOW_UPS`]).
    fn follow_up_context(
        &self,
        conversation: &Conversation,
        normalised: &str,
    ) -> Option<Vec<usize>> {
        let current = conversation.current.as_deref()?;
        let opens = FOLLOW_UPS.iter().any(|start| {
            normalised
                .strip_prefix(start)
                .is_some_and(|rest| rest.starts_with(' '))
        });
        if !opens {
            return None;
        }
        let index = |title: &str| self.kb.response_index(title);
        let mut context: Vec<usize> = index(current).into_iter().collect();
        context.extend(
            conversation
                .shown
                .iter()
                .filter_map(|choice| match &choice.target {
                    ChoiceTarget::Response(title) => index(title),
                    _ => None,
                }),
        );
        Some(context)
    }

    /// Leaves out of `candidates` each menu that leads to another of them: the answer is
    /// what the menu is for. A page's choice back to its menu does not make it a menu.
    fn drop_menus_of(menus: &super::menus::Menus, candidates: &mut Vec<(usize, Scored)>) {
        let all: Vec<usize> = candidates.iter().map(|(i, _)| *i).collect();
        candidates.retain(|(menu, _)| !all.iter().any(|&page| menus.offers(*menu, page)));
    }

    /// Answers with response `index`, found by scoring; when it says nothing until a profile
    /// is chosen, by asking for the profile first (see [`Self::ask_profile_for`]).
    fn answer_with(
        &self,
        conversation: &mut Conversation,
        index: usize,
        score: f64,
        rng: &mut Rng,
    ) -> Reply {
        if self.needs_profile(conversation, index) {
            return self.ask_profile_for(conversation, index, score);
        }
        Reply {
            messages: self.show_response(conversation, index, rng),
            answer: Answer::Response(self.kb.responses[index].title.clone()),
            path: AnswerPath::Keywords,
            score,
        }
    }

    /// The next response of the ranking that this user can see, or would see once they
    /// choose a profile (with `at_least`: only if it is strong with at least that relevance).
    fn next_visible(
        &self,
        conversation: &Conversation,
        ranked: &mut Ranked<'_>,
        at_least: Option<f64>,
    ) -> Option<(usize, Scored)> {
        let audience = self
            .guichet
            .as_ref()
            .and_then(|g| g.audiences.of(&conversation.variables));
        while let Some((i, scored)) = ranked.next_at_least(at_least) {
            let for_this_user = self
                .guichet
                .as_ref()
                .is_none_or(|g| g.audiences.allows(i, audience));
            if for_this_user
                && (!self.is_empty_for(conversation, i) || self.a_profile_shows(conversation, i))
            {
                return Some((i, scored));
            }
        }
        None
    }

    /// Would this response show nothing (no text, no choice) to this user now?
    fn is_empty_for(&self, conversation: &Conversation, index: usize) -> bool {
        let Some(response) = self.kb.responses.get(index) else {
            return true;
        };
        let mut trial = conversation.clone();
        let mut rng = Rng::seeded(0);
        let (message, _) = self.displayer(&mut trial, &mut rng).display(
            &response.message,
            MessageRef::Response(response.title.clone()),
            false,
            false,
        );
        message.markdown.trim().is_empty() && message.choices.is_empty()
    }

    /// The profiles (see [`Engine::profile_choices`]) whose variable is not set yet.
    fn unset_profiles<'a>(
        &'a self,
        conversation: &'a Conversation,
    ) -> impl Iterator<Item = &'a crate::kb::Choice> {
        self.profile_choices().filter(|c| {
            c.assignment
                .as_ref()
                .is_some_and(|(name, _)| !conversation.variables.contains_key(name))
        })
    }

    /// Whether response `index` says something to this user once `profile` (offered as
    /// [`display::offered`] makes it) is chosen.
    fn shows_with(
        &self,
        conversation: &Conversation,
        profile: &OfferedChoice,
        index: usize,
    ) -> bool {
        let mut trial = conversation.clone();
        if let Some((name, value)) = &profile.assignment {
            display::perform_assignment(&mut trial, name, value, &mut Rng::seeded(0));
        }
        !self.is_empty_for(&trial, index)
    }

    /// Whether response `index` shows nothing to this user now but would once one of the
    /// profiles not chosen yet is (all its text sits in `if @role==…` blocks).
    fn needs_profile(&self, conversation: &Conversation, index: usize) -> bool {
        self.unset_profiles(conversation).next().is_some()
            && self.is_empty_for(conversation, index)
            && self.a_profile_shows(conversation, index)
    }

    /// Whether response `index` says something once one of the profiles not chosen yet is.
    fn a_profile_shows(&self, conversation: &Conversation, index: usize) -> bool {
        self.unset_profiles(conversation)
            .take(MAX_PROFILES_TRIED)
            .map(|profile| display::offered(profile, &self.strings.default_choice))
            .any(|profile| self.shows_with(conversation, &profile, index))
    }

    /// The answer is response `index`, whose text depends on a profile not chosen yet: the
    /// profiles are offered, each leading to that response once chosen (to its own target
    /// when the response says nothing to it). The person sees which page is coming.
    fn ask_profile_for(&self, conversation: &mut Conversation, index: usize, score: f64) -> Reply {
        let title = &self.kb.responses[index].title;
        let offered: Vec<OfferedChoice> = self
            .unset_profiles(conversation)
            .map(|profile| {
                let mut profile = display::offered(profile, &self.strings.default_choice);
                if self.shows_with(conversation, &profile, index) {
                    profile.target = ChoiceTarget::Response(title.clone());
                }
                profile
            })
            .collect();
        let page = self
            .guichet
            .as_ref()
            .and_then(|g| g.labels.get(index))
            .unwrap_or(title);
        let choices = display::offer(conversation, offered);
        Reply {
            messages: vec![BotMessage {
                markdown: self.strings.role_first.replace("{page}", page),
                choices,
                ..BotMessage::default()
            }],
            answer: Answer::Response(title.clone()),
            path: AnswerPath::Role,
            score,
        }
    }

    /// "Did you mean…?" with the candidates as a numbered menu; the answer itself when they
    /// are all one choice for the person (the same title written twice, or labels that read
    /// the same).
    fn suggest(
        &self,
        conversation: &mut Conversation,
        labels: &[String],
        candidates: &[(usize, Scored)],
        score: f64,
        rng: &mut Rng,
    ) -> Reply {
        let mut offered = Vec::new();
        let mut titles = Vec::new();
        for (index, _) in candidates {
            let Some(response) = self.kb.responses.get(*index) else {
                continue;
            };
            let label = labels.get(*index).unwrap_or(&response.title).clone();
            // Two responses with the same title are one for the person (a choice leads to
            // the first), and the same label twice is no choice.
            if titles.contains(&response.title)
                || offered.iter().any(|o: &OfferedChoice| o.label == label)
            {
                continue;
            }
            titles.push(response.title.clone());
            offered.push(OfferedChoice {
                raw_label: label.clone(),
                label,
                target: ChoiceTarget::Response(response.title.clone()),
                assignment: None,
                typed: true,
            });
        }
        // One choice left is no question: it is the answer, the first response of that title
        // as a click on it would open.
        if let ([title], [(index, scored), ..]) = (titles.as_slice(), candidates) {
            let index = self.kb.response_index(title).unwrap_or(*index);
            return self.answer_with(conversation, index, scored.score, rng);
        }
        let choices = display::shown(&offered);
        conversation.shown = offered;
        Reply {
            messages: vec![BotMessage {
                markdown: self.strings.did_you_mean.clone(),
                choices,
                expects_answer: false,
                step_label: None,
            }],
            answer: Answer::DidYouMean(titles),
            path: AnswerPath::Suggest,
            score,
        }
    }

    fn number_out_of_range(
        &self,
        conversation: &mut Conversation,
        digits: &str,
        rng: &mut Rng,
    ) -> Reply {
        if digits.trim_start_matches('0').is_empty() || conversation.shown.is_empty() {
            // `0`, or a number with no menu on screen: the welcome message.
            return self.welcome_reply(conversation, rng, AnswerPath::Number);
        }
        let choices = display::shown(&conversation.shown);
        Reply {
            messages: vec![BotMessage {
                markdown: self
                    .strings
                    .choose_in_range
                    .replace("{n}", &conversation.shown.len().to_string()),
                choices,
                expects_answer: false,
                step_label: None,
            }],
            // Out of range on the welcome's menu shows the welcome's menu again.
            answer: if conversation.current.is_none() {
                Answer::Initial
            } else {
                Answer::Nothing
            },
            path: AnswerPath::Number,
            score: 0.0,
        }
    }

    /// The welcome's profile choice (one that sets a variable) a message states, as in
    /// `je suis prof de maths` or `bonjour, je suis parent d'élève`: the first word after
    /// `je suis` that names one profile's label. With the question that follows it, if any
    /// (`je suis prof de SVT et je ne vois pas les résultats`): the profile clause ends at the
    /// first small word that is not part of a name (`et`, `je`, `mais`…).
    fn stated_profile(
        &self,
        index: &guichet::GuichetIndex,
        normalised: &str,
    ) -> Option<(OfferedChoice, Option<String>)> {
        let profiles: Vec<&crate::kb::Choice> = self.profile_choices().take(MAX_PROFILES).collect();
        if profiles.is_empty() {
            return None;
        }
        let words = guichet::words(normalised);
        let mut rest = words.as_slice();
        while let [first, tail @ ..] = rest
            && (LEAD_INS.contains(&first.as_str()) || self.phrases.greeting.contains(first))
        {
            rest = tail;
        }
        let stated = PROFILE_STATEMENTS.iter().find_map(|statement| {
            let starts = rest.len() >= statement.len()
                && rest.iter().zip(statement.iter()).all(|(w, s)| w == s);
            starts.then(|| &rest[statement.len()..])
        })?;
        let clause_end = stated
            .iter()
            .position(|w| !guichet::is_meaningful(w) && !PROFILE_LINKS.contains(&w.as_str()))
            .unwrap_or(stated.len());
        let (clause, question) = stated.split_at(clause_end);
        let meaningful = |words: &[String]| -> Vec<String> {
            words
                .iter()
                .filter(|w| guichet::is_meaningful(w))
                .cloned()
                .collect()
        };
        let question =
            (meaningful(question).len() >= MIN_QUESTION_WORDS).then(|| question.join(" "));
        if question.is_none() && meaningful(stated).len() > MAX_PROFILE_WORDS {
            return None;
        }
        let clause = meaningful(clause);
        let word = clause
            .iter()
            .find(|w| profiles.iter().any(|c| index.names(w, &c.label)))?;
        let [profile] = profiles
            .iter()
            .filter(|c| index.names(word, &c.label))
            .collect::<Vec<_>>()[..]
        else {
            return None;
        };
        Some((
            display::offered(profile, &self.strings.default_choice),
            question,
        ))
    }

    /// A choice followed as typed: the reply a click gives, named as a typed option.
    fn click(
        &self,
        conversation: &mut Conversation,
        choice: &OfferedChoice,
        rng: &mut Rng,
    ) -> Reply {
        Reply {
            path: AnswerPath::Option,
            ..self.follow(conversation, choice, rng)
        }
    }

    /// The shown choice a typed yes or no means: the only one whose label says yes (or no),
    /// by its first words (`Oui`, `Oui, montre-moi`, `Non merci`), when the message is a yes
    /// (or a no) with at most courtesies after it (`oui merci`, `non merci beaucoup`).
    fn yes_or_no(&self, conversation: &Conversation, normalised: &str) -> Option<OfferedChoice> {
        // A yes or a no is short; most messages are neither, and skip the lists.
        if conversation.last_options.is_empty() || normalised.split(' ').count() > MAX_YES_NO_WORDS
        {
            return None;
        }
        let says = |text: &str, list: &[String]| {
            list.iter()
                .any(|phrase| after_phrase(text, phrase).is_some())
        };
        let courteous = |phrase: &String| {
            let Some(rest) = after_phrase(normalised, phrase) else {
                return false;
            };
            guichet::words(&rest).iter().all(|w| {
                PLEASANTRIES.contains(&w.as_str())
                    || COURTESIES.contains(&w.as_str())
                    || self.phrases.thanks.contains(w)
            })
        };
        let (yes, no) = (&self.phrases.yes, &self.phrases.no);
        // A no first: `non merci` starts with no yes, but `ok non` is no yes either.
        let list = if no.iter().any(courteous) {
            no
        } else if yes.iter().any(courteous) {
            yes
        } else {
            return None;
        };
        let meant = conversation
            .last_options
            .iter()
            .filter(|o| o.typed && says(&guichet::normalize(&o.label), list));
        sole(meant).cloned()
    }

    /// The one choice shown last whose label names every meaningful word of a short message
    /// (at most [`MAX_LABEL_WORDS`]), when no other label names them all.
    fn label_named_by(
        &self,
        conversation: &Conversation,
        index: &guichet::GuichetIndex,
        input: &str,
    ) -> Option<OfferedChoice> {
        let words: Vec<String> = guichet::words(&guichet::normalize(input))
            .into_iter()
            .filter(|w| guichet::is_meaningful(w))
            .collect();
        if words.is_empty() || words.len() > MAX_LABEL_WORDS {
            return None;
        }
        let named = conversation
            .last_options
            .iter()
            .filter(|o| o.typed && words.iter().all(|w| index.names(w, &o.label)));
        sole(named).cloned()
    }

    /// The response whose title or one of whose keywords is one of `phrases` (normalised).
    fn page_named_by(&self, phrases: &[String]) -> Option<usize> {
        let titled = self.guichet.as_ref().and_then(|guichet| {
            phrases
                .iter()
                .find_map(|p| guichet.compact_titles.get(&compact(p)).copied())
        });
        titled.or_else(|| {
            self.kb.responses.iter().position(|response| {
                response.keywords.iter().any(|keyword| {
                    !keyword.is_negative() && phrases.contains(&guichet::normalize(&keyword.text))
                })
            })
        })
    }

    /// Navigation words and small talk, when the knowledge base itself had nothing exact.
    fn builtin(
        &self,
        conversation: &mut Conversation,
        normalised: &str,
        rng: &mut Rng,
    ) -> Option<Reply> {
        let phrases = &self.phrases;
        let is = |list: &[String]| list.iter().any(|w| w == normalised);
        // The small-talk phrase the message starts with, when the rest is only pleasantries
        // ("merci beaucoup, c'est très clair").
        // Fillers before small talk ("allez, au revoir") and the bot's own name after it
        // ("bonjour Chirobot") leave it small talk.
        let mut start = normalised;
        while let Some((first, rest)) = start.split_once(' ')
            && LEAD_INS.contains(&first)
        {
            start = rest;
        }
        // A name is a few words: a title of a million characters is not read for each message.
        let title: String = self.kb.title.chars().take(200).collect();
        let bot_name = guichet::words(&guichet::normalize(&title));
        let lists = [
            Talk::Greeting,
            Talk::Thanks,
            Talk::Goodbye,
            Talk::Ok,
            Talk::HowAreYou,
        ]
        .map(|talk| (talk, talk.phrases(phrases)));
        let small_talk: Vec<String> = lists
            .iter()
            .flat_map(|(_, list)| list.iter())
            .flat_map(|p| guichet::words(p))
            .collect();
        let is_small = |w: &String| {
            PLEASANTRIES.contains(&w.as_str()) || bot_name.contains(w) || small_talk.contains(w)
        };
        // Of small talk alone, a goodbye ends the conversation ("ok merci, au revoir"), and
        // thanks among acknowledgements are thanks ("super merci"), whatever comes first.
        let padded = format!(" {start} ");
        let within = |talk: Talk| {
            talk.phrases(phrases)
                .iter()
                .find(|p| padded.contains(&format!(" {p} ")))
                .map(|phrase| (talk, phrase.clone()))
        };
        let ruling = guichet::words(start)
            .iter()
            .all(is_small)
            .then(|| within(Talk::Goodbye).or_else(|| within(Talk::Thanks)))
            .flatten();
        let only = |talk: Talk, list: &[String]| -> Option<String> {
            if let Some((kind, phrase)) = &ruling {
                return (talk == *kind).then(|| phrase.clone());
            }
            let (phrase, rest) = list
                .iter()
                .find_map(|p| after_phrase(start, p).map(|rest| (p.clone(), rest)))?;
            guichet::words(&rest).iter().all(is_small).then_some(phrase)
        };
        // The knowledge base's own answer to a small-talk phrase wins (its goodbye, its
        // greeting menu): guichet only fills in when it has none.
        let from_base = |phrase: &str| -> Option<usize> {
            let guichet = self.guichet.as_ref()?;
            self.guichet_scores(&guichet.index, phrase)
                .into_iter()
                .filter(|(_, s)| {
                    s.keyword && s.evidence.is_some_and(Evidence::is_exact) && s.coverage >= 1.0
                })
                .max_by(|a, b| a.1.score.total_cmp(&b.1.score))
                .map(|(i, _)| i)
        };
        for (talk, list) in lists {
            // "How are you" finds only a page named by the whole question (below).
            let Some(phrase) = only(talk, list).filter(|_| talk != Talk::HowAreYou) else {
                continue;
            };
            // The phrase typed, or another of its kind the base names a response after
            // (a goodbye page titled `aurevoir` for `bye`): acknowledgements aside, whose
            // words (`compris`, `parfait`) also title pages that are not small talk.
            let kind: Vec<String> = if talk == Talk::Ok {
                vec![phrase.clone()]
            } else {
                std::iter::once(phrase.clone())
                    .chain(list.iter().cloned())
                    .collect()
            };
            let found = kind.iter().find_map(|p| {
                from_base(p).or_else(|| {
                    let guichet = self.guichet.as_ref()?;
                    guichet.compact_titles.get(&compact(p)).copied()
                })
            });
            if let Some(index) = found {
                return Some(Reply {
                    path: AnswerPath::Builtin,
                    ..self.answer_with(conversation, index, 0.0, rng)
                });
            }
        }
        let said = |talk: Talk| only(talk, talk.phrases(phrases)).is_some();
        // Questions to the bot itself (`t'es un robot ?`, `ça va ?`): the base's own page
        // titled or keyed by such a question (`## Qui es-tu ?`). Only a whole question finds
        // it: its words alone (`robot`, `ia`, `va`) are a topic, or nothing, in many bases.
        for talk in [Talk::Identity, Talk::HowAreYou] {
            if said(talk)
                && let Some(index) = self.page_named_by(talk.phrases(phrases))
            {
                return Some(Reply {
                    path: AnswerPath::Builtin,
                    ..self.answer_with(conversation, index, 0.0, rng)
                });
            }
        }
        let builtin = |answer: &str| Answer::Builtin(answer.to_string());
        // A question about who the bot is gets its welcome, where a base introduces it.
        if is(&phrases.menu) || said(Talk::Greeting) || said(Talk::Identity) {
            // The person sees the welcome message again: that is what the answer says.
            return Some(self.welcome_reply(conversation, rng, AnswerPath::Builtin));
        }
        // Help and profile words, when the base has no answer of its own for them.
        if is(&phrases.help) {
            return Some(self.run_command(conversation, super::commands::Command::Help, rng));
        }
        if is(&phrases.profile) {
            return Some(self.run_command(conversation, super::commands::Command::Profile, rng));
        }
        if is(&phrases.back) {
            // From a menu, back is the menu before it; from an answer, the menu it came from.
            if conversation.current.is_some()
                && conversation.current == conversation.back.last().cloned()
            {
                conversation.back.pop();
            }
            let previous = conversation.back.pop();
            let reply = previous.and_then(|title| self.show_title(conversation, &title, rng));
            return Some(match reply {
                Some(mut reply) => {
                    reply.path = AnswerPath::Builtin;
                    reply
                }
                None => self.welcome_reply(conversation, rng, AnswerPath::Builtin),
            });
        }
        // The bot called by its name alone (`chirobot ?`) is greeted, after the commands: `aide`
        // is help even in a base titled "Aide test".
        if self
            .guichet
            .as_ref()
            .is_some_and(|guichet| guichet.index.only_names_the_bot(normalised))
        {
            return Some(self.welcome_reply(conversation, rng, AnswerPath::Builtin));
        }
        let (text, kind) = if said(Talk::Thanks) {
            (&self.strings.thanks_reply, "thanks")
        } else if said(Talk::Ok) {
            (&self.strings.ok_reply, "ok")
        } else if said(Talk::Goodbye) {
            (&self.strings.goodbye_reply, "goodbye")
        } else if said(Talk::HowAreYou) {
            (&self.strings.how_are_you_reply, "how_are_you")
        } else {
            return None;
        };
        let choices = if kind == "goodbye" {
            Vec::new()
        } else {
            display::shown(&conversation.shown)
        };
        Some(Reply {
            messages: vec![BotMessage {
                markdown: text.clone(),
                choices,
                expects_answer: false,
                step_label: None,
            }],
            answer: builtin(kind),
            path: AnswerPath::Builtin,
            score: 0.0,
        })
    }
}
