//! Reads the trace ID out of a W3C `traceparent` another tracer set, so that the request's
//! event still names the trace the backend logged under.

use crate::id::Id;
use crate::text::split_byte;

/// The trace-id of a `traceparent` value (`00-<32 hex>-<16 hex>-<2 hex>`; a later version may
/// append fields). Of a list joined with `,`, the first. `None` if it is not one.
pub fn trace_id(value: &str) -> Option<Id> {
    let first = split_byte(value, b',').next()?.trim_ascii();
    let mut fields = split_byte(first, b'-');
    let (version, trace, span, flags) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    let valid = hex(version, 2)
        && version != "ff"
        && hex(span, 16)
        && hex(flags, 2)
        && (version != "00" || fields.next().is_none());
    if !valid {
        return None;
    }
    Id::parse(trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_trace_id() {
        let id = trace_id("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(id.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let first = trace_id(
            " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01, 00-136a0000000000000000000000000001-00f067aa0ba902b7-01",
        );
        assert_eq!(first, Some(id));
        assert_eq!(
            trace_id("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"),
            Some(id)
        );
    }

    #[test]
    fn refuses_what_is_not_a_traceparent() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
        ] {
            assert_eq!(trace_id(bad), None, "{bad:?}");
        }
    }
}
