//! Determination: what a Discord event means for guichet (answer or not, which conversation,
//! which engine input), from plain data and without any I/O, so every rule is a unit test.
//! Turning serenity's types into these and sending the answer is the handler's job.

use crate::engine::{self, Input};
use crate::store::ConversationKey;
use crate::strings::Strings;

use super::PLATFORM;
use super::custom_id::MenuButton;

/// The parts of a MESSAGE_CREATE that decide whether and how to answer.
#[derive(Debug, Clone, Default)]
pub struct IncomingMessage<'a> {
    pub id: u64,
    pub channel_id: u64,
    /// `guild_id` is set: a guild channel (gateway events only; REST messages lack it).
    pub in_guild: bool,
    pub author_id: u64,
    /// Bots and webhooks, the bot itself included.
    pub author_is_bot: bool,
    /// An ordinary message or a reply, not a system message (join, pin, boost…).
    pub is_chat: bool,
    pub content: &'a str,
    /// Users mentioned, as Discord resolved them.
    pub mentions: &'a [u64],
    /// The author of the message this one replies to.
    pub replied_to: Option<u64>,
}

/// One turn of a conversation to hand to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub key: ConversationKey,
    pub input: Input,
    /// Claimed in the state store before answering, so a redelivered event (gateway resume)
    /// gets no second answer.
    pub event_id: String,
}

/// The conversation key of `user` in a channel: one conversation per channel in guilds, one
/// per user in DMs.
pub fn key(channel_id: u64, in_guild: bool, user: u64) -> ConversationKey {
    let scope = if in_guild {
        channel_id.to_string()
    } else {
        String::new()
    };
    ConversationKey::new(PLATFORM, scope, user.to_string())
}

/// Whether to answer a message, and with what. Answers every DM, and in guilds the messages
/// that mention the bot or reply to it; never a bot (itself included: Discord echoes its own
/// messages, and in a DM everything would look addressed to it).
pub fn message(msg: &IncomingMessage<'_>, bot_id: u64) -> Option<Turn> {
    if msg.author_is_bot || msg.author_id == bot_id || !msg.is_chat {
        return None;
    }
    let mentioned = msg.mentions.contains(&bot_id);
    let replied = msg.replied_to == Some(bot_id);
    if msg.in_guild && !mentioned && !replied {
        return None;
    }
    let text = strip_mentions(msg.content, bot_id);
    let input = if !text.is_empty() {
        Input::Message(text)
    } else if mentioned || !msg.in_guild {
        // A bare mention (or an empty DM, e.g. only an attachment) opens the conversation.
        Input::Start
    } else {
        // A reply without a ping arrives blank without the message-content intent: there is
        // nothing to answer, and answering the welcome to every such reply would be noise.
        return None;
    };
    Some(Turn {
        key: key(msg.channel_id, msg.in_guild, msg.author_id),
        input,
        event_id: format!("message:{}", msg.id),
    })
}

/// The text without the bot's mentions (`<@id>` and the legacy `<@!id>`), trimmed. Other
/// mentions stay: they may be part of the question.
pub fn strip_mentions(content: &str, bot_id: u64) -> String {
    let plain = format!("<@{bot_id}>");
    let legacy = format!("<@!{bot_id}>");
    let text = content.replace(&plain, " ").replace(&legacy, " ");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What a click on a button means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Click {
    /// The owner clicked one of their menus.
    Owner(MenuButton),
    /// Someone else's menu: refused, to the clicker only.
    NotYours,
    /// Not a button guichet made in the current format (an older version of guichet).
    Unknown,
}

pub fn click(custom_id: &str, clicker: u64) -> Click {
    match MenuButton::decode(custom_id) {
        None => Click::Unknown,
        Some(button) if button.user != clicker.to_string() => Click::NotYours,
        Some(button) => Click::Owner(button),
    }
}

/// The input for a click by its owner: the choice by its stable id and where it was shown;
/// the engine resolves it against the conversation within the turn ([`Input::Choice`]).
pub fn pick(button: &MenuButton) -> Input {
    Input::Choice {
        id: button.choice_id.clone(),
        at: button.index,
    }
}

/// The slash commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `/aide`: how to talk to the bot.
    Help,
    /// `/menu`: the welcome again (the role is kept).
    Menu,
    /// `/role`: the welcome's profile choices again.
    Role,
}

impl Command {
    pub const ALL: [Command; 3] = [Command::Help, Command::Menu, Command::Role];

    pub fn name(self, strings: &Strings) -> &str {
        match self {
            Command::Help => &strings.command_help,
            Command::Menu => &strings.command_menu,
            Command::Role => &strings.command_role,
        }
    }

    pub fn description(self, strings: &Strings) -> &str {
        match self {
            Command::Help => &strings.command_help_description,
            Command::Menu => &strings.command_menu_description,
            Command::Role => &strings.command_role_description,
        }
    }

    /// The command registered under `name`.
    pub fn named(name: &str, strings: &Strings) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.name(strings) == name)
    }

    /// The engine input: the typed command's (`!guichet aide`, `!guichet menu`, `!guichet
    /// role`), so a slash command gets the answer the same command typed on Matrix gets.
    pub fn input(self) -> Input {
        Input::Command(match self {
            Command::Help => engine::Command::Help,
            Command::Menu => engine::Command::Menu,
            Command::Role => engine::Command::Profile,
        })
    }

    /// Whether only the person who ran the command sees the answer: how to use the bot is no
    /// news to the rest of the channel, whereas a menu is the start of a conversation there.
    pub fn is_private(self) -> bool {
        matches!(self, Command::Help)
    }
}

/// What a slash command means: the command registered under `name`, or help for a name that
/// is not (a command of an older configuration, still registered somewhere).
pub fn command(name: &str, strings: &Strings) -> Command {
    Command::named(name, strings).unwrap_or(Command::Help)
}

/// Why a command name or description would be refused by Discord (checked before connecting,
/// since both come from the configurable strings; `guichet config check` checks them too).
pub fn check_command(name: &str, description: &str) -> Result<(), String> {
    if !crate::config::discord_commands::name_ok(name) {
        return Err(format!(
            "{name:?} is not a Discord command name (1 to 32 lower-case letters, digits, -, _ or ')"
        ));
    }
    if !(1..=crate::config::discord_commands::MAX_DESCRIPTION)
        .contains(&description.chars().count())
    {
        return Err(format!(
            "the description of /{name} must be 1 to 100 characters long"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOT: u64 = 900;
    const ANA: u64 = 42;
    const CHANNEL: u64 = 7;

    fn guild_message<'a>(content: &'a str, mentions: &'a [u64]) -> IncomingMessage<'a> {
        IncomingMessage {
            id: 1,
            channel_id: CHANNEL,
            in_guild: true,
            author_id: ANA,
            is_chat: true,
            content,
            mentions,
            ..IncomingMessage::default()
        }
    }

    #[test]
    fn where_it_answers() {
        let bot = [BOT];
        let other = [43];
        let cases: &[(&str, IncomingMessage<'_>, Option<Input>)] = &[
            (
                "mention with a question",
                guild_message("<@900> code campagne", &bot),
                Some(Input::Message("code campagne".into())),
            ),
            (
                "legacy nickname mention",
                guild_message("<@!900>   2", &bot),
                Some(Input::Message("2".into())),
            ),
            (
                "bare mention opens",
                guild_message("<@900>", &bot),
                Some(Input::Start),
            ),
            ("no mention", guild_message("code campagne", &[]), None),
            (
                "someone else mentioned",
                guild_message("<@43> code", &other),
                None,
            ),
            (
                "reply to the bot",
                IncomingMessage {
                    replied_to: Some(BOT),
                    ..guild_message("et pour les 6e ?", &[])
                },
                Some(Input::Message("et pour les 6e ?".into())),
            ),
            (
                "reply to the bot, blanked without the intent",
                IncomingMessage {
                    replied_to: Some(BOT),
                    ..guild_message("", &[])
                },
                None,
            ),
            (
                "reply to someone else",
                IncomingMessage {
                    replied_to: Some(43),
                    ..guild_message("oui", &[])
                },
                None,
            ),
            (
                "DM",
                IncomingMessage {
                    in_guild: false,
                    ..guild_message("bonjour", &[])
                },
                Some(Input::Message("bonjour".into())),
            ),
            (
                "a bot, even mentioning",
                IncomingMessage {
                    author_is_bot: true,
                    ..guild_message("<@900> 1", &bot)
                },
                None,
            ),
            (
                "itself in a DM",
                IncomingMessage {
                    author_id: BOT,
                    in_guild: false,
                    ..guild_message("Bonjour !", &[])
                },
                None,
            ),
            (
                "a system message",
                IncomingMessage {
                    is_chat: false,
                    ..guild_message("<@900>", &bot)
                },
                None,
            ),
        ];
        for (name, msg, expected) in cases {
            let turn = message(msg, BOT);
            assert_eq!(turn.map(|t| t.input), *expected, "{name}");
        }
    }

    #[test]
    fn conversation_scope_is_the_channel_in_guilds_and_none_in_dms() {
        let bot = [BOT];
        let turn = message(&guild_message("<@900> hi", &bot), BOT).unwrap();
        assert_eq!(turn.key, ConversationKey::new("discord", "7", "42"));
        assert_eq!(turn.event_id, "message:1");
        let dm = IncomingMessage {
            in_guild: false,
            ..guild_message("hi", &[])
        };
        assert_eq!(
            message(&dm, BOT).unwrap().key,
            ConversationKey::direct("discord", "42")
        );
    }

    #[test]
    fn clicks_by_the_owner_others_and_unknown_buttons() {
        let key = ConversationKey::new("discord", "7", "42");
        let id = MenuButton::new(&key, 1, "0000beef").encode().unwrap();
        assert!(matches!(click(&id, ANA), Click::Owner(b) if b.key() == key && b.index == 1));
        assert_eq!(click(&id, 43), Click::NotYours);
        assert_eq!(click("g0:7:42:1:beef", ANA), Click::Unknown);
    }

    #[test]
    fn commands_are_the_typed_commands_engine_inputs() {
        assert_eq!(Command::Help.input(), Input::Command(engine::Command::Help));
        assert_eq!(Command::Menu.input(), Input::Command(engine::Command::Menu));
        assert_eq!(
            Command::Role.input(),
            Input::Command(engine::Command::Profile)
        );
        let private: Vec<Command> = Command::ALL
            .into_iter()
            .filter(|c| c.is_private())
            .collect();
        assert_eq!(private, [Command::Help]);
    }

    #[test]
    fn command_names_follow_the_strings_and_discord_rules() {
        let strings = Strings::default();
        assert_eq!(Command::named("aide", &strings), Some(Command::Help));
        assert_eq!(Command::named("menu", &strings), Some(Command::Menu));
        assert_eq!(Command::named("role", &strings), Some(Command::Role));
        assert_eq!(Command::named("help", &strings), None);
        assert_eq!(command("help", &strings), Command::Help);
        assert_eq!(command("role", &strings), Command::Role);
        for command in Command::ALL {
            check_command(command.name(&strings), command.description(&strings)).unwrap();
        }
        assert!(check_command("Aide", "x").is_err());
        assert!(check_command("mon menu", "x").is_err());
        assert!(check_command("rôle", "x").is_ok());
        // Discord allows an apostrophe (issue 16), and refuses what is not a letter or digit.
        assert!(check_command("aujourd'hui", "x").is_ok());
        assert!(check_command("नमस्ते", "x").is_ok());
        assert!(check_command("aide!", "x").is_err());
        assert!(
            check_command("ǅx", "x").is_err(),
            "a title-case letter has a lower case"
        );
        assert!(
            check_command("কি", "x").is_err(),
            "a vowel sign outside Devanagari and Thai"
        );
        assert!(check_command("menu", "").is_err());
        assert!(check_command("menu", &"x".repeat(101)).is_err());
    }
}
