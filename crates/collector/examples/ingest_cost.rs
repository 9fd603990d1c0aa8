//! The CPU time per record of each step a logs request takes before the writer: JSON decoding,
//! rows (with their content hash) and the stored form. Reads one OTLP JSON body from the file
//! given, runs each step a fixed number of times and prints the median µs per record of each.
//! `cargo run --release -p threadline-collector --example ingest_cost -- body.json`

use std::time::Instant;

use threadline_collector::ingest::{self, Clock, Format, Limits};
use threadline_collector::rows::Provenance;
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

fn main() -> Result<(), String> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: ingest_cost <OTLP JSON logs body>")?;
    let body = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_nanos();
    let now_ns = i64::try_from(now_ns).map_err(|e| e.to_string())?;
    let clock = Clock {
        now_ns,
        oldest_ns: now_ns - 30 * 86_400 * 1_000_000_000,
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
