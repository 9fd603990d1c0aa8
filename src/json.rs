//! Writes JSON strings without `core::fmt`: the recorder builds its upload bodies by hand, so
//! the wasm file carries neither serde nor the formatting machinery.

use alloc::string::String;

/// Appends `text` as a JSON string literal, quotes included, escaped per RFC 8259 (and U+2028,
/// U+2029, which older JavaScript parsers refuse raw). Runs that need no escape are copied
/// whole: most keys and values have none.
pub fn push_string(out: &mut String, text: &str) {
    out.reserve(text.len() + 2);
    out.push('"');
    push_escaped(out, text);
    out.push('"');
}

/// Appends `text` escaped as the inside of a JSON string literal (see [`push_string`]).
pub fn push_escaped(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut copied = 0;
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        let len = match b {
            b'"' | b'\\' | 0..=0x1f => 1,
            // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8.
            0xe2 if matches!(bytes.get(at + 1..at + 3), Some([0x80, 0xa8 | 0xa9])) => 3,
            _ => {
                at += 1;
                continue;
            }
        };
        // `at` is at an ASCII byte or a lead byte, so both ends are character boundaries.
        out.push_str(text.get(copied..at).unwrap_or(""));
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0xe2 if bytes.get(at + 2) == Some(&0xa9) => push_unicode_escape(out, 0x2029),
            0xe2 => push_unicode_escape(out, 0x2028),
            _ => push_unicode_escape(out, u32::from(b)),
        }
        at += len;
        copied = at;
    }
    out.push_str(text.get(copied..).unwrap_or(""));
}

/// `\uXXXX` for a code point below U+10000.
fn push_unicode_escape(out: &mut String, code: u32) {
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        let nibble = (code >> shift) & 0xf;
        out.push(char::from_digit(nibble, 16).unwrap_or('0'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(text: &str) -> String {
        let mut out = String::new();
        push_string(&mut out, text);
        out
    }

    #[test]
    fn escapes_what_json_requires() {
        assert_eq!(quoted("plain"), "\"plain\"");
        assert_eq!(quoted("say \"hi\"\\"), r#""say \"hi\"\\""#);
        assert_eq!(quoted("a\nb\tc\r"), r#""a\nb\tc\r""#);
        assert_eq!(quoted("\u{0}\u{1f}"), r#""\u0000\u001f""#);
        assert_eq!(quoted("é ✓ 😀"), "\"é ✓ 😀\"");
        // Line and paragraph separators, which old JavaScript parsers took for line breaks;
        // their neighbours in the same block pass through.
        assert_eq!(
            quoted("a\u{2028}b\u{2029}\u{2027}\u{202a}"),
            "\"a\\u2028b\\u2029\u{2027}\u{202a}\""
        );
    }

    #[test]
    fn every_string_round_trips_through_a_json_parser() {
        let nasty: String = (0u32..0x300)
            .filter_map(char::from_u32)
            .chain(['\u{2028}', '\u{2029}', '😀'])
            .collect();
        let parsed: String = serde_json::from_str(&quoted(&nasty)).unwrap();
        assert_eq!(parsed, nasty);
    }

    /// The escaping written one character at a time, as the rules read.
    #[cfg(not(target_arch = "wasm32"))]
    fn reference(text: &str) -> String {
        let mut out = String::from("\"");
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if u32::from(c) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                    out.push_str(&format!("\\u{:04x}", u32::from(c)));
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    /// Any characters, often the ones that need escaping or sit beside them in UTF-8.
    #[cfg(not(target_arch = "wasm32"))]
    fn text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let special = prop::sample::select(vec![
            '"', '\\', '\n', '\r', '\t', '\u{0}', '\u{1f}', '\u{7f}', '\u{2027}', '\u{2028}',
            '\u{2029}', '\u{202a}', '\u{20ac}', 'é', '😀',
        ]);
        prop::collection::vec(prop_oneof![any::<char>(), special], 0..40)
            .prop_map(|chars| chars.into_iter().collect())
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn any_string_is_escaped_as_the_rules_read(text in text()) {
            let got = quoted(&text);
            proptest::prop_assert_eq!(&got, &reference(&text));
            let parsed: String = serde_json::from_str(&got).unwrap();
            proptest::prop_assert_eq!(parsed, text);
        }
    }
}
