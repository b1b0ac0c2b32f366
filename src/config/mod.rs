//! The daemon's configuration, in one schema: [`Settings`] and its sections are what serde
//! reads from the TOML file, with the `GUICHET_…` environment variables laid over it, each
//! value checked as it is read (`read.rs`); then what needs several keys, the `*_file`
//! secrets and the warnings (`check.rs`). Every error names the key and its line or variable.
//! Serialized, [`Settings`] is the summary `guichet config check` prints (`summary.rs`).

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::engine::MatchingMode;
use crate::strings::Strings;
use values::Limits;

mod check;
pub mod discord_commands;
mod duration;
mod read;
mod summary;
mod values;

pub use crate::store::DEFAULT_FORGET_AFTER;
pub use read::known_keys;

/// The file `guichet serve` and `guichet config check` read when none is named.
pub const DEFAULT_FILE: &str = "config.toml";
/// Prefix of every environment override: `GUICHET_<SECTION>_<KEY>`, or `GUICHET_<KEY>` for
/// top-level keys.
pub const ENV_PREFIX: &str = "GUICHET_";

/// Where the admin listens unless told otherwise: loopback, so metrics are not public.
pub const DEFAULT_ADMIN_LISTEN: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9100));
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
/// Its fields are the keys of the file (a struct per section): adding a key is adding a
/// field here, with its default in the `Default` impl, and a line in `config.example.toml`.
/// Keys that may be left unset default to the struct's `Default`, all at once
/// (`#[serde(default)]`). Serialized, it is the summary `guichet config check` prints.
/// Deserialized alone it is only the schema: the secrets and the checks of `check.rs` come
/// with [`Settings::load`] and [`Settings::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The knowledge base: a main file or its folder.
    pub content: PathBuf,
    /// Where conversation state (the SQLite store) lives.
    pub state_dir: PathBuf,
    pub matching: MatchingMode,
    /// A conversation silent this long starts again from the welcome message.
    #[serde(with = "duration")]
    pub idle_reset: Duration,
    /// A conversation silent this long is deleted.
    #[serde(with = "duration")]
    pub forget_after: Duration,
    /// `Some` when the file has a `[matrix]` section or a `GUICHET_MATRIX_…` variable is set.
    pub matrix: Option<MatrixSettings>,
    /// `Some` when the file has a `[discord]` section or a `GUICHET_DISCORD_…` variable is set.
    pub discord: Option<DiscordSettings>,
    pub admin: AdminSettings,
    /// From `[limits]`; `None` when `messages = 0` turns the throttle off.
    #[serde(rename = "limits", serialize_with = "Limits::write")]
    #[serde(deserialize_with = "Limits::read")]
    pub throttle: Option<Throttle>,
    pub stats: StatsSettings,
    /// The bot's own words, defaults overridden by `[strings]` (listed apart in the summary).
    #[serde(skip_serializing)]
    pub strings: Strings,
    /// Things that work but should not be left so (a secret readable by others, a plain
    /// `http://` homeserver, a variable that is no key): `serve` logs them, `config check`
    /// prints them.
    #[serde(skip)]
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

/// Where the Matrix adapter answers (as the config writes it: `mention`, `open`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoomPolicy {
    /// In rooms with several people, only messages that mention the bot; every message in a
    /// direct chat.
    #[default]
    Mention,
    /// Every message in every room the bot is in.
    Open,
}

/// The Matrix `msgtype` of the bot's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    /// `m.notice`: clients show it as a bot's, and bots do not answer it.
    #[default]
    Notice,
    /// `m.text`: an ordinary message.
    Text,
}

/// Which devices the Matrix bot shares the keys of its encrypted messages with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyRecipients {
    /// Every device of the room's members (matrix-sdk's default).
    #[default]
    All,
    /// Only devices their owner verified (cross-signed), as Element's "exclude insecure
    /// devices": an unverified device cannot read the bot's answers.
    Verified,
}

/// How the bot logs in to Matrix: exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatrixLogin {
    AccessToken(Secret),
    Password(Secret),
}

/// `[matrix]`. Its secrets (`login`, `recovery_key`) are no fields serde reads: each is given
/// inline or by the file its `_file` key names (`read::SECRETS`), and set by `check.rs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatrixSettings {
    /// `https://…`, the client-server API's base. Required.
    pub homeserver: String,
    /// `@bot:example.org`, or the bare localpart `bot`. Required.
    pub user: String,
    #[serde(flatten, skip_deserializing)]
    pub login: MatrixLogin,
    pub device_name: String,
    /// Unlocks the account's encryption keys from server-side backup.
    #[serde(skip_deserializing)]
    pub recovery_key: Option<Secret>,
    /// `@user:server`, or `@*:server` for everyone on a server. Empty: no invitation is
    /// accepted.
    pub allowed_inviters: Vec<String>,
    pub rooms: RoomPolicy,
    pub msgtype: MessageType,
    /// After downtime, messages younger than this are answered, older ones skipped.
    #[serde(with = "duration")]
    pub catch_up: Duration,
    /// A message in a room starting with this word (`!guichet`) is addressed to the bot.
    pub prefix: String,
    /// A room (`!id:server` or `#alias:server`) where reload errors are posted; off if `None`.
    pub admin_room: Option<String>,
    /// How long a message that cannot be decrypted yet waits for its key before the person
    /// is asked to send it again.
    #[serde(with = "duration")]
    pub late_key_wait: Duration,
    /// Which devices get the room keys of the bot's messages.
    pub key_recipients: KeyRecipients,
}

/// `[discord]`. Its `token` is a secret (see [`MatrixSettings`]), required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordSettings {
    #[serde(skip_deserializing)]
    pub token: Secret,
    /// Guilds where slash commands are registered at once (global ones take up to an hour).
    #[serde(deserialize_with = "values::ids")]
    pub guild_ids: Vec<u64>,
    /// Ask for the privileged message-content intent, to answer replies to the bot sent
    /// without a ping (Discord blanks their text otherwise).
    pub message_content: bool,
    /// After a restart, questions read back from the channels the bot talks in that are
    /// younger than this are answered, each once; older ones are skipped.
    #[serde(with = "duration")]
    pub catch_up: Duration,
    /// Tests only: a loopback `http://` base (a fake Discord) that replaces
    /// `https://discord.com` for REST and `GET /gateway`, for a `guichet serve` child process.
    /// Setting it also turns serenity's rate limiter off, which its proxy support requires;
    /// production leaves it `None`. In-process tests use `discord::StartOptions` instead,
    /// which keeps discord.com's URLs and the limiter.
    pub api_base: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSettings {
    /// Where `/healthz` and `/metrics` are served.
    #[serde(deserialize_with = "values::listen")]
    pub listen: SocketAddr,
}

/// At most `messages` messages per user within `window`; more get one polite notice, then
/// silence until the window passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    pub messages: NonZeroU32,
    pub window: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatsSettings {
    /// Count answered responses and unanswered questions (nothing about who asked).
    pub enabled: bool,
}

/// A password, token or key. It is never logged: `Debug` shows `Secret(***)`, it serializes
/// as `"***"`, there is no `Display`, and the value is only reachable by calling
/// [`Secret::expose`] on purpose.
#[derive(Clone, PartialEq, Eq, Default)]
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

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
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
    Read { path: PathBuf, source: io::Error },
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
            matching: MatchingMode::default(),
            idle_reset: crate::service::DEFAULT_IDLE_RESET,
            forget_after: DEFAULT_FORGET_AFTER,
            matrix: None,
            discord: None,
            admin: AdminSettings::default(),
            throttle: Limits::default().throttle(),
            stats: StatsSettings::default(),
            strings: Strings::default(),
            warnings: Vec::new(),
        }
    }
}

impl Default for MatrixSettings {
    /// What a `[matrix]` section leaves unset; `homeserver`, `user` and the login are
    /// required (`check.rs`), so theirs are never used.
    fn default() -> Self {
        Self {
            homeserver: String::new(),
            user: String::new(),
            login: MatrixLogin::AccessToken(Secret::default()),
            device_name: DEFAULT_DEVICE_NAME.to_owned(),
            recovery_key: None,
            allowed_inviters: Vec::new(),
            rooms: RoomPolicy::default(),
            msgtype: MessageType::default(),
            catch_up: DEFAULT_CATCH_UP,
            prefix: DEFAULT_MATRIX_PREFIX.to_owned(),
            admin_room: None,
            late_key_wait: DEFAULT_LATE_KEY_WAIT,
            key_recipients: KeyRecipients::default(),
        }
    }
}

impl Default for DiscordSettings {
    /// What a `[discord]` section leaves unset; the token is required (`check.rs`).
    fn default() -> Self {
        Self {
            token: Secret::default(),
            guild_ids: Vec::new(),
            message_content: false,
            catch_up: DEFAULT_CATCH_UP,
            api_base: None,
        }
    }
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            listen: DEFAULT_ADMIN_LISTEN,
        }
    }
}

impl Settings {
    /// Reads `file` (none: defaults), applies the `GUICHET_…` variables among `env`, reads the
    /// `*_file` secrets and validates. `env` is injected so tests never touch the process
    /// environment; the daemon passes [`process_env`].
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Result<Self> {
        match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                Self::parse(&text, path, env)
            }
            None => Self::parse("", Path::new(DEFAULT_FILE), env),
        }
    }

    /// Like [`Settings::load`] on a file already read; `path` only names it in errors.
    pub fn parse(
        text: &str,
        path: &Path,
        env: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Result<Self> {
        let (settings, context) = read::read(text, path, env)?;
        context.check(settings)
    }

    /// No network platform configured: `serve` runs the terminal.
    pub fn terminal_only(&self) -> bool {
        self.matrix.is_none() && self.discord.is_none()
    }
}

/// The process environment, as [`Settings::load`] takes it. Values that are not UTF-8 are
/// passed lossily: they can only be wrong, and `read.rs` refuses a `GUICHET_` one, naming it.
pub fn process_env() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().map(|(name, value)| {
        (
            name.to_string_lossy().into_owned(),
            value.to_string_lossy().into_owned(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::duration::{format_duration, parse_duration};
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
        assert_eq!(settings.admin.listen, DEFAULT_ADMIN_LISTEN);
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
        assert_eq!(settings.matching, MatchingMode::Guichet);
        let chatmd = parse("matching = \"chatmd\"\n").unwrap();
        assert_eq!(chatmd.matching, MatchingMode::Chatmd);
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
    fn a_name_holding_a_dot_is_no_key_of_a_section() {
        let err = error("\"matrix.user\" = \"@g:e.org\"\n");
        assert!(matches!(&err, ConfigError::UnknownKey { key, .. } if key == "matrix.user"));
        assert!(err.to_string().contains("at the top level"), "{err}");
        let settings = parse_env("", &[("GUICHET_MATRIX.USER", "@g:e.org")]).unwrap();
        assert!(settings.matrix.is_none());
        assert_eq!(settings.warnings.len(), 1, "{:?}", settings.warnings);
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
             message_content = true\ncatch_up = \"2m\"\n\n[admin]\nlisten = \"0.0.0.0:9200\"\n\n\
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
        assert_eq!(
            matrix.allowed_inviters,
            ["@ana:example.org", "@*:ac-paris.fr"]
        );
        let discord = settings.discord.as_ref().unwrap();
        assert_eq!(discord.token, Secret::new("not-a-token"));
        assert_eq!(
            discord.guild_ids,
            vec![123_456_789_012_345_678, 876_543_210_987_654_321]
        );
        assert!(discord.message_content);
        assert_eq!(discord.catch_up, Duration::from_secs(120));
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
    fn discord_api_base_is_a_loopback_url_only() {
        let base = |url: &str| parse(&format!("[discord]\ntoken = \"t\"\napi_base = {url:?}\n"));
        for (url, kept) in [
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
            ("http://localhost:1", "http://localhost:1"),
            ("http://[::1]:1", "http://[::1]:1"),
        ] {
            let discord = base(url).unwrap().discord.unwrap();
            assert_eq!(discord.api_base.as_deref(), Some(kept), "{url}");
        }
        for url in [
            "http://example.org",
            "https://127.0.0.1:1",
            "http://127.0.0.1.evil.org",
        ] {
            let err = base(url).unwrap_err();
            assert!(
                err.to_string().contains("is not a loopback URL"),
                "{url}: {err}"
            );
        }
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
    fn keys_have_their_kinds_and_sections_have_keys_and_no_underscore() {
        use super::read::{kind, sections};
        // The keys are read off serde's refusal of an unknown field (`read::fields`): if its
        // wording ever changed, this fails rather than every variable being ignored.
        assert_eq!(
            sections(),
            ["matrix", "discord", "admin", "limits", "stats", "strings"]
        );
        for section in sections() {
            assert!(!section.contains('_'), "{section}");
        }
        for (key, expected) in [
            ("content", "a string"),
            ("idle_reset", "a string"),
            ("matrix.password", "a string"),
            ("matrix.password_file", "a string"),
            ("matrix.allowed_inviters", "a list of strings"),
            ("discord.guild_ids", "a list of Discord ids"),
            ("discord.message_content", "true or false"),
            ("limits.messages", "a whole number"),
            ("strings.fallback", "a list of strings"),
            ("strings.details", "a string"),
        ] {
            assert_eq!(kind(key), Some(expected), "{key}");
        }
        assert_eq!(kind("matrix.login"), None, "no key");
        // Every section has keys (a section no key names could never be read).
        for section in sections() {
            assert!(known_keys().iter().any(|(s, _)| s == section), "{section}");
        }
    }
}
