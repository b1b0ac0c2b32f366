//! The conversation engine: given a knowledge base, a user's conversation and what they
//! typed or picked, decide the reply and the new state. Pure and deterministic given the
//! random seed: no I/O, no clock, no platform.
//!
//! In ChatMD-compatible mode (`matching = "chatmd"`) the answer is the one ChatMD 8.12 gives
//! for the same file and the same messages (docs/chatmd.md §M1), to the last digit of the score.

mod answer;
pub mod audience;
pub mod chatmd;
mod commands;
pub mod conversation;
pub mod display;
pub mod eval;
pub mod guichet;
pub(crate) mod hash;
pub mod lexicon;
pub mod menus;
pub mod names;
pub mod rng;

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::kb::{KnowledgeBase, Response};
use crate::strings::Strings;

use conversation::INPUT_VARIABLE;
pub use conversation::{
    ChoiceTarget, Conversation, MessageRef, OfferedChoice, STATE_VERSION, StateError,
};
pub use rng::Rng;

use chatmd::{BadWords, Candidates, IndexedResponses, PreparedInput, PreparedResponse, Section};
pub use commands::Command;
use display::Displayer;

/// How typed messages are matched to responses: the config's `matching` and the command
/// line's `--mode` both name it (`guichet`, `chatmd`), so it is the one enum for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MatchingMode {
    /// Made for chats: numbers pick, robust normalisation, word-aware keywords, role-aware
    /// choice, "did you mean…?" when unsure (`src/engine/answer.rs`).
    #[default]
    Guichet,
    /// Exactly ChatMD 8.12's algorithm.
    Chatmd,
}

/// How the engine finds the best response to a typed message. Both give the same answer and
/// the same score; the exhaustive one is kept as the reference the index is tested against
/// (`tests/matching_index.rs`) and for benchmark comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scoring {
    /// Score only the responses that can win, through [`IndexedResponses`].
    #[default]
    Indexed,
    /// Score every candidate response, as ChatMD does.
    Exhaustive,
}

/// The prepared responses, in the form the chosen [`Scoring`] needs.
#[derive(Debug)]
enum Matcher {
    Indexed(Box<IndexedResponses>),
    Exhaustive(Vec<PreparedResponse>),
    /// guichet mode scores typed messages with its own index; ChatMD's scoring only serves
    /// `!Next` and `!SelectNext`, whose candidates share one title: those responses are
    /// prepared when asked, instead of indexing the whole base for them.
    OnDemand,
}

impl Matcher {
    /// The best candidate and its score (docs/chatmd.md §M7).
    fn best(
        &self,
        kb: &KnowledgeBase,
        input: &PreparedInput,
        candidates: Candidates<'_>,
    ) -> Option<(usize, f64)> {
        match self {
            Matcher::Indexed(index) => index.best(input, candidates),
            Matcher::Exhaustive(responses) => {
                chatmd::best_of(chatmd::score_all(responses, input, candidates))
            }
            Matcher::OnDemand => {
                // docs/chatmd.md §M4: nothing is a candidate when the first title is empty.
                if kb
                    .responses
                    .first()
                    .is_none_or(|first| first.title.is_empty())
                {
                    return None;
                }
                let title = match candidates {
                    Candidates::All => None,
                    Candidates::Selected(title) | Candidates::Next { target: title, .. } => {
                        Some(title)
                    }
                };
                let content_search = kb.settings.content_search;
                let prepared: Vec<(usize, PreparedResponse)> = kb
                    .responses
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| title.is_none_or(|t| r.title == t))
                    .map(|(i, r)| (i, prepare(r, content_search)))
                    .collect();
                chatmd::best_of(chatmd::score_each(
                    prepared.iter().map(|(i, r)| (*i, r)),
                    input,
                    candidates,
                ))
            }
        }
    }
}

/// A response as ChatMD's scoring reads it: title, keyword list, content lines.
fn section(response: &Response) -> Section<'_> {
    Section {
        title: &response.title,
        keywords: response.keywords.iter().map(|k| k.text.as_str()).collect(),
        content_lines: response
            .message
            .lines
            .iter()
            .map(|l| content_search_line(&l.text))
            .collect(),
    }
}

/// One response prepared for ChatMD's scoring.
fn prepare(response: &Response, content_search: bool) -> PreparedResponse {
    let section = section(response);
    PreparedResponse::new(
        section.title,
        &section.keywords,
        &section.content_lines,
        content_search,
    )
}

/// What the user did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The conversation opens: show the welcome message.
    Start,
    /// A typed message.
    Text(String),
    /// A pick of one of the choices last shown (0-based), by button or number.
    Pick(usize),
    /// A click on a button that outlives the menu it was shown in: the choice by its stable
    /// id ([`ShownChoice::id`]), and where it was. Resolved within the turn: the same choice
    /// at the same place, else where it is now; a choice no longer offered (an older menu, a
    /// reloaded base) gets the welcome, prefaced with [`Strings::stale_menu`], since picking
    /// by position alone could open something the person never asked for.
    Choice { id: String, at: usize },
    /// A message typed in a chat, where menus are numbered lines: a bare number, or exactly
    /// the label of a choice shown, picks it as a click would; anything else is `Text`.
    Message(String),
    /// A command the platform offers apart from typed text (Discord's slash commands),
    /// answered exactly as its typed form (`!guichet role`) is.
    Command(Command),
}

/// A choice as shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownChoice {
    pub label: String,
    /// Stable across restarts and reloads for the same label and target.
    pub id: String,
}

/// One bot message, platform-neutral.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BotMessage {
    /// Markdown after variables, conditions, alternatives and show-once parts.
    pub markdown: String,
    pub choices: Vec<ShownChoice>,
    /// A quiz question (`!Next`) waits for a typed answer.
    pub expects_answer: bool,
    /// Set when the message has choices: the label ([`Strings::step_label`], `{n}` the
    /// number) the renderers give the items of its numbered lists instead of their numbers,
    /// since typing a number picks a choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_label: Option<String>,
}

/// What was answered, in the terms of ChatMD's golden files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    /// A response, by title.
    Response(String),
    /// Nothing matched; `shown` is the YAML `fallback` response when it redirected.
    Fallback {
        shown: Option<String>,
    },
    /// The welcome message (start, or a choice with an empty target).
    Initial,
    BadWords,
    /// A quiz answer was refused; the question is asked again.
    NextRetry,
    /// A picked choice led nowhere (its target names no response) or was out of range.
    Nothing,
    /// Not sure: these responses were offered as "did you mean…?".
    DidYouMean(Vec<String>),
    /// guichet's own small talk (greeting, thanks, goodbye) or navigation.
    Builtin(String),
}

impl Answer {
    /// The name used by ChatMD's golden files and `guichet replay`: the response title, or
    /// `FALLBACK`, `INITIAL`, `BADWORDS`, `NEXT_RETRY`, `NOTHING`, `DID_YOU_MEAN`.
    ///
    /// guichet's own replies (thanks, goodbye, help, profile) are named `FALLBACK`: in those
    /// terms the base gave no response of its own, which is what a person who labels a
    /// conversation expects for "merci" on a base with no closing page. The reply's path
    /// (`builtin`) tells them apart from the fallback message.
    pub fn name(&self) -> &str {
        match self {
            Answer::Response(title) => title,
            Answer::Fallback { .. } => "FALLBACK",
            Answer::Initial => "INITIAL",
            Answer::BadWords => "BADWORDS",
            Answer::NextRetry => "NEXT_RETRY",
            Answer::Nothing => "NOTHING",
            Answer::DidYouMean(_) => "DID_YOU_MEAN",
            Answer::Builtin(_) => "FALLBACK",
        }
    }
}

/// How the answer was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerPath {
    Start,
    Pick,
    Option,
    Keywords,
    Next,
    Fallback,
    Badwords,
    Initial,
    /// A bare number out of the menu's range.
    Number,
    /// guichet mode: "did you mean…?".
    Suggest,
    /// guichet mode: navigation words and small talk.
    Builtin,
    /// guichet mode: the best answer needs a role first.
    Role,
}

/// The engine's decision for one input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// Usually one; a retry adds the question again, `!SelectNext` a follow-up.
    pub messages: Vec<BotMessage>,
    pub answer: Answer,
    pub path: AnswerPath,
    /// The best score of the scoring step (0 when nothing scored or nothing was scored).
    pub score: f64,
}

/// ChatMD's default-message history length (docs/chatmd.md §M12).
const FALLBACK_HISTORY: usize = 5;
/// A custom default-message list shorter than this is repeated (docs/chatmd.md §F15).
const FALLBACK_MIN_LIST: usize = 5;
/// Bounds chains of `!SelectNext` follow-ups (a response may select itself).
const MAX_FOLLOW_UPS: usize = 8;

/// A knowledge base prepared for answering: everything that does not depend on the message
/// is computed once here.
#[derive(Debug)]
pub struct Engine {
    kb: Arc<KnowledgeBase>,
    matcher: Matcher,
    synonyms: Vec<Vec<String>>,
    bad_words: Option<BadWords>,
    mode: MatchingMode,
    strings: Strings,
    /// The phrase lists of `strings` that messages are compared with, normalised.
    phrases: answer::Phrases,
    /// guichet-mode matching, prepared when that mode is on.
    guichet: Option<answer::Guichet>,
}

impl Engine {
    pub fn new(kb: Arc<KnowledgeBase>, mode: MatchingMode, strings: Strings) -> Self {
        Self::with_scoring(kb, mode, strings, Scoring::Indexed)
    }

    /// [`Engine::new`] with a chosen [`Scoring`].
    pub fn with_scoring(
        kb: Arc<KnowledgeBase>,
        mode: MatchingMode,
        strings: Strings,
        scoring: Scoring,
    ) -> Self {
        let content_search = kb.settings.content_search;
        let matcher = match scoring {
            Scoring::Exhaustive => Matcher::Exhaustive(
                kb.responses
                    .iter()
                    .map(|r| prepare(r, content_search))
                    .collect(),
            ),
            Scoring::Indexed if mode == MatchingMode::Guichet => Matcher::OnDemand,
            Scoring::Indexed => {
                let sections: Vec<Section<'_>> = kb.responses.iter().map(section).collect();
                Matcher::Indexed(Box::new(IndexedResponses::new(&sections, content_search)))
            }
        };
        let entries: Vec<String> = kb.synonyms.iter().map(|g| g.join(", ")).collect();
        let bad_words = kb.settings.bad_words.then(BadWords::french);
        let guichet = (mode == MatchingMode::Guichet).then(|| answer::Guichet::new(&kb));
        Self {
            guichet,
            matcher,
            synonyms: chatmd::prepare_synonym_groups(&entries),
            bad_words,
            mode,
            phrases: answer::Phrases::new(&strings),
            strings,
            kb,
        }
    }

    pub fn knowledge_base(&self) -> &Arc<KnowledgeBase> {
        &self.kb
    }

    pub fn mode(&self) -> MatchingMode {
        self.mode
    }

    /// The bot's own words this engine answers with (adapters say some of them too).
    pub fn strings(&self) -> &Strings {
        &self.strings
    }

    /// How this engine scores: the exhaustive reference prepares every response up front.
    fn scoring(&self) -> Scoring {
        match self.matcher {
            Matcher::Exhaustive(_) => Scoring::Exhaustive,
            Matcher::Indexed(_) | Matcher::OnDemand => Scoring::Indexed,
        }
    }

    /// The scoring step alone (docs/chatmd.md §M6–§M7): the best of `candidates` for a typed
    /// `text` and its score, with synonyms applied as a typed message gets them (only when
    /// every response is a candidate). Lets tests and tools compare scorings directly.
    pub fn best_match(&self, text: &str, candidates: Candidates<'_>) -> Option<(usize, f64)> {
        let synonyms: &[Vec<String>] = match candidates {
            Candidates::All => &self.synonyms,
            _ => &[],
        };
        let input = PreparedInput::new(text, synonyms, self.kb.settings.content_search);
        self.matcher.best(&self.kb, &input, candidates)
    }

    /// Decides the reply to `input` and updates `conversation`.
    ///
    /// `@INPUT` (what was just typed) lives for this turn only: it is gone from
    /// `conversation` when this returns, so the stored state holds no message text (issue
    /// 14, privacy), except where a choice now offered reads it
    /// ([`Conversation::end_turn`]).
    pub fn reply(&self, conversation: &mut Conversation, input: Input, rng: &mut Rng) -> Reply {
        let mut reply = self.reply_in_turn(conversation, input, rng);
        conversation.end_turn();
        // A numbered list beside choices would read as them: it is shown as labelled steps.
        for message in &mut reply.messages {
            message.step_label =
                (!message.choices.is_empty()).then(|| self.strings.step_label.clone());
        }
        reply
    }

    fn reply_in_turn(&self, conversation: &mut Conversation, input: Input, rng: &mut Rng) -> Reply {
        // Commands are the same on every platform and in both modes: `!guichet aide`.
        if let Input::Text(text) | Input::Message(text) = &input
            && let Some(command) = self.command(text)
        {
            return self.run_command(conversation, command, rng);
        }
        match input {
            Input::Command(command) => self.run_command(conversation, command, rng),
            Input::Start => {
                let message = self.show_welcome(conversation, rng, true);
                Reply {
                    messages: vec![message],
                    answer: Answer::Initial,
                    path: AnswerPath::Start,
                    score: 0.0,
                }
            }
            Input::Pick(index) => self.pick(conversation, index, rng),
            Input::Choice { id, at } => self.pick_choice(conversation, &id, at, rng),
            Input::Text(text) if self.mode == MatchingMode::Chatmd => {
                self.typed(conversation, &text, rng)
            }
            Input::Text(text) | Input::Message(text) => match chat_pick(conversation, &text) {
                Some(index) => self.pick(conversation, index, rng),
                None => self.typed(conversation, &text, rng),
            },
        }
    }

    /// A conversation that starts with a typed message has the welcome's choices as its
    /// options (ChatMD shows the welcome message before anyone types).
    pub fn prime(&self, conversation: &mut Conversation) {
        let offered: Vec<OfferedChoice> = self
            .kb
            .welcome
            .choices
            .iter()
            .map(|c| display::offered(c, &self.strings.default_choice))
            .collect();
        display::offer(conversation, offered);
    }

    /// Shows the response with this exact title, as a click on a choice leading to it would
    /// (`None` when no response has that title).
    pub fn show_title(
        &self,
        conversation: &mut Conversation,
        title: &str,
        rng: &mut Rng,
    ) -> Option<Reply> {
        let index = self.kb.response_index(title)?;
        Some(Reply {
            messages: self.show_response(conversation, index, rng),
            answer: Answer::Response(title.to_string()),
            path: AnswerPath::Pick,
            score: 0.0,
        })
    }

    fn displayer<'a>(
        &'a self,
        conversation: &'a mut Conversation,
        rng: &'a mut Rng,
    ) -> Displayer<'a> {
        Displayer {
            kb: &self.kb,
            conversation,
            rng,
            default_choice: &self.strings.default_choice,
            skip_label: &self.strings.next_skip,
        }
    }

    /// The welcome message. At the start of a conversation its choices become the options
    /// typed labels are matched against; when re-shown through an empty target they do not
    /// (docs/chatmd.md §F18.29), but they are what a number or button picks.
    fn show_welcome(
        &self,
        conversation: &mut Conversation,
        rng: &mut Rng,
        start: bool,
    ) -> BotMessage {
        let show_once = !conversation.welcome_seen;
        conversation.welcome_seen = true;
        let (message, _) = self.displayer(conversation, rng).display(
            &self.kb.welcome,
            MessageRef::Welcome,
            show_once,
            start,
        );
        message
    }

    /// The welcome message shown again, as a reply that names it (`INITIAL`).
    fn welcome_reply(
        &self,
        conversation: &mut Conversation,
        rng: &mut Rng,
        path: AnswerPath,
    ) -> Reply {
        Reply {
            messages: vec![self.show_welcome(conversation, rng, false)],
            answer: Answer::Initial,
            path,
            score: 0.0,
        }
    }

    /// Shows a response and its `!SelectNext` follow-ups.
    fn show_response(
        &self,
        conversation: &mut Conversation,
        index: usize,
        rng: &mut Rng,
    ) -> Vec<BotMessage> {
        let mut messages = Vec::new();
        let mut current = Some(index);
        for _ in 0..MAX_FOLLOW_UPS {
            let Some(index) = current.take() else { break };
            let Some(response) = self.kb.responses.get(index) else {
                break;
            };
            let (message, effects) = self.displayer(conversation, rng).display(
                &response.message,
                MessageRef::Response(response.title.clone()),
                false,
                true,
            );
            if !message.markdown.is_empty() || !message.choices.is_empty() {
                messages.push(message);
            }
            if let Some(titles) = effects.select_next {
                let title = titles
                    .get(rng.below(titles.len()))
                    .cloned()
                    .unwrap_or_default();
                // docs/chatmd.md §M9: the drawn title is "typed" with only that response as
                // candidate; it matches itself unless it does not exist.
                let input = PreparedInput::new(&title, &[], self.kb.settings.content_search);
                match self
                    .matcher
                    .best(&self.kb, &input, Candidates::Selected(&title))
                {
                    Some((next, _)) => current = Some(next),
                    None => messages.push(self.fallback_message(conversation, rng).0),
                }
            }
        }
        messages
    }

    /// [`Input::Choice`]: the choice `id`, seen at `at`.
    fn pick_choice(
        &self,
        conversation: &mut Conversation,
        id: &str,
        at: usize,
        rng: &mut Rng,
    ) -> Reply {
        let ids: Vec<String> = conversation.shown.iter().map(display::choice_id).collect();
        let index = if ids.get(at).is_some_and(|shown| shown == id) {
            Some(at)
        } else {
            ids.iter().position(|shown| shown == id)
        };
        if let Some(index) = index {
            return self.pick(conversation, index, rng);
        }
        let mut welcome = self.show_welcome(conversation, rng, false);
        welcome.markdown = format!("{}\n\n{}", self.strings.stale_menu, welcome.markdown);
        Reply {
            messages: vec![welcome],
            answer: Answer::Initial,
            path: AnswerPath::Pick,
            score: 0.0,
        }
    }

    fn pick(&self, conversation: &mut Conversation, index: usize, rng: &mut Rng) -> Reply {
        let Some(choice) = conversation.shown.get(index).cloned() else {
            return Reply {
                messages: Vec::new(),
                answer: Answer::Nothing,
                path: AnswerPath::Pick,
                score: 0.0,
            };
        };
        self.follow(conversation, &choice, rng)
    }

    /// What a click on `choice` does.
    fn follow(
        &self,
        conversation: &mut Conversation,
        choice: &OfferedChoice,
        rng: &mut Rng,
    ) -> Reply {
        // A click resets the quiz error counter and cancels a pending question.
        conversation.next = None;
        conversation.next_displays = 0;
        if let Some((name, value)) = &choice.assignment {
            display::perform_assignment(conversation, name, value, rng);
        }
        let choice = choice.clone();
        match &choice.target {
            ChoiceTarget::Welcome => self.welcome_reply(conversation, rng, AnswerPath::Pick),
            ChoiceTarget::Response(title) => match self.kb.response_index(title) {
                Some(i) => Reply {
                    messages: self.show_response(conversation, i, rng),
                    answer: Answer::Response(title.clone()),
                    path: AnswerPath::Pick,
                    score: 0.0,
                },
                // The target names no response: a dangling choice in the base (`check` warns),
                // or a menu from before a reload that removed it. guichet mode looks for the
                // page it means; otherwise, since silence would look broken in a chat, start
                // again from the welcome message.
                None => match self.guichet.as_ref().and_then(|g| g.dangling(title)) {
                    Some(i) => Reply {
                        messages: self.show_response(conversation, i, rng),
                        answer: Answer::Response(self.kb.responses[i].title.clone()),
                        path: AnswerPath::Pick,
                        score: 0.0,
                    },
                    None => self.welcome_reply(conversation, rng, AnswerPath::Pick),
                },
            },
            ChoiceTarget::Url(url) => Reply {
                messages: vec![BotMessage {
                    markdown: format!("<{url}>"),
                    choices: Vec::new(),
                    expects_answer: false,
                    step_label: None,
                }],
                answer: Answer::Nothing,
                path: AnswerPath::Pick,
                score: 0.0,
            },
        }
    }

    /// docs/chatmd.md §M1 for a typed message.
    fn typed(&self, conversation: &mut Conversation, raw: &str, rng: &mut Rng) -> Reply {
        let settings = &self.kb.settings;
        let mut input = raw.to_string();
        if settings.dynamic_content {
            conversation
                .variables
                .insert(INPUT_VARIABLE.into(), raw.to_string());
            conversation.user_variables.insert(INPUT_VARIABLE.into());
        }
        // Legacy capture: store what was typed, then answer as if the title had been typed.
        if let Some((variable, target)) = conversation.capture.take() {
            conversation
                .variables
                .insert(variable.clone(), raw.to_string());
            conversation.user_variables.insert(variable);
            if conversation.next.is_none() {
                input = target;
            }
        }

        if let Some(words) = &self.bad_words
            && chatmd::is_bad_words(&input, words)
        {
            let index = rng.below(self.strings.bad_words.len());
            return Reply {
                messages: vec![BotMessage {
                    markdown: self
                        .strings
                        .bad_words
                        .get(index)
                        .cloned()
                        .unwrap_or_default(),
                    ..BotMessage::default()
                }],
                answer: Answer::BadWords,
                path: AnswerPath::Badwords,
                score: 0.0,
            };
        }

        if self.mode == MatchingMode::Guichet {
            return self.typed_guichet(conversation, &input, rng);
        }
        self.typed_chatmd(conversation, &input, rng)
    }

    /// docs/chatmd.md §M1 from step 4 on: typed option labels, scoring, quiz, fallback.
    fn typed_chatmd(&self, conversation: &mut Conversation, input: &str, rng: &mut Rng) -> Reply {
        let settings = &self.kb.settings;
        let next = conversation.next.clone();
        let synonyms: &[Vec<String>] = if next.is_some() { &[] } else { &self.synonyms };
        let prepared = PreparedInput::new(input, synonyms, settings.content_search);
        let candidates = match &next {
            Some(n) => Candidates::Next {
                target: &n.target,
                ignore_keywords: n.ignore_keywords,
            },
            None => Candidates::All,
        };
        let best = self.matcher.best(&self.kb, &prepared, candidates);
        let best_score = best.map_or(0.0, |(_, s)| s);

        // Typed option label (docs/chatmd.md §M3).
        let normalised = chatmd::normalize(input);
        let option = conversation
            .last_options
            .iter()
            .find(|o| o.typed && chatmd::label_matches(&o.raw_label, &normalised))
            .cloned();
        if let Some(option) = option {
            match &option.target {
                ChoiceTarget::Welcome => {
                    return Reply {
                        score: best_score,
                        ..self.welcome_reply(conversation, rng, AnswerPath::Option)
                    };
                }
                ChoiceTarget::Response(title) => {
                    if let Some(i) = self.kb.response_index(title) {
                        return Reply {
                            messages: self.show_response(conversation, i, rng),
                            answer: Answer::Response(title.clone()),
                            path: AnswerPath::Option,
                            score: best_score,
                        };
                    }
                }
                ChoiceTarget::Url(_) => {}
            }
        }

        if let Some(next) = next {
            // docs/chatmd.md §M8: only the target was scored.
            if let Some((index, score)) = best
                && score >= chatmd::NEXT_ACCEPT_THRESHOLD
            {
                if score > chatmd::NEXT_ACCEPT_THRESHOLD {
                    conversation.next = None;
                    conversation.next_displays = 0;
                }
                return Reply {
                    messages: self.show_response(conversation, index, rng),
                    answer: Answer::Response(self.kb.responses[index].title.clone()),
                    path: AnswerPath::Next,
                    score,
                };
            }
            let retry = next
                .retry
                .clone()
                .unwrap_or_else(|| self.strings.next_retry.clone());
            let mut messages = vec![BotMessage {
                markdown: retry,
                ..BotMessage::default()
            }];
            match &next.question {
                MessageRef::Welcome => messages.push(self.show_welcome(conversation, rng, false)),
                MessageRef::Response(title) => match self.kb.response_index(title) {
                    Some(i) => messages.extend(self.show_response(conversation, i, rng)),
                    None => conversation.next = None,
                },
            }
            return Reply {
                messages,
                answer: Answer::NextRetry,
                path: AnswerPath::Next,
                score: best_score,
            };
        }

        match best {
            Some((index, score)) => Reply {
                messages: self.show_response(conversation, index, rng),
                answer: Answer::Response(self.kb.responses[index].title.clone()),
                path: AnswerPath::Keywords,
                score,
            },
            None => self.fallback_reply(conversation, rng),
        }
    }

    /// The reply when nothing matched, in either matching mode: only the fallback message
    /// (see [`Self::fallback_message`]), with no score.
    fn fallback_reply(&self, conversation: &mut Conversation, rng: &mut Rng) -> Reply {
        let (message, shown) = self.fallback_message(conversation, rng);
        Reply {
            messages: vec![message],
            answer: Answer::Fallback { shown },
            path: AnswerPath::Fallback,
            score: 0.0,
        }
    }

    /// docs/chatmd.md §M12: the `fallback` response, else a default message never repeating one
    /// of the last few (without ChatMD's hang when exactly five are given).
    fn fallback_message(
        &self,
        conversation: &mut Conversation,
        rng: &mut Rng,
    ) -> (BotMessage, Option<String>) {
        let settings = &self.kb.settings;
        if let Some(title) = &settings.fallback
            && !settings.obfuscate
            && let Some(index) = self.kb.response_index(title)
        {
            let mut messages = self.show_response(conversation, index, rng);
            let first = if messages.is_empty() {
                BotMessage::default()
            } else {
                messages.remove(0)
            };
            return (first, Some(title.clone()));
        }
        let list: Vec<String> = match &settings.default_messages {
            Some(custom) if !custom.is_empty() => {
                let mut list = custom.clone();
                while list.len() < FALLBACK_MIN_LIST {
                    list.extend(custom.iter().cloned());
                }
                list
            }
            _ => self.strings.fallback.clone(),
        };
        let avoid = FALLBACK_HISTORY.min(list.len().saturating_sub(1));
        let recent: Vec<usize> = conversation
            .recent_fallbacks
            .iter()
            .rev()
            .take(avoid)
            .copied()
            .collect();
        let allowed: Vec<usize> = (0..list.len()).filter(|i| !recent.contains(i)).collect();
        let index = allowed.get(rng.below(allowed.len())).copied().unwrap_or(0);
        conversation.recent_fallbacks.push(index);
        if conversation.recent_fallbacks.len() > FALLBACK_HISTORY {
            conversation.recent_fallbacks.remove(0);
        }
        (
            BotMessage {
                markdown: list.get(index).cloned().unwrap_or_default(),
                ..BotMessage::default()
            },
            None,
        )
    }
}

/// The choice a chat message picks: a bare number (`2`, `2.`, `2)`) within the menu shown,
/// or a shown label typed exactly (case and accents aside).
fn chat_pick(conversation: &Conversation, text: &str) -> Option<usize> {
    let trimmed = text.trim();
    let digits = menu_number(trimmed);
    let digits = digits.as_ref();
    if !digits.is_empty() && digits.len() <= 3 && digits.chars().all(|c| c.is_ascii_digit()) {
        let n: usize = digits.parse().ok()?;
        return (1..=conversation.shown.len()).contains(&n).then(|| n - 1);
    }
    let normalised = chatmd::normalize(trimmed);
    conversation
        .shown
        .iter()
        .position(|c| chatmd::normalize(&c.label) == normalised)
}

/// Words people put around a menu number (`le 3`, `n°3`, `choix 2`, `3.`, `#2`, `2️⃣`, `la
/// deuxième`, `le 2e choix`): what is left is the number, or the text unchanged when it is
/// not one.
pub(crate) fn menu_number(text: &str) -> Cow<'_, str> {
    /// Normalised (`n°` and `nº` become `n` and `no`): how French writes "number", and
    /// articles.
    const BEFORE: &[&str] = &[
        "le", "la", "l", "numero", "n", "no", "num", "choix", "option", "reponse", "entree",
        // Fillers: `euh 2`, `alors le 3`, `ok 2`.
        "euh", "alors", "bon", "ok", "donc", "plutot",
    ];
    /// What a number or an ordinal may name after it (`la deuxième option`).
    const AFTER: &[&str] = &[
        "choix",
        "option",
        "proposition",
        "reponse",
        "bouton",
        "lien",
        // Politeness: `2 stp`, `le 3 merci`.
        "stp",
        "svp",
        "merci",
    ];
    /// Numbers spelt out, from one. Ordinals spelt out need a word before them (`la
    /// deuxième`): alone, `seconde` and `première` are school years.
    const CARDINALS: &[&str] = &[
        "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix",
    ];
    /// Ordinals spelt out, from the first.
    const ORDINALS: &[&[&str]] = &[
        &["premier", "premiere"],
        &["deuxieme", "second", "seconde"],
        &["troisieme"],
        &["quatrieme"],
        &["cinquieme"],
        &["sixieme"],
        &["septieme"],
        &["huitieme"],
        &["neuvieme"],
        &["dixieme"],
    ];
    let trimmed = text.trim().trim_end_matches(['.', ')', '!']).trim_end();
    if trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Cow::Borrowed(trimmed);
    }
    // `#2` and the keycap emoji `2️⃣` normalise to the bare number.
    let normalised = guichet::normalize(trimmed);
    if !normalised.is_empty() && normalised.bytes().all(|b| b.is_ascii_digit()) {
        return Cow::Owned(normalised);
    }
    // Ordinals written with digits (`2eme`, `1er`) are read as `2e`, `1e`.
    let mut words = guichet::words(&normalised);
    let typed = words.len();
    while words.len() > 1 && words.last().is_some_and(|w| AFTER.contains(&w.as_str())) {
        words.pop();
    }
    let Some((last, before)) = words.split_last() else {
        return Cow::Borrowed(trimmed);
    };
    if !before.iter().all(|w| BEFORE.contains(&w.as_str())) {
        return Cow::Borrowed(trimmed);
    }
    // A number spelt out, alone or not (`deux`, `le trois`).
    if let Some(at) = CARDINALS.iter().position(|n| n == last) {
        return Cow::Owned((at + 1).to_string());
    }
    // `2`, `2e` (`2ème`, `1er`…), or an ordinal spelt out, after a word around it: a lone
    // `2` is read above, a lone `1er` or `seconde` is no choice.
    if before.is_empty() && words.len() == typed {
        return Cow::Borrowed(trimmed);
    }
    let digits = last.strip_suffix('e').unwrap_or(last);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Cow::Owned(digits.to_string());
    }
    match ORDINALS
        .iter()
        .position(|forms| forms.contains(&last.as_str()))
    {
        Some(at) => Cow::Owned((at + 1).to_string()),
        None => Cow::Borrowed(trimmed),
    }
}

/// Content lines as ChatMD's matcher sees them: its parser has already turned internal links
/// `[x](#y)` into HTML anchors (docs/chatmd.md §F5.1, §M6.2), whose text then takes part in
/// content search.
fn content_search_line(line: &str) -> Cow<'_, str> {
    if !line.contains("](#") {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 16);
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](#").map(|c| open + c) else {
            break;
        };
        let Some(end) = rest[close + 3..].find(')').map(|e| close + 3 + e) else {
            break;
        };
        let label = &rest[open + 1..close];
        out.push_str(&rest[..open]);
        out.push_str(&format!(
            "<a href=\"{}\">{}</a>",
            &rest[close + 2..end],
            label
        ));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}
