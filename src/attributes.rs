//! Turns the attributes the page handed over into safe, typed event attributes: secret-looking
//! keys lose their values, long strings are cut with a visible mark, and the count is capped.
//!
//! The page's objects are walked by the web shell's JavaScript (cycles, getters that throw,
//! `BigInt`, DOM nodes and `Error`s are its business); it hands over one flat string of entries,
//! each `<kind><dotted key>\0<value>\0`, where kind is `s` (string), `i` (integer), `d` (other
//! finite number, as JavaScript wrote it) or `b` (`true`/`false`). Nested objects arrive as
//! dotted keys (`user.address.city`), arrays as indices (`items.0`).

use alloc::string::String;
use alloc::vec::Vec;

use crate::event::{AttrValue, JsonNumber};
use crate::redact::{REDACTED, Redactor, truncate};

/// Longest attribute value kept, in UTF-8 bytes; longer ones are cut and marked.
pub const MAX_VALUE_BYTES: usize = 4_096;
/// Longest attribute key kept, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// Most attributes kept per event; the rest are dropped and counted in
/// [`DROPPED_ATTRIBUTES_KEY`].
pub const MAX_ATTRIBUTES: usize = 64;
/// Names how many attributes an event lost to [`MAX_ATTRIBUTES`].
pub const DROPPED_ATTRIBUTES_KEY: &str = "threadline.attributes_dropped";

/// Reads the walker's entries into attributes, applying `redactor` and the limits above.
/// Malformed entries are skipped, never trusted.
pub fn parse(entries: &str, redactor: &Redactor) -> Vec<(String, AttrValue)> {
    let mut out = Vec::new();
    let mut dropped: i64 = 0;
    let mut rest = entries;
    while let Some((entry, after_value)) = next_entry(rest) {
        rest = after_value;
        let (kind, key, value) = entry;
        if key.is_empty() {
            continue;
        }
        if out.len() >= MAX_ATTRIBUTES {
            dropped += 1;
            continue;
        }
        let (key, _) = truncate(key, MAX_KEY_BYTES);
        let value = if redactor.is_secret(&key) {
            AttrValue::Str(REDACTED.into())
        } else {
            match typed(kind, value) {
                Some(value) => value,
                None => continue,
            }
        };
        out.push((key, value));
    }
    if dropped > 0 {
        out.push((DROPPED_ATTRIBUTES_KEY.into(), AttrValue::Int(dropped)));
    }
    out
}

/// An attribute from a plain string, cut to [`MAX_VALUE_BYTES`].
pub fn text(value: &str) -> AttrValue {
    AttrValue::Str(truncate(value, MAX_VALUE_BYTES).0)
}

/// The value of an entry of kind `kind`; `None` for an unknown kind or a malformed number.
fn typed(kind: u8, value: &str) -> Option<AttrValue> {
    match kind {
        b's' => Some(text(value)),
        b'i' => parse_int(value)
            .map(AttrValue::Int)
            .or_else(|| Some(text(value))),
        b'd' => JsonNumber::parse(value).map(AttrValue::Double),
        b'b' => match value {
            "true" => Some(AttrValue::Bool(true)),
            "false" => Some(AttrValue::Bool(false)),
            _ => None,
        },
        _ => None,
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

    fn entries(list: &[(&str, &str)]) -> String {
        list.iter().map(|(k, v)| format!("{k}\0{v}\0")).collect()
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
                ("name".into(), AttrValue::Str("Ada".into())),
                ("age".into(), AttrValue::Int(42)),
                ("negative".into(), AttrValue::Int(-7)),
                (
                    "big".into(),
                    AttrValue::Str("123456789012345678901234567890".into())
                ),
                (
                    "ratio".into(),
                    AttrValue::Double(JsonNumber::parse("0.25").unwrap())
                ),
                (
                    "tiny".into(),
                    AttrValue::Double(JsonNumber::parse("1e-7").unwrap())
                ),
                ("ok".into(), AttrValue::Bool(true)),
                ("no".into(), AttrValue::Bool(false)),
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
        let redacted = AttrValue::Str(REDACTED.into());
        assert_eq!(got[0], ("user.password".into(), redacted.clone()));
        assert_eq!(got[1], ("auth.token".into(), redacted.clone()));
        assert_eq!(got[2], ("headers.Authorization".into(), redacted));
        assert_eq!(got[3].1, AttrValue::Str("a@b.test".into()));
    }

    #[test]
    fn the_redaction_list_is_configurable() {
        let got = parse(
            &entries(&[("sssn", "123-45-6789"), ("spassword", "visible now")]),
            &Redactor::new(["ssn"]),
        );
        assert_eq!(got[0].1, AttrValue::Str(REDACTED.into()));
        assert_eq!(got[1].1, AttrValue::Str("visible now".into()));
    }

    #[test]
    fn long_values_and_keys_are_cut_and_marked() {
        let huge = "x".repeat(1 << 20);
        let long_key = format!("s{}", "k".repeat(1_000));
        let got = parse(
            &entries(&[("sblob", &huge), (&long_key, "v")]),
            &Redactor::default(),
        );
        let AttrValue::Str(blob) = &got[0].1 else {
            panic!("string expected")
        };
        assert!(blob.len() <= MAX_VALUE_BYTES + crate::redact::TRUNCATED_MARK.len());
        assert!(blob.ends_with(crate::redact::TRUNCATED_MARK));
        assert!(got[1].0.len() <= MAX_KEY_BYTES + crate::redact::TRUNCATED_MARK.len());
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
            &(DROPPED_ATTRIBUTES_KEY.into(), AttrValue::Int(36))
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
            "dnum\0NaN\0",
            "bflag\0yes\0",
            "s\0empty key\0",
        ] {
            assert!(parse(input, &redactor).is_empty(), "{input:?}");
        }
        assert_eq!(
            parse("ix\0-\0", &redactor),
            vec![("x".into(), AttrValue::Str("-".into()))]
        );
    }
}
