//! Decodes OTLP/HTTP JSON logs bodies with the `opentelemetry-proto` decoder, one body per input
//! line, and prints each record's fields as one JSON line (trace ID in hex, attribute values as
//! the collector reads them).
//! A body the decoder refuses prints `{"error": …}` and makes the exit status 1. Used by the
//! end-to-end tests to check what the browser really sent.

use std::io::{BufRead, Write};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use serde_json::json;
use threadline_collector::ingest::{attributes_json, hex, plain};

fn main() {
    let mut failed = false;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let request: ExportLogsServiceRequest = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                failed = true;
                let _ = writeln!(out, "{}", json!({ "error": e.to_string() }));
                continue;
            }
        };
        for resource_logs in &request.resource_logs {
            let resource = resource_logs
                .resource
                .as_ref()
                .map(|r| attributes_json(&r.attributes))
                .unwrap_or_default();
            for scope_logs in &resource_logs.scope_logs {
                for record in &scope_logs.log_records {
                    let attributes = attributes_json(&record.attributes);
                    let trace_id = hex(&record.trace_id);
                    let row = json!({
                        "resource": resource,
                        "scope": scope_logs.scope.as_ref().map(|s| s.name.clone()),
                        "timeUnixNano": record.time_unix_nano,
                        "severityNumber": record.severity_number,
                        "severityText": record.severity_text,
                        "body": plain(record.body.as_ref()),
                        "traceId": trace_id,
                        "attributes": attributes,
                    });
                    let _ = writeln!(out, "{row}");
                }
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
