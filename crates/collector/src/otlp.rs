//! The OTLP logs and traces requests as the collector reads them, with every field it keeps:
//! decoded from OTLP JSON (proto3 JSON: IDs in hex, 64-bit times as decimal strings, typed
//! values per [`AnyValue`]) or converted from the protobuf messages, so both encodings end in
//! the same values.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use serde::{Deserialize, Deserializer};

use crate::store::packed::hex_bytes;
use crate::value::{AnyValue, KeyValue, Spelt, attributes_from, or_default};

/// A 64-bit unsigned number (a time): decimal text in proto3 JSON, a number from some senders;
/// 0 when absent, empty or `null`.
fn u64_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    Ok(Option::<Spelt<u64>>::deserialize(deserializer)?.map_or(0, |Spelt(n)| n))
}

/// A hex ID's bytes, read from the text as it lies in the body.
struct HexId(Vec<u8>);

impl<'de> Deserialize<'de> for HexId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = HexId;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a hex ID")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<HexId, E> {
                // Lowercase as the store keeps IDs; a sender's uppercase hex is read the same.
                hex_bytes(text)
                    .or_else(|| hex_bytes(&text.to_ascii_lowercase()))
                    .map(HexId)
                    .ok_or_else(|| E::custom(format!("expected a hex ID, got {text:?}")))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// A trace or span ID: hex in OTLP JSON; empty when absent.
fn hex_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    Ok(Option::<HexId>::deserialize(deserializer)?.map_or_else(Vec::new, |HexId(bytes)| bytes))
}

/// A resource: the attributes of the process that sent the records.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Resource {
    /// Its attributes (`service.name` among them).
    #[serde(deserialize_with = "or_default")]
    pub attributes: Vec<KeyValue>,
}

/// The instrumentation scope: which library made the records.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Scope {
    /// Its name.
    #[serde(deserialize_with = "or_default")]
    pub name: String,
    /// Its version.
    #[serde(deserialize_with = "or_default")]
    pub version: String,
}

/// `ExportLogsServiceRequest`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LogsRequest {
    /// Records grouped by resource.
    #[serde(deserialize_with = "or_default")]
    pub resource_logs: Vec<ResourceLogs>,
}

/// Records of one resource.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceLogs {
    /// The resource.
    #[serde(deserialize_with = "or_default")]
    pub resource: Resource,
    /// Records grouped by scope.
    #[serde(deserialize_with = "or_default")]
    pub scope_logs: Vec<ScopeLogs>,
}

/// Records of one scope.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScopeLogs {
    /// The scope.
    #[serde(deserialize_with = "or_default")]
    pub scope: Scope,
    /// The records.
    #[serde(deserialize_with = "or_default")]
    pub log_records: Vec<LogRecord>,
}

/// One `LogRecord`, every field.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LogRecord {
    /// When it happened, ns since the epoch; 0 when unknown.
    #[serde(deserialize_with = "u64_text")]
    pub time_unix_nano: u64,
    /// When the sender observed it.
    #[serde(deserialize_with = "u64_text")]
    pub observed_time_unix_nano: u64,
    /// OTLP severity number (1–24).
    #[serde(deserialize_with = "or_default")]
    pub severity_number: i32,
    /// The sender's severity text.
    #[serde(deserialize_with = "or_default")]
    pub severity_text: String,
    /// The body, typed.
    #[serde(deserialize_with = "or_default")]
    pub body: AnyValue,
    /// The record's own attributes.
    #[serde(deserialize_with = "or_default")]
    pub attributes: Vec<KeyValue>,
    /// Attributes the sender dropped.
    #[serde(deserialize_with = "or_default")]
    pub dropped_attributes_count: u32,
    /// W3C trace flags.
    #[serde(deserialize_with = "or_default")]
    pub flags: u32,
    /// 16 bytes, or empty.
    #[serde(deserialize_with = "hex_id")]
    pub trace_id: Vec<u8>,
    /// 8 bytes, or empty.
    #[serde(deserialize_with = "hex_id")]
    pub span_id: Vec<u8>,
    /// The event name (`LogRecord.event_name`).
    #[serde(deserialize_with = "or_default")]
    pub event_name: String,
}

/// `ExportTraceServiceRequest`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TracesRequest {
    /// Spans grouped by resource.
    #[serde(deserialize_with = "or_default")]
    pub resource_spans: Vec<ResourceSpans>,
}

/// Spans of one resource.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceSpans {
    /// The resource.
    #[serde(deserialize_with = "or_default")]
    pub resource: Resource,
    /// Spans grouped by scope.
    #[serde(deserialize_with = "or_default")]
    pub scope_spans: Vec<ScopeSpans>,
}

/// Spans of one scope.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScopeSpans {
    /// The scope.
    #[serde(deserialize_with = "or_default")]
    pub scope: Scope,
    /// The spans.
    #[serde(deserialize_with = "or_default")]
    pub spans: Vec<Span>,
}

/// One span, the fields the story needs.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Span {
    /// 16 bytes.
    #[serde(deserialize_with = "hex_id")]
    pub trace_id: Vec<u8>,
    /// 8 bytes.
    #[serde(deserialize_with = "hex_id")]
    pub span_id: Vec<u8>,
    /// The parent's span ID, empty for a root.
    #[serde(deserialize_with = "hex_id")]
    pub parent_span_id: Vec<u8>,
    /// Its name.
    #[serde(deserialize_with = "or_default")]
    pub name: String,
    /// `SpanKind` (1 internal, 2 server, 3 client, 4 producer, 5 consumer).
    #[serde(deserialize_with = "or_default")]
    pub kind: i32,
    /// Start, ns since the epoch.
    #[serde(deserialize_with = "u64_text")]
    pub start_time_unix_nano: u64,
    /// End, ns since the epoch.
    #[serde(deserialize_with = "u64_text")]
    pub end_time_unix_nano: u64,
    /// Its attributes.
    #[serde(deserialize_with = "or_default")]
    pub attributes: Vec<KeyValue>,
    /// Its status.
    #[serde(deserialize_with = "or_default")]
    pub status: Status,
    /// W3C trace flags.
    #[serde(deserialize_with = "or_default")]
    pub flags: u32,
    /// W3C `tracestate`.
    #[serde(deserialize_with = "or_default")]
    pub trace_state: String,
    /// Its events (an exception among them).
    #[serde(deserialize_with = "or_default")]
    pub events: Vec<SpanEvent>,
    /// Its links to other spans.
    #[serde(deserialize_with = "or_default")]
    pub links: Vec<SpanLink>,
}

/// An event in a span (read in OTLP's camelCase, written in the search answer's snake_case).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all(deserialize = "camelCase"), default)]
pub struct SpanEvent {
    /// When, ns since the epoch (a decimal string when written).
    #[serde(deserialize_with = "u64_text", serialize_with = "crate::rows::decimal")]
    pub time_unix_nano: u64,
    /// Its name.
    #[serde(deserialize_with = "or_default")]
    pub name: String,
    /// Its attributes.
    #[serde(
        deserialize_with = "or_default",
        serialize_with = "crate::value::as_map"
    )]
    pub attributes: Vec<KeyValue>,
}

/// A link from a span to another (read in OTLP's camelCase, written in snake_case).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all(deserialize = "camelCase"), default)]
pub struct SpanLink {
    /// The other span's trace ID (hex when written).
    #[serde(deserialize_with = "hex_id", serialize_with = "hex_text")]
    pub trace_id: Vec<u8>,
    /// The other span's ID (hex when written).
    #[serde(deserialize_with = "hex_id", serialize_with = "hex_text")]
    pub span_id: Vec<u8>,
    /// Its attributes.
    #[serde(
        deserialize_with = "or_default",
        serialize_with = "crate::value::as_map"
    )]
    pub attributes: Vec<KeyValue>,
}

fn hex_text<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&crate::ingest::hex(bytes))
}

/// A span's status: code 0 unset, 1 ok, 2 error.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Status {
    /// The code.
    #[serde(deserialize_with = "or_default")]
    pub code: i32,
    /// The message.
    #[serde(deserialize_with = "or_default")]
    pub message: String,
}

fn resource_from(resource: Option<&ProtoResource>) -> Resource {
    Resource {
        attributes: resource
            .map(|r| attributes_from(&r.attributes))
            .unwrap_or_default(),
    }
}

fn scope_from(scope: Option<&InstrumentationScope>) -> Scope {
    scope
        .map(|s| Scope {
            name: s.name.clone(),
            version: s.version.clone(),
        })
        .unwrap_or_default()
}

impl From<&ExportLogsServiceRequest> for LogsRequest {
    fn from(request: &ExportLogsServiceRequest) -> Self {
        LogsRequest {
            resource_logs: request
                .resource_logs
                .iter()
                .map(|rl| ResourceLogs {
                    resource: resource_from(rl.resource.as_ref()),
                    scope_logs: rl
                        .scope_logs
                        .iter()
                        .map(|sl| ScopeLogs {
                            scope: scope_from(sl.scope.as_ref()),
                            log_records: sl
                                .log_records
                                .iter()
                                .map(|r| LogRecord {
                                    time_unix_nano: r.time_unix_nano,
                                    observed_time_unix_nano: r.observed_time_unix_nano,
                                    severity_number: r.severity_number,
                                    severity_text: r.severity_text.clone(),
                                    body: r.body.as_ref().map(AnyValue::from).unwrap_or_default(),
                                    attributes: attributes_from(&r.attributes),
                                    dropped_attributes_count: r.dropped_attributes_count,
                                    flags: r.flags,
                                    trace_id: r.trace_id.clone(),
                                    span_id: r.span_id.clone(),
                                    event_name: r.event_name.clone(),
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl From<&ExportTraceServiceRequest> for TracesRequest {
    fn from(request: &ExportTraceServiceRequest) -> Self {
        TracesRequest {
            resource_spans: request
                .resource_spans
                .iter()
                .map(|rs| ResourceSpans {
                    resource: resource_from(rs.resource.as_ref()),
                    scope_spans: rs
                        .scope_spans
                        .iter()
                        .map(|ss| ScopeSpans {
                            scope: scope_from(ss.scope.as_ref()),
                            spans: ss
                                .spans
                                .iter()
                                .map(|s| Span {
                                    trace_id: s.trace_id.clone(),
                                    span_id: s.span_id.clone(),
                                    parent_span_id: s.parent_span_id.clone(),
                                    name: s.name.clone(),
                                    kind: s.kind,
                                    start_time_unix_nano: s.start_time_unix_nano,
                                    end_time_unix_nano: s.end_time_unix_nano,
                                    attributes: attributes_from(&s.attributes),
                                    status: s
                                        .status
                                        .as_ref()
                                        .map(|st| Status {
                                            code: st.code,
                                            message: st.message.clone(),
                                        })
                                        .unwrap_or_default(),
                                    flags: s.flags,
                                    trace_state: s.trace_state.clone(),
                                    events: s
                                        .events
                                        .iter()
                                        .map(|e| SpanEvent {
                                            time_unix_nano: e.time_unix_nano,
                                            name: e.name.clone(),
                                            attributes: attributes_from(&e.attributes),
                                        })
                                        .collect(),
                                    links: s
                                        .links
                                        .iter()
                                        .map(|l| SpanLink {
                                            trace_id: l.trace_id.clone(),
                                            span_id: l.span_id.clone(),
                                            attributes: attributes_from(&l.attributes),
                                        })
                                        .collect(),
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}
