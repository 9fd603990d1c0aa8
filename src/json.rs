//! Writes JSON strings without `core::fmt`: the recorder builds its upload bodies by hand, so
//! the wasm file carries neither serde nor the formatting machinery.

use alloc::string::String;

/// Appends `text` as a JSON string literal, quotes included, escaped per RFC 8259.
pub fn push_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                push_unicode_escape(out, u32::from(c))
            }
            c => out.push(c),
        }
    }
    out.push('"');
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
}
