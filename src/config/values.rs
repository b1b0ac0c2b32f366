//! Single values: those serde reads checked (the admin address, Discord ids, `[limits]`;
//! durations are in `duration.rs`), and the checks of Matrix ids and loopback URLs.

use std::fmt;
use std::net::SocketAddr;

use serde::de::{Deserializer, Error as _, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::{DEFAULT_THROTTLE_MESSAGES, DEFAULT_THROTTLE_SECONDS, Throttle};

/// Starts the message of a check's refusal, to tell it from serde's own (about types).
pub(super) const REFUSED: char = '\u{1}';

/// A `T` as written, made the setting by `make`, whose refusal is reported at the value.
fn checked<'de, D: Deserializer<'de>, T: Deserialize<'de>, U>(
    d: D,
    make: impl FnOnce(T) -> Result<U, String>,
) -> Result<U, D::Error> {
    make(T::deserialize(d)?).map_err(|reason| D::Error::custom(format!("{REFUSED}{reason}")))
}

pub(super) fn listen<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    checked(d, |listen: String| {
        listen.trim().parse().map_err(|_| {
            format!(
                "{listen:?} is not an IP address and port (like \"127.0.0.1:9100\", or \"0.0.0.0:9100\" in a container)"
            )
        })
    })
}

/// Discord ids: numbers, or digits in quotes (ids are often copied with them).
pub(super) fn ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    struct Id(u64);
    impl<'de> Deserialize<'de> for Id {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(Id(0))
        }
    }
    impl Visitor<'_> for Id {
        type Value = Id;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a Discord id")
        }
        fn visit_i64<E: serde::de::Error>(self, id: i64) -> Result<Id, E> {
            self.visit_str(&id.to_string())
        }
        fn visit_str<E: serde::de::Error>(self, id: &str) -> Result<Id, E> {
            match id.trim().parse() {
                Ok(id) if id > 0 => Ok(Id(id)),
                _ => Err(E::custom(format!(
                    "{REFUSED}{id:?} is not a Discord id (a number like 123456789012345678)"
                ))),
            }
        }
    }
    Ok(Vec::<Id>::deserialize(d)?
        .into_iter()
        .map(|Id(id)| id)
        .collect())
}

/// `[limits]` as written: the throttle, off with `messages = 0`.
#[derive(Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct Limits {
    #[serde(deserialize_with = "messages")]
    messages: Option<u32>,
    #[serde(deserialize_with = "per_seconds")]
    per_seconds: Option<u64>,
}

impl Limits {
    pub(super) fn throttle(self) -> Option<Throttle> {
        let messages = self.messages.unwrap_or(DEFAULT_THROTTLE_MESSAGES);
        let seconds = self.per_seconds.unwrap_or(DEFAULT_THROTTLE_SECONDS);
        let window = std::time::Duration::from_secs(seconds);
        std::num::NonZeroU32::new(messages).map(|messages| Throttle { messages, window })
    }

    /// `Settings::throttle` read from `[limits]`.
    pub(super) fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Throttle>, D::Error> {
        Self::deserialize(d).map(Self::throttle)
    }

    /// `Settings::throttle` written as `[limits]`: `messages = 0` when it is off.
    pub(super) fn write<S: Serializer>(
        throttle: &Option<Throttle>,
        to: S,
    ) -> Result<S::Ok, S::Error> {
        let limits = Limits {
            messages: Some(throttle.map_or(0, |throttle| throttle.messages.get())),
            per_seconds: throttle.map(|throttle| throttle.window.as_secs()),
        };
        limits.serialize(to)
    }
}

fn messages<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    checked(d, |n: i64| {
        u32::try_from(n)
            .map(Some)
            .map_err(|_| format!("must be between 0 (no limit) and {}, not {n}", u32::MAX))
    })
}

fn per_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    checked(d, |n: i64| match u64::try_from(n) {
        Ok(seconds) if seconds > 0 => Ok(Some(seconds)),
        _ => Err(format!("must be at least 1 second, not {n}")),
    })
}

/// Whether the host of a URL (past its `http://`) is this machine: where a plain `http://`
/// homeserver is fine, and the only place `discord.api_base` may point.
pub(super) fn is_loopback_url(rest: &str) -> bool {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or(""),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A room id: `!opaque:server`, or since room version 12 just `!opaque` (the server part is
/// gone; Synapse makes such rooms by default).
pub(super) fn is_room_id(id: &str) -> bool {
    id.strip_prefix('!')
        .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
}

/// `@local:server`-shaped (or `!`, `#`): the sigil, something, a colon, a server.
pub(super) fn is_matrix_id(id: &str, sigil: char) -> bool {
    id.strip_prefix(sigil)
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(local, server)| {
            !local.is_empty() && !server.is_empty() && !id.chars().any(char::is_whitespace)
        })
}
