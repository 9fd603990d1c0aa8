//! The SQLite engine: one file, log records and spans indexed by correlation ID, trace ID,
//! session ID and time; a true duplicate folds into its first copy through the unique key.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::columns::{log_of, span_of};
use super::{After, RelatedError, Rows, StoreError, Written, count, failed, json_text};
use crate::rows::{LogRow, Provenance, SpanRow};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS logs (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    provenance         TEXT NOT NULL,
    content_hash       BLOB NOT NULL,
    folded             INTEGER NOT NULL DEFAULT 0,
    time_ns            INTEGER NOT NULL,
    time_replaced      INTEGER NOT NULL,
    sent_time          TEXT NOT NULL,
    observed_time      TEXT NOT NULL,
    service            TEXT NOT NULL,
    scope              TEXT NOT NULL,
    scope_version      TEXT NOT NULL,
    severity_number    INTEGER NOT NULL,
    severity_text      TEXT NOT NULL,
    level              TEXT NOT NULL,
    event_name         TEXT NOT NULL,
    body               TEXT NOT NULL,
    message            TEXT NOT NULL,
    trace_id           TEXT,
    span_id            TEXT,
    flags              INTEGER NOT NULL,
    correlation_id     TEXT,
    session_id         TEXT,
    event_id           TEXT,
    resource           TEXT NOT NULL,
    attributes         TEXT NOT NULL,
    dropped_attributes INTEGER NOT NULL,
    UNIQUE (provenance, content_hash)
);
CREATE INDEX IF NOT EXISTS logs_correlation ON logs (correlation_id, provenance, time_ns);
CREATE INDEX IF NOT EXISTS logs_trace ON logs (trace_id, provenance, time_ns);
CREATE INDEX IF NOT EXISTS logs_session ON logs (session_id, provenance, time_ns);
CREATE INDEX IF NOT EXISTS logs_time ON logs (time_ns);
CREATE TABLE IF NOT EXISTS spans (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    provenance     TEXT NOT NULL,
    content_hash   BLOB NOT NULL,
    folded         INTEGER NOT NULL DEFAULT 0,
    start_ns       INTEGER NOT NULL,
    end_ns         INTEGER NOT NULL,
    time_replaced  INTEGER NOT NULL,
    service        TEXT NOT NULL,
    scope          TEXT NOT NULL,
    scope_version  TEXT NOT NULL,
    name           TEXT NOT NULL,
    kind           INTEGER NOT NULL,
    trace_id       TEXT NOT NULL,
    span_id        TEXT NOT NULL,
    parent_span_id TEXT,
    status_code    INTEGER NOT NULL,
    status_message TEXT NOT NULL,
    flags          INTEGER NOT NULL,
    correlation_id TEXT,
    session_id     TEXT,
    resource       TEXT NOT NULL,
    attributes     TEXT NOT NULL,
    trace_state    TEXT NOT NULL,
    events         TEXT NOT NULL,
    links          TEXT NOT NULL,
    UNIQUE (provenance, content_hash)
);
CREATE INDEX IF NOT EXISTS spans_correlation ON spans (correlation_id, provenance, start_ns);
CREATE INDEX IF NOT EXISTS spans_trace ON spans (trace_id, provenance, start_ns);
CREATE INDEX IF NOT EXISTS spans_session ON spans (session_id, provenance, start_ns);
CREATE INDEX IF NOT EXISTS spans_time ON spans (start_ns);
";

/// Connections that only read: WAL lets them read while the writer writes.
const READERS: usize = 4;

/// Rows one retention step deletes, so that writes and reads interleave with a long sweep.
const SWEEP_STEP: usize = 5000;

/// How long a connection waits for a lock another process holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite engine, shared by the request handlers: one writing connection and a few reading
/// ones, in WAL mode so that reads never wait behind writes.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Arc<Mutex<Connection>>,
    readers: Arc<Vec<Mutex<Connection>>>,
    next_reader: Arc<AtomicUsize>,
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(failed)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(failed)?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the SQLite file at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = connect(path)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(failed)?;
        conn.execute_batch(SCHEMA).map_err(failed)?;
        let readers = (0..READERS)
            .map(|_| connect(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SqliteStore {
            writer: Arc::new(Mutex::new(conn)),
            readers: Arc::new(readers),
            next_reader: Arc::new(AtomicUsize::new(0)),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.writer.lock().map_err(|_| failed("a writer panicked"))
    }

    /// A free reading connection, else the next one in turn.
    fn reader(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let count = self.readers.len();
        for i in 0..count {
            if let Some(Ok(conn)) = self.readers.get((start + i) % count).map(Mutex::try_lock) {
                return Ok(conn);
            }
        }
        match self.readers.get(start % count.max(1)) {
            Some(conn) => conn.lock().map_err(|_| failed("a reader panicked")),
            None => self.lock(),
        }
    }

    /// Stores each batch of rows in `jobs`, all in one transaction, folding true duplicates;
    /// what each batch did, in order.
    pub fn insert_group(&self, jobs: &[Rows]) -> Result<Vec<Written>, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction().map_err(failed)?;
        let mut written = Vec::with_capacity(jobs.len());
        for job in jobs {
            written.push(match job {
                Rows::Logs(rows) => Self::insert_logs(&tx, rows)?,
                Rows::Spans(rows) => Self::insert_spans(&tx, rows)?,
            });
        }
        tx.commit().map_err(failed)?;
        Ok(written)
    }

    fn insert_logs(tx: &Transaction<'_>, rows: &[LogRow]) -> Result<Written, StoreError> {
        let mut written = Written::default();
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO logs (provenance, content_hash, time_ns, time_replaced, sent_time, observed_time,
                        service, scope, scope_version, severity_number, severity_text, level, event_name, body,
                        message, trace_id, span_id, flags, correlation_id, session_id, event_id, resource,
                        attributes, dropped_attributes)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                        ?19, ?20, ?21, ?22, ?23, ?24)
                     ON CONFLICT (provenance, content_hash) DO UPDATE SET folded = folded + 1
                     RETURNING folded",
                )
                .map_err(failed)?;
            for row in rows {
                let folded: i64 = insert
                    .query_row(
                        params![
                            row.provenance.as_str(),
                            row.content_hash.as_slice(),
                            row.time_ns,
                            row.time_replaced,
                            row.sent_time_unix_nano.to_string(),
                            row.observed_time_unix_nano.to_string(),
                            row.service,
                            row.scope,
                            row.scope_version,
                            row.severity_number,
                            row.severity_text,
                            row.level,
                            row.event_name,
                            json_text(&row.body),
                            row.message,
                            row.trace_id,
                            row.span_id,
                            row.flags,
                            row.correlation_id,
                            row.session_id,
                            row.event_id,
                            json_text(&row.resource),
                            json_text(&row.attributes),
                            row.dropped_attributes_count,
                        ],
                        |r| r.get(0),
                    )
                    .map_err(failed)?;
                count(&mut written, folded);
            }
        }
        Ok(written)
    }

    fn insert_spans(tx: &Transaction<'_>, rows: &[SpanRow]) -> Result<Written, StoreError> {
        let mut written = Written::default();
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO spans (provenance, content_hash, start_ns, end_ns, time_replaced, service, scope,
                        scope_version, name, kind, trace_id, span_id, parent_span_id, status_code, status_message,
                        flags, correlation_id, session_id, resource, attributes, trace_state, events, links)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                        ?19, ?20, ?21, ?22, ?23)
                     ON CONFLICT (provenance, content_hash) DO UPDATE SET folded = folded + 1
                     RETURNING folded",
                )
                .map_err(failed)?;
            for row in rows {
                let folded: i64 = insert
                    .query_row(
                        params![
                            row.provenance.as_str(),
                            row.content_hash.as_slice(),
                            row.start_ns,
                            row.end_ns,
                            row.time_replaced,
                            row.service,
                            row.scope,
                            row.scope_version,
                            row.name,
                            row.kind,
                            row.trace_id,
                            row.span_id,
                            row.parent_span_id,
                            row.status_code,
                            row.status_message,
                            row.flags,
                            row.correlation_id,
                            row.session_id,
                            json_text(&row.resource),
                            json_text(&row.attributes),
                            row.trace_state,
                            row.events.to_string(),
                            row.links.to_string(),
                        ],
                        |r| r.get(0),
                    )
                    .map_err(failed)?;
                count(&mut written, folded);
            }
        }
        Ok(written)
    }

    /// Up to `limit` log records of `provenance` whose correlation, trace or session ID is `id`,
    /// in time order, after `after`.
    pub fn logs(
        &self,
        id: &str,
        provenance: Provenance,
        after: After,
        limit: usize,
    ) -> Result<Vec<LogRow>, StoreError> {
        self.story(super::LOGS_PAGE, (id, provenance, after, limit), |r| {
            log_of(r)
        })
    }

    /// Up to `limit` spans of `provenance` whose correlation, trace or session ID is `id`, by
    /// start time, after `after`.
    pub fn spans(
        &self,
        id: &str,
        provenance: Provenance,
        after: After,
        limit: usize,
    ) -> Result<Vec<SpanRow>, StoreError> {
        self.story(super::SPANS_PAGE, (id, provenance, after, limit), |r| {
            span_of(r)
        })
    }

    /// Runs one page query of a story: `?1` the ID, `?2` the provenance, `?3, ?4` the position
    /// after which to start, `?5` the limit.
    fn story<T>(
        &self,
        sql: &str,
        (id, provenance, after, limit): (&str, Provenance, After, usize),
        of: fn(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let conn = self.reader()?;
        let mut query = conn.prepare_cached(sql).map_err(failed)?;
        let (time, row) = after.unwrap_or((i64::MIN, i64::MIN));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = query
            .query_map(params![id, provenance.as_str(), time, row, limit], of)
            .map_err(failed)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(failed)
    }

    /// The latest error of each other correlation ID in `session` between `from_ns` and
    /// `to_ns`, at most `limit`, newest first.
    pub fn related_errors(
        &self,
        session: &str,
        except: &str,
        (from_ns, to_ns): (i64, i64),
        limit: usize,
    ) -> Result<Vec<RelatedError>, StoreError> {
        let conn = self.reader()?;
        let mut query = conn
            .prepare_cached(
                "SELECT correlation_id, MAX(time_ns) AS t, service, provenance, message FROM logs
                 WHERE session_id = ?1 AND correlation_id IS NOT NULL AND correlation_id != ?2
                   AND level IN ('ERROR', 'FATAL') AND time_ns BETWEEN ?3 AND ?4
                 GROUP BY correlation_id ORDER BY t DESC LIMIT ?5",
            )
            .map_err(failed)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = query
            .query_map(params![session, except, from_ns, to_ns, limit], |r| {
                let provenance: String = r.get(3)?;
                Ok(RelatedError {
                    correlation_id: r.get(0)?,
                    time_ns: r.get(1)?,
                    service: r.get(2)?,
                    provenance: Provenance::parse(&provenance),
                    message: r.get(4)?,
                })
            })
            .map_err(failed)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(failed)
    }

    /// Removes records and spans older than `cutoff_ns`, a few thousand rows per transaction so
    /// that ingestion is never held up for long; returns how many.
    pub fn remove_older_than(&self, cutoff_ns: i64) -> Result<usize, StoreError> {
        let mut removed = 0;
        for sql in [
            "DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE time_ns < ?1 LIMIT ?2)",
            "DELETE FROM spans WHERE id IN (SELECT id FROM spans WHERE start_ns < ?1 LIMIT ?2)",
        ] {
            loop {
                let step = i64::try_from(SWEEP_STEP).unwrap_or(i64::MAX);
                let gone = self
                    .lock()?
                    .execute(sql, params![cutoff_ns, step])
                    .map_err(failed)?;
                removed += gone;
                if gone < SWEEP_STEP {
                    break;
                }
            }
        }
        Ok(removed)
    }

    /// How many log records are stored.
    pub fn count(&self) -> Result<i64, StoreError> {
        self.count_in("logs")
    }

    /// How many spans are stored.
    pub fn count_spans(&self) -> Result<i64, StoreError> {
        self.count_in("spans")
    }

    fn count_in(&self, table: &'static str) -> Result<i64, StoreError> {
        self.reader()?
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .optional()
            .map_err(failed)
            .map(Option::unwrap_or_default)
    }
}
