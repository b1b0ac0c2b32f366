//! Reading: the TOML file, with the `GUICHET_…` variables laid over it, deserialized by serde
//! into [`Settings`], each value checked as it is read (the conversions of `values.rs` and
//! `duration.rs`), and where each key was written (its file line or variable) kept for
//! `check.rs`. The keys, their types and the "did you mean" hints all follow from the fields
//! of [`Settings`]: this module adds where, and says serde's errors in the admin's words.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use super::duration::NOT_A_DURATION;
use super::values::REFUSED;
use super::{ConfigError, ConfigWarning, ENV_PREFIX, Origin, Result, Settings};
use crate::distance::distance_within;
use crate::kb::diagnostic::did_you_mean;

/// The secrets, each given inline or by the file its `<key>_file` twin names: no field of
/// [`Settings`] holds them as written. They are kept aside ([`Context::secrets`]) and
/// `check.rs` sets them: the Matrix login and recovery key, the Discord token.
const SECRETS: [&str; 4] = [
    "matrix.access_token",
    "matrix.password",
    "matrix.recovery_key",
    "discord.token",
];

/// What a key holds, as a wrong type's error says it must be; how a variable's text is read.
const TEXT: &str = "a string";
const BOOL: &str = "true or false";
const INTEGER: &str = "a whole number";
/// From a variable: comma-separated, or a TOML array (for items that contain commas, like
/// French sentences in `[strings]`).
const LIST: &str = "a list of strings";
const IDS: &str = "a list of Discord ids";

/// What reading hands `check.rs` besides [`Settings`]: where each key and section was set
/// (its line, or its variable, by dotted key), the secrets as written, the warnings so far.
#[derive(Default)]
pub(super) struct Context {
    pub(super) origins: BTreeMap<String, Origin>,
    pub(super) secrets: BTreeMap<String, String>,
    pub(super) warnings: Vec<ConfigWarning>,
}

/// Every key as `(section, key)`, `""` being the top level: the fields of [`Settings`] in
/// their order, a section's secrets and their `_file` twins after its fields.
fn keys() -> &'static [(String, String)] {
    static KEYS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys = Vec::new();
        for name in fields("") {
            let prefix = format!("{name}.");
            let secrets = SECRETS.iter().filter_map(|key| key.strip_prefix(&prefix));
            let mut section = fields(&name);
            section.extend(secrets.flat_map(|key| [key.to_owned(), format!("{key}_file")]));
            match section {
                section if section.is_empty() => keys.push((String::new(), name)),
                section => keys.extend(section.into_iter().map(|key| (name.clone(), key))),
            }
        }
        keys
    })
}

/// The fields of `section` (`""`: the top level) as serde lists them when it refuses another
/// (`unknown field …, expected one of `a`, `b``); none if `section` is no section. A unit
/// test (`keys_have_their_kinds…` in `mod.rs`) fails if that wording ever changes.
fn fields(section: &str) -> Vec<String> {
    let refused = Settings::deserialize(entry(section, "", toml::Value::Boolean(true))).err();
    let message = refused
        .map(|err| err.message().to_owned())
        .unwrap_or_default();
    match message.strip_prefix("unknown field ``, expected ") {
        Some(list) => list
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect(),
        None => Vec::new(),
    }
}

/// Every key as `(section, key)`, `[strings]` included; for checking the example file.
pub fn known_keys() -> Vec<(String, String)> {
    keys().to_vec()
}

/// The tables of the file, and the `<SECTION>` of `GUICHET_<SECTION>_<KEY>`.
pub(super) fn sections() -> Vec<&'static str> {
    let mut sections: Vec<&str> = keys().iter().map(|(s, _)| s.as_str()).collect();
    sections.retain(|section| !section.is_empty());
    sections.dedup();
    sections
}

/// Whether `name` of `section` is a secret or its `_file` twin.
fn secret(section: &str, name: &str) -> bool {
    let name = name.strip_suffix("_file").unwrap_or(name);
    !section.is_empty() && SECRETS.contains(&dotted(section, name).as_str())
}

/// What `key` (dotted) holds, found by offering [`Settings`] one value of each kind there;
/// `None` if it is no key.
pub(super) fn kind(key: &str) -> Option<&'static str> {
    use toml::Value::{Array, Boolean, Integer};
    let (section, key) = key.split_once('.').unwrap_or(("", key));
    let fits = |value| Settings::deserialize(entry(section, key, value)).is_ok();
    Some(match () {
        () if !keys().iter().any(|(s, k)| s == section && k == key) => return None,
        () if fits(Boolean(true)) => BOOL,
        () if fits(Integer(1)) => INTEGER,
        () if fits(Array(vec![Integer(1)])) => IDS,
        () if fits(Array(Vec::new())) => LIST,
        () => TEXT,
    })
}

/// A table holding only `value`, at `key` of `section` (`""`: the top level).
fn entry(section: &str, key: &str, value: toml::Value) -> toml::Table {
    let table = toml::Table::from_iter([(key.to_owned(), value)]);
    if section.is_empty() {
        return table;
    }
    toml::Table::from_iter([(section.to_owned(), toml::Value::Table(table))])
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
        .filter_map(|(s, key)| (s == section).then_some(key.as_str()))
        .collect();
    if section.is_empty() {
        candidates.extend(sections());
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
        .map(|(s, k)| dotted(s, k).replace('.', "_"))
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
        && sections().iter().any(|section| {
            let section: Vec<char> = section.chars().collect();
            distance_within(&first, &section, 2).is_some_and(|edits| edits > 0)
        })
}

/// Reads `text` (the file at `path`), then the variables among `env`. serde reads the file
/// in its own order, so the first error reported is the first in the file, and the file's
/// errors come before the environment's.
pub(super) fn read(
    text: &str,
    path: &Path,
    env: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
) -> Result<(Settings, Context)> {
    let at = |start: usize| Origin::File {
        path: path.to_owned(),
        line: text.get(..start).unwrap_or(text).matches('\n').count() + 1,
    };
    let doc =
        DeTable::parse(text).map_err(|err| syntax(at(err.span().map_or(0, |s| s.start)), &err))?;
    let mut c = Context::default();
    // Every key's name, value and list items, with what each is: a serde error is about the
    // last (the innermost) that holds its span.
    let mut spans = Vec::new();
    // The first error serde cannot see, with where it is: a key written as a table (serde
    // would read one as an enum's variant, `[matching.chatmd]`), or a secret that is no
    // string (serde does not read the secrets).
    let mut early: Option<(usize, ConfigError)> = None;
    for (name, value) in doc.get_ref() {
        let mut entries = vec![("", name, value)];
        let section = sections().contains(&name.get_ref().as_ref());
        if let (true, DeValue::Table(table)) = (section, value.get_ref()) {
            entries.extend(
                table
                    .iter()
                    .map(|(key, value)| (name.get_ref().as_ref(), key, value)),
            );
        }
        for (section, name, value) in entries {
            let (word, found): (&str, _) = (name.get_ref(), describe(value.get_ref()));
            let key = dotted(section, word);
            c.origins.insert(key.clone(), at(value.span().start));
            let wrong_type = match (value.get_ref(), kind(&key)) {
                (DeValue::String(text), _) if secret(section, word) => {
                    c.secrets.insert(key.clone(), text.to_string());
                    None
                }
                (DeValue::Table(_), kind) => kind,
                (_, kind) => kind.filter(|_| secret(section, word)),
            };
            if let (None, Some(expected)) = (&early, wrong_type) {
                let error = wrong(at(value.span().start), &key, expected, found.clone());
                early = Some((value.span().start, error));
            }
            spans.push((section, word, name.span(), found.clone()));
            spans.push((section, word, value.span(), found));
            if let DeValue::Array(items) = value.get_ref() {
                spans.extend(items.iter().map(|item| {
                    let found = format!("a list holding {}", describe(item.get_ref()));
                    (section, word, item.span(), found)
                }));
            }
        }
    }
    let mut file = doc.clone();
    for (section, value) in file.get_mut().iter_mut() {
        if let DeValue::Table(fields) = value.get_mut() {
            let all = std::mem::take(fields).into_iter();
            *fields = all
                .filter(|(name, _)| !secret(section.get_ref(), name.get_ref()))
                .collect();
        }
    }
    let deserializer = || toml::de::Deserializer::from(file.clone());
    let refused = Settings::deserialize(deserializer()).err();
    let refused_at = refused
        .as_ref()
        .map(|err| err.span().map_or(0, |span| span.start));
    if let Some((start, error)) = early
        && refused_at.is_none_or(|refused| start <= refused)
    {
        return Err(error);
    }
    if let Some(err) = refused {
        let start = err.span().map_or(0, |span| span.start);
        let about = spans
            .iter()
            .rev()
            .find(|(.., span, _)| span.contains(&start));
        let Some((section, name, _, found)) = about else {
            return Err(syntax(at(start), &err));
        };
        return Err(translate(&err, section, name, at(start), found.clone()));
    }
    let mut table = toml::Table::deserialize(deserializer()).map_err(|err| syntax(at(0), &err))?;
    c.env(&mut table, env)?;
    let settings = Settings::deserialize(table).map_err(|err| syntax(at(0), &err))?;
    Ok((settings, c))
}

impl Context {
    /// Lays the `GUICHET_…` variables among `env` over the file's `table`, sorted by name so
    /// errors do not depend on the environment's order. Empty values count as unset: `${VAR}`
    /// of an undefined variable in a compose file must not blank a setting. Each is read
    /// alone first, so that its error names it.
    fn env(
        &mut self,
        table: &mut toml::Table,
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
                Some((section, name)) if sections().contains(&section) => (section, name),
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
                    None => format!("sections are {}", sections().join(", ")),
                };
                return Err(ConfigError::UnknownKey { at, key, hint });
            };
            // `process_env` passes a value that is not UTF-8 lossily: a secret would be
            // accepted with its bytes replaced, and fail at login far from its cause.
            if text.contains(char::REPLACEMENT_CHARACTER) {
                let reason = "the value is not valid UTF-8".to_owned();
                return Err(ConfigError::InvalidValue { at, key, reason });
            }
            if secret(section, name) {
                // A secret set in the environment replaces the file's, however each was
                // given: `GUICHET_MATRIX_PASSWORD_FILE` wins over `password = …` in the file.
                let twin = match key.strip_suffix("_file") {
                    Some(secret) => secret.to_owned(),
                    None => format!("{key}_file"),
                };
                if let Some(Origin::File { .. }) = self.origins.get(&twin) {
                    self.secrets.remove(&twin);
                    self.origins.remove(&twin);
                }
                self.secrets.insert(key.clone(), text);
            } else {
                let value = from_env(kind, &key, &text, &at)?;
                // In a TOML array, what is wrong is the item that is no string (nor an id).
                let odd = value.as_array().and_then(|items| {
                    let id = |item: &toml::Value| kind == IDS && item.is_integer();
                    items.iter().find(|item| !item.is_str() && !id(item))
                });
                let found = odd.map_or_else(
                    || format!("{text:?}"),
                    |item| format!("a list holding {}", words(item.type_str())),
                );
                Settings::deserialize(entry(section, name, value.clone()))
                    .map_err(|err| translate(&err, section, name, at.clone(), found))?;
                let target = match section {
                    "" => &mut *table,
                    _ => match table.entry(section).or_insert(toml::Table::new().into()) {
                        toml::Value::Table(fields) => fields,
                        // The file's section is a table, or serde would have refused it.
                        _ => continue,
                    },
                };
                target.insert(name.to_owned(), value);
            }
            if !section.is_empty() {
                self.origins.entry(section.to_owned()).or_insert(at.clone());
            }
            self.origins.insert(key, at);
        }
        Ok(())
    }
}

/// A variable's text as the value its key's kind holds.
fn from_env(kind: &'static str, key: &str, text: &str, at: &Origin) -> Result<toml::Value> {
    let wrong = || wrong(at.clone(), key, kind, format!("{text:?}"));
    let item = |item: &str| toml::Value::String(item.to_owned());
    Ok(match kind {
        BOOL => toml::Value::Boolean(text.trim().parse().map_err(|_| wrong())?),
        INTEGER => toml::Value::Integer(text.trim().parse().map_err(|_| wrong())?),
        LIST | IDS if text.trim_start().starts_with('[') => {
            text.parse().map_err(|err| syntax(at.clone(), &err))?
        }
        LIST | IDS => {
            let items = text.split(',').map(str::trim).filter(|i| !i.is_empty());
            toml::Value::Array(items.map(item).collect())
        }
        _ => item(text),
    })
}

/// serde's error about `name` of `section`, which is `found`, in the admin's words.
fn translate(
    err: &toml::de::Error,
    section: &str,
    name: &str,
    at: Origin,
    found: String,
) -> ConfigError {
    let (key, message) = (dotted(section, name), err.message());
    if let Some((value, reason)) = message
        .strip_prefix(NOT_A_DURATION)
        .and_then(|message| message.split_once(NOT_A_DURATION))
    {
        let (value, reason) = (value.to_owned(), reason.to_owned());
        return ConfigError::BadDuration {
            at,
            key,
            value,
            reason,
        };
    }
    let reason = match message.strip_prefix(REFUSED) {
        Some(reason) => reason.to_owned(),
        // toml reads a table as an enum's variant: that is a wrong type still.
        None if message.starts_with("unknown variant `") && found != "a table" => {
            enum_words(message)
        }
        // Strings only are quoted, and a secret of the wrong type is never a string: a
        // mistyped secret is not echoed. A quoted name may hold a dot: `"matrix.user" = …`
        // is no key of the top level.
        None => match kind(&key).filter(|_| !name.contains('.')) {
            Some(kind) => return wrong(at, &key, kind, found),
            None if section.is_empty() && sections().contains(&name) => {
                return wrong(at, &key, "a table (a [section])", found);
            }
            None => {
                return ConfigError::UnknownKey {
                    hint: hint(section, name),
                    at,
                    key,
                };
            }
        },
    };
    ConfigError::InvalidValue { at, key, reason }
}

/// serde's "unknown variant `all`, expected `mention` or `open`" in the admin's words:
/// `must be "mention" or "open", not "all"`.
fn enum_words(message: &str) -> String {
    let mut words = message
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|w| format!("{w:?}"));
    let found = words.next().unwrap_or_default();
    let words: Vec<String> = words.collect();
    format!("must be {}, not {found}", words.join(" or "))
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
    match value {
        DeValue::String(s) => format!("the string {s:?}"),
        DeValue::Integer(i) if i64::from_str_radix(i.as_str(), i.radix()).is_err() => {
            "a number too large".to_owned()
        }
        _ => words(value.type_str()).to_owned(),
    }
}

/// What a value of a TOML type (as `type_str` names it) is, in the admin's words.
fn words(type_str: &str) -> &'static str {
    match type_str {
        "integer" => "a number",
        "float" => "a decimal number",
        "boolean" => "a boolean",
        "datetime" => "a date",
        "array" => "a list",
        "table" => "a table",
        _ => "a string",
    }
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
