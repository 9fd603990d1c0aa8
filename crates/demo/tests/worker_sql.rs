//! The worker's SQL against a real PostgreSQL 15 (`scripts/postgres.sh`, on loopback, as a
//! non-root user): the demo runs with `DATABASE_URL`, a checkout comes in with a correlation ID
//! and a session in `baggage`, and while the worker's slow query runs, `pg_stat_activity` shows
//! it with the sqlcommenter comment; afterwards the server's statement log has it too, and the
//! lines of checkout, payments and the worker carry both IDs, on stdout and as OTLP records.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, BufReader};

const CORRELATION: &str = "5a1e5a1e5a1e5a1e0af7651916cd43dd";
const SESSION: &str = "5e55101d5e55101d5e55101d5e55101d";

/// The private server; stopped and removed on drop.
struct Postgres {
    dir: PathBuf,
    url: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/postgres.sh")
}

impl Postgres {
    fn start() -> Postgres {
        let dir = std::env::temp_dir().join(format!(
            "threadline-pg-{}-{}",
            std::process::id(),
            threadline_correlation::CorrelationId::generate()
        ));
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "postgres.sh start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = std::fs::read_to_string(dir.join("url"))
            .unwrap()
            .trim()
            .to_owned();
        Postgres { dir, url }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

/// The demo binary; killed on drop.
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A stand-in for the collector's `/v1/logs`: keeps every OTLP JSON body it is sent.
struct Collector {
    base: String,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Collector {
    async fn start() -> Collector {
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        let app = Router::new().route(
            "/v1/logs",
            post(move |body: axum::body::Bytes| async move {
                kept.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap());
                "{}"
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Collector { base, bodies }
    }

    /// `(service.name, message, session.id)` of every record whose traceId is `trace_id`.
    fn records(&self, trace_id: &str) -> Vec<(String, String, Option<String>)> {
        let text = |v: &Value| v["stringValue"].as_str().map(str::to_owned);
        let attribute = |attrs: &Value, key: &str| {
            attrs
                .as_array()?
                .iter()
                .find(|a| a["key"] == key)
                .and_then(|a| text(&a["value"]))
        };
        let mut out = Vec::new();
        for body in self.bodies.lock().unwrap().iter() {
            for logs in body["resourceLogs"].as_array().unwrap() {
                let service = attribute(&logs["resource"]["attributes"], "service.name").unwrap();
                for scope in logs["scopeLogs"].as_array().unwrap() {
                    for record in scope["logRecords"].as_array().unwrap() {
                        if record["traceId"] == trace_id {
                            out.push((
                                service.clone(),
                                text(&record["body"]).unwrap_or_default(),
                                attribute(&record["attributes"], "session.id"),
                            ));
                        }
                    }
                }
            }
        }
        out
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workers_slow_query_names_the_request_and_session_in_postgres() {
    let pg = Postgres::start();
    let collector = Collector::start().await;
    let (port, payments) = (free_port(), free_port());
    let mut demo = Demo(
        Command::new(env!("CARGO_BIN_EXE_threadline-demo"))
            .args([
                "--port",
                &port.to_string(),
                "--payments-port",
                &payments.to_string(),
            ])
            .args(["--collector", &collector.base])
            .env("DATABASE_URL", &pg.url)
            .env("DEMO_SQL_SLEEP_MS", "1500")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = tokio::process::ChildStdout::from_std(demo.0.stdout.take().unwrap()).unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let ready = lines.next_line().await.unwrap().unwrap();
    let ready = if ready.contains("tags its SQL") {
        lines.next_line().await.unwrap().unwrap()
    } else {
        panic!("the demo did not see DATABASE_URL: {ready}")
    };
    assert!(ready.contains("shop on"), "{ready}");

    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/checkout"))
        .header("X-Correlation-ID", CORRELATION)
        .header("baggage", format!("user.tier=gold,session.id={SESSION}"))
        .body(r#"{"payments":"ok","total":12.5}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-correlation-id"], CORRELATION);

    let comment = format!("/*correlation_id='{CORRELATION}',session_id='{SESSION}'*/");
    let (observer, connection) = tokio_postgres::connect(&pg.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let started = Instant::now();
    let running = loop {
        let rows = observer
            .query(
                "SELECT query FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .unwrap();
        if let Some(query) = rows
            .iter()
            .map(|r| r.get::<_, String>(0))
            .find(|q| q.contains(CORRELATION))
        {
            break query;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the worker's query never showed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        running,
        format!("SELECT $2::text AS job, pg_sleep($1::float8) {comment}")
    );

    let mut story = Vec::new();
    let done = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let last = line.contains("job send-receipt done");
            story.push(line);
            if last {
                return;
            }
        }
    })
    .await;
    assert!(done.is_ok(), "the job finished: {story:#?}");
    for step in [
        "checkout started",
        "charging card",
        "card charged",
        "payment accepted",
        "processing job send-receipt",
        "job recorded in PostgreSQL",
        "job send-receipt done",
    ] {
        let line = story
            .iter()
            .find(|l| l.contains(step))
            .unwrap_or_else(|| panic!("{step}: {story:#?}"));
        assert!(
            line.contains(&format!("correlation_id={CORRELATION}")),
            "{line}"
        );
        assert!(
            line.contains(&format!("session.id=\"{SESSION}\"")),
            "{line}"
        );
    }

    let shipped = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let records = collector.records(CORRELATION);
            if records.iter().any(|r| r.1.contains("send-receipt done")) {
                return records;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the lines reach the collector");
    for service in ["checkout", "payments", "worker"] {
        assert!(
            shipped.iter().any(|r| r.0 == service),
            "{service}: {shipped:#?}"
        );
    }
    for (service, message, session) in &shipped {
        assert_eq!(session.as_deref(), Some(SESSION), "{service}: {message}");
    }

    let log = pg.log();
    let logged = log
        .lines()
        .find(|l| l.contains("duration:") && l.contains(" execute ") && l.contains(&comment))
        .unwrap_or_else(|| panic!("the statement log has the comment:\n{log}"));
    let ms: f64 = logged
        .split("duration: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(ms >= 1_400.0, "logged as the slow query it was: {logged}");
}
