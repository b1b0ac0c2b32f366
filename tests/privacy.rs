//! Privacy (issue 14, item 8): what people type is not kept in the state store.
//!
//! A conversation runs through the real SQLite store, then the database files are read
//! byte by byte: the typed text must not be anywhere in them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::Path;
use std::sync::Arc;

use guichet::engine::{Answer, Engine, Input, MatchingMode, Rng};
use guichet::service::{Bot, DEFAULT_IDLE_RESET};
use guichet::store::{ConversationKey, SqliteStore};
use guichet::strings::Strings;

/// A role menu, a free-text question (`!Next … / ignoreKeywords`, ChatMD's way to capture an
/// answer in `@INPUT`) whose answer echoes it, and a condition on `@INPUT`.
const BASE: &str = "---
contenuDynamique: true
---
# Accueil
Bonjour, qui êtes-vous ?
1. [Professeur @role=prof](Question)

## Question
- question
Quel est votre souci ?
!Next: Réponse / ignoreKeywords

## Réponse
- réponse
Vous avez écrit : `@INPUT`. Merci !
`if @INPUT.includes(\"urgent\")`
Nous vous rappelons dans l'heure.
`endif`
";

fn bot(path: &Path, mode: MatchingMode) -> Bot {
    let checked = guichet::kb::parse_str("privacy.md", BASE);
    let kb = checked.kb.expect("the test base loads");
    let engine = Engine::new(Arc::new(kb), mode, Strings::default());
    Bot::new(
        engine,
        Arc::new(SqliteStore::open(path).unwrap()),
        DEFAULT_IDLE_RESET,
    )
}

/// Every byte SQLite wrote for the database: the file and, if still there, its WAL.
fn database_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("state.sqlite")
        {
            bytes.extend(std::fs::read(entry.path()).unwrap());
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[test]
fn typed_messages_are_not_in_the_state_database() {
    for mode in [MatchingMode::Guichet, MatchingMode::Chatmd] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        let key = ConversationKey::new("matrix", "!salle:example.org", "@ana:example.org");
        let mut rng = Rng::seeded(7);
        {
            let bot = bot(&path, mode);
            bot.handle(&key, Input::Start, 1_000, &mut rng).unwrap();
            let question = bot.handle(&key, Input::Pick(0), 2_000, &mut rng).unwrap();
            assert_eq!(question.answer, Answer::Response("Question".into()));
            // The answer is echoed and tested during its own turn, as ChatMD does.
            let reply = bot
                .handle(
                    &key,
                    Input::Message("urgent : mon badge zorglub est bloqué".into()),
                    3_000,
                    &mut rng,
                )
                .unwrap();
            assert_eq!(reply.answer, Answer::Response("Réponse".into()), "{mode:?}");
            let text = &reply.messages[0].markdown;
            assert!(
                text.contains("mon badge zorglub est bloqué"),
                "{mode:?}: {text}"
            );
            assert!(text.contains("rappelons dans l'heure"), "{mode:?}: {text}");
            // A free question that nothing answers.
            bot.handle(
                &key,
                Input::Message("où est la salle xylophage ?".into()),
                4_000,
                &mut rng,
            )
            .unwrap();
            let stored = bot.store().load(&key).unwrap().unwrap();
            assert!(!stored.data.contains("INPUT"), "{mode:?}: {}", stored.data);
            assert!(
                stored.data.contains("prof"),
                "the role is kept: {}",
                stored.data
            );
            // Still open: the last commits may sit in the WAL, read below too.
            let bytes = database_bytes(dir.path());
            assert!(
                contains(&bytes, "prof"),
                "{mode:?}: the files read hold the state"
            );
            for typed in ["zorglub", "xylophage"] {
                assert!(
                    !contains(&bytes, typed),
                    "{mode:?}: `{typed}` is in the database"
                );
            }
        }
        // Closed: everything is in the database file.
        let bytes = database_bytes(dir.path());
        assert!(contains(&bytes, "prof"), "{mode:?}");
        for typed in ["zorglub", "xylophage"] {
            assert!(
                !contains(&bytes, typed),
                "{mode:?}: `{typed}` is in the database"
            );
        }
    }
}
