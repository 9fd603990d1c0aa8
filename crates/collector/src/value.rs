//! An OTLP `AnyValue` kept exactly as sent: its type (bytes stay bytes, a kvlist body stays a
//! kvlist), int64 without rounding and NaN or ±Infinity doubles. It reads and writes the OTLP
//! JSON form (`{"intValue":"9007199254740993"}`, `{"doubleValue":"NaN"}`, bytes in base64), the
//! form the search answer gives back, and comes from protobuf values unchanged.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use opentelemetry_proto::tonic::common::v1 as proto;
use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One typed value.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum AnyValue {
    /// No value (`{}`).
    #[default]
    Empty,
    /// `stringValue`.
    String(String),
    /// `boolValue`.
    Bool(bool),
    /// `intValue`, an int64.
    Int(i64),
    /// `doubleValue`, NaN and infinities included.
    Double(f64),
    /// `bytesValue`.
    Bytes(Vec<u8>),
    /// `arrayValue`.
    Array(Vec<AnyValue>),
    /// `kvlistValue`.
    Kvlist(Vec<KeyValue>),
}

/// One attribute: a key and its typed value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyValue {
    /// The key.
    #[serde(default, deserialize_with = "or_default")]
    pub key: String,
    /// The value.
    #[serde(default, deserialize_with = "or_default")]
    pub value: AnyValue,
}

/// A field that may be absent or `null`: its default then.
pub fn or_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    deserializer: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl AnyValue {
    /// How deeply arrays and kvlists nest in it (a plain value is 1).
    pub fn depth(&self) -> usize {
        match self {
            AnyValue::Array(values) => 1 + values.iter().map(AnyValue::depth).max().unwrap_or(0),
            AnyValue::Kvlist(list) => 1 + list.iter().map(|kv| kv.value.depth()).max().unwrap_or(0),
            _ => 1,
        }
    }

    /// The text a timeline shows: a string as itself, anything else as compact plain JSON.
    pub fn display(&self) -> String {
        match self {
            AnyValue::String(s) => s.clone(),
            AnyValue::Empty => String::new(),
            other => other.plain().to_string(),
        }
    }

    /// A plain JSON value (numbers as JSON numbers, bytes as base64, non-finite doubles as text),
    /// for reading, not for round trips.
    pub fn plain(&self) -> serde_json::Value {
        use serde_json::{Value, json};
        match self {
            AnyValue::Empty => Value::Null,
            AnyValue::String(s) => json!(s),
            AnyValue::Bool(b) => json!(b),
            AnyValue::Int(n) => json!(n),
            AnyValue::Double(d) if d.is_finite() => json!(d),
            AnyValue::Double(d) => json!(double_text(*d)),
            AnyValue::Bytes(b) => json!(BASE64.encode(b)),
            AnyValue::Array(values) => Value::Array(values.iter().map(AnyValue::plain).collect()),
            AnyValue::Kvlist(list) => Value::Object(
                list.iter()
                    .map(|kv| (kv.key.clone(), kv.value.plain()))
                    .collect(),
            ),
        }
    }

    /// The string inside, if it is a non-empty string.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            AnyValue::String(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    }
}

/// The proto3 JSON spelling of a non-finite double.
fn double_text(d: f64) -> &'static str {
    if d.is_nan() {
        "NaN"
    } else if d > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

impl Serialize for AnyValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self {
            AnyValue::Empty => {}
            AnyValue::String(s) => map.serialize_entry("stringValue", s)?,
            AnyValue::Bool(b) => map.serialize_entry("boolValue", b)?,
            AnyValue::Int(n) => map.serialize_entry("intValue", &n.to_string())?,
            AnyValue::Double(d) if d.is_finite() => map.serialize_entry("doubleValue", d)?,
            AnyValue::Double(d) => map.serialize_entry("doubleValue", double_text(*d))?,
            AnyValue::Bytes(b) => map.serialize_entry("bytesValue", &BASE64.encode(b))?,
            AnyValue::Array(values) => {
                map.serialize_entry("arrayValue", &Values { values })?;
            }
            AnyValue::Kvlist(list) => {
                map.serialize_entry("kvlistValue", &Values { values: list })?;
            }
        }
        map.end()
    }
}

/// `{"values": [...]}`, the body of `arrayValue` and `kvlistValue`.
#[derive(Serialize)]
struct Values<'a, T> {
    values: &'a [T],
}

/// A number that proto3 JSON may spell as a JSON number or as a string (int64 and uint64 as
/// decimal text, doubles as `"NaN"` and the like), read through [`Spelt`] without buffering
/// the value first.
pub(crate) trait Spelled: Sized {
    /// What the error says was expected.
    const EXPECTED: &'static str;
    /// From a JSON number.
    fn from_number(n: serde_json::Number) -> Option<Self>;
    /// From its text.
    fn from_text(text: &str) -> Option<Self>;
}

/// An `intValue`: an int64, as a string or a number.
impl Spelled for i64 {
    const EXPECTED: &'static str = "intValue: an int64";
    fn from_number(n: serde_json::Number) -> Option<Self> {
        n.as_i64()
    }
    fn from_text(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }
}

/// A `doubleValue`: a number, or a string such as `"NaN"`, `"Infinity"`, `"-Infinity"`.
impl Spelled for f64 {
    const EXPECTED: &'static str = "doubleValue: a number";
    fn from_number(n: serde_json::Number) -> Option<Self> {
        n.as_f64()
    }
    fn from_text(text: &str) -> Option<Self> {
        match text {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            other => other.trim().parse().ok(),
        }
    }
}

/// A time: a uint64 as decimal text (empty for 0) or a number.
impl Spelled for u64 {
    const EXPECTED: &'static str = "expected a decimal uint64";
    fn from_number(n: serde_json::Number) -> Option<Self> {
        n.as_u64()
    }
    fn from_text(text: &str) -> Option<Self> {
        if text.is_empty() {
            return Some(0);
        }
        text.trim().parse().ok()
    }
}

/// A [`Spelled`] number as read.
pub(crate) struct Spelt<T>(pub T);

impl<'de, T: Spelled> Deserialize<'de> for Spelt<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(SpelledVisitor(std::marker::PhantomData))
            .map(Spelt)
    }
}

struct SpelledVisitor<T>(std::marker::PhantomData<T>);

impl<T: Spelled> SpelledVisitor<T> {
    fn number<E: serde::de::Error>(n: serde_json::Number) -> Result<T, E> {
        T::from_number(n.clone()).ok_or_else(|| E::custom(format!("{}, got {n}", T::EXPECTED)))
    }
}

impl<T: Spelled> serde::de::Visitor<'_> for SpelledVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(T::EXPECTED)
    }
    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<T, E> {
        Self::number(n.into())
    }
    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<T, E> {
        Self::number(n.into())
    }
    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<T, E> {
        match serde_json::Number::from_f64(n) {
            Some(number) => Self::number(number),
            None => Err(E::custom(format!("{}, got {n}", T::EXPECTED))),
        }
    }
    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
        T::from_text(text).ok_or_else(|| E::custom(format!("{}, got {text:?}", T::EXPECTED)))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ValuesWire {
    #[serde(deserialize_with = "or_default")]
    values: Vec<AnyValue>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct KeyValuesWire {
    #[serde(deserialize_with = "or_default")]
    values: Vec<KeyValue>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct AnyValueWire {
    string_value: Option<String>,
    bool_value: Option<bool>,
    int_value: Option<Spelt<i64>>,
    double_value: Option<Spelt<f64>>,
    bytes_value: Option<String>,
    array_value: Option<ValuesWire>,
    kvlist_value: Option<KeyValuesWire>,
}

impl<'de> Deserialize<'de> for AnyValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = AnyValueWire::deserialize(deserializer)?;
        Ok(if let Some(s) = wire.string_value {
            AnyValue::String(s)
        } else if let Some(b) = wire.bool_value {
            AnyValue::Bool(b)
        } else if let Some(Spelt(n)) = wire.int_value {
            AnyValue::Int(n)
        } else if let Some(Spelt(d)) = wire.double_value {
            AnyValue::Double(d)
        } else if let Some(b) = wire.bytes_value {
            AnyValue::Bytes(
                BASE64
                    .decode(b.trim())
                    .map_err(|e| D::Error::custom(format!("bytesValue: not base64: {e}")))?,
            )
        } else if let Some(a) = wire.array_value {
            AnyValue::Array(a.values)
        } else if let Some(kv) = wire.kvlist_value {
            AnyValue::Kvlist(kv.values)
        } else {
            AnyValue::Empty
        })
    }
}

impl From<&proto::AnyValue> for AnyValue {
    fn from(value: &proto::AnyValue) -> Self {
        use proto::any_value::Value;
        match &value.value {
            Some(Value::StringValue(s)) => AnyValue::String(s.clone()),
            Some(Value::BoolValue(b)) => AnyValue::Bool(*b),
            Some(Value::IntValue(n)) => AnyValue::Int(*n),
            Some(Value::DoubleValue(d)) => AnyValue::Double(*d),
            Some(Value::BytesValue(b)) => AnyValue::Bytes(b.clone()),
            Some(Value::ArrayValue(a)) => {
                AnyValue::Array(a.values.iter().map(AnyValue::from).collect())
            }
            Some(Value::KvlistValue(kv)) => AnyValue::Kvlist(attributes_from(&kv.values)),
            // A reference into a string table that logs and traces requests do not carry.
            Some(Value::StringValueStrindex(_)) | None => AnyValue::Empty,
        }
    }
}

/// Protobuf attributes as [`KeyValue`]s.
pub fn attributes_from(list: &[proto::KeyValue]) -> Vec<KeyValue> {
    list.iter()
        .map(|kv| KeyValue {
            key: kv.key.clone(),
            value: kv.value.as_ref().map(AnyValue::from).unwrap_or_default(),
        })
        .collect()
}

/// The value of `key` among `attributes`, if any.
pub fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| &kv.value)
}

/// Writes attributes as one JSON object, key → typed value (how the search answer shows them).
pub fn as_map<S: Serializer>(list: &[KeyValue], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_map(list.iter().map(|kv| (&kv.key, &kv.value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_otlp_json() {
        let text = r#"[{"stringValue":"s"},{"boolValue":true},{"intValue":"9007199254740993"},{"doubleValue":1.5},{"doubleValue":"NaN"},{"doubleValue":"Infinity"},{"doubleValue":"-Infinity"},{"bytesValue":"AAEC/w=="},{"arrayValue":{"values":[{"intValue":"1"},{}]}},{"kvlistValue":{"values":[{"key":"k","value":{"stringValue":"v"}}]}},{}]"#;
        let values: Vec<AnyValue> = serde_json::from_str(text).unwrap();
        assert_eq!(values[2], AnyValue::Int(9_007_199_254_740_993));
        assert!(matches!(values[4], AnyValue::Double(d) if d.is_nan()));
        assert_eq!(values[7], AnyValue::Bytes(vec![0, 1, 2, 255]));
        assert_eq!(serde_json::to_string(&values).unwrap(), text);
        assert_eq!(values[8].depth(), 2);
    }

    #[test]
    fn numbers_for_ints_are_read_and_bad_values_refused() {
        let v: AnyValue = serde_json::from_str(r#"{"intValue":5}"#).unwrap();
        assert_eq!(v, AnyValue::Int(5));
        for bad in [
            r#"{"intValue":"5.5"}"#,
            r#"{"doubleValue":"much"}"#,
            r#"{"bytesValue":"!!"}"#,
        ] {
            assert!(serde_json::from_str::<AnyValue>(bad).is_err(), "{bad}");
        }
    }
}
