//! What a menu button carries in its `custom_id`: enough to answer a click without any memory
//! of the message, so buttons keep working after a restart.
//!
//! Format: `g1:<scope>:<user>:<index>:<choice id>`, e.g. `g1:1234:5678:2:9f3a01bc`. `g1` is the
//! format version: a later format changes it, and buttons of an older one are then answered
//! as outdated instead of being misread. The scope (channel id, empty in DMs) and user (the
//! menu's owner) are the conversation key; the index is the choice's place in the menu and
//! the choice id ([`crate::engine::ShownChoice::id`]) says which choice it was, so a click on
//! an old menu is mapped to where that choice is now, or recognised as stale.
//!
//! Discord caps `custom_id` at 100 characters. With 20-digit ids, a 3-digit index and the
//! engine's 8-hex-digit choice ids the longest is 56; anything longer is refused when encoding.

use crate::store::ConversationKey;

use super::PLATFORM;

const VERSION: &str = "g1";
/// Discord's limit on `custom_id`.
pub const MAX_CUSTOM_ID: usize = 100;

/// One menu button, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuButton {
    /// Channel id in guilds, empty in DMs.
    pub scope: String,
    /// The id of the user the menu was shown to.
    pub user: String,
    /// The choice's index in the menu as shown.
    pub index: usize,
    /// The engine's stable id of the choice.
    pub choice_id: String,
}

impl MenuButton {
    pub fn new(key: &ConversationKey, index: usize, choice_id: &str) -> Self {
        Self {
            scope: key.scope.clone(),
            user: key.user.clone(),
            index,
            choice_id: choice_id.to_owned(),
        }
    }

    /// The `custom_id`, or `None` if it would not fit Discord's limit (ids from the engine
    /// are 8 hex digits, so this means a corrupted key).
    pub fn encode(&self) -> Option<String> {
        let id = format!(
            "{VERSION}:{}:{}:{}:{}",
            self.scope, self.user, self.index, self.choice_id
        );
        (id.len() <= MAX_CUSTOM_ID).then_some(id)
    }

    /// A button of ours in the current format, or `None` (another version, or not ours).
    pub fn decode(custom_id: &str) -> Option<Self> {
        let mut parts = custom_id.split(':');
        if parts.next()? != VERSION {
            return None;
        }
        let scope = parts.next()?;
        let user = parts.next()?;
        let index = parts.next()?;
        let choice_id = parts.next()?;
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let ok = parts.next().is_none()
            && digits(scope)
            && !user.is_empty()
            && digits(user)
            && !index.is_empty()
            && index.len() <= 3
            && digits(index)
            && !choice_id.is_empty()
            && choice_id.bytes().all(|b| b.is_ascii_hexdigit());
        if !ok {
            return None;
        }
        Some(Self {
            scope: scope.to_owned(),
            user: user.to_owned(),
            index: index.parse().ok()?,
            choice_id: choice_id.to_owned(),
        })
    }

    /// The conversation this menu belongs to.
    pub fn key(&self) -> ConversationKey {
        ConversationKey::new(PLATFORM, self.scope.clone(), self.user.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_in_a_guild_and_in_a_dm() {
        for scope in ["123456789012345678", ""] {
            let key = ConversationKey::new("discord", scope, "18446744073709551615");
            let button = MenuButton::new(&key, 24, "9f3a01bc");
            let id = button.encode().unwrap();
            assert!(id.len() <= MAX_CUSTOM_ID);
            assert_eq!(MenuButton::decode(&id), Some(button.clone()));
            assert_eq!(button.key(), key);
        }
    }

    #[test]
    fn the_longest_key_fits_in_100_characters() {
        let max = u64::MAX.to_string();
        let key = ConversationKey::new("discord", max.clone(), max);
        let id = MenuButton::new(&key, 999, "ffffffff").encode().unwrap();
        assert!(id.len() <= 100, "{} characters", id.len());
        let too_long = MenuButton::new(&key, 1, &"f".repeat(64));
        assert_eq!(too_long.encode(), None);
    }

    #[test]
    fn foreign_or_damaged_ids_are_not_ours() {
        for id in [
            "",
            "g1",
            "g0:1:2:3:abcd",
            "g2:1:2:3:abcd",
            "g1:1:2:3",
            "g1:1:2:3:abcd:5",
            "g1:x:2:3:abcd",
            "g1:1::3:abcd",
            "g1:1:2::abcd",
            "g1:1:2:1234:abcd",
            "g1:1:2:3:xyz",
            "g1:1:2:3:",
            "button_1",
        ] {
            assert_eq!(MenuButton::decode(id), None, "{id:?}");
        }
    }
}
