//! The schema: the serde structs the file and the `GUICHET_…` variables are read into.
//!
//! A key is a field here, and nothing else: its variable (`GUICHET_<SECTION>_<KEY>`), its
//! type check and the "did you mean" hints all follow from the field (see `schema.rs`).
//! Stage two (`validate.rs`) then turns the field into a setting, and `config.example.toml`
//! documents it (a test checks that every field is there). A section name holds no `_`, so a
//! variable splits unambiguously at its first one.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use super::{KeyRecipients, MessageType, RoomPolicy, Secret};
use crate::engine::MatchingMode;

/// A key as read: absent, or its value and where it was written (a span of the file, or the
/// span `read.rs` gives an environment variable).
pub(super) type Field<T> = Option<Spanned<T>>;

/// The top level. Durations and paths are strings here; stage two checks them, with the key
/// and line in every message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) content: Field<String>,
    pub(super) state_dir: Field<String>,
    pub(super) matching: Field<MatchingMode>,
    pub(super) idle_reset: Field<String>,
    pub(super) forget_after: Field<String>,
    pub(super) matrix: Field<RawMatrix>,
    pub(super) discord: Field<RawDiscord>,
    pub(super) admin: Field<RawAdmin>,
    pub(super) limits: Field<RawLimits>,
    pub(super) stats: Field<RawStats>,
    /// Overrides of [`crate::strings::Strings`], whose fields are the keys: a map here so
    /// that a field added there is configurable at once. Checked in key order, as before.
    pub(super) strings: Field<BTreeMap<String, Spanned<toml::Value>>>,
}

/// `[matrix]`. A secret `x` may instead be read from the file named by `x_file`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMatrix {
    pub(super) homeserver: Field<String>,
    pub(super) user: Field<String>,
    pub(super) password: Field<Secret>,
    pub(super) password_file: Field<String>,
    pub(super) access_token: Field<Secret>,
    pub(super) access_token_file: Field<String>,
    pub(super) device_name: Field<String>,
    pub(super) recovery_key: Field<Secret>,
    pub(super) recovery_key_file: Field<String>,
    pub(super) allowed_inviters: Field<Vec<String>>,
    pub(super) rooms: Field<RoomPolicy>,
    pub(super) msgtype: Field<MessageType>,
    pub(super) catch_up: Field<String>,
    pub(super) prefix: Field<String>,
    pub(super) admin_room: Field<String>,
    pub(super) late_key_wait: Field<String>,
    pub(super) key_recipients: Field<KeyRecipients>,
}

/// `[discord]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDiscord {
    pub(super) token: Field<Secret>,
    pub(super) token_file: Field<String>,
    pub(super) guild_ids: Field<DiscordIds>,
    pub(super) message_content: Field<bool>,
    pub(super) catch_up: Field<String>,
    pub(super) api_base: Field<String>,
}

/// `[admin]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdmin {
    pub(super) listen: Field<String>,
}

/// `[limits]`. Signed, so that `-1` is a bad value with its reason, not a type error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub(super) messages: Field<i64>,
    pub(super) per_seconds: Field<i64>,
}

/// `[stats]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStats {
    pub(super) enabled: Field<bool>,
}

/// Discord ids, written as numbers or as strings of digits (ids are often copied with
/// quotes).
#[derive(Debug)]
pub(super) struct DiscordIds(pub(super) Vec<u64>);

/// The words of type errors: stage one turns serde's "expected …" into the message.
pub(super) const DISCORD_IDS: &str = "a list of Discord ids";

impl<'de> Deserialize<'de> for DiscordIds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// One id; says it expects the list, so an item's type error reads like the list's.
        struct Id(u64);
        fn id<E: de::Error>(text: String) -> Result<Id, E> {
            match text.trim().parse() {
                Ok(id) if id > 0 => Ok(Id(id)),
                _ => Err(E::custom(format!(
                    "{text:?} is not a Discord id (a number like 123456789012345678)"
                ))),
            }
        }
        impl<'de> Deserialize<'de> for Id {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_any(Ids)
            }
        }
        struct Ids;
        impl<'de> Visitor<'de> for Ids {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(DISCORD_IDS)
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Id, E> {
                id(text.to_owned())
            }
            fn visit_i64<E: de::Error>(self, number: i64) -> Result<Id, E> {
                id(number.to_string())
            }
        }
        struct List;
        impl<'de> Visitor<'de> for List {
            type Value = DiscordIds;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(DISCORD_IDS)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut items: A,
            ) -> Result<DiscordIds, A::Error> {
                let mut ids = Vec::new();
                while let Some(Id(id)) = items.next_element()? {
                    ids.push(id);
                }
                Ok(DiscordIds(ids))
            }
        }
        deserializer.deserialize_seq(List)
    }
}
