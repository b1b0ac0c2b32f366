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
    let discord_on = values.sections.contains_key("discord");
    let matrix = values.sections.get("matrix").cloned();
    let discord = values.sections.get("discord").cloned();
    let v = &mut values;
    Ok(Settings {
        content: v.check("content", non_empty)?.map_or(defaults.content, PathBuf::from),
        state_dir: v.check("state_dir", non_empty)?.map_or(defaults.state_dir, PathBuf::from),
        matching: v.value("matching")?.unwrap_or_default(),
        idle_reset: v.duration("idle_reset")?.unwrap_or(defaults.idle_reset),
        forget_after: v.duration("forget_after")?.unwrap_or(defaults.forget_after),
        strings: v.strings(discord_on)?,
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
    })
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

impl Values {
    /// `key`'s value as a `T`, if it is set. Its kind was checked when it was read, so what
    /// fails here is a word outside an enum's, said in the admin's words.
    fn get<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<Found<T>>> {
        let Some(found) = self.map.remove(key) else {
            return Ok(None);
        };
        match found.value.clone().try_into() {
            Ok(value) => Ok(Some(Found {
                value,
                key: found.key,
                at: found.at,
            })),
            // serde's "unknown variant `all`, expected `mention` or `open`".
            Err(err) => Err(
                found.invalid(match err.message().strip_prefix("unknown variant ") {
                    Some(words) => {
                        let mut words = words
                            .split('`')
                            .skip(1)
                            .step_by(2)
                            .map(|w| format!("{w:?}"));
                        let found = words.next().unwrap_or_default();
                        format!(
                            "must be {}, not {found}",
                            words.collect::<Vec<_>>().join(" or ")
                        )
                    }
                    None => err.message().to_owned(),
                }),
            ),
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
        let Some(found) = self.get(key)? else {
            return Ok(None);
        };
        check(found.value)
            .map(Some)
            .map_err(|reason| ConfigError::InvalidValue {
                at: found.at,
                key: found.key,
                reason,
            })
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
        let Some(found) = self.get::<String>(key)? else {
            return Ok(None);
        };
        let reason = match parse_duration(&found.value) {
            Ok(duration) if !duration.is_zero() => return Ok(Some(duration)),
            Ok(_) => "it must be longer than zero".to_owned(),
            Err(reason) => reason,
        };
        Err(ConfigError::BadDuration {
            at: found.at,
            key: found.key,
            value: found.value,
            reason,
        })
    }

    /// A secret given inline or by `<key>_file` (never both), read and checked non-empty.
    fn secret(&mut self, key: &str) -> Result<Option<Found<Secret>>> {
        let inline = self.get::<String>(key)?;
        match (inline, self.get::<String>(&format!("{key}_file"))?) {
            (Some(inline), Some(file)) => Err(ConfigError::Conflict {
                at: file.at,
                key: file.key,
                other: inline.key,
                other_at: inline.at,
            }),
            (Some(inline), None) if inline.value.trim().is_empty() => {
                Err(inline.invalid("must not be empty"))
            }
            (Some(inline), None) => Ok(Some(Found {
                value: Secret::new(inline.value),
                key: inline.key,
                at: inline.at,
            })),
            (None, Some(file)) => self.read_secret(file).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// Reads a `*_file` secret: a small regular file only (a FIFO would block start-up for
    /// ever, and `/dev/zero` would fill memory), with a warning when others may read it.
    fn read_secret(&mut self, file: Found<String>) -> Result<Found<Secret>> {
        let path = PathBuf::from(&file.value);
        let unreadable = |source| ConfigError::SecretFile {
            at: file.at.clone(),
            key: file.key.clone(),
            path: path.clone(),
            source,
        };
        let (bytes, metadata) = read_regular(&path, MAX_SECRET_FILE).map_err(|err| {
            let reason = match err {
                BoundedReadError::Io(source) => return unreadable(source),
                BoundedReadError::NotRegular { is_dir: true } => "is a folder, not a regular file",
                BoundedReadError::NotRegular { is_dir: false } => {
                    "is a FIFO, a socket or a device, not a regular file"
                }
                BoundedReadError::TooLarge => {
                    return file.invalid(format!(
                        "{}: is larger than {} KiB; a secret file holds one token, password or key",
                        path.display(),
                        MAX_SECRET_FILE / 1024
                    ));
                }
            };
            file.invalid(format!(
                "{}: {reason}; a secret file must be a plain file",
                path.display()
            ))
        })?;
        let text = String::from_utf8(bytes)
            .map_err(|err| unreadable(std::io::Error::new(std::io::ErrorKind::InvalidData, err)))?;
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & 0o044 != 0 {
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
        // Files written by `echo` or an editor end with a newline that is not part of the
        // secret.
        let value = text.trim_end_matches(['\n', '\r']);
        if value.trim().is_empty() {
            return Err(file.invalid(format!("{} is empty", path.display())));
        }
        Ok(Found {
            value: Secret::new(value),
            key: file.key,
            at: file.at,
        })
    }

    /// The defaults with `[strings]` laid over them, field by field, in key order.
    fn strings(&mut self, discord_on: bool) -> Result<Strings> {
        let Some(at) = self.sections.get("strings").cloned() else {
            return Ok(Strings::default());
        };
        let names: Vec<String> = (self.map.keys())
            .filter_map(|key| key.strip_prefix("strings."))
            .map(str::to_owned)
            .collect();
        let mut fields = toml::Table::new();
        for name in names {
            let value = self.check(&format!("strings.{name}"), |value: toml::Value| {
                match &value {
                    toml::Value::String(text) if text.trim().is_empty() => {
                        return Err("must not be empty".to_owned());
                    }
                    toml::Value::String(text) if discord_on => discord_text(&name, text)?,
                    // The bot draws one of them: an empty one would be sent as is.
                    toml::Value::Array(items) if items.is_empty() => {
                        return Err("needs at least one sentence".to_owned());
                    }
                    toml::Value::Array(items)
                        if items
                            .iter()
                            .any(|s| s.as_str().is_some_and(|s| s.trim().is_empty())) =>
                    {
                        return Err("must not hold an empty sentence".to_owned());
                    }
                    _ => {}
                }
                Ok(value)
            })?;
            fields.extend(value.map(|value| (name, value)));
        }
        // Cannot fail: every value has its field's kind.
        toml::Value::Table(fields)
            .try_into()
            .map_err(|err: toml::de::Error| ConfigError::InvalidValue {
                at,
                key: "strings".to_owned(),
                reason: err.message().to_owned(),
            })
    }

    fn matrix(&mut self, at: &Origin) -> Result<MatrixSettings> {
        let section = ("matrix", at);
        let homeserver = self.required("matrix.homeserver", section)?;
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
        let user = self.required("matrix.user", section)?;
        if user.value.chars().any(char::is_whitespace)
            || (user.value.starts_with('@') && !user.value.contains(':'))
        {
            return Err(user.invalid(format!(
                "{:?} is not a Matrix user (like \"@guichet:example.org\")",
                user.value
            )));
        }
        let token = self.secret("matrix.access_token")?;
        let login = match (token, self.secret("matrix.password")?) {
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
            late_key_wait: self.duration("matrix.late_key_wait")?.unwrap_or(DEFAULT_LATE_KEY_WAIT),
            key_recipients: self.value("matrix.key_recipients")?.unwrap_or_default(),
        })
    }

    fn discord(&mut self, at: &Origin) -> Result<DiscordSettings> {
        let token = self.secret("discord.token")?;
        Ok(DiscordSettings {
            token: token.ok_or_else(|| missing("discord.token", ("discord", at)))?.value,
            guild_ids: self.check("discord.guild_ids", |ids: Vec<String>| {
                ids.iter()
                    .map(|id| match id.trim().parse() {
                        Ok(id) if id > 0 => Ok(id),
                        _ => Err(format!(
                            "{id:?} is not a Discord id (a number like 123456789012345678)"
                        )),
                    })
                    .collect()
            })?
            .unwrap_or_default(),
            message_content: self.value("discord.message_content")?.unwrap_or_default(),
            catch_up: self.duration("discord.catch_up")?.unwrap_or(DEFAULT_CATCH_UP),
            // Only a local fake: anything else would send the token elsewhere with the rate
            // limiter off.
            api_base: self.check("discord.api_base", |base: String| {
                let trimmed = base.trim_end_matches('/');
                if !trimmed.strip_prefix("http://").is_some_and(is_loopback_url) {
                    return Err(format!(
                        "{base:?} is not a loopback URL (like \"http://127.0.0.1:8080\"); api_base is for tests against a fake Discord only"
                    ));
                }
                Ok(trimmed.to_owned())
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
