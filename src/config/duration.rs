//! Durations as people write them (`90d`, `5m`, `30s`, `1h30m`).

use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

use super::{DAY, HOUR, MINUTE, Result};

/// Starts a duration's refusal, and parts the value written from the reason.
pub(super) const NOT_A_DURATION: char = '\u{2}';

/// Units and their length in milliseconds, shortest first.
const UNITS: &[(&str, u64)] = &[
    ("ms", 1),
    ("s", 1_000),
    ("m", MINUTE * 1_000),
    ("h", HOUR * 1_000),
    ("d", DAY * 1_000),
];

/// `"300ms"`, `"30s"`, `"5m"`, `"24h"`, `"90d"`, or several together (`"1h30m"`). Whole
/// numbers only, and always a unit: a bare `24` could be hours or seconds.
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("it is empty".to_owned());
    }
    // How many bytes `rest` starts with that are of `kind`.
    let run = |rest: &str, kind: fn(&u8) -> bool| rest.bytes().take_while(kind).count();
    let (mut rest, mut millis) = (text, 0_u64);
    while !rest.is_empty() {
        let (number, after) = rest.split_at(run(rest, u8::is_ascii_digit));
        let (unit, after) = after.split_at(run(after, u8::is_ascii_alphabetic));
        if number.is_empty() {
            return Err(format!("expected a number at {rest:?}"));
        }
        let Some((_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(match after.chars().next() {
                _ if !unit.is_empty() => format!("unknown unit {unit:?}"),
                Some('.' | ',') => "use whole numbers (\"90m\" rather than \"1.5h\")".to_owned(),
                Some(other) => format!("unexpected {other:?} after {number}"),
                None => format!("{number} has no unit"),
            });
        };
        let part = number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(*scale));
        millis = part
            .and_then(|n| millis.checked_add(n))
            .ok_or_else(|| "it is too long".to_owned())?;
        rest = after;
    }
    Ok(Duration::from_millis(millis))
}

/// The inverse of `parse_duration`, in the largest units that divide it: `"24h"`, `"1h30m"`.
pub(super) fn format_duration(duration: Duration) -> String {
    let mut millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    if millis == 0 {
        return "0s".to_owned();
    }
    // "24h" reads better than "1d"; days only from two on ("48h" is "2d").
    let units = if millis < 2 * DAY * 1_000 {
        &UNITS[..4]
    } else {
        UNITS
    };
    let mut text = String::new();
    for (name, scale) in units.iter().rev() {
        if millis >= *scale {
            text.push_str(&format!("{}{name}", millis / scale));
            millis %= scale;
        }
    }
    text
}

/// A duration as [`format_duration`] writes it, for the summary.
pub(super) fn serialize<S: Serializer>(duration: &Duration, to: S) -> Result<S::Ok, S::Error> {
    to.serialize_str(&format_duration(*duration))
}

/// A duration as [`parse_duration`] reads it, longer than zero.
pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    let reason = match parse_duration(&text) {
        Ok(duration) if !duration.is_zero() => return Ok(duration),
        Ok(_) => "it must be longer than zero".to_owned(),
        Err(reason) => reason,
    };
    Err(D::Error::custom(format!(
        "{NOT_A_DURATION}{text}{NOT_A_DURATION}{reason}"
    )))
}
