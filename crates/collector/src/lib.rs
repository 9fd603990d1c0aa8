//! The Threadline collector: receives OTLP/HTTP logs and traces from the browser recorder (JSON
//! and `text/plain` beacons) and from backends (JSON or protobuf, gzip or deflate), keeps every
//! field in SQLite with who sent it, and finds every record and span of one correlation, trace
//! or session ID in time order, through `GET /api/search` and a search page.
//!
//! Two doors: ingestion is open to browsers (CORS for the page origins, rate limited without a
//! credential); reading needs the read token. Backends send with the write token, and only
//! what they send is shown as backend.

pub mod auth;
pub mod background;
pub mod cli;
pub mod cors;
pub mod ingest;
pub mod limits;
pub mod listen;
pub mod otlp;
pub mod rows;
pub mod search;
pub mod server;
pub mod store;
pub mod value;
pub mod writer;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::auth::{Source, Token};
use crate::cli::Settings;
use crate::limits::Limiter;
use crate::server::{AppState, cutoff_ns, router};
use crate::store::Store;
use crate::writer::Writer;

/// How often old records are removed.
const RETENTION_SWEEP: Duration = Duration::from_secs(3600);

/// Writer tasks per collector on PostgreSQL (SQLite has one writer by nature).
const WRITERS_ON_POSTGRES: usize = 4;

/// How often full rate-limit buckets are forgotten.
const LIMITER_SWEEP: Duration = Duration::from_secs(60);

/// The read and write tokens.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// Opens the reading door.
    pub read: Token,
    /// Marks a sender as a backend.
    pub write: Token,
}

/// Where a token came from, as the start-up lines say it.
fn describe(name: &str, token: &Token, source: &Source) -> String {
    match source {
        Source::Env(var) => format!("{name} token from {var}"),
        Source::File(path) => format!("{name} token in {}", path.display()),
        Source::Generated(path) => format!(
            "{name} token (new, stored in {}): {}",
            path.display(),
            token.reveal()
        ),
    }
}

/// Loads the read and write tokens the settings point to, creating missing files, and prints
/// where each came from (a new token is printed once, in full).
pub fn credentials(settings: &Settings) -> Result<Credentials, String> {
    let (read, read_source) = auth::load("THREADLINE_READ_TOKEN", &settings.read_token_path())?;
    let (write, write_source) = auth::load("THREADLINE_WRITE_TOKEN", &settings.write_token_path())?;
    println!("{}", describe("read", &read, &read_source));
    println!("{}", describe("write", &write, &write_source));
    Ok(Credentials { read, write })
}

/// Opens the store, loads the credentials, binds, and serves until `shutdown` resolves.
/// Prints the address it listens on. Old records are removed at start and every hour.
pub async fn run(
    settings: Settings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let store = Store::open(&settings.db).await?;
    let credentials = credentials(&settings)?;
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!(
        "threadline-collector listening on http://{address} (database {})",
        store::describe(&settings.db)
    );
    serve(listener, store, &settings, credentials, shutdown).await
}

/// Serves on `listener` until `shutdown` resolves (the rest of [`run`], for callers that bind
/// themselves, such as tests on port 0).
pub async fn serve(
    listener: TcpListener,
    store: Store,
    settings: &Settings,
    credentials: Credentials,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let sweeper = store.clone();
    let days = settings.retention_days;
    let retention = tokio::spawn(async move {
        loop {
            if let Err(e) = sweeper.remove_older_than(cutoff_ns(days)).await {
                eprintln!("threadline-collector: retention: {e}");
            }
            tokio::time::sleep(RETENTION_SWEEP).await;
        }
    });
    let limiter = Arc::new(Limiter::new(
        settings.client_rate,
        settings.origin_rate,
        settings.cors_origins.clone(),
    ));
    let forgetting = limiter.clone();
    let buckets = tokio::spawn(async move {
        loop {
            tokio::time::sleep(LIMITER_SWEEP).await;
            forgetting.forget_idle();
        }
    });
    let tasks = match store {
        Store::Sqlite(_) => 1,
        Store::Postgres(_) => WRITERS_ON_POSTGRES,
    };
    let state = AppState {
        writer: Writer::start(store.clone(), settings.write_queue, tasks),
        store,
        cors_origins: Arc::new(settings.cors_origins.clone()),
        read_token: credentials.read,
        write_token: credentials.write,
        limiter,
        limits: settings.limits,
        buffered: Arc::new(Semaphore::new(settings.max_buffered_bytes)),
        decoding: Arc::new(Semaphore::new(
            std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        )),
        client_shares: limits::BodyShares::new(settings.max_client_buffered_bytes),
        body_timeout: settings.connections.body_timeout,
        page: settings.page,
        retention_days: settings.retention_days,
        trust_proxy: settings.trust_proxy,
    };
    listen::serve(listener, router(state), settings.connections, shutdown).await;
    retention.abort();
    buckets.abort();
    Ok(())
}
