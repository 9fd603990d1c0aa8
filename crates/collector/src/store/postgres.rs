//! The PostgreSQL engine: any number of collectors share one database. Records and spans live in
//! tables partitioned by day (days since the epoch of their timeline time), so retention drops
//! whole partitions and never deletes row by row under ingestion. The schema is created and
//! migrated on start under an advisory lock, its version kept in `threadline_schema`. A true
//! duplicate folds into its first copy through the unique key `(provenance, content_hash, day)`,
//! whichever collector received either copy.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Config, NoTls, Row};

use super::columns::{StoredLog, StoredSpan, log_of, provenance_code, provenance_of, span_of};
use super::layouts::KnownLayouts;
use super::packed::{self, EncodedLayout, Layout};
use super::pg_arrays::{LOG_INSERT, LogArrays, SPAN_INSERT, SpanArrays};
use super::{
    After, Encoded, Prepared, RelatedError, Rows, StoreError, Written, count, failed, legacy,
};
use crate::rows::{LogRow, Provenance, SpanRow};

/// Connections one collector holds at most.
const POOL_SIZE: usize = 16;

/// Key of the advisory lock that serialises migrations and partition creation across
/// collectors.
const SCHEMA_LOCK: i64 = 0x7468_7265_6164;

/// A day in nanoseconds.
const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// Each migration, in order; version N is the Nth. Never edit one that has shipped: add another.
const MIGRATIONS: &[&str] = &[FIRST_SCHEMA, COMPACT_SCHEMA];

/// The first schema (version 1): every field in a column of its own as text or JSON, IDs as
/// hex. Public so that a test can make a store as an older collector left it.
pub const FIRST_SCHEMA: &str = "
CREATE SEQUENCE logs_id_seq;
CREATE TABLE logs (
    id                 bigint NOT NULL DEFAULT nextval('logs_id_seq'),
    day                integer NOT NULL,
    provenance         text NOT NULL,
    content_hash       bytea NOT NULL,
    folded             bigint NOT NULL DEFAULT 0,
    time_ns            bigint NOT NULL,
    time_replaced      boolean NOT NULL,
    sent_time          text NOT NULL,
    observed_time      text NOT NULL,
    service            text NOT NULL,
    scope              text NOT NULL,
    scope_version      text NOT NULL,
    severity_number    integer NOT NULL,
    severity_text      text NOT NULL,
    level              text NOT NULL,
    event_name         text NOT NULL,
    body               text NOT NULL,
    message            text NOT NULL,
    trace_id           text,
    span_id            text,
    flags              bigint NOT NULL,
    correlation_id     text,
    session_id         text,
    event_id           text,
    resource           text NOT NULL,
    attributes         text NOT NULL,
    dropped_attributes bigint NOT NULL,
    UNIQUE (provenance, content_hash, day)
) PARTITION BY RANGE (day);
CREATE INDEX logs_correlation ON logs (correlation_id, provenance, time_ns);
CREATE INDEX logs_trace ON logs (trace_id, provenance, time_ns);
CREATE INDEX logs_session ON logs (session_id, provenance, time_ns);
CREATE SEQUENCE spans_id_seq;
CREATE TABLE spans (
    id             bigint NOT NULL DEFAULT nextval('spans_id_seq'),
    day            integer NOT NULL,
    provenance     text NOT NULL,
    content_hash   bytea NOT NULL,
    folded         bigint NOT NULL DEFAULT 0,
    start_ns       bigint NOT NULL,
    end_ns         bigint NOT NULL,
    time_replaced  boolean NOT NULL,
    service        text NOT NULL,
    scope          text NOT NULL,
    scope_version  text NOT NULL,
    name           text NOT NULL,
    kind           integer NOT NULL,
    trace_id       text NOT NULL,
    span_id        text NOT NULL,
    parent_span_id text,
    status_code    integer NOT NULL,
    status_message text NOT NULL,
    flags          bigint NOT NULL,
    correlation_id text,
    session_id     text,
    resource       text NOT NULL,
    attributes     text NOT NULL,
    trace_state    text NOT NULL,
    events         text NOT NULL,
    links          text NOT NULL,
    UNIQUE (provenance, content_hash, day)
) PARTITION BY RANGE (day);
CREATE INDEX spans_correlation ON spans (correlation_id, provenance, start_ns);
CREATE INDEX spans_trace ON spans (trace_id, provenance, start_ns);
CREATE INDEX spans_session ON spans (session_id, provenance, start_ns);
";

/// The compact rows (see [`super::packed`]): IDs as bytes, typed values in postcard, what rows
/// share in `layouts`, fixed-width columns first so that no byte goes to alignment. The first
/// schema's tables and partitions are set aside as `logs_v1`, `spans_v1` for their rows to be
/// carried over, then dropped.
const COMPACT_SCHEMA: &str = "
DROP INDEX logs_correlation, logs_trace, logs_session, spans_correlation, spans_trace, spans_session;
ALTER TABLE logs RENAME TO logs_v1;
ALTER TABLE spans RENAME TO spans_v1;
DO $$
DECLARE part record;
BEGIN
    FOR part IN SELECT child.relname AS name FROM pg_inherits
        JOIN pg_class parent ON parent.oid = inhparent JOIN pg_class child ON child.oid = inhrelid
        WHERE parent.relname IN ('logs_v1', 'spans_v1')
    LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', part.name,
            regexp_replace(part.name, '^(logs|spans)_', '\\1_v1_'));
    END LOOP;
END $$;
CREATE TABLE layouts (
    id      bigserial PRIMARY KEY,
    hash    bytea NOT NULL UNIQUE,
    content bytea NOT NULL
);
CREATE TABLE logs (
    id                 bigint NOT NULL DEFAULT nextval('logs_id_seq'),
    time_ns            bigint NOT NULL,
    observed_time      bigint NOT NULL,
    layout             bigint NOT NULL,
    folded             bigint NOT NULL DEFAULT 0,
    flags              bigint NOT NULL,
    dropped_attributes bigint NOT NULL,
    sent_time          bigint,
    day                integer NOT NULL,
    severity_number    integer NOT NULL,
    provenance         smallint NOT NULL,
    time_replaced      boolean NOT NULL,
    error              boolean NOT NULL,
    content_hash       bytea NOT NULL,
    trace_id           bytea,
    span_id            bytea,
    correlation_id     bytea,
    session_id         bytea,
    severity_text      text NOT NULL,
    event_name         text NOT NULL,
    body               bytea NOT NULL,
    attributes         bytea NOT NULL,
    UNIQUE (provenance, content_hash, day)
) PARTITION BY RANGE (day);
CREATE INDEX logs_correlation ON logs (correlation_id, provenance, time_ns) WHERE correlation_id IS NOT NULL;
CREATE INDEX logs_trace ON logs (trace_id, provenance, time_ns) WHERE trace_id IS NOT NULL;
CREATE INDEX logs_session ON logs (session_id, provenance, time_ns) WHERE session_id IS NOT NULL;
CREATE TABLE spans (
    id             bigint NOT NULL DEFAULT nextval('spans_id_seq'),
    start_ns       bigint NOT NULL,
    end_ns         bigint NOT NULL,
    layout         bigint NOT NULL,
    folded         bigint NOT NULL DEFAULT 0,
    flags          bigint NOT NULL,
    day            integer NOT NULL,
    kind           integer NOT NULL,
    status_code    integer NOT NULL,
    provenance     smallint NOT NULL,
    time_replaced  boolean NOT NULL,
    content_hash   bytea NOT NULL,
    trace_id       bytea NOT NULL,
    span_id        bytea NOT NULL,
    parent_span_id bytea,
    correlation_id bytea,
    session_id     bytea,
    name           text NOT NULL,
    status_message text NOT NULL,
    trace_state    text NOT NULL,
    events         text NOT NULL,
    links          text NOT NULL,
    attributes     bytea NOT NULL,
    UNIQUE (provenance, content_hash, day)
) PARTITION BY RANGE (day);
CREATE INDEX spans_correlation ON spans (correlation_id, provenance, start_ns) WHERE correlation_id IS NOT NULL;
CREATE INDEX spans_trace ON spans (trace_id, provenance, start_ns);
CREATE INDEX spans_session ON spans (session_id, provenance, start_ns) WHERE session_id IS NOT NULL;
";

/// Rows carried over from the first schema per step.
const CARRY_STEP: i64 = 5000;

/// Rows one `INSERT` takes at most (each table's rows of a group, as arrays: see
/// [`super::pg_arrays`]).
const ROWS_PER_INSERT: usize = 1000;

/// How often a write that lost a deadlock or a dropped partition is tried again.
const ATTEMPTS: usize = 3;

/// The PostgreSQL engine: a connection pool and the day partitions known to exist.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    days: Arc<Mutex<HashSet<(&'static str, i32)>>>,
    layouts: KnownLayouts,
}

/// A PostgreSQL URL without its password, for the start-up line.
pub fn describe(url: &str) -> String {
    match Config::from_str(url) {
        Ok(config) => {
            let host = config
                .get_hosts()
                .first()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(name) => name.clone(),
                    tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .unwrap_or_default();
            let port = config.get_ports().first().copied().unwrap_or(5432);
            let db = config.get_dbname().unwrap_or_default();
            format!("postgres://{host}:{port}/{db}")
        }
        Err(_) => "postgres (unparsable URL)".to_owned(),
    }
}

/// The partition day of a time in ns.
fn day_of(time_ns: i64) -> i32 {
    i32::try_from(time_ns.div_euclid(DAY_NS)).unwrap_or(if time_ns < 0 {
        i32::MIN
    } else {
        i32::MAX
    })
}

/// True for the failures a second attempt can cure: a deadlock or serialisation failure
/// between collectors, or a partition another collector dropped.
fn retriable(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::CHECK_VIOLATION
    })
}

/// A row's unique key: provenance, content hash, day.
type Key = (i16, Vec<u8>, i32);

/// A row's stored columns, of one table or the other.
enum Stored<'a> {
    Log(&'a StoredLog),
    Span(&'a StoredSpan),
}

/// One row ready to insert: its table, partition day, unique key, layout, columns, and which
/// request of the group it came from.
struct Pending<'a> {
    table: &'static str,
    day: i32,
    hash: &'a [u8],
    layout: &'a EncodedLayout,
    stored: Stored<'a>,
    job: usize,
}

impl Pending<'_> {
    /// The unique key it folds by.
    fn key(&self) -> Key {
        (self.provenance(), self.hash.to_vec(), self.day)
    }

    fn provenance(&self) -> i16 {
        match self.stored {
            Stored::Log(s) => s.provenance,
            Stored::Span(s) => s.provenance,
        }
    }

    /// The folded count it brings from where it came (non-zero only for rows carried over).
    fn folded(&self) -> i64 {
        match self.stored {
            Stored::Log(s) => s.folded,
            Stored::Span(s) => s.folded,
        }
    }
}

/// The rows of a group, in key order, so that two collectors writing overlapping batches take
/// their row locks in the same order.
fn pending(jobs: &[Prepared]) -> Vec<Pending<'_>> {
    let mut rows = in_order(jobs);
    rows.sort_by(|a, b| {
        (a.table, a.day, a.hash, a.provenance()).cmp(&(b.table, b.day, b.hash, b.provenance()))
    });
    rows
}

/// The rows of a group in the order they came.
fn in_order(jobs: &[Prepared]) -> Vec<Pending<'_>> {
    let mut rows = Vec::new();
    for (job, rows_of) in jobs.iter().enumerate() {
        match &rows_of.0 {
            Encoded::Logs(logs) => rows.extend(logs.iter().map(|s| Pending {
                table: "logs",
                day: day_of(s.time_ns),
                hash: &s.content_hash,
                layout: &s.layout,
                stored: Stored::Log(s),
                job,
            })),
            Encoded::Spans(spans) => rows.extend(spans.iter().map(|s| Pending {
                table: "spans",
                day: day_of(s.start_ns),
                hash: &s.content_hash,
                layout: &s.layout,
                stored: Stored::Span(s),
                job,
            })),
        }
    }
    rows
}

/// The row IDs of the layouts `rows` use, from `known` or else found or added in `layouts`.
async fn layout_ids(
    client: &impl GenericClient,
    rows: &[Pending<'_>],
    known: &KnownLayouts,
) -> Result<HashMap<Vec<u8>, i64>, tokio_postgres::Error> {
    let mut ids = HashMap::new();
    for row in rows {
        let (content, hash): (&Vec<u8>, &Vec<u8>) = (&row.layout.content, &row.layout.key);
        if ids.contains_key(hash) {
            continue;
        }
        if let Some(id) = known.get(hash) {
            ids.insert(hash.clone(), id);
            continue;
        }
        client
            .execute(
                "INSERT INTO layouts (hash, content) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING",
                &[hash, content],
            )
            .await?;
        let id: i64 = client
            .query_one("SELECT id FROM layouts WHERE hash = $1", &[hash])
            .await?
            .try_get(0)?;
        ids.insert(hash.clone(), id);
    }
    Ok(ids)
}

/// Creates the day partitions of `missing` on `tx`, which holds the schema lock.
async fn create_days(
    tx: &impl GenericClient,
    missing: &[(&'static str, i32)],
) -> Result<(), tokio_postgres::Error> {
    for (table, day) in missing {
        let name = partition(table, *day);
        let next = i64::from(*day) + 1;
        tx.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} FOR VALUES FROM ({day}) TO ({next})"
        ))
        .await?;
    }
    Ok(())
}

impl PostgresStore {
    /// Connects to `url`, then creates or migrates the schema.
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let config = Config::from_str(url).map_err(failed)?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(failed)?;
        let store = PostgresStore {
            pool,
            days: Arc::new(Mutex::new(HashSet::new())),
            layouts: KnownLayouts::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(failed)
    }

    /// Applies the migrations not yet applied, one transaction each, under the schema lock.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(failed)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .await
            .map_err(failed)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS threadline_schema (version integer NOT NULL)")
            .await
            .map_err(failed)?;
        let applied: i64 = tx
            .query_one("SELECT count(*) FROM threadline_schema", &[])
            .await
            .map_err(failed)?
            .try_get(0)
            .map_err(failed)?;
        for (version, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(applied).unwrap_or(usize::MAX))
        {
            tx.batch_execute(sql).await.map_err(failed)?;
            if *sql == COMPACT_SCHEMA {
                carry_over(&tx).await.map_err(failed)?;
            }
            let version = i32::try_from(version + 1).map_err(failed)?;
            tx.execute(
                "INSERT INTO threadline_schema (version) VALUES ($1)",
                &[&version],
            )
            .await
            .map_err(failed)?;
        }
        tx.commit().await.map_err(failed)
    }

    /// Creates the day partitions of `table` that `days` need and this collector has not seen.
    async fn ensure_days(&self, rows: &[Pending<'_>]) -> Result<(), StoreError> {
        let mut missing: Vec<(&'static str, i32)> = {
            let known = self.days.lock().map_err(|_| failed("a writer panicked"))?;
            rows.iter()
                .map(|r| (r.table, r.day))
                .filter(|key| !known.contains(key))
                .collect()
        };
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(failed)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .await
            .map_err(failed)?;
        create_days(&tx, &missing).await.map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        let mut known = self.days.lock().map_err(|_| failed("a writer panicked"))?;
        known.extend(missing);
        Ok(())
    }

    /// See [`super::Store::insert_group`]: one transaction, pipelined, tried again when it lost
    /// a deadlock or a partition was dropped meanwhile.
    pub async fn insert_group(&self, jobs: &[Prepared]) -> Result<Vec<Written>, StoreError> {
        let rows = pending(jobs);
        let mut last = String::new();
        for _ in 0..ATTEMPTS {
            self.ensure_days(&rows).await?;
            let mut client = self.client().await?;
            let layouts = layout_ids(&client, &rows, &self.layouts)
                .await
                .map_err(failed)?;
            self.layouts.remember(&layouts);
            let tx = client.transaction().await.map_err(failed)?;
            match insert_rows(&tx, &rows, &layouts, jobs.len()).await {
                Ok(written) => {
                    tx.commit().await.map_err(failed)?;
                    return Ok(written);
                }
                Err(e) if retriable(&e) => {
                    last = e.to_string();
                    let mut known = self.days.lock().map_err(|_| failed("a writer panicked"))?;
                    known.clear();
                }
                Err(e) => return Err(failed(e)),
            }
        }
        Err(failed(last))
    }

    /// Runs one page query of a story: `$1` the ID, `$2` the provenance, `$3, $4` the position
    /// after which to start, `$5` the limit.
    async fn story<T>(
        &self,
        sql: &str,
        (id, provenance, after, limit): (&str, Provenance, After, usize),
        of: fn(&Row) -> Result<T, tokio_postgres::Error>,
    ) -> Result<Vec<T>, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(failed)?;
        let (time, row) = after.unwrap_or((i64::MIN, i64::MIN));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                &statement,
                &[
                    &packed::id(id),
                    &provenance_code(provenance),
                    &time,
                    &row,
                    &limit,
                ],
            )
            .await
            .map_err(failed)?;
        rows.iter()
            .map(of)
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)
    }

    /// See [`super::Store::logs`].
    pub async fn logs(
        &self,
        id: &str,
        provenance: Provenance,
        after: After,
        limit: usize,
    ) -> Result<Vec<LogRow>, StoreError> {
        self.story(super::LOGS_PAGE, (id, provenance, after, limit), log_of)
            .await
    }

    /// See [`super::Store::spans`].
    pub async fn spans(
        &self,
        id: &str,
        provenance: Provenance,
        after: After,
        limit: usize,
    ) -> Result<Vec<SpanRow>, StoreError> {
        self.story(super::SPANS_PAGE, (id, provenance, after, limit), span_of)
            .await
    }

    /// See [`super::Store::related_errors`].
    pub async fn related_errors(
        &self,
        session: &str,
        except: &str,
        (from_ns, to_ns): (i64, i64),
        limit: usize,
    ) -> Result<Vec<RelatedError>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT * FROM (
                    SELECT DISTINCT ON (story) story, time_ns, provenance, body, layout
                    FROM (SELECT COALESCE(correlation_id, trace_id) AS story, * FROM logs
                          WHERE session_id = $1 AND error AND time_ns BETWEEN $3 AND $4) errors
                    WHERE story IS NOT NULL AND story != $2
                    ORDER BY story, time_ns DESC, id DESC
                 ) latest JOIN layouts ON layouts.id = latest.layout
                 ORDER BY time_ns DESC LIMIT $5",
            )
            .await
            .map_err(failed)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (session, except) = (packed::id(session), packed::id(except));
        let rows = client
            .query(&statement, &[&session, &except, &from_ns, &to_ns, &limit])
            .await
            .map_err(failed)?;
        rows.iter()
            .map(|r| {
                let story: Vec<u8> = r.try_get("story")?;
                let body: Vec<u8> = r.try_get("body")?;
                let layout: Vec<u8> = r.try_get("content")?;
                Ok(RelatedError {
                    correlation_id: packed::id_text(&story),
                    time_ns: r.try_get("time_ns")?,
                    service: Layout::decode(&layout).service,
                    provenance: provenance_of(i64::from(r.try_get::<_, i16>("provenance")?)),
                    message: packed::value_of(&body).display(),
                })
            })
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()
            .map_err(failed)
    }

    /// Drops every day partition whose whole day is older than `cutoff_ns`; returns how many
    /// rows they held.
    pub async fn remove_older_than(&self, cutoff_ns: i64) -> Result<usize, StoreError> {
        let cutoff_day = day_of(cutoff_ns);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(failed)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .await
            .map_err(failed)?;
        let old = tx
            .query(
                "SELECT parent.relname, child.relname
                 FROM pg_inherits
                 JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
                 JOIN pg_class child ON child.oid = pg_inherits.inhrelid
                 WHERE parent.relname IN ('logs', 'spans')",
                &[],
            )
            .await
            .map_err(failed)?;
        let mut removed = 0;
        let mut dropped = Vec::new();
        for row in old {
            let table: String = row.try_get(0).map_err(failed)?;
            let name: String = row.try_get(1).map_err(failed)?;
            let Some(day) = day_of_partition(&table, &name) else {
                continue;
            };
            if day >= cutoff_day {
                continue;
            }
            let held: i64 = tx
                .query_one(&format!("SELECT count(*) FROM {name}"), &[])
                .await
                .map_err(failed)?
                .try_get(0)
                .map_err(failed)?;
            tx.batch_execute(&format!("DROP TABLE {name}"))
                .await
                .map_err(failed)?;
            removed += usize::try_from(held).unwrap_or_default();
            dropped.push(day);
        }
        tx.commit().await.map_err(failed)?;
        let mut known = self.days.lock().map_err(|_| failed("a writer panicked"))?;
        known.retain(|(_, d)| !dropped.contains(d));
        Ok(removed)
    }

    /// How many rows `table` (`logs` or `spans`) holds.
    pub async fn count(&self, table: &'static str) -> Result<i64, StoreError> {
        self.client()
            .await?
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .map_err(failed)?
            .try_get(0)
            .map_err(failed)
    }
}

/// The name of `table`'s partition for `day`: `logs_d20423`, or `logs_dm3` before the epoch.
fn partition(table: &str, day: i32) -> String {
    if day < 0 {
        format!("{table}_dm{}", day.unsigned_abs())
    } else {
        format!("{table}_d{day}")
    }
}

/// The day a partition named by [`partition`] holds.
fn day_of_partition(table: &str, name: &str) -> Option<i32> {
    let suffix = name.strip_prefix(table)?.strip_prefix("_d")?;
    match suffix.strip_prefix('m') {
        Some(negative) => negative.parse::<i32>().ok().map(|d| -d),
        None => suffix.parse().ok(),
    }
}

/// Moves the rows of `logs_v1` and `spans_v1` into the compact tables on `tx` (which holds the
/// schema lock), in their order, folded counts kept, then drops the old tables.
async fn carry_over(tx: &deadpool_postgres::Transaction<'_>) -> Result<(), tokio_postgres::Error> {
    for table in ["logs_v1", "spans_v1"] {
        let mut after = 0i64;
        loop {
            let found = tx
                .query(
                    &format!("SELECT * FROM {table} WHERE id > $1 ORDER BY id LIMIT $2"),
                    &[&after, &CARRY_STEP],
                )
                .await?;
            let Some(last) = found.last() else { break };
            after = last.try_get("id")?;
            let rows = if table == "logs_v1" {
                Rows::Logs(found.iter().map(legacy::log_of).collect::<Result<_, _>>()?)
            } else {
                Rows::Spans(
                    found
                        .iter()
                        .map(legacy::span_of)
                        .collect::<Result<_, _>>()?,
                )
            };
            let prepared = [Prepared::of(&rows)];
            let rows = in_order(&prepared);
            let mut days: Vec<_> = rows.iter().map(|r| (r.table, r.day)).collect();
            days.sort_unstable();
            days.dedup();
            create_days(tx, &days).await?;
            let layouts = layout_ids(tx, &rows, &KnownLayouts::default()).await?;
            insert_rows(tx, &rows, &layouts, 1).await?;
        }
    }
    tx.batch_execute("DROP TABLE logs_v1; DROP TABLE spans_v1;")
        .await
}

/// Inserts `rows` on `tx`, each table's in multi-row statements, a row whose key comes again
/// in the group written once with the other copies folded in; what the rows of each of the
/// `jobs` requests did.
async fn insert_rows(
    tx: &deadpool_postgres::Transaction<'_>,
    rows: &[Pending<'_>],
    layouts: &HashMap<Vec<u8>, i64>,
    jobs: usize,
) -> Result<Vec<Written>, tokio_postgres::Error> {
    let mut firsts: Vec<&Pending<'_>> = Vec::new();
    let mut copies: HashMap<Key, i64> = HashMap::new();
    for row in rows {
        match copies.get_mut(&row.key()) {
            Some(more) => *more += 1,
            None => {
                copies.insert(row.key(), 0);
                firsts.push(row);
            }
        }
    }
    let mut folded: HashMap<Key, i64> = HashMap::new();
    for chunk in firsts.chunks(ROWS_PER_INSERT) {
        let (mut logs, mut spans) = (LogArrays::default(), SpanArrays::default());
        for r in chunk {
            let layout = layouts.get(&r.layout.key).copied().unwrap_or_default();
            let brought = r.folded() + copies.get(&r.key()).copied().unwrap_or(0);
            match r.stored {
                Stored::Log(s) => logs.push(s, r.day, layout, brought),
                Stored::Span(s) => spans.push(s, r.day, layout, brought),
            }
        }
        let mut answers = Vec::new();
        if !logs.is_empty() {
            let insert = tx.prepare_cached(LOG_INSERT).await?;
            answers.extend(tx.query(&insert, &logs.params()).await?);
        }
        if !spans.is_empty() {
            let insert = tx.prepare_cached(SPAN_INSERT).await?;
            answers.extend(tx.query(&insert, &spans.params()).await?);
        }
        for answer in answers {
            folded.insert(
                (answer.try_get(0)?, answer.try_get(1)?, answer.try_get(2)?),
                answer.try_get(3)?,
            );
        }
    }
    let mut written = vec![Written::default(); jobs];
    let mut seen: HashSet<Key> = HashSet::new();
    for row in rows {
        let key = row.key();
        let brought = row.folded() + copies.get(&key).copied().unwrap_or(0);
        let stored_now = seen.insert(key.clone()) && folded.get(&key) == Some(&brought);
        if let Some(w) = written.get_mut(row.job) {
            count(w, if stored_now { 0 } else { 1 });
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_round_trip() {
        for day in [0, 1, 20_423, -3] {
            assert_eq!(day_of_partition("logs", &partition("logs", day)), Some(day));
        }
        assert_eq!(day_of_partition("logs", "spans_d1"), None);
        assert_eq!(day_of(DAY_NS - 1), 0);
        assert_eq!(day_of(-1), -1);
    }
}
