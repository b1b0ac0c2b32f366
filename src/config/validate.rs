//! Stage two: the layer of raw values into typed [`Settings`](super::Settings), every check done
//! once.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use super::duration::parse_duration;
use super::raw::{Layer, Raw};
use super::schema::{
    KeyKind, SecretFile, SecretFileError, discord_text, dotted, is_loopback_url, read_secret_file,
    strings_keys,
};
use super::{
    AdminSettings, ConfigError, ConfigWarning, DEFAULT_CATCH_UP, DEFAULT_DEVICE_NAME,
    DEFAULT_LATE_KEY_WAIT, DEFAULT_MATRIX_PREFIX, DEFAULT_THROTTLE_MESSAGES,
    DEFAULT_THROTTLE_SECONDS, DiscordSettings, ENV_PREFIX, KeyRecipients, Matching, MatrixLogin,
    MatrixSettings, MessageType, Origin, Result, RoomPolicy, Secret, Settings, StatsSettings,
    Throttle,
};
use crate::strings::Strings;

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

    pub(super) fn validate(mut self) -> Result<Settings> {
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
                KeyKind::Text => match self.text("strings", &key) {
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
        let catch_up = self
            .duration("discord", "catch_up")?
            .unwrap_or(DEFAULT_CATCH_UP);
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
            catch_up,
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
