//! `guichet replay`: feeds typed messages to the engine and writes what it answered, one JSON
//! line per message, in the terms of ChatMD's golden files. For content authors checking a
//! base against expectations, and for test harnesses.
//!
//! Input lines are either JSON `{"input": "…", "history": ["…"]}` (a fresh conversation:
//! the history is typed first, then the input) or plain text (continues the conversation).

use std::io::{BufRead, Write};

use serde::Serialize;

use crate::engine::{Answer, AnswerPath, Conversation, Engine, Input, Reply, Rng};
use crate::render;

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

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("replay: {0}")]
    Io(#[from] std::io::Error),
    #[error("replay: line {line}: {source}")]
    Json {
        line: usize,
        #[source]
        source: serde_json::Error,
    },
}

/// Rounds as the golden files do (6 decimals).
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn plain_text(reply: &Reply) -> String {
    reply
        .messages
        .iter()
        .map(|m| render::plain(&m.markdown, &[], m.step_label.as_deref()))
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
    for (number, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let (text, history) = if line.trim_start().starts_with('{') {
            let case: Case = serde_json::from_str(&line).map_err(|source| ReplayError::Json {
                line: number + 1,
                source,
            })?;
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
            text: plain_text(&reply),
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
