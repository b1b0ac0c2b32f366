//! Stage two: the raw values into typed [`Settings`], every check done once, and every error
//! naming the key and its line or variable.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::duration::parse_duration;
use super::raw::{Field, RawAdmin, RawConfig, RawDiscord, RawLimits, RawMatrix, RawStats};
use super::read::{Source, describe};
use super::schema::{KeyKind, schema, unknown_key_hint};
use super::values::{
    SecretFile, SecretFileError, discord_text, is_loopback_url, is_matrix_id, is_room_id,
    read_secret_file,
};
use super::{
    AdminSettings, ConfigError, ConfigWarning, DEFAULT_CATCH_UP, DEFAULT_DEVICE_NAME,
    DEFAULT_LATE_KEY_WAIT, DEFAULT_MATRIX_PREFIX, DEFAULT_THROTTLE_MESSAGES,
    DEFAULT_THROTTLE_SECONDS, DiscordSettings, MatrixLogin, MatrixSettings, Origin, Result, Secret,
    Settings, StatsSettings, Throttle,
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

/// The checks, with where values came from and the warnings found on the way.
struct Check<'a> {
    source: &'a Source,
    warnings: Vec<ConfigWarning>,
}

pub(super) fn validate(
    raw: RawConfig,
    source: &Source,
    warnings: Vec<ConfigWarning>,
) -> Result<Settings> {
    let mut check = Check { source, warnings };
    let defaults = Settings::default();
    let discord_on = raw.discord.is_some();
    let content = check.path(raw.content, "content")?;
    let state_dir = check.path(raw.state_dir, "state_dir")?;
    let idle_reset = check.duration(raw.idle_reset, "idle_reset")?;
    let forget_after = check.duration(raw.forget_after, "forget_after")?;
    let strings = check.strings(raw.strings, discord_on)?;
    let matrix = raw.matrix.map(|m| check.matrix(m)).transpose()?;
    let discord = raw.discord.map(|d| check.discord(d)).transpose()?;
    let admin = check.admin(or_default(raw.admin))?;
    let throttle = check.throttle(or_default(raw.limits))?;
    let stats: RawStats = or_default(raw.stats);
    Ok(Settings {
        content: content.unwrap_or(defaults.content),
        state_dir: state_dir.unwrap_or(defaults.state_dir),
        matching: or_default(raw.matching),
        idle_reset: idle_reset.unwrap_or(defaults.idle_reset),
        forget_after: forget_after.unwrap_or(defaults.forget_after),
        strings,
        matrix,
        discord,
        admin: admin.unwrap_or(defaults.admin),
        throttle,
        stats: StatsSettings {
            enabled: stats.enabled.is_some_and(|b| b.into_inner()),
        },
        warnings: check.warnings,
    })
}

impl Check<'_> {
    fn found<T>(&self, field: Field<T>, key: &str) -> Option<Found<T>> {
        field.map(|spanned| Found {
            at: self.source.at(spanned.span()),
            key: key.to_owned(),
            value: spanned.into_inner(),
        })
    }

    /// A string that must hold something besides spaces.
    fn text(&self, field: Field<String>, key: &str) -> Result<Option<Found<String>>> {
        match self.found(field, key) {
            Some(found) if found.value.trim().is_empty() => Err(found.invalid("must not be empty")),
            found => Ok(found),
        }
    }

    /// A key its section cannot do without; `section` is the section's name and origin.
    fn required(
        &self,
        field: Field<String>,
        key: &str,
        section: (&'static str, &Origin),
    ) -> Result<Found<String>> {
        self.text(field, key)?.ok_or_else(|| missing(key, section))
    }

    fn path(&self, field: Field<String>, key: &str) -> Result<Option<PathBuf>> {
        Ok(self
            .text(field, key)?
            .map(|found| PathBuf::from(found.value)))
    }

    fn duration(&self, field: Field<String>, key: &str) -> Result<Option<Duration>> {
        let Some(found) = self.found(field, key) else {
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
    fn secret(
        &mut self,
        inline: Field<Secret>,
        file: Field<String>,
        key: &str,
    ) -> Result<Option<Found<Secret>>> {
        let inline = self.found(inline, key);
        let file = self.found(file, &format!("{key}_file"));
        match (inline, file) {
            (Some(inline), Some(file)) => Err(ConfigError::Conflict {
                at: file.at,
                key: file.key,
                other: inline.key,
                other_at: inline.at,
            }),
            (Some(inline), None) if inline.value.expose().trim().is_empty() => {
                Err(inline.invalid("must not be empty"))
            }
            (Some(inline), None) => Ok(Some(inline)),
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
                            at: file.at,
                            key: file.key,
                            path,
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

    /// The defaults with `[strings]` laid over them, field by field.
    fn strings(
        &self,
        field: Field<BTreeMap<String, Spanned<toml::Value>>>,
        discord_on: bool,
    ) -> Result<Strings> {
        let Some(table) = field else {
            return Ok(Strings::default());
        };
        let section = self.source.at(table.span());
        let mut fields = toml::Table::new();
        for (name, value) in table.into_inner() {
            let key = format!("strings.{name}");
            let Some(kind) = schema().kind("strings", &name) else {
                return Err(ConfigError::UnknownKey {
                    at: self.source.at(value.span()),
                    key,
                    hint: unknown_key_hint("strings", &name),
                });
            };
            let found = Found {
                at: self.source.at(value.span()),
                key: key.clone(),
                value: value.into_inner(),
            };
            let wrong = |found_words: String| ConfigError::WrongType {
                at: found.at.clone(),
                key: key.clone(),
                expected: kind.expected(),
                found: found_words,
            };
            match (kind, &found.value) {
                (KeyKind::Text, toml::Value::String(text)) if text.trim().is_empty() => {
                    return Err(found.invalid("must not be empty"));
                }
                (KeyKind::Text, toml::Value::String(text)) if discord_on => {
                    discord_text(&name, text).map_err(|reason| found.invalid(reason))?;
                }
                (KeyKind::List, toml::Value::Array(items)) => {
                    if let Some(item) = items.iter().find(|item| !item.is_str()) {
                        return Err(wrong(format!("a list holding {}", value_words(item))));
                    }
                    // The bot draws one of them: an empty one would be sent as is.
                    if items.is_empty() {
                        return Err(found.invalid("needs at least one sentence"));
                    }
                    if items
                        .iter()
                        .any(|s| s.as_str().is_some_and(|s| s.trim().is_empty()))
                    {
                        return Err(found.invalid("must not hold an empty sentence"));
                    }
                }
                (KeyKind::Text, toml::Value::String(_)) => {}
                (_, other) => return Err(wrong(value_words(other))),
            }
            fields.insert(name, found.value);
        }
        // Cannot fail: every value was checked against its field's kind.
        toml::Value::Table(fields)
            .try_into()
            .map_err(|err: toml::de::Error| ConfigError::InvalidValue {
                at: section,
                key: "strings".to_owned(),
                reason: err.message().to_owned(),
            })
    }

    fn matrix(&mut self, section: Spanned<RawMatrix>) -> Result<MatrixSettings> {
        let at = self.source.at(section.span());
        let raw = section.into_inner();
        let section = ("matrix", &at);
        let homeserver = self.required(raw.homeserver, "matrix.homeserver", section)?;
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
        let user = self.required(raw.user, "matrix.user", section)?;
        if user.value.chars().any(char::is_whitespace)
            || (user.value.starts_with('@') && !user.value.contains(':'))
        {
            return Err(user.invalid(format!(
                "{:?} is not a Matrix user (like \"@guichet:example.org\")",
                user.value
            )));
        }
        let token = self.secret(
            raw.access_token,
            raw.access_token_file,
            "matrix.access_token",
        )?;
        let password = self.secret(raw.password, raw.password_file, "matrix.password")?;
        let login = match (token, password) {
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
            (None, None) => return Err(ConfigError::MissingLogin { at }),
        };
        let device_name = self.text(raw.device_name, "matrix.device_name")?;
        let recovery_key = self.secret(
            raw.recovery_key,
            raw.recovery_key_file,
            "matrix.recovery_key",
        )?;
        let allowed_inviters = match self.found(raw.allowed_inviters, "matrix.allowed_inviters") {
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
        let catch_up = self.duration(raw.catch_up, "matrix.catch_up")?;
        let prefix = match self.found(raw.prefix, "matrix.prefix") {
            None => DEFAULT_MATRIX_PREFIX.to_owned(),
            Some(found) if found.value.is_empty() || found.value.contains(char::is_whitespace) => {
                return Err(found.invalid("must be one word, like \"!guichet\""));
            }
            Some(found) => found.value,
        };
        let admin_room = match self.found(raw.admin_room, "matrix.admin_room") {
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
        let late_key_wait = self.duration(raw.late_key_wait, "matrix.late_key_wait")?;
        Ok(MatrixSettings {
            homeserver: homeserver.value,
            user: user.value,
            login,
            device_name: device_name.map_or_else(|| DEFAULT_DEVICE_NAME.to_owned(), |f| f.value),
            recovery_key: recovery_key.map(|found| found.value),
            allowed_inviters,
            rooms: or_default(raw.rooms),
            msgtype: or_default(raw.msgtype),
            catch_up: catch_up.unwrap_or(DEFAULT_CATCH_UP),
            prefix,
            admin_room,
            late_key_wait: late_key_wait.unwrap_or(DEFAULT_LATE_KEY_WAIT),
            key_recipients: or_default(raw.key_recipients),
        })
    }

    fn discord(&mut self, section: Spanned<RawDiscord>) -> Result<DiscordSettings> {
        let at = self.source.at(section.span());
        let raw = section.into_inner();
        let token = self
            .secret(raw.token, raw.token_file, "discord.token")?
            .ok_or_else(|| missing("discord.token", ("discord", &at)))?
            .value;
        let catch_up = self.duration(raw.catch_up, "discord.catch_up")?;
        let api_base = match self.found(raw.api_base, "discord.api_base") {
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
        Ok(DiscordSettings {
            token,
            guild_ids: raw
                .guild_ids
                .map_or_else(Vec::new, |ids| ids.into_inner().0),
            message_content: raw.message_content.is_some_and(|b| b.into_inner()),
            catch_up: catch_up.unwrap_or(DEFAULT_CATCH_UP),
            api_base,
        })
    }

    fn admin(&self, raw: RawAdmin) -> Result<Option<AdminSettings>> {
        let Some(found) = self.found(raw.listen, "admin.listen") else {
            return Ok(None);
        };
        match found.value.trim().parse() {
            Ok(listen) => Ok(Some(AdminSettings { listen })),
            Err(_) => Err(found.invalid(format!(
                "{:?} is not an IP address and port (like \"127.0.0.1:9100\", or \"0.0.0.0:9100\" in a container)",
                found.value
            ))),
        }
    }

    fn throttle(&self, raw: RawLimits) -> Result<Option<Throttle>> {
        let messages = match self.found(raw.messages, "limits.messages") {
            None => DEFAULT_THROTTLE_MESSAGES,
            Some(found) => u32::try_from(found.value).map_err(|_| {
                found.invalid(format!(
                    "must be between 0 (no limit) and {}, not {}",
                    u32::MAX,
                    found.value
                ))
            })?,
        };
        let seconds = match self.found(raw.per_seconds, "limits.per_seconds") {
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

/// A value serde checked (a word among a few like `rooms = "open"`, a section), or its
/// default.
fn or_default<T: Default>(field: Field<T>) -> T {
    field.map(Spanned::into_inner).unwrap_or_default()
}

fn missing(key: &str, (section, at): (&'static str, &Origin)) -> ConfigError {
    ConfigError::MissingKey {
        at: at.clone(),
        section,
        key: key.to_owned(),
    }
}

/// A TOML value's kind, in the words of [`describe`].
fn value_words(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => describe(&format!("string {s:?}")),
        toml::Value::Integer(_) => describe("integer"),
        toml::Value::Float(_) => describe("floating"),
        toml::Value::Boolean(_) => describe("boolean"),
        toml::Value::Array(_) => describe("sequence"),
        toml::Value::Table(_) => describe("map"),
        toml::Value::Datetime(_) => "a date".to_owned(),
    }
}
