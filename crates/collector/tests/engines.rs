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
use threadline_collector::store::Store;
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
);

async fn on(engine: &Engine) -> Collector {
    let db = engine.db.clone();
    collector_with(move |s| s.db = db).await
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
    let db = engine.db.clone();
    let c = collector_with(move |s| {
        s.db = db;
        s.page.rows = 7;
    })
    .await;
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

/// Log rows of `body` as decoded at `now_ns` (times outside the window move to it).
fn rows_at(body: &Value, now_ns: i64) -> Vec<threadline_collector::rows::LogRow> {
    let request = ingest::decode_logs(body.to_string().as_bytes(), Format::Json).unwrap();
    let clock = Clock {
        now_ns,
        oldest_ns: now_ns - 7 * 86_400_000_000_000,
    };
    ingest::log_rows(&request, Provenance::Backend, &Limits::default(), &clock)
        .unwrap()
        .rows
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
    assert_eq!(versions, 1, "two collectors starting at once migrate once");
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
    client.batch_execute("ANALYZE logs").await.unwrap();
    let plan: Vec<String> = client
        .query(
            "EXPLAIN SELECT * FROM logs
             WHERE (correlation_id = $1 OR trace_id = $1 OR session_id = $1) AND provenance = $2
               AND (time_ns, id) > ($3, $4) ORDER BY time_ns, id LIMIT $5",
            &[&ids[7], &"backend", &i64::MIN, &i64::MIN, &100i64],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("Index"), "{plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");
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
    let db = common::postgres::connect(&url).await;
    let stored: HashSet<String> = db
        .query("SELECT message FROM logs", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|m| !stored.contains(*m))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
}
