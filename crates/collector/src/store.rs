//! The store: log records and spans, each with who sent it, indexed by correlation ID, trace ID,
//! session ID and time, in one of two engines behind one interface. SQLite (a file, the default)
//! serves one collector; PostgreSQL serves any number of collectors sharing one database. A true
//! duplicate (same sender class and same content hash) is folded into the first copy and
//! counted; anything else is stored, so no record can hide another. Every query is
//! parameterised.

mod columns;
mod layouts;
mod legacy;
pub(crate) mod packed;
mod pg_arrays;
pub mod postgres;
pub mod sqlite;

use std::path::Path;

use serde::Serialize;

use crate::rows::{LogRow, Provenance, SpanRow, decimal};
use postgres::PostgresStore;
use sqlite::SqliteStore;

/// The store, shared by the request handlers: one engine or the other.
#[derive(Clone)]
pub enum Store {
    /// A SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database, possibly shared with other collectors.
    Postgres(PostgresStore),
}

/// A store failure, as text for the log and a 503 answer.
pub type StoreError = String;

pub(crate) fn failed(e: impl std::fmt::Display) -> StoreError {
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

/// One request's decoded rows, of one signal.
#[derive(Clone, Debug)]
pub enum Rows {
    /// Log records.
    Logs(Vec<LogRow>),
    /// Spans.
    Spans(Vec<SpanRow>),
}

impl Rows {
    /// How many rows.
    pub fn len(&self) -> usize {
        match self {
            Rows::Logs(rows) => rows.len(),
            Rows::Spans(rows) => rows.len(),
        }
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One request's rows in their stored form: encoded by the request's own task before they
/// reach the queue, so that the writer, which is one per SQLite file, only writes.
#[derive(Clone)]
pub struct Prepared(Encoded);

#[derive(Clone)]
enum Encoded {
    Logs(Vec<columns::StoredLog>),
    Spans(Vec<columns::StoredSpan>),
}

impl Prepared {
    /// `rows` in their stored form.
    pub fn of(rows: &Rows) -> Prepared {
        Prepared(match rows {
            Rows::Logs(rows) => Encoded::Logs(columns::stored_logs(rows)),
            Rows::Spans(rows) => Encoded::Spans(columns::stored_spans(rows)),
        })
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        match &self.0 {
            Encoded::Logs(rows) => rows.len(),
            Encoded::Spans(rows) => rows.len(),
        }
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
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

/// One page of a story's log records with their layouts: `$1` the ID as stored
/// ([`packed::id`]), `$2` the provenance code, `$3, $4` the position after which to start, `$5`
/// the limit (the same text serves both engines).
pub(crate) const LOGS_PAGE: &str = "SELECT logs.*, layouts.content AS layout_content
    FROM logs JOIN layouts ON layouts.id = logs.layout
    WHERE (logs.correlation_id = $1 OR logs.trace_id = $1 OR logs.session_id = $1)
      AND logs.provenance = $2 AND (logs.time_ns, logs.id) > ($3, $4)
    ORDER BY logs.time_ns, logs.id LIMIT $5";

/// The same for spans, by start time.
pub(crate) const SPANS_PAGE: &str = "SELECT spans.*, layouts.content AS layout_content
    FROM spans JOIN layouts ON layouts.id = spans.layout
    WHERE (spans.correlation_id = $1 OR spans.trace_id = $1 OR spans.session_id = $1)
      AND spans.provenance = $2 AND (spans.start_ns, spans.id) > ($3, $4)
    ORDER BY spans.start_ns, spans.id LIMIT $5";

/// True when `db` names a PostgreSQL database (`postgres://` or `postgresql://`) rather than
/// a SQLite file.
pub fn is_postgres(db: &Path) -> bool {
    db.to_str()
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// `db` as the start-up line shows it: a file path, or a PostgreSQL URL without its password.
pub fn describe(db: &Path) -> String {
    if is_postgres(db) {
        postgres::describe(&db.to_string_lossy())
    } else {
        db.display().to_string()
    }
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}

/// Counts one insert: `folded` is 0 for a new row, more for a duplicate.
pub(crate) fn count(written: &mut Written, folded: i64) {
    if folded == 0 {
        written.added += 1;
    } else {
        written.folded += 1;
    }
}

/// Runs a SQLite call on the blocking pool.
async fn blocking<T: Send + 'static>(
    store: &SqliteStore,
    work: impl FnOnce(&SqliteStore) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || work(&store))
        .await
        .map_err(failed)?
}

impl Store {
    /// Opens the database `db` names (see [`is_postgres`]), creating or migrating its schema.
    pub async fn open(db: &Path) -> Result<Store, StoreError> {
        if is_postgres(db) {
            Ok(Store::Postgres(
                PostgresStore::open(&db.to_string_lossy()).await?,
            ))
        } else {
            let path = db.to_owned();
            let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path))
                .await
                .map_err(failed)??;
            Ok(Store::Sqlite(store))
        }
    }

    /// Stores the rows of several requests in one transaction (group commit), folding true
    /// duplicates; what each request's rows did, in order. Returns once committed.
    pub async fn insert_group(&self, jobs: Vec<Prepared>) -> Result<Vec<Written>, StoreError> {
        match self {
            Store::Sqlite(s) => {
                let s = s.clone();
                crate::background::run(move || s.insert_group(&jobs))
                    .await
                    .map_err(failed)?
            }
            Store::Postgres(p) => p.insert_group(&jobs).await,
        }
    }

    async fn insert_one(&self, rows: Rows) -> Result<Written, StoreError> {
        let written = self.insert_group(vec![Prepared::of(&rows)]).await?;
        Ok(written.first().copied().unwrap_or_default())
    }

    /// Stores log rows in one transaction, folding true duplicates.
    pub async fn insert_logs(&self, rows: Vec<LogRow>) -> Result<Written, StoreError> {
        self.insert_one(Rows::Logs(rows)).await
    }

    /// Stores spans in one transaction, folding true duplicates.
    pub async fn insert_spans(&self, rows: Vec<SpanRow>) -> Result<Written, StoreError> {
        self.insert_one(Rows::Spans(rows)).await
    }

    /// Up to `limit` log records of `provenance` whose correlation, trace or session ID is `id`,
    /// in time order, after `after`.
    pub async fn logs(
        &self,
        id: &str,
        provenance: Provenance,
        after: After,
        limit: usize,
    ) -> Result<Vec<LogRow>, StoreError> {
        match self {
            Store::Sqlite(s) => {
                let id = id.to_owned();
                blocking(s, move |s| s.logs(&id, provenance, after, limit)).await
            }
            Store::Postgres(p) => p.logs(id, provenance, after, limit).await,
        }
    }

    /// Up to `limit` spans of `provenance` whose correlation, trace or session ID is `id`, by
    /// start time, after `after`.
    pub async fn spans(
        &self,
        id: &str,
        provenance: Provenance,
        after: After,
        limit: usize,
    ) -> Result<Vec<SpanRow>, StoreError> {
        match self {
            Store::Sqlite(s) => {
                let id = id.to_owned();
                blocking(s, move |s| s.spans(&id, provenance, after, limit)).await
            }
            Store::Postgres(p) => p.spans(id, provenance, after, limit).await,
        }
    }

    /// The latest error of each other correlation ID in `session` between `from_ns` and
    /// `to_ns`, at most `limit`, newest first.
    pub async fn related_errors(
        &self,
        session: &str,
        except: &str,
        window: (i64, i64),
        limit: usize,
    ) -> Result<Vec<RelatedError>, StoreError> {
        match self {
            Store::Sqlite(s) => {
                let (session, except) = (session.to_owned(), except.to_owned());
                blocking(s, move |s| {
                    s.related_errors(&session, &except, window, limit)
                })
                .await
            }
            Store::Postgres(p) => p.related_errors(session, except, window, limit).await,
        }
    }

    /// Removes records and spans older than `cutoff_ns`; returns how many. PostgreSQL drops
    /// whole day partitions, so there a record goes once its whole day is older than the cutoff.
    pub async fn remove_older_than(&self, cutoff_ns: i64) -> Result<usize, StoreError> {
        match self {
            Store::Sqlite(s) => blocking(s, move |s| s.remove_older_than(cutoff_ns)).await,
            Store::Postgres(p) => p.remove_older_than(cutoff_ns).await,
        }
    }

    /// How many log records are stored.
    pub async fn count(&self) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(s) => blocking(s, SqliteStore::count).await,
            Store::Postgres(p) => p.count("logs").await,
        }
    }

    /// How many spans are stored.
    pub async fn count_spans(&self) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(s) => blocking(s, SqliteStore::count_spans).await,
            Store::Postgres(p) => p.count("spans").await,
        }
    }
}
