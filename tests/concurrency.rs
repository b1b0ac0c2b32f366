//! One turn at a time per conversation (issue 14, item 10): on Discord every event is its own
//! task, so two quick clicks of one person used to interleave, and the second save erased the
//! first. Here many threads send the turns of one conversation at once, through the same
//! `Bot` every adapter uses, on a real SQLite file: the state left is the one of running them
//! one after another, and no two turns draw the same random numbers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;

use guichet::engine::{Engine, Input, MatchingMode};
use guichet::service::{Bot, DEFAULT_IDLE_RESET};
use guichet::store::{ConversationKey, SqliteStore, StateStore};
use guichet::strings::Strings;

/// Each turn on `Compter` adds one to a counter kept in the conversation's state, and shows it.
const BASE: &str = "---\ncontenuDynamique: true\n---\n# Compteur\n`@n = 0`\nBienvenue\n\
    1. [Compter](Compter)\n\n## Compter\n- compter\n`@n = calc(@n + 1)`\nCompté : `@n`\n\
    1. [Compter](Compter)\n\n## Hasard\n- hasard\npile\n---\nface\n---\ntranche\n---\ndé\n";

const THREADS: usize = 4;
const TURNS_PER_THREAD: usize = 25;

fn bot(path: &std::path::Path) -> Bot {
    let kb = guichet::kb::parse_str("c.md", BASE).kb.unwrap();
    let engine = Engine::new(Arc::new(kb), MatchingMode::Guichet, Strings::default());
    let store: Arc<dyn StateStore> = Arc::new(SqliteStore::open(path).unwrap());
    Bot::new(engine, store, DEFAULT_IDLE_RESET)
}

fn counted(markdown: &str) -> usize {
    let value = markdown
        .split("Compté : ")
        .nth(1)
        .expect("the counter is shown");
    value.trim().parse().expect("a number")
}

#[test]
fn interleaved_turns_of_one_conversation_leave_the_sequential_state() {
    let dir = tempfile::tempdir().unwrap();
    let bot = Arc::new(bot(&dir.path().join("state.sqlite")));
    let key = ConversationKey::direct("discord", "42");
    bot.respond(&key, Input::Start, 1).unwrap();
    // Clicks and typed messages from several threads at once, all on one conversation.
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let bot = Arc::clone(&bot);
            let key = key.clone();
            std::thread::spawn(move || {
                (0..TURNS_PER_THREAD)
                    .map(|i| {
                        let input = if (t + i) % 2 == 0 {
                            Input::Pick(0)
                        } else {
                            Input::Message("compter".into())
                        };
                        let reply = bot.respond(&key, input, 2 + i as i64).unwrap();
                        counted(&reply.messages[0].markdown)
                    })
                    .collect::<Vec<usize>>()
            })
        })
        .collect();
    let mut seen: Vec<usize> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    seen.sort_unstable();
    // Run one after another, the turns count 1, 2, … 100: none saw another's state half
    // way, none was lost.
    let total = THREADS * TURNS_PER_THREAD;
    assert_eq!(seen, (1..=total).collect::<Vec<_>>());
    let reply = bot
        .respond(&key, Input::Message("compter".into()), 1_000)
        .unwrap();
    assert_eq!(counted(&reply.messages[0].markdown), total + 1);
}

#[test]
fn turns_running_at_once_draw_their_own_randomness() {
    let dir = tempfile::tempdir().unwrap();
    let bot = Arc::new(bot(&dir.path().join("state.sqlite")));
    bot.set_seed(7);
    // Four alternatives, 40 people at once: were every turn to start from the same copy of
    // the generator, they would all get the same one.
    let start = Arc::new(std::sync::Barrier::new(40));
    let threads: Vec<_> = (0..40)
        .map(|user| {
            let bot = Arc::clone(&bot);
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                let key = ConversationKey::direct("discord", user.to_string());
                start.wait();
                let reply = bot
                    .respond(&key, Input::Message("hasard".into()), 1)
                    .unwrap();
                reply.messages[0].markdown.clone()
            })
        })
        .collect();
    let mut drawn: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    drawn.sort();
    drawn.dedup();
    assert!(drawn.len() > 1, "every turn drew {drawn:?}");
}
