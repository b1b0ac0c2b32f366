//! Stage one: the TOML file, with the `GUICHET_…` variables laid over it, into one map of
//! values by dotted key, each checked against what its key holds and remembering its line or
//! variable. A key is a word of [`KEYS`] or a field of [`Strings`]: its variable, its type
//! check and the "did you mean" hints all follow from that.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use toml::Spanned;
use toml::de::{DeInteger, DeTable, DeValue};

use super::{ConfigError, ConfigWarning, ENV_PREFIX, Origin, Result};
use crate::distance::distance_within;
use crate::kb::diagnostic::did_you_mean;
use crate::strings::Strings;

/// What a key holds: how its TOML is type-checked and its variable read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A string: secrets, paths, durations and one-word settings too.
    Text,
    Bool,
    Integer,
    /// Strings; from a variable, comma-separated or a TOML array (for items that contain
    /// commas, like French sentences in `[strings]`).
    List,
    /// Discord ids, as numbers or strings of digits (ids are often copied with quotes); kept
    /// as text for stage two to check.
    Ids,
}

impl Kind {
    fn expected(self) -> &'static str {
        match self {
            Kind::Text => "a string",
            Kind::Bool => "true or false",
            Kind::Integer => "a whole number",
            Kind::List => "a list of strings",
            Kind::Ids => "a list of Discord ids",
        }
    }
}

/// The tables of the file, and the `<SECTION>` of `GUICHET_<SECTION>_<KEY>`. None holds a `_`,
/// so a variable splits unambiguously at its first one.
pub(super) const SECTIONS: [&str; 6] = ["matrix", "discord", "admin", "limits", "stats", "strings"];

/// Every key but those of `[strings]`, in the order hints list them; each holds a string
/// unless [`NOT_TEXT`] says otherwise. A secret `x` may instead be read from the file `x_file`
/// names.
const KEYS: &str = "content state_dir matching idle_reset forget_after \
    matrix.homeserver matrix.user matrix.password matrix.password_file matrix.access_token \
    matrix.access_token_file matrix.device_name matrix.recovery_key matrix.recovery_key_file \
    matrix.allowed_inviters matrix.rooms matrix.msgtype matrix.catch_up matrix.prefix \
    matrix.admin_room matrix.late_key_wait matrix.key_recipients \
    discord.token discord.token_file discord.guild_ids discord.message_content discord.catch_up \
    discord.api_base admin.listen limits.messages limits.per_seconds stats.enabled";

const NOT_TEXT: [(&str, Kind); 6] = [
    ("matrix.allowed_inviters", Kind::List),
    ("discord.guild_ids", Kind::Ids),
    ("discord.message_content", Kind::Bool),
    ("limits.messages", Kind::Integer),
    ("limits.per_seconds", Kind::Integer),
    ("stats.enabled", Kind::Bool),
];

/// Every key with its kind: [`KEYS`], then `[strings]`'s, read off the serialized default of
/// [`Strings`] so that a field added there is configurable at once.
fn keys() -> &'static [(String, Kind)] {
    static ALL: OnceLock<Vec<(String, Kind)>> = OnceLock::new();
    ALL.get_or_init(|| {
        let kind = |key| {
            NOT_TEXT
                .into_iter()
                .find_map(|(k, kind)| (k == key).then_some(kind))
        };
        let strings = match toml::Value::try_from(Strings::default()) {
            Ok(toml::Value::Table(fields)) => fields,
            _ => toml::Table::new(),
        };
        let strings = strings.into_iter().map(|(name, value)| {
            let kind = if value.is_array() {
                Kind::List
            } else {
                Kind::Text
            };
            (format!("strings.{name}"), kind)
        });
        KEYS.split_whitespace()
            .map(|key| (key.to_owned(), kind(key).unwrap_or(Kind::Text)))
            .chain(strings)
            .collect()
    })
}

pub(super) fn kind(key: &str) -> Option<Kind> {
    keys().iter().find(|(k, _)| k == key).map(|(_, kind)| *kind)
}

/// A dotted key as `(section, key)`, `""` being the top level.
fn split(key: &str) -> (&str, &str) {
    key.split_once('.').unwrap_or(("", key))
}

/// Every key as `(section, key)`, `[strings]` included; for checking the example file.
pub fn known_keys() -> Vec<(String, String)> {
    keys()
        .iter()
        .map(|(key, _)| split(key))
        .map(|(section, key)| (section.to_owned(), key.to_owned()))
        .collect()
}

fn dotted(section: &str, name: &str) -> String {
    if section.is_empty() {
        return name.to_owned();
    }
    format!("{section}.{name}")
}

/// "did you mean `x`?" when a known key is close, else the list of keys that exist there.
fn hint(section: &str, key: &str) -> String {
    let mut candidates: Vec<&str> = keys()
        .iter()
        .map(|(key, _)| split(key))
        .filter_map(|(s, key)| (s == section).then_some(key))
        .collect();
    if section.is_empty() {
        candidates.extend(SECTIONS);
    }
    let place = match section {
        "" => "at the top level".to_owned(),
        _ => format!("in [{section}]"),
    };
    match did_you_mean(key, candidates.iter().copied()) {
        Some(name) => format!("did you mean `{name}`?"),
        None => format!("known keys {place}: {}", candidates.join(", ")),
    }
}

/// The known variable closest to `var`, if one is close enough to be a typo of it. Compared
/// without the prefix, which every name shares.
fn closest_variable(var: &str) -> Option<String> {
    let names: Vec<String> = keys()
        .iter()
        .map(|(key, _)| key.replace('.', "_"))
        .collect();
    let name = var.strip_prefix(ENV_PREFIX).unwrap_or(var);
    did_you_mean(name, names.iter().map(String::as_str))
        .map(|closest| format!("{ENV_PREFIX}{}", closest.to_ascii_uppercase()))
}

/// Whether the first word of a variable (lower case, prefix removed) is one or two letters
/// away from a section's name, as in `matrx_homeserver` or `limit_messages`.
fn misspelt_section(name: &str) -> bool {
    let Some((first, _)) = name.split_once('_') else {
        return false;
    };
    let first: Vec<char> = first.chars().collect();
    first.len() >= 4
        && SECTIONS.iter().any(|section| {
            let section: Vec<char> = section.chars().collect();
            distance_within(&first, &section, 2).is_some_and(|edits| edits > 0)
        })
}

/// A value as read, with its dotted key and where it was written. No `Debug`: the value may
/// be a secret, which only [`super::Secret`] may hold once checked.
pub(super) struct Found<T> {
    pub(super) value: T,
    pub(super) key: String,
    pub(super) at: Origin,
}

/// What stage one hands stage two: the values by dotted key, of the types their kinds say,
/// and where each section was opened (a `[section]` header, or its first variable).
#[derive(Default)]
pub(super) struct Values {
    pub(super) map: BTreeMap<String, Found<toml::Value>>,
    pub(super) sections: BTreeMap<String, Origin>,
    pub(super) warnings: Vec<ConfigWarning>,
}

/// Reads `text` (the file at `path`), then the variables among `env`, into [`Values`]. The
/// file is walked in its own order, so the first error reported is the first in the file,
/// and its errors come before the environment's.
pub(super) fn read(
    text: &str,
    path: &Path,
    env: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
) -> Result<Values> {
    let at = |span: Range<usize>| Origin::File {
        path: path.to_owned(),
        line: text.get(..span.start).unwrap_or(text).matches('\n').count() + 1,
    };
    let file = DeTable::parse(text).map_err(|err| syntax(at(err.span().unwrap_or(0..0)), &err))?;
    let mut values = Values::default();
    for (name, value) in file.get_ref() {
        let section: &str = name.get_ref();
        match value.get_ref() {
            _ if !SECTIONS.contains(&section) => values.set("", name, value, &at)?,
            DeValue::Table(table) => {
                values.sections.insert(section.to_owned(), at(value.span()));
                for (key, value) in table {
                    values.set(section, key, value, &at)?;
                }
            }
            other => {
                let expected = "a table (a [section])";
                return Err(wrong(at(value.span()), section, expected, describe(other)));
            }
        }
    }
    values.read_env(env)?;
    Ok(values)
}

impl Values {
    fn set(
        &mut self,
        section: &str,
        name: &Spanned<Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
        at: &dyn Fn(Range<usize>) -> Origin,
    ) -> Result<()> {
        let word: &str = name.get_ref();
        let key = dotted(section, word);
        // A quoted name may hold a dot: `"matrix.user" = …` is no key of the top level.
        let Some(kind) = kind(&key).filter(|_| !word.contains('.')) else {
            let hint = hint(section, word);
            let at = at(name.span());
            return Err(ConfigError::UnknownKey { at, key, hint });
        };
        let found = Found {
            value: typed(kind, &key, value, at)?,
            at: at(value.span()),
            key: key.clone(),
        };
        self.map.insert(key, found);
        Ok(())
    }

    /// Lays the `GUICHET_…` variables among `env` over the file's values, sorted by name so
    /// errors do not depend on the environment's order. Empty values count as unset: `${VAR}`
    /// of an undefined variable in a compose file must not blank a setting.
    fn read_env(
        &mut self,
        env: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Result<()> {
        let mut vars: Vec<(String, String)> = env
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .filter(|(k, v)| k.starts_with(ENV_PREFIX) && !v.is_empty())
            .collect();
        vars.sort();
        for (var, text) in vars {
            let lower = var[ENV_PREFIX.len()..].to_ascii_lowercase();
            let (section, name) = match lower.split_once('_') {
                Some((section, name)) if SECTIONS.contains(&section) => (section, name),
                _ => ("", lower.as_str()),
            };
            let key = dotted(section, name);
            let at = Origin::Env { var: var.clone() };
            let Some(kind) = kind(&key).filter(|_| !lower.contains('.')) else {
                // Within a section a typo is certain. At the top level the name may belong to
                // something else (a test harness, a future flag), so it is a warning, unless
                // its first word is a misspelt section (`GUICHET_MATRX_HOMESERVER`): that is a
                // setting the admin believes is applied.
                let closest = closest_variable(&var);
                if section.is_empty() && !misspelt_section(&lower) {
                    let message = match closest {
                        Some(name) => {
                            format!("not a configuration variable, ignored; did you mean {name}?")
                        }
                        None => "not a configuration variable, ignored".to_owned(),
                    };
                    self.warnings.push(ConfigWarning { at, message });
                    continue;
                }
                let hint = match closest {
                    _ if !section.is_empty() => hint(section, name),
                    Some(name) => format!("did you mean {name}?"),
                    None => format!("sections are {}", SECTIONS.join(", ")),
                };
                return Err(ConfigError::UnknownKey { at, key, hint });
            };
            let value = from_env(kind, &key, &text, &at)?;
            // A secret set in the environment replaces the file's, however each was given:
            // `GUICHET_MATRIX_PASSWORD_FILE` wins over `password = …` in the file.
            let twin = key
                .strip_suffix("_file")
                .map_or_else(|| format!("{key}_file"), str::to_owned);
            if self
                .map
                .get(&twin)
                .is_some_and(|found| matches!(found.at, Origin::File { .. }))
            {
                self.map.remove(&twin);
            }
            if !section.is_empty() {
                self.sections
                    .entry(section.to_owned())
                    .or_insert_with(|| at.clone());
            }
            self.map.insert(key.clone(), Found { value, key, at });
        }
        Ok(())
    }
}

/// `value` as a key of kind `kind` holds it, or the error saying what it is instead. `at`
/// turns spans into origins (of the file, or of the variable holding a TOML array).
fn typed(
    kind: Kind,
    key: &str,
    value: &Spanned<DeValue<'_>>,
    at: &dyn Fn(Range<usize>) -> Origin,
) -> Result<toml::Value> {
    let wrong = |found, span| wrong(at(span), key, kind.expected(), found);
    let integer = |i: &DeInteger<'_>| i64::from_str_radix(i.as_str(), i.radix());
    Ok(match (kind, value.get_ref()) {
        (Kind::Text, DeValue::String(s)) => toml::Value::String(s.to_string()),
        (Kind::Bool, DeValue::Boolean(b)) => toml::Value::Boolean(*b),
        (Kind::Integer, DeValue::Integer(i)) => toml::Value::Integer(
            integer(i).map_err(|_| wrong("a number too large".to_owned(), value.span()))?,
        ),
        (Kind::List | Kind::Ids, DeValue::Array(items)) => {
            let mut list = Vec::new();
            for item in items.iter() {
                list.push(toml::Value::String(match (kind, item.get_ref()) {
                    (_, DeValue::String(s)) => s.to_string(),
                    (Kind::Ids, DeValue::Integer(i)) => {
                        integer(i).map_or_else(|_| i.as_str().to_owned(), |n| n.to_string())
                    }
                    (_, other) => {
                        let found = format!("a list holding {}", describe(other));
                        return Err(wrong(found, item.span()));
                    }
                }));
            }
            toml::Value::Array(list)
        }
        // Strings only are quoted, and a secret of the wrong type is never a string: a
        // mistyped secret is not echoed.
        (_, other) => return Err(wrong(describe(other), value.span())),
    })
}

/// A variable's text as the value its key's kind holds.
fn from_env(kind: Kind, key: &str, text: &str, at: &Origin) -> Result<toml::Value> {
    let wrong = || wrong(at.clone(), key, kind.expected(), format!("{text:?}"));
    let item = |item: &str| toml::Value::String(item.to_owned());
    Ok(match kind {
        Kind::Text => item(text),
        Kind::Bool => toml::Value::Boolean(text.trim().parse().map_err(|_| wrong())?),
        Kind::Integer => toml::Value::Integer(text.trim().parse().map_err(|_| wrong())?),
        Kind::List | Kind::Ids if text.trim_start().starts_with('[') => {
            let value = DeValue::parse(text).map_err(|err| syntax(at.clone(), &err))?;
            typed(kind, key, &value, &|_| at.clone())?
        }
        Kind::List | Kind::Ids => {
            let items = text.split(',').map(str::trim).filter(|i| !i.is_empty());
            toml::Value::Array(items.map(item).collect())
        }
    })
}

fn syntax(at: Origin, err: &toml::de::Error) -> ConfigError {
    ConfigError::Syntax {
        at,
        message: err.message().to_owned(),
    }
}

fn wrong(at: Origin, key: &str, expected: &'static str, found: String) -> ConfigError {
    ConfigError::WrongType {
        at,
        key: key.to_owned(),
        expected,
        found,
    }
}

/// What a value is, in the admin's words.
fn describe(value: &DeValue<'_>) -> String {
    let words = match value {
        DeValue::String(s) => return format!("the string {s:?}"),
        DeValue::Integer(_) => "a number",
        DeValue::Float(_) => "a decimal number",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    };
    words.to_owned()
}

#[cfg(test)]
mod tests {
    use super::misspelt_section;

    /// One or two edits (Levenshtein, as everywhere in guichet) from a section's name, and
    /// not the name itself.
    #[test]
    fn a_misspelt_section_is_one_or_two_edits_away() {
        assert!(misspelt_section("matrx_homeserver"));
        assert!(misspelt_section("limit_messages"));
        assert!(misspelt_section("mtarix_homeserver"), "a swap is two edits");
        assert!(!misspelt_section("matrix_homeserver"), "the section itself");
        assert!(misspelt_section("mtrx_homeserver"));
        assert!(
            !misspelt_section("mtx_homeserver"),
            "too short a word to tell"
        );
        assert!(!misspelt_section("homeserver_url"));
        assert!(!misspelt_section("matrix"), "no word after");
    }
}
