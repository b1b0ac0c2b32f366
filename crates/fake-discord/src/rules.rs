//! Discord's rules for what a bot may send, with its error shapes: a refused message body is
//! 400 with code 50035 "Invalid Form Body" and the offending field's path, e.g.
//! `{"components":{"0":{"components":{"5":{"_errors":[…]}}}}}`.

use serde_json::{Map, Value, json};

/// Longest message content.
pub const MAX_CONTENT: usize = 2000;
/// Action rows per message and components per row.
pub const MAX_ROWS: usize = 5;
pub const MAX_PER_ROW: usize = 5;
pub const MAX_LABEL: usize = 80;
pub const MAX_CUSTOM_ID: usize = 100;
pub const MAX_COMMAND_DESCRIPTION: usize = 100;
pub const MAX_COMMAND_NAME: usize = 32;

/// A refusal: the field's path (`components.0.label`), Discord's error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError {
    pub path: String,
    pub code: &'static str,
    pub message: String,
}

impl FormError {
    fn new(path: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            code,
            message: message.into(),
        }
    }

    /// Discord's 50035 body.
    pub fn body(&self) -> Value {
        let mut errors = json!({"_errors": [{"code": self.code, "message": self.message}]});
        for segment in self.path.split('.').rev() {
            let mut map = Map::new();
            map.insert(segment.to_owned(), errors);
            errors = Value::Object(map);
        }
        json!({"code": 50035, "message": "Invalid Form Body", "errors": errors})
    }
}

/// A message nonce: an integer or a string of at most this many characters.
pub const MAX_NONCE: usize = 25;

/// Discord's length: it counts characters.
fn length(value: &str) -> usize {
    value.chars().count()
}

/// Checks a message body (create, edit, interaction response data). `new`: a new message,
/// which must not be empty.
pub fn check_message(body: &Value, new: bool) -> Result<(), FormError> {
    if let Some(content) = body.get("content").filter(|c| !c.is_null()) {
        let Some(content) = content.as_str() else {
            return Err(FormError::new(
                "content",
                "STRING_TYPE_CONVERT",
                "Could not interpret value as string.",
            ));
        };
        if length(content) > MAX_CONTENT {
            return Err(FormError::new(
                "content",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {MAX_CONTENT} or fewer in length."),
            ));
        }
    }
    if let Some(components) = body.get("components").filter(|c| !c.is_null()) {
        check_components(components)?;
    }
    match body.get("nonce") {
        None | Some(Value::Null | Value::Number(_)) => {}
        Some(Value::String(nonce)) if length(nonce) <= MAX_NONCE => {}
        Some(Value::String(_)) => {
            return Err(FormError::new(
                "nonce",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {MAX_NONCE} or fewer in length."),
            ));
        }
        Some(_) => {
            return Err(FormError::new(
                "nonce",
                "NONCE_TYPE_INVALID",
                "Nonce must be an integer or a string.",
            ));
        }
    }
    if new {
        let has = |field: &str| match body.get(field) {
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            _ => false,
        };
        if !has("content") && !has("components") && !has("embeds") && !has("sticker_ids") {
            return Err(FormError::new(
                "content",
                "BASE_TYPE_REQUIRED",
                "Cannot send an empty message",
            ));
        }
    }
    Ok(())
}

fn check_components(components: &Value) -> Result<(), FormError> {
    let Some(rows) = components.as_array() else {
        return Err(FormError::new(
            "components",
            "LIST_TYPE_CONVERT",
            "Only iterables may be used in a ListType",
        ));
    };
    if rows.len() > MAX_ROWS {
        return Err(FormError::new(
            "components",
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {MAX_ROWS} or fewer in length."),
        ));
    }
    let mut custom_ids = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let at = format!("components.{r}");
        if row["type"] != 1 {
            return Err(FormError::new(
                format!("{at}.type"),
                "UNION_TYPE_CHOICES",
                "Value of field \"type\" must be one of (1,).",
            ));
        }
        let children = row["components"].as_array().cloned().unwrap_or_default();
        if children.is_empty() || children.len() > MAX_PER_ROW {
            return Err(FormError::new(
                format!("{at}.components"),
                if children.is_empty() {
                    "BASE_TYPE_MIN_LENGTH"
                } else {
                    "BASE_TYPE_MAX_LENGTH"
                },
                format!("Must be between 1 and {MAX_PER_ROW} in length."),
            ));
        }
        for (c, child) in children.iter().enumerate() {
            let at = format!("{at}.components.{c}");
            if child["type"] != 2 {
                // Only buttons are modelled; a select menu fills a row alone.
                if children.len() > 1 {
                    return Err(FormError::new(
                        format!("{at}.type"),
                        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                        "The specified component exceeds the maximum width",
                    ));
                }
                continue;
            }
            check_button(child, &at, &mut custom_ids)?;
        }
    }
    Ok(())
}

fn check_button(button: &Value, at: &str, custom_ids: &mut Vec<String>) -> Result<(), FormError> {
    let style = button["style"].as_u64().unwrap_or(0);
    if !(1..=6).contains(&style) {
        return Err(FormError::new(
            format!("{at}.style"),
            "BASE_TYPE_CHOICES",
            "Value must be one of {1, 2, 3, 4, 5, 6}.",
        ));
    }
    if let Some(label) = button.get("label").and_then(Value::as_str)
        && length(label) > MAX_LABEL
    {
        return Err(FormError::new(
            format!("{at}.label"),
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {MAX_LABEL} or fewer in length."),
        ));
    }
    let custom_id = button.get("custom_id").and_then(Value::as_str);
    match (style, custom_id) {
        (5, _) => {
            if button.get("url").and_then(Value::as_str).is_none() {
                return Err(FormError::new(
                    format!("{at}.url"),
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                ));
            }
        }
        (6, _) => {}
        (_, None) => {
            return Err(FormError::new(
                format!("{at}.custom_id"),
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ));
        }
        (_, Some(id)) => {
            if id.is_empty() || length(id) > MAX_CUSTOM_ID {
                return Err(FormError::new(
                    format!("{at}.custom_id"),
                    "BASE_TYPE_BAD_LENGTH",
                    format!("Must be between 1 and {MAX_CUSTOM_ID} in length."),
                ));
            }
            if custom_ids.iter().any(|seen| seen == id) {
                return Err(FormError::new(
                    format!("{at}.custom_id"),
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    "Component custom id cannot be duplicated",
                ));
            }
            custom_ids.push(id.to_owned());
        }
    }
    Ok(())
}

/// Discord's rule for a slash command name: `^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$`,
/// and lower case wherever a letter has a lower-case form.
pub fn command_name_ok(name: &str) -> bool {
    (1..=MAX_COMMAND_NAME).contains(&length(name))
        && name.chars().all(|c| {
            let allowed = matches!(c, '-' | '_' | '\'')
                || devanagari_or_thai(c)
                || c.is_numeric()
                // \p{L}: Alphabetic less the combining marks it also holds (vowel signs).
                || (c.is_alphabetic()
                    && !c.is_numeric()
                    && !unicode_normalization::char::is_combining_mark(c));
            allowed && c.to_lowercase().eq(std::iter::once(c))
        })
}

/// `\p{sc=Deva}` and `\p{sc=Thai}` (Scripts.txt): their vowel signs are marks, not letters.
fn devanagari_or_thai(c: char) -> bool {
    matches!(u32::from(c),
        0x0900..=0x0950 | 0x0955..=0x0963 | 0x0966..=0x097F | 0xA8E0..=0xA8FF
        | 0x11B00..=0x11B09 | 0x0E01..=0x0E3A | 0x0E40..=0x0E5B)
}

/// Checks one slash command of a bulk overwrite.
pub fn check_command(command: &Value, at: usize) -> Result<(), FormError> {
    let name = command["name"].as_str().unwrap_or_default();
    if !command_name_ok(name) {
        return Err(FormError::new(
            format!("{at}.name"),
            "APPLICATION_COMMAND_INVALID_NAME",
            "Command name is invalid",
        ));
    }
    let kind = command["type"].as_u64().unwrap_or(1);
    let description = command["description"].as_str().unwrap_or_default();
    if kind == 1 && !(1..=MAX_COMMAND_DESCRIPTION).contains(&length(description)) {
        return Err(FormError::new(
            format!("{at}.description"),
            "BASE_TYPE_BAD_LENGTH",
            format!("Must be between 1 and {MAX_COMMAND_DESCRIPTION} in length."),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn button(label: &str, id: &str) -> Value {
        json!({"type": 2, "style": 1, "label": label, "custom_id": id})
    }

    fn row(buttons: Vec<Value>) -> Value {
        json!({"type": 1, "components": buttons})
    }

    #[test]
    fn limits() {
        let ok = json!({"content": "x", "components": [row(vec![button("a", "1")])]});
        assert_eq!(check_message(&ok, true), Ok(()));

        let long = json!({"content": "é".repeat(2001)});
        assert_eq!(check_message(&long, true).unwrap_err().path, "content");

        let six = (0..6).map(|i| button("a", &i.to_string())).collect();
        let err = check_message(&json!({"components": [row(six)]}), true).unwrap_err();
        assert_eq!(err.path, "components.0.components");

        let rows: Vec<Value> = (0..6)
            .map(|i| row(vec![button("a", &i.to_string())]))
            .collect();
        assert_eq!(
            check_message(&json!({"components": rows}), true)
                .unwrap_err()
                .path,
            "components"
        );

        let label = button(&"a".repeat(81), "1");
        let err = check_message(&json!({"components": [row(vec![label])]}), true).unwrap_err();
        assert_eq!(err.path, "components.0.components.0.label");
        assert_eq!(
            err.body()["errors"]["components"]["0"]["components"]["0"]["label"]["_errors"][0]["code"],
            "BASE_TYPE_MAX_LENGTH"
        );

        let id = button("a", &"i".repeat(101));
        assert!(check_message(&json!({"components": [row(vec![id])]}), true).is_err());

        let twice = row(vec![button("a", "1"), button("b", "1")]);
        assert_eq!(
            check_message(&json!({"components": [twice]}), true)
                .unwrap_err()
                .code,
            "COMPONENT_CUSTOM_ID_DUPLICATED"
        );

        assert!(check_message(&json!({"content": ""}), true).is_err());
        assert_eq!(check_message(&json!({"content": ""}), false), Ok(()));
    }

    #[test]
    fn commands() {
        assert!(check_command(&json!({"name": "aide", "description": "Aide"}), 0).is_ok());
        assert!(check_command(&json!({"name": "Aide", "description": "Aide"}), 0).is_err());
        assert!(check_command(&json!({"name": "aide", "description": ""}), 0).is_err());
        // Discord's documented rule, not "alphanumeric and not upper case".
        for good in [
            "aujourd'hui",
            "rôle",
            "mise-à_jour",
            "नमस्ते",
            "สวัสดี",
            "日本語",
            "x".repeat(32).as_str(),
        ] {
            assert!(command_name_ok(good), "{good}");
        }
        for bad in [
            "",
            "Aide",
            "mon menu",
            "aide!",
            "ǅx",
            "কি",
            "x".repeat(33).as_str(),
        ] {
            assert!(!command_name_ok(bad), "{bad}");
        }
    }
}
