//! The terminal adapter: the same conversation as in a chat, locally, with no chat server.
//! Menus are numbered lines; a number or a label picks. When stdin is not a terminal there is
//! no prompt and one reply block per input line, so it can be scripted.

use std::io::{BufRead, Write};

use crate::engine::{Input, Reply};
use crate::render;
use crate::service::{Context, Outcome};
use crate::store::{ConversationKey, StoreError};
use crate::strings::Strings;

/// Commands the terminal understands besides messages.
const QUIT: &str = "/quit";
const RESET: &str = "/reset";

/// The key of the one local user.
pub fn key() -> ConversationKey {
    ConversationKey::direct("terminal", "local")
}

/// Renders a reply as the terminal shows it.
pub fn render_reply(reply: &Reply, strings: &Strings) -> String {
    reply
        .messages
        .iter()
        .map(|m| {
            let labels: Vec<String> = m.choices.iter().map(|c| c.label.clone()).collect();
            render::plain(&m.markdown, &labels, m.step_label.as_deref(), strings)
        })
        .filter(|text| !text.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// What is written to the terminal: rendered, then stripped of control sequences.
fn render_outcome(outcome: &Outcome, strings: &Strings) -> String {
    let text = match outcome {
        Outcome::Reply(reply) => render_reply(reply, strings),
        Outcome::Notice(text) => text.clone(),
        Outcome::Silent => return String::new(),
    };
    printable(&text)
}

/// `text` without terminal control: escape sequences (CSI, OSC, DCS… in their 7-bit and 8-bit
/// forms) are removed whole, other control characters but newline and tab dropped. Replies
/// carry knowledge-base text and echoed user text (`@INPUT`); raw, `ESC ] 0 ; … BEL` would
/// retitle the terminal and others can move the cursor, recolour, or worse.
pub fn printable(text: &str) -> String {
    /// How a sequence started by ESC or a C1 character ends.
    #[derive(Clone, Copy, PartialEq)]
    enum Skip {
        /// Plain text.
        None,
        /// CSI: parameters, then one final character in `@`..=`~`.
        Csi,
        /// OSC, DCS, SOS, PM, APC: a string ended by BEL or ST (`ESC \` or U+009C).
        Text,
        /// After ESC: what it introduces.
        Escape,
        /// Inside a string sequence, after an ESC that may be the start of ST.
        TextEscape,
    }
    let mut out = String::with_capacity(text.len());
    let mut skip = Skip::None;
    for c in text.chars() {
        skip = match skip {
            Skip::None => match c {
                '\u{1b}' => Skip::Escape,
                '\u{9b}' => Skip::Csi,
                '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => Skip::Text,
                '\n' | '\t' => {
                    out.push(c);
                    Skip::None
                }
                c if c.is_control() => Skip::None,
                c => {
                    out.push(c);
                    Skip::None
                }
            },
            Skip::Escape => match c {
                '[' => Skip::Csi,
                ']' | 'P' | 'X' | '^' | '_' => Skip::Text,
                // A two-character escape (`ESC c` resets the terminal): both dropped.
                _ => Skip::None,
            },
            Skip::Csi => {
                if ('@'..='~').contains(&c) {
                    Skip::None
                } else {
                    Skip::Csi
                }
            }
            Skip::Text => match c {
                '\u{7}' | '\u{9c}' => Skip::None,
                '\u{1b}' => Skip::TextEscape,
                _ => Skip::Text,
            },
            Skip::TextEscape => match c {
                '\\' => Skip::None,
                '\u{1b}' => Skip::TextEscape,
                _ => Skip::Text,
            },
        };
    }
    out
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
    // The engine of this moment: a reload may change the strings.
    let render = |outcome: &Outcome| render_outcome(outcome, ctx.bot.engine().strings());
    writeln!(output, "{}", render(&welcome))?;
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
    let mut input = input;
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        if input.read_until(b'\n', &mut bytes)? == 0 || ctx.is_shutting_down() {
            break;
        }
        // One line that is not UTF-8 (a paste in another encoding, a stray binary) is skipped
        // with a word on stderr; it used to end the chat, and the terminal daemon with it.
        let Ok(line) = std::str::from_utf8(&bytes) else {
            tracing::warn!("terminal: skipped an input line that is not UTF-8 text");
            prompt(&mut output)?;
            continue;
        };
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
        let rendered = render(&outcome);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 14, item 13: ESC/OSC sequences from content or users reached the terminal raw.
    #[test]
    fn control_sequences_are_removed_whole() {
        let cases = [
            ("plain\ttext\nline", "plain\ttext\nline"),
            ("a\u{1b}]0;owned\u{7}b", "ab"),
            (
                "a\u{1b}]8;;https://evil.example\u{1b}\\lien\u{1b}]8;;\u{1b}\\b",
                "alienb",
            ),
            ("\u{1b}[2J\u{1b}[1;31mrouge\u{1b}[0m", "rouge"),
            ("\u{9b}31mx\u{9d}title\u{9c}y", "xy"),
            ("\u{1b}Pdevice\u{1b}\\z", "z"),
            ("reset\u{1b}c!", "reset!"),
            ("bell\u{7} back\u{8}space\r", "bell backspace"),
            ("élève · 🖼️", "élève · 🖼️"),
        ];
        for (text, expected) in cases {
            assert_eq!(printable(text), expected, "{text:?}");
        }
    }
}
