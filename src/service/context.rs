//! The port every platform adapter calls: the bot, the per-user throttle, the status board
//! (health and metrics), the statistics and the shutdown signal. An adapter turns its
//! platform's events into [`Context::handle`] calls and the [`Outcome`]s into platform
//! messages.

use std::sync::Arc;
use std::time::Instant;

use crate::engine::{Answer, Input, Reply};
use crate::store::{ConversationKey, StoreError};

use super::stats::Stats;
use super::status::Status;
use super::throttle::{Admission, Throttle};
use super::{Bot, now_ms};

/// What an adapter gets: everything a turn needs besides the platform.
#[derive(Debug, Clone)]
pub struct Context {
    pub bot: Arc<Bot>,
    pub status: Arc<Status>,
    pub throttle: Option<Arc<Throttle>>,
    /// Becomes `true` when the daemon shuts down: stop taking messages, finish replies.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Said once to a user who sends too much too fast.
    pub throttle_notice: String,
    /// Opt-in anonymous statistics.
    pub stats: Option<Arc<Stats>>,
}

/// What an adapter should do with a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Reply(Reply),
    /// The user is throttled: this polite notice, once.
    Notice(String),
    /// Nothing to send.
    Silent,
}

impl Context {
    /// A context for a single local user (the terminal chat): no throttle, no shutdown.
    pub fn local(bot: Arc<Bot>, throttle_notice: String) -> Self {
        let (_, shutdown) = tokio::sync::watch::channel(false);
        Self {
            bot,
            status: Arc::new(Status::new()),
            throttle: None,
            shutdown,
            throttle_notice,
            stats: None,
        }
    }

    /// Handles one input of one user: throttle, engine, state, metrics.
    pub fn handle(&self, key: &ConversationKey, input: Input) -> Result<Outcome, StoreError> {
        let outcome = self.turn(key, input, |bot, input, now| {
            bot.respond(key, input, now).map(Some)
        })?;
        // A plain turn always happens: only an event's turn can have been handled before.
        Ok(outcome.unwrap_or(Outcome::Silent))
    }

    /// [`Context::handle`] for an input a platform event brought, exactly once: the turn's
    /// state, its event claim and its reply (`queued`: what the adapter will send, and where)
    /// commit together, as [`Bot::handle_event`] says; the adapter sends, then marks it sent.
    /// `None` when the event was handled before. A throttled event is claimed with no turn.
    pub fn handle_event(
        &self,
        key: &ConversationKey,
        input: Input,
        event_id: &str,
        queued: impl FnOnce(&Reply) -> String,
    ) -> Result<Option<Outcome>, StoreError> {
        // An event handled before (redelivered, or read again from history after a restart)
        // goes no further: it must not take a place in its sender's rate limit, which would
        // leave a new question of theirs unanswered.
        if self.bot.store().event_claimed(&key.platform, event_id)? {
            return Ok(None);
        }
        let outcome = self.turn(key, input, |bot, input, now| {
            bot.handle_event(key, input, event_id, now, queued)
        })?;
        if let Some(Outcome::Notice(_) | Outcome::Silent) = &outcome
            && !self
                .bot
                .store()
                .claim_event(&key.platform, event_id, now_ms())?
        {
            // Throttled, and a redelivery: the notice (if any) went the first time.
            return Ok(None);
        }
        Ok(outcome)
    }

    /// Throttle, the turn `run` does, statistics and metrics.
    fn turn(
        &self,
        key: &ConversationKey,
        input: Input,
        run: impl FnOnce(&Bot, Input, i64) -> Result<Option<Reply>, StoreError>,
    ) -> Result<Option<Outcome>, StoreError> {
        let platform = key.platform.clone();
        // Opening a conversation is not a message from the user.
        let from_user = !matches!(input, Input::Start);
        if from_user {
            self.status.message_received(&platform);
        }
        if let Some(throttle) = self.throttle.as_ref().filter(|_| from_user) {
            match throttle.admit(key, Instant::now()) {
                Admission::Allow => {}
                Admission::Notify => {
                    return Ok(Some(Outcome::Notice(self.throttle_notice.clone())));
                }
                Admission::Silent => return Ok(Some(Outcome::Silent)),
            }
        }
        let started = Instant::now();
        let question = match &input {
            Input::Text(text) | Input::Message(text) => Some(text.clone()),
            Input::Start | Input::Pick(_) | Input::Choice { .. } | Input::Command(_) => None,
        };
        let now = now_ms();
        let Some(reply) = run(&self.bot, input, now)? else {
            return Ok(None);
        };
        if let Some(stats) = &self.stats
            && let Err(err) = stats.record(&reply.answer, question.as_deref(), now)
        {
            tracing::warn!(error = %err, "could not record statistics");
        }
        let fallback = matches!(reply.answer, Answer::Fallback { .. });
        self.status.answered(&platform, fallback, started.elapsed());
        Ok(Some(Outcome::Reply(reply)))
    }

    /// True once the daemon is shutting down.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }
}
