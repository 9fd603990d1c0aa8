//! The PostgreSQL engine: any number of collectors share one database. Records and spans live in
//! tables partitioned by day (days since the epoch of their timeline time), so retention drops
//! whole partitions and never deletes row by row under ingestion. The schema is created and
//! migrated on start under an advisory lock, its version kept in `threadline_schema`. A true
//! duplicate folds into its first copy through the unique key `(provenance, content_hash, day)`,
//! whichever collector received either copy.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Config, NoTls, Row};

use super::columns::{log_of, span_of};
use super::{After, RelatedError, Rows, StoreError, Written, count, failed, json_text};
use crate::rows::{LogRow, Provenance, SpanRow};

/// Connections one collector holds at most.
const POOL_SIZE: usize = 16;

/// Key of the advisory lock that serialises migrations and partition creation across
/// collectors.
const SCHEMA_LOCK: i64 = 0x7468_7265_6164;

/// A day in nanoseconds.
const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// Each migration, in order; version N is the Nth. Never edit one that has shipped: add another.
const MIGRATIONS: &[&str] = &["
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
"];

const INSERT_LOG: &str = "
INSERT INTO logs (day, provenance, content_hash, time_ns, time_replaced, sent_time, observed_time,
    service, scope, scope_version, severity_number, severity_text, level, event_name, body, message,
    trace_id, span_id, flags, correlation_id, session_id, event_id, resource, attributes,
    dropped_attributes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
    $21, $22, $23, $24, $25)
ON CONFLICT (provenance, content_hash, day) DO UPDATE SET folded = logs.folded + 1
RETURNING folded";

const INSERT_SPAN: &str = "
INSERT INTO spans (day, provenance, content_hash, start_ns, end_ns, time_replaced, service, scope,
    scope_version, name, kind, trace_id, span_id, parent_span_id, status_code, status_message, flags,
    correlation_id, session_id, resource, attributes, trace_state, events, links)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
    $21, $22, $23, $24)
ON CONFLICT (provenance, content_hash, day) DO UPDATE SET folded = spans.folded + 1
RETURNING folded";

/// How often a write that lost a deadlock or a dropped partition is tried again.
const ATTEMPTS: usize = 3;

/// The PostgreSQL engine: a connection pool and the day partitions known to exist.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    days: Arc<Mutex<HashSet<(&'static str, i32)>>>,
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

/// One row as the insert statement's parameters, with its partition day.
type Params = Vec<Box<dyn ToSql + Sync + Send>>;

fn log_params(row: &LogRow) -> Params {
    vec![
        Box::new(day_of(row.time_ns)),
        Box::new(row.provenance.as_str()),
        Box::new(row.content_hash.to_vec()),
        Box::new(row.time_ns),
        Box::new(row.time_replaced),
        Box::new(row.sent_time_unix_nano.to_string()),
        Box::new(row.observed_time_unix_nano.to_string()),
        Box::new(row.service.clone()),
        Box::new(row.scope.clone()),
        Box::new(row.scope_version.clone()),
        Box::new(row.severity_number),
        Box::new(row.severity_text.clone()),
        Box::new(row.level.clone()),
        Box::new(row.event_name.clone()),
        Box::new(json_text(&row.body)),
        Box::new(row.message.clone()),
        Box::new(row.trace_id.clone()),
        Box::new(row.span_id.clone()),
        Box::new(i64::from(row.flags)),
        Box::new(row.correlation_id.clone()),
        Box::new(row.session_id.clone()),
        Box::new(row.event_id.clone()),
        Box::new(json_text(&row.resource)),
        Box::new(json_text(&row.attributes)),
        Box::new(i64::from(row.dropped_attributes_count)),
    ]
}

fn span_params(row: &SpanRow) -> Params {
    vec![
        Box::new(day_of(row.start_ns)),
        Box::new(row.provenance.as_str()),
        Box::new(row.content_hash.to_vec()),
        Box::new(row.start_ns),
        Box::new(row.end_ns),
        Box::new(row.time_replaced),
        Box::new(row.service.clone()),
        Box::new(row.scope.clone()),
        Box::new(row.scope_version.clone()),
        Box::new(row.name.clone()),
        Box::new(row.kind),
        Box::new(row.trace_id.clone()),
        Box::new(row.span_id.clone()),
        Box::new(row.parent_span_id.clone()),
        Box::new(row.status_code),
        Box::new(row.status_message.clone()),
        Box::new(i64::from(row.flags)),
        Box::new(row.correlation_id.clone()),
        Box::new(row.session_id.clone()),
        Box::new(json_text(&row.resource)),
        Box::new(json_text(&row.attributes)),
        Box::new(row.trace_state.clone()),
        Box::new(row.events.to_string()),
        Box::new(row.links.to_string()),
    ]
}

/// One row ready to insert: its table, partition day, unique key, parameters, and which
/// request of the group it came from.
struct Pending {
    table: &'static str,
    day: i32,
    hash: Vec<u8>,
    params: Params,
    job: usize,
}

/// The rows of a group, in key order, so that two collectors writing overlapping batches take
/// their row locks in the same order.
fn pending(jobs: &[Rows]) -> Vec<Pending> {
    let mut rows = Vec::new();
    for (job, rows_of) in jobs.iter().enumerate() {
        match rows_of {
            Rows::Logs(logs) => rows.extend(logs.iter().map(|r| Pending {
                table: "logs",
                day: day_of(r.time_ns),
                hash: r.content_hash.to_vec(),
                params: log_params(r),
                job,
            })),
            Rows::Spans(spans) => rows.extend(spans.iter().map(|r| Pending {
                table: "spans",
                day: day_of(r.start_ns),
                hash: r.content_hash.to_vec(),
                params: span_params(r),
                job,
            })),
        }
    }
    rows.sort_by(|a, b| (a.table, a.day, &a.hash).cmp(&(b.table, b.day, &b.hash)));
    rows
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
    async fn ensure_days(&self, rows: &[Pending]) -> Result<(), StoreError> {
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
        for (table, day) in &missing {
            let name = partition(table, *day);
            let next = i64::from(*day) + 1;
            tx.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} FOR VALUES FROM ({day}) TO ({next})"
            ))
            .await
            .map_err(failed)?;
        }
        tx.commit().await.map_err(failed)?;
        let mut known = self.days.lock().map_err(|_| failed("a writer panicked"))?;
        known.extend(missing);
        Ok(())
    }

    /// See [`super::Store::insert_group`]: one transaction, pipelined, tried again when it lost
    /// a deadlock or a partition was dropped meanwhile.
    pub async fn insert_group(&self, jobs: &[Rows]) -> Result<Vec<Written>, StoreError> {
        let rows = pending(jobs);
        let mut last = String::new();
        for _ in 0..ATTEMPTS {
            self.ensure_days(&rows).await?;
            let mut client = self.client().await?;
            match try_insert(&mut client, &rows, jobs.len()).await {
                Ok(written) => return Ok(written),
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
                &[&id, &provenance.as_str(), &time, &row, &limit],
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
                    SELECT DISTINCT ON (correlation_id) correlation_id, time_ns, service, provenance, message
                    FROM logs
                    WHERE session_id = $1 AND correlation_id IS NOT NULL AND correlation_id != $2
                      AND level IN ('ERROR', 'FATAL') AND time_ns BETWEEN $3 AND $4
                    ORDER BY correlation_id, time_ns DESC, id DESC
                 ) latest ORDER BY time_ns DESC LIMIT $5",
            )
            .await
            .map_err(failed)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(&statement, &[&session, &except, &from_ns, &to_ns, &limit])
            .await
            .map_err(failed)?;
        rows.iter()
            .map(|r| {
                let provenance: String = r.try_get(3)?;
                Ok(RelatedError {
                    correlation_id: r.try_get(0)?,
                    time_ns: r.try_get(1)?,
                    service: r.try_get(2)?,
                    provenance: Provenance::parse(&provenance),
                    message: r.try_get(4)?,
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

/// Inserts `rows` in one transaction on `client`, their statements pipelined; what the rows
/// of each of the `jobs` requests did.
async fn try_insert(
    client: &mut deadpool_postgres::Object,
    rows: &[Pending],
    jobs: usize,
) -> Result<Vec<Written>, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    let logs = tx.prepare_cached(INSERT_LOG).await?;
    let spans = tx.prepare_cached(INSERT_SPAN).await?;
    let inserts = rows.iter().map(|row| {
        let refs: Vec<&(dyn ToSql + Sync)> = row
            .params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let statement = if row.table == "logs" { &logs } else { &spans };
        let tx = &tx;
        async move { tx.query_one(statement, &refs).await }
    });
    let folded = futures_util::future::try_join_all(inserts).await?;
    let mut written = vec![Written::default(); jobs];
    for (row, answer) in rows.iter().zip(folded) {
        if let Some(w) = written.get_mut(row.job) {
            count(w, answer.try_get(0)?);
        }
    }
    tx.commit().await?;
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
