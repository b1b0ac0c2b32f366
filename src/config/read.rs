//! Stage one: the file's TOML tree, with the `GUICHET_…` variables laid over it (`env.rs`),
//! deserialized once into [`RawConfig`]. serde checks the keys and types; this file turns its
//! errors into [`ConfigError`]s that name the key and its line or variable.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde_path_to_error::Segment;
use toml::Spanned;
use toml::de::DeTable;

use super::raw::{DISCORD_IDS, RawConfig};
use super::schema::{KeyKind, unknown_key_hint};
use super::{ConfigError, ConfigWarning, Origin, Result, env};

/// What spans point into: the file, then one span per environment variable past its end.
pub(super) struct Source {
    path: PathBuf,
    text: String,
    vars: Vec<String>,
}

impl Source {
    /// The span of `var`'s value: one position past the end of the file, its own.
    pub(super) fn env_span(&mut self, var: &str) -> Range<usize> {
        let at = self.text.len() + 1 + self.vars.len();
        self.vars.push(var.to_owned());
        at..at
    }

    pub(super) fn is_file(&self, span: &Range<usize>) -> bool {
        span.start <= self.text.len()
    }

    pub(super) fn at(&self, span: Range<usize>) -> Origin {
        if let Some(var) = span
            .start
            .checked_sub(self.text.len() + 1)
            .and_then(|i| self.vars.get(i))
        {
            return Origin::Env { var: var.clone() };
        }
        let before = self.text.get(..span.start).unwrap_or(&self.text);
        Origin::File {
            path: self.path.clone(),
            line: before.matches('\n').count() + 1,
        }
    }

    fn error(&self, err: serde_path_to_error::Error<toml::de::Error>) -> ConfigError {
        // `toml::Spanned` adds a private field of its own to the path.
        let keys: Vec<&str> = err
            .path()
            .iter()
            .filter_map(|segment| match segment {
                Segment::Map { key } if !key.starts_with("$__serde_spanned") => Some(key.as_str()),
                _ => None,
            })
            .collect();
        let in_list = err
            .path()
            .iter()
            .any(|segment| matches!(segment, Segment::Seq { .. }));
        let key = keys.join(".");
        let inner = err.inner();
        let span = inner.span().unwrap_or(0..0);
        // Where serde does not say what the value is, its first character does: toml hands a
        // date to serde as a table, and an enum given a number only says "wanted string or
        // table".
        let first = self.text.get(span.start..).and_then(|v| v.chars().next());
        let at = self.at(span);
        let message = inner.message();
        if let Some(name) = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
        {
            let section = if keys.len() > 1 { keys[0] } else { "" };
            return ConfigError::UnknownKey {
                at,
                key,
                hint: unknown_key_hint(section, name),
            };
        }
        // An enum's words: "unknown variant `x`, expected `a` or `b`".
        if message.starts_with("unknown variant `") {
            let mut words = message
                .split('`')
                .skip(1)
                .step_by(2)
                .map(|w| format!("{w:?}"));
            let found = words.next().unwrap_or_default();
            let words: Vec<String> = words.collect();
            let reason = format!("must be {}, not {found}", words.join(" or "));
            return ConfigError::InvalidValue { at, key, reason };
        }
        if message == "wanted string or table" {
            let found = match first {
                Some('t' | 'f') => "a boolean",
                Some('[') => "a list",
                Some('{') => "a table",
                _ => "a number",
            };
            let found = found.to_owned();
            return ConfigError::WrongType {
                at,
                key,
                expected: "a string",
                found,
            };
        }
        if let Some((found, expected)) = message
            .strip_prefix("invalid type: ")
            .and_then(|rest| rest.rsplit_once(", expected "))
        {
            let found = match found {
                "map" if first.is_some_and(|c| c.is_ascii_digit()) => "a date".to_owned(),
                _ => describe(found),
            };
            return ConfigError::WrongType {
                at,
                key,
                expected: expected_words(expected, in_list),
                found: if in_list {
                    format!("a list holding {found}")
                } else {
                    found
                },
            };
        }
        ConfigError::InvalidValue {
            at,
            key,
            reason: message.to_owned(),
        }
    }
}

/// Reads `text` (the file at `path`), then the variables among `env`, into one [`RawConfig`].
pub(super) fn read<I, K, V>(
    text: &str,
    path: &Path,
    env: I,
) -> Result<(RawConfig, Source, Vec<ConfigWarning>)>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    let mut source = Source {
        path: path.to_owned(),
        text: text.to_owned(),
        vars: Vec::new(),
    };
    let mut table = DeTable::parse(text)
        .map_err(|err| ConfigError::Syntax {
            at: source.at(err.span().unwrap_or(0..0)),
            message: err.message().to_owned(),
        })?
        .into_inner();
    let deserialize = |table: DeTable<'_>, source: &Source| {
        let root = Spanned::new(0..text.len(), table);
        serde_path_to_error::deserialize(toml::Deserializer::from(root))
            .map_err(|err| source.error(err))
    };
    // The file alone first: its errors come before the environment's, as it is read first.
    let file = deserialize(table.clone(), &source)?;
    let (variables, warnings) = env::variables(env)?;
    if variables.is_empty() {
        return Ok((file, source, warnings));
    }
    env::apply(&variables, &mut table, &mut source)?;
    Ok((deserialize(table, &source)?, source, warnings))
}

/// serde's name of an unexpected value, in the admin's words. A mistyped secret is never a
/// string, and nothing else is echoed: a secret in the wrong type is not shown.
pub(super) fn describe(unexpected: &str) -> String {
    let words = match unexpected.split(' ').next().unwrap_or_default() {
        "string" => return format!("the {unexpected}"),
        "boolean" => "a boolean",
        "integer" => "a number",
        "floating" => "a decimal number",
        "sequence" => "a list",
        "map" => "a table",
        _ => "another kind of value",
    };
    words.to_owned()
}

/// What serde's "expected …" (a type's own words) means in the admin's words.
fn expected_words(expected: &str, in_list: bool) -> &'static str {
    match expected {
        "a string" if in_list => KeyKind::List.expected(),
        "a string" => KeyKind::Text.expected(),
        "a boolean" => KeyKind::Bool.expected(),
        "i64" => KeyKind::Integer.expected(),
        "a sequence" => KeyKind::List.expected(),
        DISCORD_IDS => DISCORD_IDS,
        _ if expected.starts_with("struct ") || expected == "a map" => "a table (a [section])",
        _ => "another kind of value",
    }
}
