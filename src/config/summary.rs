//! The summary `guichet config check` prints: the settings as TOML, secrets hidden.

use std::fmt;

use serde::Serialize;

use super::duration::format_duration;
use super::{MatrixLogin, Settings};
use crate::strings::Strings;

/// The settings as TOML, secrets shown as `"***"`: what `guichet config check` prints.
impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HIDDEN: &str = "\"***\"";
        writeln!(f, "content = {:?}", self.content.display().to_string())?;
        writeln!(f, "state_dir = {:?}", self.state_dir.display().to_string())?;
        writeln!(f, "matching = {:?}", word(self.matching))?;
        writeln!(f, "idle_reset = {:?}", format_duration(self.idle_reset))?;
        writeln!(f, "forget_after = {:?}", format_duration(self.forget_after))?;
        let platforms = match (&self.matrix, &self.discord) {
            (None, None) => "terminal only",
            (Some(_), None) => "matrix",
            (None, Some(_)) => "discord",
            (Some(_), Some(_)) => "matrix, discord",
        };
        writeln!(f, "# platforms: {platforms}")?;

        writeln!(f, "\n[strings]")?;
        match self.overridden_strings() {
            overridden if overridden.is_empty() => writeln!(f, "# all default")?,
            overridden => writeln!(f, "# overridden: {}", overridden.join(", "))?,
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
            writeln!(f, "rooms = {:?}", word(matrix.rooms))?;
            writeln!(f, "msgtype = {:?}", word(matrix.msgtype))?;
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
            writeln!(f, "key_recipients = {:?}", word(matrix.key_recipients))?;
        }

        if let Some(discord) = &self.discord {
            writeln!(f, "\n[discord]")?;
            writeln!(f, "token = {HIDDEN}")?;
            writeln!(f, "guild_ids = {:?}", discord.guild_ids)?;
            writeln!(f, "message_content = {}", discord.message_content)?;
            writeln!(f, "catch_up = {:?}", format_duration(discord.catch_up))?;
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
    /// The `[strings]` keys whose value differs from the default, in field order.
    fn overridden_strings(&self) -> Vec<String> {
        let fields = |strings: &Strings| match toml::Value::try_from(strings) {
            Ok(toml::Value::Table(fields)) => fields,
            _ => toml::Table::new(),
        };
        let defaults = fields(&Strings::default());
        fields(&self.strings)
            .into_iter()
            .filter(|(key, value)| defaults.get(key) != Some(value))
            .map(|(key, _)| key)
            .collect()
    }
}

/// A one-word setting as the file writes it (`"open"`), from its serde name.
fn word(value: impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(word)) => word,
        _ => String::new(),
    }
}
