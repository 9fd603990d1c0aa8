//! A stored row read back into a [`LogRow`] or [`SpanRow`], the same way from either engine:
//! each engine's row type says how to read a text, an optional text, an integer and a flag by
//! column name, and the mapping from columns to fields is written once.

use super::from_json;
use crate::rows::{LogRow, Provenance, SpanRow};

/// The columns of one stored row, by name.
pub trait Columns {
    /// The engine's error.
    type Error;
    /// A `text` column.
    fn text(&self, name: &str) -> Result<String, Self::Error>;
    /// A `text` column that may be NULL.
    fn maybe_text(&self, name: &str) -> Result<Option<String>, Self::Error>;
    /// An integer column, widened to 64 bits.
    fn int(&self, name: &str) -> Result<i64, Self::Error>;
    /// A boolean column.
    fn flag(&self, name: &str) -> Result<bool, Self::Error>;
}

impl Columns for rusqlite::Row<'_> {
    type Error = rusqlite::Error;
    fn text(&self, name: &str) -> Result<String, Self::Error> {
        self.get(name)
    }
    fn maybe_text(&self, name: &str) -> Result<Option<String>, Self::Error> {
        self.get(name)
    }
    fn int(&self, name: &str) -> Result<i64, Self::Error> {
        self.get(name)
    }
    fn flag(&self, name: &str) -> Result<bool, Self::Error> {
        self.get(name)
    }
}

impl Columns for tokio_postgres::Row {
    type Error = tokio_postgres::Error;
    fn text(&self, name: &str) -> Result<String, Self::Error> {
        self.try_get(name)
    }
    fn maybe_text(&self, name: &str) -> Result<Option<String>, Self::Error> {
        self.try_get(name)
    }
    fn int(&self, name: &str) -> Result<i64, Self::Error> {
        self.try_get::<_, i64>(name)
            .or_else(|_| self.try_get::<_, i32>(name).map(i64::from))
    }
    fn flag(&self, name: &str) -> Result<bool, Self::Error> {
        self.try_get(name)
    }
}

fn narrow<T: TryFrom<i64> + Default>(n: i64) -> T {
    T::try_from(n).unwrap_or_default()
}

/// A `logs` row back as a [`LogRow`] (its content hash is not read back).
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
        resource: from_json(&r.text("resource")?),
        attributes: from_json(&r.text("attributes")?),
        dropped_attributes_count: narrow(r.int("dropped_attributes")?),
        folded: r.int("folded")?,
        row_id: r.int("id")?,
        content_hash: [0; 32],
    })
}

/// A `spans` row back as a [`SpanRow`] (its content hash is not read back).
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
        resource: from_json(&r.text("resource")?),
        attributes: from_json(&r.text("attributes")?),
        folded: r.int("folded")?,
        row_id: r.int("id")?,
        content_hash: [0; 32],
    })
}
