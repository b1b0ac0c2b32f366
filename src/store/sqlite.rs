//! SQLite state store: one file in `state_dir` that keeps every committed conversation through
//! a crash or a `kill -9` of the process.
//!
//! Durability: WAL journal with `synchronous = NORMAL`. A commit returns once its pages are
//! written into the WAL file, i.e. handed to the operating system; only checkpoints fsync.
//! The OS page cache outlives the process, so a crash or kill of guichet loses nothing
//! committed; an OS crash or power cut keeps the database consistent but may roll back the
//! last commits since the previous checkpoint (some positions revert, some events could be
//! answered again). `FULL` would fsync on every commit to close that window too; for a
//! chatbot, one fsync per message buys little, and the brief's guarantee is about the
//! process. Switch `SYNCHRONOUS` to `"FULL"` if machine crashes must be covered.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use tracing::{debug, info, warn};

use super::{
    ConversationKey, PendingReply, Result, StateStore, StoreError, StoredConversation, permissions,
};

/// "GUIC" in ASCII, stored in the file header: another program's SQLite database is refused
/// rather than getting our tables added to it.
const APPLICATION_ID: i32 = 0x4755_4943;

pub(crate) const SYNCHRONOUS: &str = "NORMAL";

/// Another process (a backup, `sqlite3` opened by an admin) may hold the lock briefly.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Every statement below is cached; this leaves room for all of them.
const STATEMENT_CACHE_CAPACITY: usize = 32;

/// How often the background checkpointer copies the WAL into the database file. At a
/// hundred messages a second the WAL then stays around a few megabytes.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// A safety net if the background checkpointer falls behind (a burst of writes): past this
/// many WAL pages (about 40 MB) a commit checkpoints by itself, as SQLite does by default at
/// 1,000 pages.
const INLINE_CHECKPOINT_PAGES: i64 = 10_000;

/// SQLite's own automatic checkpoint threshold, used when the checkpointer cannot run.
const DEFAULT_CHECKPOINT_PAGES: i64 = 1_000;

/// After a checkpoint has emptied it, the WAL file is truncated down to this size.
const WAL_SIZE_LIMIT: i64 = 8 * 1024 * 1024;

/// Schema migrations: step `n` (from 0) takes the schema from version `n` to `n + 1`, the
/// version being `PRAGMA user_version`. Append only: a released step is never edited.
const MIGRATIONS: &[&str] = &[
    // Version 1. Conversations keep a rowid because their data can span many pages;
    // the `updated_at` and `claimed_at` indexes serve the purges.
    "CREATE TABLE conversation (
        platform TEXT NOT NULL,
        scope TEXT NOT NULL,
        user_id TEXT NOT NULL,
        data TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (platform, scope, user_id)
    ) STRICT;
    CREATE INDEX conversation_by_updated_at ON conversation (updated_at);
    CREATE TABLE handled_event (
        platform TEXT NOT NULL,
        event_id TEXT NOT NULL,
        claimed_at INTEGER NOT NULL,
        PRIMARY KEY (platform, event_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX handled_event_by_claimed_at ON handled_event (claimed_at);
    CREATE TABLE meta (
        key TEXT NOT NULL PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;",
    // Version 2. Replies committed with their turn and not yet sent (the outbox); a rowid
    // keeps them in commit order.
    "CREATE TABLE outbox (
        platform TEXT NOT NULL,
        event_id TEXT NOT NULL,
        reply TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (platform, event_id)
    ) STRICT;
    CREATE INDEX outbox_by_created_at ON outbox (created_at);",
];

/// The state store on disk. One connection behind a mutex: writes are serialised anyway by
/// SQLite, and each call holds the lock for one short statement or transaction.
pub struct SqliteStore {
    /// Stopped (and joined) before the connection closes.
    checkpointer: Option<Checkpointer>,
    path: PathBuf,
    connection: Mutex<Connection>,
}

/// Copies the WAL into the database file from its own thread and connection. SQLite's
/// automatic checkpoint runs inside whichever commit crosses 1,000 WAL pages: with a few
/// pages per message, every ~170th message paid several milliseconds for it, which set the
/// 99th percentile of a state write (docs/performance.md). Here no message waits for it.
struct Checkpointer {
    stop: mpsc::Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the checkpointer for the database at `path`, or says why it could not.
    fn start(path: &Path) -> Option<Self> {
        let connection = Connection::open(path)
            .and_then(|connection| connection.busy_timeout(BUSY_TIMEOUT).map(|()| connection));
        let connection = match connection {
            Ok(connection) => connection,
            Err(error) => {
                warn!(path = %path.display(), %error, "state store checkpointer not started");
                return None;
            }
        };
        let (stop, stopped) = mpsc::channel::<()>();
        let thread_path = path.to_owned();
        let spawned = std::thread::Builder::new()
            .name("state-checkpoint".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_INTERVAL)
                {
                    // PASSIVE copies what it can without waiting for readers or writers.
                    let checkpoint =
                        connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    if let Err(error) = checkpoint {
                        debug!(path = %thread_path.display(), %error, "state store checkpoint skipped");
                    }
                }
            });
        match spawned {
            Ok(thread) => Some(Self {
                stop,
                thread: Some(thread),
            }),
            Err(error) => {
                warn!(path = %path.display(), %error, "state store checkpointer not started");
                None
            }
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("background_checkpoints", &self.checkpointer.is_some())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the store at `path`, creating the file and bringing its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        // Conversations are personal data: the folder and files are owner-only whatever the
        // umask (issue 14).
        let private = |path: &Path, source| StoreError::Permissions {
            path: path.to_owned(),
            source,
        };
        // The folder is not created here (`serve` creates `state_dir` owner-only): a path in
        // a missing folder is a configuration mistake, reported as such by SQLite below,
        // which also reports any reason this creation failed.
        if let Err(error) = permissions::create_private_file(path) {
            debug!(path = %path.display(), %error, "state store file not created in advance");
        }
        let mut connection = Connection::open(path).map_err(|source| open_error(path, source))?;
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|source| open_error(path, source))?;
        // Migrating first checks that the file is ours before anything changes it: the
        // journal mode set next is persistent, and must not be forced on another program's
        // database.
        migrate(&mut connection, path, MIGRATIONS)?;
        let wal = configure(&connection).map_err(|source| open_error(path, source))?;
        // After the migration checked the file is ours, and once WAL mode created its files:
        // a database from before this rule, or one whose files an admin copied, is tightened.
        permissions::restrict_database_files(path)
            .map_err(|(file, source)| private(&file, source))?;
        let checkpointer = wal.then(|| Checkpointer::start(path)).flatten();
        if wal && checkpointer.is_none() {
            // Without the background thread, commits checkpoint as SQLite does by default.
            connection
                .pragma_update(None, "wal_autocheckpoint", DEFAULT_CHECKPOINT_PAGES)
                .map_err(|source| open_error(path, source))?;
        }
        Ok(Self {
            checkpointer,
            path: path.to_owned(),
            connection: Mutex::new(connection),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn connection(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held dropped any open transaction, which rolls it back:
        // the connection is still sound, and refusing it would stop every adapter for good.
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn open_error(path: &Path, source: rusqlite::Error) -> StoreError {
    let path = path.to_owned();
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            StoreError::NotADatabase { path, source }
        }
        _ => StoreError::Open { path, source },
    }
}

/// Sets the connection up; returns whether the WAL journal is in use.
fn configure(connection: &Connection) -> rusqlite::Result<bool> {
    let mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    let wal = mode.eq_ignore_ascii_case("wal");
    if wal {
        // Checkpoints belong to the background checkpointer; commits only step in past the
        // safety net.
        connection.pragma_update(None, "wal_autocheckpoint", INLINE_CHECKPOINT_PAGES)?;
        connection.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    } else {
        // Some network file systems cannot share the WAL index; the rollback journal that
        // SQLite kept instead is slower but just as safe against a crash of the process.
        warn!(journal_mode = %mode, "state store could not switch to WAL journaling");
    }
    connection.pragma_update(None, "synchronous", SYNCHRONOUS)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(wal)
}

/// Brings the schema from its `user_version` to `steps.len()`, all steps in one transaction
/// so that a failed step leaves the file as it was.
fn migrate(connection: &mut Connection, path: &Path, steps: &[&str]) -> Result<()> {
    let supported = i64::try_from(steps.len()).unwrap_or(i64::MAX);
    // IMMEDIATE takes the write lock before reading the version: two processes opening a new
    // file at once cannot both migrate it.
    // The first statements to read the file header: a non-database fails here, untouched.
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|source| open_error(path, source))?;
    let read_header = || -> rusqlite::Result<(i64, i32, bool)> {
        let version = transaction.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let application_id =
            transaction.pragma_query_value(None, "application_id", |row| row.get(0))?;
        let has_schema =
            transaction.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_schema)", [], |row| {
                row.get(0)
            })?;
        Ok((version, application_id, has_schema))
    };
    let (found, application_id, has_schema) =
        read_header().map_err(|source| open_error(path, source))?;

    let is_new_file = found == 0 && application_id == 0 && !has_schema;
    if found < 0 || !(application_id == APPLICATION_ID || is_new_file) {
        return Err(StoreError::ForeignDatabase {
            path: path.to_owned(),
        });
    }
    if found > supported {
        return Err(StoreError::NewerSchema {
            path: path.to_owned(),
            found,
            supported,
        });
    }
    if found == supported {
        return Ok(());
    }

    let pending = steps
        .iter()
        .skip(usize::try_from(found).unwrap_or(usize::MAX));
    for (version, step) in (found + 1..).zip(pending) {
        transaction
            .execute_batch(step)
            .map_err(|source| StoreError::Migration {
                path: path.to_owned(),
                version,
                source,
            })?;
    }
    let finish = || -> rusqlite::Result<()> {
        transaction.pragma_update(None, "application_id", APPLICATION_ID)?;
        transaction.pragma_update(None, "user_version", supported)?;
        transaction.commit()
    };
    finish().map_err(|source| StoreError::Migration {
        path: path.to_owned(),
        version: supported,
        source,
    })?;
    info!(
        path = %path.display(),
        from = found,
        to = supported,
        "state store schema migrated"
    );
    Ok(())
}

fn upsert_conversation(
    connection: &Connection,
    key: &ConversationKey,
    conversation: &StoredConversation,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO conversation (platform, scope, user_id, data, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (platform, scope, user_id)
             DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
        )?
        .execute(params![
            key.platform,
            key.scope,
            key.user,
            conversation.data,
            conversation.updated_at
        ])?;
    Ok(())
}

fn insert_claim(
    connection: &Connection,
    platform: &str,
    event_id: &str,
    now_ms: i64,
) -> rusqlite::Result<bool> {
    let inserted = connection
        .prepare_cached(
            "INSERT INTO handled_event (platform, event_id, claimed_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (platform, event_id) DO NOTHING",
        )?
        .execute(params![platform, event_id, now_ms])?;
    Ok(inserted == 1)
}

impl StateStore for SqliteStore {
    fn load(&self, key: &ConversationKey) -> Result<Option<StoredConversation>> {
        let connection = self.connection();
        let mut statement = connection.prepare_cached(
            "SELECT data, updated_at FROM conversation
             WHERE platform = ?1 AND scope = ?2 AND user_id = ?3",
        )?;
        let conversation = statement
            .query_row(params![key.platform, key.scope, key.user], |row| {
                Ok(StoredConversation {
                    data: row.get(0)?,
                    updated_at: row.get(1)?,
                })
            })
            .optional()?;
        Ok(conversation)
    }

    fn save(&self, key: &ConversationKey, conversation: &StoredConversation) -> Result<()> {
        upsert_conversation(&self.connection(), key, conversation)?;
        Ok(())
    }

    fn commit_turn(
        &self,
        key: &ConversationKey,
        conversation: &StoredConversation,
        event_id: &str,
        reply: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let mut connection = self.connection();
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if !insert_claim(&transaction, &key.platform, event_id, now_ms)? {
            return Ok(false);
        }
        upsert_conversation(&transaction, key, conversation)?;
        transaction
            .prepare_cached(
                "INSERT INTO outbox (platform, event_id, reply, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![key.platform, event_id, reply, now_ms])?;
        transaction.commit()?;
        Ok(true)
    }

    fn mark_sent(&self, platform: &str, event_id: &str) -> Result<()> {
        self.connection()
            .prepare_cached("DELETE FROM outbox WHERE platform = ?1 AND event_id = ?2")?
            .execute([platform, event_id])?;
        Ok(())
    }

    fn update_pending_reply(&self, platform: &str, event_id: &str, reply: &str) -> Result<()> {
        self.connection()
            .prepare_cached("UPDATE outbox SET reply = ?3 WHERE platform = ?1 AND event_id = ?2")?
            .execute([platform, event_id, reply])?;
        Ok(())
    }

    fn pending_replies(&self, platform: &str) -> Result<Vec<PendingReply>> {
        let connection = self.connection();
        let mut statement = connection.prepare_cached(
            "SELECT event_id, reply, created_at FROM outbox WHERE platform = ?1 ORDER BY rowid",
        )?;
        let rows = statement.query_map([platform], |row| {
            Ok(PendingReply {
                event_id: row.get(0)?,
                reply: row.get(1)?,
                created_at: row.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn delete(&self, key: &ConversationKey) -> Result<bool> {
        let deleted = self
            .connection()
            .prepare_cached(
                "DELETE FROM conversation WHERE platform = ?1 AND scope = ?2 AND user_id = ?3",
            )?
            .execute(params![key.platform, key.scope, key.user])?;
        Ok(deleted > 0)
    }

    fn forget_unused_since(&self, cutoff_ms: i64) -> Result<usize> {
        let forgotten = self
            .connection()
            .prepare_cached("DELETE FROM conversation WHERE updated_at < ?1")?
            .execute([cutoff_ms])?;
        self.connection()
            .prepare_cached("DELETE FROM outbox WHERE created_at < ?1")?
            .execute([cutoff_ms])?;
        debug!(forgotten, "unused conversations forgotten");
        Ok(forgotten)
    }

    fn conversation_count(&self) -> Result<usize> {
        let count: i64 = self
            .connection()
            .prepare_cached("SELECT count(*) FROM conversation")?
            .query_row([], |row| row.get(0))?;
        // count(*) is never negative; rusqlite reads no usize without a feature.
        Ok(usize::try_from(count).unwrap_or_default())
    }

    fn claim_event(&self, platform: &str, event_id: &str, now_ms: i64) -> Result<bool> {
        Ok(insert_claim(
            &self.connection(),
            platform,
            event_id,
            now_ms,
        )?)
    }

    fn event_claimed(&self, platform: &str, event_id: &str) -> Result<bool> {
        let found = self
            .connection()
            .prepare_cached("SELECT 1 FROM handled_event WHERE platform = ?1 AND event_id = ?2")?
            .exists(params![platform, event_id])?;
        Ok(found)
    }

    fn forget_events_before(&self, cutoff_ms: i64) -> Result<usize> {
        let forgotten = self
            .connection()
            .prepare_cached("DELETE FROM handled_event WHERE claimed_at < ?1")?
            .execute([cutoff_ms])?;
        debug!(forgotten, "old event claims forgotten");
        Ok(forgotten)
    }

    fn get_meta(&self, key: &str) -> Result<Option<String>> {
        let value = self
            .connection()
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |row| row.get(0))
            .optional()?;
        Ok(value)
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.connection()
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute([key, value])?;
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        // TRUNCATE copies the WAL into the database, fsyncs both and empties the WAL, so a
        // stopped container leaves one self-contained file.
        let busy: i64 =
            self.connection()
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
        if busy != 0 {
            warn!(
                path = %self.path.display(),
                "state store checkpoint incomplete: another process is reading the file"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use tempfile::TempDir;

    const LATEST: i64 = MIGRATIONS.len() as i64;

    fn temp_dir() -> TempDir {
        tempfile::tempdir().unwrap()
    }

    fn open() -> (SqliteStore, TempDir) {
        let dir = temp_dir();
        let store = SqliteStore::open(dir.path().join("state.sqlite3")).unwrap();
        (store, dir)
    }

    crate::store::store_behaviour_suite!(open);

    fn user_version(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap()
    }

    fn table_names(connection: &Connection) -> Vec<String> {
        let mut statement = connection
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn the_background_checkpointer_moves_commits_into_the_database_file() {
        let (store, dir) = open();
        assert!(format!("{store:?}").contains("background_checkpoints: true"));
        let database = dir.path().join("state.sqlite3");
        let before = fs::metadata(&database).unwrap().len();
        let padding = "x".repeat(4000);
        for i in 0..50 {
            let key = ConversationKey::direct("matrix", format!("@user{i}:x"));
            store
                .save(&key, &StoredConversation::new(padding.clone(), i))
                .unwrap();
        }
        // Commits land in the WAL; no commit is past the inline threshold, so only the
        // checkpointer can grow the database file.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while fs::metadata(&database).unwrap().len() < before + 50 * 4000 {
            assert!(
                std::time::Instant::now() < deadline,
                "no checkpoint within 10 s"
            );
            std::thread::sleep(CHECKPOINT_INTERVAL / 4);
        }
    }

    #[test]
    fn everything_survives_a_reopen() {
        let dir = temp_dir();
        let path = dir.path().join("state.sqlite3");
        let key = ConversationKey::new("matrix", "!room:x", "@alice:x");
        let conversation = StoredConversation::new(r#"{"vars":{"type_user":"prof"}}"#, 42);
        {
            let store = SqliteStore::open(&path).unwrap();
            store.save(&key, &conversation).unwrap();
            assert!(store.claim_event("matrix", "$e", 1).unwrap());
            store.set_meta("matrix.sync_token", "s72").unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.load(&key).unwrap(), Some(conversation));
        assert!(!store.claim_event("matrix", "$e", 2).unwrap());
        assert_eq!(
            store.get_meta("matrix.sync_token").unwrap().as_deref(),
            Some("s72")
        );
        assert_eq!(store.conversation_count().unwrap(), 1);
    }

    #[test]
    fn opens_in_wal_mode_with_the_configured_synchronous_level() {
        let (store, _dir) = open();
        let connection = store.connection();
        let mode: String = connection
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        let synchronous: i64 = connection
            .pragma_query_value(None, "synchronous", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(synchronous, 1, "1 is NORMAL");
    }

    #[test]
    fn a_new_or_empty_file_gets_the_latest_schema_and_reopening_changes_nothing() {
        let dir = temp_dir();
        let missing = dir.path().join("missing.sqlite3");
        let empty = dir.path().join("empty.sqlite3");
        fs::write(&empty, b"").unwrap();
        for path in [missing, empty] {
            let key = ConversationKey::direct("terminal", "me");
            {
                let store = SqliteStore::open(&path).unwrap();
                store.save(&key, &StoredConversation::new("{}", 1)).unwrap();
            }
            assert_eq!(user_version(&path), LATEST, "{}", path.display());
            let store = SqliteStore::open(&path).unwrap();
            assert_eq!(user_version(&path), LATEST);
            assert_eq!(
                store.load(&key).unwrap(),
                Some(StoredConversation::new("{}", 1))
            );
            assert_eq!(
                table_names(&store.connection()),
                ["conversation", "handled_event", "meta", "outbox"]
            );
        }
    }

    #[test]
    fn migrations_apply_only_the_missing_steps() {
        let dir = temp_dir();
        let path = dir.path().join("state.sqlite3");
        let mut connection = Connection::open(&path).unwrap();
        migrate(&mut connection, &path, &MIGRATIONS[..1]).unwrap();
        assert_eq!(user_version(&path), 1);

        // Re-running a step would fail: "table extra already exists".
        let upgraded = [MIGRATIONS[0], "CREATE TABLE extra (x INTEGER) STRICT;"];
        migrate(&mut connection, &path, &upgraded).unwrap();
        migrate(&mut connection, &path, &upgraded).unwrap();
        assert_eq!(user_version(&path), 2);
        assert!(table_names(&connection).contains(&"extra".to_owned()));
    }

    /// A store written by the release before the outbox opens with its conversations and
    /// claims, and gains the queue.
    #[test]
    fn a_version_1_store_gains_the_outbox_and_keeps_its_data() {
        let dir = temp_dir();
        let path = dir.path().join("state.sqlite3");
        let key = ConversationKey::direct("matrix", "@ana:x");
        {
            let mut connection = Connection::open(&path).unwrap();
            migrate(&mut connection, &path, &MIGRATIONS[..1]).unwrap();
            upsert_conversation(&connection, &key, &StoredConversation::new("{}", 7)).unwrap();
            insert_claim(&connection, "matrix", "$old", 7).unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(user_version(&path), LATEST);
        assert_eq!(
            store.load(&key).unwrap(),
            Some(StoredConversation::new("{}", 7))
        );
        assert!(!store.claim_event("matrix", "$old", 8).unwrap());
        assert!(
            store
                .commit_turn(&key, &StoredConversation::new("{}", 9), "$new", "r", 9)
                .unwrap()
        );
        assert_eq!(store.pending_replies("matrix").unwrap().len(), 1);
    }

    #[test]
    fn a_failed_migration_leaves_the_file_untouched() {
        let dir = temp_dir();
        let path = dir.path().join("state.sqlite3");
        let mut connection = Connection::open(&path).unwrap();
        let broken = [MIGRATIONS[0], "CREATE TABLE broken ("];
        let error = migrate(&mut connection, &path, &broken).unwrap_err();
        assert!(
            matches!(error, StoreError::Migration { version: 2, .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains(&path.display().to_string()));
        assert_eq!(user_version(&path), 0);
        assert!(
            table_names(&connection).is_empty(),
            "step 1 was rolled back"
        );
    }

    #[test]
    fn a_newer_schema_is_refused_and_left_as_is() {
        let dir = temp_dir();
        let path = dir.path().join("state.sqlite3");
        drop(SqliteStore::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", LATEST + 1)
            .unwrap();

        let error = SqliteStore::open(&path).unwrap_err();
        match &error {
            StoreError::NewerSchema {
                found, supported, ..
            } => assert_eq!((*found, *supported), (LATEST + 1, LATEST)),
            other => panic!("expected NewerSchema, got {other:?}"),
        }
        assert!(error.to_string().contains(&path.display().to_string()));
        assert_eq!(user_version(&path), LATEST + 1, "no silent downgrade");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused_naming_its_path() {
        let dir = temp_dir();
        let long_text = "ceci n'est pas une base de données\n".repeat(200);
        let cases: [(&str, &[u8]); 3] = [
            ("short.sqlite3", b"hello"),
            ("text.sqlite3", long_text.as_bytes()),
            ("binary.sqlite3", &[0xff; 8192]),
        ];
        for (name, content) in cases {
            let path = dir.path().join(name);
            fs::write(&path, content).unwrap();
            let error = SqliteStore::open(&path).unwrap_err();
            assert!(
                matches!(error, StoreError::NotADatabase { .. }),
                "{name}: {error:?}"
            );
            assert!(
                error.to_string().contains(&path.display().to_string()),
                "{error}"
            );
            assert_eq!(fs::read(&path).unwrap(), content, "{name} was modified");
        }
    }

    #[test]
    fn another_programs_database_is_refused() {
        let dir = temp_dir();
        let path = dir.path().join("other.sqlite3");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE notes (body TEXT);")
            .unwrap();
        let error = SqliteStore::open(&path).unwrap_err();
        assert!(
            matches!(error, StoreError::ForeignDatabase { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains(&path.display().to_string()));
        let connection = Connection::open(&path).unwrap();
        assert_eq!(table_names(&connection), ["notes"]);
        let mode: String = connection
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "delete", "the journal mode was left alone");
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// Issue 14: conversations are personal data; with the usual umask (022) the files were
    /// created 0644, readable by every local account.
    #[cfg(unix)]
    #[test]
    fn the_database_and_its_wal_files_are_owner_only() {
        let (store, dir) = open();
        let key = ConversationKey::new("matrix", "!room", "@ana:example.org");
        store
            .save(&key, &StoredConversation::new("{}", 1_000))
            .unwrap();
        let database = dir.path().join("state.sqlite3");
        for suffix in ["", "-wal", "-shm"] {
            let mut name = database.as_os_str().to_owned();
            name.push(suffix);
            let file = PathBuf::from(name);
            assert!(
                file.exists(),
                "{} exists while the store is open",
                file.display()
            );
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_world_readable_database_from_before_is_made_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir();
        let path = dir.path().join("state.sqlite3");
        drop(SqliteStore::open(&path).unwrap());
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let _store = SqliteStore::open(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn an_unopenable_path_is_an_error_naming_it() {
        let dir = temp_dir();
        let cases = [
            dir.path().to_owned(),
            dir.path().join("no such dir").join("state.sqlite3"),
        ];
        for path in cases {
            let error = SqliteStore::open(&path).unwrap_err();
            assert!(matches!(error, StoreError::Open { .. }), "{error:?}");
            assert!(error.to_string().contains(&path.display().to_string()));
        }
    }
}
