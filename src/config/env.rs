//! The `GUICHET_…` variables, laid over the file's TOML tree before it is deserialized: a
//! variable is a value like any other, whose span says which variable it came from.
//!
//! A variable is text; what its key holds (from the schema) says how to read it: `true` or
//! `false`, a whole number, a comma-separated list or a TOML array (for items that contain
//! commas, like French sentences in `[strings]`).

use std::borrow::Cow;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use super::read::Source;
use super::schema::{
    KeyKind, closest_variable, dotted, misspelt_section, schema, unknown_key_hint,
};
use super::{ConfigError, ConfigWarning, ENV_PREFIX, Origin, Result};

/// A `GUICHET_…` variable that names a key, its value checked against the key's kind.
pub(super) struct Variable {
    var: String,
    section: &'static str,
    key: &'static str,
    kind: KeyKind,
    /// The value, with a number in TOML's spelling (`03` is 3 here, an error in TOML).
    value: String,
}

/// The `GUICHET_…` variables among `env` that name keys, sorted by name so errors do not
/// depend on the environment's order, and warnings about those that name none. Empty values
/// count as unset: `${VAR}` of an undefined variable in a compose file must not blank a
/// setting.
pub(super) fn variables<I, K, V>(env: I) -> Result<(Vec<Variable>, Vec<ConfigWarning>)>
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
    let schema = schema();
    let mut variables = Vec::new();
    let mut warnings = Vec::new();
    for (var, value) in vars {
        let lower = var
            .strip_prefix(ENV_PREFIX)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let (section, key) = match lower.split_once('_') {
            Some((section, key)) if schema.sections.contains(&section) => (section, key),
            _ => ("", lower.as_str()),
        };
        let at = Origin::Env { var: var.clone() };
        let Some((section, key, kind)) = schema.find(section, key) else {
            // Within a section a typo is certain. At the top level the name may belong to
            // something else (a test harness, a future flag), so it is a warning, unless its
            // first word is a misspelt section (`GUICHET_MATRX_HOMESERVER`): that is a
            // setting the admin believes is applied.
            let closest = closest_variable(&var);
            if !section.is_empty() || misspelt_section(&lower) {
                let hint = match closest {
                    _ if !section.is_empty() => unknown_key_hint(section, key),
                    Some(name) => format!("did you mean {name}?"),
                    None => format!("sections are {}", schema.sections.join(", ")),
                };
                let key = dotted(section, key);
                return Err(ConfigError::UnknownKey { at, key, hint });
            }
            let message = match closest {
                Some(name) => {
                    format!("not a configuration variable, ignored; did you mean {name}?")
                }
                None => "not a configuration variable, ignored".to_owned(),
            };
            warnings.push(ConfigWarning { at, message });
            continue;
        };
        let wrong = || ConfigError::WrongType {
            at: at.clone(),
            key: dotted(section, key),
            expected: kind.expected(),
            found: format!("{value:?}"),
        };
        let value = match kind {
            KeyKind::Bool if !matches!(value.trim(), "true" | "false") => return Err(wrong()),
            KeyKind::Bool => value.trim().to_owned(),
            KeyKind::Integer => value
                .trim()
                .parse::<i64>()
                .map_err(|_| wrong())?
                .to_string(),
            KeyKind::Text | KeyKind::List => value,
        };
        variables.push(Variable {
            var,
            section,
            key,
            kind,
            value,
        });
    }
    Ok((variables, warnings))
}

/// Sets each variable's key in `table`, over the file's value.
pub(super) fn apply<'i>(
    variables: &'i [Variable],
    table: &mut DeTable<'i>,
    source: &mut Source,
) -> Result<()> {
    let schema = schema();
    for Variable {
        var,
        section,
        key,
        kind,
        value,
    } in variables
    {
        let span = source.env_span(var);
        let value = parse(*kind, value).map_err(|err| ConfigError::Syntax {
            at: Origin::Env { var: var.clone() },
            message: err.message().to_owned(),
        })?;
        let slot = if section.is_empty() {
            &mut *table
        } else {
            let name = Spanned::new(span.clone(), Cow::Borrowed(*section));
            let opened = table
                .entry(name)
                .or_insert_with(|| Spanned::new(span.clone(), DeValue::Table(DeTable::new())));
            match opened.get_mut() {
                DeValue::Table(slot) => slot,
                // The file's `matrix = 3` is reported as such when the tree is read.
                _ => continue,
            }
        };
        // A secret set in the environment replaces the file's, however each was given:
        // `GUICHET_MATRIX_PASSWORD_FILE` wins over `password = …` in the file.
        if let Some(twin) = schema.twin(section, key)
            && slot
                .get(twin.as_str())
                .is_some_and(|value| source.is_file(&value.span()))
        {
            slot.remove(twin.as_str());
        }
        let key = Spanned::new(span.clone(), Cow::Borrowed(*key));
        slot.insert(key, respan(value, &span));
    }
    Ok(())
}

/// A variable's text as the TOML value its key holds (already checked by [`variables`]).
fn parse(kind: KeyKind, value: &str) -> Result<DeValue<'_>, toml::de::Error> {
    Ok(match kind {
        KeyKind::Text => DeValue::String(Cow::Borrowed(value)),
        KeyKind::Bool | KeyKind::Integer => DeValue::parse(value)?.into_inner(),
        KeyKind::List if value.trim_start().starts_with('[') => DeValue::parse(value)?.into_inner(),
        KeyKind::List => {
            let mut items = DeArray::new();
            for item in value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
            {
                items.push(Spanned::new(0..0, DeValue::String(Cow::Borrowed(item))));
            }
            DeValue::Array(items)
        }
    })
}

/// `value` with `span` on it and on its items, so that an error in it names the variable
/// (an item's type is checked before anything inside it).
fn respan<'i>(value: DeValue<'i>, span: &Range<usize>) -> Spanned<DeValue<'i>> {
    let value = match value {
        DeValue::Array(items) => {
            let mut respanned = DeArray::new();
            for item in items.iter() {
                respanned.push(Spanned::new(span.clone(), item.get_ref().clone()));
            }
            DeValue::Array(respanned)
        }
        other => other,
    };
    Spanned::new(span.clone(), value)
}
