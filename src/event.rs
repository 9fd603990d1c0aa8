//! What the recorder ships: events (a log line, an action's start or end, a request, an error),
//! their severities and the stamp every one carries. Encoding lives in `otlp`.

use alloc::string::String;

use crate::Millis;
use crate::id::Id;

/// How serious an event is; the four levels of `tl.log`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// `debug`: OTLP severity number 5.
    Debug,
    /// `info`: OTLP severity number 9.
    Info,
    /// `warn`: OTLP severity number 13.
    Warn,
    /// `error`: OTLP severity number 17.
    Error,
}

impl Severity {
    /// Reads a `tl.log` level: `debug`, `info`, `warn` or `error`.
    pub fn parse(level: &str) -> Option<Severity> {
        match level {
            "debug" => Some(Severity::Debug),
            "info" => Some(Severity::Info),
            "warn" => Some(Severity::Warn),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }

    /// The OTLP `SeverityNumber` (the first of each range).
    pub fn number(self) -> u8 {
        match self {
            Severity::Debug => 5,
            Severity::Info => 9,
            Severity::Warn => 13,
            Severity::Error => 17,
        }
    }

    /// The OTLP `severityText`.
    pub fn text(self) -> &'static str {
        match self {
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Warn => "WARN",
            Severity::Error => "ERROR",
        }
    }
}

/// A number already written as JSON (JavaScript's `String(n)` of a finite number): the recorder
/// never formats floats itself, which would bring float formatting into the wasm file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonNumber(String);

impl JsonNumber {
    /// Accepts `text` if it is a JSON number (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`).
    pub fn parse(text: &str) -> Option<JsonNumber> {
        let b = text.as_bytes();
        let mut i = usize::from(b.first() == Some(&b'-'));
        let digits = |i: &mut usize| {
            let start = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i - start
        };
        let int_start = i;
        let int_len = digits(&mut i);
        if int_len == 0 || (int_len > 1 && b.get(int_start) == Some(&b'0')) {
            return None;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if digits(&mut i) == 0 {
                return None;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if digits(&mut i) == 0 {
                return None;
            }
        }
        (i == b.len()).then(|| JsonNumber(String::from(text)))
    }

    /// The number as JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What every event carries besides its name, severity, message and attributes.
#[derive(Clone, Debug)]
pub struct Stamp {
    /// Unique per event, so ingestion can drop duplicates (`event.id`).
    pub id: Id,
    /// When it happened (ms since the epoch).
    pub time: Millis,
    /// The action or request ID the event belongs to; the OTLP `traceId`.
    pub correlation_id: Id,
    /// The session it happened in.
    pub session_id: Option<Id>,
    /// The page's path (`url.path`); empty if unknown.
    pub page_path: String,
    /// The app's opaque user ID (`setUser`), as `user.id`.
    pub user_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_otlp_severities() {
        for (level, number, text) in [
            ("debug", 5, "DEBUG"),
            ("info", 9, "INFO"),
            ("warn", 13, "WARN"),
            ("error", 17, "ERROR"),
        ] {
            let s = Severity::parse(level).unwrap();
            assert_eq!((s.number(), s.text()), (number, text));
        }
        assert_eq!(Severity::parse("INFO"), None);
        assert_eq!(Severity::parse("fatal"), None);
        assert!(Severity::Debug < Severity::Error);
    }

    #[test]
    fn json_numbers_follow_the_grammar() {
        for good in [
            "0",
            "-0",
            "1.5",
            "-12.25e+3",
            "1e21",
            "1E-7",
            "123456789012345678901234",
        ] {
            assert_eq!(
                JsonNumber::parse(good)
                    .map(|n| n.as_str().to_owned())
                    .as_deref(),
                Some(good)
            );
        }
        for bad in [
            "",
            "-",
            "01",
            "1.",
            ".5",
            "1e",
            "1e+",
            "NaN",
            "Infinity",
            "-Infinity",
            "1 ",
            "0x10",
            "+1",
        ] {
            assert_eq!(JsonNumber::parse(bad), None, "{bad:?}");
        }
    }
}
