//! A reply as Discord messages: text parts from [`crate::render::discord`], and the menu as
//! buttons on the last part, within Discord's limits (5 buttons per row, 5 rows, 80-character
//! labels). Choices beyond the 25th are listed as numbered text the user can type.

use crate::engine::{BotMessage, ShownChoice};
use crate::render;
use crate::store::ConversationKey;
use crate::strings::Strings;

use super::custom_id::MenuButton;

pub const BUTTONS_PER_ROW: usize = 5;
pub const MAX_ROWS: usize = 5;
const MAX_BUTTONS: usize = BUTTONS_PER_ROW * MAX_ROWS;
/// Discord's limit on a button label.
pub const MAX_LABEL: usize = 80;

/// One message to post. Serialisable: an interaction's answer waits in the outbox laid out
/// ([`super::interaction::QueuedAnswer`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Outgoing {
    /// Never more than [`render::DISCORD_MESSAGE_LIMIT`]; empty only when there are buttons.
    pub content: String,
    /// Rows of buttons, at most [`MAX_ROWS`] of at most [`BUTTONS_PER_ROW`].
    pub rows: Vec<Vec<ButtonView>>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ButtonView {
    pub label: String,
    pub custom_id: String,
}

/// Every message of a reply, in order.
pub fn reply(messages: &[BotMessage], key: &ConversationKey, strings: &Strings) -> Vec<Outgoing> {
    messages
        .iter()
        .flat_map(|m| {
            menu(
                &m.markdown,
                &m.choices,
                key,
                m.step_label.as_deref(),
                strings,
            )
        })
        .collect()
}

/// One bot message whose menu is `choices`, as the engine showed it (a click names its
/// index). `step_label` is the message's [`crate::engine::BotMessage::step_label`];
/// `strings`, the bot's.
fn menu(
    markdown: &str,
    choices: &[ShownChoice],
    key: &ConversationKey,
    step_label: Option<&str>,
    strings: &Strings,
) -> Vec<Outgoing> {
    let (as_buttons, as_text) = choices.split_at(choices.len().min(MAX_BUTTONS));
    let text_labels: Vec<String> = as_text.iter().map(|c| c.label.clone()).collect();
    // Typed numbers pick by index: the first listed is the 26th choice, "26".
    let first_number = as_buttons.len() + 1;
    let mut parts = render::discord(markdown, &text_labels, first_number, step_label, strings);

    let buttons: Vec<ButtonView> = as_buttons
        .iter()
        .enumerate()
        .filter_map(|(index, choice)| {
            Some(ButtonView {
                label: button_label(&choice.label),
                custom_id: MenuButton::new(key, index, &choice.id).encode()?,
            })
        })
        .collect();
    let rows: Vec<Vec<ButtonView>> = buttons
        .chunks(BUTTONS_PER_ROW)
        .map(<[ButtonView]>::to_vec)
        .collect();

    if parts.is_empty() && rows.is_empty() {
        return Vec::new();
    }
    if parts.is_empty() {
        // Discord accepts a message with buttons and no text.
        parts.push(String::new());
    }
    let last = parts.len() - 1;
    parts
        .into_iter()
        .enumerate()
        .map(|(i, content)| Outgoing {
            content,
            rows: if i == last { rows.clone() } else { Vec::new() },
        })
        .collect()
}

/// A label as a button shows it: plain text on one line with emoji, cut with an ellipsis to
/// Discord's 80 characters (counted in UTF-16 units, which is never fewer than characters).
pub fn button_label(label: &str) -> String {
    let label = render::menu_label(label);
    let label = if label.is_empty() {
        "…".to_owned()
    } else {
        label
    };
    if label.encode_utf16().count() <= MAX_LABEL {
        return label;
    }
    let mut cut = String::new();
    let mut units = 0;
    for c in label.chars() {
        units += c.len_utf16();
        if units > MAX_LABEL - 1 {
            break;
        }
        cut.push(c);
    }
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choices(n: usize) -> Vec<ShownChoice> {
        (1..=n)
            .map(|i| ShownChoice {
                label: format!("Choix {i}"),
                id: format!("{i:08x}"),
            })
            .collect()
    }

    fn key() -> ConversationKey {
        ConversationKey::new("discord", "7", "42")
    }

    #[test]
    fn buttons_go_five_per_row_on_the_last_part() {
        let message = BotMessage {
            markdown: format!("{}\n\n{}", "a".repeat(1500), "b".repeat(1500)),
            choices: choices(12),
            expects_answer: false,
            step_label: None,
        };
        let out = reply(&[message], &key(), &Strings::default());
        assert_eq!(out.len(), 2);
        assert!(out[0].rows.is_empty());
        let sizes: Vec<usize> = out[1].rows.iter().map(Vec::len).collect();
        assert_eq!(sizes, [5, 5, 2]);
        assert_eq!(out[1].rows[2][1].label, "Choix 12");
        let decoded = MenuButton::decode(&out[1].rows[2][1].custom_id).unwrap();
        assert_eq!(
            (decoded.index, decoded.choice_id.as_str()),
            (11, "0000000c")
        );
        assert!(out.iter().all(|o| o.content.chars().count() <= 2000));
    }

    #[test]
    fn beyond_25_choices_the_rest_is_numbered_text() {
        let message = BotMessage {
            markdown: "Tous les sujets :".into(),
            choices: choices(27),
            expects_answer: false,
            step_label: None,
        };
        let out = reply(&[message], &key(), &Strings::default());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].rows.len(), 5);
        assert!(out[0].rows.iter().all(|r| r.len() == 5));
        assert!(
            out[0].content.contains("26. Choix 26"),
            "{}",
            out[0].content
        );
        assert!(out[0].content.contains("27. Choix 27"));
        assert!(!out[0].content.contains("25. "));
    }

    #[test]
    fn a_menu_without_text_is_buttons_only_and_nothing_is_nothing() {
        let message = BotMessage {
            markdown: String::new(),
            choices: choices(2),
            expects_answer: false,
            step_label: None,
        };
        let out = reply(&[message], &key(), &Strings::default());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].content, "");
        assert_eq!(out[0].rows[0].len(), 2);
        assert!(reply(&[BotMessage::default()], &key(), &Strings::default()).is_empty());
    }

    #[test]
    fn labels_are_cut_to_80_with_an_ellipsis() {
        let eighty = "a".repeat(80);
        let long = format!("{eighty} fin");
        let cases = [
            ("Court", "Court".to_owned()),
            (&eighty[..], eighty.clone()),
            (&long[..], format!("{}…", "a".repeat(79))),
            ("  deux\nlignes  ", "deux lignes".to_owned()),
            ("Bravo :tada:", "Bravo 🎉".to_owned()),
            ("", "…".to_owned()),
        ];
        for (label, expected) in cases {
            assert_eq!(button_label(label), expected, "{label:?}");
        }
        let emoji = "😀".repeat(50);
        let cut = button_label(&emoji);
        assert!(cut.encode_utf16().count() <= MAX_LABEL);
        assert!(cut.ends_with('…'));
    }
}
