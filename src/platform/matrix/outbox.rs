//! An answer as the outbox keeps it between its turn and its delivery (see
//! [`crate::store::StateStore`]): the room and the events to send, and the transaction ids
//! they go out with, derived from the question's event so that a resend after a restart
//! reuses them.

use matrix_sdk::ruma::OwnedTransactionId;
use matrix_sdk::ruma::events::room::message::RoomMessageEventContent;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The events of one answer, in order, and where they go.
#[derive(Debug, Serialize, Deserialize)]
pub struct Queued {
    pub room: String,
    /// Each event's content as the client-server API carries it.
    events: Vec<Box<RawValue>>,
}

impl Queued {
    pub fn new(room: &str, contents: &[RoomMessageEventContent]) -> Self {
        Self {
            room: room.to_owned(),
            events: contents
                .iter()
                .filter_map(|content| serde_json::value::to_raw_value(content).ok())
                .collect(),
        }
    }

    pub fn to_json(&self) -> String {
        // Strings and already-serialised event contents.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    /// The events to send again; one that no longer reads (a newer format) is left out.
    pub fn contents(&self) -> Vec<RoomMessageEventContent> {
        self.events
            .iter()
            .filter_map(|event| serde_json::from_str(event.get()).ok())
            .collect()
    }
}

/// The transaction id of the `index`-th event answering `event`: the same on every try and
/// after a restart, so the homeserver keeps one event however often it is sent. Event ids
/// hold `$`, `:` and `/`: hashed into a short, plain id.
pub fn transaction_id(event: &str, index: usize) -> OwnedTransactionId {
    // FNV-1a, 64 bits: stable across builds and platforms (the std hasher is not).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in event.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    OwnedTransactionId::from(format!("guichet-{hash:016x}-{index}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_reads_back_and_keeps_its_transaction_ids() {
        let contents = vec![
            RoomMessageEventContent::text_plain("Bonjour"),
            RoomMessageEventContent::notice_html("Menu", "<b>Menu</b>"),
        ];
        let queued = Queued::new("!room:example.org", &contents);
        let back = Queued::from_json(&queued.to_json()).unwrap();
        assert_eq!(back.room, "!room:example.org");
        let json = |c: &[RoomMessageEventContent]| serde_json::to_value(c).unwrap();
        assert_eq!(json(&back.contents()), json(&contents));
        assert_eq!(
            transaction_id("$abc:example.org", 1),
            transaction_id("$abc:example.org", 1)
        );
        assert_ne!(
            transaction_id("$abc:example.org", 0),
            transaction_id("$abc:example.org", 1)
        );
        assert_ne!(
            transaction_id("$abc:example.org", 0),
            transaction_id("$abd:example.org", 0)
        );
    }
}
