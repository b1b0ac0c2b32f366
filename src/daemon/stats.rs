//! Opt-in anonymous statistics (`[stats] enabled = true`): how often each response is
//! answered, and which questions (normalised) got no answer, so content authors see what to
//! write next. No user id, no room, no time of day: nothing about a person.

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
                 CREATE TABLE IF NOT EXISTS unanswered (question TEXT PRIMARY KEY, count INTEGER NOT NULL);",
            )
            .map_err(wrap)?;
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
    /// answered it.
    pub fn record(&self, answer: &Answer, question: Option<&str>) -> Result<(), StatsError> {
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
                        "INSERT INTO unanswered (question, count) VALUES (?1, 1) ON CONFLICT(question) DO UPDATE SET count = count + 1",
                        params![normalised],
                    )
                    .map(|_| ())
                })
            }
            _ => Ok(()),
        }
    }

    fn top(
        &self,
        table: &str,
        column: &str,
        limit: usize,
    ) -> Result<Vec<(String, u64)>, StatsError> {
        let sql =
            format!("SELECT {column}, count FROM {table} ORDER BY count DESC, {column} LIMIT ?1");
        self.with(|c| {
            let mut statement = c.prepare(&sql)?;
            let rows = statement.query_map(params![limit as i64], |row| {
                Ok((row.get(0)?, row.get::<_, i64>(1)? as u64))
            })?;
            rows.collect()
        })
    }

    pub fn top_unanswered(&self, limit: usize) -> Result<Vec<(String, u64)>, StatsError> {
        self.top("unanswered", "question", limit)
    }

    pub fn top_answered(&self, limit: usize) -> Result<Vec<(String, u64)>, StatsError> {
        self.top("answered", "title", limit)
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
            .record(&Answer::Response("Horaires".into()), Some("horaires ?"))
            .unwrap();
        stats
            .record(&Answer::Response("Horaires".into()), None)
            .unwrap();
        stats
            .record(
                &Answer::Fallback { shown: None },
                Some("Menu de la CANTINE ?"),
            )
            .unwrap();
        stats
            .record(
                &Answer::Fallback { shown: None },
                Some("menu de la cantine"),
            )
            .unwrap();
        assert_eq!(
            stats.top_answered(5).unwrap(),
            vec![("Horaires".to_string(), 2)]
        );
        assert_eq!(
            stats.top_unanswered(5).unwrap(),
            vec![("menu de la cantine".to_string(), 2)]
        );
    }
}
