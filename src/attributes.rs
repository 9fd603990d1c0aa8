//! Turns the attributes the page handed over into safe, typed event attributes: secret-looking
//! keys lose their values, long strings are cut with a visible mark, and the count is capped.
//!
//! The page's objects are walked by the web shell's JavaScript (cycles, getters that throw,
//! `BigInt`, DOM nodes and `Error`s are its business); it hands over one flat string of entries,
//! each `<kind><dotted key>\0<value>\0`, where kind is `s` (string), `i` (integer), `d` (other
//! finite number, as JavaScript wrote it) or `b` (`true`/`false`). Nested objects arrive as
//! dotted keys (`user.address.city`), arrays as indices (`items.0`). A last entry of kind `n`
//! with an empty key counts the entries the walker left out past [`MAX_ATTRIBUTES`] (see
//! `recorder::limits`), so [`DROPPED_ATTRIBUTES_KEY`] counts them too.

use crate::event::JsonNumber;
use crate::otlp::RecordWriter;
use crate::redact::{REDACTED, Redactor, cut};

/// Longest attribute key kept, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// Most attributes kept per event; the rest are dropped and counted in
/// [`DROPPED_ATTRIBUTES_KEY`].
pub const MAX_ATTRIBUTES: usize = 64;
/// Names how many attributes an event lost to [`MAX_ATTRIBUTES`].
pub const DROPPED_ATTRIBUTES_KEY: &str = "threadline.attributes_dropped";

/// Writes the walker's entries as attributes, applying `redactor` and the limits above (string
/// values are cut by the writer). Malformed entries are skipped, never trusted.
pub fn write(entries: &str, redactor: &Redactor, out: &mut RecordWriter) {
    let mut kept = 0;
    let mut dropped: i64 = 0;
    let mut rest = entries;
    while let Some(((kind, key, value), after)) = next_entry(rest) {
        rest = after;
        if kind == b'n' {
            dropped = dropped.saturating_add(parse_int(value).unwrap_or(0).max(0));
            continue;
        }
        let key = cut(key, MAX_KEY_BYTES).0;
        if key.is_empty() || !matches!(kind, b's' | b'i' | b'd' | b'b') {
            continue;
        }
        if kept >= MAX_ATTRIBUTES {
            dropped += 1;
            continue;
        }
        kept += 1;
        if redactor.is_secret(key) {
            out.str(key, REDACTED);
            continue;
        }
        match kind {
            b'i' => match parse_int(value) {
                Some(n) => out.int(key, n),
                None => out.str(key, value),
            },
            b'd' => match JsonNumber::parse(value) {
                Some(n) => out.double(key, n.as_str()),
                None => out.str(key, value),
            },
            b'b' => out.bool(key, value == "true"),
            _ => out.str(key, value),
        }
    }
    if dropped > 0 {
        out.int(DROPPED_ATTRIBUTES_KEY, dropped);
    }
}

/// A decimal integer that fits in `i64` (a `BigInt` may not: it then stays a string).
fn parse_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..)?),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut n: i64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(if negative { -n } else { n })
}

type Entry<'a> = (u8, &'a str, &'a str);

/// The first entry of `text` and what follows it.
fn next_entry(text: &str) -> Option<(Entry<'_>, &str)> {
    let (head, rest) = split_nul(text)?;
    let (value, rest) = split_nul(rest)?;
    let kind = *head.as_bytes().first()?;
    Some(((kind, head.get(1..)?, value), rest))
}

/// `text` up to its first NUL, and what follows the NUL.
fn split_nul(text: &str) -> Option<(&str, &str)> {
    let at = text.bytes().position(|b| b == 0)?;
    Some((text.get(..at)?, text.get(at + 1..)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Severity, Stamp};
    use crate::id::Id;
    use crate::otlp::MAX_VALUE_BYTES;
    use crate::otlp::testing::{attributes, decode_record, s};
    use crate::redact::TRUNCATED_MARK;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;

    fn entries(list: &[(&str, &str)]) -> String {
        list.iter().map(|(k, v)| format!("{k}\0{v}\0")).collect()
    }

    #[test]
    fn entries_the_walker_left_out_are_counted_with_those_dropped_here() {
        let mut list: Vec<(String, String)> =
            (0..70).map(|i| (format!("sk{i}"), "v".into())).collect();
        list.push(("n".into(), "130".into()));
        let text: String = list.iter().map(|(k, v)| format!("{k}\0{v}\0")).collect();
        let got = parse(&text, &Redactor::default());
        assert_eq!(got.len(), MAX_ATTRIBUTES + 1);
        assert_eq!(
            got.last(),
            Some(&(DROPPED_ATTRIBUTES_KEY.to_owned(), Value::IntValue(136)))
        );
    }

    /// The attributes written for `input`, after the writer's standard ones.
    fn parse(input: &str, redactor: &Redactor) -> Vec<(String, Value)> {
        let stamp = Stamp {
            id: Id::from_bytes([1; 16]).unwrap(),
            time: 1,
            correlation_id: Id::from_bytes([2; 16]).unwrap(),
            session_id: None,
            page_path: String::new(),
            user_id: None,
        };
        let mut w = RecordWriter::new(&stamp, "log", Severity::Info, "m");
        write(input, redactor, &mut w);
        attributes(&decode_record(&w.finish()))
            .into_iter()
            .skip(3)
            .collect()
    }

    #[test]
    fn kinds_become_typed_values() {
        let got = parse(
            &entries(&[
                ("sname", "Ada"),
                ("iage", "42"),
                ("inegative", "-7"),
                ("ibig", "123456789012345678901234567890"),
                ("dratio", "0.25"),
                ("dtiny", "1e-7"),
                ("bok", "true"),
                ("bno", "false"),
            ]),
            &Redactor::default(),
        );
        assert_eq!(
            got,
            vec![
                ("name".into(), s("Ada")),
                ("age".into(), Value::IntValue(42)),
                ("negative".into(), Value::IntValue(-7)),
                ("big".into(), s("123456789012345678901234567890")),
                ("ratio".into(), Value::DoubleValue(0.25)),
                ("tiny".into(), Value::DoubleValue(1e-7)),
                ("ok".into(), Value::BoolValue(true)),
                ("no".into(), Value::BoolValue(false)),
            ]
        );
    }

    #[test]
    fn secrets_are_redacted_at_any_depth_and_in_any_type() {
        let got = parse(
            &entries(&[
                ("suser.password", "hunter2"),
                ("iauth.token", "12345"),
                ("sheaders.Authorization", "Bearer x"),
                ("suser.email", "a@b.test"),
            ]),
            &Redactor::default(),
        );
        assert_eq!(
            got,
            vec![
                ("user.password".into(), s(REDACTED)),
                ("auth.token".into(), s(REDACTED)),
                ("headers.Authorization".into(), s(REDACTED)),
                ("user.email".into(), s("a@b.test")),
            ]
        );
    }

    #[test]
    fn the_redaction_list_is_configurable() {
        let got = parse(
            &entries(&[("sssn", "123-45-6789"), ("spassword", "visible now")]),
            &Redactor::new(["ssn"]),
        );
        assert_eq!(got[0].1, s(REDACTED));
        assert_eq!(got[1].1, s("visible now"));
    }

    #[test]
    fn long_values_and_keys_are_cut_and_marked() {
        let huge = "x".repeat(1 << 20);
        let long_key = format!("s{}", "k".repeat(1_000));
        let got = parse(
            &entries(&[("sblob", &huge), (&long_key, "v")]),
            &Redactor::default(),
        );
        let Value::StringValue(blob) = &got[0].1 else {
            panic!("string expected")
        };
        assert_eq!(blob.len(), MAX_VALUE_BYTES + TRUNCATED_MARK.len());
        assert!(blob.ends_with(TRUNCATED_MARK));
        assert_eq!(got[1].0.len(), MAX_KEY_BYTES);
    }

    #[test]
    fn too_many_attributes_are_counted() {
        let many: Vec<(String, String)> = (0..100)
            .map(|i| (format!("sk{i}"), i.to_string()))
            .collect();
        let list: Vec<(&str, &str)> = many.iter().map(|(k, v)| (&k[..], &v[..])).collect();
        let got = parse(&entries(&list), &Redactor::default());
        assert_eq!(got.len(), MAX_ATTRIBUTES + 1);
        assert_eq!(
            got.last().unwrap(),
            &(DROPPED_ATTRIBUTES_KEY.into(), Value::IntValue(36))
        );
    }

    #[test]
    fn malformed_input_is_skipped_without_panicking() {
        let redactor = Redactor::default();
        for input in [
            "",
            "\0",
            "\0\0",
            "s",
            "skey\0",
            "xkey\0v\0",
            "s\0empty key\0",
        ] {
            assert!(parse(input, &redactor).is_empty(), "{input:?}");
        }
        assert_eq!(
            parse("ix\0-\0dy\0NaN\0bz\0yes\0", &redactor),
            vec![
                ("x".into(), s("-")),
                ("y".into(), s("NaN")),
                ("z".into(), Value::BoolValue(false)),
            ]
        );
    }
}
