//! A real collector on loopback with a real SQLite file, and the requests the tests send it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    dead_code,
    missing_docs
)]

pub mod postgres;

use serde_json::{Value, json};
use threadline_collector::Credentials;
use threadline_collector::auth::Token;
use threadline_collector::cli::Settings;
use threadline_collector::store::Store;
use tokio::net::TcpListener;

pub const READ: &str = "read-token-0123456789abcdef";
pub const WRITE: &str = "write-token-0123456789abcdef";
pub const SHOP: &str = "http://shop.test:8080";
pub const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

pub struct Collector {
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub client: reqwest::Client,
    pub db: std::path::PathBuf,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn collector() -> Collector {
    collector_with(|_| {}).await
}

/// A collector on a fresh SQLite file with settings `tune` may change (including `db`, to a
/// PostgreSQL URL).
pub async fn collector_with(tune: impl FnOnce(&mut Settings)) -> Collector {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("collector.sqlite");
    let mut settings = Settings {
        db: db.clone(),
        cors_origins: vec![SHOP.into()],
        ..Settings::default()
    };
    tune(&mut settings);
    let db = settings.db.clone();
    let store = Store::open(&db).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let credentials = Credentials {
        read: Token::new(READ),
        write: Token::new(WRITE),
    };
    tokio::spawn(async move {
        threadline_collector::serve(listener, store, &settings, credentials, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Collector {
        base: format!("http://{addr}"),
        addr,
        client: reqwest::Client::new(),
        db,
        _dir: dir,
        stop: Some(stop),
    }
}

/// Now, in ns since the epoch.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// The time all test records are placed after (one value per test process), a minute ago.
pub fn base() -> u64 {
    static BASE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| now_ns() - 60_000_000_000)
}

/// An OTLP JSON body: one resource (`service`), one scope, records `(event id, ns after the
/// base time, message, correlation id)`.
pub fn body(service: &str, scope: &str, records: &[(Option<&str>, u64, &str, &str)]) -> Value {
    let log_records: Vec<Value> = records
        .iter()
        .map(|(event_id, time, message, trace)| {
            let mut attributes =
                vec![json!({"key": "correlation_id", "value": {"stringValue": trace}})];
            if let Some(id) = event_id {
                attributes.push(json!({"key": "event.id", "value": {"stringValue": id}}));
            }
            json!({
                "timeUnixNano": (base() + time).to_string(),
                "severityNumber": 9,
                "severityText": "INFO",
                "body": {"stringValue": message},
                "traceId": trace,
                "attributes": attributes,
            })
        })
        .collect();
    json!({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeLogs": [{"scope": {"name": scope}, "logRecords": log_records}]
    }]})
}

/// An OTLP JSON body of `count` records of `TRACE` named `{prefix}{n}`, n from `from` on, each n
/// ns after the base time; and their names.
pub fn numbered(prefix: &str, from: u64, count: u64) -> (String, Vec<String>) {
    let names: Vec<String> = (from..from + count)
        .map(|n| format!("{prefix}{n}"))
        .collect();
    let records: Vec<_> = names
        .iter()
        .zip(from..)
        .map(|(name, n)| (None, n, name.as_str(), TRACE))
        .collect();
    (body("shop", "app", &records).to_string(), names)
}

/// Posts OTLP JSON `text` to `url` with the write token, from a task of its own.
pub async fn post_as_backend(
    client: reqwest::Client,
    url: String,
    text: String,
) -> reqwest::Response {
    client
        .post(url)
        .bearer_auth(WRITE)
        .header("Content-Type", "application/json")
        .body(text)
        .send()
        .await
        .unwrap()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

pub fn zlib(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(bytes).unwrap();
    z.finish().unwrap()
}

impl Collector {
    /// Posts to `/v1/logs` as a browser would (no credential).
    pub async fn post(
        &self,
        content_type: &str,
        encoding: Option<&str>,
        bytes: Vec<u8>,
    ) -> reqwest::Response {
        self.send("/v1/logs", content_type, encoding, None, bytes)
            .await
    }

    /// Posts JSON logs with the write token, as a backend.
    pub async fn post_backend(&self, body: &Value) -> reqwest::Response {
        self.send(
            "/v1/logs",
            "application/json",
            None,
            Some(WRITE),
            body.to_string().into_bytes(),
        )
        .await
    }

    /// Posts JSON logs without a credential.
    pub async fn post_browser(&self, body: &Value) -> reqwest::Response {
        self.post("application/json", None, body.to_string().into_bytes())
            .await
    }

    pub async fn send(
        &self,
        path: &str,
        content_type: &str,
        encoding: Option<&str>,
        bearer: Option<&str>,
        bytes: Vec<u8>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Content-Type", content_type)
            .body(bytes);
        if let Some(encoding) = encoding {
            request = request.header("Content-Encoding", encoding);
        }
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// One page of the story of `id`, with the read token.
    pub async fn answer(&self, id: &str, cursor: Option<&str>) -> Value {
        let mut query = vec![("id", id)];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor));
        }
        let response = self
            .client
            .get(format!("{}/api/search", self.base))
            .bearer_auth(READ)
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
    }

    /// The log records of the first page of `id`.
    pub async fn search(&self, id: &str) -> Vec<Value> {
        self.answer(id, None).await["records"]
            .as_array()
            .unwrap()
            .clone()
    }

    pub async fn count(&self) -> i64 {
        Store::open(&self.db).await.unwrap().count().await.unwrap()
    }
}

pub fn messages(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r["message"].as_str().unwrap())
        .collect()
}
