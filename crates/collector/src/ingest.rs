//! Reads an OTLP/HTTP logs or traces request body into rows to store: JSON (`application/json`,
//! and `text/plain` from browser beacons) or protobuf, plain, gzip or deflate, never expanding
//! past the body limit, and within the bounds on records, attributes and nesting. Times outside
//! the sane window are replaced by the receive time and flagged.

use std::io::Read;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue as ProtoValue, KeyValue as ProtoKeyValue};
use prost::Message;
use serde_json::{Map, Value as Json, json};
use sha2::{Digest, Sha256};

use crate::otlp::{LogRecord, LogsRequest, Scope, Span, TracesRequest};
use crate::rows::{LogRow, Provenance, SpanRow, level_of};
use crate::value::{AnyValue, KeyValue, find};

/// How a body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// OTLP JSON (`application/json`, or `text/plain` from a beacon).
    Json,
    /// OTLP protobuf (`application/x-protobuf`).
    Protobuf,
}

impl Format {
    /// The format for a `Content-Type` header, ignoring parameters such as `charset`.
    pub fn from_content_type(content_type: &str) -> Option<Format> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/json" | "text/plain" => Some(Format::Json),
            "application/x-protobuf" | "application/protobuf" => Some(Format::Protobuf),
            _ => None,
        }
    }
}

/// How a body is compressed (`Content-Encoding`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// None.
    Identity,
    /// `gzip`.
    Gzip,
    /// `deflate`: zlib-wrapped as HTTP specifies, or raw deflate as some senders do.
    Deflate,
}

impl Encoding {
    /// The encoding for a `Content-Encoding` header; `None` for one not supported.
    pub fn from_header(value: Option<&str>) -> Option<Encoding> {
        match value.map(str::trim) {
            None | Some("" | "identity") => Some(Encoding::Identity),
            Some(e) if e.eq_ignore_ascii_case("gzip") || e.eq_ignore_ascii_case("x-gzip") => {
                Some(Encoding::Gzip)
            }
            Some(e) if e.eq_ignore_ascii_case("deflate") => Some(Encoding::Deflate),
            Some(_) => None,
        }
    }
}

/// Bounds on what one request may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest body, compressed or once decompressed.
    pub max_body_bytes: usize,
    /// Most records (or spans) in one request.
    pub max_records: usize,
    /// Most attributes on one record, span or resource.
    pub max_attributes: usize,
    /// Deepest nesting of arrays and kvlists in one value.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 5 * 1024 * 1024,
            max_records: 2_000,
            max_attributes: 128,
            max_depth: 8,
        }
    }
}

/// Why a body was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not decodable, or nested too deep; the message says why (400).
    Bad(String),
    /// Past a bound: the body's size once decompressed, records or attributes (413).
    TooLarge(String),
}

/// What a request brings: the rows to store and the records refused one by one (empty ones),
/// which the answer reports as an OTLP partial success.
#[derive(Debug)]
pub struct Decoded<T> {
    /// Rows to store.
    pub rows: Vec<T>,
    /// Records refused.
    pub rejected: usize,
}

/// The receive time and the window a sender's time must fall in to be kept.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// Receive time, ns since the epoch.
    pub now_ns: i64,
    /// Oldest time kept (the retention's start).
    pub oldest_ns: i64,
}

/// A time a clock may be a day ahead of the collector's.
const FUTURE_SLACK_NS: i64 = 86_400 * 1_000_000_000;

impl Clock {
    /// The sender's time if it falls in the window, else the receive time; and whether it was
    /// replaced.
    fn place(&self, sent: u64) -> (i64, bool) {
        match i64::try_from(sent) {
            Ok(t) if t != 0 && t >= self.oldest_ns && t <= self.now_ns + FUTURE_SLACK_NS => {
                (t, false)
            }
            _ => (self.now_ns, true),
        }
    }
}

/// Undoes `encoding`, refusing anything larger than `limit` once decompressed.
pub fn decompress(
    body: &[u8],
    encoding: Encoding,
    limit: usize,
) -> Result<std::borrow::Cow<'_, [u8]>, Refusal> {
    fn read_all(reader: impl Read, limit: usize) -> Result<Vec<u8>, Refusal> {
        let mut out = Vec::new();
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        reader
            .take(cap)
            .read_to_end(&mut out)
            .map_err(|e| Refusal::Bad(format!("invalid compressed body: {e}")))?;
        if out.len() > limit {
            return Err(Refusal::TooLarge(format!(
                "body larger than {limit} bytes once decompressed"
            )));
        }
        Ok(out)
    }
    let plain = match encoding {
        Encoding::Identity => return Ok(std::borrow::Cow::Borrowed(body)),
        Encoding::Gzip => read_all(flate2::read::GzDecoder::new(body), limit),
        Encoding::Deflate if body.first().is_some_and(|b| b & 0x0f == 8) => {
            match read_all(flate2::read::ZlibDecoder::new(body), limit) {
                Err(Refusal::Bad(_)) => read_all(flate2::read::DeflateDecoder::new(body), limit),
                done => done,
            }
        }
        Encoding::Deflate => read_all(flate2::read::DeflateDecoder::new(body), limit),
    };
    plain.map(std::borrow::Cow::Owned)
}

/// Decodes a logs body (already decompressed) as `format`.
pub fn decode_logs(bytes: &[u8], format: Format) -> Result<LogsRequest, Refusal> {
    match format {
        Format::Json => serde_json::from_slice::<LogsRequest>(bytes)
            .map_err(|e| Refusal::Bad(format!("invalid OTLP JSON: {e}"))),
        Format::Protobuf => ExportLogsServiceRequest::decode(bytes)
            .map(|r| LogsRequest::from(&r))
            .map_err(|e| Refusal::Bad(format!("invalid OTLP protobuf: {e}"))),
    }
}

/// Decodes a traces body (already decompressed) as `format`.
pub fn decode_traces(bytes: &[u8], format: Format) -> Result<TracesRequest, Refusal> {
    match format {
        Format::Json => serde_json::from_slice::<TracesRequest>(bytes)
            .map_err(|e| Refusal::Bad(format!("invalid OTLP JSON: {e}"))),
        Format::Protobuf => ExportTraceServiceRequest::decode(bytes)
            .map(|r| TracesRequest::from(&r))
            .map_err(|e| Refusal::Bad(format!("invalid OTLP protobuf: {e}"))),
    }
}

/// Refuses attribute lists past the bounds on count and nesting.
fn check_attributes(list: &[KeyValue], what: &str, limits: &Limits) -> Result<(), Refusal> {
    if list.len() > limits.max_attributes {
        return Err(Refusal::TooLarge(format!(
            "{what} has {} attributes; at most {} are accepted",
            list.len(),
            limits.max_attributes
        )));
    }
    check_depth(list.iter().map(|kv| &kv.value), what, limits)
}

fn check_depth<'a>(
    values: impl IntoIterator<Item = &'a AnyValue>,
    what: &str,
    limits: &Limits,
) -> Result<(), Refusal> {
    if values.into_iter().any(|v| v.depth() > limits.max_depth) {
        return Err(Refusal::Bad(format!(
            "{what} has a value nested deeper than {} levels",
            limits.max_depth
        )));
    }
    Ok(())
}

fn check_count(count: usize, what: &str, limits: &Limits) -> Result<(), Refusal> {
    if count > limits.max_records {
        return Err(Refusal::TooLarge(format!(
            "{count} {what} in one request; at most {} are accepted",
            limits.max_records
        )));
    }
    Ok(())
}

/// Bytes as lowercase hex (trace IDs, span IDs).
pub fn hex(bytes: &[u8]) -> String {
    let digit = |n: u8| char::from_digit(u32::from(n), 16).unwrap_or('0');
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(digit(b >> 4));
        s.push(digit(b & 0xf));
    }
    s
}

/// A trace or span ID in hex, unless empty or all zero.
fn id_hex(bytes: &[u8]) -> Option<String> {
    bytes.iter().any(|b| *b != 0).then(|| hex(bytes))
}

/// A text attribute, from the record's own attributes, else the resource's.
pub(crate) fn text_of(own: &[KeyValue], resource: &[KeyValue], key: &str) -> Option<String> {
    find(own, key)
        .or_else(|| find(resource, key))
        .and_then(AnyValue::as_text)
        .map(str::to_owned)
}

/// SHA-256 of a canonical JSON of what was sent, written into `scratch` (one buffer for all the
/// records of a request).
fn content_hash(scratch: &mut Vec<u8>, content: &impl serde::Serialize) -> [u8; 32] {
    scratch.clear();
    if serde_json::to_writer(&mut *scratch, content).is_err() {
        scratch.clear();
    }
    Sha256::digest(scratch.as_slice()).into()
}

/// Room for a record's canonical JSON (about 1 KB) at once, rather than growing to it.
fn hash_scratch() -> Vec<u8> {
    Vec::with_capacity(2048)
}

/// A record with nothing in it: no body, attributes, event name or trace.
fn is_empty(record: &LogRecord) -> bool {
    record.body == AnyValue::Empty
        && record.attributes.is_empty()
        && record.event_name.is_empty()
        && record.trace_id.is_empty()
}

fn service_of(resource: &[KeyValue]) -> String {
    find(resource, "service.name")
        .and_then(AnyValue::as_text)
        .unwrap_or("unknown")
        .to_owned()
}

/// The row of `record`, which it takes apart rather than copies.
fn log_row(
    record: LogRecord,
    resource: &Arc<[KeyValue]>,
    scope: &Scope,
    provenance: Provenance,
    clock: &Clock,
    scratch: &mut Vec<u8>,
) -> LogRow {
    let service = service_of(resource);
    let trace_id = id_hex(&record.trace_id);
    let (time_ns, time_replaced) = clock.place(record.time_unix_nano);
    let hash = content_hash(
        scratch,
        &(
            (&service, &scope.name, &scope.version),
            (record.time_unix_nano, record.observed_time_unix_nano),
            (record.severity_number, &record.severity_text),
            (&record.body, &record.event_name, &record.attributes),
            (&**resource, record.flags, &record.trace_id, &record.span_id),
            record.dropped_attributes_count,
        ),
    );
    LogRow {
        provenance,
        time_ns,
        time_replaced,
        sent_time_unix_nano: record.time_unix_nano,
        observed_time_unix_nano: record.observed_time_unix_nano,
        service,
        scope: scope.name.clone(),
        scope_version: scope.version.clone(),
        severity_number: record.severity_number,
        level: level_of(record.severity_number, &record.severity_text),
        severity_text: record.severity_text,
        event_name: record.event_name,
        message: record.body.display(),
        body: record.body,
        span_id: id_hex(&record.span_id),
        flags: record.flags,
        correlation_id: text_of(&record.attributes, resource, "correlation_id")
            .or_else(|| trace_id.clone()),
        session_id: text_of(&record.attributes, resource, "session.id"),
        event_id: text_of(&record.attributes, resource, "event.id"),
        trace_id,
        resource: resource.clone(),
        attributes: record.attributes,
        dropped_attributes_count: record.dropped_attributes_count,
        folded: 0,
        row_id: 0,
        content_hash: hash,
    }
}

/// The rows of a logs request, within `limits`; empty records are refused one by one.
pub fn log_rows(
    request: LogsRequest,
    provenance: Provenance,
    limits: &Limits,
    clock: &Clock,
) -> Result<Decoded<LogRow>, Refusal> {
    let total: usize = request
        .resource_logs
        .iter()
        .flat_map(|rl| &rl.scope_logs)
        .map(|sl| sl.log_records.len())
        .sum();
    check_count(total, "log records", limits)?;
    let mut out = Decoded {
        rows: Vec::with_capacity(total),
        rejected: 0,
    };
    let mut scratch = hash_scratch();
    for resource_logs in request.resource_logs {
        check_attributes(&resource_logs.resource.attributes, "a resource", limits)?;
        let resource: Arc<[KeyValue]> = resource_logs.resource.attributes.into();
        for scope_logs in resource_logs.scope_logs {
            for record in scope_logs.log_records {
                check_attributes(&record.attributes, "a log record", limits)?;
                check_depth([&record.body], "a log record's body", limits)?;
                if is_empty(&record) {
                    out.rejected += 1;
                    continue;
                }
                out.rows.push(log_row(
                    record,
                    &resource,
                    &scope_logs.scope,
                    provenance,
                    clock,
                    &mut scratch,
                ));
            }
        }
    }
    Ok(out)
}

fn span_row(
    span: Span,
    resource: &Arc<[KeyValue]>,
    scope: &Scope,
    provenance: Provenance,
    clock: &Clock,
    scratch: &mut Vec<u8>,
) -> SpanRow {
    let trace_id = hex(&span.trace_id);
    let (start_ns, time_replaced) = clock.place(span.start_time_unix_nano);
    let duration = span
        .end_time_unix_nano
        .saturating_sub(span.start_time_unix_nano)
        .min(u64::try_from(FUTURE_SLACK_NS).unwrap_or(u64::MAX));
    let end_ns = start_ns.saturating_add(i64::try_from(duration).unwrap_or(0));
    let hash = content_hash(
        scratch,
        &(
            (&**resource, &scope.name, &scope.version),
            (
                &span.trace_id,
                &span.span_id,
                &span.parent_span_id,
                &span.name,
            ),
            (
                span.kind,
                span.start_time_unix_nano,
                span.end_time_unix_nano,
            ),
            (
                &span.attributes,
                span.status.code,
                &span.status.message,
                span.flags,
            ),
        ),
    );
    SpanRow {
        provenance,
        start_ns,
        end_ns,
        time_replaced,
        service: service_of(resource),
        scope: scope.name.clone(),
        scope_version: scope.version.clone(),
        name: span.name,
        kind: span.kind,
        correlation_id: text_of(&span.attributes, resource, "correlation_id")
            .or_else(|| Some(trace_id.clone())),
        session_id: text_of(&span.attributes, resource, "session.id"),
        trace_id,
        span_id: hex(&span.span_id),
        parent_span_id: id_hex(&span.parent_span_id),
        status_code: span.status.code,
        status_message: span.status.message,
        flags: span.flags,
        trace_state: span.trace_state,
        events: serde_json::to_value(&span.events).unwrap_or_default(),
        links: serde_json::to_value(&span.links).unwrap_or_default(),
        resource: resource.clone(),
        attributes: span.attributes,
        folded: 0,
        row_id: 0,
        content_hash: hash,
    }
}

/// The rows of a traces request, within `limits`; spans without a trace or span ID are refused
/// one by one.
pub fn span_rows(
    request: TracesRequest,
    provenance: Provenance,
    limits: &Limits,
    clock: &Clock,
) -> Result<Decoded<SpanRow>, Refusal> {
    let total: usize = request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum();
    check_count(total, "spans", limits)?;
    let mut out = Decoded {
        rows: Vec::with_capacity(total),
        rejected: 0,
    };
    let mut scratch = hash_scratch();
    for resource_spans in request.resource_spans {
        check_attributes(&resource_spans.resource.attributes, "a resource", limits)?;
        let resource: Arc<[KeyValue]> = resource_spans.resource.attributes.into();
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                check_attributes(&span.attributes, "a span", limits)?;
                if span.events.len() > limits.max_attributes
                    || span.links.len() > limits.max_attributes
                {
                    return Err(Refusal::TooLarge(format!(
                        "a span has more than {} events or links",
                        limits.max_attributes
                    )));
                }
                for event in &span.events {
                    check_attributes(&event.attributes, "a span event", limits)?;
                }
                for link in &span.links {
                    check_attributes(&link.attributes, "a span link", limits)?;
                }
                if span.trace_id.len() != 16 || span.span_id.len() != 8 {
                    out.rejected += 1;
                    continue;
                }
                out.rows.push(span_row(
                    span,
                    &resource,
                    &scope_spans.scope,
                    provenance,
                    clock,
                    &mut scratch,
                ));
            }
        }
    }
    Ok(out)
}

/// A plain JSON value for an OTLP protobuf `AnyValue` (bytes as hex; absent as null), as the
/// end-to-end tests read what a browser sent.
pub fn plain(value: Option<&ProtoValue>) -> Json {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => json!(s),
        Some(Value::BoolValue(b)) => json!(b),
        Some(Value::IntValue(n)) => json!(n),
        Some(Value::DoubleValue(d)) => json!(d),
        Some(Value::ArrayValue(a)) => {
            Json::Array(a.values.iter().map(|v| plain(Some(v))).collect())
        }
        Some(Value::KvlistValue(kv)) => Json::Object(attributes_json(&kv.values)),
        Some(Value::BytesValue(b)) => json!(hex(b)),
        Some(Value::StringValueStrindex(_)) | None => Json::Null,
    }
}

/// OTLP protobuf attributes as a plain JSON object (a later duplicate key wins).
pub fn attributes_json(list: &[ProtoKeyValue]) -> Map<String, Json> {
    list.iter()
        .map(|kv| (kv.key.clone(), plain(kv.value.as_ref())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"web"}}]},"scopeLogs":[{"scope":{"name":"threadline","version":"1.2"},"logRecords":[{"timeUnixNano":"1700000000000000000","observedTimeUnixNano":"1700000000000000001","severityNumber":17,"body":{"kvlistValue":{"values":[{"key":"a","value":{"doubleValue":"NaN"}}]}},"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00f067aa0ba902b7","flags":1,"eventName":"checkout","attributes":[{"key":"event.id","value":{"stringValue":"e1"}},{"key":"session.id","value":{"stringValue":"s1"}},{"key":"service.name","value":{"stringValue":"forged"}},{"key":"n","value":{"intValue":"9007199254740993"}}]}]}]}]}"#;

    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }

    fn clock() -> Clock {
        Clock {
            now_ns: 1_700_000_100_000_000_000,
            oldest_ns: 1_600_000_000_000_000_000,
        }
    }

    fn rows_of(body: &str) -> Vec<LogRow> {
        let request = decode_logs(body.as_bytes(), Format::Json).unwrap();
        log_rows(request, Provenance::Browser, &Limits::default(), &clock())
            .unwrap()
            .rows
    }

    /// The stored duplicate keys of every collector version must agree, or a batch retried
    /// across an upgrade (or across collectors of two versions on one database) is stored twice.
    #[test]
    fn the_content_hash_of_a_record_stays_what_it_was() {
        let rows = rows_of(BODY);
        assert_eq!(
            hex(&rows[0].content_hash),
            "49559b1b71ca9a8f692c415ee79f5c7fed8a11a3ba2dfbcf368620c50358a9e4"
        );
    }

    #[test]
    fn times_ids_and_numbers_are_read_in_every_spelling_senders_use() {
        let record = |fields: &str| {
            format!(
                r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"body":{{"stringValue":"m"}},{fields}}}]}}]}}]}}"#
            )
        };
        let row = |fields: &str| rows_of(&record(fields)).remove(0);
        for time in [
            "1700000000000000000",
            "\"1700000000000000000\"",
            "\" 1700000000000000000 \"",
        ] {
            let r = row(&format!(
                r#""timeUnixNano":{time},"observedTimeUnixNano":null"#
            ));
            assert_eq!(
                (r.sent_time_unix_nano, r.observed_time_unix_nano),
                (1_700_000_000_000_000_000, 0),
                "{time}"
            );
        }
        assert_eq!(row(r#""timeUnixNano":"""#).sent_time_unix_nano, 0);
        let upper = row(r#""traceId":"0AF7651916CD43DD8448EB211C80319C","spanId":null"#);
        assert_eq!(
            upper.trace_id.as_deref(),
            Some("0af7651916cd43dd8448eb211c80319c")
        );
        assert_eq!(upper.span_id, None);
        let typed = row(
            r#""attributes":[{"key":"i","value":{"intValue":-5}},{"key":"d","value":{"doubleValue":2}},{"key":"t","value":{"doubleValue":"-Infinity"}}]"#,
        );
        assert_eq!(find(&typed.attributes, "i"), Some(&AnyValue::Int(-5)));
        assert_eq!(find(&typed.attributes, "d"), Some(&AnyValue::Double(2.0)));
        assert_eq!(
            find(&typed.attributes, "t"),
            Some(&AnyValue::Double(f64::NEG_INFINITY))
        );
        for (bad, says) in [
            (r#""timeUnixNano":-1"#, "expected a decimal uint64, got -1"),
            (
                r#""timeUnixNano":"soon""#,
                "expected a decimal uint64, got \"soon\"",
            ),
            (r#""traceId":"0g""#, "expected a hex ID, got \"0g\""),
            (r#""traceId":"abc""#, "expected a hex ID, got \"abc\""),
            (
                r#""attributes":[{"key":"i","value":{"intValue":1.5}}]"#,
                "intValue: an int64, got 1.5",
            ),
            (
                r#""attributes":[{"key":"i","value":{"intValue":"9223372036854775808"}}]"#,
                "intValue: an int64, got \"9223372036854775808\"",
            ),
        ] {
            let refused = decode_logs(record(bad).as_bytes(), Format::Json).unwrap_err();
            assert!(
                matches!(&refused, Refusal::Bad(m) if m.contains(says)),
                "{bad}: {refused:?}"
            );
        }
    }

    #[test]
    fn every_field_of_a_json_record_is_kept() {
        let rows = rows_of(BODY);
        let row = &rows[0];
        assert_eq!(row.event_id.as_deref(), Some("e1"));
        assert_eq!(row.time_ns, 1_700_000_000_000_000_000);
        assert!(!row.time_replaced);
        assert_eq!(row.observed_time_unix_nano, 1_700_000_000_000_000_001);
        assert_eq!(row.service, "web", "the resource's name, not the record's");
        assert_eq!(
            (row.scope.as_str(), row.scope_version.as_str()),
            ("threadline", "1.2")
        );
        assert_eq!((row.severity_number, row.level.as_str()), (17, "ERROR"));
        assert!(
            matches!(&row.body, AnyValue::Kvlist(kv) if matches!(kv[0].value, AnyValue::Double(d) if d.is_nan()))
        );
        assert_eq!(row.span_id.as_deref(), Some("00f067aa0ba902b7"));
        assert_eq!((row.flags, row.event_name.as_str()), (1, "checkout"));
        assert_eq!(
            row.correlation_id, row.trace_id,
            "falls back to the trace ID"
        );
        assert_eq!(row.session_id.as_deref(), Some("s1"));
        assert_eq!(
            find(&row.attributes, "n"),
            Some(&AnyValue::Int(9_007_199_254_740_993))
        );
        assert_eq!(row.resource.len(), 1);
    }

    #[test]
    fn times_outside_the_window_become_the_receive_time() {
        for sent in ["0", "1", "18446744073709551615", "1800000000000000000"] {
            let body = BODY.replace("1700000000000000000\"", &format!("{sent}\""));
            let row = &rows_of(&body)[0];
            assert!(row.time_replaced, "{sent}");
            assert_eq!(row.time_ns, clock().now_ns);
            assert_eq!(row.sent_time_unix_nano.to_string(), sent);
        }
    }

    #[test]
    fn content_types_and_encodings_map() {
        assert_eq!(
            Format::from_content_type("application/json; charset=utf-8"),
            Some(Format::Json)
        );
        assert_eq!(
            Format::from_content_type("text/plain;charset=UTF-8"),
            Some(Format::Json)
        );
        assert_eq!(
            Format::from_content_type("application/x-protobuf"),
            Some(Format::Protobuf)
        );
        assert_eq!(Format::from_content_type("application/xml"), None);
        assert_eq!(
            Encoding::from_header(Some("deflate")),
            Some(Encoding::Deflate)
        );
        assert_eq!(Encoding::from_header(Some("br")), None);
    }

    #[test]
    fn gzip_zlib_and_raw_deflate_decompress_and_bombs_are_refused() {
        use std::io::Write;
        let text = BODY.as_bytes();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text).unwrap();
        let mut zl = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        zl.write_all(text).unwrap();
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        raw.write_all(text).unwrap();
        let limit = Limits::default().max_body_bytes;
        assert_eq!(
            decompress(&gz.finish().unwrap(), Encoding::Gzip, limit).unwrap(),
            text
        );
        assert_eq!(
            decompress(&zl.finish().unwrap(), Encoding::Deflate, limit).unwrap(),
            text
        );
        assert_eq!(
            decompress(&raw.finish().unwrap(), Encoding::Deflate, limit).unwrap(),
            text
        );
        assert!(matches!(
            decompress(b"not gzip", Encoding::Gzip, limit),
            Err(Refusal::Bad(_))
        ));
        let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        bomb.write_all(&vec![b' '; limit + 10]).unwrap();
        let bomb = bomb.finish().unwrap();
        assert!(bomb.len() < 64 * 1024);
        assert!(matches!(
            decompress(&bomb, Encoding::Gzip, limit),
            Err(Refusal::TooLarge(_))
        ));
    }

    #[test]
    fn bounds_refuse_and_empty_records_are_counted() {
        let limits = Limits {
            max_records: 2,
            max_attributes: 3,
            max_depth: 2,
            ..Limits::default()
        };
        let decode = |body: &str| {
            let request = decode_logs(body.as_bytes(), Format::Json).unwrap();
            log_rows(request, Provenance::Browser, &limits, &clock())
        };
        let records = |list: &str| {
            format!(r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{list}]}}]}}]}}"#)
        };
        assert!(matches!(
            decode(&records("{},{},{}")),
            Err(Refusal::TooLarge(_))
        ));
        let ok = decode(&records(r#"{},{"body":{"stringValue":"x"}}"#)).unwrap();
        assert_eq!((ok.rows.len(), ok.rejected), (1, 1));
        let attrs = r#"{"attributes":[{"key":"a"},{"key":"b"},{"key":"c"},{"key":"d"}]}"#;
        assert!(matches!(decode(&records(attrs)), Err(Refusal::TooLarge(_))));
        let deep =
            r#"{"body":{"arrayValue":{"values":[{"arrayValue":{"values":[{"intValue":"1"}]}}]}}}"#;
        assert!(matches!(decode(&records(deep)), Err(Refusal::Bad(_))));
        assert!(matches!(
            decode_logs(b"\xff\xff", Format::Protobuf),
            Err(Refusal::Bad(_))
        ));
    }
}
