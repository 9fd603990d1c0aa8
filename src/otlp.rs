//! Encodes events as an OTLP/HTTP JSON logs request (`ExportLogsServiceRequest`): the body any
//! OpenTelemetry Collector accepts, and with it Loki, ClickHouse, Elasticsearch or a vendor.
//! Follows the OTLP JSON rules: 64-bit integers as decimal strings, `traceId` as hex, enum
//! values as integers, attribute values typed and never null.

use alloc::string::String;
use alloc::vec::Vec;

use crate::event::{AttrValue, Event};
use crate::json::push_string;
use crate::text::push_decimal;

/// The instrumentation scope every record is filed under.
pub const SCOPE_NAME: &str = "threadline";

/// What describes the page as a whole (OTLP `resource`).
#[derive(Clone, Copy, Debug)]
pub struct Resource<'a> {
    /// `service.name`.
    pub service_name: &'a str,
}

/// The JSON body for `events`, one log record each, in order.
pub fn encode_logs(resource: &Resource<'_>, events: &[Event]) -> String {
    let records: Vec<String> = events.iter().map(encode_record).collect();
    encode_body(resource, records.iter().map(String::as_str))
}

/// The JSON body around log records already encoded by [`encode_record`], in order.
pub fn encode_body<'r>(
    resource: &Resource<'_>,
    records: impl IntoIterator<Item = &'r str>,
) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str(r#"{"resourceLogs":[{"resource":{"attributes":["#);
    push_str_attr(&mut out, "service.name", resource.service_name);
    out.push_str(r#"]},"scopeLogs":[{"scope":{"name":""#);
    out.push_str(SCOPE_NAME);
    out.push_str(r#""},"logRecords":["#);
    for (i, record) in records.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(record);
    }
    out.push_str("]}]}]}");
    out
}

/// One event as an OTLP JSON `LogRecord`; it holds no raw line breaks.
pub fn encode_record(event: &Event) -> String {
    let mut out = String::with_capacity(384);
    push_record(&mut out, event);
    out
}

fn push_record(out: &mut String, event: &Event) {
    let nanos = event.time.saturating_mul(1_000_000);
    out.push_str(r#"{"timeUnixNano":""#);
    push_decimal(out, nanos);
    out.push_str(r#"","observedTimeUnixNano":""#);
    push_decimal(out, nanos);
    out.push_str(r#"","severityNumber":"#);
    push_decimal(out, event.severity.number().into());
    out.push_str(r#","severityText":""#);
    out.push_str(event.severity.text());
    out.push_str(r#"","body":{"stringValue":"#);
    push_string(out, &event.message);
    out.push_str(r#"},"traceId":""#);
    out.push_str(&event.correlation_id.to_hex());
    out.push_str(r#"","attributes":["#);
    push_str_attr(out, "event.id", &event.id.to_hex());
    out.push(',');
    push_str_attr(out, "event.name", &event.name);
    out.push(',');
    push_str_attr(out, "correlation_id", &event.correlation_id.to_hex());
    if let Some(session) = event.session_id {
        out.push(',');
        push_str_attr(out, "session.id", &session.to_hex());
    }
    if !event.page_path.is_empty() {
        out.push(',');
        push_str_attr(out, "url.path", &event.page_path);
    }
    for (key, value) in &event.attributes {
        out.push(',');
        push_attr(out, key, value);
    }
    out.push_str("]}");
}

fn push_str_attr(out: &mut String, key: &str, value: &str) {
    push_attr_key(out, key);
    out.push_str(r#"{"stringValue":"#);
    push_string(out, value);
    out.push_str("}}");
}

fn push_attr(out: &mut String, key: &str, value: &AttrValue) {
    push_attr_key(out, key);
    match value {
        AttrValue::Str(text) => {
            out.push_str(r#"{"stringValue":"#);
            push_string(out, text);
        }
        AttrValue::Int(n) => {
            out.push_str(r#"{"intValue":""#);
            if *n < 0 {
                out.push('-');
            }
            push_decimal(out, n.unsigned_abs());
            out.push('"');
        }
        AttrValue::Double(number) => {
            out.push_str(r#"{"doubleValue":"#);
            out.push_str(number.as_str());
        }
        AttrValue::Bool(flag) => {
            out.push_str(r#"{"boolValue":"#);
            out.push_str(if *flag { "true" } else { "false" });
        }
    }
    out.push_str("}}");
}

fn push_attr_key(out: &mut String, key: &str) {
    out.push_str(r#"{"key":"#);
    push_string(out, key);
    out.push_str(r#","value":"#);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{JsonNumber, Severity};
    use crate::id::Id;
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;

    fn id(n: u8) -> Id {
        Id::from_bytes([n; 16]).unwrap()
    }

    fn event(message: &str) -> Event {
        Event {
            id: id(1),
            time: 1_700_000_000_123,
            name: "log".into(),
            severity: Severity::Warn,
            message: message.into(),
            correlation_id: id(2),
            session_id: Some(id(3)),
            page_path: "/checkout".into(),
            attributes: vec![
                ("cart.items".into(), AttrValue::Int(-3)),
                (
                    "total".into(),
                    AttrValue::Double(JsonNumber::parse("42.5").unwrap()),
                ),
                ("express".into(), AttrValue::Bool(true)),
                ("note \"q\"".into(), AttrValue::Str("line\nbreak ✓".into())),
            ],
        }
    }

    fn decode(body: &str) -> ExportLogsServiceRequest {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
    }

    #[test]
    fn a_real_otlp_decoder_reads_every_field() {
        let body = encode_logs(
            &Resource {
                service_name: "shop-web",
            },
            &[event("card \"declined\"")],
        );
        let request = decode(&body);
        let resource_logs = &request.resource_logs[0];
        let service = &resource_logs.resource.as_ref().unwrap().attributes[0];
        assert_eq!(service.key, "service.name");
        assert_eq!(
            service.value.as_ref().unwrap().value,
            Some(Value::StringValue("shop-web".into()))
        );
        let scope_logs = &resource_logs.scope_logs[0];
        assert_eq!(scope_logs.scope.as_ref().unwrap().name, SCOPE_NAME);
        let record = &scope_logs.log_records[0];
        assert_eq!(record.time_unix_nano, 1_700_000_000_123_000_000);
        assert_eq!(record.observed_time_unix_nano, 1_700_000_000_123_000_000);
        assert_eq!(record.severity_number, 13);
        assert_eq!(record.severity_text, "WARN");
        assert_eq!(
            record.body.as_ref().unwrap().value,
            Some(Value::StringValue("card \"declined\"".into()))
        );
        assert_eq!(
            record.trace_id,
            [2u8; 16].to_vec(),
            "traceId is the correlation ID"
        );
        let attrs: Vec<(String, Option<Value>)> = record
            .attributes
            .iter()
            .map(|kv| {
                (
                    kv.key.clone(),
                    kv.value.as_ref().and_then(|v| v.value.clone()),
                )
            })
            .collect();
        assert_eq!(
            attrs,
            vec![
                ("event.id".into(), Some(Value::StringValue(id(1).to_hex()))),
                ("event.name".into(), Some(Value::StringValue("log".into()))),
                (
                    "correlation_id".into(),
                    Some(Value::StringValue(id(2).to_hex()))
                ),
                (
                    "session.id".into(),
                    Some(Value::StringValue(id(3).to_hex()))
                ),
                (
                    "url.path".into(),
                    Some(Value::StringValue("/checkout".into()))
                ),
                ("cart.items".into(), Some(Value::IntValue(-3))),
                ("total".into(), Some(Value::DoubleValue(42.5))),
                ("express".into(), Some(Value::BoolValue(true))),
                (
                    "note \"q\"".into(),
                    Some(Value::StringValue("line\nbreak ✓".into()))
                ),
            ]
        );
    }

    #[test]
    fn batches_keep_their_order_and_empty_ones_are_valid() {
        let events: Vec<Event> = (0..5u8)
            .map(|n| Event {
                id: id(10 + n),
                ..event(&format!("#{n}"))
            })
            .collect();
        let request = decode(&encode_logs(
            &Resource {
                service_name: "web",
            },
            &events,
        ));
        let messages: Vec<Option<Value>> = request.resource_logs[0].scope_logs[0]
            .log_records
            .iter()
            .map(|r| r.body.as_ref().unwrap().value.clone())
            .collect();
        assert_eq!(
            messages,
            (0..5)
                .map(|n| Some(Value::StringValue(format!("#{n}"))))
                .collect::<Vec<_>>()
        );
        let empty = decode(&encode_logs(
            &Resource {
                service_name: "web",
            },
            &[],
        ));
        assert!(empty.resource_logs[0].scope_logs[0].log_records.is_empty());
    }

    #[test]
    fn extreme_integers_and_missing_sessions_encode() {
        let mut e = event("x");
        e.session_id = None;
        e.page_path = String::new();
        e.attributes = vec![
            ("min".into(), AttrValue::Int(i64::MIN)),
            ("max".into(), AttrValue::Int(i64::MAX)),
        ];
        let request = decode(&encode_logs(
            &Resource {
                service_name: "web",
            },
            &[e],
        ));
        let record = &request.resource_logs[0].scope_logs[0].log_records[0];
        let keys: Vec<&str> = record.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(
            keys,
            ["event.id", "event.name", "correlation_id", "min", "max"]
        );
        assert_eq!(
            record.attributes[3].value.as_ref().unwrap().value,
            Some(Value::IntValue(i64::MIN))
        );
        assert_eq!(
            record.attributes[4].value.as_ref().unwrap().value,
            Some(Value::IntValue(i64::MAX))
        );
    }
}
