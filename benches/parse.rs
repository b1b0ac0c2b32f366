//! Parse time of knowledge bases: a real-sized one (~15 KB) and a generated 5 MB one.

#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmark set-up fails loudly

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

/// A base in the shape of a real staff bot: role choices, conditions, keywords, boxes.
fn generated_base(target_bytes: usize) -> String {
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

fn bench_parse(c: &mut Criterion) {
    let small = generated_base(15 * 1024);
    let large = generated_base(5 * 1024 * 1024);
    c.bench_function("parse 15 KB base", |b| {
        b.iter(|| guichet::kb::parse_str("small.md", black_box(&small)))
    });
    let mut group = c.benchmark_group("large");
    group.sample_size(10);
    group.bench_function("parse 5 MB base", |b| {
        b.iter(|| guichet::kb::parse_str("large.md", black_box(&large)))
    });
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
