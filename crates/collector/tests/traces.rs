//! Traces and metrics over real HTTP: spans in JSON and protobuf are stored and come back with
//! the log lines of the same ID; metrics are answered as OTLP asks and not kept; a correlation
//! ID's story lists the other errors of its session.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use serde_json::{Value, json};

/// A span to send: span ID, name, parent, start and end (ns after the base time), status code.
type SpanSpec<'a> = (&'a str, &'a str, Option<&'a str>, u64, u64, i32);

fn spans(service: &str, list: &[SpanSpec<'_>]) -> Value {
    let spans: Vec<Value> = list
        .iter()
        .map(|(span_id, name, parent, start, end, status)| {
            let mut span = json!({
                "traceId": TRACE, "spanId": span_id, "name": name, "kind": 2,
                "startTimeUnixNano": (base() + start).to_string(),
                "endTimeUnixNano": (base() + end).to_string(),
                "status": {"code": status, "message": if *status == 2 { "timeout" } else { "" }},
                "flags": 257,
                "traceState": "vendor=1",
                "attributes": [{"key": "http.route", "value": {"stringValue": "/api/pay"}}],
                "events": [{"timeUnixNano": (base() + start + 5).to_string(), "name": "exception",
                    "attributes": [{"key": "exception.message", "value": {"stringValue": "deadline exceeded"}}]}],
                "links": [{"traceId": "1af7651916cd43dd8448eb211c80319c", "spanId": "22f067aa0ba902b7",
                    "attributes": [{"key": "link.kind", "value": {"stringValue": "retry-of"}}]}]
            });
            if let Some(parent) = parent {
                span["parentSpanId"] = json!(parent);
            }
            span
        })
        .collect();
    json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "tracer", "version": "2.0"}, "spans": spans}]
    }]})
}

#[tokio::test]
async fn spans_in_json_and_protobuf_come_back_with_the_log_lines() {
    let c = collector().await;
    let checkout = spans(
        "checkout",
        &[(
            "00f067aa0ba902b7",
            "POST /api/checkout",
            None,
            0,
            3_200_000_000,
            2,
        )],
    );
    let r = c
        .send(
            "/v1/traces",
            "application/json",
            None,
            Some(WRITE),
            checkout.to_string().into_bytes(),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "{}");
    let payments: ExportTraceServiceRequest = serde_json::from_value(spans(
        "payments",
        &[(
            "11f067aa0ba902b7",
            "charge card",
            Some("00f067aa0ba902b7"),
            100_000_000,
            3_100_000_000,
            0,
        )],
    ))
    .unwrap();
    let r = c
        .send(
            "/v1/traces",
            "application/x-protobuf",
            Some("deflate"),
            Some(WRITE),
            zlib(&payments.encode_to_vec()),
        )
        .await;
    assert_eq!(r.status(), 200);
    let answer = ExportTraceServiceResponse::decode(r.bytes().await.unwrap()).unwrap();
    assert!(answer.partial_success.is_none());
    // The same span again is a true duplicate; one without IDs is refused by itself.
    c.send(
        "/v1/traces",
        "application/json",
        None,
        Some(WRITE),
        checkout.to_string().into_bytes(),
    )
    .await;
    let broken = json!({"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "no ids"}]}]}]});
    let r = c
        .send(
            "/v1/traces",
            "application/json",
            None,
            None,
            broken.to_string().into_bytes(),
        )
        .await;
    let partial: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(partial["partialSuccess"]["rejectedSpans"], "1");
    c.post_backend(&body(
        "checkout",
        "checkout",
        &[(None, 3_300_000_000, "payments timed out", TRACE)],
    ))
    .await;

    let found = c.answer(TRACE, None).await;
    let spans = found["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 2);
    let first = &spans[0];
    assert_eq!(first["service"], "checkout");
    assert_eq!(first["provenance"], "backend");
    assert_eq!(first["name"], "POST /api/checkout");
    assert_eq!(first["kind"], 2);
    assert_eq!(first["span_id"], "00f067aa0ba902b7");
    assert_eq!(first["status_code"], 2);
    assert_eq!(first["status_message"], "timeout");
    assert_eq!(first["flags"], 257);
    assert_eq!(first["folded"], 1);
    assert_eq!(
        (first["scope"].as_str(), first["scope_version"].as_str()),
        (Some("tracer"), Some("2.0"))
    );
    assert_eq!(first["attributes"]["http.route"]["stringValue"], "/api/pay");
    assert_eq!(first["start_time_unix_nano"], base().to_string());
    assert_eq!(
        first["end_time_unix_nano"],
        (base() + 3_200_000_000).to_string()
    );
    assert_eq!(first["trace_state"], "vendor=1");
    assert_eq!(
        first["events"],
        json!([{"time_unix_nano": (base() + 5).to_string(), "name": "exception",
            "attributes": {"exception.message": {"stringValue": "deadline exceeded"}}}])
    );
    assert_eq!(
        first["links"],
        json!([{"trace_id": "1af7651916cd43dd8448eb211c80319c", "span_id": "22f067aa0ba902b7",
            "attributes": {"link.kind": {"stringValue": "retry-of"}}}])
    );
    assert_eq!(
        spans[1]["links"][0]["span_id"], "22f067aa0ba902b7",
        "links come over protobuf too"
    );
    assert_eq!(
        spans[1]["events"][0]["name"], "exception",
        "events come over protobuf too"
    );
    assert_eq!(spans[1]["parent_span_id"], "00f067aa0ba902b7");
    assert_eq!(spans[1]["service"], "payments");
    assert_eq!(
        messages(found["records"].as_array().unwrap()),
        ["payments timed out"]
    );
}

#[tokio::test]
async fn metrics_are_answered_as_otlp_asks_and_not_kept() {
    let c = collector().await;
    let r = c
        .send(
            "/v1/metrics",
            "application/json",
            None,
            None,
            br#"{"resourceMetrics":[]}"#.to_vec(),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), r#"{"partialSuccess":{}}"#);
    let r = c
        .send(
            "/v1/metrics",
            "application/x-protobuf",
            Some("gzip"),
            Some(WRITE),
            gzip(b""),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-protobuf");
    assert_eq!(c.count().await, 0);
}

#[tokio::test]
async fn a_correlation_id_lists_the_other_errors_of_its_session_within_six_hours() {
    let c = collector().await;
    let record = |correlation: &str, level: (i32, &str), message: &str, offset_ns: i64| {
        json!({"resourceLogs": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "web"}}]},
            "scopeLogs": [{"logRecords": [{
                "timeUnixNano": (base() as i64 + offset_ns).to_string(), "severityNumber": level.0, "severityText": level.1,
                "body": {"stringValue": message},
                "attributes": [
                    {"key": "correlation_id", "value": {"stringValue": correlation}},
                    {"key": "session.id", "value": {"stringValue": "s-1"}}
                ]
            }]}]
        }]})
    };
    c.post_browser(&record("story", (17, "ERROR"), "this story", 1_000))
        .await;
    c.post_browser(&record("earlier", (17, "ERROR"), "an earlier failure", 0))
        .await;
    c.post_browser(&record("calm", (9, "INFO"), "nothing wrong", 500))
        .await;
    let seven_hours = 7 * 3600 * 1_000_000_000;
    c.post_browser(&record(
        "long ago",
        (17, "ERROR"),
        "seven hours before",
        -seven_hours,
    ))
    .await;
    let found = c.answer("story", None).await;
    let related = found["related_errors"].as_array().unwrap();
    assert_eq!(
        related.len(),
        1,
        "not the calm one, not the one 7 h away: {related:?}"
    );
    assert_eq!(related[0]["correlation_id"], "earlier");
    assert_eq!(related[0]["message"], "an earlier failure");
    assert!(
        c.answer("s-1", None).await["related_errors"]
            .as_array()
            .unwrap()
            .is_empty(),
        "only for a correlation ID"
    );
}
