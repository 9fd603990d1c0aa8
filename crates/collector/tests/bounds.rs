//! Bounds over real HTTP: slow and idle connections are cut, the connection cap holds, bodies
//! that never finish or expand past the limit are refused, records, attributes and nesting are
//! bounded, search pages are bounded and paged with genuine backend rows first, and times
//! outside the sane window are replaced.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection (or `limit` passes); returns what it sent.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()
    .map(|()| out)
}

/// Sends `head` and `body` on a new connection; the answer's text once the server closes it.
async fn raw_answer(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let answer = until_closed(&mut stream, Duration::from_secs(3))
        .await
        .unwrap_or_default();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_of_300_connections_is_cut_within_the_header_timeout_while_others_answer() {
    let c = collector_with(|s| {
        s.connections.header_timeout = Duration::from_secs(1);
    })
    .await;
    let started = Instant::now();
    let mut attackers = Vec::new();
    for _ in 0..300 {
        let addr = c.addr;
        attackers.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream
                .write_all(b"POST /v1/logs HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
            let opened = Instant::now();
            // One header byte every 200 ms, at most 50 of them (10 s), until the server cuts.
            for _ in 0..50 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if stream.write_all(b"X").await.is_err() {
                    break;
                }
                let mut probe = [0u8; 1];
                if let Ok(Ok(0) | Err(_)) =
                    tokio::time::timeout(Duration::from_millis(1), stream.read(&mut probe)).await
                {
                    break;
                }
            }
            opened.elapsed()
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let normal = c
        .post_browser(&body(
            "web",
            "threadline",
            &[(None, 1, "still answered", TRACE)],
        ))
        .await;
    assert_eq!(
        normal.status(),
        200,
        "a normal request answers during the attack"
    );
    assert!(started.elapsed() < Duration::from_secs(1), "and promptly");
    let mut longest = Duration::ZERO;
    for attacker in attackers {
        longest = longest.max(attacker.await.unwrap());
    }
    assert!(
        longest < Duration::from_millis(2500),
        "every slow connection cut, the last after {longest:?}"
    );
    assert_eq!(messages(&c.search(TRACE).await), ["still answered"]);
}

#[tokio::test]
async fn idle_connections_are_closed_and_the_connection_cap_holds() {
    let c = collector_with(|s| {
        s.connections.idle_timeout = Duration::from_millis(400);
        s.connections.max_connections = 4;
    })
    .await;
    // A keep-alive connection is answered, then closed once idle.
    let mut stream = TcpStream::connect(c.addr).await.unwrap();
    stream
        .write_all(b"GET /page.css HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let sent = until_closed(&mut stream, Duration::from_secs(3))
        .await
        .expect("closed when idle");
    assert!(String::from_utf8_lossy(&sent).starts_with("HTTP/1.1 200"));
    assert!(
        started.elapsed() >= Duration::from_millis(350)
            && started.elapsed() < Duration::from_secs(2)
    );

    // Four connections fill the cap; a fifth is closed at once; once one goes, a new one is served.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(c.addr).await.unwrap();
        s.write_all(b"G").await.unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut fifth = TcpStream::connect(c.addr).await.unwrap();
    let _ = fifth.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let answer = until_closed(&mut fifth, Duration::from_millis(300))
        .await
        .expect("closed at once");
    assert!(answer.is_empty(), "no answer past the cap");
    // The held ones go idle and are closed; then the door opens again.
    for mut s in held {
        until_closed(&mut s, Duration::from_secs(3))
            .await
            .expect("idle, closed");
    }
    let r = c
        .client
        .get(format!("{}/page.css", c.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn bodies_that_stall_or_never_finish_are_cut_and_bounded_in_memory() {
    let c = collector_with(|s| {
        s.connections.body_timeout = Duration::from_millis(500);
        s.limits.max_body_bytes = 4096;
        s.max_buffered_bytes = 8192;
    })
    .await;
    let head = |len: usize| {
        format!(
            "POST /v1/logs HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
        )
    };
    // A body that stalls is answered 408 within the body timeout.
    let mut slow = TcpStream::connect(c.addr).await.unwrap();
    slow.write_all(head(100).as_bytes()).await.unwrap();
    slow.write_all(b"{\"resourceLogs\":").await.unwrap();
    let started = Instant::now();
    let answer = until_closed(&mut slow, Duration::from_secs(3))
        .await
        .expect("cut");
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(started.elapsed() < Duration::from_millis(1500));

    // Two unfinished 4000-byte bodies hold the 8 KiB budget; a third body is refused with 503.
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(c.addr).await.unwrap();
        s.write_all(head(4096).as_bytes()).await.unwrap();
        s.write_all(&[b' '; 4000]).await.unwrap();
        holders.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let answer = raw_answer(c.addr, &head(1000), &[b' '; 1000]).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    // A declared length past the limit is refused before any of it is read.
    let r = c.post("application/json", None, vec![b' '; 5000]).await;
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn bombs_floods_of_records_wide_and_deep_values_are_refused_and_empty_records_counted() {
    let c = collector_with(|s| {
        s.limits.max_records = 3;
        s.limits.max_attributes = 4;
        s.limits.max_depth = 3;
    })
    .await;
    let records =
        |list: Vec<Value>| json!({"resourceLogs": [{"scopeLogs": [{"logRecords": list}]}]});
    let empty = records(vec![json!({}); 10_000]).to_string();
    // A small gzip body of empty records: refused before anything is stored.
    let r = c
        .post("application/json", Some("gzip"), gzip(empty.as_bytes()))
        .await;
    assert_eq!(r.status(), 413);
    let bomb = vec![b' '; 6 * 1024 * 1024];
    assert_eq!(
        c.post("application/json", Some("gzip"), gzip(&bomb))
            .await
            .status(),
        413
    );
    assert_eq!(
        c.post("application/json", Some("deflate"), zlib(&bomb))
            .await
            .status(),
        413
    );
    let wide: Vec<Value> = (0..5)
        .map(|i| json!({"key": format!("k{i}"), "value": {"intValue": "1"}}))
        .collect();
    let r = c
        .post_browser(&records(vec![json!({"attributes": wide})]))
        .await;
    assert_eq!(r.status(), 413);
    let mut deep = json!({"stringValue": "core"});
    for _ in 0..4 {
        deep = json!({"arrayValue": {"values": [deep]}});
    }
    let r = c.post_browser(&records(vec![json!({"body": deep})])).await;
    assert_eq!(r.status(), 400);
    assert_eq!(c.count().await, 0);
    let r = c
        .post_browser(&records(vec![
            json!({}),
            json!({"body": {"stringValue": "kept"}, "traceId": TRACE}),
            json!({}),
        ]))
        .await;
    assert_eq!(r.status(), 200);
    let answer: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(answer["partialSuccess"]["rejectedLogRecords"], "2");
    assert_eq!(c.count().await, 1);
}

#[tokio::test]
async fn forged_volume_cannot_push_genuine_rows_out_and_pages_say_when_cut() {
    let c = collector_with(|s| {
        s.page.rows = 50;
        s.page.bytes = 64 * 1024;
    })
    .await;
    let genuine: Vec<(Option<&str>, u64, &str, &str)> = (0..10)
        .map(|i| (None, 1_000 + i, "genuine", TRACE))
        .collect();
    assert_eq!(
        c.post_backend(&body("checkout", "checkout", &genuine))
            .await
            .status(),
        200
    );
    let texts: Vec<String> = (0..300).map(|i| format!("forged {i}")).collect();
    for chunk in texts.chunks(100) {
        let forged: Vec<(Option<&str>, u64, &str, &str)> =
            chunk.iter().map(|t| (None, 1, t.as_str(), TRACE)).collect();
        assert_eq!(
            c.post_browser(&body("checkout", "checkout", &forged))
                .await
                .status(),
            200
        );
    }
    let first = c.answer(TRACE, None).await;
    let records = first["records"].as_array().unwrap();
    assert_eq!(records.len(), 50);
    assert_eq!(
        records
            .iter()
            .filter(|r| r["provenance"] == "backend")
            .count(),
        10,
        "all genuine rows on the first page"
    );
    assert_eq!(first["cut"], true);
    let mut seen = records.len();
    let mut next = first["next"].as_str().map(str::to_owned);
    let mut pages = 1;
    while let Some(cursor) = next {
        let page = c.answer(TRACE, Some(&cursor)).await;
        seen += page["records"].as_array().unwrap().len();
        next = page["next"].as_str().map(str::to_owned);
        assert_eq!(page["cut"], next.is_some());
        pages += 1;
        assert!(pages < 20);
    }
    assert_eq!(seen, 310, "paging reaches every row once");

    // Big rows: the byte bound cuts the page, the genuine rows still come first.
    let big = "x".repeat(20_000);
    let planted: Vec<(Option<&str>, u64, &str, &str)> = (0..10)
        .map(|i| (None, i, big.as_str(), "1af7651916cd43dd8448eb211c80319c"))
        .collect();
    c.post_browser(&body("web", "threadline", &planted)).await;
    c.post_backend(&body(
        "checkout",
        "checkout",
        &[(None, 99, "genuine", "1af7651916cd43dd8448eb211c80319c")],
    ))
    .await;
    let response = c
        .client
        .get(format!(
            "{}/api/search?id=1af7651916cd43dd8448eb211c80319c",
            c.base
        ))
        .bearer_auth(READ)
        .send()
        .await
        .unwrap();
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.len() < 64 * 1024 + 8 * 1024, "{} bytes", bytes.len());
    let page: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(page["cut"], true);
    assert!(
        page["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["message"] == "genuine")
    );
}

#[tokio::test]
async fn times_outside_the_window_are_replaced_flagged_and_still_swept() {
    let c = collector().await;
    let with_time = |time: &str, message: &str| {
        json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [{
            "timeUnixNano": time, "body": {"stringValue": message}, "traceId": TRACE
        }]}]}]})
    };
    let before = now_ns();
    for (time, message) in [
        ("0", "no time"),
        ("11000000000000000000", "year 2318"),
        ("1000", "1970"),
        (&(base() + 5).to_string()[..], "sane"),
    ] {
        assert_eq!(
            c.post_browser(&with_time(time, message)).await.status(),
            200
        );
    }
    let found = c.search(TRACE).await;
    let by = |m: &str| found.iter().find(|r| r["message"] == m).unwrap().clone();
    for m in ["no time", "year 2318", "1970"] {
        let r = by(m);
        assert_eq!(r["time_replaced"], true, "{m}");
        let t: u64 = r["time_unix_nano"].as_str().unwrap().parse().unwrap();
        assert!(
            t >= before && t <= now_ns(),
            "{m}: placed at the receive time"
        );
    }
    assert_eq!(
        by("year 2318")["sent_time_unix_nano"],
        "11000000000000000000"
    );
    assert_eq!(by("sane")["time_replaced"], false);
    assert_eq!(messages(&found)[0], "sane", "the sane record is the oldest");
    let store = threadline_collector::store::Store::open(&c.db)
        .await
        .unwrap();
    assert_eq!(
        store.remove_older_than(now_ns() as i64 + 1).await.unwrap(),
        4,
        "retention applies to all"
    );
}

#[tokio::test]
async fn one_client_cannot_spend_the_whole_body_budget() {
    let c = collector_with(|s| {
        s.trust_proxy = true;
        s.limits.max_body_bytes = 8192;
        s.max_buffered_bytes = 64 * 1024;
        s.max_client_buffered_bytes = 5000;
    })
    .await;
    let head = |len: usize, client: &str| {
        format!(
            "POST /v1/logs HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Forwarded-For: {client}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
        )
    };
    let mut holder = TcpStream::connect(c.addr).await.unwrap();
    holder
        .write_all(head(8000, "198.51.100.1").as_bytes())
        .await
        .unwrap();
    holder.write_all(&[b' '; 4000]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let answer = raw_answer(c.addr, &head(2000, "198.51.100.1"), &[b' '; 2000]).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let body = body("web", "threadline", &[(None, 1, "another client", TRACE)]).to_string();
    let answer = raw_answer(c.addr, &head(body.len(), "198.51.100.2"), body.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(holder);
}
