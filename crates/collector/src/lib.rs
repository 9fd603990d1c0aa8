//! The Threadline collector: receives OTLP/HTTP logs from the browser recorder (JSON and
//! `text/plain` beacons) and from backends (JSON or protobuf, optionally gzip), stores them in
//! SQLite idempotently by `event.id`, and finds every record of one correlation, trace or
//! session ID in time order, through `GET /api/search` and a search page.

pub mod cli;
pub mod ingest;
pub mod server;
pub mod store;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::net::TcpListener;

use crate::cli::Settings;
use crate::server::{AppState, router};
use crate::store::Store;

/// How often old records are removed.
const RETENTION_SWEEP: Duration = Duration::from_secs(3600);

/// Nanoseconds since the epoch, `days` ago.
fn cutoff_ns(days: u32) -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let age = u128::from(days) * 86_400 * 1_000_000_000;
    i64::try_from(now.saturating_sub(age)).unwrap_or(i64::MAX)
}

/// Opens the store, binds, and serves until `shutdown` resolves. Prints the address it
/// listens on. Old records are removed at start and every hour.
pub async fn run(
    settings: Settings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let store = Store::open(&settings.db)?;
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!(
        "threadline-collector listening on http://{address} (database {})",
        settings.db.display()
    );
    serve(listener, store, &settings, shutdown).await
}

/// Serves on `listener` until `shutdown` resolves (the rest of [`run`], for callers that bind
/// themselves, such as tests on port 0).
pub async fn serve(
    listener: TcpListener,
    store: Store,
    settings: &Settings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let sweeper = store.clone();
    let days = settings.retention_days;
    tokio::spawn(async move {
        loop {
            let store = sweeper.clone();
            let _ =
                tokio::task::spawn_blocking(move || store.remove_older_than(cutoff_ns(days))).await;
            tokio::time::sleep(RETENTION_SWEEP).await;
        }
    });
    let state = AppState {
        store,
        cors_origins: Arc::new(settings.cors_origins.clone()),
    };
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| e.to_string())
}
