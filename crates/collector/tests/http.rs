//! The collector over real HTTP on loopback with a real SQLite file: every body format OTLP
//! allows, duplicates, bad and oversize bodies, wrong content types, CORS, search order and
//! hostile search input.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message;
use serde_json::{Value, json};
use threadline_collector::cli::Settings;
use threadline_collector::store::Store;
use tokio::net::TcpListener;

struct Collector {
    base: String,
    client: reqwest::Client,
    db: std::path::PathBuf,
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

async fn collector() -> Collector {
    collector_with(|_| {}).await
}

/// A collector on a fresh SQLite file that `prepare` may fill first.
async fn collector_with(prepare: impl FnOnce(&Store)) -> Collector {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("collector.sqlite");
    prepare(&Store::open(&db).unwrap());
    let settings = Settings {
        db: db.clone(),
        cors_origins: vec!["http://shop.test:8080".into()],
        ..Settings::default()
    };
    let store = Store::open(&db).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        threadline_collector::serve(listener, store, &settings, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Collector {
        base,
        client: reqwest::Client::new(),
        db,
        _dir: dir,
        stop: Some(stop),
    }
}

/// Now, in ns since the epoch: record times are offsets from it (records older than the
/// retention would be swept away).
fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// An OTLP JSON body: one resource (`service`), one scope, records `(event id, ns after the
/// test's base time, message, trace id)`.
fn body(service: &str, scope: &str, records: &[(Option<&str>, u64, &str, &str)]) -> Value {
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

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

/// The time all test records are placed after (one value per test process).
fn base() -> u64 {
    static BASE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BASE.get_or_init(now_ns)
}

impl Collector {
    async fn post(
        &self,
        content_type: &str,
        encoding: Option<&str>,
        bytes: Vec<u8>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/v1/logs", self.base))
            .header("Content-Type", content_type)
            .body(bytes);
        if let Some(encoding) = encoding {
            request = request.header("Content-Encoding", encoding);
        }
        request.send().await.unwrap()
    }

    async fn search(&self, id: &str) -> Vec<Value> {
        let response = self
            .client
            .get(format!("{}/api/search", self.base))
            .query(&[("id", id)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        serde_json::from_slice::<Vec<Value>>(&response.bytes().await.unwrap()).unwrap()
    }

    fn count(&self) -> i64 {
        Store::open(&self.db).unwrap().count().unwrap()
    }
}

fn messages(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r["message"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn json_beacons_protobuf_and_gzip_are_stored_and_found_in_time_order() {
    let c = collector().await;
    let json_body = body(
        "web",
        "threadline",
        &[(Some("e1"), 3_000, "browser click", TRACE)],
    );
    let r = c
        .post("application/json", None, json_body.to_string().into_bytes())
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.text().await.unwrap(), "{}");

    let beacon = body(
        "web",
        "threadline",
        &[(Some("e2"), 4_000, "page left", TRACE)],
    );
    let r = c
        .post(
            "text/plain;charset=UTF-8",
            None,
            beacon.to_string().into_bytes(),
        )
        .await;
    assert_eq!(r.status(), 200);

    let proto: ExportLogsServiceRequest = serde_json::from_value(body(
        "checkout",
        "checkout",
        &[(Some("e3"), 1_000, "backend first", TRACE)],
    ))
    .unwrap();
    let r = c
        .post("application/x-protobuf", None, proto.encode_to_vec())
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-protobuf");

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(
        body(
            "payments",
            "payments",
            &[(None, 2_000, "payments failed", TRACE)],
        )
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let r = c
        .post("application/json", Some("gzip"), gz.finish().unwrap())
        .await;
    assert_eq!(r.status(), 200);

    let found = c.search(TRACE).await;
    assert_eq!(
        messages(&found),
        [
            "backend first",
            "payments failed",
            "browser click",
            "page left"
        ]
    );
    assert_eq!(found[0]["service"], "checkout");
    assert_eq!(found[2]["scope"], "threadline");
    assert_eq!(found[2]["attributes"]["service.name"], "web");
    assert_eq!(found[0]["time_unix_nano"], (base() + 1_000).to_string());
}

#[tokio::test]
async fn duplicates_by_event_id_are_ignored_records_without_one_are_kept() {
    let c = collector().await;
    let b = body(
        "web",
        "threadline",
        &[(Some("same"), 1, "once", TRACE), (None, 2, "anon", TRACE)],
    );
    for _ in 0..3 {
        assert_eq!(
            c.post("application/json", None, b.to_string().into_bytes())
                .await
                .status(),
            200
        );
    }
    assert_eq!(
        messages(&c.search(TRACE).await),
        ["once", "anon", "anon", "anon"]
    );
}

#[tokio::test]
async fn bad_bodies_are_refused_in_the_request_encoding_and_change_nothing() {
    let c = collector().await;
    let r = c
        .post("application/json", None, b"{\"resourceLogs\": [".to_vec())
        .await;
    assert_eq!(r.status(), 400);
    let status: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(status["code"], 3);
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("invalid OTLP JSON")
    );

    let r = c
        .post("application/x-protobuf", None, vec![0xff, 0xff, 0xff])
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/x-protobuf");

    let r = c
        .post("application/json", Some("gzip"), b"not gzip".to_vec())
        .await;
    assert_eq!(r.status(), 400);

    let r = c.post("application/xml", None, b"<logs/>".to_vec()).await;
    assert_eq!(r.status(), 415);
    let r = c.post("application/json", Some("br"), b"{}".to_vec()).await;
    assert_eq!(r.status(), 415);

    let huge = vec![b' '; 6 * 1024 * 1024];
    let r = c.post("application/json", None, huge).await;
    assert_eq!(r.status(), 413);

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b' '; 6 * 1024 * 1024]).unwrap();
    let r = c
        .post("application/json", Some("gzip"), gz.finish().unwrap())
        .await;
    assert_eq!(
        r.status(),
        413,
        "a small gzip body that expands past the limit"
    );

    assert_eq!(c.count(), 0);
    let good = body(
        "web",
        "threadline",
        &[(Some("ok"), 1, "still works", TRACE)],
    );
    assert_eq!(
        c.post("application/json", None, good.to_string().into_bytes())
            .await
            .status(),
        200
    );
    assert_eq!(c.count(), 1);
}

#[tokio::test]
async fn cors_is_granted_to_configured_origins_only() {
    let c = collector().await;
    let preflight = |origin: &'static str| {
        c.client
            .request(reqwest::Method::OPTIONS, format!("{}/v1/logs", c.base))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    let ok = preflight("http://shop.test:8080").await.unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "http://shop.test:8080"
    );
    assert!(
        ok.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("Content-Type")
    );
    assert!(
        ok.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );

    let denied = preflight("http://evil.test").await.unwrap();
    assert_eq!(denied.status(), 403);
    assert!(
        denied
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let posted = c
        .client
        .post(format!("{}/v1/logs", c.base))
        .header("Origin", "http://shop.test:8080")
        .header("Content-Type", "application/json")
        .body(body("web", "threadline", &[(Some("x"), 1, "m", TRACE)]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        posted.headers()["access-control-allow-origin"],
        "http://shop.test:8080"
    );
    assert_eq!(
        posted.headers()["access-control-expose-headers"],
        "Retry-After"
    );
}

#[tokio::test]
async fn records_older_than_the_retention_are_removed() {
    let c = collector_with(|store| {
        let rows = threadline_collector::ingest::decode(
            br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[
                {"timeUnixNano":"1000","body":{"stringValue":"ancient"},"traceId":"0af7651916cd43dd8448eb211c80319c"}]}]}]}"#,
            false,
            threadline_collector::ingest::Format::Json,
        )
        .unwrap();
        store.insert(&rows).unwrap();
    })
    .await;
    let fresh = body("web", "threadline", &[(Some("new"), 1, "fresh", TRACE)]);
    c.post("application/json", None, fresh.to_string().into_bytes())
        .await;
    let mut found = Vec::new();
    for _ in 0..50 {
        found = c.search(TRACE).await;
        if found.len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        messages(&found),
        ["fresh"],
        "the 1970 record is swept at start"
    );
}

#[tokio::test]
async fn search_input_is_only_ever_a_value() {
    let c = collector().await;
    let b = body("web", "threadline", &[(Some("a"), 1, "kept", TRACE)]);
    c.post("application/json", None, b.to_string().into_bytes())
        .await;
    for hostile in ["' OR '1'='1", "x\"; DROP TABLE records; --", "%", "_", "*"] {
        assert!(c.search(hostile).await.is_empty(), "{hostile}");
    }
    assert_eq!(messages(&c.search(TRACE).await), ["kept"]);
    let missing = c
        .client
        .get(format!("{}/api/search", c.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
    let page = c.client.get(format!("{}/", c.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<input id=\"id\""));
}
