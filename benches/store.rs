//! SQLite state store figures (issue 9): the file size of 10,000 stored conversations (at
//! most 20 MB) and the time of one message's state read + write (at most 1 ms at the 99th
//! percentile), as `Bot::handle` and the adapters do it: load and decode the conversation,
//! then encode it and save it with the event claim, in one transaction.
//!
//! Conversations are real engine states: a few turns each on a generated base with
//! variables and choices. `cargo bench --bench store` prints a Markdown table.

#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmark set-up fails loudly

use std::sync::Arc;
use std::time::Instant;

use guichet::engine::{Conversation, Engine, Input, MatchingMode, Rng};
use guichet::store::{ConversationKey, SqliteStore, StateStore, StoredConversation};
use guichet::strings::Strings;

#[path = "support/stats.rs"]
mod stats;
use stats::percentile;

#[path = "support/generate.rs"]
mod generate;

const CONVERSATIONS: usize = 10_000;
const MESSAGES: usize = 5_000;

/// Matrix rooms and direct messages, Discord channels: the keys adapters use.
fn key(i: usize) -> ConversationKey {
    match i % 3 {
        0 => ConversationKey::direct("matrix", format!("@agent{i}:education.gouv.fr")),
        1 => ConversationKey::new(
            "matrix",
            format!("!salle{}:education.gouv.fr", i % 97),
            format!("@agent{i}:education.gouv.fr"),
        ),
        _ => ConversationKey::new(
            "discord",
            format!("{}", 1_180_000_000_000_000_000_u64 + (i % 53) as u64),
            format!("{}", 900_000_000_000_000_000_u64 + i as u64),
        ),
    }
}

fn main() {
    let base = generate::base(200, 42, false);
    let kb = guichet::kb::parse_str("generated.md", &base.text)
        .kb
        .expect("generated bases parse");
    let engine = Engine::new(Arc::new(kb), MatchingMode::Chatmd, Strings::default());
    let queries = generate::queries(&base, 400, 3);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite3");
    let store = SqliteStore::open(&path).unwrap();
    let mut rng = Rng::seeded(5);
    let mut sizes = 0;
    for i in 0..CONVERSATIONS {
        let mut conversation = Conversation::default();
        engine.reply(&mut conversation, Input::Start, &mut rng);
        for _ in 0..1 + rng.below(4) {
            let query = queries[rng.below(queries.len())].clone();
            engine.reply(&mut conversation, Input::Message(query), &mut rng);
        }
        let data = conversation.to_json();
        sizes += data.len();
        let stored = StoredConversation::new(data, 1_700_000_000_000 + i as i64);
        store
            .commit_turn(
                &key(i),
                &stored,
                &format!("$event{i}"),
                "",
                1_700_000_000_000,
            )
            .unwrap();
        store
            .mark_sent(&key(i).platform, &format!("$event{i}"))
            .unwrap();
    }
    store.flush().unwrap();
    let file_size = |suffix: &str| {
        std::fs::metadata(dir.path().join(format!("state.sqlite3{suffix}"))).map_or(0, |m| m.len())
    };
    let on_disk = file_size("") + file_size("-wal") + file_size("-shm");

    // One message: read and decode the state, then encode and write it with its event and its
    // queued reply, and take the reply out of the queue once "sent" (the outbox's two writes).
    let mut times = Vec::with_capacity(MESSAGES);
    for m in 0..MESSAGES {
        let key = key(rng.below(CONVERSATIONS));
        let began = Instant::now();
        let stored = store.load(&key).unwrap().expect("stored above");
        let mut conversation = Conversation::from_json(&stored.data).expect("written above");
        conversation.updated_at += 1;
        let stored = StoredConversation::new(conversation.to_json(), conversation.updated_at);
        let event = format!("$message{m}");
        let reply = r#"{"room":"!room:example.org","text":"Voici la réponse, avec ses choix."}"#;
        let claimed = store
            .commit_turn(&key, &stored, &event, reply, 1_700_000_000_001)
            .unwrap();
        store.mark_sent(&key.platform, &event).unwrap();
        times.push(began.elapsed().as_secs_f64() * 1e6);
        assert!(claimed);
    }
    times.sort_by(f64::total_cmp);

    println!("| SQLite state store | figure |");
    println!("|---|---|");
    println!(
        "| {CONVERSATIONS} conversations on disk (database + WAL, after a checkpoint) | {:.1} MB ({:.0} bytes each; JSON {:.0} bytes each) |",
        on_disk as f64 / 1e6,
        on_disk as f64 / CONVERSATIONS as f64,
        sizes as f64 / CONVERSATIONS as f64,
    );
    println!(
        "| state read + write per message ({MESSAGES} messages): p50 / p99 / p99.9 / max | {:.0} µs / {:.0} µs / {:.0} µs / {:.0} µs |",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        percentile(&times, 0.999),
        percentile(&times, 1.0),
    );
}
