//! The daemon's configuration, in two stages: the TOML file, then `GUICHET_…` environment
//! overrides, are read into one layer of raw values that each remember where they came from
//! (file line or variable); then that layer is validated once into typed [`Settings`], with
//! `*_file` secrets read on the way. Every error names the key and its line or variable.
//!
//! The file is walked by hand over `toml`'s spanned tree rather than deserialized with serde:
//! that is what lets an unknown key, a wrong type or a bad duration point at its own line,
//! and an environment variable slot in as just another origin for the same key.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::engine::MatchingMode;
use crate::strings::Strings;

/// The file `guichet serve` and `guichet config check` read when none is named.
pub const DEFAULT_FILE: &str = "config.toml";
/// Prefix of every environment override: `GUICHET_<SECTION>_<KEY>`, or `GUICHET_<KEY>` for
/// top-level keys.
pub const ENV_PREFIX: &str = "GUICHET_";

/// Where the admin listens unless told otherwise: loopback, so metrics are not public.
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:9100";
/// How long a conversation is kept at all (RGPD: nothing about a person is kept for long).
pub const DEFAULT_FORGET_AFTER: Duration = Duration::from_secs(90 * DAY);
/// A user sending more than this many messages...
pub const DEFAULT_THROTTLE_MESSAGES: u32 = 20;
/// ...within this many seconds is throttled. Generous: clicking through menus is fast.
pub const DEFAULT_THROTTLE_SECONDS: u64 = 60;
/// The Matrix device guichet creates when it logs in with a password.
pub const DEFAULT_DEVICE_NAME: &str = "guichet";
/// After downtime, the Matrix bot answers messages younger than this, and skips older ones:
/// an answer hours late to a question asked in passing is noise.
pub const DEFAULT_CATCH_UP: Duration = Duration::from_secs(5 * MINUTE);
/// A message in a Matrix room starting with this word is addressed to the bot.
pub const DEFAULT_MATRIX_PREFIX: &str = "!guichet";
/// How long the Matrix bot waits for the key of a message it cannot decrypt yet before it
/// asks the person to send it again: keys usually follow within seconds.
pub const DEFAULT_LATE_KEY_WAIT: Duration = Duration::from_secs(30);

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

pub type Result<T, E = ConfigError> = std::result::Result<T, E>;

/// Everything the daemon needs, validated: every value has its type and every check is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The knowledge base: a main file or its folder.
    pub content: PathBuf,
    /// Where conversation state (the SQLite store) lives.
    pub state_dir: PathBuf,
    pub matching: Matching,
    /// A conversation silent this long starts again from the welcome message.
    pub idle_reset: Duration,
    /// A conversation silent this long is deleted.
    pub forget_after: Duration,
    /// The bot's own words, defaults overridden by `[strings]`.
    pub strings: Strings,
    /// `Some` when the file has a `[matrix]` section or a `GUICHET_MATRIX_…` variable is set.
    pub matrix: Option<MatrixSettings>,
    /// `Some` when the file has a `[discord]` section or a `GUICHET_DISCORD_…` variable is set.
    pub discord: Option<DiscordSettings>,
    pub admin: AdminSettings,
    /// From `[limits]`; `None` when `messages = 0` turns the throttle off.
    pub throttle: Option<Throttle>,
    pub stats: StatsSettings,
    /// Things that work but should not be left so (a secret readable by others, a plain
    /// `http://` homeserver, a variable that is no key): `serve` logs them, `config check`
    /// prints them.
    pub warnings: Vec<ConfigWarning>,
}

/// A configuration that works but should be fixed, with where to look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    pub at: Origin,
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: warning: {}", self.at, self.message)
    }
}

/// How typed messages are matched, as the config names it ([`Matching::engine_mode`] gives
/// the engine's [`MatchingMode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Matching {
    /// Exactly ChatMD 8.12's answers.
    Chatmd,
    /// guichet's own matching, made for chats (the default).
    #[default]
    Guichet,
}

/// Where the Matrix adapter answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RoomPolicy {
    /// In rooms with several people, only messages that mention the bot; every message in a
    /// direct chat.
    #[default]
    Mention,
    /// Every message in every room the bot is in.
    Open,
}

/// The Matrix `msgtype` of the bot's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessageType {
    /// `m.notice`: clients show it as a bot's, and bots do not answer it.
    #[default]
    Notice,
    /// `m.text`: an ordinary message.
    Text,
}

/// Which devices the Matrix bot shares the keys of its encrypted messages with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyRecipients {
    /// Every device of the room's members (matrix-sdk's default).
    #[default]
    All,
    /// Only devices their owner verified (cross-signed), as Element's "exclude insecure
    /// devices": an unverified device cannot read the bot's answers.
    Verified,
}

/// How the bot logs in to Matrix: exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatrixLogin {
    AccessToken(Secret),
    Password(Secret),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixSettings {
    /// `https://…`, the client-server API's base.
    pub homeserver: String,
    /// `@bot:example.org`, or the bare localpart `bot`.
    pub user: String,
    pub login: MatrixLogin,
    pub device_name: String,
    /// Unlocks the account's encryption keys from server-side backup.
    pub recovery_key: Option<Secret>,
    /// `@user:server`, or `@*:server` for everyone on a server. Empty: no invitation is
    /// accepted.
    pub allowed_inviters: Vec<String>,
    pub rooms: RoomPolicy,
    pub msgtype: MessageType,
    /// After downtime, messages younger than this are answered, older ones skipped.
    pub catch_up: Duration,
    /// A message in a room starting with this word (`!guichet`) is addressed to the bot.
    pub prefix: String,
    /// A room (`!id:server` or `#alias:server`) where reload errors are posted; off if `None`.
    pub admin_room: Option<String>,
    /// How long a message that cannot be decrypted yet waits for its key before the person
    /// is asked to send it again.
    pub late_key_wait: Duration,
    /// Which devices get the room keys of the bot's messages.
    pub key_recipients: KeyRecipients,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordSettings {
    pub token: Secret,
    /// Guilds where slash commands are registered at once (global ones take up to an hour).
    pub guild_ids: Vec<u64>,
    /// Ask for the privileged message-content intent, to answer replies to the bot sent
    /// without a ping (Discord blanks their text otherwise).
    pub message_content: bool,
    /// Tests only: a loopback `http://` base (a fake Discord) that replaces
    /// `https://discord.com` for REST and `GET /gateway`. Setting it also turns serenity's
    /// rate limiter off, which its proxy support requires; production leaves it `None`.
    pub api_base: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSettings {
    /// Where `/healthz` and `/metrics` are served.
    pub listen: SocketAddr,
}

/// At most `messages` messages per user within `window`; more get one polite notice, then
/// silence until the window passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    pub messages: NonZeroU32,
    pub window: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatsSettings {
    /// Count answered responses and unanswered questions (nothing about who asked).
    pub enabled: bool,
}

/// A password, token or key. It is never logged: `Debug` shows `Secret(***)`, there is no
/// `Display`, and the value is only reachable by calling [`Secret::expose`] on purpose.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, to hand to a login call and nowhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where a value came from: what an error message points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A line (1-based) of the configuration file.
    File { path: PathBuf, line: usize },
    /// An environment variable.
    Env { var: String },
}

impl Origin {
    /// The file line, if the value came from the file.
    pub fn line(&self) -> Option<usize> {
        match self {
            Origin::File { line, .. } => Some(*line),
            Origin::Env { .. } => None,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line } => write!(f, "{}:{line}", path.display()),
            Origin::Env { var } => write!(f, "environment variable {var}"),
        }
    }
}

/// Everything that makes a configuration unusable. Keys are written dotted
/// (`matrix.password`); `at` is the line or variable the admin should look at.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{at}: invalid TOML: {message}")]
    Syntax { at: Origin, message: String },
    #[error("{at}: unknown key `{key}`; {hint}")]
    UnknownKey {
        at: Origin,
        key: String,
        /// "did you mean …?", or the keys that exist there.
        hint: String,
    },
    #[error("{at}: `{key}` must be {expected}, not {found}")]
    WrongType {
        at: Origin,
        key: String,
        expected: &'static str,
        found: String,
    },
    #[error(
        "{at}: `{key}` = {value:?} is not a duration: {reason} (write a number and a unit: \"300ms\", \"30s\", \"5m\", \"24h\", \"90d\")"
    )]
    BadDuration {
        at: Origin,
        key: String,
        value: String,
        reason: String,
    },
    #[error("{at}: `{key}`: {reason}")]
    InvalidValue {
        at: Origin,
        key: String,
        reason: String,
    },
    #[error("{at}: `{key}` is required when [{section}] is set")]
    MissingKey {
        at: Origin,
        section: &'static str,
        key: String,
    },
    #[error("{at}: `{key}` and `{other}` ({other_at}) are both set; keep one")]
    Conflict {
        at: Origin,
        key: String,
        other: String,
        other_at: Origin,
    },
    #[error(
        "{at}: [matrix] needs a way to log in: `access_token` or `password` (or `access_token_file` / `password_file`)"
    )]
    MissingLogin { at: Origin },
    #[error("{at}: `{key}`: cannot read {}: {source}", path.display())]
    SecretFile {
        at: Origin,
        key: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl ConfigError {
    /// The line or variable at fault (none when the file itself cannot be read).
    pub fn origin(&self) -> Option<&Origin> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::Syntax { at, .. }
            | ConfigError::UnknownKey { at, .. }
            | ConfigError::WrongType { at, .. }
            | ConfigError::BadDuration { at, .. }
            | ConfigError::InvalidValue { at, .. }
            | ConfigError::MissingKey { at, .. }
            | ConfigError::Conflict { at, .. }
            | ConfigError::MissingLogin { at }
            | ConfigError::SecretFile { at, .. } => Some(at),
        }
    }

    /// The file line at fault, if it is in the file.
    pub fn line(&self) -> Option<usize> {
        self.origin().and_then(Origin::line)
    }
}

impl Default for Settings {
    /// No file, no environment: the terminal only, on `content/`, state in `state/`.
    fn default() -> Self {
        Self {
            content: PathBuf::from("content"),
            state_dir: PathBuf::from("state"),
            matching: Matching::Guichet,
            idle_reset: crate::service::DEFAULT_IDLE_RESET,
            forget_after: DEFAULT_FORGET_AFTER,
            strings: Strings::default(),
            matrix: None,
            discord: None,
            admin: AdminSettings {
                listen: SocketAddr::from(([127, 0, 0, 1], 9100)),
            },
            throttle: Some(Throttle {
                messages: NonZeroU32::new(DEFAULT_THROTTLE_MESSAGES).unwrap_or(NonZeroU32::MIN),
                window: Duration::from_secs(DEFAULT_THROTTLE_SECONDS),
            }),
            stats: StatsSettings::default(),
            warnings: Vec::new(),
        }
    }
}

impl Settings {
    /// Reads `file` (none: defaults), applies the `GUICHET_…` variables among `env`, reads the
    /// `*_file` secrets and validates. `env` is injected so tests never touch the process
    /// environment; the daemon passes [`process_env`].
    pub fn load<I, K, V>(file: Option<&Path>, env: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                Self::parse(&text, path, env)
            }
            None => {
                let mut layer = Layer::default();
                layer.read_env(env)?;
                layer.validate()
            }
        }
    }

    /// Like [`Settings::load`] on a file already read; `path` only names it in errors.
    pub fn parse<I, K, V>(text: &str, path: &Path, env: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut layer = Layer::default();
        layer.read_file(text, path)?;
        layer.read_env(env)?;
        layer.validate()
    }

    /// No network platform configured: `serve` runs the terminal.
    pub fn terminal_only(&self) -> bool {
        self.matrix.is_none() && self.discord.is_none()
    }
}

impl Matching {
    pub fn as_str(self) -> &'static str {
        match self {
            Matching::Chatmd => "chatmd",
            Matching::Guichet => "guichet",
        }
    }

    /// The engine's mode.
    pub fn engine_mode(self) -> MatchingMode {
        match self {
            Matching::Chatmd => MatchingMode::Chatmd,
            Matching::Guichet => MatchingMode::Guichet,
        }
    }
}

impl MatrixSettings {
    /// Whether an invitation from `user_id` is accepted (`allowed_inviters`).
    pub fn accepts_invite_from(&self, user_id: &str) -> bool {
        self.allowed_inviters.iter().any(|allowed| {
            allowed == user_id
                || allowed.strip_prefix("@*:").is_some_and(|server| {
                    user_id.starts_with('@')
                        && user_id
                            .rsplit_once(':')
                            .is_some_and(|(_, theirs)| theirs == server)
                })
        })
    }
}

/// The process environment, as [`Settings::load`] takes it. Values that are not UTF-8 are
/// passed lossily: they can only be wrong, and validation then says which variable is.
pub fn process_env() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().map(|(name, value)| {
        (
            name.to_string_lossy().into_owned(),
            value.to_string_lossy().into_owned(),
        )
    })
}

// ---------------------------------------------------------------------------------------------
// The schema: every key, and what type it holds.

/// What a key holds, as read from TOML or from an environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
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

impl Kind {
    fn expected(self) -> &'static str {
        match self {
            Kind::Text | Kind::Secret => "a string",
            Kind::Bool => "true or false",
            Kind::Integer => "a whole number",
            Kind::List => "a list of strings",
            Kind::Ids => "a list of Discord ids",
        }
    }
}

/// Tables in the file, and the `<SECTION>` of `GUICHET_<SECTION>_<KEY>`. None contains `_`,
/// so a variable splits unambiguously at its first one.
const SECTIONS: &[&str] = &["matrix", "discord", "admin", "limits", "stats", "strings"];

/// Every key but `[strings]`, whose keys are the fields of [`Strings`] (see `strings_keys`).
/// `""` is the top level.
const KEYS: &[(&str, &str, Kind)] = &[
    ("", "content", Kind::Text),
    ("", "state_dir", Kind::Text),
    ("", "matching", Kind::Text),
    ("", "idle_reset", Kind::Text),
    ("", "forget_after", Kind::Text),
    ("matrix", "homeserver", Kind::Text),
    ("matrix", "user", Kind::Text),
    ("matrix", "password", Kind::Secret),
    ("matrix", "password_file", Kind::Text),
    ("matrix", "access_token", Kind::Secret),
    ("matrix", "access_token_file", Kind::Text),
    ("matrix", "device_name", Kind::Text),
    ("matrix", "recovery_key", Kind::Secret),
    ("matrix", "recovery_key_file", Kind::Text),
    ("matrix", "allowed_inviters", Kind::List),
    ("matrix", "rooms", Kind::Text),
    ("matrix", "msgtype", Kind::Text),
    ("matrix", "catch_up", Kind::Text),
    ("matrix", "prefix", Kind::Text),
    ("matrix", "admin_room", Kind::Text),
    ("matrix", "late_key_wait", Kind::Text),
    ("matrix", "key_recipients", Kind::Text),
    ("discord", "token", Kind::Secret),
    ("discord", "token_file", Kind::Text),
    ("discord", "guild_ids", Kind::Ids),
    ("discord", "message_content", Kind::Bool),
    ("discord", "api_base", Kind::Text),
    ("admin", "listen", Kind::Text),
    ("limits", "messages", Kind::Integer),
    ("limits", "per_seconds", Kind::Integer),
    ("stats", "enabled", Kind::Bool),
];

/// The `[strings]` keys: the fields of [`Strings`], read off its serialized default so a field
/// added there is configurable here at once.
fn strings_keys() -> Vec<(String, Kind)> {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(Strings::default()) else {
        return Vec::new();
    };
    fields
        .into_iter()
        .filter_map(|(name, value)| match value {
            serde_json::Value::String(_) => Some((name, Kind::Text)),
            serde_json::Value::Array(_) => Some((name, Kind::List)),
            _ => None,
        })
        .collect()
}

/// Every key of a section (`""`: the top level), for lookups and hints.
fn keys_of(section: &str) -> Vec<(String, Kind)> {
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

fn kind_of(section: &str, key: &str) -> Option<Kind> {
    keys_of(section)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, kind)| kind)
}

fn dotted(section: &str, key: &str) -> String {
    if section.is_empty() {
        key.to_owned()
    } else {
        format!("{section}.{key}")
    }
}

/// "did you mean `x`?" when a known key is close, else the list of keys that exist there.
fn unknown_key_hint(section: &str, key: &str) -> String {
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
fn closest_variable(var: &str) -> Option<String> {
    let names = variable_names();
    closest(var, names.iter().map(String::as_str), 0.9).map(str::to_owned)
}

/// The candidate most like `word` (Jaro-Winkler), if at least `min` alike: a typo of it.
fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>, min: f64) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(score, _)| *score >= min)
        .map(|(_, c)| c)
}

/// Whether the first word of a variable (lower case, prefix removed) is one or two letters
/// away from a section's name, as in `matrx_homeserver` or `limit_messages`.
fn misspelt_section(name: &str) -> bool {
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
struct SecretFile {
    text: String,
    /// The file's permission bits when group or others may read it.
    loose_mode: Option<u32>,
}

enum SecretFileError {
    Io(io::Error),
    /// Not a file a secret can be in; the reason is the message.
    Invalid(String),
}

/// Reads a `*_file` secret: a regular file only (a FIFO would block start-up for ever, and
/// `/dev/zero` would fill memory), bounded in size.
fn read_secret_file(path: &Path) -> Result<SecretFile, SecretFileError> {
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
fn is_loopback_url(rest: &str) -> bool {
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

// ---------------------------------------------------------------------------------------------
// Stage one: file and environment into a layer of raw values with their origins.

/// A value as read, typed by its key's [`Kind`] but not yet checked further.
enum Raw {
    Text(String),
    Secret(Secret),
    Bool(bool),
    Integer(i64),
    List(Vec<String>),
}

struct Entry {
    raw: Raw,
    at: Origin,
}

/// The values found, by `(section, key)`, and where each section was opened.
#[derive(Default)]
struct Layer {
    entries: BTreeMap<(String, String), Entry>,
    sections: BTreeMap<String, Origin>,
    warnings: Vec<ConfigWarning>,
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
    kind: Kind,
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
        (Kind::Text, DeValue::String(s)) => Ok(Raw::Text(s.to_string())),
        (Kind::Secret, DeValue::String(s)) => Ok(Raw::Secret(Secret::new(s.to_string()))),
        (Kind::Bool, DeValue::Boolean(b)) => Ok(Raw::Bool(*b)),
        (Kind::Integer, DeValue::Integer(i)) => i64::from_str_radix(i.as_str(), i.radix())
            .map(Raw::Integer)
            .map_err(|_| wrong("a number too large".to_owned(), value.span())),
        (Kind::List | Kind::Ids, DeValue::Array(items)) => {
            let mut list = Vec::with_capacity(items.len());
            for item in items.iter() {
                match (kind, item.get_ref()) {
                    (_, DeValue::String(s)) => list.push(s.to_string()),
                    // Kept as text: the id check (digits, in range) is stage two's.
                    (Kind::Ids, DeValue::Integer(i)) => list.push(
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
fn raw_from_env(kind: Kind, key: &str, value: &str, var: &str) -> Result<Raw> {
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
        Kind::Text => Ok(Raw::Text(value.to_owned())),
        Kind::Secret => Ok(Raw::Secret(Secret::new(value))),
        Kind::Bool => match value.trim() {
            "true" => Ok(Raw::Bool(true)),
            "false" => Ok(Raw::Bool(false)),
            _ => Err(wrong()),
        },
        Kind::Integer => value.trim().parse().map(Raw::Integer).map_err(|_| wrong()),
        Kind::List | Kind::Ids => {
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
fn twin(section: &str, key: &str) -> Option<String> {
    if kind_of(section, key) == Some(Kind::Secret) {
        return Some(format!("{key}_file"));
    }
    key.strip_suffix("_file")
        .filter(|secret| kind_of(section, secret) == Some(Kind::Secret))
        .map(str::to_owned)
}

impl Layer {
    fn read_file(&mut self, text: &str, path: &Path) -> Result<()> {
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
    fn read_env<I, K, V>(&mut self, env: I) -> Result<()>
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

// ---------------------------------------------------------------------------------------------
// Stage two: the layer into settings, every check done once.

/// A value found, with its dotted key and origin for the errors that come after.
struct Found<T> {
    value: T,
    key: String,
    at: Origin,
}

impl<T> Found<T> {
    fn invalid(&self, reason: impl Into<String>) -> ConfigError {
        ConfigError::InvalidValue {
            at: self.at.clone(),
            key: self.key.clone(),
            reason: reason.into(),
        }
    }
}

impl Layer {
    fn take(&mut self, section: &str, key: &str) -> Option<Found<Raw>> {
        self.entries
            .remove(&(section.to_owned(), key.to_owned()))
            .map(|entry| Found {
                value: entry.raw,
                key: dotted(section, key),
                at: entry.at,
            })
    }

    /// Takes a value of the kind `pick` accepts. Stage one typed every value by the schema,
    /// so the kind always matches; the `debug_assert` catches the schema and the getters
    /// drifting apart.
    fn typed<T>(
        &mut self,
        section: &str,
        key: &str,
        pick: fn(Raw) -> Option<T>,
    ) -> Option<Found<T>> {
        let found = self.take(section, key)?;
        let value = pick(found.value);
        debug_assert!(value.is_some(), "{} read as the wrong kind", found.key);
        Some(Found {
            value: value?,
            key: found.key,
            at: found.at,
        })
    }

    fn text(&mut self, section: &str, key: &str) -> Option<Found<String>> {
        self.typed(section, key, |raw| match raw {
            Raw::Text(value) => Some(value),
            _ => None,
        })
    }

    fn bool(&mut self, section: &str, key: &str) -> Option<bool> {
        let found = self.typed(section, key, |raw| match raw {
            Raw::Bool(value) => Some(value),
            _ => None,
        });
        found.map(|found| found.value)
    }

    fn integer(&mut self, section: &str, key: &str) -> Option<Found<i64>> {
        self.typed(section, key, |raw| match raw {
            Raw::Integer(value) => Some(value),
            _ => None,
        })
    }

    fn list(&mut self, section: &str, key: &str) -> Option<Found<Vec<String>>> {
        self.typed(section, key, |raw| match raw {
            Raw::List(value) => Some(value),
            _ => None,
        })
    }

    /// One of a few words, like `rooms = "mention" | "open"`.
    fn choice<T: Copy + Default>(
        &mut self,
        section: &str,
        key: &str,
        options: &[(&str, T)],
    ) -> Result<T> {
        let Some(found) = self.text(section, key) else {
            return Ok(T::default());
        };
        match options.iter().find(|(word, _)| *word == found.value) {
            Some((_, value)) => Ok(*value),
            None => {
                let words: Vec<String> = options.iter().map(|(w, _)| format!("{w:?}")).collect();
                Err(found.invalid(format!(
                    "must be {}, not {:?}",
                    words.join(" or "),
                    found.value
                )))
            }
        }
    }

    /// A secret given inline or by `<key>_file` (never both), read and checked non-empty.
    fn secret(&mut self, section: &str, key: &str) -> Result<Option<Found<Secret>>> {
        let inline = self.take(section, key);
        let file = self.text(section, &format!("{key}_file"));
        match (inline, file) {
            (Some(inline), Some(file)) => Err(ConfigError::Conflict {
                at: file.at,
                key: file.key,
                other: inline.key,
                other_at: inline.at,
            }),
            (Some(inline), None) => {
                let Raw::Secret(value) = inline.value else {
                    debug_assert!(false, "{} read as the wrong kind", inline.key);
                    return Ok(None);
                };
                let found = Found {
                    value,
                    key: inline.key,
                    at: inline.at,
                };
                if found.value.expose().trim().is_empty() {
                    return Err(found.invalid("must not be empty"));
                }
                Ok(Some(found))
            }
            (None, Some(file)) => {
                let path = PathBuf::from(&file.value);
                let content = match read_secret_file(&path) {
                    Ok(SecretFile { text, loose_mode }) => {
                        if let Some(mode) = loose_mode {
                            self.warnings.push(ConfigWarning {
                                at: file.at.clone(),
                                message: format!(
                                    "`{}`: {} is readable by other users (mode {mode:04o}); make it owner-only: chmod 600 {}",
                                    file.key,
                                    path.display(),
                                    path.display()
                                ),
                            });
                        }
                        text
                    }
                    Err(SecretFileError::Io(source)) => {
                        return Err(ConfigError::SecretFile {
                            at: file.at.clone(),
                            key: file.key.clone(),
                            path: path.clone(),
                            source,
                        });
                    }
                    Err(SecretFileError::Invalid(reason)) => {
                        return Err(file.invalid(format!("{}: {reason}", path.display())));
                    }
                };
                // Files written by `echo` or an editor end with a newline that is not part of
                // the secret.
                let value = content.trim_end_matches(['\n', '\r']);
                if value.trim().is_empty() {
                    return Err(file.invalid(format!("{} is empty", path.display())));
                }
                Ok(Some(Found {
                    value: Secret::new(value),
                    key: file.key,
                    at: file.at,
                }))
            }
            (None, None) => Ok(None),
        }
    }

    fn validate(mut self) -> Result<Settings> {
        let defaults = Settings::default();
        let content = self.path("", "content")?.unwrap_or(defaults.content);
        let state_dir = self.path("", "state_dir")?.unwrap_or(defaults.state_dir);
        let matching = self.choice(
            "",
            "matching",
            &[("chatmd", Matching::Chatmd), ("guichet", Matching::Guichet)],
        )?;
        let idle_reset = self
            .duration("", "idle_reset")?
            .unwrap_or(defaults.idle_reset);
        let forget_after = self
            .duration("", "forget_after")?
            .unwrap_or(defaults.forget_after);
        let strings = self.strings()?;
        let matrix = self.matrix()?;
        let discord = self.discord()?;
        let admin = self.admin(defaults.admin)?;
        let throttle = self.throttle()?;
        let stats = StatsSettings {
            enabled: self.bool("stats", "enabled").unwrap_or(false),
        };
        debug_assert!(self.entries.is_empty(), "keys left unread: {:?}", {
            self.entries.keys().collect::<Vec<_>>()
        });
        Ok(Settings {
            content,
            state_dir,
            matching,
            idle_reset,
            forget_after,
            strings,
            matrix,
            discord,
            admin,
            throttle,
            stats,
            warnings: self.warnings,
        })
    }

    fn path(&mut self, section: &str, key: &str) -> Result<Option<PathBuf>> {
        match self.text(section, key) {
            None => Ok(None),
            Some(found) if found.value.trim().is_empty() => Err(found.invalid("must not be empty")),
            Some(found) => Ok(Some(PathBuf::from(found.value))),
        }
    }

    fn duration(&mut self, section: &str, key: &str) -> Result<Option<Duration>> {
        let Some(found) = self.text(section, key) else {
            return Ok(None);
        };
        match parse_duration(&found.value) {
            Ok(duration) if duration.is_zero() => Err(ConfigError::BadDuration {
                at: found.at,
                key: found.key,
                value: found.value,
                reason: "it must be longer than zero".to_owned(),
            }),
            Ok(duration) => Ok(Some(duration)),
            Err(reason) => Err(ConfigError::BadDuration {
                at: found.at,
                key: found.key,
                value: found.value,
                reason,
            }),
        }
    }

    /// The defaults with `[strings]` laid over them, field by field.
    fn strings(&mut self) -> Result<Strings> {
        let Ok(serde_json::Value::Object(mut fields)) = serde_json::to_value(Strings::default())
        else {
            return Ok(Strings::default());
        };
        for (key, kind) in strings_keys() {
            let value = match kind {
                Kind::Text => match self.text("strings", &key) {
                    None => continue,
                    Some(found) if found.value.trim().is_empty() => {
                        return Err(found.invalid("must not be empty"));
                    }
                    Some(found) => {
                        if self.sections.contains_key("discord")
                            && let Err(reason) = discord_text(&key, &found.value)
                        {
                            return Err(found.invalid(reason));
                        }
                        serde_json::Value::from(found.value)
                    }
                },
                _ => match self.list("strings", &key) {
                    None => continue,
                    // The bot draws one of them: an empty one would be sent as is.
                    Some(found) if found.value.is_empty() => {
                        return Err(found.invalid("needs at least one sentence"));
                    }
                    Some(found) if found.value.iter().any(|s| s.trim().is_empty()) => {
                        return Err(found.invalid("must not hold an empty sentence"));
                    }
                    Some(found) => serde_json::Value::from(found.value),
                },
            };
            fields.insert(key, value);
        }
        // Cannot fail: every value was typed after the default's own fields.
        serde_json::from_value(serde_json::Value::Object(fields)).map_err(|err| {
            ConfigError::InvalidValue {
                at: self.section_origin("strings"),
                key: "strings".to_owned(),
                reason: err.to_string(),
            }
        })
    }

    fn required_text(&mut self, section: &'static str, key: &str) -> Result<Found<String>> {
        let found = self
            .text(section, key)
            .ok_or_else(|| self.missing(section, key))?;
        if found.value.trim().is_empty() {
            return Err(found.invalid("must not be empty"));
        }
        Ok(found)
    }

    fn missing(&self, section: &'static str, key: &str) -> ConfigError {
        ConfigError::MissingKey {
            at: self.section_origin(section),
            section,
            key: dotted(section, key),
        }
    }

    fn section_origin(&self, section: &str) -> Origin {
        self.sections
            .get(section)
            .cloned()
            .unwrap_or_else(|| Origin::Env {
                var: format!("{ENV_PREFIX}{}", section.to_ascii_uppercase()),
            })
    }

    fn matrix(&mut self) -> Result<Option<MatrixSettings>> {
        if !self.sections.contains_key("matrix") {
            return Ok(None);
        }
        let homeserver = self.required_text("matrix", "homeserver")?;
        let (plain, rest) = match homeserver.value.strip_prefix("https://") {
            Some(rest) => (false, Some(rest)),
            None => (true, homeserver.value.strip_prefix("http://")),
        };
        let Some(rest) = rest.filter(|host| !host.trim_matches('/').is_empty()) else {
            return Err(homeserver.invalid(format!(
                "{:?} is not a homeserver URL (like \"https://matrix.example.org\")",
                homeserver.value
            )));
        };
        if plain && !is_loopback_url(rest) {
            self.warnings.push(ConfigWarning {
                at: homeserver.at.clone(),
                message: format!(
                    "`{}` = {:?} is plain http: the access token and every message cross the network unencrypted; use https:// (http:// is for a homeserver on this machine)",
                    homeserver.key, homeserver.value
                ),
            });
        }
        let user = self.required_text("matrix", "user")?;
        if user.value.chars().any(char::is_whitespace)
            || (user.value.starts_with('@') && !user.value.contains(':'))
        {
            return Err(user.invalid(format!(
                "{:?} is not a Matrix user (like \"@guichet:example.org\")",
                user.value
            )));
        }
        let login = match (
            self.secret("matrix", "access_token")?,
            self.secret("matrix", "password")?,
        ) {
            (Some(token), Some(password)) => {
                return Err(ConfigError::Conflict {
                    at: password.at,
                    key: password.key,
                    other: token.key,
                    other_at: token.at,
                });
            }
            (Some(token), None) => MatrixLogin::AccessToken(token.value),
            (None, Some(password)) => MatrixLogin::Password(password.value),
            (None, None) => {
                return Err(ConfigError::MissingLogin {
                    at: self.section_origin("matrix"),
                });
            }
        };
        let device_name = match self.text("matrix", "device_name") {
            None => DEFAULT_DEVICE_NAME.to_owned(),
            Some(found) if found.value.trim().is_empty() => {
                return Err(found.invalid("must not be empty"));
            }
            Some(found) => found.value,
        };
        let recovery_key = self
            .secret("matrix", "recovery_key")?
            .map(|found| found.value);
        let allowed_inviters = match self.list("matrix", "allowed_inviters") {
            None => Vec::new(),
            Some(found) => {
                if let Some(bad) = found.value.iter().find(|id| !is_matrix_id(id, '@')) {
                    return Err(found.invalid(format!(
                        "{bad:?} is not a Matrix user (like \"@ana:example.org\", or \"@*:example.org\" for everyone on a server)"
                    )));
                }
                found.value
            }
        };
        let rooms = self.choice(
            "matrix",
            "rooms",
            &[("mention", RoomPolicy::Mention), ("open", RoomPolicy::Open)],
        )?;
        let msgtype = self.choice(
            "matrix",
            "msgtype",
            &[("notice", MessageType::Notice), ("text", MessageType::Text)],
        )?;
        let catch_up = self
            .duration("matrix", "catch_up")?
            .unwrap_or(DEFAULT_CATCH_UP);
        let prefix = match self.text("matrix", "prefix") {
            None => DEFAULT_MATRIX_PREFIX.to_owned(),
            Some(found) if found.value.is_empty() || found.value.contains(char::is_whitespace) => {
                return Err(found.invalid("must be one word, like \"!guichet\""));
            }
            Some(found) => found.value,
        };
        let admin_room = match self.text("matrix", "admin_room") {
            None => None,
            Some(found) if is_room_id(&found.value) || is_matrix_id(&found.value, '#') => {
                Some(found.value)
            }
            Some(found) => {
                return Err(found.invalid(format!(
                    "{:?} is not a Matrix room (like \"!abcdef:example.org\" or \"#admins:example.org\")",
                    found.value
                )));
            }
        };
        let late_key_wait = self
            .duration("matrix", "late_key_wait")?
            .unwrap_or(DEFAULT_LATE_KEY_WAIT);
        let key_recipients = self.choice(
            "matrix",
            "key_recipients",
            &[
                ("all", KeyRecipients::All),
                ("verified", KeyRecipients::Verified),
            ],
        )?;
        Ok(Some(MatrixSettings {
            homeserver: homeserver.value,
            user: user.value,
            login,
            device_name,
            recovery_key,
            allowed_inviters,
            rooms,
            msgtype,
            catch_up,
            prefix,
            admin_room,
            late_key_wait,
            key_recipients,
        }))
    }

    fn discord(&mut self) -> Result<Option<DiscordSettings>> {
        if !self.sections.contains_key("discord") {
            return Ok(None);
        }
        let token = self
            .secret("discord", "token")?
            .ok_or_else(|| self.missing("discord", "token"))?
            .value;
        let guild_ids = match self.list("discord", "guild_ids") {
            None => Vec::new(),
            Some(found) => {
                let mut ids = Vec::with_capacity(found.value.len());
                for id in &found.value {
                    match id.trim().parse::<u64>() {
                        Ok(n) if n > 0 => ids.push(n),
                        _ => {
                            return Err(found.invalid(format!(
                                "{id:?} is not a Discord id (a number like 123456789012345678)"
                            )));
                        }
                    }
                }
                ids
            }
        };
        let message_content = self.bool("discord", "message_content").unwrap_or(false);
        let api_base = match self.text("discord", "api_base") {
            None => None,
            Some(found) => {
                // Only a local fake: anything else would send the token elsewhere with the
                // rate limiter off.
                let base = found.value.trim_end_matches('/').to_owned();
                let host = base.strip_prefix("http://").unwrap_or_default();
                let host = host.rsplit_once(':').map_or(host, |(host, _)| host);
                if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
                    return Err(found.invalid(format!(
                        "{:?} is not a loopback URL (like \"http://127.0.0.1:8080\"); \
                         api_base is for tests against a fake Discord only",
                        found.value
                    )));
                }
                Some(base)
            }
        };
        Ok(Some(DiscordSettings {
            token,
            guild_ids,
            message_content,
            api_base,
        }))
    }

    fn admin(&mut self, default: AdminSettings) -> Result<AdminSettings> {
        let Some(found) = self.text("admin", "listen") else {
            return Ok(default);
        };
        match found.value.trim().parse() {
            Ok(listen) => Ok(AdminSettings { listen }),
            Err(_) => Err(found.invalid(format!(
                "{:?} is not an IP address and port (like \"127.0.0.1:9100\", or \"0.0.0.0:9100\" in a container)",
                found.value
            ))),
        }
    }

    fn throttle(&mut self) -> Result<Option<Throttle>> {
        let messages = match self.integer("limits", "messages") {
            None => DEFAULT_THROTTLE_MESSAGES,
            Some(found) => u32::try_from(found.value).map_err(|_| {
                found.invalid(format!(
                    "must be between 0 (no limit) and {}, not {}",
                    u32::MAX,
                    found.value
                ))
            })?,
        };
        let seconds = match self.integer("limits", "per_seconds") {
            None => DEFAULT_THROTTLE_SECONDS,
            Some(found) => u64::try_from(found.value)
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| {
                    found.invalid(format!("must be at least 1 second, not {}", found.value))
                })?,
        };
        Ok(NonZeroU32::new(messages).map(|messages| Throttle {
            messages,
            window: Duration::from_secs(seconds),
        }))
    }
}

/// A room id: `!opaque:server`, or since room version 12 just `!opaque` (the server part is
/// gone; Synapse makes such rooms by default).
fn is_room_id(id: &str) -> bool {
    id.strip_prefix('!')
        .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
}

/// `@local:server`-shaped (or `!`, `#`): the sigil, something, a colon, a server.
fn is_matrix_id(id: &str, sigil: char) -> bool {
    id.strip_prefix(sigil)
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(local, server)| {
            !local.is_empty() && !server.is_empty() && !id.chars().any(char::is_whitespace)
        })
}

// ---------------------------------------------------------------------------------------------
// Durations as people write them.

/// Units, longest first so `ms` is not read as `m` then garbage.
const UNITS: &[(&str, u64, &str)] = &[
    ("ms", 1, "ms"),
    ("s", 1_000, "s"),
    ("m", MINUTE * 1_000, "m"),
    ("h", HOUR * 1_000, "h"),
    ("d", DAY * 1_000, "d"),
];

/// `"300ms"`, `"30s"`, `"5m"`, `"24h"`, `"90d"`, or several together (`"1h30m"`). Whole
/// numbers only, and always a unit: a bare `24` could be hours or seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("it is empty".to_owned());
    }
    let mut rest = text;
    let mut millis: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("expected a number at {rest:?}"));
        }
        let (number, after) = rest.split_at(digits);
        let letters = after
            .bytes()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        let (unit, after) = after.split_at(letters);
        if unit.is_empty() {
            return Err(match after.chars().next() {
                Some('.' | ',') => "use whole numbers (\"90m\" rather than \"1.5h\")".to_owned(),
                Some(other) => format!("unexpected {other:?} after {number}"),
                None => format!("{number} has no unit"),
            });
        }
        let Some((_, scale, _)) = UNITS.iter().find(|(name, _, _)| *name == unit) else {
            return Err(format!("unknown unit {unit:?}"));
        };
        let part = number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(*scale))
            .and_then(|n| millis.checked_add(n));
        millis = part.ok_or_else(|| "it is too long".to_owned())?;
        rest = after;
    }
    Ok(Duration::from_millis(millis))
}

/// The inverse of `parse_duration`, in the largest units that divide it: `"24h"`, `"1h30m"`.
fn format_duration(duration: Duration) -> String {
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
    for (_, scale, name) in units.iter().rev() {
        if millis >= *scale {
            text.push_str(&format!("{}{name}", millis / scale));
            millis %= scale;
        }
    }
    text
}

// ---------------------------------------------------------------------------------------------
// The summary `guichet config check` prints.

/// The settings as TOML, secrets shown as `"***"`: what `guichet config check` prints.
impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HIDDEN: &str = "\"***\"";
        writeln!(f, "content = {:?}", self.content.display().to_string())?;
        writeln!(f, "state_dir = {:?}", self.state_dir.display().to_string())?;
        writeln!(f, "matching = {:?}", self.matching.as_str())?;
        writeln!(f, "idle_reset = {:?}", format_duration(self.idle_reset))?;
        writeln!(f, "forget_after = {:?}", format_duration(self.forget_after))?;
        let platforms: Vec<&str> = [
            self.matrix.as_ref().map(|_| "matrix"),
            self.discord.as_ref().map(|_| "discord"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if platforms.is_empty() {
            writeln!(f, "# platforms: terminal only")?;
        } else {
            writeln!(f, "# platforms: {}", platforms.join(", "))?;
        }

        let overridden = self.overridden_strings();
        writeln!(f, "\n[strings]")?;
        if overridden.is_empty() {
            writeln!(f, "# all default")?;
        } else {
            writeln!(f, "# overridden: {}", overridden.join(", "))?;
        }

        if let Some(matrix) = &self.matrix {
            writeln!(f, "\n[matrix]")?;
            writeln!(f, "homeserver = {:?}", matrix.homeserver)?;
            writeln!(f, "user = {:?}", matrix.user)?;
            match matrix.login {
                MatrixLogin::AccessToken(_) => writeln!(f, "access_token = {HIDDEN}")?,
                MatrixLogin::Password(_) => writeln!(f, "password = {HIDDEN}")?,
            }
            writeln!(f, "device_name = {:?}", matrix.device_name)?;
            if matrix.recovery_key.is_some() {
                writeln!(f, "recovery_key = {HIDDEN}")?;
            }
            writeln!(f, "allowed_inviters = {:?}", matrix.allowed_inviters)?;
            let rooms = match matrix.rooms {
                RoomPolicy::Mention => "mention",
                RoomPolicy::Open => "open",
            };
            writeln!(f, "rooms = {rooms:?}")?;
            let msgtype = match matrix.msgtype {
                MessageType::Notice => "notice",
                MessageType::Text => "text",
            };
            writeln!(f, "msgtype = {msgtype:?}")?;
            writeln!(f, "catch_up = {:?}", format_duration(matrix.catch_up))?;
            writeln!(f, "prefix = {:?}", matrix.prefix)?;
            if let Some(room) = &matrix.admin_room {
                writeln!(f, "admin_room = {room:?}")?;
            }
            writeln!(
                f,
                "late_key_wait = {:?}",
                format_duration(matrix.late_key_wait)
            )?;
            let recipients = match matrix.key_recipients {
                KeyRecipients::All => "all",
                KeyRecipients::Verified => "verified",
            };
            writeln!(f, "key_recipients = {recipients:?}")?;
        }

        if let Some(discord) = &self.discord {
            writeln!(f, "\n[discord]")?;
            writeln!(f, "token = {HIDDEN}")?;
            writeln!(f, "guild_ids = {:?}", discord.guild_ids)?;
            writeln!(f, "message_content = {}", discord.message_content)?;
            if let Some(base) = &discord.api_base {
                writeln!(f, "api_base = {base:?}")?;
            }
        }

        writeln!(f, "\n[admin]")?;
        writeln!(f, "listen = {:?}", self.admin.listen.to_string())?;

        writeln!(f, "\n[limits]")?;
        match self.throttle {
            Some(throttle) => {
                writeln!(f, "messages = {}", throttle.messages)?;
                writeln!(f, "per_seconds = {}", throttle.window.as_secs())?;
            }
            None => writeln!(f, "messages = 0  # no throttle")?,
        }

        writeln!(f, "\n[stats]")?;
        write!(f, "enabled = {}", self.stats.enabled)
    }
}

impl Settings {
    /// The `[strings]` keys whose value differs from the default.
    fn overridden_strings(&self) -> Vec<String> {
        let (Ok(ours), Ok(defaults)) = (
            serde_json::to_value(&self.strings),
            serde_json::to_value(Strings::default()),
        ) else {
            return Vec::new();
        };
        strings_keys()
            .into_iter()
            .map(|(key, _)| key)
            .filter(|key| ours.get(key) != defaults.get(key))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_ENV: [(&str, &str); 0] = [];

    fn parse(text: &str) -> Result<Settings> {
        Settings::parse(text, Path::new("config.toml"), NO_ENV)
    }

    fn parse_env(text: &str, env: &[(&str, &str)]) -> Result<Settings> {
        Settings::parse(text, Path::new("config.toml"), env.iter().copied())
    }

    fn error(text: &str) -> ConfigError {
        match parse(text) {
            Ok(settings) => panic!("accepted: {settings:?}"),
            Err(err) => err,
        }
    }

    const MATRIX: &str =
        "[matrix]\nhomeserver = \"https://matrix.example.org\"\nuser = \"@guichet:example.org\"\n";

    #[test]
    fn durations_people_write() {
        let table: &[(&str, Option<u64>)] = &[
            ("300ms", Some(300)),
            ("30s", Some(30_000)),
            ("5m", Some(300_000)),
            ("24h", Some(86_400_000)),
            ("90d", Some(90 * 86_400_000)),
            ("1h30m", Some(5_400_000)),
            (" 2h ", Some(7_200_000)),
            ("0s", Some(0)),
            ("24", None),
            ("1.5h", None),
            ("h", None),
            ("5 m", None),
            ("3y", None),
            ("", None),
            ("-5m", None),
            ("99999999999999999999d", None),
            ("999999999999999d", None),
        ];
        for (text, millis) in table {
            assert_eq!(
                parse_duration(text).ok(),
                millis.map(Duration::from_millis),
                "{text:?}"
            );
        }
    }

    #[test]
    fn durations_print_back_as_written() {
        for text in [
            "300ms", "30s", "5m", "24h", "36h", "2d", "90d", "1h30m", "3d1s",
        ] {
            let duration = parse_duration(text).unwrap();
            assert_eq!(format_duration(duration), text);
        }
        assert_eq!(format_duration(parse_duration("1d").unwrap()), "24h");
        assert_eq!(format_duration(parse_duration("48h").unwrap()), "2d");
    }

    #[test]
    fn duration_errors_say_what_is_wrong() {
        assert_eq!(parse_duration("24").unwrap_err(), "24 has no unit");
        assert!(
            parse_duration("1.5h")
                .unwrap_err()
                .contains("whole numbers")
        );
        assert_eq!(parse_duration("3y").unwrap_err(), "unknown unit \"y\"");
    }

    #[test]
    fn no_file_no_env_is_the_terminal_on_content() {
        let settings = Settings::load(None, NO_ENV).unwrap();
        assert_eq!(settings, Settings::default());
        assert!(settings.terminal_only());
        assert_eq!(settings.content, Path::new("content"));
        assert_eq!(settings.state_dir, Path::new("state"));
        assert_eq!(settings.idle_reset, Duration::from_secs(86_400));
        assert_eq!(settings.admin.listen.to_string(), DEFAULT_ADMIN_LISTEN);
        assert!(!settings.stats.enabled);
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        assert_eq!(parse("").unwrap(), Settings::default());
    }

    #[test]
    fn top_level_keys() {
        let settings = parse(
            "content = \"kb/main.md\"\nstate_dir = \"/data\"\nmatching = \"guichet\"\nidle_reset = \"2h\"\nforget_after = \"30d\"\n",
        )
        .unwrap();
        assert_eq!(settings.content, Path::new("kb/main.md"));
        assert_eq!(settings.state_dir, Path::new("/data"));
        assert_eq!(settings.matching, Matching::Guichet);
        assert_eq!(settings.matching.engine_mode(), MatchingMode::Guichet);
        assert_eq!(Matching::Chatmd.engine_mode(), MatchingMode::Chatmd);
        assert_eq!(settings.idle_reset, Duration::from_secs(7200));
        assert_eq!(settings.forget_after, Duration::from_secs(30 * 86_400));
    }

    #[test]
    fn unknown_keys_name_the_key_and_line() {
        let err = error(
            "content = \"content\"\n\n[matrix]\nhomeserver = \"https://m.org\"\npasword = \"x\"\n",
        );
        assert!(matches!(&err, ConfigError::UnknownKey { key, .. } if key == "matrix.pasword"));
        assert_eq!(err.line(), Some(5));
        assert_eq!(
            err.to_string(),
            "config.toml:5: unknown key `matrix.pasword`; did you mean `password`?"
        );

        let err = error("# a comment\nlanguage = \"fr\"\n");
        assert_eq!(err.line(), Some(2));
        assert!(
            err.to_string()
                .contains("known keys at the top level: content,"),
            "{err}"
        );

        // A section that does not exist is an unknown key too.
        let err = error("\n[telegram]\ntoken = \"x\"\n");
        assert!(matches!(&err, ConfigError::UnknownKey { key, .. } if key == "telegram"));
        assert_eq!(err.line(), Some(2));
    }

    #[test]
    fn the_first_error_in_the_file_is_reported() {
        // Keys are stored sorted; the walk must still follow the file.
        let err = error("zzz = 1\naaa = 2\n");
        assert_eq!(err.line(), Some(1));
    }

    #[test]
    fn wrong_types_name_the_key_and_line() {
        let cases: &[(&str, &str, usize, &str)] = &[
            (
                "\n\n[stats]\nenabled = \"yes\"\n",
                "stats.enabled",
                4,
                "true or false",
            ),
            (
                "[limits]\nmessages = \"10\"\n",
                "limits.messages",
                2,
                "a whole number",
            ),
            ("content = 3\n", "content", 1, "a string"),
            ("matrix = 3\n", "matrix", 1, "a table (a [section])"),
            (
                "[matrix]\nallowed_inviters = \"@a:b\"\n",
                "matrix.allowed_inviters",
                2,
                "a list of strings",
            ),
            (
                "[matrix]\nallowed_inviters = [\n  \"@a:b\",\n  3,\n]\n",
                "matrix.allowed_inviters",
                4,
                "a list of strings",
            ),
            (
                "[discord]\nguild_ids = [1.5]\n",
                "discord.guild_ids",
                2,
                "a list of Discord ids",
            ),
        ];
        for (text, key, line, expected) in cases {
            let err = error(text);
            match &err {
                ConfigError::WrongType {
                    key: k,
                    expected: e,
                    ..
                } => {
                    assert_eq!((k.as_str(), *e), (*key, *expected), "{text}");
                }
                other => panic!("{text}: {other}"),
            }
            assert_eq!(err.line(), Some(*line), "{text}: {err}");
        }
    }

    #[test]
    fn a_mistyped_secret_is_not_echoed() {
        let err = error(&format!("{MATRIX}password = 123456789\n"));
        assert!(matches!(err, ConfigError::WrongType { .. }));
        assert!(!err.to_string().contains("123456789"), "{err}");
    }

    #[test]
    fn toml_syntax_errors_have_a_line() {
        let err = error("content = \"content\"\nstate_dir = \n");
        assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");
        assert_eq!(err.line(), Some(2));
        let err = error("[matrix]\nuser = \"a\"\nuser = \"b\"\n");
        assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");
        assert_eq!(err.line(), Some(3));
    }

    #[test]
    fn bad_durations_name_the_key_and_line() {
        let err = error("content = \"c\"\nidle_reset = \"24\"\n");
        assert!(
            matches!(&err, ConfigError::BadDuration { key, value, .. } if key == "idle_reset" && value == "24")
        );
        assert_eq!(err.line(), Some(2));
        assert!(
            err.to_string().starts_with(
                "config.toml:2: `idle_reset` = \"24\" is not a duration: 24 has no unit"
            ),
            "{err}"
        );
        let err = error("forget_after = \"0d\"\n");
        assert!(matches!(&err, ConfigError::BadDuration { key, .. } if key == "forget_after"));
        assert!(err.to_string().contains("longer than zero"));
    }

    #[test]
    fn invalid_values_name_the_key_and_line() {
        let long_description = format!(
            "[strings]\n\ncommand_role_description = \"{}\"\n[discord]\ntoken = \"t\"\n",
            "x".repeat(101)
        );
        let cases: &[(&str, &str, usize)] = &[
            ("matching = \"fuzzy\"\n", "matching", 1),
            (
                "\n[admin]\nlisten = \"localhost:9100\"\n",
                "admin.listen",
                3,
            ),
            ("[limits]\nmessages = -1\n", "limits.messages", 2),
            ("[limits]\nper_seconds = 0\n", "limits.per_seconds", 2),
            ("[strings]\nfallback = []\n", "strings.fallback", 2),
            (
                "[strings]\nbad_words = [\"x\", \"\"]\n",
                "strings.bad_words",
                2,
            ),
            ("[strings]\nnext_skip = \" \"\n", "strings.next_skip", 2),
            ("content = \"\"\n", "content", 1),
            (
                "[discord]\ntoken = \"t\"\nguild_ids = [\"12a\"]\n",
                "discord.guild_ids",
                3,
            ),
            (
                "[matrix]\nhomeserver = \"matrix.example.org\"\n",
                "matrix.homeserver",
                2,
            ),
            // With Discord on, a command name or description Discord would refuse.
            (
                "[discord]\ntoken = \"t\"\n[strings]\ncommand_menu = \"Mon menu\"\n",
                "strings.command_menu",
                4,
            ),
            (&long_description, "strings.command_role_description", 3),
        ];
        // Discord's own rule, where the old check refused the apostrophe.
        let apostrophe = "[discord]\ntoken = \"t\"\n[strings]\ncommand_menu = \"aujourd'hui\"\n";
        assert_eq!(
            parse(apostrophe).unwrap().strings.command_menu,
            "aujourd'hui"
        );
        // Without Discord, names are only typed after the prefix.
        assert!(parse("[strings]\ncommand_menu = \"Mon menu\"\n").is_ok());
        for (text, key, line) in cases {
            let err = error(text);
            assert!(
                matches!(&err, ConfigError::InvalidValue { key: k, .. } if k == key),
                "{text}: {err}"
            );
            assert_eq!(err.line(), Some(*line), "{text}: {err}");
        }
        let matrix_cases: &[(&str, &str)] = &[
            ("rooms = \"all\"\n", "matrix.rooms"),
            ("msgtype = \"emote\"\n", "matrix.msgtype"),
            ("admin_room = \"admins\"\n", "matrix.admin_room"),
            ("admin_room = \"! admins\"\n", "matrix.admin_room"),
            ("allowed_inviters = [\"bob\"]\n", "matrix.allowed_inviters"),
            ("device_name = \"\"\n", "matrix.device_name"),
            ("key_recipients = \"trusted\"\n", "matrix.key_recipients"),
        ];
        for (line, key) in matrix_cases {
            let err = error(&format!("{MATRIX}access_token = \"t\"\n{line}"));
            assert!(
                matches!(&err, ConfigError::InvalidValue { key: k, .. } if k == key),
                "{line}: {err}"
            );
            assert_eq!(err.line(), Some(5), "{line}: {err}");
        }
    }

    #[test]
    fn matrix_needs_exactly_one_login() {
        let err = error(&format!("\n{MATRIX}"));
        assert!(matches!(err, ConfigError::MissingLogin { .. }), "{err}");
        assert_eq!(err.line(), Some(2), "the [matrix] header");

        let err = error(&format!("{MATRIX}access_token = \"t\"\npassword = \"p\"\n"));
        assert!(
            matches!(&err, ConfigError::Conflict { key, other, other_at, .. }
                if key == "matrix.password" && other == "matrix.access_token" && other_at.line() == Some(4)),
            "{err}"
        );
        assert_eq!(err.line(), Some(5));
        assert_eq!(
            err.to_string(),
            "config.toml:5: `matrix.password` and `matrix.access_token` (config.toml:4) are both set; keep one"
        );
    }

    #[test]
    fn matrix_catch_up_and_prefix() {
        let settings = parse(&format!("{MATRIX}access_token = \"t\"\n")).unwrap();
        let matrix = settings.matrix.unwrap();
        assert_eq!(matrix.catch_up, DEFAULT_CATCH_UP);
        assert_eq!(matrix.prefix, DEFAULT_MATRIX_PREFIX);

        let err = error(&format!("{MATRIX}access_token = \"t\"\ncatch_up = true\n"));
        assert_eq!(
            err.to_string(),
            "config.toml:5: `matrix.catch_up` must be a string, not a boolean"
        );
        let err = error(&format!("{MATRIX}access_token = \"t\"\ncatch_up = \"5\"\n"));
        assert!(err.to_string().contains("is not a duration"), "{err}");
        let err = error(&format!(
            "{MATRIX}access_token = \"t\"\nprefix = \"! aide\"\n"
        ));
        assert_eq!(err.line(), Some(5), "{err}");
    }

    #[test]
    fn matrix_late_keys_and_key_recipients() {
        let settings = parse(&format!("{MATRIX}access_token = \"t\"\n")).unwrap();
        let matrix = settings.matrix.unwrap();
        assert_eq!(matrix.late_key_wait, DEFAULT_LATE_KEY_WAIT);
        assert_eq!(matrix.key_recipients, KeyRecipients::All, "off by default");

        let settings = parse(&format!(
            "{MATRIX}access_token = \"t\"\nlate_key_wait = \"1m\"\nkey_recipients = \"verified\"\n"
        ))
        .unwrap();
        let matrix = settings.matrix.unwrap();
        assert_eq!(matrix.late_key_wait, Duration::from_secs(60));
        assert_eq!(matrix.key_recipients, KeyRecipients::Verified);
    }

    #[test]
    fn a_secret_and_its_file_conflict() {
        let err = error(&format!(
            "{MATRIX}password = \"p\"\npassword_file = \"/run/secrets/p\"\n"
        ));
        assert!(
            matches!(&err, ConfigError::Conflict { key, other, .. }
                if key == "matrix.password_file" && other == "matrix.password"),
            "{err}"
        );
        assert_eq!(err.line(), Some(5));
    }

    #[test]
    fn missing_keys_point_at_the_section() {
        let err = error("stats.enabled = true\n\n[matrix]\nuser = \"@g:e.org\"\n");
        assert!(
            matches!(&err, ConfigError::MissingKey { key, section: "matrix", .. } if key == "matrix.homeserver"),
            "{err}"
        );
        assert_eq!(err.line(), Some(3));
        let err = error("[discord]\nguild_ids = [1]\n");
        assert!(matches!(&err, ConfigError::MissingKey { key, .. } if key == "discord.token"));
        assert_eq!(err.line(), Some(1));
    }

    #[test]
    fn an_unreadable_secret_file_names_key_line_and_path() {
        let err = error(&format!(
            "{MATRIX}access_token_file = \"/nonexistent/guichet/token\"\n"
        ));
        assert!(
            matches!(&err, ConfigError::SecretFile { key, path, .. }
                if key == "matrix.access_token_file" && path == Path::new("/nonexistent/guichet/token")),
            "{err}"
        );
        assert_eq!(err.line(), Some(4));
        assert!(err.to_string().starts_with(
            "config.toml:4: `matrix.access_token_file`: cannot read /nonexistent/guichet/token: "
        ));
    }

    #[test]
    fn secret_files_are_read_without_their_final_newline() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "syt_not_a_real_token\n").unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();

        let settings = parse(&format!(
            "{MATRIX}access_token_file = {:?}\n",
            token.display().to_string()
        ))
        .unwrap();
        let matrix = settings.matrix.unwrap();
        assert_eq!(
            matrix.login,
            MatrixLogin::AccessToken(Secret::new("syt_not_a_real_token"))
        );

        let err = error(&format!(
            "{MATRIX}access_token_file = {:?}\n",
            empty.display().to_string()
        ));
        assert!(
            matches!(&err, ConfigError::InvalidValue { key, .. } if key == "matrix.access_token_file")
        );
        assert!(err.to_string().ends_with("is empty"), "{err}");
    }

    #[test]
    fn a_full_matrix_and_discord_configuration() {
        let settings = parse(&format!(
            "{MATRIX}password = \"hunter2\"\ndevice_name = \"bot\"\nrecovery_key = \"EsTc not real\"\n\
             allowed_inviters = [\"@ana:example.org\", \"@*:ac-paris.fr\"]\nrooms = \"open\"\n\
             msgtype = \"text\"\ncatch_up = \"90s\"\nprefix = \"!aide\"\nadmin_room = \"#admins:example.org\"\n\n\
             [discord]\ntoken = \"not-a-token\"\nguild_ids = [123456789012345678, \"876543210987654321\"]\n\
             message_content = true\n\n[admin]\nlisten = \"0.0.0.0:9200\"\n\n\
             [limits]\nmessages = 5\nper_seconds = 10\n\n[stats]\nenabled = true\n"
        ))
        .unwrap();
        let matrix = settings.matrix.as_ref().unwrap();
        assert_eq!(matrix.login, MatrixLogin::Password(Secret::new("hunter2")));
        assert_eq!(matrix.device_name, "bot");
        assert_eq!(matrix.recovery_key, Some(Secret::new("EsTc not real")));
        assert_eq!(matrix.rooms, RoomPolicy::Open);
        assert_eq!(matrix.msgtype, MessageType::Text);
        assert_eq!(matrix.catch_up, Duration::from_secs(90));
        assert_eq!(matrix.prefix, "!aide");
        assert_eq!(matrix.admin_room.as_deref(), Some("#admins:example.org"));
        // Room version 12 ids have no server part.
        let v12 = parse(&format!(
            "{MATRIX}access_token = \"t\"\nadmin_room = \"!GcmWIYk9UBXTRyUIw9WgVs3aL39LlAJWIXCoEGVAkjQ\"\n"
        ))
        .unwrap();
        assert!(v12.matrix.unwrap().admin_room.is_some());
        assert!(matrix.accepts_invite_from("@ana:example.org"));
        assert!(matrix.accepts_invite_from("@prof:ac-paris.fr"));
        assert!(!matrix.accepts_invite_from("@prof:ac-paris.fr.evil.org"));
        assert!(!matrix.accepts_invite_from("@bob:example.org"));
        let discord = settings.discord.as_ref().unwrap();
        assert_eq!(discord.token, Secret::new("not-a-token"));
        assert_eq!(
            discord.guild_ids,
            vec![123_456_789_012_345_678, 876_543_210_987_654_321]
        );
        assert!(discord.message_content);
        assert_eq!(settings.admin.listen.to_string(), "0.0.0.0:9200");
        assert_eq!(
            settings.throttle,
            Some(Throttle {
                messages: NonZeroU32::new(5).unwrap(),
                window: Duration::from_secs(10)
            })
        );
        assert!(settings.stats.enabled);
        assert!(!settings.terminal_only());

        for shown in [format!("{settings:?}"), settings.to_string()] {
            for secret in ["hunter2", "EsTc not real", "not-a-token"] {
                assert!(!shown.contains(secret), "{secret} leaked:\n{shown}");
            }
        }
        assert!(format!("{settings:?}").contains("Password(Secret(***))"));
    }

    #[test]
    fn secrets_debug_as_stars() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
        assert_eq!(format!("{:#?}", Secret::new("hunter2")), "Secret(***)");
    }

    #[test]
    fn no_throttle_with_zero_messages() {
        assert_eq!(parse("[limits]\nmessages = 0\n").unwrap().throttle, None);
    }

    #[test]
    fn strings_override_the_defaults_one_by_one() {
        let settings =
            parse("[strings]\nnext_skip = \"Suivant\"\nfallback = [\"Pardon ?\"]\n").unwrap();
        assert_eq!(settings.strings.next_skip, "Suivant");
        assert_eq!(settings.strings.fallback, vec!["Pardon ?".to_owned()]);
        assert_eq!(settings.strings.details, Strings::default().details);
        assert!(
            settings
                .to_string()
                .contains("# overridden: fallback, next_skip")
        );

        let err = error("[strings]\nfalback = [\"x\"]\n");
        assert!(
            err.to_string().contains("did you mean `fallback`?"),
            "{err}"
        );
    }

    #[test]
    fn env_overrides_the_file() {
        let settings = parse_env(
            "state_dir = \"state\"\n[admin]\nlisten = \"127.0.0.1:1\"\n",
            &[
                ("GUICHET_STATE_DIR", "/data"),
                ("GUICHET_ADMIN_LISTEN", "0.0.0.0:9100"),
                ("GUICHET_IDLE_RESET", "1h"),
                ("GUICHET_LIMITS_MESSAGES", "3"),
                ("GUICHET_STATS_ENABLED", "true"),
                ("GUICHET_STRINGS_DETAILS", "Plus"),
                (
                    "GUICHET_STRINGS_BAD_WORDS",
                    "[\"Poliment, s'il vous plaît.\"]",
                ),
                ("PATH", "/usr/bin"),
            ],
        )
        .unwrap();
        assert_eq!(settings.state_dir, Path::new("/data"));
        assert_eq!(settings.admin.listen.to_string(), "0.0.0.0:9100");
        assert_eq!(settings.idle_reset, Duration::from_secs(3600));
        assert_eq!(settings.throttle.unwrap().messages.get(), 3);
        assert!(settings.stats.enabled);
        assert_eq!(settings.strings.details, "Plus");
        assert_eq!(
            settings.strings.bad_words,
            vec!["Poliment, s'il vous plaît."]
        );
    }

    #[test]
    fn env_alone_enables_a_platform() {
        let settings = Settings::load(
            None,
            [
                ("GUICHET_DISCORD_TOKEN", "not-a-token"),
                ("GUICHET_DISCORD_GUILD_IDS", "1, 2,3"),
                ("GUICHET_DISCORD_MESSAGE_CONTENT", "false"),
            ],
        )
        .unwrap();
        let discord = settings.discord.unwrap();
        assert_eq!(discord.guild_ids, vec![1, 2, 3]);
        assert!(settings.matrix.is_none());

        let err = Settings::load(None, [("GUICHET_MATRIX_USER", "@g:e.org")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable GUICHET_MATRIX_USER: `matrix.homeserver` is required when [matrix] is set"
        );
    }

    #[test]
    fn env_secrets_replace_the_files_however_given() {
        let settings = parse_env(
            &format!("{MATRIX}password_file = \"/nonexistent\"\n"),
            &[("GUICHET_MATRIX_PASSWORD", "from-env")],
        )
        .unwrap();
        assert_eq!(
            settings.matrix.unwrap().login,
            MatrixLogin::Password(Secret::new("from-env"))
        );
        // But a token in the environment does not silently beat a password in the file.
        let err = parse_env(
            &format!("{MATRIX}password = \"p\"\n"),
            &[("GUICHET_MATRIX_ACCESS_TOKEN", "t")],
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::Conflict { .. }), "{err}");
        assert_eq!(err.line(), Some(4));
    }

    #[test]
    fn failing_env_overrides_name_the_variable() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "GUICHET_STATS_ENABLED",
                "yes",
                "`stats.enabled` must be true or false, not \"yes\"",
            ),
            (
                "GUICHET_LIMITS_MESSAGES",
                "ten",
                "`limits.messages` must be a whole number",
            ),
            (
                "GUICHET_IDLE_RESET",
                "1 day",
                "`idle_reset` = \"1 day\" is not a duration",
            ),
            (
                "GUICHET_MATRIX_PASWORD",
                "x",
                "unknown key `matrix.pasword`; did you mean `password`?",
            ),
            (
                "GUICHET_ADMIN_LISTEN",
                "nowhere",
                "`admin.listen`: \"nowhere\" is not an IP address",
            ),
            ("GUICHET_DISCORD_GUILD_IDS", "[1, ", "invalid TOML"),
        ];
        for (var, value, message) in cases {
            let err = parse_env("", &[(var, value)]).unwrap_err();
            assert_eq!(
                err.origin(),
                Some(&Origin::Env {
                    var: (*var).to_owned()
                }),
                "{err}"
            );
            assert_eq!(err.line(), None);
            let text = err.to_string();
            assert!(
                text.starts_with(&format!("environment variable {var}: "))
                    && text.contains(message),
                "{text}"
            );
        }
    }

    #[test]
    fn unrelated_and_empty_variables_are_ignored() {
        let settings = parse_env(
            "",
            &[
                ("GUICHET_CRASH_TEST_DATABASE", "/tmp/x"),
                ("GUICHET_STATE_DIR", ""),
                ("HOME", "/root"),
            ],
        )
        .unwrap();
        // Ignored, with a warning that names it (a misspelt key would look the same).
        let mut settings = settings;
        assert_eq!(settings.warnings.len(), 1, "{:?}", settings.warnings);
        assert!(
            settings.warnings[0]
                .to_string()
                .starts_with("environment variable GUICHET_CRASH_TEST_DATABASE: warning:")
        );
        settings.warnings.clear();
        assert_eq!(settings, Settings::default());
    }

    #[test]
    fn every_key_has_a_kind_and_sections_have_no_underscore() {
        for section in SECTIONS {
            assert!(!section.contains('_'), "{section}");
        }
        let keys = known_keys();
        assert!(keys.contains(&("strings".to_owned(), "fallback".to_owned())));
        for (section, key) in &keys {
            assert!(kind_of(section, key).is_some(), "{section}.{key}");
        }
    }
}
