//! The collector over real HTTP on loopback with a real SQLite file: every body format and
//! encoding OTLP allows, every field kept in both encodings, bad and oversize bodies, search
//! order and hostile search input.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message;
use serde_json::{Value, json};

#[tokio::test]
async fn json_beacons_protobuf_gzip_and_deflate_are_stored_and_found_in_time_order() {
    let c = collector().await;
    let r = c
        .post_browser(&body(
            "web",
            "threadline",
            &[(Some("e1"), 3_000, "browser click", TRACE)],
        ))
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
        .send(
            "/v1/logs",
            "application/x-protobuf",
            None,
            Some(WRITE),
            proto.encode_to_vec(),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-protobuf");

    let payments = body(
        "payments",
        "payments",
        &[(None, 2_000, "payments failed", TRACE)],
    );
    let r = c
        .send(
            "/v1/logs",
            "application/json",
            Some("gzip"),
            Some(WRITE),
            gzip(payments.to_string().as_bytes()),
        )
        .await;
    assert_eq!(r.status(), 200);
    let worker = body("worker", "worker", &[(None, 5_000, "job done", TRACE)]);
    let r = c
        .send(
            "/v1/logs",
            "application/json",
            Some("deflate"),
            Some(WRITE),
            zlib(worker.to_string().as_bytes()),
        )
        .await;
    assert_eq!(r.status(), 200);

    let found = c.search(TRACE).await;
    assert_eq!(
        messages(&found),
        [
            "backend first",
            "payments failed",
            "browser click",
            "page left",
            "job done"
        ]
    );
    assert_eq!(found[0]["service"], "checkout");
    assert_eq!(found[0]["provenance"], "backend");
    assert_eq!(found[2]["provenance"], "browser");
    assert_eq!(found[2]["scope"], "threadline");
    assert_eq!(found[2]["resource"]["service.name"]["stringValue"], "web");
    assert_eq!(found[0]["time_unix_nano"], (base() + 1_000).to_string());
}

/// A record with every field OTLP has, and typed values of every kind.
fn full_record(time: u64) -> Value {
    json!({"resourceLogs": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "checkout"}},
            {"key": "host.cores", "value": {"intValue": "8"}}
        ]},
        "scopeLogs": [{"scope": {"name": "io.opentelemetry.demo", "version": "1.45.0"}, "logRecords": [{
            "timeUnixNano": time.to_string(),
            "observedTimeUnixNano": (time + 7).to_string(),
            "severityNumber": 18,
            "severityText": "Error2",
            "eventName": "payment.declined",
            "body": {"kvlistValue": {"values": [
                {"key": "reason", "value": {"stringValue": "card"}},
                {"key": "codes", "value": {"arrayValue": {"values": [{"intValue": "51"}, {"boolValue": false}]}}}
            ]}},
            "traceId": TRACE,
            "spanId": "00f067aa0ba902b7",
            "flags": 1,
            "droppedAttributesCount": 2,
            "attributes": [
                {"key": "service.name", "value": {"stringValue": "record says otherwise"}},
                {"key": "big", "value": {"intValue": "9007199254740993"}},
                {"key": "min", "value": {"intValue": "-9223372036854775808"}},
                {"key": "nan", "value": {"doubleValue": "NaN"}},
                {"key": "inf", "value": {"doubleValue": "Infinity"}},
                {"key": "ninf", "value": {"doubleValue": "-Infinity"}},
                {"key": "half", "value": {"doubleValue": 0.5}},
                {"key": "raw", "value": {"bytesValue": "3q2+7w=="}},
                {"key": "hex-looking", "value": {"stringValue": "deadbeef"}},
                {"key": "nothing", "value": {}}
            ]
        }]}]
    }]})
}

fn assert_every_field(r: &Value, time: u64) {
    assert_eq!(r["time_unix_nano"], time.to_string());
    assert_eq!(r["sent_time_unix_nano"], time.to_string());
    assert_eq!(r["time_replaced"], false);
    assert_eq!(r["observed_time_unix_nano"], (time + 7).to_string());
    assert_eq!(r["service"], "checkout", "the resource names the service");
    assert_eq!(
        (r["scope"].as_str(), r["scope_version"].as_str()),
        (Some("io.opentelemetry.demo"), Some("1.45.0"))
    );
    assert_eq!(r["severity_number"], 18);
    assert_eq!(r["severity_text"], "Error2");
    assert_eq!(r["event_name"], "payment.declined");
    assert_eq!(r["trace_id"], TRACE);
    assert_eq!(r["span_id"], "00f067aa0ba902b7");
    assert_eq!(r["flags"], 1);
    assert_eq!(r["dropped_attributes_count"], 2);
    assert_eq!(
        r["body"],
        json!({"kvlistValue": {"values": [
            {"key": "reason", "value": {"stringValue": "card"}},
            {"key": "codes", "value": {"arrayValue": {"values": [{"intValue": "51"}, {"boolValue": false}]}}}
        ]}})
    );
    assert_eq!(
        r["resource"]["service.name"],
        json!({"stringValue": "checkout"})
    );
    assert_eq!(r["resource"]["host.cores"], json!({"intValue": "8"}));
    let a = &r["attributes"];
    assert_eq!(
        a["service.name"],
        json!({"stringValue": "record says otherwise"}),
        "kept apart"
    );
    assert_eq!(a["big"], json!({"intValue": "9007199254740993"}));
    assert_eq!(a["min"], json!({"intValue": "-9223372036854775808"}));
    assert_eq!(a["nan"], json!({"doubleValue": "NaN"}));
    assert_eq!(a["inf"], json!({"doubleValue": "Infinity"}));
    assert_eq!(a["ninf"], json!({"doubleValue": "-Infinity"}));
    assert_eq!(a["half"], json!({"doubleValue": 0.5}));
    assert_eq!(a["raw"], json!({"bytesValue": "3q2+7w=="}));
    assert_eq!(a["hex-looking"], json!({"stringValue": "deadbeef"}));
    assert_eq!(a["nothing"], json!({}));
}

#[tokio::test]
async fn every_field_comes_back_from_json_and_from_protobuf() {
    let c = collector().await;
    let json_time = base() + 10;
    let r = c.post_backend(&full_record(json_time)).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // The same record as protobuf: built with the reference decoder from a NaN-free copy, the
    // non-finite doubles set on the message itself.
    let proto_time = base() + 20;
    let mut text = full_record(proto_time).to_string();
    for (from, to) in [
        ("\"NaN\"", "1.25"),
        ("\"Infinity\"", "2.25"),
        ("\"-Infinity\"", "3.25"),
    ] {
        text = text.replace(from, to);
    }
    let mut proto: ExportLogsServiceRequest = serde_json::from_str(&text).unwrap();
    use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
    for kv in &mut proto.resource_logs[0].scope_logs[0].log_records[0].attributes {
        let v = kv.value.as_mut().unwrap();
        match kv.key.as_str() {
            "nan" => v.value = Some(V::DoubleValue(f64::NAN)),
            "inf" => v.value = Some(V::DoubleValue(f64::INFINITY)),
            "ninf" => v.value = Some(V::DoubleValue(f64::NEG_INFINITY)),
            _ => {}
        }
    }
    let r = c
        .send(
            "/v1/logs",
            "application/x-protobuf",
            Some("gzip"),
            Some(WRITE),
            gzip(&proto.encode_to_vec()),
        )
        .await;
    assert_eq!(r.status(), 200);

    let found = c.search(TRACE).await;
    assert_eq!(found.len(), 2);
    assert_every_field(&found[0], json_time);
    assert_every_field(&found[1], proto_time);
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
    let r = c
        .post("application/json", Some("deflate"), b"not deflate".to_vec())
        .await;
    assert_eq!(r.status(), 400);
    let r = c.post("application/xml", None, b"<logs/>".to_vec()).await;
    assert_eq!(r.status(), 415);
    let r = c.post("application/json", Some("br"), b"{}".to_vec()).await;
    assert_eq!(r.status(), 415);
    let r = c
        .post(
            "application/json",
            None,
            br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"xyz"}]}]}]}"#.to_vec(),
        )
        .await;
    assert_eq!(r.status(), 400, "a trace ID that is not hex");

    assert_eq!(c.count().await, 0);
    let good = body(
        "web",
        "threadline",
        &[(Some("ok"), 1, "still works", TRACE)],
    );
    assert_eq!(c.post_browser(&good).await.status(), 200);
    assert_eq!(c.count().await, 1);
}

#[tokio::test]
async fn search_input_is_only_ever_a_value() {
    let c = collector().await;
    let b = body("web", "threadline", &[(Some("a"), 1, "kept", TRACE)]);
    c.post_browser(&b).await;
    for hostile in ["' OR '1'='1", "x\"; DROP TABLE logs; --", "%", "_", "*"] {
        assert!(c.search(hostile).await.is_empty(), "{hostile}");
    }
    assert_eq!(messages(&c.search(TRACE).await), ["kept"]);
    let missing = c
        .client
        .get(format!("{}/api/search", c.base))
        .bearer_auth(READ)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
    let bad_cursor = c
        .client
        .get(format!("{}/api/search?id={TRACE}&cursor=1,2", c.base))
        .bearer_auth(READ)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_cursor.status(), 400);
}
