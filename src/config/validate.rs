//! Stage two: the values read into typed [`Settings`], every check done once and every error
//! naming the key and its line or variable; `*_file` secrets are read here.

use std::num::NonZeroU32;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::duration::parse_duration;
use super::read::{Found, Values};
use super::values::{discord_text, is_loopback_url, is_matrix_id, is_room_id};
use super::{
    AdminSettings, ConfigError, ConfigWarning, DEFAULT_CATCH_UP, DEFAULT_DEVICE_NAME,
    DEFAULT_LATE_KEY_WAIT, DEFAULT_MATRIX_PREFIX, DEFAULT_THROTTLE_MESSAGES,
    DEFAULT_THROTTLE_SECONDS, DiscordSettings, MatrixLogin, MatrixSettings, Origin, Result, Secret,
    Settings, StatsSettings, Throttle,
};
use crate::bounded_read::{BoundedReadError, read_regular};
use crate::strings::Strings;

/// A secret file larger than this is no token or password (a log, an image, a device).
const MAX_SECRET_FILE: u64 = 64 * 1024;

pub(super) fn validate(mut values: Values) -> Result<Settings> {
    let defaults = Settings::default();
    let section = |name| values.sections.get(name).cloned();
    let (matrix, discord) = (section("matrix"), section("discord"));
    let v = &mut values;
    let settings = Settings {
        content: v.check("content", non_empty)?.map_or(defaults.content, PathBuf::from),
        state_dir: v.check("state_dir", non_empty)?.map_or(defaults.state_dir, PathBuf::from),
        matching: v.value("matching")?.unwrap_or_default(),
        idle_reset: v.duration("idle_reset")?.unwrap_or(defaults.idle_reset),
        forget_after: v.duration("forget_after")?.unwrap_or(defaults.forget_after),
        strings: v.strings(discord.is_some())?,
        matrix: matrix.map(|at| v.matrix(&at)).transpose()?,
        discord: discord.map(|at| v.discord(&at)).transpose()?,
        admin: AdminSettings {
            listen: v.check("admin.listen", |listen: String| {
                listen.trim().parse().map_err(|_| {
                    format!(
                        "{listen:?} is not an IP address and port (like \"127.0.0.1:9100\", or \"0.0.0.0:9100\" in a container)"
                    )
                })
            })?
            .unwrap_or(defaults.admin.listen),
        },
        throttle: v.throttle()?,
        stats: StatsSettings {
            enabled: v.value("stats.enabled")?.unwrap_or_default(),
        },
        warnings: std::mem::take(&mut v.warnings),
    };
    // A key of the table that no check above takes would be accepted and ignored.
    debug_assert!(
        values.map.is_empty(),
        "keys read but never checked: {:?}",
        values.map.keys().collect::<Vec<_>>()
    );
    Ok(settings)
}

impl<T> Found<T> {
    fn invalid(&self, reason: impl Into<String>) -> ConfigError {
        ConfigError::InvalidValue {
            at: self.at.clone(),
            key: self.key.clone(),
            reason: reason.into(),
        }
    }

    fn map<U>(self, f: impl FnOnce(T) -> U) -> Found<U> {
        Found {
            value: f(self.value),
            key: self.key,
            at: self.at,
        }
    }

    /// `self` and `other` are both set where only one may be.
    fn conflict<U>(self, other: Found<U>) -> ConfigError {
        ConfigError::Conflict {
            at: self.at,
            key: self.key,
            other: other.key,
            other_at: other.at,
        }
    }
}

impl Values {
    /// `key`'s value as a `T`, if it is set. Its kind was checked when it was read, so what
    /// fails here is a word outside an enum's.
    fn get<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<Found<T>>> {
        let Some(Found { value, key, at }) = self.map.remove(key) else {
            return Ok(None);
        };
        match value.try_into() {
            Ok(value) => Ok(Some(Found { value, key, at })),
            Err(err) => {
                let reason = enum_words(err.message());
                Err(ConfigError::InvalidValue { at, key, reason })
            }
        }
    }

    fn value<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>> {
        Ok(self.get(key)?.map(|found| found.value))
    }

    /// `key`'s value through `check`, which makes the setting of it or says why it cannot.
    fn check<T: DeserializeOwned, U>(
        &mut self,
        key: &str,
        check: impl FnOnce(T) -> Result<U, String>,
    ) -> Result<Option<U>> {
        let Some(Found { value, key, at }) = self.get(key)? else {
            return Ok(None);
        };
        let invalid = |reason| ConfigError::InvalidValue { at, key, reason };
        check(value).map(Some).map_err(invalid)
    }

    /// A key its section cannot do without; `section` is the section's name and origin.
    fn required(&mut self, key: &str, section: (&'static str, &Origin)) -> Result<Found<String>> {
        match self.get::<String>(key)? {
            Some(found) if found.value.trim().is_empty() => Err(found.invalid("must not be empty")),
            Some(found) => Ok(found),
            None => Err(missing(key, section)),
        }
    }

    fn duration(&mut self, key: &str) -> Result<Option<Duration>> {
        let Some(Found { value, key, at }) = self.get::<String>(key)? else {
            return Ok(None);
        };
        let reason = match parse_duration(&value) {
            Ok(duration) if !duration.is_zero() => return Ok(Some(duration)),
            Ok(_) => "it must be longer than zero".to_owned(),
            Err(reason) => reason,
        };
        Err(ConfigError::BadDuration {
            at,
            key,
            value,
            reason,
        })
    }

    /// A secret given inline or by `<key>_file` (never both), read and checked non-empty.
    fn secret(&mut self, key: &str) -> Result<Option<Found<Secret>>> {
        let inline = self.get::<String>(key)?;
        match (inline, self.get::<String>(&format!("{key}_file"))?) {
            (Some(inline), Some(file)) => Err(file.conflict(inline)),
            (Some(inline), None) if inline.value.trim().is_empty() => {
                Err(inline.invalid("must not be empty"))
            }
            (Some(inline), None) => Ok(Some(inline.map(Secret::new))),
            (None, Some(file)) => self.read_secret(file).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// Reads a `*_file` secret: a small regular file only (a FIFO would block start-up for
    /// ever, and `/dev/zero` would fill memory), with a warning when others may read it.
    fn read_secret(&mut self, file: Found<String>) -> Result<Found<Secret>> {
        let path = PathBuf::from(&file.value);
        let shown = path.display();
        let unreadable = |source| ConfigError::SecretFile {
            at: file.at.clone(),
            key: file.key.clone(),
            path: path.clone(),
            source,
        };
        let not_regular = |kind| {
            file.invalid(format!(
                "{shown}: is {kind}, not a regular file; a secret file must be a plain file"
            ))
        };
        let (bytes, metadata) = read_regular(&path, MAX_SECRET_FILE).map_err(|err| match err {
            BoundedReadError::Io(source) => unreadable(source),
            BoundedReadError::NotRegular { is_dir: true } => not_regular("a folder"),
            BoundedReadError::NotRegular { is_dir: false } => {
                not_regular("a FIFO, a socket or a device")
            }
            BoundedReadError::TooLarge => file.invalid(format!(
                "{shown}: is larger than {} KiB; a secret file holds one token, password or key",
                MAX_SECRET_FILE / 1024
            )),
        })?;
        let text = String::from_utf8(bytes)
            .map_err(|err| unreadable(std::io::Error::new(std::io::ErrorKind::InvalidData, err)))?;
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & 0o044 != 0 {
            self.warnings.push(ConfigWarning {
                at: file.at.clone(),
                message: format!(
                    "`{}`: {shown} is readable by other users (mode {mode:04o}); make it owner-only: chmod 600 {shown}",
                    file.key
                ),
            });
        }
        // Files written by `echo` or an editor end with a newline that is not part of the
        // secret.
        let value = text.trim_end_matches(['\n', '\r']);
        if value.trim().is_empty() {
            return Err(file.invalid(format!("{shown} is empty")));
        }
        Ok(file.map(|_| Secret::new(value)))
    }

    /// The defaults with `[strings]` laid over them, field by field, in key order.
    fn strings(&mut self, discord_on: bool) -> Result<Strings> {
        let Some(at) = self.sections.get("strings").cloned() else {
            return Ok(Strings::default());
        };
        let keys: Vec<String> = self
            .map
            .keys()
            .filter(|key| key.starts_with("strings."))
            .cloned()
            .collect();
        let mut fields = toml::Table::new();
        for key in keys {
            let name = key.trim_start_matches("strings.");
            let value = self.check(&key, |value: toml::Value| {
                let blank = |s: &toml::Value| s.as_str().is_some_and(|s| s.trim().is_empty());
                match &value {
                    _ if blank(&value) => Err("must not be empty".to_owned()),
                    toml::Value::String(text) if discord_on => {
                        discord_text(name, text).map(|()| value)
                    }
                    // The bot draws one of them: an empty one would be sent as is.
                    toml::Value::Array(items) if items.is_empty() => {
                        Err("needs at least one sentence".to_owned())
                    }
                    toml::Value::Array(items) if items.iter().any(blank) => {
                        Err("must not hold an empty sentence".to_owned())
                    }
                    _ => Ok(value),
                }
            })?;
            fields.extend(value.map(|value| (name.to_owned(), value)));
        }
        // Cannot fail: every value has its field's kind.
        let strings = toml::Value::Table(fields).try_into();
        strings.map_err(|err: toml::de::Error| ConfigError::InvalidValue {
            at,
            key: "strings".to_owned(),
            reason: err.message().to_owned(),
        })
    }

    fn matrix(&mut self, at: &Origin) -> Result<MatrixSettings> {
        let section = ("matrix", at);
        let homeserver = self.required("matrix.homeserver", section)?;
        let url = &homeserver.value;
        let rest = url.strip_prefix("https://").or(url.strip_prefix("http://"));
        let Some(rest) = rest.filter(|host| !host.trim_matches('/').is_empty()) else {
            return Err(homeserver.invalid(format!(
                "{url:?} is not a homeserver URL (like \"https://matrix.example.org\")"
            )));
        };
        if url.starts_with("http://") && !is_loopback_url(rest) {
            self.warnings.push(ConfigWarning {
                at: homeserver.at.clone(),
                message: format!(
                    "`{}` = {url:?} is plain http: the access token and every message cross the network unencrypted; use https:// (http:// is for a homeserver on this machine)",
                    homeserver.key
                ),
            });
        }
        let user = self.required("matrix.user", section)?;
        let name = &user.value;
        if name.contains(char::is_whitespace) || (name.starts_with('@') && !name.contains(':')) {
            return Err(user.invalid(format!(
                "{name:?} is not a Matrix user (like \"@guichet:example.org\")"
            )));
        }
        let token = self.secret("matrix.access_token")?;
        let login = match (token, self.secret("matrix.password")?) {
            (Some(token), Some(password)) => return Err(password.conflict(token)),
            (Some(token), None) => MatrixLogin::AccessToken(token.value),
            (None, Some(password)) => MatrixLogin::Password(password.value),
            (None, None) => return Err(ConfigError::MissingLogin { at: at.clone() }),
        };
        Ok(MatrixSettings {
            homeserver: homeserver.value,
            user: user.value,
            login,
            device_name: self.check("matrix.device_name", non_empty)?
                .unwrap_or_else(|| DEFAULT_DEVICE_NAME.to_owned()),
            recovery_key: self.secret("matrix.recovery_key")?.map(|found| found.value),
            allowed_inviters: self.check("matrix.allowed_inviters", |ids: Vec<String>| {
                match ids.iter().find(|id| !is_matrix_id(id, '@')) {
                    Some(bad) => Err(format!(
                        "{bad:?} is not a Matrix user (like \"@ana:example.org\", or \"@*:example.org\" for everyone on a server)"
                    )),
                    None => Ok(ids),
                }
            })?
            .unwrap_or_default(),
            rooms: self.value("matrix.rooms")?.unwrap_or_default(),
            msgtype: self.value("matrix.msgtype")?.unwrap_or_default(),
            catch_up: self.duration("matrix.catch_up")?.unwrap_or(DEFAULT_CATCH_UP),
            prefix: self.check("matrix.prefix", |prefix: String| {
                if prefix.is_empty() || prefix.contains(char::is_whitespace) {
                    return Err("must be one word, like \"!guichet\"".to_owned());
                }
                Ok(prefix)
            })?
            .unwrap_or_else(|| DEFAULT_MATRIX_PREFIX.to_owned()),
            admin_room: self.check("matrix.admin_room", |room: String| {
                if is_room_id(&room) || is_matrix_id(&room, '#') {
                    return Ok(room);
                }
                Err(format!(
                    "{room:?} is not a Matrix room (like \"!abcdef:example.org\" or \"#admins:example.org\")"
                ))
            })?,
            late_key_wait: self.duration("matrix.late_key_wait")?
                .unwrap_or(DEFAULT_LATE_KEY_WAIT),
            key_recipients: self.value("matrix.key_recipients")?.unwrap_or_default(),
        })
    }

    fn discord(&mut self, at: &Origin) -> Result<DiscordSettings> {
        let token = self.secret("discord.token")?;
        let token = token.ok_or_else(|| missing("discord.token", ("discord", at)))?;
        let id = |id: &String| match id.trim().parse() {
            Ok(id) if id > 0 => Ok(id),
            _ => Err(format!(
                "{id:?} is not a Discord id (a number like 123456789012345678)"
            )),
        };
        Ok(DiscordSettings {
            token: token.value,
            guild_ids: self.check("discord.guild_ids", |ids: Vec<String>| {
                ids.iter().map(id).collect()
            })?
            .unwrap_or_default(),
            message_content: self.value("discord.message_content")?.unwrap_or_default(),
            catch_up: self.duration("discord.catch_up")?.unwrap_or(DEFAULT_CATCH_UP),
            // Only a local fake: anything else would send the token elsewhere with the rate
            // limiter off.
            api_base: self.check("discord.api_base", |base: String| {
                let trimmed = base.trim_end_matches('/');
                if trimmed.strip_prefix("http://").is_some_and(is_loopback_url) {
                    return Ok(trimmed.to_owned());
                }
                Err(format!(
                    "{base:?} is not a loopback URL (like \"http://127.0.0.1:8080\"); api_base is for tests against a fake Discord only"
                ))
            })?,
        })
    }

    fn throttle(&mut self) -> Result<Option<Throttle>> {
        let messages = self.check("limits.messages", |n: i64| {
            u32::try_from(n)
                .map_err(|_| format!("must be between 0 (no limit) and {}, not {n}", u32::MAX))
        })?;
        let seconds = self.check("limits.per_seconds", |n: i64| {
            u64::try_from(n)
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| format!("must be at least 1 second, not {n}"))
        })?;
        let messages = NonZeroU32::new(messages.unwrap_or(DEFAULT_THROTTLE_MESSAGES));
        Ok(messages.map(|messages| Throttle {
            messages,
            window: Duration::from_secs(seconds.unwrap_or(DEFAULT_THROTTLE_SECONDS)),
        }))
    }
}

/// serde's "unknown variant `all`, expected `mention` or `open`" in the admin's words:
/// `must be "mention" or "open", not "all"`.
fn enum_words(message: &str) -> String {
    if !message.starts_with("unknown variant `") {
        return message.to_owned();
    }
    let mut words = message
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|w| format!("{w:?}"));
    let found = words.next().unwrap_or_default();
    let words: Vec<String> = words.collect();
    format!("must be {}, not {found}", words.join(" or "))
}

/// A text that holds something besides spaces.
fn non_empty(text: String) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("must not be empty".to_owned());
    }
    Ok(text)
}

fn missing(key: &str, (section, at): (&'static str, &Origin)) -> ConfigError {
    ConfigError::MissingKey {
        at: at.clone(),
        section,
        key: key.to_owned(),
    }
}
