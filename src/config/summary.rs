//! The summary `guichet config check` prints: the settings serialized as TOML, secrets as
//! `"***"`, with the platforms served and the `[strings]` keys overridden as comments.

use std::fmt;

use super::Settings;
use crate::strings::Strings;

impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let platforms = match (&self.matrix, &self.discord) {
            (None, None) => "terminal only",
            (Some(_), None) => "matrix",
            (None, Some(_)) => "discord",
            (Some(_), Some(_)) => "matrix, discord",
        };
        // Only a Discord id past what TOML's integers hold can fail, and `Display` must not.
        let settings = toml::to_string(self).unwrap_or_else(|err| format!("# {err}\n"));
        let strings = match self.overridden_strings() {
            overridden if overridden.is_empty() => "all default".to_owned(),
            overridden => format!("overridden: {}", overridden.join(", ")),
        };
        write!(
            f,
            "# platforms: {platforms}\n{settings}\n[strings]\n# {strings}"
        )
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
