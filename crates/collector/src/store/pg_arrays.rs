//! Rows for PostgreSQL as one array per column: `INSERT … SELECT * FROM unnest($1, $2, …)`
//! inserts any number of rows with one prepared statement of a fixed text, so that the server
//! parses and plans it once per connection instead of a new statement of thousands of
//! parameters for every group.

use tokio_postgres::types::ToSql;

use super::columns::{StoredLog, StoredSpan};

/// Log rows, column by column, in the order of [`LOG_INSERT`]'s columns.
#[derive(Default)]
pub(super) struct LogArrays<'a> {
    day: Vec<i32>,
    provenance: Vec<i16>,
    content_hash: Vec<&'a [u8]>,
    time_ns: Vec<i64>,
    time_replaced: Vec<bool>,
    sent_time: Vec<Option<i64>>,
    observed_time: Vec<i64>,
    layout: Vec<i64>,
    severity_number: Vec<i32>,
    severity_text: Vec<&'a str>,
    error: Vec<bool>,
    event_name: Vec<&'a str>,
    body: Vec<&'a [u8]>,
    trace_id: Vec<Option<&'a [u8]>>,
    span_id: Vec<Option<&'a [u8]>>,
    flags: Vec<i64>,
    correlation_id: Vec<Option<&'a [u8]>>,
    session_id: Vec<Option<&'a [u8]>>,
    attributes: Vec<&'a [u8]>,
    dropped_attributes: Vec<i64>,
    folded: Vec<i64>,
}

/// Inserts the rows of a [`LogArrays`], a true duplicate folded into the stored copy.
pub(super) const LOG_INSERT: &str = "INSERT INTO logs (day, provenance, content_hash, time_ns,
    time_replaced, sent_time, observed_time, layout, severity_number, severity_text, error,
    event_name, body, trace_id, span_id, flags, correlation_id, session_id, attributes,
    dropped_attributes, folded)
 SELECT * FROM unnest($1::int4[], $2::int2[], $3::bytea[], $4::int8[], $5::bool[], $6::int8[],
    $7::int8[], $8::int8[], $9::int4[], $10::text[], $11::bool[], $12::text[], $13::bytea[],
    $14::bytea[], $15::bytea[], $16::int8[], $17::bytea[], $18::bytea[], $19::bytea[],
    $20::int8[], $21::int8[])
 ON CONFLICT (provenance, content_hash, day)
    DO UPDATE SET folded = logs.folded + 1 + excluded.folded
 RETURNING provenance, content_hash, day, folded";

impl<'a> LogArrays<'a> {
    /// Adds `s`, of partition `day`, with its layout's row ID and `folded` copies in it.
    pub(super) fn push(&mut self, s: &'a StoredLog, day: i32, layout: i64, folded: i64) {
        self.day.push(day);
        self.provenance.push(s.provenance);
        self.content_hash.push(&s.content_hash);
        self.time_ns.push(s.time_ns);
        self.time_replaced.push(s.time_replaced);
        self.sent_time.push(s.sent_time);
        self.observed_time.push(s.observed_time);
        self.layout.push(layout);
        self.severity_number.push(s.severity_number);
        self.severity_text.push(&s.severity_text);
        self.error.push(s.error);
        self.event_name.push(&s.event_name);
        self.body.push(&s.body);
        self.trace_id.push(s.trace_id.as_deref());
        self.span_id.push(s.span_id.as_deref());
        self.flags.push(s.flags);
        self.correlation_id.push(s.correlation_id.as_deref());
        self.session_id.push(s.session_id.as_deref());
        self.attributes.push(&s.attributes);
        self.dropped_attributes.push(s.dropped_attributes);
        self.folded.push(folded);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.day.is_empty()
    }

    /// The statement's parameters.
    pub(super) fn params(&self) -> [&(dyn ToSql + Sync); 21] {
        [
            &self.day,
            &self.provenance,
            &self.content_hash,
            &self.time_ns,
            &self.time_replaced,
            &self.sent_time,
            &self.observed_time,
            &self.layout,
            &self.severity_number,
            &self.severity_text,
            &self.error,
            &self.event_name,
            &self.body,
            &self.trace_id,
            &self.span_id,
            &self.flags,
            &self.correlation_id,
            &self.session_id,
            &self.attributes,
            &self.dropped_attributes,
            &self.folded,
        ]
    }
}

/// Spans, column by column, in the order of [`SPAN_INSERT`]'s columns.
#[derive(Default)]
pub(super) struct SpanArrays<'a> {
    day: Vec<i32>,
    provenance: Vec<i16>,
    content_hash: Vec<&'a [u8]>,
    start_ns: Vec<i64>,
    end_ns: Vec<i64>,
    time_replaced: Vec<bool>,
    layout: Vec<i64>,
    name: Vec<&'a str>,
    kind: Vec<i32>,
    trace_id: Vec<&'a [u8]>,
    span_id: Vec<&'a [u8]>,
    parent_span_id: Vec<Option<&'a [u8]>>,
    status_code: Vec<i32>,
    status_message: Vec<&'a str>,
    flags: Vec<i64>,
    trace_state: Vec<&'a str>,
    events: Vec<&'a str>,
    links: Vec<&'a str>,
    correlation_id: Vec<Option<&'a [u8]>>,
    session_id: Vec<Option<&'a [u8]>>,
    attributes: Vec<&'a [u8]>,
    folded: Vec<i64>,
}

/// Inserts the rows of a [`SpanArrays`], a true duplicate folded into the stored copy.
pub(super) const SPAN_INSERT: &str = "INSERT INTO spans (day, provenance, content_hash, start_ns,
    end_ns, time_replaced, layout, name, kind, trace_id, span_id, parent_span_id, status_code,
    status_message, flags, trace_state, events, links, correlation_id, session_id, attributes,
    folded)
 SELECT * FROM unnest($1::int4[], $2::int2[], $3::bytea[], $4::int8[], $5::int8[], $6::bool[],
    $7::int8[], $8::text[], $9::int4[], $10::bytea[], $11::bytea[], $12::bytea[], $13::int4[],
    $14::text[], $15::int8[], $16::text[], $17::text[], $18::text[], $19::bytea[], $20::bytea[],
    $21::bytea[], $22::int8[])
 ON CONFLICT (provenance, content_hash, day)
    DO UPDATE SET folded = spans.folded + 1 + excluded.folded
 RETURNING provenance, content_hash, day, folded";

impl<'a> SpanArrays<'a> {
    /// Adds `s`, of partition `day`, with its layout's row ID and `folded` copies in it.
    pub(super) fn push(&mut self, s: &'a StoredSpan, day: i32, layout: i64, folded: i64) {
        self.day.push(day);
        self.provenance.push(s.provenance);
        self.content_hash.push(&s.content_hash);
        self.start_ns.push(s.start_ns);
        self.end_ns.push(s.end_ns);
        self.time_replaced.push(s.time_replaced);
        self.layout.push(layout);
        self.name.push(&s.name);
        self.kind.push(s.kind);
        self.trace_id.push(&s.trace_id);
        self.span_id.push(&s.span_id);
        self.parent_span_id.push(s.parent_span_id.as_deref());
        self.status_code.push(s.status_code);
        self.status_message.push(&s.status_message);
        self.flags.push(s.flags);
        self.trace_state.push(&s.trace_state);
        self.events.push(&s.events);
        self.links.push(&s.links);
        self.correlation_id.push(s.correlation_id.as_deref());
        self.session_id.push(s.session_id.as_deref());
        self.attributes.push(&s.attributes);
        self.folded.push(folded);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.day.is_empty()
    }

    /// The statement's parameters.
    pub(super) fn params(&self) -> [&(dyn ToSql + Sync); 22] {
        [
            &self.day,
            &self.provenance,
            &self.content_hash,
            &self.start_ns,
            &self.end_ns,
            &self.time_replaced,
            &self.layout,
            &self.name,
            &self.kind,
            &self.trace_id,
            &self.span_id,
            &self.parent_span_id,
            &self.status_code,
            &self.status_message,
            &self.flags,
            &self.trace_state,
            &self.events,
            &self.links,
            &self.correlation_id,
            &self.session_id,
            &self.attributes,
            &self.folded,
        ]
    }
}
