//! The SQLite engine: one file, log records and spans indexed by correlation ID, trace ID,
//! session ID and time; a true duplicate folds into its first copy through the unique key. The
//! schema is migrated on open, its version kept in `threadline_schema`; a file made before the
//! compact rows (see [`super::packed`]) has its rows carried over once.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::columns::{StoredLog, StoredSpan, log_of, provenance_code, provenance_of, span_of};
use super::layouts::KnownLayouts;
use super::packed::{self, EncodedLayout, Layout};
use super::{
    After, Encoded, Prepared, RelatedError, Rows, StoreError, Written, count, failed, legacy,
};
use crate::rows::{LogRow, Provenance, SpanRow};
use rusqlite::{Connection, OptionalExtension, Row, ToSql, Transaction, params};

/// Each migration, in order; version N is the Nth. Never edit one that has shipped: add another.
/// The first is the schema of files made before the version table, which it finds in place.
const MIGRATIONS: &[&str] = &[FIRST_SCHEMA, COMPACT_SCHEMA, TIME_LED_KEY];

/// The first schema (version 1): every field in a column of its own as text or JSON, IDs as
/// hex. Public so that a test can make a store as an older collector left it.
pub const FIRST_SCHEMA: &str = "
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

/// The compact rows (version 2): IDs as bytes, typed values in postcard, what rows share in
/// `layouts`. The
/// duplicate key puts the content hash first, so that the planner never takes it for a scan of
/// one provenance instead of the ID indices (which the first schema's key invited). The
/// first schema's tables are set aside as `logs_v1` and `spans_v1` for their rows to be carried
/// over, then dropped. Public so that a test can make a store as an older collector left it.
pub const COMPACT_SCHEMA: &str = "
DROP INDEX IF EXISTS logs_correlation; DROP INDEX IF EXISTS logs_trace;
DROP INDEX IF EXISTS logs_session; DROP INDEX IF EXISTS logs_time;
DROP INDEX IF EXISTS spans_correlation; DROP INDEX IF EXISTS spans_trace;
DROP INDEX IF EXISTS spans_session; DROP INDEX IF EXISTS spans_time;
ALTER TABLE logs RENAME TO logs_v1;
ALTER TABLE spans RENAME TO spans_v1;
CREATE TABLE layouts (
    id      INTEGER PRIMARY KEY,
    hash    BLOB NOT NULL UNIQUE,
    content BLOB NOT NULL
);
CREATE TABLE logs (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    provenance         INTEGER NOT NULL,
    content_hash       BLOB NOT NULL,
    folded             INTEGER NOT NULL DEFAULT 0,
    time_ns            INTEGER NOT NULL,
    time_replaced      INTEGER NOT NULL,
    sent_time          INTEGER,
    observed_time      INTEGER NOT NULL,
    layout             INTEGER NOT NULL,
    severity_number    INTEGER NOT NULL,
    severity_text      TEXT NOT NULL,
    error              INTEGER NOT NULL,
    event_name         TEXT NOT NULL,
    body               BLOB NOT NULL,
    trace_id           BLOB,
    span_id            BLOB,
    flags              INTEGER NOT NULL,
    correlation_id     BLOB,
    session_id         BLOB,
    attributes         BLOB NOT NULL,
    dropped_attributes INTEGER NOT NULL,
    UNIQUE (content_hash, provenance)
);
CREATE INDEX logs_correlation ON logs (correlation_id, provenance, time_ns) WHERE correlation_id IS NOT NULL;
CREATE INDEX logs_trace ON logs (trace_id, provenance, time_ns) WHERE trace_id IS NOT NULL;
CREATE INDEX logs_session ON logs (session_id, provenance, time_ns) WHERE session_id IS NOT NULL;
CREATE INDEX logs_time ON logs (time_ns);
CREATE TABLE spans (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    provenance     INTEGER NOT NULL,
    content_hash   BLOB NOT NULL,
    folded         INTEGER NOT NULL DEFAULT 0,
    start_ns       INTEGER NOT NULL,
    end_ns         INTEGER NOT NULL,
    time_replaced  INTEGER NOT NULL,
    layout         INTEGER NOT NULL,
    name           TEXT NOT NULL,
    kind           INTEGER NOT NULL,
    trace_id       BLOB NOT NULL,
    span_id        BLOB NOT NULL,
    parent_span_id BLOB,
    status_code    INTEGER NOT NULL,
    status_message TEXT NOT NULL,
    flags          INTEGER NOT NULL,
    trace_state    TEXT NOT NULL,
    events         TEXT NOT NULL,
    links          TEXT NOT NULL,
    correlation_id BLOB,
    session_id     BLOB,
    attributes     BLOB NOT NULL,
    UNIQUE (content_hash, provenance)
);
CREATE INDEX spans_correlation ON spans (correlation_id, provenance, start_ns) WHERE correlation_id IS NOT NULL;
CREATE INDEX spans_trace ON spans (trace_id, provenance, start_ns);
CREATE INDEX spans_session ON spans (session_id, provenance, start_ns) WHERE session_id IS NOT NULL;
CREATE INDEX spans_time ON spans (start_ns);
";

/// The log records' duplicate key led by the time the record was sent (`sent_time`, else the
/// same `time_ns`), then the content hash: the hash covers that time, so the same rows are
/// duplicates as before, but new rows land at the key's end instead of at a random place, and a
/// commit rewrites a few index pages instead of one per row. SQLite cannot drop a table's
/// `UNIQUE`, so the table is copied once, row IDs kept.
const TIME_LED_KEY: &str = "
CREATE TABLE logs_v3 (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    provenance         INTEGER NOT NULL,
    content_hash       BLOB NOT NULL,
    folded             INTEGER NOT NULL DEFAULT 0,
    time_ns            INTEGER NOT NULL,
    time_replaced      INTEGER NOT NULL,
    sent_time          INTEGER,
    observed_time      INTEGER NOT NULL,
    layout             INTEGER NOT NULL,
    severity_number    INTEGER NOT NULL,
    severity_text      TEXT NOT NULL,
    error              INTEGER NOT NULL,
    event_name         TEXT NOT NULL,
    body               BLOB NOT NULL,
    trace_id           BLOB,
    span_id            BLOB,
    flags              INTEGER NOT NULL,
    correlation_id     BLOB,
    session_id         BLOB,
    attributes         BLOB NOT NULL,
    dropped_attributes INTEGER NOT NULL
);
INSERT INTO logs_v3 SELECT id, provenance, content_hash, folded, time_ns, time_replaced, sent_time,
    observed_time, layout, severity_number, severity_text, error, event_name, body, trace_id,
    span_id, flags, correlation_id, session_id, attributes, dropped_attributes FROM logs ORDER BY id;
DROP TABLE logs;
ALTER TABLE logs_v3 RENAME TO logs;
CREATE UNIQUE INDEX logs_content ON logs (ifnull(sent_time, time_ns), content_hash, provenance);
CREATE INDEX logs_correlation ON logs (correlation_id, provenance, time_ns) WHERE correlation_id IS NOT NULL;
CREATE INDEX logs_trace ON logs (trace_id, provenance, time_ns) WHERE trace_id IS NOT NULL;
CREATE INDEX logs_session ON logs (session_id, provenance, time_ns) WHERE session_id IS NOT NULL;
CREATE INDEX logs_time ON logs (time_ns);
";

/// Rows carried over from the first schema per step.
const CARRY_STEP: i64 = 5000;

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
    layouts: KnownLayouts,
}

/// Pages each connection keeps in its own cache, in KiB: SQLite's default of 2 MiB holds
/// little of the indices of a million rows, so every insert and search read their pages back
/// from the operating system.
const CACHE_KIB: i64 = 32 * 1024;

/// How much of the file connections read through a memory map instead of copying pages in
/// (shared by all of them, through the operating system's page cache).
const MMAP_BYTES: i64 = 1 << 30;

/// Statements each connection keeps prepared: the multi-row inserts of each size for both
/// tables (see [`chunk_len`]) and the queries.
const STATEMENTS_CACHED: usize = 48;

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(failed)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(failed)?;
    conn.set_prepared_statement_cache_capacity(STATEMENTS_CACHED);
    conn.execute_batch(&format!(
        "PRAGMA cache_size = -{CACHE_KIB}; PRAGMA mmap_size = {MMAP_BYTES};"
    ))
    .map_err(failed)?;
    Ok(conn)
}

/// Layout row IDs found or added by one transaction, remembered once it commits.
type NewLayouts = HashMap<Vec<u8>, i64>;

/// The columns a log row inserts, in the order `insert_logs` binds them.
const LOG_COLUMNS: &str = "provenance, content_hash, time_ns, time_replaced, sent_time,
    observed_time, layout, severity_number, severity_text, error, event_name, body, trace_id,
    span_id, flags, correlation_id, session_id, attributes, dropped_attributes, folded";

/// The columns a span inserts, in the order `insert_spans` binds them.
const SPAN_COLUMNS: &str = "provenance, content_hash, start_ns, end_ns, time_replaced, layout,
    name, kind, trace_id, span_id, parent_span_id, status_code, status_message, flags,
    trace_state, events, links, correlation_id, session_id, attributes, folded";

/// The duplicate key of each table, as its unique index spells it (see [`TIME_LED_KEY`]).
const LOG_KEY: &str = "ifnull(sent_time, time_ns), content_hash, provenance";
const SPAN_KEY: &str = "content_hash, provenance";

/// Rows one `INSERT` takes at most. SQLite keeps the pages a statement changes in a statement
/// journal, once per statement: one statement for many rows journals each page once instead of
/// once per row (a row touches the table and four indices).
const ROWS_PER_INSERT: usize = 128;

/// Rows of the next statement when `left` remain: [`ROWS_PER_INSERT`], else the largest power
/// of two, so that a handful of distinct statements serve every batch size from the cache.
fn chunk_len(left: usize) -> usize {
    if left >= ROWS_PER_INSERT {
        ROWS_PER_INSERT
    } else {
        1 << left.max(1).ilog2()
    }
}

/// Inserts `rows` into `table` in multi-row statements, a true duplicate folded into its first
/// copy (a copy later in the same statement included); what they did.
fn insert_rows<T>(
    tx: &Transaction<'_>,
    table: &str,
    columns: &str,
    key: &str,
    rows: impl IntoIterator<Item = T>,
    params_of: impl Fn(&T) -> Vec<&dyn ToSql>,
) -> Result<Written, StoreError> {
    let tuple = format!("({})", vec!["?"; columns.split(',').count()].join(", "));
    let rows: Vec<T> = rows.into_iter().collect();
    let mut written = Written::default();
    let mut rest = rows.as_slice();
    while !rest.is_empty() {
        let (chunk, after) = rest.split_at(chunk_len(rest.len()).min(rest.len()));
        rest = after;
        let sql = format!(
            "INSERT INTO {table} ({columns}) VALUES {}
             ON CONFLICT ({key}) DO UPDATE SET folded = folded + 1 + excluded.folded
             RETURNING folded",
            vec![tuple.as_str(); chunk.len()].join(", ")
        );
        let mut insert = tx.prepare_cached(&sql).map_err(failed)?;
        let values: Vec<&dyn ToSql> = chunk.iter().flat_map(&params_of).collect();
        let mut answers = insert
            .query(rusqlite::params_from_iter(values))
            .map_err(failed)?;
        while let Some(answer) = answers.next().map_err(failed)? {
            count(&mut written, answer.get(0).map_err(failed)?);
        }
    }
    Ok(written)
}

impl SqliteStore {
    /// Opens (creating if needed) the SQLite file at `path`, migrating its schema.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let mut conn = connect(path)?;
        // A statement journal (see `ROWS_PER_INSERT`) is only for undoing one statement
        // inside the transaction: in memory, not in a temporary file written per statement.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY;",
        )
        .map_err(failed)?;
        let store = SqliteStore {
            writer: Arc::new(Mutex::new(Connection::open_in_memory().map_err(failed)?)),
            readers: Arc::new(Vec::new()),
            next_reader: Arc::new(AtomicUsize::new(0)),
            layouts: KnownLayouts::default(),
        };
        store.migrate(&mut conn)?;
        let readers = (0..READERS)
            .map(|_| connect(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SqliteStore {
            writer: Arc::new(Mutex::new(conn)),
            readers: Arc::new(readers),
            ..store
        })
    }

    /// Applies the migrations not yet applied, in one transaction, then carries the first
    /// schema's rows into the compact tables.
    fn migrate(&self, conn: &mut Connection) -> Result<(), StoreError> {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(failed)?;
        tx.execute_batch("CREATE TABLE IF NOT EXISTS threadline_schema (version INTEGER NOT NULL)")
            .map_err(failed)?;
        let applied: i64 = tx
            .query_row("SELECT count(*) FROM threadline_schema", [], |r| r.get(0))
            .map_err(failed)?;
        let mut carry = false;
        for (version, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(applied).unwrap_or(usize::MAX))
        {
            tx.execute_batch(sql).map_err(failed)?;
            carry |= *sql == COMPACT_SCHEMA;
            let version = i64::try_from(version + 1).map_err(failed)?;
            tx.execute(
                "INSERT INTO threadline_schema (version) VALUES (?1)",
                params![version],
            )
            .map_err(failed)?;
        }
        // Into the newest schema, whose statements the inserts use.
        if carry {
            self.carry_over(&tx)?;
        }
        tx.commit().map_err(failed)
    }

    /// Moves the rows of `logs_v1` and `spans_v1` into the compact tables, in their order,
    /// folded counts kept, then drops the old tables.
    fn carry_over(&self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        let mut layouts = NewLayouts::new();
        for table in ["logs_v1", "spans_v1"] {
            let mut after = 0i64;
            loop {
                let mut query = tx
                    .prepare(&format!(
                        "SELECT * FROM {table} WHERE id > ?1 ORDER BY id LIMIT ?2"
                    ))
                    .map_err(failed)?;
                let (rows, last) = if table == "logs_v1" {
                    let rows = query
                        .query_map(params![after, CARRY_STEP], |r| legacy::log_of(r))
                        .map_err(failed)?
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(failed)?;
                    let last = rows.last().map(|r| r.row_id);
                    (Prepared::of(&Rows::Logs(rows)), last)
                } else {
                    let rows = query
                        .query_map(params![after, CARRY_STEP], |r| legacy::span_of(r))
                        .map_err(failed)?
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(failed)?;
                    let last = rows.last().map(|r| r.row_id);
                    (Prepared::of(&Rows::Spans(rows)), last)
                };
                self.insert_prepared(tx, &rows, &mut layouts)?;
                match last {
                    Some(id) if rows.len() == usize::try_from(CARRY_STEP).unwrap_or(0) => {
                        after = id;
                    }
                    _ => break,
                }
            }
        }
        tx.execute_batch("DROP TABLE logs_v1; DROP TABLE spans_v1;")
            .map_err(failed)
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
    pub fn insert_group(&self, jobs: &[Prepared]) -> Result<Vec<Written>, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction().map_err(failed)?;
        let mut layouts = NewLayouts::new();
        let mut written = Vec::with_capacity(jobs.len());
        for job in jobs {
            written.push(self.insert_prepared(&tx, job, &mut layouts)?);
        }
        tx.commit().map_err(failed)?;
        self.layouts.remember(&layouts);
        Ok(written)
    }

    fn insert_prepared(
        &self,
        tx: &Transaction<'_>,
        rows: &Prepared,
        layouts: &mut NewLayouts,
    ) -> Result<Written, StoreError> {
        match &rows.0 {
            Encoded::Logs(rows) => self.insert_logs(tx, rows, layouts),
            Encoded::Spans(rows) => self.insert_spans(tx, rows, layouts),
        }
    }

    /// The row ID of `layout`, added to `layouts` if it is new.
    fn layout_id(
        &self,
        tx: &Transaction<'_>,
        layout: &EncodedLayout,
        new: &mut NewLayouts,
    ) -> Result<i64, StoreError> {
        let (content, hash) = (&layout.content, &layout.key);
        if let Some(id) = self.layouts.get(hash).or_else(|| new.get(hash).copied()) {
            return Ok(id);
        }
        let id: i64 = tx
            .prepare_cached(
                "INSERT INTO layouts (hash, content) VALUES (?1, ?2)
                 ON CONFLICT (hash) DO UPDATE SET hash = excluded.hash RETURNING id",
            )
            .map_err(failed)?
            .query_row(params![hash, content], |r| r.get(0))
            .map_err(failed)?;
        new.insert(hash.clone(), id);
        Ok(id)
    }

    fn insert_logs(
        &self,
        tx: &Transaction<'_>,
        rows: &[StoredLog],
        layouts: &mut NewLayouts,
    ) -> Result<Written, StoreError> {
        let ids = self.layout_ids(tx, rows.iter().map(|s| &s.layout), layouts)?;
        insert_rows(
            tx,
            "logs",
            LOG_COLUMNS,
            LOG_KEY,
            rows.iter().zip(ids),
            |(s, layout)| {
                vec![
                    &s.provenance,
                    &s.content_hash,
                    &s.time_ns,
                    &s.time_replaced,
                    &s.sent_time,
                    &s.observed_time,
                    layout,
                    &s.severity_number,
                    &s.severity_text,
                    &s.error,
                    &s.event_name,
                    &s.body,
                    &s.trace_id,
                    &s.span_id,
                    &s.flags,
                    &s.correlation_id,
                    &s.session_id,
                    &s.attributes,
                    &s.dropped_attributes,
                    &s.folded,
                ]
            },
        )
    }

    fn insert_spans(
        &self,
        tx: &Transaction<'_>,
        rows: &[StoredSpan],
        layouts: &mut NewLayouts,
    ) -> Result<Written, StoreError> {
        let ids = self.layout_ids(tx, rows.iter().map(|s| &s.layout), layouts)?;
        insert_rows(
            tx,
            "spans",
            SPAN_COLUMNS,
            SPAN_KEY,
            rows.iter().zip(ids),
            |(s, layout)| {
                vec![
                    &s.provenance,
                    &s.content_hash,
                    &s.start_ns,
                    &s.end_ns,
                    &s.time_replaced,
                    layout,
                    &s.name,
                    &s.kind,
                    &s.trace_id,
                    &s.span_id,
                    &s.parent_span_id,
                    &s.status_code,
                    &s.status_message,
                    &s.flags,
                    &s.trace_state,
                    &s.events,
                    &s.links,
                    &s.correlation_id,
                    &s.session_id,
                    &s.attributes,
                    &s.folded,
                ]
            },
        )
    }

    /// The layout row ID of each of `layouts`, in order.
    fn layout_ids<'a>(
        &self,
        tx: &Transaction<'_>,
        layouts: impl Iterator<Item = &'a EncodedLayout>,
        new: &mut NewLayouts,
    ) -> Result<Vec<i64>, StoreError> {
        layouts.map(|l| self.layout_id(tx, l, new)).collect()
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
            .query_map(
                params![
                    packed::id(id),
                    provenance_code(provenance),
                    time,
                    row,
                    limit
                ],
                of,
            )
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
                "SELECT COALESCE(logs.correlation_id, logs.trace_id) AS story, MAX(logs.time_ns),
                    logs.provenance, logs.body, layouts.content
                 FROM logs JOIN layouts ON layouts.id = logs.layout
                 WHERE logs.session_id = ?1 AND story IS NOT NULL AND story != ?2
                   AND logs.error AND logs.time_ns BETWEEN ?3 AND ?4
                 GROUP BY story ORDER BY 2 DESC LIMIT ?5",
            )
            .map_err(failed)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = query
            .query_map(
                params![
                    packed::id(session),
                    packed::id(except),
                    from_ns,
                    to_ns,
                    limit
                ],
                |r| {
                    let story: Vec<u8> = r.get(0)?;
                    let body: Vec<u8> = r.get(3)?;
                    let layout: Vec<u8> = r.get(4)?;
                    Ok(RelatedError {
                        correlation_id: packed::id_text(&story),
                        time_ns: r.get(1)?,
                        service: Layout::decode(&layout).service,
                        provenance: provenance_of(r.get(2)?),
                        message: packed::value_of(&body).display(),
                    })
                },
            )
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
