//! Stage one: the TOML file and the environment into one layer of raw values that remember
//! their origin (file line or variable).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::schema::{
    KeyKind, SECTIONS, closest_variable, dotted, kind_of, misspelt_section, unknown_key_hint,
};
use super::{ConfigError, ConfigWarning, ENV_PREFIX, Origin, Result, Secret};

/// A value as read, typed by its key's [`KeyKind`] but not yet checked further.
pub(super) enum Raw {
    Text(String),
    Secret(Secret),
    Bool(bool),
    Integer(i64),
    List(Vec<String>),
}

pub(super) struct Entry {
    pub(super) raw: Raw,
    pub(super) at: Origin,
}

/// The values found, by `(section, key)`, and where each section was opened.
#[derive(Default)]
pub(super) struct Layer {
    pub(super) entries: BTreeMap<(String, String), Entry>,
    pub(super) sections: BTreeMap<String, Origin>,
    pub(super) warnings: Vec<ConfigWarning>,
}

/// Turns byte offsets of the file into file origins.
struct FileText<'a> {
    path: &'a Path,
    text: &'a str,
}

impl FileText<'_> {
    fn at(&self, span: Range<usize>) -> Origin {
        let before = self.text.get(..span.start).unwrap_or(self.text);
        Origin::File {
            path: self.path.to_owned(),
            line: before.bytes().filter(|b| *b == b'\n').count() + 1,
        }
    }
}

/// Table entries in file order (the parsed map is sorted by key), so the first error
/// reported is the first in the file.
fn in_file_order<'t, 'i>(
    table: &'t DeTable<'i>,
) -> Vec<(
    &'t Spanned<toml::de::DeString<'i>>,
    &'t Spanned<DeValue<'i>>,
)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
}

fn describe(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => format!("the string {s:?}"),
        DeValue::Integer(_) => "a number".to_owned(),
        DeValue::Float(_) => "a decimal number".to_owned(),
        DeValue::Boolean(_) => "a boolean".to_owned(),
        DeValue::Datetime(_) => "a date".to_owned(),
        DeValue::Array(_) => "a list".to_owned(),
        DeValue::Table(_) => "a table".to_owned(),
    }
}

/// Converts a TOML value to the raw value of a key of kind `kind`; `at` locates spans (in the
/// file, or in an environment variable holding a TOML array).
fn raw_from_toml(
    kind: KeyKind,
    key: &str,
    value: &Spanned<DeValue<'_>>,
    at: &dyn Fn(Range<usize>) -> Origin,
) -> Result<Raw> {
    let wrong = |found: String, span: Range<usize>| ConfigError::WrongType {
        at: at(span),
        key: key.to_owned(),
        expected: kind.expected(),
        found,
    };
    match (kind, value.get_ref()) {
        (KeyKind::Text, DeValue::String(s)) => Ok(Raw::Text(s.to_string())),
        (KeyKind::Secret, DeValue::String(s)) => Ok(Raw::Secret(Secret::new(s.to_string()))),
        (KeyKind::Bool, DeValue::Boolean(b)) => Ok(Raw::Bool(*b)),
        (KeyKind::Integer, DeValue::Integer(i)) => i64::from_str_radix(i.as_str(), i.radix())
            .map(Raw::Integer)
            .map_err(|_| wrong("a number too large".to_owned(), value.span())),
        (KeyKind::List | KeyKind::Ids, DeValue::Array(items)) => {
            let mut list = Vec::with_capacity(items.len());
            for item in items.iter() {
                match (kind, item.get_ref()) {
                    (_, DeValue::String(s)) => list.push(s.to_string()),
                    // Kept as text: the id check (digits, in range) is stage two's.
                    (KeyKind::Ids, DeValue::Integer(i)) => list.push(
                        i64::from_str_radix(i.as_str(), i.radix())
                            .map_or_else(|_| i.as_str().to_owned(), |n| n.to_string()),
                    ),
                    (_, other) => {
                        return Err(wrong(
                            format!("a list holding {}", describe(other)),
                            item.span(),
                        ));
                    }
                }
            }
            Ok(Raw::List(list))
        }
        // `describe` quotes strings only, and a secret of the wrong type is never a string:
        // a mistyped secret is not echoed.
        (_, other) => Err(wrong(describe(other), value.span())),
    }
}

/// Converts an environment variable's value to the raw value of a key of kind `kind`.
fn raw_from_env(kind: KeyKind, key: &str, value: &str, var: &str) -> Result<Raw> {
    let at = Origin::Env {
        var: var.to_owned(),
    };
    let wrong = || ConfigError::WrongType {
        at: at.clone(),
        key: key.to_owned(),
        expected: kind.expected(),
        found: format!("{value:?}"),
    };
    match kind {
        KeyKind::Text => Ok(Raw::Text(value.to_owned())),
        KeyKind::Secret => Ok(Raw::Secret(Secret::new(value))),
        KeyKind::Bool => match value.trim() {
            "true" => Ok(Raw::Bool(true)),
            "false" => Ok(Raw::Bool(false)),
            _ => Err(wrong()),
        },
        KeyKind::Integer => value.trim().parse().map(Raw::Integer).map_err(|_| wrong()),
        KeyKind::List | KeyKind::Ids => {
            // A TOML array for items that contain commas (French sentences in `[strings]`).
            if value.trim_start().starts_with('[') {
                let parsed = DeValue::parse(value).map_err(|err| ConfigError::Syntax {
                    at: at.clone(),
                    message: err.message().to_owned(),
                })?;
                let at = |_| at.clone();
                raw_from_toml(kind, key, &parsed, &at)
            } else {
                Ok(Raw::List(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|item| !item.is_empty())
                        .map(str::to_owned)
                        .collect(),
                ))
            }
        }
    }
}

/// The other half of a secret and its `_file`: `password` ↔ `password_file`.
pub(super) fn twin(section: &str, key: &str) -> Option<String> {
    if kind_of(section, key) == Some(KeyKind::Secret) {
        return Some(format!("{key}_file"));
    }
    key.strip_suffix("_file")
        .filter(|secret| kind_of(section, secret) == Some(KeyKind::Secret))
        .map(str::to_owned)
}

impl Layer {
    pub(super) fn read_file(&mut self, text: &str, path: &Path) -> Result<()> {
        let file = FileText { path, text };
        let document = DeTable::parse(text).map_err(|err| ConfigError::Syntax {
            at: file.at(err.span().unwrap_or(0..0)),
            message: err.message().to_owned(),
        })?;
        let at = |span| file.at(span);
        for (key, value) in in_file_order(document.get_ref()) {
            let name: &str = key.get_ref();
            if let Some(section) = SECTIONS.iter().find(|s| **s == name) {
                let DeValue::Table(table) = value.get_ref() else {
                    return Err(ConfigError::WrongType {
                        at: file.at(value.span()),
                        key: name.to_owned(),
                        expected: "a table (a [section])",
                        found: describe(value.get_ref()),
                    });
                };
                self.sections
                    .insert((*section).to_owned(), file.at(value.span()));
                for (key, value) in in_file_order(table) {
                    self.set_from_toml(section, key, value, &at)?;
                }
            } else {
                self.set_from_toml("", key, value, &at)?;
            }
        }
        Ok(())
    }

    fn set_from_toml(
        &mut self,
        section: &str,
        key: &Spanned<toml::de::DeString<'_>>,
        value: &Spanned<DeValue<'_>>,
        at: &dyn Fn(Range<usize>) -> Origin,
    ) -> Result<()> {
        let name: &str = key.get_ref();
        let dotted = dotted(section, name);
        let kind = kind_of(section, name).ok_or_else(|| ConfigError::UnknownKey {
            at: at(key.span()),
            key: dotted.clone(),
            hint: unknown_key_hint(section, name),
        })?;
        let raw = raw_from_toml(kind, &dotted, value, at)?;
        self.entries.insert(
            (section.to_owned(), name.to_owned()),
            Entry {
                raw,
                at: at(key.span()),
            },
        );
        Ok(())
    }

    /// Applies `GUICHET_…` variables over the file. Sorted by name, so errors do not depend
    /// on the environment's order. Empty values count as unset: `${VAR}` of an undefined
    /// variable in a compose file must not blank a setting.
    pub(super) fn read_env<I, K, V>(&mut self, env: I) -> Result<()>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut vars: Vec<(String, String)> = env
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .filter(|(k, v)| k.starts_with(ENV_PREFIX) && !v.is_empty())
            .collect();
        vars.sort();
        for (var, value) in vars {
            let lower = var[ENV_PREFIX.len()..].to_ascii_lowercase();
            let (section, key) = match lower.split_once('_') {
                Some((section, key)) if SECTIONS.contains(&section) => (section, key),
                _ => ("", lower.as_str()),
            };
            let dotted = dotted(section, key);
            let at = Origin::Env { var: var.clone() };
            let Some(kind) = kind_of(section, key) else {
                // Within a section a typo is certain. At the top level the name may belong to
                // something else (a test harness, a future flag), so it is a warning, unless
                // its first word is a misspelt section (`GUICHET_MATRX_HOMESERVER`): that is
                // a setting the admin believes is applied.
                if section.is_empty() {
                    let closest = closest_variable(&var);
                    if misspelt_section(&lower) {
                        return Err(ConfigError::UnknownKey {
                            at,
                            key: dotted,
                            hint: match closest {
                                Some(name) => format!("did you mean {name}?"),
                                None => format!("sections are {}", SECTIONS.join(", ")),
                            },
                        });
                    }
                    let message = match closest {
                        Some(name) => {
                            format!("not a configuration variable, ignored; did you mean {name}?")
                        }
                        None => "not a configuration variable, ignored".to_owned(),
                    };
                    self.warnings.push(ConfigWarning { at, message });
                    continue;
                }
                return Err(ConfigError::UnknownKey {
                    at,
                    key: dotted,
                    hint: unknown_key_hint(section, key),
                });
            };
            let raw = raw_from_env(kind, &dotted, &value, &var)?;
            // A secret set in the environment replaces the file's, however each was given:
            // `GUICHET_MATRIX_PASSWORD_FILE` wins over `password = …` in the file.
            if let Some(twin) = twin(section, key) {
                let slot = (section.to_owned(), twin);
                if matches!(
                    self.entries.get(&slot),
                    Some(Entry {
                        at: Origin::File { .. },
                        ..
                    })
                ) {
                    self.entries.remove(&slot);
                }
            }
            if !section.is_empty() {
                self.sections
                    .entry(section.to_owned())
                    .or_insert_with(|| at.clone());
            }
            self.entries
                .insert((section.to_owned(), key.to_owned()), Entry { raw, at });
        }
        Ok(())
    }
}
