//! The SQLite store: one table of log records, indexed by correlation ID, session ID and time;
//! writes are idempotent by `event.id`; every query is parameterised.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value as Json;

use crate::ingest::Row;

/// Most records one search returns.
pub const MAX_SEARCH_ROWS: usize = 5_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id       TEXT UNIQUE,
    time_ns        INTEGER NOT NULL,
    service        TEXT NOT NULL,
    scope          TEXT NOT NULL,
    level          TEXT NOT NULL,
    message        TEXT NOT NULL,
    trace_id       TEXT,
    correlation_id TEXT,
    session_id     TEXT,
    attributes     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_correlation ON records (correlation_id);
CREATE INDEX IF NOT EXISTS records_trace ON records (trace_id);
CREATE INDEX IF NOT EXISTS records_session ON records (session_id);
CREATE INDEX IF NOT EXISTS records_time ON records (time_ns);
";

/// The store, shared by the request handlers.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

/// A store failure, as text for the log and a 500 answer.
pub type StoreError = String;

fn failed(e: impl std::fmt::Display) -> StoreError {
    format!("storage error: {e}")
}

impl Store {
    /// Opens (creating if needed) the SQLite file at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path).map_err(failed)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(failed)?;
        conn.execute_batch(SCHEMA).map_err(failed)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| failed("a writer panicked"))
    }

    /// Stores `rows` in one transaction; a row whose `event.id` is already stored is skipped.
    /// Returns how many were new.
    pub fn insert(&self, rows: &[Row]) -> Result<usize, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction().map_err(failed)?;
        let mut added = 0;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO records (event_id, time_ns, service, scope, level, message, trace_id, correlation_id, session_id, attributes)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(failed)?;
            for row in rows {
                added += insert
                    .execute(params![
                        row.event_id,
                        row.time_ns,
                        row.service,
                        row.scope,
                        row.level,
                        row.message,
                        row.trace_id,
                        row.correlation_id,
                        row.session_id,
                        row.attributes.to_string(),
                    ])
                    .map_err(failed)?;
            }
        }
        tx.commit().map_err(failed)?;
        Ok(added)
    }

    /// Every record whose correlation ID, trace ID or session ID is `id`, oldest first.
    pub fn search(&self, id: &str) -> Result<Vec<Row>, StoreError> {
        let conn = self.lock()?;
        let mut query = conn
            .prepare_cached(
                "SELECT time_ns, service, scope, level, message, event_id, trace_id, correlation_id, session_id, attributes
                 FROM records
                 WHERE correlation_id = ?1 OR trace_id = ?1 OR session_id = ?1
                 ORDER BY time_ns, id
                 LIMIT ?2",
            )
            .map_err(failed)?;
        let limit = i64::try_from(MAX_SEARCH_ROWS).unwrap_or(i64::MAX);
        let rows = query
            .query_map(params![id, limit], |r| {
                let attributes: String = r.get(9)?;
                Ok(Row {
                    time_ns: r.get(0)?,
                    service: r.get(1)?,
                    scope: r.get(2)?,
                    level: r.get(3)?,
                    message: r.get(4)?,
                    event_id: r.get(5)?,
                    trace_id: r.get(6)?,
                    correlation_id: r.get(7)?,
                    session_id: r.get(8)?,
                    attributes: serde_json::from_str(&attributes).unwrap_or(Json::Null),
                })
            })
            .map_err(failed)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(failed)
    }

    /// Removes records older than `cutoff_ns`; returns how many.
    pub fn remove_older_than(&self, cutoff_ns: i64) -> Result<usize, StoreError> {
        self.lock()?
            .execute("DELETE FROM records WHERE time_ns < ?1", params![cutoff_ns])
            .map_err(failed)
    }

    /// How many records are stored.
    pub fn count(&self) -> Result<i64, StoreError> {
        self.lock()?
            .query_row("SELECT COUNT(*) FROM records", [], |r| r.get(0))
            .optional()
            .map_err(failed)
            .map(Option::unwrap_or_default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(event_id: Option<&str>, time_ns: i64, correlation: &str) -> Row {
        Row {
            event_id: event_id.map(str::to_owned),
            time_ns,
            service: "web".into(),
            scope: "threadline".into(),
            level: "INFO".into(),
            message: format!("at {time_ns}"),
            trace_id: Some(correlation.into()),
            correlation_id: Some(correlation.into()),
            session_id: Some("s1".into()),
            attributes: json!({"k": 1}),
        }
    }

    #[test]
    fn writes_are_idempotent_and_search_is_ordered() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.sqlite")).unwrap();
        assert_eq!(
            store
                .insert(&[row(Some("a"), 30, "c1"), row(Some("b"), 10, "c1")])
                .unwrap(),
            2
        );
        assert_eq!(
            store
                .insert(&[
                    row(Some("a"), 30, "c1"),
                    row(None, 20, "c1"),
                    row(None, 20, "c1")
                ])
                .unwrap(),
            2
        );
        let found = store.search("c1").unwrap();
        let times: Vec<i64> = found.iter().map(|r| r.time_ns).collect();
        assert_eq!(times, [10, 20, 20, 30]);
        assert_eq!(store.search("s1").unwrap().len(), 4);
        assert!(store.search("' OR 1=1 --").unwrap().is_empty());
        assert_eq!(store.remove_older_than(25).unwrap(), 3);
        assert_eq!(store.count().unwrap(), 1);
    }
}
