//! The terminal adapter: the same conversation as in a chat, locally, with no chat server.
//! Menus are numbered lines; a number or a label picks. When stdin is not a terminal there is
//! no prompt and one reply block per input line, so it can be scripted.

use std::io::{BufRead, Write};

use crate::engine::{Input, Reply, Rng};
use crate::render;
use crate::service::{Bot, now_ms};
use crate::store::{ConversationKey, StoreError};

/// Commands the terminal understands besides messages.
const QUIT: &str = "/quit";
const RESET: &str = "/reset";

/// The key of the one local user.
fn key() -> ConversationKey {
    ConversationKey::direct("terminal", "local")
}

/// Renders a reply as the terminal shows it.
pub fn render_reply(reply: &Reply) -> String {
    reply
        .messages
        .iter()
        .map(|m| {
            let labels: Vec<String> = m.choices.iter().map(|c| c.label.clone()).collect();
            render::plain(&m.markdown, &labels)
        })
        .filter(|text| !text.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Runs the conversation until end of input or `/quit`.
pub fn run(
    bot: &Bot,
    input: impl BufRead,
    mut output: impl Write,
    interactive: bool,
    rng: &mut Rng,
) -> Result<(), TerminalError> {
    let key = key();
    bot.forget(&key)?;
    let welcome = bot.handle(&key, Input::Start, now_ms(), rng)?;
    writeln!(output, "{}", render_reply(&welcome))?;
    let prompt = |output: &mut dyn Write| -> std::io::Result<()> {
        if interactive {
            write!(output, "\n> ")?;
            output.flush()?;
        } else {
            // Two blank lines end a reply block: replies never contain more than one in a
            // row, so scripts can split on them.
            writeln!(output, "\n")?;
        }
        Ok(())
    };
    prompt(&mut output)?;
    for line in input.lines() {
        let line = line?;
        let text = line.trim();
        if text.is_empty() {
            if interactive {
                prompt(&mut output)?;
            }
            continue;
        }
        let reply = match text {
            QUIT => break,
            RESET => {
                bot.forget(&key)?;
                bot.handle(&key, Input::Start, now_ms(), rng)?
            }
            _ => bot.handle(&key, Input::Message(text.to_string()), now_ms(), rng)?,
        };
        let rendered = render_reply(&reply);
        if !rendered.is_empty() {
            writeln!(output, "{rendered}")?;
        }
        prompt(&mut output)?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error("terminal: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}
