//! Memory of a loaded knowledge base: every heap byte the parsed model and the engine keep
//! allocated, counted by a global allocator wrapper, for generated bases of 10,000 responses
//! (issue 9: at most 10 × the file size). `cargo bench --bench memory` prints a Markdown
//! table. The count is of bytes requested from the allocator; its own per-block overhead
//! (8–16 bytes a block with glibc) comes on top.

#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmark set-up fails loudly

use std::alloc::System;
use std::sync::Arc;

use cap::Cap;
use guichet::engine::{Engine, MatchingMode, Scoring};
use guichet::strings::Strings;

#[path = "support/generate.rs"]
mod generate;

/// Counts live heap bytes; no limit.
#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Live bytes of a base loaded from `text` as the daemon loads it: the parsed model with its
/// sources, the model once they are released, and model plus engine.
fn measure(text: &str, mode: MatchingMode, scoring: Scoring) -> (usize, usize, usize) {
    let start = ALLOCATOR.allocated();
    let mut kb = {
        // `kb::load` keeps only the model; the checker's copy of the files goes.
        let checked = guichet::kb::parse_str("generated.md", text);
        checked.kb.expect("generated bases parse")
    };
    let with_sources = ALLOCATOR.allocated() - start;
    kb.release_source_text();
    let model = ALLOCATOR.allocated() - start;
    let engine = Engine::with_scoring(Arc::new(kb), mode, Strings::default(), scoring);
    let total = ALLOCATOR.allocated() - start;
    drop(engine);
    (with_sources, model, total)
}

fn main() {
    // `cargo bench` passes `--bench`; there is nothing to filter, everything runs.
    println!(
        "| 10,000 responses | file | model with sources | model | index | loaded total | × file |"
    );
    println!("|---|---|---|---|---|---|---|");
    for content_search in [false, true] {
        let base = generate::base(10_000, 42, content_search);
        let file = base.text.len();
        for (label, mode, scoring) in [
            ("guichet mode", MatchingMode::Guichet, Scoring::Indexed),
            ("chatmd mode", MatchingMode::Chatmd, Scoring::Indexed),
            (
                "chatmd mode, exhaustive (reference)",
                MatchingMode::Chatmd,
                Scoring::Exhaustive,
            ),
        ] {
            let (with_sources, model, total) = measure(&base.text, mode, scoring);
            println!(
                "| content search {}, {label} | {} | {} | {} | {} | {} | {:.1} |",
                if content_search { "on" } else { "off" },
                mib(file),
                mib(with_sources),
                mib(model),
                mib(total - model),
                mib(total),
                total as f64 / file as f64,
            );
        }
    }
}
