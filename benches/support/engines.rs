//! What the query benchmarks (`engine`, `latency`) measure, in one place so that they measure
//! the same modes and sizes: matching modes, base sizes, and how an engine is built from a
//! base's text. Not part of the daemon: benches include it with `#[path]`.

#![allow(dead_code)] // each bench uses part of it

use std::sync::Arc;

use guichet::engine::{Engine, MatchingMode, Scoring};
use guichet::strings::Strings;

/// Matching modes to measure; a new mode is one more entry.
pub const MODES: &[(&str, MatchingMode)] = &[
    ("chatmd", MatchingMode::Chatmd),
    ("guichet", MatchingMode::Guichet),
];

/// Base sizes of issue 9.
pub const SIZES: &[usize] = &[50, 500, 2_000, 10_000];

/// The exhaustive reference grows linearly; beyond this it only slows the run down.
pub const EXHAUSTIVE_UP_TO: usize = 2_000;

/// The engine for a base, with the given matching mode and scoring.
pub fn engine_for(text: &str, mode: MatchingMode, scoring: Scoring) -> Engine {
    let kb = guichet::kb::parse_str("generated.md", text)
        .kb
        .expect("benchmark bases parse");
    Engine::with_scoring(Arc::new(kb), mode, Strings::default(), scoring)
}
