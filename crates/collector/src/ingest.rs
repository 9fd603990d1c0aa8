//! Reads an OTLP/HTTP logs request body into rows to store: JSON (`application/json`, and
//! `text/plain` from browser beacons) or protobuf, optionally gzip-compressed, never expanding
//! past the body limit.

use std::io::Read;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use prost::Message;
use serde_json::{Map, Value as Json, json};

/// Largest body accepted, compressed or not (5 MiB).
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

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

/// Why a body was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not decodable; the message says why (400).
    Bad(String),
    /// Larger than [`MAX_BODY_BYTES`] once decompressed (413).
    TooLarge,
}

/// One log record as stored, and as search returns it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Row {
    /// `event.id`, for idempotent writes; records without one are stored as they come.
    pub event_id: Option<String>,
    /// `timeUnixNano`, else `observedTimeUnixNano`. In JSON a decimal string named
    /// `time_unix_nano` (JSON numbers lose precision past 2^53).
    #[serde(rename = "time_unix_nano", serialize_with = "as_decimal_string")]
    pub time_ns: i64,
    /// `service.name` of the resource.
    pub service: String,
    /// The instrumentation scope (`threadline` for the browser recorder).
    pub scope: String,
    /// `severityText`, else derived from the number.
    pub level: String,
    /// The body as text.
    pub message: String,
    /// `traceId` in lowercase hex, if set.
    pub trace_id: Option<String>,
    /// `correlation_id` attribute, else the trace ID.
    pub correlation_id: Option<String>,
    /// `session.id` attribute.
    pub session_id: Option<String>,
    /// All attributes (record and resource), as a JSON object.
    pub attributes: Json,
}

fn as_decimal_string<S: serde::Serializer>(n: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(n)
}

/// Decodes `body` (after `gzip` if `gzipped`) as `format`.
pub fn decode(body: &[u8], gzipped: bool, format: Format) -> Result<Vec<Row>, Refusal> {
    let plain;
    let bytes = if gzipped {
        plain = gunzip(body)?;
        plain.as_slice()
    } else {
        body
    };
    let request = match format {
        Format::Json => serde_json::from_slice::<ExportLogsServiceRequest>(bytes)
            .map_err(|e| Refusal::Bad(format!("invalid OTLP JSON: {e}")))?,
        Format::Protobuf => ExportLogsServiceRequest::decode(bytes)
            .map_err(|e| Refusal::Bad(format!("invalid OTLP protobuf: {e}")))?,
    };
    Ok(rows(&request))
}

fn gunzip(body: &[u8]) -> Result<Vec<u8>, Refusal> {
    let mut out = Vec::new();
    let limit = u64::try_from(MAX_BODY_BYTES).unwrap_or(u64::MAX) + 1;
    flate2::read::GzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| Refusal::Bad(format!("invalid gzip body: {e}")))?;
    if out.len() > MAX_BODY_BYTES {
        return Err(Refusal::TooLarge);
    }
    Ok(out)
}

/// A plain JSON value for an OTLP `AnyValue` (bytes as hex; absent as null).
pub fn plain(value: Option<&AnyValue>) -> Json {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => json!(s),
        Some(Value::BoolValue(b)) => json!(b),
        Some(Value::IntValue(n)) => json!(n),
        Some(Value::DoubleValue(d)) => json!(d),
        Some(Value::ArrayValue(a)) => {
            Json::Array(a.values.iter().map(|v| plain(Some(v))).collect())
        }
        Some(Value::KvlistValue(kv)) => Json::Object(
            kv.values
                .iter()
                .map(|kv| (kv.key.clone(), plain(kv.value.as_ref())))
                .collect(),
        ),
        Some(Value::BytesValue(b)) => json!(hex(b)),
        // A reference into a string table that logs requests do not carry.
        Some(Value::StringValueStrindex(_)) | None => Json::Null,
    }
}

/// OTLP attributes as a JSON object (a later duplicate key wins).
pub fn attributes_json(list: &[KeyValue]) -> Map<String, Json> {
    list.iter()
        .map(|kv| (kv.key.clone(), plain(kv.value.as_ref())))
        .collect()
}

/// Bytes as lowercase hex (trace IDs, bytes values).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text_attr(attributes: &Map<String, Json>, key: &str) -> Option<String> {
    attributes
        .get(key)
        .and_then(Json::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The OTLP severity text for a severity number, when the sender gave none.
fn level_of(number: i32) -> &'static str {
    match number {
        1..=4 => "TRACE",
        5..=8 => "DEBUG",
        9..=12 => "INFO",
        13..=16 => "WARN",
        17..=20 => "ERROR",
        21..=24 => "FATAL",
        _ => "",
    }
}

fn rows(request: &ExportLogsServiceRequest) -> Vec<Row> {
    let mut out = Vec::new();
    for resource_logs in &request.resource_logs {
        let resource = resource_logs
            .resource
            .as_ref()
            .map(|r| attributes_json(&r.attributes))
            .unwrap_or_default();
        let service = text_attr(&resource, "service.name").unwrap_or_else(|| "unknown".into());
        for scope_logs in &resource_logs.scope_logs {
            let scope = scope_logs
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for record in &scope_logs.log_records {
                let mut attributes = resource.clone();
                attributes.extend(attributes_json(&record.attributes));
                let trace_id = (!record.trace_id.is_empty()
                    && record.trace_id.iter().any(|b| *b != 0))
                .then(|| hex(&record.trace_id));
                let time = if record.time_unix_nano != 0 {
                    record.time_unix_nano
                } else {
                    record.observed_time_unix_nano
                };
                let message = match plain(record.body.as_ref()) {
                    Json::String(s) => s,
                    Json::Null => String::new(),
                    other => other.to_string(),
                };
                let level = if record.severity_text.is_empty() {
                    level_of(record.severity_number).to_owned()
                } else {
                    record.severity_text.to_ascii_uppercase()
                };
                out.push(Row {
                    event_id: text_attr(&attributes, "event.id"),
                    time_ns: i64::try_from(time).unwrap_or(i64::MAX),
                    service: service.clone(),
                    scope: scope.clone(),
                    level,
                    message,
                    correlation_id: text_attr(&attributes, "correlation_id")
                        .or_else(|| trace_id.clone()),
                    session_id: text_attr(&attributes, "session.id"),
                    trace_id,
                    attributes: Json::Object(attributes),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"web"}}]},"scopeLogs":[{"scope":{"name":"threadline"},"logRecords":[{"timeUnixNano":"1700000000000000000","severityNumber":17,"body":{"stringValue":"boom"},"traceId":"0af7651916cd43dd8448eb211c80319c","attributes":[{"key":"event.id","value":{"stringValue":"e1"}},{"key":"session.id","value":{"stringValue":"s1"}},{"key":"n","value":{"intValue":"5"}}]}]}]}]}"#;

    #[test]
    fn json_records_become_rows() {
        let rows = decode(BODY.as_bytes(), false, Format::Json).unwrap();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.event_id.as_deref(), Some("e1"));
        assert_eq!(row.time_ns, 1_700_000_000_000_000_000);
        assert_eq!(row.service, "web");
        assert_eq!(row.scope, "threadline");
        assert_eq!(row.level, "ERROR");
        assert_eq!(row.message, "boom");
        assert_eq!(
            row.trace_id.as_deref(),
            Some("0af7651916cd43dd8448eb211c80319c")
        );
        assert_eq!(
            row.correlation_id, row.trace_id,
            "falls back to the trace ID"
        );
        assert_eq!(row.session_id.as_deref(), Some("s1"));
        assert_eq!(row.attributes["n"], json!(5));
    }

    #[test]
    fn content_types_map_to_formats() {
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
    }

    #[test]
    fn garbage_and_bombs_are_refused() {
        assert!(matches!(
            decode(b"{", false, Format::Json),
            Err(Refusal::Bad(_))
        ));
        assert!(matches!(
            decode(b"\xff\xff", false, Format::Protobuf),
            Err(Refusal::Bad(_))
        ));
        assert!(matches!(
            decode(b"not gzip", true, Format::Json),
            Err(Refusal::Bad(_))
        ));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &vec![b' '; MAX_BODY_BYTES + 10]).unwrap();
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 64 * 1024);
        assert_eq!(decode(&bomb, true, Format::Json), Err(Refusal::TooLarge));
    }
}
