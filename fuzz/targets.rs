//! The bodies of the fuzz targets, shared by `fuzz/fuzz_targets/` (coverage-guided, with
//! cargo-fuzz) and `tests/fuzz_smoke.rs` (their saved corpus and seeded random inputs, in
//! every `cargo test`). Each takes arbitrary bytes and must return without a panic, a hang or
//! an unbounded allocation: that is the whole property.

// Each fuzz binary uses one of these bodies.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use guichet::engine::{Engine, Input, MatchingMode, Rng};
use guichet::strings::Strings;

/// Files of a knowledge base, separated by NUL bytes in the input: the main file, then the
/// files it may include as `a.md`, `b.md`, `c.md`.
const FILES: [&str; 4] = ["main.md", "a.md", "b.md", "c.md"];

/// Messages of a conversation after the base, one per line; a line `#n` is a click on choice
/// `n`. At most this many, so that one input stays one quick run.
const MAX_TURNS: usize = 16;

/// The knowledge base reader with includes: the input's parts are written as the files of a
/// base in `dir` (reused between runs), then read as `guichet check` and `serve` read them.
pub fn kb_with_includes(dir: &Path, data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    for name in FILES {
        let part = parts.next().unwrap_or("");
        if std::fs::write(dir.join(name), part).is_err() {
            return;
        }
    }
    if let Ok(checked) = guichet::kb::check_path(&dir.join("main.md")) {
        let _ = checked.report();
    }
}

/// The expression language of `if` blocks and `calc(…)`: parsed, then evaluated with a few
/// variables set.
pub fn expression(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let vars = |name: &str| match name {
        "role" => Some("prof".to_string()),
        "n" => Some("12".to_string()),
        "INPUT" => Some(text.chars().take(64).collect()),
        _ => None,
    };
    if let Ok(expr) = guichet::kb::expr::parse_condition(&text) {
        let _ = guichet::engine::eval::condition_holds(&expr, &vars);
    }
    if let Ok(expr) = guichet::kb::expr::parse_calc(&text) {
        let _ = guichet::engine::eval::evaluate_calc(&expr, &vars);
    }
}

/// One conversation: a base from the input (before the first NUL), then its messages, in
/// both matching modes.
pub fn engine_turns(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (base, messages) = text.split_once('\0').unwrap_or((&text, "bonjour\n1\nmenu"));
    let Some(kb) = guichet::kb::parse_str("fuzz.md", base).kb else {
        return;
    };
    let kb = Arc::new(kb);
    for mode in [MatchingMode::Guichet, MatchingMode::Chatmd] {
        let engine = Engine::new(kb.clone(), mode, Strings::default());
        let mut conversation = guichet::engine::Conversation::default();
        let mut rng = Rng::seeded(data.len() as u64);
        engine.reply(&mut conversation, Input::Start, &mut rng);
        for line in messages.lines().take(MAX_TURNS) {
            let input = match line.strip_prefix('#').and_then(|n| n.parse().ok()) {
                Some(n) => Input::Pick(n),
                None => Input::Message(line.to_string()),
            };
            engine.reply(&mut conversation, input, &mut rng);
            // What the store would keep must read back.
            let _ = guichet::engine::Conversation::from_json(&conversation.to_json());
        }
    }
}

/// The configuration reader: the input as `guichet.toml`, no environment.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = guichet::config::Settings::parse(
        &text,
        Path::new("fuzz.toml"),
        std::iter::empty::<(String, String)>(),
    );
}
