//! A log record and a span as stored and as the search answer shows them, with who sent them
//! (backend with the write credential, or browser) and how many true duplicates were folded.

use serde::{Serialize, Serializer};

use crate::value::{AnyValue, KeyValue, as_map};

/// Who sent a record: a backend with the write credential, or anyone else (a browser).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provenance {
    /// Sent with the write credential.
    Backend,
    /// Sent without a credential: shown as from a browser, whatever service it names.
    Browser,
}

impl Provenance {
    /// How it is stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::Backend => "backend",
            Provenance::Browser => "browser",
        }
    }

    /// The stored text back; anything unknown reads as browser.
    pub fn parse(text: &str) -> Provenance {
        if text == "backend" {
            Provenance::Backend
        } else {
            Provenance::Browser
        }
    }
}

/// A 64-bit number as a decimal string (JSON numbers lose precision past 2^53).
pub fn decimal<S: Serializer, N: std::fmt::Display>(
    n: &N,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(n)
}

/// One log record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogRow {
    /// Who sent it.
    pub provenance: Provenance,
    /// When it happened as the timeline places it (ns since the epoch): the sender's time, or
    /// the time it was received when the sender's was missing or outside the sane window.
    #[serde(rename = "time_unix_nano", serialize_with = "decimal")]
    pub time_ns: i64,
    /// True when `time_unix_nano` is the receive time, not the sender's.
    pub time_replaced: bool,
    /// The sender's `timeUnixNano`, as sent.
    #[serde(serialize_with = "decimal")]
    pub sent_time_unix_nano: u64,
    /// The sender's `observedTimeUnixNano`.
    #[serde(serialize_with = "decimal")]
    pub observed_time_unix_nano: u64,
    /// `service.name` of the resource.
    pub service: String,
    /// The instrumentation scope's name.
    pub scope: String,
    /// The instrumentation scope's version.
    pub scope_version: String,
    /// OTLP severity number.
    pub severity_number: i32,
    /// The sender's severity text.
    pub severity_text: String,
    /// The severity text, else one derived from the number, upper case.
    pub level: String,
    /// `LogRecord.event_name`.
    pub event_name: String,
    /// The body, typed.
    pub body: AnyValue,
    /// The body as text, for the timeline.
    pub message: String,
    /// `traceId` in lowercase hex.
    pub trace_id: Option<String>,
    /// `spanId` in lowercase hex.
    pub span_id: Option<String>,
    /// W3C trace flags.
    pub flags: u32,
    /// `correlation_id` attribute, else the trace ID.
    pub correlation_id: Option<String>,
    /// `session.id` attribute.
    pub session_id: Option<String>,
    /// `event.id` attribute.
    pub event_id: Option<String>,
    /// The resource's attributes.
    #[serde(serialize_with = "as_map")]
    pub resource: std::sync::Arc<[KeyValue]>,
    /// The record's own attributes.
    #[serde(serialize_with = "as_map")]
    pub attributes: Vec<KeyValue>,
    /// Attributes the sender dropped.
    pub dropped_attributes_count: u32,
    /// How many true duplicates of it arrived after it and were folded into it.
    pub folded: i64,
    /// Its row in the store (for paging).
    #[serde(skip)]
    pub row_id: i64,
    /// SHA-256 of what the sender sent; with the provenance, what makes a true duplicate.
    #[serde(skip)]
    pub content_hash: [u8; 32],
}

/// One span.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpanRow {
    /// Who sent it.
    pub provenance: Provenance,
    /// Start as the timeline places it (see [`LogRow::time_ns`]).
    #[serde(rename = "start_time_unix_nano", serialize_with = "decimal")]
    pub start_ns: i64,
    /// End as the timeline places it.
    #[serde(rename = "end_time_unix_nano", serialize_with = "decimal")]
    pub end_ns: i64,
    /// True when the times were moved to the receive time.
    pub time_replaced: bool,
    /// `service.name` of the resource.
    pub service: String,
    /// The instrumentation scope's name.
    pub scope: String,
    /// The instrumentation scope's version.
    pub scope_version: String,
    /// Its name.
    pub name: String,
    /// `SpanKind`.
    pub kind: i32,
    /// `traceId` in hex.
    pub trace_id: String,
    /// `spanId` in hex.
    pub span_id: String,
    /// The parent's span ID in hex.
    pub parent_span_id: Option<String>,
    /// Status code: 0 unset, 1 ok, 2 error.
    pub status_code: i32,
    /// Status message.
    pub status_message: String,
    /// W3C trace flags.
    pub flags: u32,
    /// W3C `tracestate`.
    pub trace_state: String,
    /// Its events: `[{"time_unix_nano", "name", "attributes"}]`.
    pub events: serde_json::Value,
    /// Its links: `[{"trace_id", "span_id", "attributes"}]`.
    pub links: serde_json::Value,
    /// `correlation_id` attribute, else the trace ID.
    pub correlation_id: Option<String>,
    /// `session.id` attribute.
    pub session_id: Option<String>,
    /// The resource's attributes.
    #[serde(serialize_with = "as_map")]
    pub resource: std::sync::Arc<[KeyValue]>,
    /// The span's attributes.
    #[serde(serialize_with = "as_map")]
    pub attributes: Vec<KeyValue>,
    /// How many true duplicates were folded into it.
    pub folded: i64,
    /// Its row in the store (for paging).
    #[serde(skip)]
    pub row_id: i64,
    /// SHA-256 of what the sender sent; with the provenance, what makes a true duplicate.
    #[serde(skip)]
    pub content_hash: [u8; 32],
}

/// The level the timeline shows: the sender's severity text in upper case, else the OTLP
/// severity text of its severity number.
pub fn level_of(number: i32, text: &str) -> String {
    if !text.is_empty() {
        return text.to_ascii_uppercase();
    }
    match number {
        1..=4 => "TRACE",
        5..=8 => "DEBUG",
        9..=12 => "INFO",
        13..=16 => "WARN",
        17..=20 => "ERROR",
        21..=24 => "FATAL",
        _ => "",
    }
    .to_owned()
}
