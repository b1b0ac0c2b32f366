//! The schema: every key, the type it holds, the "did you mean" hints, and the checks of
//! single values shared with the platforms (Discord command names and texts, secret files).

use std::io;
use std::path::Path;

use super::{ENV_PREFIX, Result};
use crate::strings::Strings;

/// What a key holds, as read from TOML or from an environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyKind {
    Text,
    /// A string that must never be echoed; its twin `<key>_file` (a `Text`) names a file
    /// holding it.
    Secret,
    Bool,
    Integer,
    /// A list of strings; from the environment, comma-separated or a TOML array.
    List,
    /// Discord ids: integers, or strings of digits (ids are often copied with quotes).
    Ids,
}

impl KeyKind {
    pub(super) fn expected(self) -> &'static str {
        match self {
            KeyKind::Text | KeyKind::Secret => "a string",
            KeyKind::Bool => "true or false",
            KeyKind::Integer => "a whole number",
            KeyKind::List => "a list of strings",
            KeyKind::Ids => "a list of Discord ids",
        }
    }
}

/// Tables in the file, and the `<SECTION>` of `GUICHET_<SECTION>_<KEY>`. None contains `_`,
/// so a variable splits unambiguously at its first one.
pub(super) const SECTIONS: &[&str] = &["matrix", "discord", "admin", "limits", "stats", "strings"];

/// Every key but `[strings]`, whose keys are the fields of [`Strings`] (see `strings_keys`).
/// `""` is the top level.
const KEYS: &[(&str, &str, KeyKind)] = &[
    ("", "content", KeyKind::Text),
    ("", "state_dir", KeyKind::Text),
    ("", "matching", KeyKind::Text),
    ("", "idle_reset", KeyKind::Text),
    ("", "forget_after", KeyKind::Text),
    ("matrix", "homeserver", KeyKind::Text),
    ("matrix", "user", KeyKind::Text),
    ("matrix", "password", KeyKind::Secret),
    ("matrix", "password_file", KeyKind::Text),
    ("matrix", "access_token", KeyKind::Secret),
    ("matrix", "access_token_file", KeyKind::Text),
    ("matrix", "device_name", KeyKind::Text),
    ("matrix", "recovery_key", KeyKind::Secret),
    ("matrix", "recovery_key_file", KeyKind::Text),
    ("matrix", "allowed_inviters", KeyKind::List),
    ("matrix", "rooms", KeyKind::Text),
    ("matrix", "msgtype", KeyKind::Text),
    ("matrix", "catch_up", KeyKind::Text),
    ("matrix", "prefix", KeyKind::Text),
    ("matrix", "admin_room", KeyKind::Text),
    ("matrix", "late_key_wait", KeyKind::Text),
    ("matrix", "key_recipients", KeyKind::Text),
    ("discord", "token", KeyKind::Secret),
    ("discord", "token_file", KeyKind::Text),
    ("discord", "guild_ids", KeyKind::Ids),
    ("discord", "message_content", KeyKind::Bool),
    ("discord", "catch_up", KeyKind::Text),
    ("discord", "api_base", KeyKind::Text),
    ("admin", "listen", KeyKind::Text),
    ("limits", "messages", KeyKind::Integer),
    ("limits", "per_seconds", KeyKind::Integer),
    ("stats", "enabled", KeyKind::Bool),
];

/// The `[strings]` keys: the fields of [`Strings`], read off its serialized default so a field
/// added there is configurable here at once.
pub(super) fn strings_keys() -> Vec<(String, KeyKind)> {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(Strings::default()) else {
        return Vec::new();
    };
    fields
        .into_iter()
        .filter_map(|(name, value)| match value {
            serde_json::Value::String(_) => Some((name, KeyKind::Text)),
            serde_json::Value::Array(_) => Some((name, KeyKind::List)),
            _ => None,
        })
        .collect()
}

/// Every key of a section (`""`: the top level), for lookups and hints.
fn keys_of(section: &str) -> Vec<(String, KeyKind)> {
    if section == "strings" {
        return strings_keys();
    }
    KEYS.iter()
        .filter(|(s, _, _)| *s == section)
        .map(|(_, key, kind)| ((*key).to_owned(), *kind))
        .collect()
}

/// Whether `name` may name a Discord slash command. Discord's rule:
/// `^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$`, in lower case wherever a letter has a
/// lower-case form (so `aujourd'hui` and `rôle`, not `Aide` nor `mon menu`).
pub fn discord_command_name_ok(name: &str) -> bool {
    (1..=32).contains(&name.chars().count())
        && name.chars().all(|c| {
            let allowed = matches!(c, '-' | '_' | '\'')
                || devanagari_or_thai(c)
                || c.is_numeric()
                // \p{L}: Alphabetic less the combining marks it also holds (vowel signs).
                || (c.is_alphabetic() && !unicode_normalization::char::is_combining_mark(c));
            allowed && c.to_lowercase().eq(std::iter::once(c))
        })
}

/// `\p{sc=Deva}` and `\p{sc=Thai}` (Unicode's Scripts.txt): their vowel signs are marks.
fn devanagari_or_thai(c: char) -> bool {
    matches!(u32::from(c),
        0x0900..=0x0950 | 0x0955..=0x0963 | 0x0966..=0x097F | 0xA8E0..=0xA8FF
        | 0x11B00..=0x11B09 | 0x0E01..=0x0E3A | 0x0E40..=0x0E5B)
}

/// Longest slash command description Discord accepts.
pub const DISCORD_COMMAND_DESCRIPTION: usize = 100;

/// Why a `[strings]` text cannot be used on Discord as it is used there. Texts sent as
/// messages (help, not_your_menu, …) are split like answers are; a command's name and
/// description cannot be.
pub fn discord_text(key: &str, value: &str) -> std::result::Result<(), String> {
    match key {
        "command_help" | "command_menu" | "command_role" if !discord_command_name_ok(value) => {
            Err(format!(
                "{value:?} cannot name a Discord slash command: 1 to 32 lower-case letters, \
                 digits, -, _ or ', without spaces"
            ))
        }
        "command_help_description" | "command_menu_description" | "command_role_description"
            if value.chars().count() > DISCORD_COMMAND_DESCRIPTION =>
        {
            Err(format!(
                "a Discord command description has at most {DISCORD_COMMAND_DESCRIPTION} \
                 characters; this one has {}",
                value.chars().count()
            ))
        }
        _ => Ok(()),
    }
}

/// Every key as `(section, key)`, `[strings]` included; for checking the example file.
pub fn known_keys() -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = KEYS
        .iter()
        .map(|(s, k, _)| ((*s).to_owned(), (*k).to_owned()))
        .collect();
    keys.extend(
        strings_keys()
            .into_iter()
            .map(|(key, _)| ("strings".to_owned(), key)),
    );
    keys
}

pub(super) fn kind_of(section: &str, key: &str) -> Option<KeyKind> {
    keys_of(section)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, kind)| kind)
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
    let mut candidates: Vec<String> = keys_of(section).into_iter().map(|(k, _)| k).collect();
    if section.is_empty() {
        candidates.extend(SECTIONS.iter().map(|s| (*s).to_owned()));
    }
    match closest(key, candidates.iter().map(String::as_str), 0.85) {
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

/// The variable name of every key: `GUICHET_MATRIX_HOMESERVER`, `GUICHET_CONTENT`…
fn variable_names() -> Vec<String> {
    known_keys()
        .into_iter()
        .map(|(section, key)| {
            let name = if section.is_empty() {
                key
            } else {
                format!("{section}_{key}")
            };
            format!("{ENV_PREFIX}{}", name.to_ascii_uppercase())
        })
        .collect()
}

/// The known variable closest to `var`, if one is close enough to be a typo of it.
pub(super) fn closest_variable(var: &str) -> Option<String> {
    let names = variable_names();
    closest(var, names.iter().map(String::as_str), 0.9).map(str::to_owned)
}

/// The candidate most like `word` (Jaro-Winkler), if at least `min` alike: a typo of it.
pub(super) fn closest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
    min: f64,
) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(score, _)| *score >= min)
        .map(|(_, c)| c)
}

/// Whether the first word of a variable (lower case, prefix removed) is one or two letters
/// away from a section's name, as in `matrx_homeserver` or `limit_messages`.
pub(super) fn misspelt_section(name: &str) -> bool {
    let Some((first, _)) = name.split_once('_') else {
        return false;
    };
    first.len() >= 4
        && SECTIONS
            .iter()
            .any(|section| matches!(strsim::damerau_levenshtein(first, section), 1 | 2))
}

/// A secret file larger than this is no token or password (a log, an image, a device).
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// A secret file as read.
pub(super) struct SecretFile {
    pub(super) text: String,
    /// The file's permission bits when group or others may read it.
    pub(super) loose_mode: Option<u32>,
}

pub(super) enum SecretFileError {
    Io(io::Error),
    /// Not a file a secret can be in; the reason is the message.
    Invalid(String),
}

/// Reads a `*_file` secret: a regular file only (a FIFO would block start-up for ever, and
/// `/dev/zero` would fill memory), bounded in size.
pub(super) fn read_secret_file(path: &Path) -> Result<SecretFile, SecretFileError> {
    use crate::bounded_read::{BoundedReadError, read_regular};
    use std::os::unix::fs::PermissionsExt;
    let (bytes, metadata) = read_regular(path, MAX_SECRET_FILE).map_err(|e| match e {
        BoundedReadError::Io(e) => SecretFileError::Io(e),
        BoundedReadError::NotRegular { is_dir } => {
            let kind = if is_dir {
                "a folder"
            } else {
                "a FIFO, a socket or a device"
            };
            SecretFileError::Invalid(format!(
                "is {kind}, not a regular file; a secret file must be a plain file"
            ))
        }
        BoundedReadError::TooLarge => SecretFileError::Invalid(format!(
            "is larger than {} KiB; a secret file holds one token, password or key",
            MAX_SECRET_FILE / 1024
        )),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        SecretFileError::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    })?;
    let mode = metadata.permissions().mode() & 0o7777;
    Ok(SecretFile {
        text,
        loose_mode: (mode & 0o044 != 0).then_some(mode),
    })
}

/// Whether a homeserver URL's host is this machine, where plain `http://` is fine.
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
