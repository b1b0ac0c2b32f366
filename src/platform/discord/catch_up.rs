//! Where to catch up after a stop: the channels the bot talks in, and the last message it
//! handled in each, kept in the state store (meta key [`META_KEY`]).
//!
//! Discord sends a message once, on the gateway session that was open; a new process opens a
//! new session (IDENTIFY), and only a resumed one gets what it missed. A question received and
//! not yet claimed when the process died, or asked while it was down, would be lost: at READY
//! the handler reads each known channel's messages after its mark (`GET
//! /channels/{id}/messages?after=`) and handles them like gateway ones, the claims making a
//! message handled twice answered once. No I/O here: the handler loads, saves and reads.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The state store's meta key of the marks.
pub const META_KEY: &str = "discord.catch_up";

/// Channels kept: the most recently active. A bot in more channels than this catches up in
/// these only (each costs a request at every READY).
pub const MAX_CHANNELS: usize = 200;

/// A channel left unused this long is forgotten: its messages' claims are gone by then
/// (`store::DEFAULT_EVENT_RETENTION`), so nothing older could be told handled anyway.
pub const KEPT_FOR_MS: i64 = crate::store::DEFAULT_EVENT_RETENTION.as_millis() as i64;

/// Messages read per request: Discord's maximum.
pub const PAGE: u8 = 100;

/// Pages read back per channel at most, newest first (a busy server channel after a long
/// stop): past that, the oldest are not read, and the log says so.
pub const MAX_PAGES: usize = 10;

/// One channel's mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// Every message up to this id was handled (or older than the catch-up window).
    pub after: u64,
    /// A server channel (REST messages do not say: they carry no `guild_id`).
    pub guild: bool,
    /// When the bot last had a message here (ms since the epoch).
    pub at: i64,
}

/// Every channel's mark: channel ids and message ids, no text, no user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marks {
    channels: HashMap<u64, Mark>,
}

impl Marks {
    pub fn from_json(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A message `id` arrived in `channel`, not handled yet. A channel seen for the first
    /// time is marked just before it, so that a stop before it is handled leaves it to catch
    /// up. Whether the marks changed (and must be saved before the message is handled).
    pub fn arrived(&mut self, channel: u64, guild: bool, id: u64, now: i64) -> bool {
        if self.channels.contains_key(&channel) {
            return false;
        }
        self.channels.insert(
            channel,
            Mark {
                after: id.saturating_sub(1),
                guild,
                at: now,
            },
        );
        self.prune(now);
        true
    }

    /// Message `id` of `channel` was handled: claimed, and answered or queued. Marks only
    /// move forward. Whether they changed.
    pub fn handled(&mut self, channel: u64, guild: bool, id: u64, now: i64) -> bool {
        let mark = self.channels.entry(channel).or_insert(Mark {
            after: 0,
            guild,
            at: now,
        });
        if mark.after >= id {
            return false;
        }
        mark.after = id;
        mark.at = now;
        self.prune(now);
        true
    }

    /// The channels to read, most recently active first, and their marks.
    pub fn to_read(&self, now: i64) -> Vec<(u64, Mark)> {
        let mut channels: Vec<(u64, Mark)> = self
            .channels
            .iter()
            .filter(|(_, mark)| now.saturating_sub(mark.at) <= KEPT_FOR_MS)
            .map(|(channel, mark)| (*channel, *mark))
            .collect();
        channels.sort_by_key(|(channel, mark)| (std::cmp::Reverse(mark.at), *channel));
        channels.truncate(MAX_CHANNELS);
        channels
    }

    /// Forgets channels unused for [`KEPT_FOR_MS`], and the least recently active beyond
    /// [`MAX_CHANNELS`].
    fn prune(&mut self, now: i64) {
        self.channels
            .retain(|_, mark| now.saturating_sub(mark.at) <= KEPT_FOR_MS);
        if self.channels.len() > MAX_CHANNELS {
            let keep: Vec<u64> = self
                .to_read(now)
                .into_iter()
                .map(|(channel, _)| channel)
                .collect();
            self.channels.retain(|channel, _| keep.contains(channel));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_channel_is_marked_before_its_first_message_and_marks_only_move_forward() {
        let mut marks = Marks::default();
        assert!(marks.arrived(7, false, 100, 1));
        assert_eq!(
            marks.to_read(1),
            [(
                7,
                Mark {
                    after: 99,
                    guild: false,
                    at: 1
                }
            )]
        );
        // Known: an arrival changes nothing (the mark is behind it already).
        assert!(!marks.arrived(7, false, 101, 2));
        assert!(marks.handled(7, false, 101, 3));
        assert!(!marks.handled(7, false, 100, 4), "never backwards");
        assert_eq!(marks.to_read(4)[0].1.after, 101);
        let copy = Marks::from_json(&marks.to_json());
        assert_eq!(copy, marks);
        assert_eq!(Marks::from_json("not json"), Marks::default());
    }

    #[test]
    fn old_channels_are_forgotten_and_the_list_is_bounded() {
        let mut marks = Marks::default();
        marks.handled(1, true, 10, 0);
        marks.handled(2, true, 10, KEPT_FOR_MS);
        assert_eq!(marks.to_read(KEPT_FOR_MS + 1).len(), 1, "channel 1 too old");
        for channel in 0..(MAX_CHANNELS as u64 + 50) {
            marks.handled(100 + channel, false, 5, KEPT_FOR_MS + channel as i64);
        }
        let read = marks.to_read(KEPT_FOR_MS + 1_000);
        assert_eq!(read.len(), MAX_CHANNELS);
        assert_eq!(
            read[0].0,
            100 + MAX_CHANNELS as u64 + 49,
            "most recent first"
        );
        assert!(marks.channels.len() <= MAX_CHANNELS);
    }
}
