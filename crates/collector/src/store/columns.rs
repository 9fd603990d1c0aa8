//! A row between its fields and its stored columns, the same way for either engine: each engine's
//! row type says how to read a text, a blob, an integer and a flag by column name; what is stored
//! ([`StoredLog`], [`StoredSpan`]) and how a stored row reads back are written once. Fields that
//! follow from others (message, level, event ID, a correlation ID equal to the trace ID) are not
//! stored but derived again.

use super::packed::{self, Context, EncodedLayout, Layout};
use crate::ingest::text_of;
use crate::rows::{LogRow, Provenance, SpanRow, level_of};
use crate::value::KeyValue;

/// The columns of one stored row, by name.
pub trait Columns {
    /// The engine's error.
    type Error;
    /// A `text` column.
    fn text(&self, name: &str) -> Result<String, Self::Error>;
    /// A `text` column that may be NULL.
    fn maybe_text(&self, name: &str) -> Result<Option<String>, Self::Error>;
    /// A blob (`bytea`) column.
    fn bytes(&self, name: &str) -> Result<Vec<u8>, Self::Error>;
    /// A blob column that may be NULL.
    fn maybe_bytes(&self, name: &str) -> Result<Option<Vec<u8>>, Self::Error>;
    /// An integer column, widened to 64 bits.
    fn int(&self, name: &str) -> Result<i64, Self::Error>;
    /// An integer column that may be NULL.
    fn maybe_int(&self, name: &str) -> Result<Option<i64>, Self::Error>;
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
    fn bytes(&self, name: &str) -> Result<Vec<u8>, Self::Error> {
        self.get(name)
    }
    fn maybe_bytes(&self, name: &str) -> Result<Option<Vec<u8>>, Self::Error> {
        self.get(name)
    }
    fn int(&self, name: &str) -> Result<i64, Self::Error> {
        self.get(name)
    }
    fn maybe_int(&self, name: &str) -> Result<Option<i64>, Self::Error> {
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
    fn bytes(&self, name: &str) -> Result<Vec<u8>, Self::Error> {
        self.try_get(name)
    }
    fn maybe_bytes(&self, name: &str) -> Result<Option<Vec<u8>>, Self::Error> {
        self.try_get(name)
    }
    fn int(&self, name: &str) -> Result<i64, Self::Error> {
        self.try_get::<_, i64>(name)
            .or_else(|_| self.try_get::<_, i32>(name).map(i64::from))
            .or_else(|_| self.try_get::<_, i16>(name).map(i64::from))
    }
    fn maybe_int(&self, name: &str) -> Result<Option<i64>, Self::Error> {
        self.try_get::<_, Option<i64>>(name).or_else(|_| {
            self.try_get::<_, Option<i32>>(name)
                .map(|n| n.map(i64::from))
        })
    }
    fn flag(&self, name: &str) -> Result<bool, Self::Error> {
        self.try_get(name)
    }
}

/// A number narrowed to its field's type (0 if it does not fit, which a stored row never has).
pub fn narrow<T: TryFrom<i64> + Default>(n: i64) -> T {
    T::try_from(n).unwrap_or_default()
}

/// A `u64` time kept bit for bit in a signed 64-bit column.
fn signed(n: u64) -> i64 {
    i64::from_ne_bytes(n.to_ne_bytes())
}

fn unsigned(n: i64) -> u64 {
    u64::from_ne_bytes(n.to_ne_bytes())
}

/// How a provenance is stored: 0 backend, 1 browser.
pub fn provenance_code(provenance: Provenance) -> i16 {
    match provenance {
        Provenance::Backend => 0,
        Provenance::Browser => 1,
    }
}

/// A stored provenance code back.
pub fn provenance_of(code: i64) -> Provenance {
    if code == 0 {
        Provenance::Backend
    } else {
        Provenance::Browser
    }
}

/// The part of a content hash stored as the duplicate key: 128 bits of SHA-256.
fn hash_key(hash: &[u8; 32]) -> Vec<u8> {
    hash.get(..16).unwrap_or_default().to_vec()
}

/// The correlation ID as stored: NULL when it is the trace ID (the search finds it by that).
fn correlation_key(correlation: Option<&str>, trace: Option<&str>) -> Option<Vec<u8>> {
    correlation.filter(|c| Some(*c) != trace).map(packed::id)
}

/// What a layout is made of, borrowed from a row.
struct LayoutParts<'a> {
    names: (&'a String, &'a String, &'a String),
    resource: &'a std::sync::Arc<[KeyValue]>,
    attributes: &'a [KeyValue],
}

impl LayoutParts<'_> {
    /// True when `other` makes the same layout: the rows of one request mostly do.
    fn same_as(&self, other: &LayoutParts<'_>) -> bool {
        self.names == other.names
            && (std::sync::Arc::ptr_eq(self.resource, other.resource)
                || self.resource == other.resource)
            && self.attributes.len() == other.attributes.len()
            && self
                .attributes
                .iter()
                .zip(other.attributes)
                .all(|(a, b)| a.key == b.key)
    }

    fn encode(&self) -> EncodedLayout {
        let (service, scope, version) = self.names;
        Layout::new((service, scope, version), self.resource, self.attributes).encode()
    }
}

/// A row with a layout.
trait Laid {
    fn layout_parts(&self) -> LayoutParts<'_>;
}

impl Laid for LogRow {
    fn layout_parts(&self) -> LayoutParts<'_> {
        LayoutParts {
            names: (&self.service, &self.scope, &self.scope_version),
            resource: &self.resource,
            attributes: &self.attributes,
        }
    }
}

impl Laid for SpanRow {
    fn layout_parts(&self) -> LayoutParts<'_> {
        LayoutParts {
            names: (&self.service, &self.scope, &self.scope_version),
            resource: &self.resource,
            attributes: &self.attributes,
        }
    }
}

/// The stored form of `rows`, each by `of` with its layout, which is encoded only when a row's
/// differs from the row before it.
fn stored<T: Laid, S>(rows: &[T], of: impl Fn(&T, EncodedLayout) -> S) -> Vec<S> {
    let mut layouts: Vec<EncodedLayout> = Vec::with_capacity(rows.len());
    let mut before: Option<LayoutParts<'_>> = None;
    for row in rows {
        let parts = row.layout_parts();
        let layout = match (&before, layouts.last()) {
            (Some(b), Some(last)) if parts.same_as(b) => last.clone(),
            _ => parts.encode(),
        };
        layouts.push(layout);
        before = Some(parts);
    }
    rows.iter()
        .zip(layouts)
        .map(|(row, layout)| of(row, layout))
        .collect()
}

/// The stored columns of log rows.
pub fn stored_logs(rows: &[LogRow]) -> Vec<StoredLog> {
    stored(rows, StoredLog::of)
}

/// The stored columns of spans.
pub fn stored_spans(rows: &[SpanRow]) -> Vec<StoredSpan> {
    stored(rows, StoredSpan::of)
}

/// A log row's stored columns.
#[derive(Clone)]
pub struct StoredLog {
    pub provenance: i16,
    pub content_hash: Vec<u8>,
    pub time_ns: i64,
    pub time_replaced: bool,
    pub sent_time: Option<i64>,
    pub observed_time: i64,
    pub layout: EncodedLayout,
    pub severity_number: i32,
    pub severity_text: String,
    pub error: bool,
    pub event_name: String,
    pub body: Vec<u8>,
    pub trace_id: Option<Vec<u8>>,
    pub span_id: Option<Vec<u8>>,
    pub flags: i64,
    pub correlation_id: Option<Vec<u8>>,
    pub session_id: Option<Vec<u8>>,
    pub attributes: Vec<u8>,
    pub dropped_attributes: i64,
    pub folded: i64,
}

impl StoredLog {
    /// What `row` stores, with its layout encoded.
    fn of(row: &LogRow, layout: EncodedLayout) -> StoredLog {
        let context = Context {
            correlation: row.correlation_id.as_deref(),
            session: row.session_id.as_deref(),
        };
        let sent = signed(row.sent_time_unix_nano);
        StoredLog {
            provenance: provenance_code(row.provenance),
            content_hash: hash_key(&row.content_hash),
            time_ns: row.time_ns,
            time_replaced: row.time_replaced,
            sent_time: (sent != row.time_ns).then_some(sent),
            observed_time: signed(row.observed_time_unix_nano),
            layout,
            severity_number: row.severity_number,
            severity_text: row.severity_text.clone(),
            error: matches!(row.level.as_str(), "ERROR" | "FATAL"),
            event_name: row.event_name.clone(),
            body: packed::value(&row.body),
            trace_id: row.trace_id.as_deref().map(packed::id),
            span_id: row.span_id.as_deref().map(packed::id),
            flags: i64::from(row.flags),
            correlation_id: correlation_key(row.correlation_id.as_deref(), row.trace_id.as_deref()),
            session_id: row.session_id.as_deref().map(packed::id),
            attributes: packed::values(&row.attributes, context),
            dropped_attributes: i64::from(row.dropped_attributes_count),
            folded: row.folded,
        }
    }
}

/// A span's stored columns.
#[derive(Clone)]
pub struct StoredSpan {
    pub provenance: i16,
    pub content_hash: Vec<u8>,
    pub start_ns: i64,
    pub end_ns: i64,
    pub time_replaced: bool,
    pub layout: EncodedLayout,
    pub name: String,
    pub kind: i32,
    pub trace_id: Vec<u8>,
    pub span_id: Vec<u8>,
    pub parent_span_id: Option<Vec<u8>>,
    pub status_code: i32,
    pub status_message: String,
    pub flags: i64,
    pub trace_state: String,
    pub events: String,
    pub links: String,
    pub correlation_id: Option<Vec<u8>>,
    pub session_id: Option<Vec<u8>>,
    pub attributes: Vec<u8>,
    pub folded: i64,
}

impl StoredSpan {
    /// What `row` stores, with its layout encoded.
    fn of(row: &SpanRow, layout: EncodedLayout) -> StoredSpan {
        let context = Context {
            correlation: row.correlation_id.as_deref(),
            session: row.session_id.as_deref(),
        };
        StoredSpan {
            provenance: provenance_code(row.provenance),
            content_hash: hash_key(&row.content_hash),
            start_ns: row.start_ns,
            end_ns: row.end_ns,
            time_replaced: row.time_replaced,
            layout,
            name: row.name.clone(),
            kind: row.kind,
            trace_id: packed::id(&row.trace_id),
            span_id: packed::id(&row.span_id),
            parent_span_id: row.parent_span_id.as_deref().map(packed::id),
            status_code: row.status_code,
            status_message: row.status_message.clone(),
            flags: i64::from(row.flags),
            trace_state: row.trace_state.clone(),
            events: row.events.to_string(),
            links: row.links.to_string(),
            correlation_id: correlation_key(row.correlation_id.as_deref(), Some(&row.trace_id)),
            session_id: row.session_id.as_deref().map(packed::id),
            attributes: packed::values(&row.attributes, context),
            folded: row.folded,
        }
    }
}

fn maybe_id<R: Columns>(r: &R, name: &str) -> Result<Option<String>, R::Error> {
    Ok(r.maybe_bytes(name)?.map(|b| packed::id_text(&b)))
}

/// A stored `logs` row, joined with its layout (`layout_content`), back as a [`LogRow`] (its
/// content hash is not read back).
pub fn log_of<R: Columns>(r: &R) -> Result<LogRow, R::Error> {
    let layout = Layout::decode(&r.bytes("layout_content")?);
    let trace_id = maybe_id(r, "trace_id")?;
    let correlation_id = maybe_id(r, "correlation_id")?.or_else(|| trace_id.clone());
    let session_id = maybe_id(r, "session_id")?;
    let context = Context {
        correlation: correlation_id.as_deref(),
        session: session_id.as_deref(),
    };
    let attributes = layout.attributes(&r.bytes("attributes")?, context);
    let resource = layout.resource();
    let body = packed::value_of(&r.bytes("body")?);
    let time_ns = r.int("time_ns")?;
    let severity_number = narrow(r.int("severity_number")?);
    let severity_text = r.text("severity_text")?;
    Ok(LogRow {
        provenance: provenance_of(r.int("provenance")?),
        time_ns,
        time_replaced: r.flag("time_replaced")?,
        sent_time_unix_nano: unsigned(r.maybe_int("sent_time")?.unwrap_or(time_ns)),
        observed_time_unix_nano: unsigned(r.int("observed_time")?),
        level: level_of(severity_number, &severity_text),
        severity_number,
        severity_text,
        event_name: r.text("event_name")?,
        message: body.display(),
        body,
        trace_id,
        span_id: maybe_id(r, "span_id")?,
        flags: narrow(r.int("flags")?),
        event_id: text_of(&attributes, &resource, "event.id"),
        correlation_id,
        session_id,
        resource: resource.into(),
        attributes,
        dropped_attributes_count: narrow(r.int("dropped_attributes")?),
        folded: r.int("folded")?,
        row_id: r.int("id")?,
        content_hash: [0; 32],
        service: layout.service,
        scope: layout.scope,
        scope_version: layout.scope_version,
    })
}

/// A stored `spans` row, joined with its layout, back as a [`SpanRow`] (its content hash is
/// not read back).
pub fn span_of<R: Columns>(r: &R) -> Result<SpanRow, R::Error> {
    let layout = Layout::decode(&r.bytes("layout_content")?);
    let trace_id = packed::id_text(&r.bytes("trace_id")?);
    let correlation_id = maybe_id(r, "correlation_id")?.unwrap_or_else(|| trace_id.clone());
    let session_id = maybe_id(r, "session_id")?;
    let context = Context {
        correlation: Some(&correlation_id),
        session: session_id.as_deref(),
    };
    let attributes = layout.attributes(&r.bytes("attributes")?, context);
    let from_json = |text: String| serde_json::from_str(&text).unwrap_or_default();
    Ok(SpanRow {
        provenance: provenance_of(r.int("provenance")?),
        start_ns: r.int("start_ns")?,
        end_ns: r.int("end_ns")?,
        time_replaced: r.flag("time_replaced")?,
        name: r.text("name")?,
        kind: narrow(r.int("kind")?),
        trace_id,
        span_id: packed::id_text(&r.bytes("span_id")?),
        parent_span_id: maybe_id(r, "parent_span_id")?,
        status_code: narrow(r.int("status_code")?),
        status_message: r.text("status_message")?,
        flags: narrow(r.int("flags")?),
        trace_state: r.text("trace_state")?,
        events: from_json(r.text("events")?),
        links: from_json(r.text("links")?),
        correlation_id: Some(correlation_id),
        session_id,
        resource: layout.resource().into(),
        attributes,
        folded: r.int("folded")?,
        row_id: r.int("id")?,
        content_hash: [0; 32],
        service: layout.service,
        scope: layout.scope,
        scope_version: layout.scope_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{Clock, Format, Limits, decode_logs, log_rows};

    #[test]
    fn each_row_gets_its_own_layout_when_it_differs_from_the_one_before() {
        let record = |key: &str| {
            format!(
                r#"{{"body":{{"stringValue":"m"}},"attributes":[{{"key":"{key}","value":{{"intValue":"1"}}}}]}}"#
            )
        };
        let resource = |name: &str, records: &[String]| {
            format!(
                r#"{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"{name}"}}}}]}},"scopeLogs":[{{"scope":{{"name":"s"}},"logRecords":[{}]}}]}}"#,
                records.join(",")
            )
        };
        let body = format!(
            r#"{{"resourceLogs":[{},{}]}}"#,
            resource("api", &[record("a"), record("a"), record("b"), record("a")]),
            resource("web", &[record("a")]),
        );
        let request = decode_logs(body.as_bytes(), Format::Json).unwrap();
        let clock = Clock {
            now_ns: 1_700_000_000_000_000_000,
            oldest_ns: 0,
        };
        let rows = log_rows(request, Provenance::Backend, &Limits::default(), &clock)
            .unwrap()
            .rows;
        let stored = stored_logs(&rows);
        let keys: Vec<&[u8]> = stored.iter().map(|s| s.layout.key.as_slice()).collect();
        for (row, s) in rows.iter().zip(&stored) {
            let alone = Layout::new(
                (&row.service, &row.scope, &row.scope_version),
                &row.resource,
                &row.attributes,
            )
            .encode();
            assert_eq!(
                (&s.layout.key, &s.layout.content),
                (&alone.key, &alone.content)
            );
        }
        assert_eq!((keys[0], keys[1], keys[3]), (keys[1], keys[3], keys[0]));
        assert_ne!(keys[2], keys[1], "other attribute keys");
        assert_ne!(keys[4], keys[3], "another resource");
    }
}
