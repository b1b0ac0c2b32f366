//! Deciding the answer in guichet mode (`matching = "guichet"`): the determination half of a
//! typed message, once numbers and shown labels have been handled as clicks.
//!
//! Order: a quiz keeps ChatMD's rules; a number out of range gets the menu again; a label of
//! the last options is a click; then candidates are scored (`guichet.rs`), those whose text
//! is empty for this user are set aside, and the evidence decides between answering, asking
//! "did you mean…?", guichet's own small talk and navigation, and the fallback.

use super::chatmd::hash::FastMap;
use super::conversation::{ChoiceTarget, Conversation, OfferedChoice};
use super::guichet::{self, Evidence, Scored};
use super::{
    Answer, AnswerPath, BotMessage, Engine, MessageRef, Reply, Rng, Scoring, ShownChoice, display,
};

/// Two candidates both found exactly whose scores are this close (second ÷ first) are both
/// plausible readings of the message: the user chooses rather than guichet guessing.
const CLOSE_RATIO: f64 = 0.85;

/// "Did you mean…?" offers at most this many responses: more is a menu, not a question.
const MAX_SUGGESTIONS: usize = 3;

/// Share of the message (its meaningful words weighted by rarity) that a candidate must
/// explain, strictly more than this, to be answered directly or offered at all. A message
/// about something else (the canteen, a strike, a room) shares at most a word with a response
/// and leaves the rest, often words the base never uses, unexplained.
const MIN_COVERAGE: f64 = 0.5;

/// Words that may follow a greeting or thanks without changing what it is.
const PLEASANTRIES: &[&str] = &[
    "a",
    "et",
    "vous",
    "tous",
    "toi",
    "beaucoup",
    "bien",
    "encore",
    "tres",
    "c",
    "est",
    "clair",
    "parfait",
    "super",
    "top",
    "cool",
    "vraiment",
    "infiniment",
    "pour",
    "tout",
    "ca",
    "l",
    "aide",
    "la",
    "le",
    "reponse",
    "madame",
    "monsieur",
];

/// A response whose title names what the message is about may explain less of it: people
/// wrap a topic in words of their own ("je suis référente pix cette année").
const MIN_COVERAGE_WHEN_ABOUT: f64 = 0.25;

/// guichet mode's matching and how it names responses, prepared when that mode is on.
#[derive(Debug)]
pub(super) struct Guichet {
    pub(super) index: guichet::GuichetIndex,
    /// See [`suggestion_labels`].
    pub(super) labels: Vec<String>,
}

impl Guichet {
    pub(super) fn new(kb: &crate::kb::KnowledgeBase) -> Self {
        Self {
            index: guichet::GuichetIndex::for_kb(kb),
            labels: suggestion_labels(kb),
        }
    }
}

/// How each response is best named to a user: the label of the first choice leading to it
/// (authors write those for people), else its title. Worked out once per knowledge base: a
/// "did you mean…?" would otherwise read every choice of the base.
fn suggestion_labels(kb: &crate::kb::KnowledgeBase) -> Vec<String> {
    let mut labels: FastMap<&str, &str> = FastMap::default();
    for choice in std::iter::once(&kb.welcome)
        .chain(kb.responses.iter().map(|r| &r.message))
        .flat_map(|m| m.choices.iter())
    {
        if let crate::kb::Target::Response(title) = &choice.target
            && choice.assignment.is_none()
        {
            labels
                .entry(title.as_str())
                .or_insert(choice.label.as_str());
        }
    }
    kb.responses
        .iter()
        .map(|r| {
            labels
                .get(r.title.as_str())
                .unwrap_or(&r.title.as_str())
                .to_string()
        })
        .collect()
}

/// Real evidence: an author's keyword or the whole title found as written (word starts,
/// stems), explaining most of the message.
fn strong(s: &Scored) -> bool {
    s.keyword
        && s.evidence == Some(Evidence::Exact)
        && (s.coverage >= MIN_COVERAGE || (s.about && s.coverage >= MIN_COVERAGE_WHEN_ABOUT))
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
        let normalised = guichet::normalize(input);

        if !normalised.is_empty()
            && normalised.len() <= 3
            && normalised.chars().all(|c| c.is_ascii_digit())
        {
            return self.number_out_of_range(conversation, &normalised, rng);
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
            let mut reply = self.follow(conversation, &choice, rng);
            reply.path = AnswerPath::Option;
            return reply;
        }

        let Some(guichet) = &self.guichet else {
            return self.typed_chatmd(conversation, input, rng);
        };
        let mut ranked = self.guichet_ranking(&guichet.index, input);

        // Role-aware choice: a response whose text is empty for this user is never chosen.
        // `visible` holds the first of the others, in ranked order, read as far as needed.
        let (first, best_was_hidden) = self.next_visible(conversation, &mut ranked, None);
        let mut visible: Vec<(usize, Scored)> = first.into_iter().collect();
        if best_was_hidden && self.role_unset(conversation) {
            return self.ask_role_first(conversation, rng);
        }

        if let Some(&(_, best)) = visible.first()
            && strong(&best)
        {
            // Its close rivals: the next ones, as strong and within `CLOSE_RATIO` of it.
            let mut close = vec![visible[0]];
            while close.len() < MAX_SUGGESTIONS {
                let at_least = Some(best.score * CLOSE_RATIO);
                let (Some(rival), _) = self.next_visible(conversation, &mut ranked, at_least)
                else {
                    break;
                };
                visible.push(rival);
                close.push(rival);
            }
            // A menu and an answer it leads to: the answer is what the menu is for.
            let leads_to = |menu: usize, target: usize| {
                let title = &self.kb.responses[target].title;
                self.kb.responses[menu]
                    .message
                    .choices
                    .iter()
                    .any(|c| matches!(&c.target, crate::kb::Target::Response(t) if t == title))
            };
            let all: Vec<usize> = close.iter().map(|(i, _)| *i).collect();
            close.retain(|(menu, _)| {
                !all.iter()
                    .any(|&target| target != *menu && leads_to(*menu, target))
            });
            if let [(only, scored)] = close.as_slice() {
                return Reply {
                    messages: self.show_response(conversation, *only, rng),
                    answer: Answer::Response(self.kb.responses[*only].title.clone()),
                    path: AnswerPath::Keywords,
                    score: scored.score,
                };
            }
            if !close.is_empty() {
                return self.suggest(conversation, &guichet.labels, &close, best.score);
            }
        }
        if let Some(reply) = self.builtin(conversation, &normalised, rng) {
            return reply;
        }
        // Weak evidence (typos, title words only): ask, if it explains the message.
        while visible.len() <= MAX_SUGGESTIONS {
            let (Some(next), _) = self.next_visible(conversation, &mut ranked, None) else {
                break;
            };
            visible.push(next);
        }
        let suggestions: Vec<(usize, Scored)> = visible
            .into_iter()
            .filter(|(_, s)| s.coverage >= MIN_COVERAGE)
            .take(MAX_SUGGESTIONS)
            .collect();
        if let Some((_, best)) = suggestions.first() {
            let best = best.score;
            return self.suggest(conversation, &guichet.labels, &suggestions, best);
        }
        self.fallback_reply(conversation, rng)
    }

    /// The next response of the ranking that this user can see (with `at_least`: only if it
    /// is strong with at least that relevance), and whether a hidden one came before it.
    fn next_visible(
        &self,
        conversation: &Conversation,
        ranked: &mut Ranked<'_>,
        at_least: Option<f64>,
    ) -> (Option<(usize, Scored)>, bool) {
        let mut hidden = false;
        while let Some((i, scored)) = ranked.next_at_least(at_least) {
            if !self.is_empty_for(conversation, i) {
                return (Some((i, scored)), hidden);
            }
            hidden = true;
        }
        (None, hidden)
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

    /// A variable the welcome's choices assign (the role) is not set yet.
    fn role_unset(&self, conversation: &Conversation) -> bool {
        self.kb
            .welcome
            .choices
            .iter()
            .filter_map(|c| c.assignment.as_ref().map(|(name, _)| name))
            .any(|name| !conversation.variables.contains_key(name))
    }

    fn ask_role_first(&self, conversation: &mut Conversation, rng: &mut Rng) -> Reply {
        let welcome = self.show_welcome(conversation, rng, false);
        Reply {
            messages: vec![BotMessage {
                markdown: format!("{}\n\n{}", self.strings.role_first, welcome.markdown),
                ..welcome
            }],
            answer: Answer::Initial,
            path: AnswerPath::Role,
            score: 0.0,
        }
    }

    /// "Did you mean…?" with the candidates as a numbered menu.
    fn suggest(
        &self,
        conversation: &mut Conversation,
        labels: &[String],
        candidates: &[(usize, Scored)],
        score: f64,
    ) -> Reply {
        let mut offered = Vec::new();
        let mut titles = Vec::new();
        for (index, _) in candidates {
            let Some(response) = self.kb.responses.get(*index) else {
                continue;
            };
            let label = labels.get(*index).unwrap_or(&response.title).clone();
            titles.push(response.title.clone());
            offered.push(OfferedChoice {
                raw_label: label.clone(),
                label,
                target: ChoiceTarget::Response(response.title.clone()),
                assignment: None,
                typed: true,
            });
        }
        let choices = offered
            .iter()
            .map(|o| ShownChoice {
                label: o.label.clone(),
                id: display::choice_id(o),
            })
            .collect();
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
            return Reply {
                messages: vec![self.show_welcome(conversation, rng, false)],
                answer: Answer::Initial,
                path: AnswerPath::Number,
                score: 0.0,
            };
        }
        let choices = conversation
            .shown
            .iter()
            .map(|o| ShownChoice {
                label: o.label.clone(),
                id: display::choice_id(o),
            })
            .collect();
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
            answer: Answer::Nothing,
            path: AnswerPath::Number,
            score: 0.0,
        }
    }

    /// Navigation words and small talk, when the knowledge base itself had nothing exact.
    fn builtin(
        &self,
        conversation: &mut Conversation,
        normalised: &str,
        rng: &mut Rng,
    ) -> Option<Reply> {
        let strings = &self.strings;
        let is = |list: &[String]| list.iter().any(|w| guichet::normalize(w) == normalised);
        // The small-talk phrase the message starts with, when the rest is only pleasantries
        // ("merci beaucoup, c'est très clair").
        let only = |list: &[String]| -> Option<String> {
            let phrase = list
                .iter()
                .map(|p| guichet::normalize(p))
                .find(|p| normalised == p || normalised.starts_with(&format!("{p} ")))?;
            let rest = normalised[phrase.len()..].trim();
            guichet::words(rest)
                .iter()
                .all(|w| {
                    PLEASANTRIES.contains(&w.as_str())
                        || list.iter().any(|p| guichet::normalize(p) == *w)
                })
                .then_some(phrase)
        };
        // The knowledge base's own answer to a small-talk phrase wins (its goodbye, its
        // greeting menu): guichet only fills in when it has none.
        let from_base = |phrase: &str| -> Option<usize> {
            let guichet = self.guichet.as_ref()?;
            self.guichet_scores(&guichet.index, phrase)
                .into_iter()
                .filter(|(_, s)| {
                    s.keyword && s.evidence == Some(Evidence::Exact) && s.coverage >= 1.0
                })
                .max_by(|a, b| a.1.score.total_cmp(&b.1.score))
                .map(|(i, _)| i)
        };
        for list in [
            &strings.greeting_words,
            &strings.thanks_words,
            &strings.goodbye_words,
            &strings.ok_words,
        ] {
            if let Some(phrase) = only(list)
                && let Some(index) = from_base(&phrase)
            {
                return Some(Reply {
                    messages: self.show_response(conversation, index, rng),
                    answer: Answer::Response(self.kb.responses[index].title.clone()),
                    path: AnswerPath::Builtin,
                    score: 0.0,
                });
            }
        }
        let only = |list: &[String]| only(list).is_some();
        let builtin = |answer: &str| Answer::Builtin(answer.to_string());
        if is(&strings.menu_words) || only(&strings.greeting_words) {
            let kind = if is(&strings.menu_words) {
                "menu"
            } else {
                "greeting"
            };
            return Some(Reply {
                messages: vec![self.show_welcome(conversation, rng, false)],
                answer: if kind == "menu" {
                    Answer::Initial
                } else {
                    builtin(kind)
                },
                path: AnswerPath::Builtin,
                score: 0.0,
            });
        }
        if is(&strings.back_words) {
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
                None => Reply {
                    messages: vec![self.show_welcome(conversation, rng, false)],
                    answer: Answer::Initial,
                    path: AnswerPath::Builtin,
                    score: 0.0,
                },
            });
        }
        let (text, kind) = if only(&strings.thanks_words) {
            (&strings.thanks_reply, "thanks")
        } else if only(&strings.ok_words) {
            (&strings.ok_reply, "ok")
        } else if only(&strings.goodbye_words) {
            (&strings.goodbye_reply, "goodbye")
        } else {
            return None;
        };
        let choices = if kind == "goodbye" {
            Vec::new()
        } else {
            conversation
                .shown
                .iter()
                .map(|o| ShownChoice {
                    label: o.label.clone(),
                    id: display::choice_id(o),
                })
                .collect()
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
