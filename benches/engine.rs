//! Per-query engine time (`Engine::reply` on a typed message, from a fresh conversation): on
//! the golden bases, and on generated bases of 50 to 10,000 responses with content search
//! off and on, for every matching mode; the exhaustive scoring (ChatMD's way) up to 2,000
//! responses for comparison. Tail latencies and memory: `benches/latency.rs`,
//! `benches/memory.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmark set-up fails loudly

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use guichet::engine::{Conversation, Engine, Input, MatchingMode, Rng, Scoring};

#[path = "support/engines.rs"]
mod engines;
#[path = "support/generate.rs"]
mod generate;

use engines::{EXHAUSTIVE_UP_TO, MODES, SIZES, engine_for};

/// Distinct queries cycled through by each benchmark.
const QUERIES: usize = 500;

fn bench_queries(c: &mut Criterion, label: &str, engine: &Engine, queries: &[String]) {
    let mut rng = Rng::seeded(1);
    let mut start = Conversation::default();
    engine.reply(&mut start, Input::Start, &mut rng);
    let mut i = 0;
    c.bench_function(label, |b| {
        b.iter(|| {
            let mut conversation = start.clone();
            let query = &queries[i % queries.len()];
            i += 1;
            black_box(engine.reply(&mut conversation, Input::Text(query.clone()), &mut rng));
        })
    });
}

fn golden(c: &mut Criterion) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/golden/");
    for name in ["mediatheque", "aide-info-on", "aide-info-off"] {
        let text = std::fs::read_to_string(format!("{dir}{name}.md")).expect("golden base");
        let cases = std::fs::read_to_string(format!(
            "{dir}{}.cases.json",
            name.trim_end_matches("-on").trim_end_matches("-off")
        ))
        .expect("golden cases");
        let cases: Vec<serde_json::Value> = serde_json::from_str(&cases).expect("json");
        let queries: Vec<String> = cases
            .iter()
            .filter_map(|c| c["input"].as_str().map(str::to_string))
            .collect();
        let engine = engine_for(&text, MatchingMode::Chatmd, Scoring::Indexed);
        bench_queries(c, &format!("query/golden/{name}"), &engine, &queries);
    }
}

fn generated(c: &mut Criterion) {
    for content_search in [false, true] {
        let setting = if content_search { "on" } else { "off" };
        for &n in SIZES {
            let base = generate::base(n, 42, content_search);
            let queries = generate::queries(&base, QUERIES, 7);
            for &(name, mode) in MODES {
                let engine = engine_for(&base.text, mode, Scoring::Indexed);
                let label = format!("query/{name}/content-search-{setting}/{n}");
                bench_queries(c, &label, &engine, &queries);
            }
            if n <= EXHAUSTIVE_UP_TO {
                let engine = engine_for(&base.text, MatchingMode::Chatmd, Scoring::Exhaustive);
                let label = format!("query/exhaustive/content-search-{setting}/{n}");
                bench_queries(c, &label, &engine, &queries);
            }
        }
    }
}

criterion_group! {
    name = benches;
    // Modest samples: the machine is shared, and the tails are measured in `latency`.
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = golden, generated
}
criterion_main!(benches);
