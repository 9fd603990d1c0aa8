//! The store's contract, run against both engines over real HTTP: a real SQLite file, and a
//! real PostgreSQL 15 on loopback (`scripts/postgres.sh`). Duplicates fold and provenance keeps
//! copies apart, search pages in time order, retention removes old records, a restart keeps
//! everything; on PostgreSQL also: migrations run once, partitions are by day, and two collector
//! processes ingesting overlapping batches at once store every acknowledged record exactly once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use serde_json::Value;
use threadline_collector::ingest::{self, Clock, Format, Limits};
use threadline_collector::rows::Provenance;
use threadline_collector::store::{Prepared, Rows, Store, Written};
use tokio::io::AsyncBufReadExt;

/// A database of one engine, removed when dropped (SQLite) or left to the private server.
struct Engine {
    db: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

fn sqlite() -> Engine {
    let dir = tempfile::tempdir().unwrap();
    Engine {
        db: dir.path().join("store.sqlite"),
        _dir: Some(dir),
    }
}

async fn postgres() -> Engine {
    Engine {
        db: PathBuf::from(common::postgres::database().await),
        _dir: None,
    }
}

/// Each scenario once on SQLite and once on PostgreSQL.
macro_rules! on_both_engines {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test]
            async fn sqlite() {
                super::$scenario(super::sqlite()).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$scenario(super::postgres().await).await;
            }
        }
    )*};
}

on_both_engines!(
    duplicates_fold_and_provenance_keeps_copies_apart,
    search_pages_in_time_order,
    retention_removes_old_records,
    a_restart_keeps_records_and_folding,
    related_errors_of_the_session,
    one_group_holding_a_record_twice_stores_it_once,
    a_page_takes_every_stream_past_its_first_read,
    the_rows_of_one_request_read_back_with_their_own_attributes_and_resource,
);

async fn on(engine: &Engine) -> Collector {
    let db = engine.db.clone();
    collector_with(move |s| s.db = db).await
}

/// A collector on `engine` whose search pages hold at most `rows` rows.
async fn paging(engine: &Engine, rows: usize) -> Collector {
    let db = engine.db.clone();
    collector_with(move |s| {
        s.db = db;
        s.page.rows = rows;
    })
    .await
}

fn folded(records: &[Value]) -> Vec<i64> {
    records
        .iter()
        .map(|r| r["folded"].as_i64().unwrap())
        .collect()
}

async fn duplicates_fold_and_provenance_keeps_copies_apart(engine: Engine) {
    let c = on(&engine).await;
    let batch = body(
        "shop",
        "app",
        &[(Some("e1"), 1, "one", TRACE), (Some("e2"), 2, "two", TRACE)],
    );
    for _ in 0..3 {
        assert_eq!(c.post_backend(&batch).await.status(), 200);
    }
    assert_eq!(c.post_browser(&batch).await.status(), 200);
    let records = c.search(TRACE).await;
    assert_eq!(messages(&records), ["one", "one", "two", "two"]);
    let by = |provenance: &str| -> Vec<Value> {
        records
            .iter()
            .filter(|r| r["provenance"] == provenance)
            .cloned()
            .collect()
    };
    assert_eq!(folded(&by("backend")), [2, 2], "two resends folded");
    assert_eq!(
        folded(&by("browser")),
        [0, 0],
        "a browser copy is its own row"
    );
    assert_eq!(c.answer(TRACE, None).await["folded"], 4);
    assert_eq!(c.count().await, 4);
}

async fn search_pages_in_time_order(engine: Engine) {
    let c = paging(&engine, 7).await;
    let names: Vec<String> = (0..30).map(|i| format!("m{i:02}")).collect();
    for chunk in (0..30u64).rev().collect::<Vec<_>>().chunks(10) {
        let records: Vec<_> = chunk
            .iter()
            .map(|&i| (None, i * 1000, names[i as usize].as_str(), TRACE))
            .collect();
        assert_eq!(
            c.post_backend(&body("shop", "app", &records))
                .await
                .status(),
            200
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let page = c.answer(TRACE, cursor.as_deref()).await;
        let records = page["records"].as_array().unwrap();
        assert!(records.len() <= 7, "a page holds at most 7 rows");
        seen.extend(messages(records).into_iter().map(str::to_owned));
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen, names,
        "every record once, in time order, across pages"
    );
}

/// A page bigger than a stream's first read (the four streams are first read at once, a few
/// dozen rows each) still holds every row of each stream in order, backend rows first.
async fn a_page_takes_every_stream_past_its_first_read(engine: Engine) {
    let c = paging(&engine, 250).await;
    let names: Vec<String> = (0..300).map(|i| format!("m{i:03}")).collect();
    let records = |range: std::ops::Range<usize>| -> Vec<(Option<&str>, u64, &str, &str)> {
        range
            .map(|i| (None, 1_000 + i as u64, names[i].as_str(), TRACE))
            .collect()
    };
    assert_eq!(
        c.post_backend(&body("shop", "app", &records(0..150)))
            .await
            .status(),
        200
    );
    assert_eq!(
        c.post_browser(&body("web", "threadline", &records(150..300)))
            .await
            .status(),
        200
    );
    let first = c.answer(TRACE, None).await;
    let page = first["records"].as_array().unwrap();
    assert_eq!(
        messages(page),
        names[..250].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(first["cut"], true);
    let rest = c.answer(TRACE, first["next"].as_str()).await;
    assert_eq!(
        messages(rest["records"].as_array().unwrap()),
        names[250..].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(rest["cut"], false);
}

/// Rows of one request share what they can of their stored layout (service, resource, attribute
/// keys); a row whose keys or resource differ from the row before it still reads back as sent.
async fn the_rows_of_one_request_read_back_with_their_own_attributes_and_resource(engine: Engine) {
    let c = on(&engine).await;
    let mut batch = body(
        "shop",
        "app",
        &[
            (Some("e1"), 1, "one", TRACE),
            (None, 2, "two", TRACE),
            (Some("e3"), 3, "three", TRACE),
        ],
    );
    let other = body("billing", "app", &[(Some("e4"), 4, "four", TRACE)]);
    batch["resourceLogs"]
        .as_array_mut()
        .unwrap()
        .push(other["resourceLogs"][0].clone());
    assert_eq!(c.post_backend(&batch).await.status(), 200);
    let records = c.search(TRACE).await;
    let seen: Vec<(&str, &str, Value)> = records
        .iter()
        .map(|r| {
            (
                r["message"].as_str().unwrap(),
                r["resource"]["service.name"]["stringValue"]
                    .as_str()
                    .unwrap(),
                r["attributes"]["event.id"].clone(),
            )
        })
        .collect();
    let e = |id: &str| serde_json::json!({ "stringValue": id });
    assert_eq!(
        seen,
        [
            ("one", "shop", e("e1")),
            ("two", "shop", Value::Null),
            ("three", "shop", e("e3")),
            ("four", "billing", e("e4")),
        ]
    );
}

/// Log rows of `body` as decoded at `now_ns` (times outside the window move to it).
fn rows_at(body: &Value, now_ns: i64) -> Vec<threadline_collector::rows::LogRow> {
    let request = ingest::decode_logs(body.to_string().as_bytes(), Format::Json).unwrap();
    let clock = Clock {
        now_ns,
        oldest_ns: now_ns - 7 * 86_400_000_000_000,
    };
    ingest::log_rows(request, Provenance::Backend, &Limits::default(), &clock)
        .unwrap()
        .rows
}

async fn one_group_holding_a_record_twice_stores_it_once(engine: Engine) {
    let store = Store::open(&engine.db).await.unwrap();
    let batch = body(
        "shop",
        "app",
        &[(None, 1, "one", TRACE), (None, 2, "two", TRACE)],
    );
    let job = Prepared::of(&Rows::Logs(rows_at(&batch, now_ns() as i64)));
    let written = store.insert_group(vec![job.clone(), job]).await.unwrap();
    assert_eq!(
        written,
        [
            Written {
                added: 2,
                folded: 0
            },
            Written {
                added: 0,
                folded: 2
            }
        ],
        "the first request stored both, the second's copies folded"
    );
    let logs = store
        .logs(TRACE, Provenance::Backend, None, 10)
        .await
        .unwrap();
    assert_eq!(logs.iter().map(|r| r.folded).collect::<Vec<_>>(), [1, 1]);
}

async fn retention_removes_old_records(engine: Engine) {
    let store = Store::open(&engine.db).await.unwrap();
    let day = 86_400_000_000_000i64;
    let now = now_ns() as i64;
    let old = body(
        "shop",
        "app",
        &[(None, 1, "old one", TRACE), (None, 2, "old two", TRACE)],
    );
    let written = store
        .insert_logs(rows_at(&old, now - 3 * day))
        .await
        .unwrap();
    assert_eq!(written.added, 2);
    let new = body("shop", "app", &[(None, 3, "new", TRACE)]);
    store.insert_logs(rows_at(&new, now)).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 3);
    assert_eq!(store.remove_older_than(now - day).await.unwrap(), 2);
    assert_eq!(store.count().await.unwrap(), 1);
    let kept = store
        .logs(TRACE, Provenance::Backend, None, 10)
        .await
        .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].message, "new");
    let again = store.insert_logs(rows_at(&old, now - 3 * day)).await;
    assert_eq!(
        again.unwrap().added,
        2,
        "a removed day can be written again"
    );
}

async fn a_restart_keeps_records_and_folding(engine: Engine) {
    let batch = body("shop", "app", &[(Some("e1"), 1, "kept", TRACE)]);
    let first = on(&engine).await;
    assert_eq!(first.post_backend(&batch).await.status(), 200);
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = on(&engine).await;
    assert_eq!(messages(&second.search(TRACE).await), ["kept"]);
    assert_eq!(second.post_backend(&batch).await.status(), 200);
    assert_eq!(
        folded(&second.search(TRACE).await),
        [1],
        "a resend after the restart folds into the first copy"
    );
}

async fn related_errors_of_the_session(engine: Engine) {
    let c = on(&engine).await;
    let session = "5e55101d5e55101d5e55101d5e55101d";
    let record = |correlation: &str, time: u64, level: &str, message: &str| {
        serde_json::json!({
            "timeUnixNano": (base() + time).to_string(),
            "severityText": level,
            "body": {"stringValue": message},
            "attributes": [
                {"key": "correlation_id", "value": {"stringValue": correlation}},
                {"key": "session.id", "value": {"stringValue": session}},
            ],
        })
    };
    let batch = serde_json::json!({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
        "scopeLogs": [{"scope": {"name": "app"}, "logRecords": [
            record("c-main", 1, "INFO", "main"),
            record("c-other", 2, "ERROR", "first failure"),
            record("c-other", 3, "ERROR", "second failure"),
            record("c-third", 4, "ERROR", "third failure"),
            record("c-fine", 5, "INFO", "fine"),
        ]}]
    }]});
    assert_eq!(c.post_backend(&batch).await.status(), 200);
    let related = c.answer("c-main", None).await["related_errors"].clone();
    let pairs: Vec<(&str, &str)> = related
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["correlation_id"].as_str().unwrap(),
                e["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [("c-third", "third failure"), ("c-other", "second failure")],
        "the latest error of each other correlation ID, newest first"
    );
}

#[tokio::test]
async fn postgres_migrates_once_and_partitions_by_day() {
    let url = common::postgres::database().await;
    let db = PathBuf::from(&url);
    let (a, b) = tokio::join!(Store::open(&db), Store::open(&db));
    let (a, _b) = (a.unwrap(), b.unwrap());
    let now = now_ns() as i64;
    let day = 86_400_000_000_000i64;
    let batch = body("shop", "app", &[(None, 1, "x", TRACE)]);
    a.insert_logs(rows_at(&batch, now)).await.unwrap();
    a.insert_logs(rows_at(&batch, now - 2 * day)).await.unwrap();
    let client = common::postgres::connect(&url).await;
    let versions: i64 = client
        .query_one("SELECT count(*) FROM threadline_schema", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        versions, 2,
        "two collectors starting at once migrate once (the first schema, then the compact one)"
    );
    let partitions: HashSet<String> = client
        .query(
            "SELECT child.relname FROM pg_inherits
             JOIN pg_class parent ON parent.oid = inhparent
             JOIN pg_class child ON child.oid = inhrelid
             WHERE parent.relname = 'logs'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let today = now / day;
    let expected: HashSet<String> = [today, today - 2]
        .iter()
        .map(|d| format!("logs_d{d}"))
        .collect();
    assert_eq!(partitions, expected);
}

/// A collector process (the built binary) on `db`; killed on drop.
struct Process {
    child: tokio::process::Child,
    base: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn process(db: &str) -> Process {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_threadline-collector"))
        .args(["--listen", "127.0.0.1:0", "--db", db])
        .env("THREADLINE_READ_TOKEN", READ)
        .env("THREADLINE_WRITE_TOKEN", WRITE)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let base = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split("listening on ").nth(1) {
                return rest.split(' ').next().unwrap().to_owned();
            }
        }
        panic!("the collector exited before listening");
    })
    .await
    .expect("the collector listens within 20 s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Process { child, base }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_collector_processes_on_one_postgres_store_each_record_once() {
    let url = common::postgres::database().await;
    let (a, b) = tokio::join!(process(&url), process(&url));
    const BATCHES: usize = 40;
    const STEP: usize = 25;
    const SIZE: usize = 50;
    let names: Vec<String> = (0..BATCHES * STEP + SIZE)
        .map(|i| format!("r{i:05}"))
        .collect();
    let batch = |b: usize| {
        let records: Vec<_> = (b * STEP..b * STEP + SIZE)
            .map(|i| (Some(names[i].as_str()), i as u64, names[i].as_str(), TRACE))
            .collect();
        body("shop", "app", &records).to_string()
    };
    let client = reqwest::Client::new();
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..BATCHES {
        for target in [&a.base, &b.base] {
            let (client, url, text) = (client.clone(), format!("{target}/v1/logs"), batch(i));
            sends.spawn(async move { post_as_backend(client, url, text).await.status() });
        }
    }
    let mut acknowledged = 0;
    while let Some(status) = sends.join_next().await {
        assert_eq!(status.unwrap(), 200);
        acknowledged += 1;
    }
    assert_eq!(acknowledged, BATCHES * 2);
    let unique = BATCHES * STEP + (SIZE - STEP);
    let db = common::postgres::connect(&url).await;
    let row = db
        .query_one(
            "SELECT count(*), count(DISTINCT (provenance, content_hash)), sum(folded)::bigint FROM logs",
            &[],
        )
        .await
        .unwrap();
    let (rows, distinct, folded): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(rows as usize, unique, "every record stored once");
    assert_eq!(distinct as usize, unique);
    assert_eq!(
        folded as usize,
        BATCHES * SIZE * 2 - unique,
        "every other copy folded"
    );
    let answer = client
        .get(format!("{}/api/search", b.base))
        .bearer_auth(READ)
        .query(&[("id", TRACE)])
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    let first = messages(answer["records"].as_array().unwrap());
    assert_eq!(
        first[..5],
        names[..5].iter().map(String::as_str).collect::<Vec<_>>()[..],
        "either collector finds what the other stored, in time order"
    );
}

/// An ID as the store keeps it: lowercase hex as a 0 byte and the bytes it spells.
fn stored_id(hex: &str) -> Vec<u8> {
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap());
    std::iter::once(0).chain(bytes).collect()
}

#[tokio::test]
async fn postgres_search_uses_the_indices_not_a_scan() {
    let url = common::postgres::database().await;
    let store = Store::open(&PathBuf::from(&url)).await.unwrap();
    let ids: Vec<String> = (0..200).map(|i| format!("{i:032x}")).collect();
    for chunk in ids.chunks(50) {
        let records: Vec<_> = chunk
            .iter()
            .flat_map(|id| (0..20u64).map(move |j| (None, j, "x", id.as_str())))
            .collect();
        store
            .insert_logs(rows_at(&body("shop", "app", &records), now_ns() as i64))
            .await
            .unwrap();
    }
    let client = common::postgres::connect(&url).await;
    client
        .batch_execute("ANALYZE logs; ANALYZE layouts")
        .await
        .unwrap();
    let plan: Vec<String> = client
        .query(
            "EXPLAIN SELECT logs.*, layouts.content AS layout_content
             FROM logs JOIN layouts ON layouts.id = logs.layout
             WHERE (logs.correlation_id = $1 OR logs.trace_id = $1 OR logs.session_id = $1)
               AND logs.provenance = $2 AND (logs.time_ns, logs.id) > ($3, $4)
             ORDER BY logs.time_ns, logs.id LIMIT $5",
            &[&stored_id(&ids[7]), &0i16, &i64::MIN, &i64::MIN, &100i64],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("Index"), "{plan}");
    assert!(!plan.contains("Seq Scan on logs"), "{plan}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_collector_mid_ingest_loses_nothing_acknowledged() {
    let url = common::postgres::database().await;
    let mut victim = process(&url).await;
    let client = reqwest::Client::new();
    let target = format!("{}/v1/logs", victim.base);
    let sender = tokio::spawn(async move {
        let mut acknowledged = Vec::new();
        for b in 0..400u64 {
            let (text, names) = numbered("k", b * 50, 50);
            let sent = client
                .post(&target)
                .bearer_auth(WRITE)
                .header("Content-Type", "application/json")
                .body(text)
                .send()
                .await;
            match sent {
                Ok(r) if r.status() == 200 => acknowledged.extend(names),
                _ => break,
            }
        }
        acknowledged
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    victim.child.start_kill().unwrap();
    victim.child.wait().await.unwrap();
    let acknowledged = sender.await.unwrap();
    assert!(
        !acknowledged.is_empty() && acknowledged.len() < 400 * 50,
        "killed mid-ingest ({} acknowledged)",
        acknowledged.len()
    );
    let store = Store::open(&PathBuf::from(&url)).await.unwrap();
    let mut stored = HashSet::new();
    let mut after = None;
    loop {
        let page = store
            .logs(TRACE, Provenance::Backend, after, 1000)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some((last.time_ns, last.row_id));
        stored.extend(page.into_iter().map(|r| r.message));
    }
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|m| !stored.contains(*m))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
}

/// One log record and one span as a collector of the first schema stored them (`DAY` the day
/// partition column on PostgreSQL, left out on SQLite; `HASH1`, `HASH2` their content hashes).
const FIRST_SCHEMA_ROWS: [&str; 2] = [
    r#"INSERT INTO logs (DAY provenance, content_hash, folded, time_ns, time_replaced, sent_time,
        observed_time, service, scope, scope_version, severity_number, severity_text, level,
        event_name, body, message, trace_id, span_id, flags, correlation_id, session_id, event_id,
        resource, attributes, dropped_attributes)
     VALUES (DAYVALUE 'backend', HASH1, 2, 1700000000000000000, FALSE, '1700000000000000000',
        '1700000000000000001', 'shop', 'app', '1.2', 17, '', 'ERROR', 'checkout',
        '{"kvlistValue":{"values":[{"key":"a","value":{"doubleValue":"NaN"}}]}}', '{"a":"NaN"}',
        '0af7651916cd43dd8448eb211c80319c', '00f067aa0ba902b7', 1, 'order-7', 's1', 'e1',
        '[{"key":"service.name","value":{"stringValue":"shop"}}]',
        '[{"key":"event.id","value":{"stringValue":"e1"}},{"key":"session.id","value":{"stringValue":"s1"}},{"key":"correlation_id","value":{"stringValue":"order-7"}},{"key":"n","value":{"intValue":"9007199254740993"}}]',
        3)"#,
    r#"INSERT INTO spans (DAY provenance, content_hash, folded, start_ns, end_ns, time_replaced,
        service, scope, scope_version, name, kind, trace_id, span_id, parent_span_id, status_code,
        status_message, flags, correlation_id, session_id, resource, attributes, trace_state,
        events, links)
     VALUES (DAYVALUE 'backend', HASH2, 0, 1700000000000000000, 1700000000500000000, FALSE,
        'shop', 'app', '1.2', 'GET /pay', 2, '0af7651916cd43dd8448eb211c80319c', '00f067aa0ba902b7',
        NULL, 2, 'boom', 1, '0af7651916cd43dd8448eb211c80319c', NULL,
        '[{"key":"service.name","value":{"stringValue":"shop"}}]',
        '[{"key":"bytes","value":{"bytesValue":"AAEC/w=="}}]', 'k=v',
        '[{"time_unix_nano":"1","name":"retry","attributes":{}}]', '[]')"#,
];

/// What the carried-over rows read back as: every field as the first schema held it.
async fn first_schema_rows_read_back(db: &std::path::Path) {
    let store = Store::open(db).await.unwrap();
    let logs = store
        .logs("order-7", Provenance::Backend, None, 10)
        .await
        .unwrap();
    assert_eq!(logs.len(), 1, "found by its correlation ID");
    let log = serde_json::to_value(&logs[0]).unwrap();
    let expected = serde_json::json!({
        "provenance": "backend", "time_unix_nano": "1700000000000000000", "time_replaced": false,
        "sent_time_unix_nano": "1700000000000000000", "observed_time_unix_nano": "1700000000000000001",
        "service": "shop", "scope": "app", "scope_version": "1.2", "severity_number": 17,
        "severity_text": "", "level": "ERROR", "event_name": "checkout",
        "body": {"kvlistValue": {"values": [{"key": "a", "value": {"doubleValue": "NaN"}}]}},
        "message": "{\"a\":\"NaN\"}", "trace_id": TRACE, "span_id": "00f067aa0ba902b7", "flags": 1,
        "correlation_id": "order-7", "session_id": "s1", "event_id": "e1",
        "resource": {"service.name": {"stringValue": "shop"}},
        "attributes": {"event.id": {"stringValue": "e1"}, "session.id": {"stringValue": "s1"},
            "correlation_id": {"stringValue": "order-7"}, "n": {"intValue": "9007199254740993"}},
        "dropped_attributes_count": 3, "folded": 2,
    });
    assert_eq!(log, expected);
    assert_eq!(
        store
            .logs("s1", Provenance::Backend, None, 10)
            .await
            .unwrap()
            .len(),
        1,
        "found by its session ID"
    );
    let spans = store
        .spans(TRACE, Provenance::Backend, None, 10)
        .await
        .unwrap();
    assert_eq!(spans.len(), 1);
    let span = serde_json::to_value(&spans[0]).unwrap();
    assert_eq!(span["attributes"]["bytes"]["bytesValue"], "AAEC/w==");
    assert_eq!(span["events"][0]["name"], "retry");
    assert_eq!(span["status_message"], "boom");
    assert_eq!(span["trace_state"], "k=v");
    assert_eq!(span["end_time_unix_nano"], "1700000000500000000");
    assert_eq!(span["correlation_id"], TRACE);
    assert_eq!(span["parent_span_id"], Value::Null);
    assert_eq!(store.count().await.unwrap(), 1);
    assert_eq!(store.count_spans().await.unwrap(), 1);
}

#[tokio::test]
async fn a_sqlite_file_of_the_first_schema_is_carried_over() {
    let engine = sqlite();
    let old = rusqlite::Connection::open(&engine.db).unwrap();
    old.execute_batch(threadline_collector::store::sqlite::FIRST_SCHEMA)
        .unwrap();
    for sql in FIRST_SCHEMA_ROWS {
        let sql = sql
            .replace("DAYVALUE ", "")
            .replace("DAY ", "")
            .replace("HASH1", "X'01'")
            .replace("HASH2", "X'02'");
        old.execute_batch(&sql).unwrap();
    }
    drop(old);
    first_schema_rows_read_back(&engine.db).await;
    let reopened = rusqlite::Connection::open(&engine.db).unwrap();
    let versions: i64 = reopened
        .query_row("SELECT count(*) FROM threadline_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(versions, 3);
    let old_tables: i64 = reopened
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('logs_v1', 'spans_v1')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old_tables, 0, "the first schema's tables are gone");
    drop(reopened);
    first_schema_rows_read_back(&engine.db).await;
}

#[tokio::test]
async fn a_sqlite_file_of_the_compact_schema_gets_the_time_led_key() {
    use threadline_collector::store::sqlite::{COMPACT_SCHEMA, FIRST_SCHEMA};
    let batch = body(
        "shop",
        "app",
        &[(None, 1, "one", TRACE), (None, 2, "two", TRACE)],
    );
    let rows = rows_at(&batch, now_ns() as i64);
    let source = sqlite();
    let store = Store::open(&source.db).await.unwrap();
    store.insert_logs(rows.clone()).await.unwrap();
    drop(store);
    // A file of schema version 2 holding the same rows, as the collector before left it.
    let engine = sqlite();
    let old = rusqlite::Connection::open(&engine.db).unwrap();
    old.execute_batch(FIRST_SCHEMA).unwrap();
    old.execute_batch(COMPACT_SCHEMA).unwrap();
    old.execute_batch(&format!(
        "DROP TABLE logs_v1; DROP TABLE spans_v1;
         CREATE TABLE threadline_schema (version INTEGER NOT NULL);
         INSERT INTO threadline_schema (version) VALUES (1), (2);
         ATTACH '{}' AS source;
         INSERT INTO layouts SELECT * FROM source.layouts;
         INSERT INTO logs SELECT * FROM source.logs;",
        source.db.display()
    ))
    .unwrap();
    let ids: Vec<i64> = old
        .prepare("SELECT id FROM logs ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ids.len(), 2);
    drop(old);

    let store = Store::open(&engine.db).await.unwrap();
    let logs = store
        .logs(TRACE, Provenance::Backend, None, 10)
        .await
        .unwrap();
    assert_eq!(
        logs.iter().map(|r| r.message.as_str()).collect::<Vec<_>>(),
        ["one", "two"]
    );
    assert_eq!(logs.iter().map(|r| r.row_id).collect::<Vec<_>>(), ids);
    assert_eq!(
        store.insert_logs(rows).await.unwrap(),
        Written {
            added: 0,
            folded: 2
        },
        "records stored before the migration fold a resend"
    );
    drop(store);
    let reopened = rusqlite::Connection::open(&engine.db).unwrap();
    let (versions, key): (i64, i64) = reopened
        .query_row(
            "SELECT (SELECT count(*) FROM threadline_schema),
                    (SELECT count(*) FROM sqlite_master WHERE name = 'logs_content')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((versions, key), (3, 1));
}

#[tokio::test]
async fn a_postgres_database_of_the_first_schema_is_carried_over() {
    let url = common::postgres::database().await;
    let old = common::postgres::connect(&url).await;
    old.batch_execute(threadline_collector::store::postgres::FIRST_SCHEMA)
        .await
        .unwrap();
    let day = 1_700_000_000i64 / 86_400;
    old.batch_execute(&format!(
        "CREATE TABLE threadline_schema (version integer NOT NULL);
         INSERT INTO threadline_schema VALUES (1);
         CREATE TABLE logs_d{day} PARTITION OF logs FOR VALUES FROM ({day}) TO ({});
         CREATE TABLE spans_d{day} PARTITION OF spans FOR VALUES FROM ({day}) TO ({});",
        day + 1,
        day + 1
    ))
    .await
    .unwrap();
    for sql in FIRST_SCHEMA_ROWS {
        let sql = sql
            .replace("DAYVALUE ", &format!("{day}, "))
            .replace("DAY ", "day, ")
            .replace("HASH1", r"'\x01'::bytea")
            .replace("HASH2", r"'\x02'::bytea");
        old.batch_execute(&sql).await.unwrap();
    }
    first_schema_rows_read_back(&PathBuf::from(&url)).await;
    let tables: i64 = old
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relname LIKE 'logs_v1%' OR relname LIKE 'spans_v1%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        tables, 0,
        "the first schema's tables and partitions are gone"
    );
    first_schema_rows_read_back(&PathBuf::from(&url)).await;
}

#[tokio::test]
async fn sqlite_search_uses_the_id_indices_not_a_scan() {
    let engine = sqlite();
    let store = Store::open(&engine.db).await.unwrap();
    drop(store);
    let db = rusqlite::Connection::open(&engine.db).unwrap();
    for (table, time) in [("logs", "time_ns"), ("spans", "start_ns")] {
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT {table}.*, layouts.content AS layout_content
             FROM {table} JOIN layouts ON layouts.id = {table}.layout
             WHERE ({table}.correlation_id = ?1 OR {table}.trace_id = ?1 OR {table}.session_id = ?1)
               AND {table}.provenance = ?2 AND ({table}.{time}, {table}.id) > (?3, ?4)
             ORDER BY {table}.{time}, {table}.id LIMIT ?5"
        );
        let mut plan = db.prepare(&sql).unwrap();
        let plan: Vec<String> = plan
            .query_map([0, 0, 0, 0, 100], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let plan = plan.join("\n");
        for index in ["correlation", "trace", "session"] {
            assert!(
                plan.contains(&format!("USING INDEX {table}_{index}")),
                "{plan}"
            );
        }
        assert!(!plan.contains(&format!("SCAN {table}")), "{plan}");
        assert!(!plan.contains("autoindex"), "{plan}");
    }
}
