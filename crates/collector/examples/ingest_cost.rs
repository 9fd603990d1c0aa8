//! The CPU time per record of each step a logs request takes before the writer: JSON decoding,
//! rows (with their content hash) and the stored form. Reads one OTLP JSON logs body from the
//! file given, or makes one shaped like `npm run bench:collector`'s batches (200 records, seven
//! attributes each), runs each step a fixed number of times and prints the median µs per record
//! of each.
//! `cargo run --release -p threadline-collector --example ingest_cost [-- body.json]`

use std::time::Instant;

use threadline_collector::ingest::{self, Clock, Format, Limits};
use threadline_collector::rows::Provenance;
use threadline_collector::server;
use threadline_collector::store::{Prepared, Rows};

/// Rounds per step, each over the whole body; the median is printed.
const ROUNDS: usize = 41;

fn median_us_per_record(records: usize, mut step: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            step();
            started.elapsed().as_secs_f64() * 1e6 / records as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times.get(ROUNDS / 2).copied().unwrap_or(f64::NAN)
}

/// A batch like the collector bench's: 200 records of one service, 10 to a story.
fn bench_batch() -> Vec<u8> {
    use serde_json::json;
    let id =
        |kind: u64, n: u64, digits: usize| format!("{kind:x}{n:0>width$x}", width = digits - 1);
    let text = |key: &str, value: String| json!({ "key": key, "value": { "stringValue": value } });
    let records: Vec<_> = (0..200u64)
        .map(|n| {
            let method = if n % 3 == 0 { "POST" } else { "GET" };
            let routes = ["/api/orders", "/api/cart", "/api/pay", "/api/products", "/api/session"];
            let route = routes.get(usize::try_from(n % 5).unwrap_or(0)).unwrap_or(&"/");
            let ms = (n % 1000) as f64 / 7.0;
            json!({
                "timeUnixNano": (1_796_000_000_000_000_000 + n).to_string(),
                "observedTimeUnixNano": (1_796_000_000_000_001_000 + n).to_string(),
                "severityNumber": if n % 17 == 0 { 17 } else { 9 },
                "severityText": if n % 17 == 0 { "ERROR" } else { "INFO" },
                "body": { "stringValue": format!("{method} {route} answered in {ms} ms") },
                "traceId": id(0xc, n / 10, 32),
                "spanId": id(0xa, n, 16),
                "attributes": [
                    text("correlation_id", id(0xc, n / 10, 32)),
                    text("session.id", id(0x5, 7, 32)),
                    text("event.id", id(0xe, n, 32)),
                    text("http.request.method", method.to_owned()),
                    text("url.path", format!("{route}/{}", n % 9973)),
                    json!({ "key": "http.response.status_code", "value": { "intValue": if n % 17 == 0 { "503" } else { "200" } } }),
                    json!({ "key": "duration_ms", "value": { "doubleValue": ms } }),
                ],
            })
        })
        .collect();
    let resource = [
        "service.name",
        "service.version",
        "host.name",
        "deployment.environment",
    ]
    .into_iter()
    .zip(["shop-api", "1.4.2", "web-3.shop.internal", "bench"])
    .map(|(k, v)| text(k, v.to_owned()))
    .collect::<Vec<_>>();
    json!({ "resourceLogs": [{ "resource": { "attributes": resource }, "scopeLogs": [{ "scope": { "name": "shop", "version": "1.4.2" }, "logRecords": records }] }] })
        .to_string()
        .into_bytes()
}

fn main() -> Result<(), String> {
    let body = match std::env::args().nth(1) {
        Some(path) => std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?,
        None => bench_batch(),
    };
    let clock = Clock {
        now_ns: server::now_ns(),
        oldest_ns: server::cutoff_ns(30),
    };
    let limits = Limits::default();
    let decode = || ingest::decode_logs(&body, Format::Json).map_err(|e| format!("{e:?}"));
    let request = decode()?;
    let rows = ingest::log_rows(request.clone(), Provenance::Backend, &limits, &clock)
        .map_err(|e| format!("{e:?}"))?
        .rows;
    let records = rows.len();
    let rows = Rows::Logs(rows);
    let decoding = median_us_per_record(records, || {
        std::hint::black_box(decode().ok());
    });
    // Rows take their request apart: each round gets a copy made beforehand.
    let mut copies = vec![request; ROUNDS];
    let to_rows = median_us_per_record(records, || {
        if let Some(request) = copies.pop() {
            std::hint::black_box(
                ingest::log_rows(request, Provenance::Backend, &limits, &clock).ok(),
            );
        }
    });
    let stored = median_us_per_record(records, || {
        std::hint::black_box(Prepared::of(&rows));
    });
    println!(
        "{records} records, {} bytes: decode {decoding:.2} µs, rows {to_rows:.2} µs, stored form {stored:.2} µs per record (medians of {ROUNDS})",
        body.len()
    );
    Ok(())
}
