//! The checks serde cannot make as it reads a value: those that need another key (a secret
//! and its `_file`, one Matrix login, required keys) or whether Discord is on, with the
//! `*_file` secrets read on the way, and the warnings. Errors name the key and its line or
//! variable, from where reading found it ([`Context::origins`]).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::discord_commands;
use super::read::Context;
use super::values::{is_loopback_url, is_matrix_id, is_room_id};
use super::{
    ConfigError, ConfigWarning, DiscordSettings, ENV_PREFIX, MatrixLogin, MatrixSettings, Origin,
    Result, Secret, Settings,
};
use crate::bounded_read::{BoundedReadError, read_regular};
use crate::strings::Strings;

/// A secret file larger than this is no token or password (a log, an image, a device).
const MAX_SECRET_FILE: u64 = 64 * 1024;

impl Context {
    /// `settings` as read, checked, with their secrets and the warnings.
    pub(super) fn check(mut self, mut settings: Settings) -> Result<Settings> {
        self.non_empty("content", &settings.content.to_string_lossy())?;
        self.non_empty("state_dir", &settings.state_dir.to_string_lossy())?;
        self.strings(&settings.strings, settings.discord.is_some())?;
        if let Some(matrix) = &mut settings.matrix {
            self.matrix(matrix)?;
        }
        if let Some(discord) = &mut settings.discord {
            let Some((token, _)) = self.secret("discord.token")? else {
                return Err(self.missing("discord", "discord.token"));
            };
            discord.token = token;
            self.api_base(discord)?;
        }
        settings.warnings = self.warnings;
        Ok(settings)
    }

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

    fn missing(&self, section: &'static str, key: &str) -> ConfigError {
        let (at, key) = (self.at(section), key.to_owned());
        ConfigError::MissingKey { at, section, key }
    }

    fn warn(&mut self, key: &str, message: String) {
        let at = self.at(key);
        self.warnings.push(ConfigWarning { at, message });
    }

    /// A text must hold something besides spaces.
    fn non_empty(&self, key: &str, text: &str) -> Result<()> {
        match text.trim().is_empty() {
            true => Err(self.invalid(key, "must not be empty")),
            false => Ok(()),
        }
    }

    /// A secret given inline or by `<key>_file` (never both), read and checked non-empty,
    /// with the key that gave it.
    fn secret(&mut self, key: &str) -> Result<Option<(Secret, String)>> {
        let file_key = format!("{key}_file");
        match (self.secrets.remove(key), self.secrets.remove(&file_key)) {
            (Some(_), Some(_)) => Err(self.conflict(&file_key, key)),
            (Some(inline), None) => {
                self.non_empty(key, &inline)?;
                Ok(Some((Secret::new(inline), key.to_owned())))
            }
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
        let refused = |what: String| self.invalid(key, format!("{shown}: {what}"));
        let not_regular = |kind| {
            refused(format!(
                "is {kind}, not a regular file; a secret file must be a plain file"
            ))
        };
        let (bytes, metadata) = read_regular(&path, MAX_SECRET_FILE).map_err(|err| match err {
            BoundedReadError::Io(source) => unreadable(source),
            BoundedReadError::NotRegular { is_dir: true } => not_regular("a folder"),
            BoundedReadError::NotRegular { is_dir: false } => {
                not_regular("a FIFO, a socket or a device")
            }
            BoundedReadError::TooLarge => refused(format!(
                "is larger than {} KiB; a secret file holds one token, password or key",
                MAX_SECRET_FILE / 1024
            )),
        })?;
        // The position only: the error itself holds the file's bytes, which `Debug` would
        // print.
        let text = String::from_utf8(bytes).map_err(|err| {
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
    fn strings(&self, strings: &Strings, discord_on: bool) -> Result<()> {
        let Ok(toml::Value::Table(fields)) = toml::Value::try_from(strings) else {
            return Ok(());
        };
        let blank = |s: &toml::Value| s.as_str().is_some_and(|s| s.trim().is_empty());
        for (name, value) in fields {
            let key = format!("strings.{name}");
            let problem = match &value {
                // The defaults are fine.
                _ if !self.origins.contains_key(&key) => Ok(()),
                _ if blank(&value) => Err("must not be empty".to_owned()),
                toml::Value::String(text) if discord_on => {
                    discord_commands::check_string(&name, text)
                }
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
        Ok(())
    }

    fn matrix(&mut self, matrix: &mut MatrixSettings) -> Result<()> {
        let url = &matrix.homeserver;
        if !self.origins.contains_key("matrix.homeserver") {
            return Err(self.missing("matrix", "matrix.homeserver"));
        }
        self.non_empty("matrix.homeserver", url)?;
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
        let user = &matrix.user;
        if !self.origins.contains_key("matrix.user") {
            return Err(self.missing("matrix", "matrix.user"));
        }
        self.non_empty("matrix.user", user)?;
        if user.contains(char::is_whitespace) || (user.starts_with('@') && !user.contains(':')) {
            return Err(self.invalid(
                "matrix.user",
                format!("{user:?} is not a Matrix user (like \"@guichet:example.org\")"),
            ));
        }
        let token = self.secret("matrix.access_token")?;
        matrix.login = match (token, self.secret("matrix.password")?) {
            (Some((_, token)), Some((_, password))) => return Err(self.conflict(&password, &token)),
            (Some((token, _)), None) => MatrixLogin::AccessToken(token),
            (None, Some((password, _))) => MatrixLogin::Password(password),
            (None, None) => {
                return Err(ConfigError::MissingLogin {
                    at: self.at("matrix"),
                });
            }
        };
        self.non_empty("matrix.device_name", &matrix.device_name)?;
        matrix.recovery_key = self.secret("matrix.recovery_key")?.map(|(key, _)| key);
        if let Some(bad) = matrix
            .allowed_inviters
            .iter()
            .find(|id| !is_matrix_id(id, '@'))
        {
            return Err(self.invalid("matrix.allowed_inviters", format!(
                "{bad:?} is not a Matrix user (like \"@ana:example.org\", or \"@*:example.org\" for everyone on a server)"
            )));
        }
        if matrix.prefix.is_empty() || matrix.prefix.contains(char::is_whitespace) {
            return Err(self.invalid("matrix.prefix", "must be one word, like \"!guichet\""));
        }
        match &matrix.admin_room {
            Some(room) if !is_room_id(room) && !is_matrix_id(room, '#') => Err(self.invalid(
                "matrix.admin_room",
                format!(
                    "{room:?} is not a Matrix room (like \"!abcdef:example.org\" or \"#admins:example.org\")"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Only a local fake: anything else would send the token elsewhere with the rate limiter
    /// off.
    fn api_base(&self, discord: &mut DiscordSettings) -> Result<()> {
        let Some(base) = &discord.api_base else {
            return Ok(());
        };
        let trimmed = base.trim_end_matches('/').to_owned();
        if !trimmed.strip_prefix("http://").is_some_and(is_loopback_url) {
            return Err(self.invalid("discord.api_base", format!(
                "{base:?} is not a loopback URL (like \"http://127.0.0.1:8080\"); api_base is for tests against a fake Discord only"
            )));
        }
        discord.api_base = Some(trimmed);
        Ok(())
    }
}
