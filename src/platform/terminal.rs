//! The terminal adapter: the same conversation as in a chat, locally, with no chat server.
//! Menus are numbered lines; a number or a label picks. When stdin is not a terminal there is
//! no prompt and one reply block per input line, so it can be scripted.

use std::io::{BufRead, Write};

use crate::daemon::{Context, Outcome};
use crate::engine::{Input, Reply};
use crate::render;
use crate::store::{ConversationKey, StoreError};

/// Commands the terminal understands besides messages.
const QUIT: &str = "/quit";
const RESET: &str = "/reset";

/// The key of the one local user.
pub fn key() -> ConversationKey {
    ConversationKey::direct("terminal", "local")
}

/// Renders a reply as the terminal shows it.
pub fn render_reply(reply: &Reply) -> String {
    reply
        .messages
        .iter()
        .map(|m| {
            let labels: Vec<String> = m.choices.iter().map(|c| c.label.clone()).collect();
            render::plain(&m.markdown, &labels, m.step_label.as_deref())
        })
        .filter(|text| !text.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn render_outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Reply(reply) => render_reply(reply),
        Outcome::Notice(text) => text.clone(),
        Outcome::Silent => String::new(),
    }
}

/// Runs the conversation until end of input, `/quit`, or the daemon shutting down.
pub fn run(
    ctx: &Context,
    input: impl BufRead,
    mut output: impl Write,
    interactive: bool,
) -> Result<(), TerminalError> {
    let key = key();
    ctx.bot.forget(&key)?;
    ctx.status.set_connected("terminal", true);
    let welcome = ctx.handle(&key, Input::Start)?;
    writeln!(output, "{}", render_outcome(&welcome))?;
    let prompt = |output: &mut dyn Write| -> std::io::Result<()> {
        if interactive {
            write!(output, "\n> ")?;
            output.flush()?;
        } else {
            // Two blank lines end a reply block: replies never contain more than one in a
            // row, so scripts can split on them.
            writeln!(output, "\n")?;
            output.flush()?;
        }
        Ok(())
    };
    prompt(&mut output)?;
    for line in input.lines() {
        if ctx.is_shutting_down() {
            break;
        }
        let line = line?;
        let text = line.trim();
        if text.is_empty() {
            if interactive {
                prompt(&mut output)?;
            }
            continue;
        }
        let outcome = match text {
            QUIT => break,
            RESET => {
                ctx.bot.forget(&key)?;
                ctx.handle(&key, Input::Start)?
            }
            _ => ctx.handle(&key, Input::Message(text.to_string()))?,
        };
        let rendered = render_outcome(&outcome);
        if !rendered.is_empty() {
            writeln!(output, "{rendered}")?;
        }
        prompt(&mut output)?;
    }
    ctx.status.set_connected("terminal", false);
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error("terminal: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}
