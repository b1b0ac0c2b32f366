//! Messages the bot cannot decrypt yet: why (for `/metrics` and one warning per room), which
//! ones still wait for their key (kept in the state store across restarts), and whom the bot
//! already asked to send a message again. Only bookkeeping: the adapter does the I/O.

use std::collections::{HashMap, HashSet};

use matrix_sdk::deserialized_responses::UnableToDecryptReason;
use serde::{Deserialize, Serialize};

/// Where the waiting messages are kept in the state store.
pub const PENDING_META: &str = "matrix.undecryptable";

/// Past this many waiting messages the oldest are dropped: a flood of undecryptable messages
/// (a room whose keys never come) must not grow the state without bound.
const MAX_PENDING: usize = 200;

/// Why a message could not be decrypted, as counted in `/metrics` and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The key has not arrived (yet): the sender's client did not share it with this device,
    /// or it is still on its way.
    MissingKey,
    /// The sender's client said it will not share the key with this device (usually: the
    /// device is not verified and the sender excludes unverified devices).
    Withheld,
    /// The key arrived, but from a later point of the conversation than this message.
    UnknownIndex,
    /// The sender's identity does not meet the bot's trust requirement.
    UntrustedSender,
    /// Anything else: a malformed event, a corrupt key.
    Other,
}

impl Reason {
    pub fn from_sdk(reason: &UnableToDecryptReason) -> Self {
        match reason {
            UnableToDecryptReason::MissingMegolmSession {
                withheld_code: Some(_),
            } => Self::Withheld,
            UnableToDecryptReason::MissingMegolmSession {
                withheld_code: None,
            } => Self::MissingKey,
            UnableToDecryptReason::UnknownMegolmMessageIndex => Self::UnknownIndex,
            UnableToDecryptReason::SenderIdentityNotTrusted(_) => Self::UntrustedSender,
            _ => Self::Other,
        }
    }

    /// The `reason` label in `/metrics`.
    pub fn label(self) -> &'static str {
        match self {
            Self::MissingKey => "missing_key",
            Self::Withheld => "withheld",
            Self::UnknownIndex => "unknown_index",
            Self::UntrustedSender => "untrusted_sender",
            Self::Other => "other",
        }
    }

    /// What the admin can do about it, for the log.
    pub fn advice(self) -> &'static str {
        match self {
            Self::MissingKey | Self::Withheld => {
                "the sender's client did not share the key with the bot's device: check that \
                 the device is verified (GET /healthz; docs/matrix.md)"
            }
            Self::UnknownIndex => {
                "the key came from later in the conversation: the bot's device joined or was \
                 verified after the message was sent; new messages are readable"
            }
            Self::UntrustedSender => "the sender's device is not trusted",
            Self::Other => "the message or its key is damaged",
        }
    }
}

/// A message waiting for its key. No content, only where and when: the event is fetched again
/// from the homeserver once the key is here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEvent {
    pub event_id: String,
    pub room_id: String,
    pub sender: String,
    /// The Megolm session whose key is missing, when known: a key that arrives for it is this
    /// message's.
    pub session_id: Option<String>,
    /// When it was sent (the homeserver's clock), in ms.
    pub sent_ms: i64,
    /// When the bot first failed to decrypt it, in ms: the wait for the key counts from here.
    pub seen_ms: i64,
}

/// The messages waiting for their keys, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    events: Vec<PendingEvent>,
}

impl Pending {
    /// Reads the saved list; a damaged one is dropped (it only ever holds retries).
    pub fn from_json(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// Adds a message; `false` if it was already waiting.
    pub fn add(&mut self, event: PendingEvent) -> bool {
        if self.events.iter().any(|e| e.event_id == event.event_id) {
            return false;
        }
        self.events.push(event);
        if self.events.len() > MAX_PENDING {
            let excess = self.events.len() - MAX_PENDING;
            self.events.drain(..excess);
        }
        true
    }

    /// Takes a message out; `None` if it no longer waits (answered, or asked again).
    pub fn take(&mut self, event_id: &str) -> Option<PendingEvent> {
        let index = self.events.iter().position(|e| e.event_id == event_id)?;
        Some(self.events.remove(index))
    }

    /// The messages a newly arrived key may open: those of its session, or, when a message's
    /// session is unknown, those of its room.
    pub fn opened_by(&self, room_id: &str, session_id: &str) -> Vec<PendingEvent> {
        self.events
            .iter()
            .filter(|e| {
                e.room_id == room_id && e.session_id.as_deref().is_none_or(|id| id == session_id)
            })
            .cloned()
            .collect()
    }

    /// Drops the messages sent before `cutoff_ms` (older than `catch_up`: an answer that late
    /// is noise); returns how many.
    pub fn drop_older_than(&mut self, cutoff_ms: i64) -> usize {
        let before = self.events.len();
        self.events.retain(|e| e.sent_ms >= cutoff_ms);
        before - self.events.len()
    }

    pub fn events(&self) -> &[PendingEvent] {
        &self.events
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// Who was told what, so each room gets one warning per reason in the log, and each person
/// one "send it again" per room within a window.
#[derive(Debug, Default)]
pub struct Told {
    warned: HashSet<(String, Reason)>,
    /// (room, sender) → when they were last asked to send again, in ms.
    asked: HashMap<(String, String), i64>,
}

impl Told {
    /// `true` the first time `reason` is seen in `room`: log it then.
    pub fn first_warning(&mut self, room_id: &str, reason: Reason) -> bool {
        self.warned.insert((room_id.to_owned(), reason))
    }

    /// `true` if `sender` may be asked in `room` now (not asked within `window_ms`), and
    /// records it.
    pub fn may_ask(&mut self, room_id: &str, sender: &str, now_ms: i64, window_ms: i64) -> bool {
        self.asked.retain(|_, at| now_ms - *at < window_ms);
        let key = (room_id.to_owned(), sender.to_owned());
        if self.asked.contains_key(&key) {
            return false;
        }
        self.asked.insert(key, now_ms);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, room: &str, session: Option<&str>, sent_ms: i64) -> PendingEvent {
        PendingEvent {
            event_id: id.into(),
            room_id: room.into(),
            sender: "@ana:x".into(),
            session_id: session.map(Into::into),
            sent_ms,
            seen_ms: sent_ms,
        }
    }

    #[test]
    fn reasons_have_stable_labels() {
        let cases = [
            (
                UnableToDecryptReason::MissingMegolmSession {
                    withheld_code: None,
                },
                "missing_key",
            ),
            (
                UnableToDecryptReason::UnknownMegolmMessageIndex,
                "unknown_index",
            ),
            (UnableToDecryptReason::MalformedEncryptedEvent, "other"),
        ];
        for (sdk, label) in cases {
            assert_eq!(Reason::from_sdk(&sdk).label(), label, "{sdk:?}");
        }
    }

    #[test]
    fn a_key_opens_its_session_or_unknown_sessions_of_its_room() {
        let mut pending = Pending::default();
        assert!(pending.add(event("$1", "!a", Some("s1"), 10)));
        assert!(!pending.add(event("$1", "!a", Some("s1"), 10)), "once");
        pending.add(event("$2", "!a", Some("s2"), 20));
        pending.add(event("$3", "!a", None, 30));
        pending.add(event("$4", "!b", Some("s1"), 40));
        let opened: Vec<String> = pending
            .opened_by("!a", "s1")
            .into_iter()
            .map(|e| e.event_id)
            .collect();
        assert_eq!(opened, ["$1", "$3"]);
        assert_eq!(
            pending.take("$1").map(|e| e.event_id).as_deref(),
            Some("$1")
        );
        assert_eq!(pending.take("$1"), None, "taken once");
    }

    #[test]
    fn the_list_survives_a_restart_drops_old_messages_and_stays_bounded() {
        let mut pending = Pending::default();
        for i in 0..(MAX_PENDING as i64 + 5) {
            pending.add(event(&format!("${i}"), "!a", None, i));
        }
        assert_eq!(pending.events().len(), MAX_PENDING);
        assert_eq!(pending.events()[0].event_id, "$5", "the oldest went first");
        let restored = Pending::from_json(&pending.to_json());
        assert_eq!(restored, pending);
        assert_eq!(Pending::from_json("not json"), Pending::default());
        let mut restored = restored;
        assert_eq!(restored.drop_older_than(100), 95);
        assert!(restored.events().iter().all(|e| e.sent_ms >= 100));
    }

    #[test]
    fn one_warning_per_room_and_reason_and_one_request_per_person_in_a_window() {
        let mut told = Told::default();
        assert!(told.first_warning("!a", Reason::MissingKey));
        assert!(!told.first_warning("!a", Reason::MissingKey));
        assert!(told.first_warning("!a", Reason::Withheld));
        assert!(told.first_warning("!b", Reason::MissingKey));

        assert!(told.may_ask("!a", "@ana:x", 0, 1000));
        assert!(!told.may_ask("!a", "@ana:x", 999, 1000));
        assert!(told.may_ask("!a", "@bob:x", 999, 1000), "another person");
        assert!(told.may_ask("!b", "@ana:x", 999, 1000), "another room");
        assert!(
            told.may_ask("!a", "@ana:x", 1000, 1000),
            "the window passed"
        );
    }
}
