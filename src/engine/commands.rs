//! Commands people type in a chat, the same on every platform: `!guichet aide` (how to talk to
//! the bot), `!guichet role` (choose a profile again), `!guichet menu` (the welcome). On Matrix
//! and in the terminal they are typed, with a configurable prefix (`[strings]
//! command_prefix`); Discord also offers them as slash commands, which its adapter hands over
//! as [`super::Input::Command`], so both forms get the one answer decided here.

use super::conversation::{Conversation, OfferedChoice};
use super::guichet::normalize;
use super::{Answer, AnswerPath, BotMessage, Engine, Reply, Rng, display};

/// What a command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// How to talk to the bot.
    Help,
    /// The profile (role) choices of the welcome, alone.
    Profile,
    /// The welcome message.
    Menu,
}

impl Engine {
    /// The command a typed message is, when it starts with the command prefix and names
    /// one (`!guichet aide`, `!GUICHET Role`).
    pub(super) fn command(&self, text: &str) -> Option<Command> {
        let strings = &self.strings;
        let prefix = strings.command_prefix.trim();
        if prefix.is_empty() {
            return None;
        }
        let text = text.trim();
        let head = text.get(..prefix.len())?;
        if head.to_lowercase() != prefix.to_lowercase() {
            return None;
        }
        let name = normalize(&text[prefix.len()..]);
        let is = |command: &str, also: &[&str]| {
            name == normalize(command) || also.contains(&name.as_str())
        };
        if is(&strings.command_help, &["help"]) {
            Some(Command::Help)
        } else if is(&strings.command_role, &["profil", "profile", "role"]) {
            Some(Command::Profile)
        } else if is(&strings.command_menu, &[]) {
            Some(Command::Menu)
        } else {
            None
        }
    }

    /// The reply to a command.
    pub(super) fn run_command(
        &self,
        conversation: &mut Conversation,
        command: Command,
        rng: &mut Rng,
    ) -> Reply {
        match command {
            Command::Help => Reply {
                messages: vec![BotMessage {
                    markdown: self.strings.help_text(),
                    ..BotMessage::default()
                }],
                answer: Answer::Builtin("help".into()),
                path: AnswerPath::Builtin,
                score: 0.0,
            },
            Command::Profile => self.choose_profile(conversation, rng),
            Command::Menu => self.welcome_reply(conversation, rng, AnswerPath::Builtin),
        }
    }

    /// The welcome's choices that set a variable: the profiles.
    pub(super) fn profile_choices(&self) -> impl Iterator<Item = &crate::kb::Choice> {
        self.kb
            .welcome
            .choices
            .iter()
            .filter(|c| c.assignment.is_some())
    }

    /// The welcome's choices that set a variable, alone, as a menu; the welcome when it has
    /// none (a base without profiles).
    fn choose_profile(&self, conversation: &mut Conversation, rng: &mut Rng) -> Reply {
        let offered: Vec<OfferedChoice> = self
            .profile_choices()
            .map(|c| display::offered(c, &self.strings.default_choice))
            .collect();
        if offered.is_empty() {
            return self.run_command(conversation, Command::Menu, rng);
        }
        let choices = display::offer(conversation, offered);
        Reply {
            messages: vec![BotMessage {
                markdown: self.strings.choose_role.clone(),
                choices,
                ..BotMessage::default()
            }],
            answer: Answer::Builtin("profile".into()),
            path: AnswerPath::Builtin,
            score: 0.0,
        }
    }
}
