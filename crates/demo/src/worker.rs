//! The background worker: runs queued jobs, each inside the span of the correlation ID and
//! session the enqueuing request carried, so its lines join the same story. With a database
//! (`DATABASE_URL`), each job runs one query tagged with both IDs as a sqlcommenter comment, so
//! PostgreSQL's own logs and `pg_stat_activity` name the request and session behind it.

use std::time::Duration;

use threadline_correlation::JobEnvelope;
use tokio::sync::mpsc;
use tokio_postgres::NoTls;
use tracing::Instrument;

/// The query a job runs: it records the job and, for the demo, waits `$1` seconds so it shows
/// up as a slow query.
pub const JOB_QUERY: &str = "SELECT $2::text AS job, pg_sleep($1::float8)";

/// A queued job.
#[derive(Clone, Debug)]
pub struct Job {
    /// What to do (`send-receipt`, `record-failed-payment`).
    pub name: String,
}

/// The worker's database: a connection and how long its job query sleeps.
pub struct Database {
    client: tokio_postgres::Client,
    sleep_seconds: f64,
}

impl Database {
    /// Connects to `DATABASE_URL` when it is set; `DEMO_SQL_SLEEP_MS` (default 100) is how long
    /// each job's query takes. `Ok(None)` without `DATABASE_URL` (or with it empty): jobs then
    /// skip the query.
    pub async fn from_env() -> Result<Option<Database>, String> {
        let url = std::env::var("DATABASE_URL").unwrap_or_default();
        if url.is_empty() {
            return Ok(None);
        }
        let sleep_ms: u32 = match std::env::var("DEMO_SQL_SLEEP_MS") {
            Ok(text) => text
                .parse()
                .map_err(|_| format!("DEMO_SQL_SLEEP_MS: expected milliseconds, got {text:?}"))?,
            Err(_) => 100,
        };
        let (client, connection) = tokio_postgres::connect(&url, NoTls)
            .await
            .map_err(|e| format!("DATABASE_URL: cannot connect: {e}"))?;
        tokio::spawn(connection);
        Ok(Some(Database {
            client,
            sleep_seconds: f64::from(sleep_ms) / 1000.0,
        }))
    }
}

/// Processes jobs until the queue closes.
pub async fn run(mut jobs: mpsc::UnboundedReceiver<JobEnvelope<Job>>, db: Option<Database>) {
    while let Some(envelope) = jobs.recv().await {
        let span = envelope.span(&envelope.job.name);
        async {
            tracing::info!("processing job {}", envelope.job.name);
            tokio::time::sleep(Duration::from_millis(50)).await;
            if let Some(db) = &db {
                let sql = envelope.ids().sql(JOB_QUERY);
                match db
                    .client
                    .execute(&sql, &[&db.sleep_seconds, &envelope.job.name])
                    .await
                {
                    Ok(_) => tracing::info!(db.query.text = %sql, "job recorded in PostgreSQL"),
                    Err(e) => tracing::error!(db.query.text = %sql, "job query failed: {e}"),
                }
            }
            tracing::info!("job {} done", envelope.job.name);
        }
        .instrument(span)
        .await;
    }
}
