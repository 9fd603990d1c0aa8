//! The compact stored form of what is not a searched column, the same for both engines: typed
//! values in postcard (varints, raw bytes, exact doubles) instead of OTLP JSON; attribute keys,
//! the resource and the scope once per distinct layout (see [`Layout`]) instead of in every row;
//! IDs as raw bytes instead of hex text; a record's attribute that repeats its correlation or
//! session ID as a one-byte reference to that column. Nothing is lost: every row reads back
//! exactly as it was ingested.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::value::{AnyValue, KeyValue};

/// One typed value as stored.
#[derive(Clone, Serialize, Deserialize)]
enum Packed {
    Empty,
    String(String),
    /// A string of lowercase hex digits (even length), as the bytes it spells.
    Hex(Vec<u8>),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
    Array(Vec<Packed>),
    Kvlist(Vec<(String, Packed)>),
    /// The same string as the row's correlation ID.
    Correlation,
    /// The same string as the row's session ID.
    Session,
}

/// The row's own searched IDs, which an attribute value may refer to instead of repeating.
#[derive(Clone, Copy, Default)]
pub struct Context<'a> {
    /// The row's correlation ID.
    pub correlation: Option<&'a str>,
    /// The row's session ID.
    pub session: Option<&'a str>,
}

/// Shortest hex string worth storing as bytes.
const HEX_MIN: usize = 8;

/// The bytes a lowercase even-length hex string spells, or `None` for any other text.
pub(crate) fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if digits.len() % 2 != 0
        || !digits
            .iter()
            .all(|d| matches!(d, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let nibble = |d: u8| if d <= b'9' { d - b'0' } else { d - b'a' + 10 };
    Some(
        digits
            .chunks_exact(2)
            .map(|pair| match pair {
                [high, low] => nibble(*high) << 4 | nibble(*low),
                _ => 0,
            })
            .collect(),
    )
}

fn pack(value: &AnyValue, context: Context<'_>) -> Packed {
    match value {
        AnyValue::Empty => Packed::Empty,
        AnyValue::String(s) if context.correlation == Some(s.as_str()) => Packed::Correlation,
        AnyValue::String(s) if context.session == Some(s.as_str()) => Packed::Session,
        AnyValue::String(s) => match hex_bytes(s).filter(|_| s.len() >= HEX_MIN) {
            Some(bytes) => Packed::Hex(bytes),
            None => Packed::String(s.clone()),
        },
        AnyValue::Bool(b) => Packed::Bool(*b),
        AnyValue::Int(n) => Packed::Int(*n),
        AnyValue::Double(d) => Packed::Double(*d),
        AnyValue::Bytes(b) => Packed::Bytes(b.clone()),
        AnyValue::Array(values) => {
            Packed::Array(values.iter().map(|v| pack(v, Context::default())).collect())
        }
        AnyValue::Kvlist(list) => Packed::Kvlist(
            list.iter()
                .map(|kv| (kv.key.clone(), pack(&kv.value, Context::default())))
                .collect(),
        ),
    }
}

fn unpack(packed: Packed, context: Context<'_>) -> AnyValue {
    let text = |s: Option<&str>| AnyValue::String(s.unwrap_or_default().to_owned());
    match packed {
        Packed::Empty => AnyValue::Empty,
        Packed::String(s) => AnyValue::String(s),
        Packed::Hex(bytes) => AnyValue::String(crate::ingest::hex(&bytes)),
        Packed::Bool(b) => AnyValue::Bool(b),
        Packed::Int(n) => AnyValue::Int(n),
        Packed::Double(d) => AnyValue::Double(d),
        Packed::Bytes(b) => AnyValue::Bytes(b),
        Packed::Array(values) => AnyValue::Array(
            values
                .into_iter()
                .map(|v| unpack(v, Context::default()))
                .collect(),
        ),
        Packed::Kvlist(list) => AnyValue::Kvlist(
            list.into_iter()
                .map(|(key, v)| KeyValue {
                    key,
                    value: unpack(v, Context::default()),
                })
                .collect(),
        ),
        Packed::Correlation => text(context.correlation),
        Packed::Session => text(context.session),
    }
}

/// A value (a log record's body) as stored.
pub fn value(value: &AnyValue) -> Vec<u8> {
    postcard::to_allocvec(&pack(value, Context::default())).unwrap_or_default()
}

/// A stored value back; unreadable bytes read as no value.
pub fn value_of(bytes: &[u8]) -> AnyValue {
    postcard::from_bytes(bytes)
        .map(|p| unpack(p, Context::default()))
        .unwrap_or_default()
}

/// The values of `attributes`, in order, as stored in the row (their keys go in the layout).
pub fn values(attributes: &[KeyValue], context: Context<'_>) -> Vec<u8> {
    let packed: Vec<Packed> = attributes
        .iter()
        .map(|kv| pack(&kv.value, context))
        .collect();
    postcard::to_allocvec(&packed).unwrap_or_default()
}

/// A layout in its stored form, with the key it is found by (the first 16 bytes of the SHA-256
/// of that form).
#[derive(Clone, Debug)]
pub struct EncodedLayout {
    /// The stored form.
    pub content: Vec<u8>,
    /// The key.
    pub key: Vec<u8>,
}

/// What a row shares with many others: its service, scope, resource attributes and the keys of
/// its own attributes. Stored once per distinct layout in `layouts`, keyed by its hash.
#[derive(Clone, Serialize, Deserialize, Default)]
pub struct Layout {
    /// `service.name` of the resource.
    pub service: String,
    /// The instrumentation scope's name.
    pub scope: String,
    /// The instrumentation scope's version.
    pub scope_version: String,
    /// The resource's attributes.
    resource: Vec<(String, Packed)>,
    /// The keys of the row's own attributes, in order.
    keys: Vec<String>,
}

impl Layout {
    /// The layout of a row with these parts.
    pub fn new(
        (service, scope, scope_version): (&str, &str, &str),
        resource: &[KeyValue],
        attributes: &[KeyValue],
    ) -> Layout {
        Layout {
            service: service.to_owned(),
            scope: scope.to_owned(),
            scope_version: scope_version.to_owned(),
            resource: resource
                .iter()
                .map(|kv| (kv.key.clone(), pack(&kv.value, Context::default())))
                .collect(),
            keys: attributes.iter().map(|kv| kv.key.clone()).collect(),
        }
    }

    /// Its stored form and the key it is found by.
    pub fn encode(&self) -> EncodedLayout {
        let content = postcard::to_allocvec(self).unwrap_or_default();
        let key = Sha256::digest(&content)
            .get(..16)
            .unwrap_or_default()
            .to_vec();
        EncodedLayout { content, key }
    }

    /// A stored layout back; unreadable bytes read as an empty layout.
    pub fn decode(bytes: &[u8]) -> Layout {
        postcard::from_bytes(bytes).unwrap_or_default()
    }

    /// The resource's attributes.
    pub fn resource(&self) -> Vec<KeyValue> {
        self.resource
            .iter()
            .map(|(key, v)| KeyValue {
                key: key.clone(),
                value: unpack(v.clone(), Context::default()),
            })
            .collect()
    }

    /// A row's attributes back from its stored values and this layout's keys.
    pub fn attributes(&self, values: &[u8], context: Context<'_>) -> Vec<KeyValue> {
        let values: Vec<Packed> = postcard::from_bytes(values).unwrap_or_default();
        self.keys
            .iter()
            .zip(values)
            .map(|(key, v)| KeyValue {
                key: key.clone(),
                value: unpack(v, context),
            })
            .collect()
    }
}

/// An ID (correlation, trace, span, session) as stored and searched: lowercase hex as a 0 byte
/// and the bytes it spells (17 bytes for a trace ID instead of 32), any other text as a 1 byte
/// and its UTF-8, so that equal IDs and only equal IDs have equal keys.
pub fn id(text: &str) -> Vec<u8> {
    match hex_bytes(text).filter(|b| !b.is_empty()) {
        Some(bytes) => [&[0u8][..], &bytes].concat(),
        None => [&[1u8][..], text.as_bytes()].concat(),
    }
}

/// A stored ID back as text.
pub fn id_text(key: &[u8]) -> String {
    match key.split_first() {
        Some((0, bytes)) => crate::ingest::hex(bytes),
        Some((_, text)) => String::from_utf8_lossy(text).into_owned(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn every_type_and_reference_round_trips() {
        let text = r#"[{"key":"s","value":{"stringValue":"plain"}},{"key":"c","value":{"stringValue":"0af7651916cd43dd8448eb211c80319c"}},{"key":"sid","value":{"stringValue":"S-1"}},{"key":"h","value":{"stringValue":"00ff00ff"}},{"key":"H","value":{"stringValue":"00FF00FF"}},{"key":"odd","value":{"stringValue":"abc"}},{"key":"b","value":{"boolValue":false}},{"key":"i","value":{"intValue":"-9007199254740993"}},{"key":"n","value":{"doubleValue":"NaN"}},{"key":"inf","value":{"doubleValue":"-Infinity"}},{"key":"d","value":{"doubleValue":0.1}},{"key":"y","value":{"bytesValue":"AAEC/w=="}},{"key":"a","value":{"arrayValue":{"values":[{"stringValue":"0af7651916cd43dd8448eb211c80319c"},{}]}}},{"key":"k","value":{"kvlistValue":{"values":[{"key":"x","value":{"intValue":"1"}}]}}},{"key":"e","value":{}}]"#;
        let attributes: Vec<KeyValue> = serde_json::from_str(text).unwrap();
        let context = Context {
            correlation: Some("0af7651916cd43dd8448eb211c80319c"),
            session: Some("S-1"),
        };
        let layout = Layout::new(("shop", "app", "1"), &attributes, &attributes);
        let layout = Layout::decode(&layout.encode().content);
        let back = layout.attributes(&values(&attributes, context), context);
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
        assert_eq!(
            serde_json::to_string(&layout.resource()).unwrap(),
            text,
            "the resource keeps no references to one row's IDs"
        );
        let body = AnyValue::Kvlist(attributes.clone());
        assert_eq!(
            serde_json::to_string(&value_of(&value(&body))).unwrap(),
            serde_json::to_string(&body).unwrap()
        );
    }

    #[test]
    fn ids_keep_their_spelling_and_equal_only_themselves() {
        for text in [
            "0af7651916cd43dd8448eb211c80319c",
            "ABCD",
            "abc",
            "",
            "x-1",
            "00",
        ] {
            assert_eq!(id_text(&id(text)), text);
        }
        assert_eq!(id("0af7651916cd43dd8448eb211c80319c").len(), 17);
        assert_ne!(id("ab"), id("AB"));
        assert_ne!(id("\u{1}"), id("01"));
    }
}
