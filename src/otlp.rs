//! Encodes events as an OTLP/HTTP JSON logs request (`ExportLogsServiceRequest`): the body any
//! OpenTelemetry Collector accepts, and with it Loki, ClickHouse, Elasticsearch or a vendor.
//! Follows the OTLP JSON rules: 64-bit integers as decimal strings, `traceId` as hex, enum
//! values as integers, attribute values typed and never null. Records are written straight to
//! JSON text, one attribute at a time, with no intermediate structure.

use alloc::string::String;

use crate::event::{Severity, Stamp};
use crate::id::Id;
use crate::json::{push_escaped, push_string};
use crate::redact::{TRUNCATED_MARK, cut};
use crate::text::push_decimal;

/// The instrumentation scope every record is filed under.
pub const SCOPE_NAME: &str = "threadline";

/// Longest string attribute value kept, in UTF-8 bytes; longer ones are cut and marked.
pub const MAX_VALUE_BYTES: usize = 4_096;
/// Longest message kept, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 8_192;

/// What describes the page as a whole (OTLP `resource`).
#[derive(Clone, Copy, Debug)]
pub struct Resource<'a> {
    /// `service.name`.
    pub service_name: &'a str,
}

/// The JSON body around log records written by [`RecordWriter`], in order.
pub fn encode_body<'r, I>(resource: &Resource<'_>, records: I) -> String
where
    I: IntoIterator<Item = &'r str>,
    I::IntoIter: Clone,
{
    let records = records.into_iter();
    // Sized up front: a batch grown by doubling would hold up to twice its length while it is
    // uploaded (the wrapper is under 200 bytes; an escaped service name may take more).
    let records_len: usize = records.clone().map(|r| r.len() + 1).sum();
    let mut out = String::with_capacity(records_len + 2 * resource.service_name.len() + 256);
    out.push_str(r#"{"resourceLogs":[{"resource":{"attributes":["#);
    push_attr_key(&mut out, &mut true, "service.name", STRING_VALUE);
    push_cut_string(&mut out, resource.service_name, usize::MAX);
    out.push_str(r#"}}]},"scopeLogs":[{"scope":{"name":""#);
    out.push_str(SCOPE_NAME);
    out.push_str(r#""},"logRecords":["#);
    for (i, record) in records.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(record);
    }
    out.push_str("]}]}]}");
    out
}

/// Writes one OTLP JSON `LogRecord`: the stamp's fields and standard attributes first, then
/// attributes one by one. The result holds no raw line breaks or tabs.
pub struct RecordWriter {
    out: String,
    first: bool,
}

impl RecordWriter {
    /// Starts the record of event `name` (`event.name`) with its stamp, severity and message
    /// (cut at [`MAX_MESSAGE_BYTES`]).
    pub fn new(stamp: &Stamp, name: &str, severity: Severity, message: &str) -> RecordWriter {
        let mut out = String::with_capacity(1024);
        let nanos = stamp.time.saturating_mul(1_000_000);
        out.push_str(r#"{"timeUnixNano":""#);
        push_decimal(&mut out, nanos);
        out.push_str(r#"","observedTimeUnixNano":""#);
        push_decimal(&mut out, nanos);
        out.push_str(r#"","severityNumber":"#);
        push_decimal(&mut out, severity.number().into());
        out.push_str(r#","severityText":""#);
        out.push_str(severity.text());
        out.push_str(r#"","body":{"stringValue":"#);
        push_cut_string(&mut out, message, MAX_MESSAGE_BYTES);
        out.push_str(r#"},"traceId":""#);
        stamp.correlation_id.push_hex(&mut out);
        out.push_str(r#"","attributes":["#);
        let mut writer = RecordWriter { out, first: true };
        writer.id("event.id", stamp.id);
        writer.str("event.name", name);
        writer.id("correlation_id", stamp.correlation_id);
        if let Some(session) = stamp.session_id {
            writer.id("session.id", session);
        }
        if !stamp.page_path.is_empty() {
            writer.str("url.path", &stamp.page_path);
        }
        if let Some(user) = &stamp.user_id {
            writer.str("user.id", user);
        }
        writer
    }

    /// A string attribute, cut at [`MAX_VALUE_BYTES`] with a mark.
    pub fn str(&mut self, key: &str, value: &str) {
        push_attr_key(&mut self.out, &mut self.first, key, STRING_VALUE);
        push_cut_string(&mut self.out, value, MAX_VALUE_BYTES);
        self.out.push_str("}}");
    }

    /// An ID attribute, as its 32-hex wire form.
    fn id(&mut self, key: &str, id: Id) {
        push_attr_key(
            &mut self.out,
            &mut self.first,
            key,
            r#","value":{"stringValue":""#,
        );
        id.push_hex(&mut self.out);
        self.out.push_str("\"}}");
    }

    /// An integer attribute (`intValue`, a decimal string in OTLP JSON).
    pub fn int(&mut self, key: &str, value: i64) {
        push_attr_key(
            &mut self.out,
            &mut self.first,
            key,
            r#","value":{"intValue":""#,
        );
        if value < 0 {
            self.out.push('-');
        }
        push_decimal(&mut self.out, value.unsigned_abs());
        self.out.push_str("\"}}");
    }

    /// A floating-point attribute given as JSON number text (see `event::JsonNumber`).
    pub fn double(&mut self, key: &str, json_number: &str) {
        push_attr_key(
            &mut self.out,
            &mut self.first,
            key,
            r#","value":{"doubleValue":"#,
        );
        self.out.push_str(json_number);
        self.out.push_str("}}");
    }

    /// A boolean attribute.
    pub fn bool(&mut self, key: &str, value: bool) {
        let value = if value {
            r#","value":{"boolValue":true}}"#
        } else {
            r#","value":{"boolValue":false}}"#
        };
        push_attr_key(&mut self.out, &mut self.first, key, value);
    }

    /// The finished record, holding no more memory than its length: the queue's bound
    /// (`maxQueueBytes`) counts lengths, and records are written into a 1 KiB start.
    pub fn finish(mut self) -> String {
        self.out.push_str("]}");
        self.out.shrink_to_fit();
        self.out
    }
}

/// What follows an attribute's key when its value is a string.
const STRING_VALUE: &str = r#","value":{"stringValue":"#;

/// `{"key":"<key>"` and then `after` (`,"value":{…`), after a comma unless it is the first:
/// written as few pieces as possible, since every piece is a call in the wasm.
fn push_attr_key(out: &mut String, first: &mut bool, key: &str, after: &str) {
    out.push_str(if *first { r#"{"key":"# } else { r#",{"key":"# });
    *first = false;
    push_string(out, key);
    out.push_str(after);
}

/// `value` as a JSON string, cut at `max` bytes with a mark.
fn push_cut_string(out: &mut String, value: &str, max: usize) {
    let (kept, was_cut) = cut(value, max);
    if was_cut {
        out.push('"');
        push_escaped(out, kept);
        push_escaped(out, TRUNCATED_MARK);
        out.push('"');
    } else {
        push_string(out, kept);
    }
}

/// Decoding for tests: records read back with the `opentelemetry-proto` decoder.
#[cfg(test)]
pub(crate) mod testing {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use opentelemetry_proto::tonic::logs::v1::LogRecord;

    use super::{Resource, encode_body};

    /// Decodes a whole body; panics with the body if the decoder refuses it.
    pub fn decode(body: &str) -> ExportLogsServiceRequest {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
    }

    /// Decodes one record written by `RecordWriter`.
    pub fn decode_record(json: &str) -> LogRecord {
        let body = encode_body(
            &Resource {
                service_name: "web",
            },
            [json],
        );
        decode(&body).resource_logs[0].scope_logs[0].log_records[0].clone()
    }

    /// A record's attributes by key, in order of appearance kept in the list.
    pub fn attributes(record: &LogRecord) -> Vec<(String, Value)> {
        record
            .attributes
            .iter()
            .map(|kv| {
                (
                    kv.key.clone(),
                    kv.value.as_ref().unwrap().value.clone().unwrap(),
                )
            })
            .collect()
    }

    /// One attribute's value.
    pub fn attr(record: &LogRecord, key: &str) -> Option<Value> {
        attributes(record)
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// A string value.
    pub fn s(text: &str) -> Value {
        Value::StringValue(text.into())
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{attributes, decode, decode_record, s};
    use super::*;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;

    fn id(n: u8) -> Id {
        Id::from_bytes([n; 16]).unwrap()
    }

    fn stamp() -> Stamp {
        Stamp {
            id: id(1),
            time: 1_700_000_000_123,
            correlation_id: id(2),
            session_id: Some(id(3)),
            page_path: "/checkout".into(),
            user_id: None,
        }
    }

    fn record(message: &str) -> String {
        let mut w = RecordWriter::new(&stamp(), "log", Severity::Warn, message);
        w.int("cart.items", -3);
        w.double("total", "42.5");
        w.bool("express", true);
        w.bool("gift", false);
        w.str("note \"q\"", "line\nbreak ✓");
        w.finish()
    }

    #[test]
    fn a_body_is_allocated_once_at_about_its_length() {
        let records: Vec<String> = (0..200).map(|i| record(&i.to_string())).collect();
        let body = encode_body(
            &Resource {
                service_name: "shop-web",
            },
            records.iter().map(String::as_str),
        );
        assert!(body.len() > 32 * 1024, "past a power of two");
        assert!(
            body.capacity() - body.len() < 512,
            "{} for {}",
            body.capacity(),
            body.len()
        );
    }

    #[test]
    fn a_finished_record_holds_no_spare_capacity() {
        // The queue's memory bound counts lengths; a 1 KiB start left in every record would
        // let 1 MiB of queued records take 2.
        let short = record("ok");
        assert!(short.len() < 1024);
        assert_eq!(short.capacity(), short.len());
    }

    #[test]
    fn a_real_otlp_decoder_reads_every_field() {
        let body = encode_body(
            &Resource {
                service_name: "shop-web",
            },
            [record("card \"declined\"").as_str()],
        );
        let request = decode(&body);
        let resource_logs = &request.resource_logs[0];
        let service = &resource_logs.resource.as_ref().unwrap().attributes[0];
        assert_eq!(service.key, "service.name");
        assert_eq!(service.value.as_ref().unwrap().value, Some(s("shop-web")));
        let scope_logs = &resource_logs.scope_logs[0];
        assert_eq!(scope_logs.scope.as_ref().unwrap().name, SCOPE_NAME);
        let record = &scope_logs.log_records[0];
        assert_eq!(record.time_unix_nano, 1_700_000_000_123_000_000);
        assert_eq!(record.observed_time_unix_nano, 1_700_000_000_123_000_000);
        assert_eq!(record.severity_number, 13);
        assert_eq!(record.severity_text, "WARN");
        assert_eq!(
            record.body.as_ref().unwrap().value,
            Some(s("card \"declined\""))
        );
        assert_eq!(
            record.trace_id,
            [2u8; 16].to_vec(),
            "traceId is the correlation ID"
        );
        assert_eq!(
            attributes(record),
            vec![
                ("event.id".into(), s(&id(1).to_hex())),
                ("event.name".into(), s("log")),
                ("correlation_id".into(), s(&id(2).to_hex())),
                ("session.id".into(), s(&id(3).to_hex())),
                ("url.path".into(), s("/checkout")),
                ("cart.items".into(), Value::IntValue(-3)),
                ("total".into(), Value::DoubleValue(42.5)),
                ("express".into(), Value::BoolValue(true)),
                ("gift".into(), Value::BoolValue(false)),
                ("note \"q\"".into(), s("line\nbreak ✓")),
            ]
        );
    }

    #[test]
    fn batches_keep_their_order_and_empty_ones_are_valid() {
        let records: Vec<String> = (0..5).map(|n| record(&format!("#{n}"))).collect();
        let body = encode_body(
            &Resource {
                service_name: "web",
            },
            records.iter().map(String::as_str),
        );
        let request = decode(&body);
        let messages: Vec<_> = request.resource_logs[0].scope_logs[0]
            .log_records
            .iter()
            .map(|r| r.body.as_ref().unwrap().value.clone())
            .collect();
        assert_eq!(
            messages,
            (0..5)
                .map(|n| Some(s(&format!("#{n}"))))
                .collect::<Vec<_>>()
        );
        let empty = decode(&encode_body(
            &Resource {
                service_name: "web",
            },
            [],
        ));
        assert!(empty.resource_logs[0].scope_logs[0].log_records.is_empty());
        assert!(!body.contains('\n') && !body.contains('\t'));
    }

    #[test]
    fn extreme_integers_missing_sessions_and_long_texts_encode() {
        let mut st = stamp();
        st.session_id = None;
        st.page_path = String::new();
        let long = "é".repeat(MAX_MESSAGE_BYTES);
        let mut w = RecordWriter::new(&st, "log", Severity::Debug, &long);
        w.int("min", i64::MIN);
        w.int("max", i64::MAX);
        w.str("blob", &"x".repeat(MAX_VALUE_BYTES * 2));
        let record = decode_record(&w.finish());
        let keys: Vec<String> = attributes(&record).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "event.id",
                "event.name",
                "correlation_id",
                "min",
                "max",
                "blob"
            ]
        );
        let attrs = attributes(&record);
        assert_eq!(attrs[3].1, Value::IntValue(i64::MIN));
        assert_eq!(attrs[4].1, Value::IntValue(i64::MAX));
        let Value::StringValue(blob) = &attrs[5].1 else {
            panic!("string expected")
        };
        assert_eq!(blob.len(), MAX_VALUE_BYTES + TRUNCATED_MARK.len());
        let Some(Value::StringValue(body)) = record.body.unwrap().value else {
            panic!("string body expected")
        };
        assert!(body.ends_with(TRUNCATED_MARK));
        assert!(body.len() <= MAX_MESSAGE_BYTES + TRUNCATED_MARK.len());
    }

    #[test]
    fn the_apps_user_id_is_on_the_record() {
        let mut with_user = stamp();
        with_user.user_id = Some("u_8f3a".into());
        let record =
            decode_record(&RecordWriter::new(&with_user, "log", Severity::Info, "m").finish());
        let user = record.attributes.iter().find(|a| a.key == "user.id");
        assert!(user.is_some(), "{record:?}");
        let plain =
            decode_record(&RecordWriter::new(&stamp(), "log", Severity::Info, "m").finish());
        assert!(plain.attributes.iter().all(|a| a.key != "user.id"));
    }
}
