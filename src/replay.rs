//! `guichet replay`: feeds typed messages to the engine and writes what it answered, one JSON
//! line per message, in the terms of ChatMD's golden files. For content authors checking a
//! base against expectations, and for test harnesses.
//!
//! Input lines are either JSON `{"input": "…", "history": ["…"]}` (a fresh conversation:
//! the history is typed first, then the input) or plain text (continues the conversation).
//! A line that is neither (bad JSON, not UTF-8) gets `{"line": n, "error": "…"}` in its place
//! and the replay goes on: one mistake in a long file must not hide the answers after it.

use std::io::{BufRead, Write};

use serde::Serialize;

use crate::engine::{Answer, AnswerPath, Conversation, Engine, Input, Reply, Rng};
use crate::render;
use crate::strings::Strings;

#[derive(Debug, Serialize)]
struct Outcome<'a> {
    input: &'a str,
    answer: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    shown: Option<&'a str>,
    path: AnswerPath,
    score: f64,
    text: String,
    choices: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    history_answers: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
struct Case {
    input: String,
    #[serde(default)]
    history: Vec<String>,
}

/// What is written in place of a line that cannot be replayed.
#[derive(Debug, Serialize)]
struct Refused {
    line: usize,
    error: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("replay: {0}")]
    Io(#[from] std::io::Error),
}

/// Rounds as the golden files do (6 decimals).
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn plain_text(reply: &Reply, strings: &Strings) -> String {
    reply
        .messages
        .iter()
        .map(|m| render::plain(&m.markdown, &[], m.step_label.as_deref(), strings))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Replays every line of `input`; one JSON line per message on `output`.
pub fn run(
    engine: &Engine,
    input: impl BufRead,
    mut output: impl Write,
    seed: u64,
) -> Result<(), ReplayError> {
    let mut rng = Rng::seeded(seed);
    let mut conversation = Conversation::default();
    engine.reply(&mut conversation, Input::Start, &mut rng);
    let mut input = input;
    let mut bytes = Vec::new();
    let mut number = 0;
    loop {
        bytes.clear();
        if input.read_until(b'\n', &mut bytes)? == 0 {
            break;
        }
        number += 1;
        let refuse = |output: &mut dyn Write, error: String| -> std::io::Result<()> {
            // The error may quote the line, which is what someone typed: debug only.
            tracing::warn!(
                line = number,
                "replay: line skipped; its error is in the output"
            );
            tracing::debug!(line = number, %error, "replay: why the line was skipped");
            serde_json::to_writer(
                &mut *output,
                &Refused {
                    line: number,
                    error,
                },
            )
            .map_err(std::io::Error::from)?;
            writeln!(output)
        };
        let Ok(line) = std::str::from_utf8(&bytes) else {
            refuse(&mut output, "not UTF-8 text".to_string())?;
            continue;
        };
        let line = line.trim_end_matches(['\n', '\r']).to_string();
        if line.trim().is_empty() {
            continue;
        }
        let (text, history) = if line.trim_start().starts_with('{') {
            let case: Case = match serde_json::from_str(&line) {
                Ok(case) => case,
                Err(err) => {
                    refuse(&mut output, err.to_string())?;
                    continue;
                }
            };
            conversation = Conversation::default();
            engine.reply(&mut conversation, Input::Start, &mut rng);
            (case.input, case.history)
        } else {
            (line, Vec::new())
        };
        let history_answers = history
            .iter()
            .map(|step| {
                engine
                    .reply(&mut conversation, Input::Text(step.clone()), &mut rng)
                    .answer
                    .name()
                    .to_string()
            })
            .collect();
        let reply = engine.reply(&mut conversation, Input::Text(text.clone()), &mut rng);
        let shown = match &reply.answer {
            Answer::Fallback { shown } => shown.as_deref(),
            _ => None,
        };
        let outcome = Outcome {
            input: &text,
            answer: reply.answer.name(),
            shown,
            path: reply.path,
            score: round6(reply.score),
            text: plain_text(&reply, engine.strings()),
            choices: reply
                .messages
                .last()
                .map(|m| m.choices.iter().map(|c| c.label.as_str()).collect())
                .unwrap_or_default(),
            history_answers,
        };
        serde_json::to_writer(&mut output, &outcome).map_err(std::io::Error::from)?;
        writeln!(output)?;
    }
    Ok(())
}
