//! The SQLite store: log records and spans, each with who sent it, indexed by correlation ID,
//! trace ID, session ID and time. A true duplicate (same sender class and same content hash) is
//! folded into the first copy and counted; anything else is stored, so no record can hide
//! another. Every query is parameterised.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use crate::rows::{LogRow, Provenance, SpanRow, decimal};

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

/// The store, shared by the request handlers.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

/// A store failure, as text for the log and a 503 answer.
pub type StoreError = String;

fn failed(e: impl std::fmt::Display) -> StoreError {
    format!("storage error: {e}")
}

/// What one write did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Rows stored.
    pub added: usize,
    /// True duplicates folded into rows already stored.
    pub folded: usize,
}

/// Where a page of one kind and provenance starts: after this `(time, row id)`.
pub type After = Option<(i64, i64)>;

/// Another error of the same session, for the "related errors" list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RelatedError {
    /// Its correlation ID: the link to its own story.
    pub correlation_id: String,
    /// When, ns since the epoch.
    #[serde(rename = "time_unix_nano", serialize_with = "decimal")]
    pub time_ns: i64,
    /// Its service.
    pub service: String,
    /// Who sent it.
    pub provenance: Provenance,
    /// Its message.
    pub message: String,
}

fn json_text(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn from_json<T: serde::de::DeserializeOwned + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}

fn log_of(r: &Row<'_>) -> rusqlite::Result<LogRow> {
    let provenance: String = r.get("provenance")?;
    let sent: String = r.get("sent_time")?;
    let observed: String = r.get("observed_time")?;
    let body: String = r.get("body")?;
    let resource: String = r.get("resource")?;
    let attributes: String = r.get("attributes")?;
    Ok(LogRow {
        provenance: Provenance::parse(&provenance),
        time_ns: r.get("time_ns")?,
        time_replaced: r.get("time_replaced")?,
        sent_time_unix_nano: sent.parse().unwrap_or_default(),
        observed_time_unix_nano: observed.parse().unwrap_or_default(),
        service: r.get("service")?,
        scope: r.get("scope")?,
        scope_version: r.get("scope_version")?,
        severity_number: r.get("severity_number")?,
        severity_text: r.get("severity_text")?,
        level: r.get("level")?,
        event_name: r.get("event_name")?,
        body: from_json(&body),
        message: r.get("message")?,
        trace_id: r.get("trace_id")?,
        span_id: r.get("span_id")?,
        flags: r.get("flags")?,
        correlation_id: r.get("correlation_id")?,
        session_id: r.get("session_id")?,
        event_id: r.get("event_id")?,
        resource: from_json(&resource),
        attributes: from_json(&attributes),
        dropped_attributes_count: r.get("dropped_attributes")?,
        folded: r.get("folded")?,
        row_id: r.get("id")?,
        content_hash: [0; 32],
    })
}

fn span_of(r: &Row<'_>) -> rusqlite::Result<SpanRow> {
    let provenance: String = r.get("provenance")?;
    let resource: String = r.get("resource")?;
    let attributes: String = r.get("attributes")?;
    let events: String = r.get("events")?;
    let links: String = r.get("links")?;
    Ok(SpanRow {
        provenance: Provenance::parse(&provenance),
        start_ns: r.get("start_ns")?,
        end_ns: r.get("end_ns")?,
        time_replaced: r.get("time_replaced")?,
        service: r.get("service")?,
        scope: r.get("scope")?,
        scope_version: r.get("scope_version")?,
        name: r.get("name")?,
        kind: r.get("kind")?,
        trace_id: r.get("trace_id")?,
        span_id: r.get("span_id")?,
        parent_span_id: r.get("parent_span_id")?,
        status_code: r.get("status_code")?,
        status_message: r.get("status_message")?,
        flags: r.get("flags")?,
        trace_state: r.get("trace_state")?,
        events: from_json(&events),
        links: from_json(&links),
        correlation_id: r.get("correlation_id")?,
        session_id: r.get("session_id")?,
        resource: from_json(&resource),
        attributes: from_json(&attributes),
        folded: r.get("folded")?,
        row_id: r.get("id")?,
        content_hash: [0; 32],
    })
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

    /// Stores log rows in one transaction, folding true duplicates.
    pub fn insert_logs(&self, rows: &[LogRow]) -> Result<Written, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction().map_err(failed)?;
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
        tx.commit().map_err(failed)?;
        Ok(written)
    }

    /// Stores spans in one transaction, folding true duplicates.
    pub fn insert_spans(&self, rows: &[SpanRow]) -> Result<Written, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction().map_err(failed)?;
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
        tx.commit().map_err(failed)?;
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
        self.story(
            "SELECT * FROM logs
             WHERE (correlation_id = ?1 OR trace_id = ?1 OR session_id = ?1) AND provenance = ?2
               AND (time_ns, id) > (?3, ?4)
             ORDER BY time_ns, id LIMIT ?5",
            (id, provenance, after, limit),
            log_of,
        )
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
        self.story(
            "SELECT * FROM spans
             WHERE (correlation_id = ?1 OR trace_id = ?1 OR session_id = ?1) AND provenance = ?2
               AND (start_ns, id) > (?3, ?4)
             ORDER BY start_ns, id LIMIT ?5",
            (id, provenance, after, limit),
            span_of,
        )
    }

    /// Runs one page query of a story: `?1` the ID, `?2` the provenance, `?3, ?4` the position
    /// after which to start, `?5` the limit.
    fn story<T>(
        &self,
        sql: &str,
        (id, provenance, after, limit): (&str, Provenance, After, usize),
        of: fn(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let conn = self.lock()?;
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
        let conn = self.lock()?;
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

    /// Removes records and spans older than `cutoff_ns`; returns how many.
    pub fn remove_older_than(&self, cutoff_ns: i64) -> Result<usize, StoreError> {
        let conn = self.lock()?;
        let logs = conn
            .execute("DELETE FROM logs WHERE time_ns < ?1", params![cutoff_ns])
            .map_err(failed)?;
        let spans = conn
            .execute("DELETE FROM spans WHERE start_ns < ?1", params![cutoff_ns])
            .map_err(failed)?;
        Ok(logs + spans)
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
        self.lock()?
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .optional()
            .map_err(failed)
            .map(Option::unwrap_or_default)
    }
}

/// Counts one insert: `folded` is 0 for a new row, more for a duplicate.
fn count(written: &mut Written, folded: i64) {
    if folded == 0 {
        written.added += 1;
    } else {
        written.folded += 1;
    }
}
