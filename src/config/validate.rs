//! Stage two: the values read into typed [`Settings`], every check done once and every error
//! naming the key and its line or variable; `*_file` secrets are read here.

use std::num::NonZeroU32;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use super::duration::parse_duration;
use super::read::{Context, Id, Raw, RawDiscord, RawLimits, RawMatrix};
use super::values::{discord_text, is_loopback_url, is_matrix_id, is_room_id};
use super::{
    AdminSettings, ConfigError, ConfigWarning, DEFAULT_CATCH_UP, DEFAULT_DEVICE_NAME,
    DEFAULT_LATE_KEY_WAIT, DEFAULT_MATRIX_PREFIX, DEFAULT_THROTTLE_MESSAGES,
    DEFAULT_THROTTLE_SECONDS, DiscordSettings, ENV_PREFIX, MatrixLogin, MatrixSettings, Origin,
    Result, Secret, Settings, Throttle,
};
use crate::bounded_read::{BoundedReadError, read_regular};
use crate::strings::Strings;

/// A secret file larger than this is no token or password (a log, an image, a device).
const MAX_SECRET_FILE: u64 = 64 * 1024;

pub(super) fn validate(raw: Raw, mut c: Context) -> Result<Settings> {
    let defaults = Settings::default();
    let on = |section| c.origins.contains_key(section);
    let (matrix_on, discord_on) = (on("matrix"), on("discord"));
    Ok(Settings {
        content: c.check("content", raw.content, non_empty)?.map_or(defaults.content, PathBuf::from),
        state_dir: c.check("state_dir", raw.state_dir, non_empty)?.map_or(defaults.state_dir, PathBuf::from),
        matching: raw.matching,
        idle_reset: c.duration("idle_reset", raw.idle_reset)?.unwrap_or(defaults.idle_reset),
        forget_after: c.duration("forget_after", raw.forget_after)?.unwrap_or(defaults.forget_after),
        strings: c.strings(raw.strings, discord_on)?,
        matrix: matrix_on.then(|| c.matrix(raw.matrix)).transpose()?,
        discord: discord_on.then(|| c.discord(raw.discord)).transpose()?,
        admin: AdminSettings {
            listen: c.check("admin.listen", raw.admin.listen, |listen| {
                listen.trim().parse().map_err(|_| {
                    format!(
                        "{listen:?} is not an IP address and port (like \"127.0.0.1:9100\", or \"0.0.0.0:9100\" in a container)"
                    )
                })
            })?
            .unwrap_or(defaults.admin.listen),
        },
        throttle: c.throttle(raw.limits)?,
        stats: raw.stats,
        warnings: c.warnings,
    })
}

impl Context {
    /// Where `key` (or a section) was set. Only a value that was set can fail a check; the
    /// fallback names the variable that would set it.
    fn at(&self, key: &str) -> Origin {
        self.origins
            .get(key)
            .cloned()
            .unwrap_or_else(|| Origin::Env {
                var: format!("{ENV_PREFIX}{}", key.replace('.', "_").to_ascii_uppercase()),
            })
    }

    fn invalid(&self, key: &str, reason: impl Into<String>) -> ConfigError {
        ConfigError::InvalidValue {
            at: self.at(key),
            key: key.to_owned(),
            reason: reason.into(),
        }
    }

    /// `key` and `other` are both set where only one may be.
    fn conflict(&self, key: &str, other: &str) -> ConfigError {
        ConfigError::Conflict {
            at: self.at(key),
            key: key.to_owned(),
            other: other.to_owned(),
            other_at: self.at(other),
        }
    }

    fn warn(&mut self, key: &str, message: String) {
        let at = self.at(key);
        self.warnings.push(ConfigWarning { at, message });
    }

    /// `value` of `key`, if set, through `check`, which makes the setting of it or says why it
    /// cannot.
    fn check<T, U>(
        &self,
        key: &str,
        value: Option<T>,
        check: impl FnOnce(T) -> Result<U, String>,
    ) -> Result<Option<U>> {
        value
            .map(check)
            .transpose()
            .map_err(|reason| self.invalid(key, reason))
    }

    /// A key its section cannot do without.
    fn required(&self, key: &str, value: Option<String>, section: &'static str) -> Result<String> {
        let Some(value) = value else {
            let (at, key) = (self.at(section), key.to_owned());
            return Err(ConfigError::MissingKey { at, section, key });
        };
        non_empty(value).map_err(|reason| self.invalid(key, reason))
    }

    fn duration(&self, key: &str, value: Option<String>) -> Result<Option<Duration>> {
        let Some(value) = value else {
            return Ok(None);
        };
        let reason = match parse_duration(&value) {
            Ok(duration) if !duration.is_zero() => return Ok(Some(duration)),
            Ok(_) => "it must be longer than zero".to_owned(),
            Err(reason) => reason,
        };
        let (at, key) = (self.at(key), key.to_owned());
        Err(ConfigError::BadDuration {
            at,
            key,
            value,
            reason,
        })
    }

    /// A secret given inline or by `<key>_file` (never both), read and checked non-empty,
    /// with the key that gave it.
    fn secret(
        &mut self,
        key: &str,
        inline: Option<String>,
        file: Option<String>,
    ) -> Result<Option<(Secret, String)>> {
        let file_key = format!("{key}_file");
        match (inline, file) {
            (Some(_), Some(_)) => Err(self.conflict(&file_key, key)),
            (Some(inline), None) => match non_empty(inline) {
                Ok(inline) => Ok(Some((Secret::new(inline), key.to_owned()))),
                Err(reason) => Err(self.invalid(key, reason)),
            },
            (None, Some(path)) => Ok(Some((self.read_secret(&file_key, path)?, file_key))),
            (None, None) => Ok(None),
        }
    }

    /// Reads a `*_file` secret: a small regular file only (a FIFO would block start-up for
    /// ever, and `/dev/zero` would fill memory), with a warning when others may read it.
    fn read_secret(&mut self, key: &str, path: String) -> Result<Secret> {
        let path = PathBuf::from(path);
        let shown = path.display();
        let unreadable = |source| ConfigError::SecretFile {
            at: self.at(key),
            key: key.to_owned(),
            path: path.clone(),
            source,
        };
        let not_regular = |kind| {
            self.invalid(
                key,
                format!(
                    "{shown}: is {kind}, not a regular file; a secret file must be a plain file"
                ),
            )
        };
        let (bytes, metadata) = read_regular(&path, MAX_SECRET_FILE).map_err(|err| match err {
            BoundedReadError::Io(source) => unreadable(source),
            BoundedReadError::NotRegular { is_dir: true } => not_regular("a folder"),
            BoundedReadError::NotRegular { is_dir: false } => {
                not_regular("a FIFO, a socket or a device")
            }
            BoundedReadError::TooLarge => self.invalid(
                key,
                format!(
                    "{shown}: is larger than {} KiB; a secret file holds one token, password or key",
                    MAX_SECRET_FILE / 1024
                ),
            ),
        })?;
        let text = String::from_utf8(bytes)
            // The position only: the error itself holds the file's bytes, which `Debug` would
            // print.
            .map_err(|err| {
                let err = err.utf8_error();
                unreadable(std::io::Error::new(std::io::ErrorKind::InvalidData, err))
            })?;
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & 0o044 != 0 {
            self.warn(
                key,
                format!(
                    "`{key}`: {shown} is readable by other users (mode {mode:04o}); make it owner-only: chmod 600 {shown}"
                ),
            );
        }
        // Files written by `echo` or an editor end with a newline that is not part of the
        // secret.
        let value = text.trim_end_matches(['\n', '\r']);
        if value.trim().is_empty() {
            return Err(self.invalid(key, format!("{shown} is empty")));
        }
        Ok(Secret::new(value))
    }

    /// `[strings]`: each text set must say something, and name or describe a Discord command
    /// as Discord allows when Discord is on.
    fn strings(&self, strings: Strings, discord_on: bool) -> Result<Strings> {
        let Ok(toml::Value::Table(fields)) = toml::Value::try_from(&strings) else {
            return Ok(strings);
        };
        let blank = |s: &toml::Value| s.as_str().is_some_and(|s| s.trim().is_empty());
        for (name, value) in fields {
            let key = format!("strings.{name}");
            let problem = match &value {
                // The defaults are fine.
                _ if !self.origins.contains_key(&key) => Ok(()),
                _ if blank(&value) => Err("must not be empty".to_owned()),
                toml::Value::String(text) if discord_on => discord_text(&name, text),
                // The bot draws one of them: an empty one would be sent as is.
                toml::Value::Array(items) if items.is_empty() => {
                    Err("needs at least one sentence".to_owned())
                }
                toml::Value::Array(items) if items.iter().any(blank) => {
                    Err("must not hold an empty sentence".to_owned())
                }
                _ => Ok(()),
            };
            problem.map_err(|reason| self.invalid(&key, reason))?;
        }
        Ok(strings)
    }

    fn matrix(&mut self, raw: RawMatrix) -> Result<MatrixSettings> {
        let url = self.required("matrix.homeserver", raw.homeserver, "matrix")?;
        let rest = url.strip_prefix("https://").or(url.strip_prefix("http://"));
        let Some(rest) = rest.filter(|host| !host.trim_matches('/').is_empty()) else {
            return Err(self.invalid(
                "matrix.homeserver",
                format!("{url:?} is not a homeserver URL (like \"https://matrix.example.org\")"),
            ));
        };
        if url.starts_with("http://") && !is_loopback_url(rest) {
            self.warn("matrix.homeserver", format!(
                "`matrix.homeserver` = {url:?} is plain http: the access token and every message cross the network unencrypted; use https:// (http:// is for a homeserver on this machine)"
            ));
        }
        let user = self.required("matrix.user", raw.user, "matrix")?;
        if user.contains(char::is_whitespace) || (user.starts_with('@') && !user.contains(':')) {
            return Err(self.invalid(
                "matrix.user",
                format!("{user:?} is not a Matrix user (like \"@guichet:example.org\")"),
            ));
        }
        let token = self.secret(
            "matrix.access_token",
            raw.access_token,
            raw.access_token_file,
        )?;
        let password = self.secret("matrix.password", raw.password, raw.password_file)?;
        let login = match (token, password) {
            (Some((_, token)), Some((_, password))) => return Err(self.conflict(&password, &token)),
            (Some((token, _)), None) => MatrixLogin::AccessToken(token),
            (None, Some((password, _))) => MatrixLogin::Password(password),
            (None, None) => {
                return Err(ConfigError::MissingLogin {
                    at: self.at("matrix"),
                });
            }
        };
        Ok(MatrixSettings {
            homeserver: url,
            user,
            login,
            device_name: self.check("matrix.device_name", raw.device_name, non_empty)?
                .unwrap_or_else(|| DEFAULT_DEVICE_NAME.to_owned()),
            recovery_key: self
                .secret("matrix.recovery_key", raw.recovery_key, raw.recovery_key_file)?
                .map(|(key, _)| key),
            allowed_inviters: self.check("matrix.allowed_inviters", raw.allowed_inviters, |ids| {
                match ids.iter().find(|id| !is_matrix_id(id, '@')) {
                    Some(bad) => Err(format!(
                        "{bad:?} is not a Matrix user (like \"@ana:example.org\", or \"@*:example.org\" for everyone on a server)"
                    )),
                    None => Ok(ids),
                }
            })?
            .unwrap_or_default(),
            rooms: raw.rooms,
            msgtype: raw.msgtype,
            catch_up: self.duration("matrix.catch_up", raw.catch_up)?.unwrap_or(DEFAULT_CATCH_UP),
            prefix: self.check("matrix.prefix", raw.prefix, |prefix| {
                if prefix.is_empty() || prefix.contains(char::is_whitespace) {
                    return Err("must be one word, like \"!guichet\"".to_owned());
                }
                Ok(prefix)
            })?
            .unwrap_or_else(|| DEFAULT_MATRIX_PREFIX.to_owned()),
            admin_room: self.check("matrix.admin_room", raw.admin_room, |room| {
                if is_room_id(&room) || is_matrix_id(&room, '#') {
                    return Ok(room);
                }
                Err(format!(
                    "{room:?} is not a Matrix room (like \"!abcdef:example.org\" or \"#admins:example.org\")"
                ))
            })?,
            late_key_wait: self.duration("matrix.late_key_wait", raw.late_key_wait)?
                .unwrap_or(DEFAULT_LATE_KEY_WAIT),
            key_recipients: raw.key_recipients,
        })
    }

    fn discord(&mut self, raw: RawDiscord) -> Result<DiscordSettings> {
        let token = self.secret("discord.token", raw.token, raw.token_file)?;
        let Some((token, _)) = token else {
            let (at, key) = (self.at("discord"), "discord.token".to_owned());
            return Err(ConfigError::MissingKey {
                at,
                section: "discord",
                key,
            });
        };
        let id = |Id(text): Id| match text.trim().parse() {
            Ok(id) if id > 0 => Ok(id),
            _ => Err(format!(
                "{text:?} is not a Discord id (a number like 123456789012345678)"
            )),
        };
        Ok(DiscordSettings {
            token,
            guild_ids: raw.guild_ids.into_iter().map(id).collect::<Result<_, _>>()
                .map_err(|reason| self.invalid("discord.guild_ids", reason))?,
            message_content: raw.message_content,
            catch_up: self.duration("discord.catch_up", raw.catch_up)?.unwrap_or(DEFAULT_CATCH_UP),
            // Only a local fake: anything else would send the token elsewhere with the rate
            // limiter off.
            api_base: self.check("discord.api_base", raw.api_base, |base| {
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

    fn throttle(&self, limits: RawLimits) -> Result<Option<Throttle>> {
        let messages = self.check("limits.messages", limits.messages, |n| {
            u32::try_from(n)
                .map_err(|_| format!("must be between 0 (no limit) and {}, not {n}", u32::MAX))
        })?;
        let seconds = self.check("limits.per_seconds", limits.per_seconds, |n| {
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

/// A text that holds something besides spaces.
fn non_empty(text: String) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("must not be empty".to_owned());
    }
    Ok(text)
}
