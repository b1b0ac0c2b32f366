//! Per-query engine time: on the golden bases, and on generated bases with content search on
//! and off.

#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmark set-up fails loudly

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use guichet::engine::{Conversation, Engine, Input, MatchingMode, Rng};
use guichet::strings::Strings;

#[path = "support/generate.rs"]
mod generate;

fn engine_for(name: &str, text: &str) -> Engine {
    let checked = guichet::kb::parse_str(name, text);
    let kb = checked.kb.expect("generated bases parse");
    Engine::new(Arc::new(kb), MatchingMode::Chatmd, Strings::default())
}

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
        bench_queries(
            c,
            &format!("query/golden/{name}"),
            &engine_for(name, &text),
            &queries,
        );
    }
}

fn generated(c: &mut Criterion) {
    for n in [50, 2000] {
        for content_search in [false, true] {
            let base = generate::base(n, 42, content_search);
            let queries = generate::queries(&base, 500, 7);
            let engine = engine_for("generated.md", &base.text);
            let label = format!(
                "query/generated/{n}/content-search-{}",
                if content_search { "on" } else { "off" }
            );
            bench_queries(c, &label, &engine, &queries);
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = golden, generated
}
criterion_main!(benches);
