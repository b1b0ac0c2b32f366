//! Load time of knowledge bases: parsing (with `guichet check`'s lints, as `kb::load` runs
//! them) and parsing plus building the engine's index, for a ~15 KB base and a ~5 MB one,
//! content search off and on; and the index alone at 10,000 responses. The result is kept
//! by a daemon, so dropping it is not timed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmark set-up fails loudly

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use guichet::engine::{Engine, MatchingMode};
use guichet::strings::Strings;

#[path = "support/engines.rs"]
mod engines;
#[path = "support/generate.rs"]
mod generate;

// Matching modes whose index is built: the same as the query benchmarks measure.
use engines::MODES;

/// A base in the shape of a real staff bot: role choices, conditions, keywords, boxes.
fn conditional_base(target_bytes: usize) -> String {
    let mut text = String::from(
        "---\ncontenuDynamique: true\nrechercheContenu: true\n---\n# Aide\nBonjour, qui êtes-vous ?\n1. [Enseignant @role=prof](Menu 0)\n2. [Direction @role=direction](Menu 0)\n",
    );
    let mut i = 0;
    while text.len() < target_bytes {
        let next = i + 1;
        text.push_str(&format!(
            "## Menu {i}\n- campagne numéro {i}\n- code parcours {i}\n- ! pas la campagne {i}\n`if @role==prof`\n**Comment créer la campagne {i} ?**\n:::info collapsible Détails\nOuvrez Pix Orga, puis l'onglet *Campagnes* et suivez les étapes {i}.\n:::\n`endif`\n`if @role==direction`\nActivez l'espace et invitez les membres de l'équipe ({i}).\n`endif`\nVoir aussi [la suite](#Menu-{next}).\n1. [Suite](Menu {next})\n2. [Retour]()\n\n"
        ));
        i += 1;
    }
    text
}

fn load(text: &str, mode: MatchingMode) -> Engine {
    let mut kb = guichet::kb::parse_str("base.md", text).kb.unwrap();
    // As the daemon does once the diagnostics are counted.
    kb.release_source_text();
    Engine::new(Arc::new(kb), mode, Strings::default())
}

fn bench_load(c: &mut Criterion) {
    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    for (size, bytes) in [("15 KB", 15 * 1024), ("5 MB", 5 * 1024 * 1024)] {
        for content_search in [false, true] {
            let setting = if content_search { "on" } else { "off" };
            let text = generate::base_of_size(bytes, 42, content_search).text;
            group.bench_function(format!("parse {size} content-search-{setting}"), |b| {
                b.iter_with_large_drop(|| guichet::kb::parse_str("base.md", black_box(&text)))
            });
            for &(name, mode) in MODES {
                group.bench_function(
                    format!("parse+index {name} {size} content-search-{setting}"),
                    |b| b.iter_with_large_drop(|| load(black_box(&text), mode)),
                );
            }
        }
        let text = conditional_base(bytes);
        group.bench_function(format!("parse {size} conditional"), |b| {
            b.iter_with_large_drop(|| guichet::kb::parse_str("base.md", black_box(&text)))
        });
    }
    for content_search in [false, true] {
        let setting = if content_search { "on" } else { "off" };
        let text = generate::base(10_000, 42, content_search).text;
        let kb = Arc::new(guichet::kb::parse_str("base.md", &text).kb.unwrap());
        for &(name, mode) in MODES {
            group.bench_function(
                format!("index {name} 10000 responses content-search-{setting}"),
                |b| {
                    b.iter_with_large_drop(|| {
                        Engine::new(Arc::clone(&kb), mode, Strings::default())
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench_load);
criterion_main!(benches);
