//! Building short strings without `core::fmt`, whose machinery costs kilobytes in the wasm file.

use alloc::string::String;

/// Joins `parts` into one new string.
pub fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// Appends `n` in decimal.
pub fn push_decimal(out: &mut String, n: u64) {
    // u64::MAX has 20 digits; they are written from the right.
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = n;
    loop {
        start -= 1;
        if let Some(slot) = digits.get_mut(start) {
            // rest % 10 < 10, so the digit fits in a u8.
            #[allow(clippy::cast_possible_truncation)]
            let digit = (rest % 10) as u8;
            *slot = b'0' + digit;
        }
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    push_ascii(out, digits.get(start..).unwrap_or_default());
}

/// Appends `bytes`, which the caller wrote from ASCII characters (digits, hex).
pub fn push_ascii(out: &mut String, bytes: &[u8]) {
    // The event pipeline writes several IDs and numbers per event: copied in one piece, after
    // UTF-8 validation, which costs 0.3 KB of wasm. Without it few are written, one by one.
    #[cfg(feature = "events")]
    out.push_str(core::str::from_utf8(bytes).unwrap_or_default());
    #[cfg(not(feature = "events"))]
    for b in bytes {
        out.push(char::from(*b));
    }
}

/// `n` in decimal.
pub fn decimal(n: u64) -> String {
    let mut out = String::new();
    push_decimal(&mut out, n);
    out
}

/// A non-empty run of decimal digits that fits in a `u64`, as a number.
pub fn parse_decimal(digits: &str) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.bytes().try_fold(0u64, |n, b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// The pieces of `text` between `separator` bytes, in order (a byte search: `str::split` would
/// bring formatting code into the wasm).
pub fn split_byte(text: &str, separator: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    core::iter::from_fn(move || {
        let text = rest?;
        match text.bytes().position(|b| b == separator) {
            Some(at) => {
                rest = text.get(at + 1..);
                text.get(..at)
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_byte_matches_str_split() {
        for text in ["", ",", "a", "a,b", ",a,,b,", "é,ü"] {
            let ours: Vec<&str> = split_byte(text, b',').collect();
            let std: Vec<&str> = text.split(',').collect();
            assert_eq!(ours, std, "{text:?}");
        }
    }

    #[test]
    fn decimals_match_the_standard_formatting() {
        for n in [0, 1, 9, 10, 99, 100, 65_535, 1_700_000_000_000, u64::MAX] {
            assert_eq!(decimal(n), n.to_string());
        }
    }

    #[test]
    fn decimals_are_read_back_and_nothing_else_is() {
        for n in [0, 7, 10, 1_700_000_000_000, u64::MAX] {
            assert_eq!(parse_decimal(&n.to_string()), Some(n));
        }
        for bad in [
            "",
            "-1",
            "+1",
            "1.5",
            " 1",
            "1 ",
            "18446744073709551616",
            "x",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn concat_joins_in_order() {
        assert_eq!(concat(&["a", "", "bc"]), "abc");
    }
}
