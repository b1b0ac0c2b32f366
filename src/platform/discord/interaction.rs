//! The answer to a click or a slash command as the outbox keeps it, and what a restart may
//! still send of it; no I/O.
//!
//! An interaction is answered through its token: editing the original response
//! (`PATCH /webhooks/{app}/{token}/messages/@original`) can be repeated safely, a follow-up
//! (`POST /webhooks/{app}/{token}`) cannot (it takes no nonce). So the first message of an
//! answer goes to the original response (the deferred placeholder), sent again after a
//! restart as often as needed; the rest, when an answer is longer than one message, are
//! follow-ups, each recorded as sent right after it goes out. The token works for 15 minutes:
//! past that, an answer can only be dropped.

use std::time::Duration;

use super::layout::Outgoing;

/// How long Discord accepts an interaction's token for its response and follow-ups.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// What claims and the outbox name an interaction by.
const EVENT_PREFIX: &str = "interaction:";

/// The event id of interaction `id` (claims, outbox).
pub fn event_id(id: u64) -> String {
    format!("{EVENT_PREFIX}{id}")
}

/// Whether a queued reply is an interaction's (the others answer messages).
pub fn is_interaction(event_id: &str) -> bool {
    event_id.starts_with(EVENT_PREFIX)
}

/// How old an interaction's queued answer may be and still be sent at a start: within the
/// token's life, and no later than a missed message would be answered (`discord.catch_up`).
pub fn resend_window(catch_up: Duration) -> Duration {
    catch_up.min(TOKEN_LIFETIME)
}

/// Discord's refusals that no second try can change: the token expired (Unknown Webhook) or
/// is not valid, the interaction or its original response is gone. The answer is dropped.
pub fn gone_for_good(code: Option<isize>) -> bool {
    matches!(code, Some(10_015 | 50_027 | 10_062 | 10_008))
}

/// An interaction's answer in the outbox: the application and token it is sent with, and
/// what to send, laid out. The buttons' ids name the conversation (its channel and user), as
/// a queued answer to a message does; nothing else about the person.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueuedAnswer {
    pub application: u64,
    pub token: String,
    /// The first edits the original response; each other is a follow-up. Empty: the
    /// placeholder is deleted (nothing to say).
    pub parts: Vec<Outgoing>,
    /// Follow-ups already out (parts 1 to `followups_sent`), recorded one by one.
    pub followups_sent: usize,
    /// Only the person who interacted sees the answer (`/aide`). The original response is
    /// private from its deferral on; each follow-up must say so itself. Absent from answers
    /// queued by an older version, which were all public.
    #[serde(default)]
    pub private: bool,
}

impl QueuedAnswer {
    /// Nothing to send yet, through this application and token.
    pub fn new(application: u64, token: impl Into<String>) -> Self {
        Self {
            application,
            token: token.into(),
            parts: Vec::new(),
            followups_sent: 0,
            private: false,
        }
    }

    pub fn with_parts(self, parts: Vec<Outgoing>) -> Self {
        Self { parts, ..self }
    }

    /// The answer only the person who interacted sees, or everyone in the channel.
    pub fn private(self, private: bool) -> Self {
        Self { private, ..self }
    }

    pub fn to_json(&self) -> String {
        // Numbers and strings only: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    /// The indices of the parts still to follow up, in order.
    pub fn followups_left(&self) -> std::ops::Range<usize> {
        let first = self.followups_sent.saturating_add(1);
        first.min(self.parts.len())..self.parts.len()
    }
}

// The token lets whoever holds it answer as the bot for 15 minutes, and the parts are the
// bot's words to a person: neither in a log line, even through a stray `?answer`.
impl std::fmt::Debug for QueuedAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuedAnswer")
            .field("application", &self.application)
            .field("token", &format_args!("<redacted>"))
            .field("parts", &self.parts.len())
            .field("followups_sent", &self.followups_sent)
            .field("private", &self.private)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(content: &str) -> Outgoing {
        Outgoing {
            content: content.into(),
            rows: Vec::new(),
        }
    }

    #[test]
    fn an_answer_round_trips_through_the_outbox_json() {
        let answer = QueuedAnswer::new(7, "tok").with_parts(vec![part("a"), part("b")]);
        let json = answer.to_json();
        assert_eq!(QueuedAnswer::from_json(&json), Some(answer));
        assert_eq!(QueuedAnswer::from_json("{\"channel\":1}"), None);
        let private = QueuedAnswer::new(7, "tok").private(true);
        assert_eq!(QueuedAnswer::from_json(&private.to_json()), Some(private));
    }

    #[test]
    fn an_answer_queued_before_private_answers_existed_is_public() {
        let older = r#"{"application":7,"token":"tok","parts":[],"followups_sent":0}"#;
        assert_eq!(
            QueuedAnswer::from_json(older),
            Some(QueuedAnswer::new(7, "tok"))
        );
    }

    #[test]
    fn follow_ups_left_skip_the_original_and_those_sent() {
        let mut answer =
            QueuedAnswer::new(1, "t").with_parts(vec![part("0"), part("1"), part("2")]);
        assert_eq!(answer.followups_left(), 1..3);
        answer.followups_sent = 1;
        assert_eq!(answer.followups_left(), 2..3);
        answer.followups_sent = 2;
        assert!(answer.followups_left().is_empty());
        assert!(QueuedAnswer::new(1, "t").followups_left().is_empty());
        let one = QueuedAnswer::new(1, "t").with_parts(vec![part("0")]);
        assert!(one.followups_left().is_empty());
    }

    #[test]
    fn the_resend_window_is_the_shorter_of_catch_up_and_the_tokens_life() {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        assert_eq!(resend_window(minutes(5)), minutes(5));
        assert_eq!(resend_window(minutes(60)), TOKEN_LIFETIME);
    }

    #[test]
    fn interaction_event_ids_are_told_from_message_ids() {
        assert_eq!(event_id(42), "interaction:42");
        assert!(is_interaction(&event_id(42)));
        assert!(!is_interaction("42"));
        assert!(gone_for_good(Some(10_015)));
        assert!(!gone_for_good(Some(50_013)) && !gone_for_good(None));
    }

    #[test]
    fn debug_output_shows_neither_the_token_nor_the_text() {
        let answer = QueuedAnswer::new(1, "secret-token").with_parts(vec![part("Bonjour Ana")]);
        let shown = format!("{answer:?}");
        assert!(
            !shown.contains("secret-token") && !shown.contains("Ana"),
            "{shown}"
        );
    }
}
