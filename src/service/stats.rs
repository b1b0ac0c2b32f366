//! Opt-in anonymous statistics (`[stats] enabled = true`): how often each response is
//! answered, and which questions (normalised) got no answer, so content authors see what to
//! write next. No user id, no room, no time of day: nothing about a person.
//!
//! Durability is the state store's (WAL, `synchronous = NORMAL`): a statistic lost in a power
//! cut is harmless, and a synchronous commit per message made every message ~20× slower.
//! Unanswered questions are what people typed, so each is forgotten `forget_after` after it
//! was last asked, like a conversation; counts per response hold nothing personal and stay.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, params};

use crate::engine::{Answer, guichet};

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("statistics file {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("statistics file {}: cannot make it readable by guichet's user only", path.display())]
    Permissions {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Unanswered questions longer than this are cut: a question, not a letter.
const MAX_QUESTION_CHARS: usize = 200;

#[derive(Debug)]
pub struct Stats {
    connection: Mutex<Connection>,
    path: String,
}

impl Stats {
    pub fn open(path: &Path) -> Result<Self, StatsError> {
        let name = path.display().to_string();
        let wrap = |source| StatsError::Sqlite {
            path: name.clone(),
            source,
        };
        // Unanswered questions are what people typed: owner-only, like the state store.
        crate::store::create_private_file(path).map_err(|source| StatsError::Permissions {
            path: path.to_owned(),
            source,
        })?;
        let connection = Connection::open(path).map_err(wrap)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE IF NOT EXISTS answered (title TEXT PRIMARY KEY, count INTEGER NOT NULL);
                 CREATE TABLE IF NOT EXISTS unanswered (question TEXT PRIMARY KEY, count INTEGER NOT NULL, last_asked INTEGER NOT NULL DEFAULT 0);",
            )
            .map_err(wrap)?;
        connection
            .pragma_update(None, "synchronous", crate::store::SYNCHRONOUS)
            .map_err(wrap)?;
        // Files from before expiry have no `last_asked`: those questions are of unknown age,
        // so they get 0 and go at the first purge rather than being kept longer than promised.
        let has_last_asked = connection
            .prepare("SELECT 1 FROM pragma_table_info('unanswered') WHERE name = 'last_asked'")
            .and_then(|mut statement| statement.exists([]))
            .map_err(wrap)?;
        if !has_last_asked {
            connection
                .execute_batch(
                    "ALTER TABLE unanswered ADD COLUMN last_asked INTEGER NOT NULL DEFAULT 0",
                )
                .map_err(wrap)?;
        }
        crate::store::restrict_database_files(path)
            .map_err(|(path, source)| StatsError::Permissions { path, source })?;
        Ok(Self {
            connection: Mutex::new(connection),
            path: name,
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StatsError> {
        let connection = match self.connection.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&connection).map_err(|source| StatsError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }

    /// Counts one answer; `question` is what was typed, kept (normalised) only when nothing
    /// answered it, until `forget_after` past `now_ms` (see [`Stats::forget_before`]).
    pub fn record(
        &self,
        answer: &Answer,
        question: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StatsError> {
        match answer {
            Answer::Response(title) => self.with(|c| {
                c.execute(
                    "INSERT INTO answered (title, count) VALUES (?1, 1) ON CONFLICT(title) DO UPDATE SET count = count + 1",
                    params![title],
                )
                .map(|_| ())
            }),
            Answer::Fallback { .. } | Answer::DidYouMean(_) => {
                let Some(question) = question else { return Ok(()) };
                let normalised: String = guichet::normalize(question).chars().take(MAX_QUESTION_CHARS).collect();
                if normalised.is_empty() {
                    return Ok(());
                }
                self.with(|c| {
                    c.execute(
                        "INSERT INTO unanswered (question, count, last_asked) VALUES (?1, 1, ?2) \
                         ON CONFLICT(question) DO UPDATE SET count = count + 1, last_asked = max(last_asked, ?2)",
                        params![normalised, now_ms],
                    )
                    .map(|_| ())
                })
            }
            _ => Ok(()),
        }
    }

    /// Deletes the unanswered questions last asked before `cutoff_ms`; returns how many.
    pub fn forget_before(&self, cutoff_ms: i64) -> Result<usize, StatsError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM unanswered WHERE last_asked < ?1",
                params![cutoff_ms],
            )
        })
    }

    /// The questions nothing answered that were last asked at or after `asked_since_ms`,
    /// most frequent first: a reader (`guichet stats`) sees what the daemon's purge keeps
    /// without deleting anything itself.
    pub fn top_unanswered(
        &self,
        limit: usize,
        asked_since_ms: i64,
    ) -> Result<Vec<(String, u64)>, StatsError> {
        self.with(|c| {
            let mut statement = c.prepare(
                "SELECT question, count FROM unanswered WHERE last_asked >= ?1 \
                 ORDER BY count DESC, question LIMIT ?2",
            )?;
            let rows = statement.query_map(params![asked_since_ms, limit as i64], |row| {
                Ok((row.get(0)?, row.get::<_, i64>(1)? as u64))
            })?;
            rows.collect()
        })
    }

    pub fn top_answered(&self, limit: usize) -> Result<Vec<(String, u64)>, StatsError> {
        self.with(|c| {
            let mut statement =
                c.prepare("SELECT title, count FROM answered ORDER BY count DESC, title LIMIT ?1")?;
            let rows = statement.query_map(params![limit as i64], |row| {
                Ok((row.get(0)?, row.get::<_, i64>(1)? as u64))
            })?;
            rows.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_without_anyone_in_them() {
        let dir = tempfile::tempdir().unwrap();
        let stats = Stats::open(&dir.path().join("stats.sqlite")).unwrap();
        stats
            .record(&Answer::Response("Horaires".into()), Some("horaires ?"), 0)
            .unwrap();
        stats
            .record(&Answer::Response("Horaires".into()), None, 0)
            .unwrap();
        stats
            .record(
                &Answer::Fallback { shown: None },
                Some("Menu de la CANTINE ?"),
                0,
            )
            .unwrap();
        stats
            .record(
                &Answer::Fallback { shown: None },
                Some("menu de la cantine"),
                0,
            )
            .unwrap();
        assert_eq!(
            stats.top_answered(5).unwrap(),
            vec![("Horaires".to_string(), 2)]
        );
        assert_eq!(
            stats.top_unanswered(5, 0).unwrap(),
            vec![("menu de la cantine".to_string(), 2)]
        );
    }

    /// Issue 14, item 13: the stats database kept SQLite's default `synchronous = FULL`, a
    /// synchronous commit per message, unlike the state store.
    #[test]
    fn durability_is_the_state_stores() {
        let dir = tempfile::tempdir().unwrap();
        let stats = Stats::open(&dir.path().join("stats.sqlite")).unwrap();
        let (journal, synchronous): (String, i64) = stats
            .with(|c| {
                Ok((
                    c.pragma_query_value(None, "journal_mode", |row| row.get(0))?,
                    c.pragma_query_value(None, "synchronous", |row| row.get(0))?,
                ))
            })
            .unwrap();
        assert_eq!(journal, "wal");
        // 1 is NORMAL (2 would be FULL).
        assert_eq!(synchronous, 1);
    }

    /// Issue 14, item 13: unanswered questions (what people typed) were kept for ever.
    #[test]
    fn unanswered_questions_expire_after_forget_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stats.sqlite");
        let stats = Stats::open(&path).unwrap();
        let day_ms = 24 * 60 * 60 * 1000;
        let fallback = Answer::Fallback { shown: None };
        stats
            .record(&fallback, Some("vieille question"), 0)
            .unwrap();
        stats
            .record(&fallback, Some("question récente"), 0)
            .unwrap();
        // Asked again later: its clock starts again.
        stats
            .record(&fallback, Some("question récente"), 95 * day_ms)
            .unwrap();
        stats
            .record(&Answer::Response("Horaires".into()), None, 0)
            .unwrap();
        let now = 100 * day_ms;
        let cutoff = crate::store::forget_cutoff(now, crate::store::DEFAULT_FORGET_AFTER);
        // A reader sees only what the purge keeps, and deletes nothing.
        assert_eq!(
            stats.top_unanswered(5, cutoff).unwrap(),
            vec![("question recente".to_string(), 2)]
        );
        assert_eq!(stats.forget_before(cutoff).unwrap(), 1);
        assert_eq!(
            stats.top_unanswered(5, cutoff).unwrap(),
            vec![("question recente".to_string(), 2)]
        );
        // Counts per response are not about anyone: they stay.
        assert_eq!(
            stats.top_answered(5).unwrap(),
            vec![("Horaires".to_string(), 1)]
        );
        drop(stats);
        // A file from before expiry (no `last_asked`) is upgraded; its questions, of unknown
        // age, go at the first purge.
        let old = dir.path().join("old.sqlite");
        let connection = Connection::open(&old).unwrap();
        connection
            .execute_batch(
                "CREATE TABLE unanswered (question TEXT PRIMARY KEY, count INTEGER NOT NULL);
                 INSERT INTO unanswered VALUES ('ancienne', 3);",
            )
            .unwrap();
        drop(connection);
        let stats = Stats::open(&old).unwrap();
        assert_eq!(stats.forget_before(cutoff).unwrap(), 1);
    }
}
