//! The SQLite state store through a `kill -9`: every conversation, event claim and queued
//! reply reported committed before the kill is there, intact, when the store is reopened, and
//! every reply reported sent has left the queue.
//!
//! The test binary re-executes itself: the parent runs `sqlite_store_survives_kill_9`, the
//! child runs the ignored `crash_child_writes_until_killed`, selected with `--exact`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use guichet::store::{ConversationKey, SqliteStore, StateStore, StoredConversation};

/// Set in the child's environment to the database path; its absence means "not the child".
const CHILD_DATABASE_VAR: &str = "GUICHET_CRASH_TEST_DATABASE";
const CHILD_TEST_NAME: &str = "crash_child_writes_until_killed";

/// Overwrites spread over this many users, so a reopen checks both new rows and updates.
const USERS: u64 = 64;
/// Kill once the child reports this many commits.
const KILL_AFTER_COMMITS: u64 = 300;
/// The child must reach the kill point within this time, or the test fails instead of hanging.
const CHILD_DEADLINE: Duration = Duration::from_secs(30);

fn key_for(turn: u64) -> ConversationKey {
    ConversationKey::new(
        "matrix",
        "!crash:example.org",
        format!("@user{}:x", turn % USERS),
    )
}

fn event_for(turn: u64) -> String {
    format!("$event{turn}")
}

fn reply_for(turn: u64) -> String {
    format!(r#"{{"room":"!crash:example.org","text":"réponse {turn}"}}"#)
}

/// Deterministic data of varying size (up to ~40 KB, so many pages per commit and WAL
/// checkpoints during the run): the reopened value can be compared byte for byte.
fn data_for(turn: u64) -> String {
    let padding_len = usize::try_from((turn * 7919) % 40_000).unwrap_or(0);
    let padding: String = (0..padding_len)
        .map(|index| char::from(b'a' + u8::try_from((index as u64 + turn) % 26).unwrap_or(0)))
        .collect();
    format!(r#"{{"turn":{turn},"padding":"{padding}"}}"#)
}

fn turn_of(data: &str) -> Option<u64> {
    let rest = data.strip_prefix(r#"{"turn":"#)?;
    let end = rest.find(',')?;
    rest[..end].parse().ok()
}

/// The child: commits turns in a tight loop, each with its event claim and its reply in one
/// transaction, marks the replies of even turns sent (an adapter that crashes before marking
/// leaves the odd ones queued), and reports each turn once that is done.
#[test]
#[ignore = "run only as the child of sqlite_store_survives_kill_9"]
fn crash_child_writes_until_killed() {
    // `cargo test -- --include-ignored` runs this too: without a parent there is nothing to do.
    let Some(path) = std::env::var_os(CHILD_DATABASE_VAR) else {
        eprintln!("{CHILD_TEST_NAME} only writes when sqlite_store_survives_kill_9 runs it");
        return;
    };
    let store = SqliteStore::open(&path).expect("the child opens the store");
    let mut stdout = std::io::stdout().lock();
    // libtest may have printed "test … " without a newline: start the reports on a fresh line.
    writeln!(stdout).expect("stdout is the parent's pipe");
    for turn in 0.. {
        let conversation = StoredConversation::new(data_for(turn), 1_000 + turn as i64);
        let applied = store
            .commit_turn(
                &key_for(turn),
                &conversation,
                &event_for(turn),
                &reply_for(turn),
                turn as i64,
            )
            .expect("the child saves");
        assert!(applied, "turn {turn} claimed twice");
        if turn % 2 == 0 {
            store
                .mark_sent("matrix", &event_for(turn))
                .expect("the child marks a reply sent");
        }
        writeln!(stdout, "committed {turn}").expect("stdout is the parent's pipe");
        stdout.flush().expect("stdout is the parent's pipe");
    }
}

/// Kills and reaps the child however the test ends, so a failed assertion leaves no writer.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_child(database: &Path) -> ChildGuard {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let child = Command::new(test_binary)
        .args([
            CHILD_TEST_NAME,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DATABASE_VAR, database)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the child starts");
    ChildGuard(child)
}

/// Forwards the child's reported turns; the channel closes when its stdout does.
fn read_reports(child: &mut ChildGuard) -> mpsc::Receiver<u64> {
    let stdout = child.0.stdout.take().expect("stdout was piped");
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(turn) = line.strip_prefix("committed ") {
                let turn = turn.parse().expect("the child reports a number");
                if sender.send(turn).is_err() {
                    break;
                }
            }
        }
    });
    receiver
}

#[test]
fn sqlite_store_survives_kill_9() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let database = dir.path().join("state.sqlite3");
    let mut child = spawn_child(&database);
    let reports = read_reports(&mut child);

    let started = Instant::now();
    let mut last_reported: Option<u64> = None;
    while last_reported.is_none_or(|turn| turn + 1 < KILL_AFTER_COMMITS) {
        let remaining = CHILD_DEADLINE.saturating_sub(started.elapsed());
        match reports.recv_timeout(remaining) {
            Ok(turn) => {
                assert_eq!(
                    turn,
                    last_reported.map_or(0, |last| last + 1),
                    "turns in order"
                );
                last_reported = Some(turn);
            }
            Err(error) => {
                let status = child.0.try_wait();
                panic!("the child stopped after {last_reported:?} ({error}); status {status:?}");
            }
        }
    }

    child.0.kill().expect("SIGKILL the child");
    let status = child.0.wait().expect("reap the child");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(9),
            "killed mid-write, not exited: {status}"
        );
    }
    #[cfg(not(unix))]
    assert!(!status.success());
    // Reports still in the pipe were printed after a commit, so they count too.
    let drain_deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match reports.recv_timeout(drain_deadline.saturating_duration_since(Instant::now())) {
            Ok(turn) => last_reported = Some(turn),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("the child's stdout never closed"),
        }
    }
    let last_reported = last_reported.expect("the loop above saw reports");

    let store = SqliteStore::open(&database).expect("the store reopens after kill -9");
    let integrity: String = rusqlite::Connection::open(&database)
        .expect("a second connection")
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity_check runs");
    assert_eq!(integrity, "ok");

    // Each user's latest reported turn, or the one the child committed without reporting.
    assert_eq!(store.conversation_count().unwrap(), USERS as usize);
    for user_turn in last_reported.saturating_sub(USERS - 1)..=last_reported {
        let stored = store
            .load(&key_for(user_turn))
            .unwrap()
            .unwrap_or_else(|| panic!("turn {user_turn} lost"));
        let turn = turn_of(&stored.data).unwrap_or_else(|| panic!("turn {user_turn} mangled"));
        assert!(
            turn == user_turn || turn == user_turn + USERS && turn == last_reported + 1,
            "user of turn {user_turn} holds turn {turn}, last reported {last_reported}"
        );
        assert!(stored.data == data_for(turn), "turn {turn} data altered");
        assert_eq!(stored.updated_at, 1_000 + turn as i64);
    }
    for turn in 0..=last_reported {
        assert!(
            !store.claim_event("matrix", &event_for(turn), 0).unwrap(),
            "event of turn {turn} lost its claim: it would be answered twice"
        );
    }
    // The outbox: every odd reported turn still queued, intact and in order; no even one
    // (marked sent before it was reported); at most the unreported next turn beyond.
    let pending = store.pending_replies("matrix").unwrap();
    let queued: Vec<u64> = pending
        .iter()
        .map(|p| p.event_id.trim_start_matches("$event").parse().unwrap())
        .collect();
    let expected: Vec<u64> = (0..=last_reported).filter(|t| t % 2 == 1).collect();
    assert_eq!(
        &queued[..expected.len().min(queued.len())],
        expected.as_slice(),
        "queued replies lost or sent ones still queued"
    );
    assert!(
        queued.len() <= expected.len() + 1
            && queued[expected.len()..]
                .iter()
                .all(|&t| t == last_reported + 1),
        "only the unreported next turn may follow: {:?}",
        &queued[expected.len().min(queued.len())..]
    );
    for (reply, turn) in pending.iter().zip(&queued) {
        assert_eq!(
            reply.reply,
            reply_for(*turn),
            "reply of turn {turn} altered"
        );
    }
}
