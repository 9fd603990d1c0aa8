//! `threadline-demo`: the demo shop's page, API and order-status socket (`/ws/orders`) on one
//! port, the payments service on another, and a background worker; every log line goes to
//! stdout and to the collector.
//!
//! Options: `--port` (default 8080), `--payments-port` (8082), `--collector` (the collector's
//! base URL, default http://127.0.0.1:4318), `--root` (the repository, for `www/` and `dist/`).
//! With `DATABASE_URL` set, the worker runs one PostgreSQL query per job, tagged with the IDs.

mod checkout;
mod order_status;
mod payments;
mod shipper;
mod worker;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use axum::Router;
use axum::routing::{get, post};
use threadline_correlation::CorrelationLayer;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

struct Settings {
    port: u16,
    payments_port: u16,
    collector: String,
    root: PathBuf,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Settings, String> {
    let mut s = Settings {
        port: 8080,
        payments_port: 8082,
        collector: "http://127.0.0.1:4318".into(),
        root: PathBuf::from("."),
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("{flag}: expected a value"))?;
        let port = |v: &str| {
            v.parse::<u16>()
                .map_err(|_| format!("{flag}: expected a port, got {v:?}"))
        };
        match flag.as_str() {
            "--port" => s.port = port(&value)?,
            "--payments-port" => s.payments_port = port(&value)?,
            "--collector" => s.collector = value.trim_end_matches('/').to_owned(),
            "--root" => s.root = PathBuf::from(value),
            other => return Err(format!("{other}: unknown option")),
        }
    }
    Ok(s)
}

async fn listen(port: u16) -> Result<TcpListener, String> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match parse(std::env::args().skip(1)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("threadline-demo: {e}");
            return ExitCode::from(2);
        }
    };
    match run(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("threadline-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings) -> Result<(), String> {
    let (otlp, lines) = shipper::channel();
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_target(false))
        .with(otlp)
        .init();
    tokio::spawn(shipper::run_sender(
        lines,
        format!("{}/v1/logs", settings.collector),
    ));

    let (jobs, queue) = tokio::sync::mpsc::unbounded_channel();
    let db = worker::Database::from_env().await?;
    if db.is_some() {
        println!("threadline-demo: the worker tags its SQL; DATABASE_URL is set");
    }
    tokio::spawn(worker::run(queue, db));

    let payments = Router::new()
        .route("/pay", post(payments::pay))
        .layer(CorrelationLayer::new());
    let payments_listener = listen(settings.payments_port).await?;
    tokio::spawn(async move { axum::serve(payments_listener, payments).await });

    let app = checkout::Checkout {
        payments: format!("http://127.0.0.1:{}", settings.payments_port),
        client: reqwest::Client::new(),
        jobs,
        orders: order_status::OrderStatuses::default(),
    };
    let shop = Router::new()
        .route("/api/checkout", post(checkout::checkout))
        .route("/ws/orders", get(order_status::connect))
        .with_state(app)
        .layer(CorrelationLayer::new())
        .nest_service("/dist", ServeDir::new(settings.root.join("dist")))
        .fallback_service(ServeDir::new(settings.root.join("www")));
    let shop_listener = listen(settings.port).await?;
    println!(
        "threadline-demo: shop on http://127.0.0.1:{}/ , payments on http://127.0.0.1:{} , logs to {}",
        settings.port, settings.payments_port, settings.collector
    );
    axum::serve(shop_listener, shop)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}
