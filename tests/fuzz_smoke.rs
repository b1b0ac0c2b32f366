//! The fuzz targets' bodies (`fuzz/targets.rs`) in every `cargo test`: each runs on its saved
//! corpus (`fuzz/corpus/<target>/`, seeds and anything a fuzzing run found worth keeping)
//! and on inputs mutated from it with a fixed seed. Coverage-guided fuzzing runs the same
//! bodies for as long as one likes: `fuzz/README.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::{Path, PathBuf};

use guichet::engine::Rng;

/// Mutated inputs per target and seed: enough to reach odd corners of each parser, few enough
/// for a debug build in CI.
const MUTATIONS: usize = 250;
/// Inputs are cut to this size, as the fuzzing runs' `-max_len`.
const MAX_LEN: usize = 64 * 1024;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no seed", dir.display());
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

/// A few byte-level edits of `seed`, spliced with `other`: what a fuzzer's first mutations
/// do, without its coverage feedback.
fn mutate(seed: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    const INTERESTING: &[&[u8]] = &[
        b"\0",
        b"\n",
        b"`",
        b"@",
        b"[",
        b"](",
        b"## ",
        b"# ",
        b"---\n",
        b"`if ",
        b"`endif`",
        b"calc(",
        b"((((",
        b"\xff",
        b"\xc3",
        b"1. [",
        b"include:\n  - a.md\n",
        b"&&",
        b"||",
        b"\"",
        b"=",
        b"[matrix]\n",
        b"_file = \"",
        b"!Next:",
    ];
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = if data.is_empty() {
            0
        } else {
            rng.below(data.len() + 1)
        };
        match rng.below(5) {
            0 if !data.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(data.len());
                data.drain(at.min(end)..end);
            }
            1 => {
                let token = INTERESTING[rng.below(INTERESTING.len())];
                data.splice(at..at, token.iter().copied());
            }
            2 if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(256)).min(other.len());
                data.splice(at..at, other[from..end].iter().copied());
            }
            3 if !data.is_empty() => {
                // Repeat a chunk: nesting, long lines, many entries.
                let end = (at + 1 + rng.below(32)).min(data.len());
                let chunk: Vec<u8> = data[at.min(end)..end].to_vec();
                for _ in 0..rng.below(64) {
                    data.splice(at..at, chunk.iter().copied());
                }
            }
            _ if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            _ => data.push(b'x'),
        }
    }
    data.truncate(MAX_LEN);
    data
}

fn run(target: &str, body: impl Fn(&[u8])) {
    let seeds = corpus(target);
    let mut rng = Rng::seeded(0x6775_6963);
    for (i, seed) in seeds.iter().enumerate() {
        body(seed);
        let other = &seeds[(i + 1) % seeds.len()];
        for _ in 0..MUTATIONS {
            body(&mutate(seed, other, &mut rng));
        }
    }
}

#[test]
fn kb_with_includes_survives_its_corpus_and_mutations() {
    let dir = tempfile::tempdir().unwrap();
    run("kb_with_includes", |data| {
        targets::kb_with_includes(dir.path(), data)
    });
}

#[test]
fn expression_survives_its_corpus_and_mutations() {
    run("expression", targets::expression);
}

#[test]
fn engine_turns_survive_their_corpus_and_mutations() {
    run("engine_turns", targets::engine_turns);
}

#[test]
fn config_survives_its_corpus_and_mutations() {
    run("config", targets::config);
}
