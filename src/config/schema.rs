//! The list of keys, read off the serde structs of `raw.rs` (and of [`Strings`] for
//! `[strings]`) rather than kept by hand: what each key holds, for reading environment
//! variables, and the "did you mean" hints.
//!
//! A derived `Deserialize` tells its deserializer the struct's field names, and each field
//! asks for the type it holds (`deserialize_bool`, `deserialize_seq`…). [`Probe`] is a
//! deserializer that only listens: it walks down one path of fields and reports what the
//! last one asked for.

use std::cell::Cell;
use std::sync::OnceLock;

use serde::de::value::{Error as ProbeError, MapDeserializer};
use serde::de::{DeserializeOwned, Deserializer, Error as _, IntoDeserializer, Visitor};
use serde_spanned::de::{SpannedDeserializer, is_spanned};

use super::ENV_PREFIX;
use super::raw::RawConfig;
use crate::distance::distance_within;
use crate::kb::diagnostic::did_you_mean;
use crate::strings::Strings;

/// What a key holds, as far as reading it from an environment variable goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyKind {
    /// Strings, secrets included.
    Text,
    Bool,
    Integer,
    /// From a variable: comma-separated, or a TOML array.
    List,
}

impl KeyKind {
    pub(super) fn expected(self) -> &'static str {
        match self {
            KeyKind::Text => "a string",
            KeyKind::Bool => "true or false",
            KeyKind::Integer => "a whole number",
            KeyKind::List => "a list of strings",
        }
    }
}

/// Every section and key, in the order the structs declare them.
pub(super) struct Schema {
    pub(super) sections: Vec<&'static str>,
    /// `(section, key, kind)`, `""` being the top level.
    pub(super) keys: Vec<(&'static str, &'static str, KeyKind)>,
}

/// The schema, probed once.
pub(super) fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut schema = Schema {
            sections: Vec::new(),
            keys: Vec::new(),
        };
        for field in fields::<RawConfig>(&[]) {
            match probe::<RawConfig>(&[field]) {
                Some(Shape::Leaf(kind)) => schema.keys.push(("", field, kind)),
                Some(Shape::Struct(keys)) => {
                    schema.sections.push(field);
                    for key in keys {
                        if let Some(Shape::Leaf(kind)) = probe::<RawConfig>(&[field, key]) {
                            schema.keys.push((field, key, kind));
                        }
                    }
                }
                // The one map section, `[strings]`: its keys are the fields of `Strings`.
                Some(Shape::Map) => {
                    schema.sections.push(field);
                    for key in fields::<Strings>(&[]) {
                        if let Some(Shape::Leaf(kind)) = probe::<Strings>(&[key]) {
                            schema.keys.push((field, key, kind));
                        }
                    }
                }
                None => {}
            }
        }
        schema
    })
}

impl Schema {
    /// The key `key` of `section`, with its names as the schema holds them.
    pub(super) fn find(
        &self,
        section: &str,
        key: &str,
    ) -> Option<(&'static str, &'static str, KeyKind)> {
        self.keys
            .iter()
            .find(|(s, k, _)| *s == section && *k == key)
            .copied()
    }

    pub(super) fn kind(&self, section: &str, key: &str) -> Option<KeyKind> {
        self.find(section, key).map(|(_, _, kind)| kind)
    }

    fn keys_of<'a>(&'a self, section: &'a str) -> impl Iterator<Item = &'static str> + 'a {
        self.keys
            .iter()
            .filter(move |(s, _, _)| *s == section)
            .map(|(_, key, _)| *key)
    }

    /// The other half of a secret and its `_file`: `password` ↔ `password_file`.
    pub(super) fn twin(&self, section: &str, key: &str) -> Option<String> {
        let file = format!("{key}_file");
        if self.kind(section, &file).is_some() {
            return Some(file);
        }
        key.strip_suffix("_file")
            .filter(|secret| self.kind(section, secret).is_some())
            .map(str::to_owned)
    }
}

/// Every key as `(section, key)`, `[strings]` included; for checking the example file.
pub fn known_keys() -> Vec<(String, String)> {
    schema()
        .keys
        .iter()
        .map(|(section, key, _)| ((*section).to_owned(), (*key).to_owned()))
        .collect()
}

pub(super) fn dotted(section: &str, key: &str) -> String {
    if section.is_empty() {
        key.to_owned()
    } else {
        format!("{section}.{key}")
    }
}

/// "did you mean `x`?" when a known key is close, else the list of keys that exist there.
pub(super) fn unknown_key_hint(section: &str, key: &str) -> String {
    let schema = schema();
    let mut candidates: Vec<&str> = schema.keys_of(section).collect();
    if section.is_empty() {
        candidates.extend(&schema.sections);
    }
    match did_you_mean(key, candidates.iter().copied()) {
        Some(name) => format!("did you mean `{name}`?"),
        None => {
            let place = if section.is_empty() {
                "at the top level".to_owned()
            } else {
                format!("in [{section}]")
            };
            format!("known keys {place}: {}", candidates.join(", "))
        }
    }
}

/// The known variable closest to `var`, if one is close enough to be a typo of it. Compared
/// without the prefix, which every name shares.
pub(super) fn closest_variable(var: &str) -> Option<String> {
    let names: Vec<String> = schema()
        .keys
        .iter()
        .map(|(section, key, _)| dotted(section, key).replace('.', "_"))
        .collect();
    let name = var.strip_prefix(ENV_PREFIX).unwrap_or(var);
    did_you_mean(name, names.iter().map(String::as_str))
        .map(|closest| format!("{ENV_PREFIX}{}", closest.to_ascii_uppercase()))
}

/// Whether the first word of a variable (lower case, prefix removed) is one or two letters
/// away from a section's name, as in `matrx_homeserver` or `limit_messages`.
pub(super) fn misspelt_section(name: &str) -> bool {
    let Some((first, _)) = name.split_once('_') else {
        return false;
    };
    let first: Vec<char> = first.chars().collect();
    first.len() >= 4
        && schema().sections.iter().any(|section| {
            let section: Vec<char> = section.chars().collect();
            distance_within(&first, &section, 2).is_some_and(|edits| edits > 0)
        })
}

/// What the probed value asked its deserializer for.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Struct(&'static [&'static str]),
    Map,
    Leaf(KeyKind),
}

/// The fields of the struct at `path` in `T`.
fn fields<T: DeserializeOwned>(path: &[&'static str]) -> &'static [&'static str] {
    match probe::<T>(path) {
        Some(Shape::Struct(fields)) => fields,
        _ => &[],
    }
}

/// What the value at `path` in `T` is. Deserializing `T` from a [`Probe`] always fails (the
/// probe has no values to give); what it recorded on the way is the answer.
fn probe<T: DeserializeOwned>(path: &[&'static str]) -> Option<Shape> {
    let seen = Cell::new(None);
    let _ = T::deserialize(Probe { path, seen: &seen });
    seen.get()
}

/// A deserializer that offers the one field `path[0]`, then `path[1]` inside it…, and records
/// what the last one asks for.
#[derive(Clone, Copy)]
struct Probe<'a> {
    path: &'a [&'static str],
    seen: &'a Cell<Option<Shape>>,
}

impl<'de, 'a> Probe<'a> {
    fn reach<V: Visitor<'de>>(self, shape: Shape, visitor: V) -> Result<V::Value, ProbeError> {
        match self.path.split_first() {
            Some((field, path)) => {
                let next = Probe { path, ..self };
                visitor.visit_map(MapDeserializer::new(std::iter::once((*field, next))))
            }
            None => {
                self.seen.set(Some(shape));
                Err(ProbeError::custom("probed"))
            }
        }
    }
}

impl<'de> IntoDeserializer<'de, ProbeError> for Probe<'_> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

macro_rules! leaf {
    ($de:lifetime, $kind:expr => $($method:ident)*) => {
        $(fn $method<V: Visitor<$de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
            self.reach(Shape::Leaf($kind), visitor)
        })*
    };
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = ProbeError;

    leaf!('de, KeyKind::Text => deserialize_any deserialize_str deserialize_string);
    leaf!('de, KeyKind::Bool => deserialize_bool);
    leaf!('de, KeyKind::Integer => deserialize_i64 deserialize_u64 deserialize_i32 deserialize_u32);
    leaf!('de, KeyKind::List => deserialize_seq);

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        self.reach(Shape::Map, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        if is_spanned(name) {
            return visitor.visit_map(SpannedDeserializer::new(self, 0..0));
        }
        self.reach(Shape::Struct(fields), visitor)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i128 u8 u16 u128 f32 f64 char bytes byte_buf unit unit_struct tuple
        tuple_struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
