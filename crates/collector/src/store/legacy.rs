//! Rows of the first schema (every field as text or JSON in its own column), read back to be
//! carried into the compact one when a store made by an older collector is opened.

use super::columns::{Columns, narrow};
use super::from_json;
use crate::rows::{LogRow, Provenance, SpanRow};

/// The content hash of a first-schema row.
fn hash_of<R: Columns>(r: &R) -> Result<[u8; 32], R::Error> {
    let bytes = r.bytes("content_hash")?;
    let mut hash = [0; 32];
    for (to, from) in hash.iter_mut().zip(bytes) {
        *to = from;
    }
    Ok(hash)
}

/// A first-schema `logs` row as a [`LogRow`].
pub fn log_of<R: Columns>(r: &R) -> Result<LogRow, R::Error> {
    Ok(LogRow {
        provenance: Provenance::parse(&r.text("provenance")?),
        time_ns: r.int("time_ns")?,
        time_replaced: r.flag("time_replaced")?,
        sent_time_unix_nano: r.text("sent_time")?.parse().unwrap_or_default(),
        observed_time_unix_nano: r.text("observed_time")?.parse().unwrap_or_default(),
        service: r.text("service")?,
        scope: r.text("scope")?,
        scope_version: r.text("scope_version")?,
        severity_number: narrow(r.int("severity_number")?),
        severity_text: r.text("severity_text")?,
        level: r.text("level")?,
        event_name: r.text("event_name")?,
        body: from_json(&r.text("body")?),
        message: r.text("message")?,
        trace_id: r.maybe_text("trace_id")?,
        span_id: r.maybe_text("span_id")?,
        flags: narrow(r.int("flags")?),
        correlation_id: r.maybe_text("correlation_id")?,
        session_id: r.maybe_text("session_id")?,
        event_id: r.maybe_text("event_id")?,
        resource: from_json::<Vec<_>>(&r.text("resource")?).into(),
        attributes: from_json(&r.text("attributes")?),
        dropped_attributes_count: narrow(r.int("dropped_attributes")?),
        folded: r.int("folded")?,
        row_id: r.int("id")?,
        content_hash: hash_of(r)?,
    })
}

/// A first-schema `spans` row as a [`SpanRow`].
pub fn span_of<R: Columns>(r: &R) -> Result<SpanRow, R::Error> {
    Ok(SpanRow {
        provenance: Provenance::parse(&r.text("provenance")?),
        start_ns: r.int("start_ns")?,
        end_ns: r.int("end_ns")?,
        time_replaced: r.flag("time_replaced")?,
        service: r.text("service")?,
        scope: r.text("scope")?,
        scope_version: r.text("scope_version")?,
        name: r.text("name")?,
        kind: narrow(r.int("kind")?),
        trace_id: r.text("trace_id")?,
        span_id: r.text("span_id")?,
        parent_span_id: r.maybe_text("parent_span_id")?,
        status_code: narrow(r.int("status_code")?),
        status_message: r.text("status_message")?,
        flags: narrow(r.int("flags")?),
        trace_state: r.text("trace_state")?,
        events: from_json(&r.text("events")?),
        links: from_json(&r.text("links")?),
        correlation_id: r.maybe_text("correlation_id")?,
        session_id: r.maybe_text("session_id")?,
        resource: from_json::<Vec<_>>(&r.text("resource")?).into(),
        attributes: from_json(&r.text("attributes")?),
        folded: r.int("folded")?,
        row_id: r.int("id")?,
        content_hash: hash_of(r)?,
    })
}
