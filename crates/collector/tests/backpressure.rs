//! Group commit and backpressure on a real SQLite file: while another process holds the
//! database's write lock, the writer waits, one more request waits in the queue, the next is
//! refused with 503 and `Retry-After` and counted, and search still answers at once; when the
//! lock goes, every waiting request is stored and acknowledged. Many concurrent requests are all
//! stored.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// The collector's `/api/stats`.
async fn stats(c: &Collector) -> Value {
    let answer = c
        .client
        .get(format!("{}/api/stats", c.base))
        .bearer_auth(READ)
        .send()
        .await
        .unwrap();
    serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_write_queue_answers_503_and_reads_do_not_wait() {
    let c = collector_with(|s| s.write_queue = 1).await;
    let lock = rusqlite::Connection::open(&c.db).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let post = |n: u64| {
        let (client, base) = (c.client.clone(), c.base.clone());
        let text = body("shop", "app", &[(None, n, &format!("m{n}"), TRACE)]).to_string();
        post_as_backend(client, format!("{base}/v1/logs"), text)
    };
    let writing = tokio::spawn(post(1));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waiting = tokio::spawn(post(2));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = post(3).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    let started = Instant::now();
    assert_eq!(c.search(TRACE).await.len(), 0);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "search answered while the write lock was held"
    );
    let stats = stats(&c).await;
    assert_eq!(stats["write_queue_refused"], 1);
    assert!(
        !writing.is_finished() && !waiting.is_finished(),
        "no 200 before the commit"
    );
    lock.execute_batch("COMMIT").unwrap();
    assert_eq!(writing.await.unwrap().status(), 200);
    assert_eq!(waiting.await.unwrap().status(), 200);
    assert_eq!(messages(&c.search(TRACE).await), ["m1", "m2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_commits_and_the_records_they_held() {
    let c = collector_with(|s| s.write_queue = 64).await;
    let lock = rusqlite::Connection::open(&c.db).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..8u64 {
        let (text, _) = numbered("g", i * 10, 10);
        let (client, base) = (c.client.clone(), c.base.clone());
        sends.spawn(async move {
            post_as_backend(client, format!("{base}/v1/logs"), text)
                .await
                .status()
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    lock.execute_batch("COMMIT").unwrap();
    while let Some(status) = sends.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    let stats = stats(&c).await;
    assert_eq!(stats["committed_requests"], 8);
    assert_eq!(stats["committed_records"], 80);
    let commits = stats["commits"].as_u64().unwrap();
    assert!(
        (1..8).contains(&commits),
        "requests that waited behind a lock are grouped: {commits} commits for 8 requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_requests_are_all_stored() {
    let c = collector().await;
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..32u64 {
        let (text, _) = numbered("r", i * 100, 50);
        let (client, base) = (c.client.clone(), c.base.clone());
        sends.spawn(async move {
            post_as_backend(client, format!("{base}/v1/logs"), text)
                .await
                .status()
        });
    }
    while let Some(status) = sends.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    assert_eq!(c.count().await, 32 * 50);
}
