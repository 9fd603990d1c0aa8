//! The events the recorder makes by itself: actions starting and ending, requests settling,
//! uncaught errors, console lines and its own drop counts. Names, severities, messages and
//! attribute keys are decided here; the web shell only supplies the facts.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::Millis;
use crate::attributes::text;
use crate::batcher::DropReason;
use crate::event::{AttrValue, Event, Severity};
use crate::id::Id;
use crate::redact::truncate;
use crate::text::{concat, decimal};

/// Longest stack trace kept, in bytes.
pub const MAX_STACK_BYTES: usize = 8_192;
/// Longest message kept, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 8_192;

/// What every event carries besides its content.
#[derive(Clone, Debug)]
pub struct Stamp {
    /// The new event's `event.id`.
    pub id: Id,
    /// When it happened.
    pub time: Millis,
    /// The action or request it belongs to.
    pub correlation_id: Id,
    /// The session it happened in.
    pub session_id: Option<Id>,
    /// The page's path (`location.pathname`).
    pub page_path: String,
}

fn event(
    stamp: Stamp,
    name: &str,
    severity: Severity,
    message: &str,
    attributes: Vec<(String, AttrValue)>,
) -> Event {
    Event {
        id: stamp.id,
        time: stamp.time,
        name: name.into(),
        severity,
        message: truncate(message, MAX_MESSAGE_BYTES).0,
        correlation_id: stamp.correlation_id,
        session_id: stamp.session_id,
        page_path: stamp.page_path,
        attributes,
    }
}

fn int(n: u64) -> AttrValue {
    AttrValue::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// An app's `tl.log(level, message, attributes)`.
pub fn log(
    stamp: Stamp,
    severity: Severity,
    message: &str,
    attributes: Vec<(String, AttrValue)>,
) -> Event {
    event(stamp, "log", severity, message, attributes)
}

/// An action began (`startAction` or a click/submit).
pub fn action_start(stamp: Stamp, name: &str, automatic: bool) -> Event {
    let attributes = vec![
        ("action.name".into(), text(name)),
        (
            "action.kind".into(),
            text(if automatic { "auto" } else { "explicit" }),
        ),
    ];
    let message = concat(&[name, " started"]);
    event(stamp, "action.start", Severity::Info, &message, attributes)
}

/// How an action ended: `ok`, `error` or `cancelled`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionOutcome {
    /// It did what the user asked.
    Ok,
    /// It failed (explicitly, or an automatic action had a failed request).
    Error,
    /// The user or the app gave it up.
    Cancelled,
}

impl ActionOutcome {
    /// Reads `action.end(outcome)`'s argument.
    pub fn parse(text: &str) -> Option<ActionOutcome> {
        match text {
            "ok" => Some(ActionOutcome::Ok),
            "error" => Some(ActionOutcome::Error),
            "cancelled" => Some(ActionOutcome::Cancelled),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ActionOutcome::Ok => "ok",
            ActionOutcome::Error => "error",
            ActionOutcome::Cancelled => "cancelled",
        }
    }
}

/// An action ended after `duration` ms, having started `requests` requests.
pub fn action_end(
    stamp: Stamp,
    name: &str,
    outcome: ActionOutcome,
    duration: Millis,
    requests: u32,
) -> Event {
    let severity = if outcome == ActionOutcome::Error {
        Severity::Warn
    } else {
        Severity::Info
    };
    let attributes = vec![
        ("action.name".into(), text(name)),
        ("action.outcome".into(), text(outcome.name())),
        ("duration_ms".into(), int(duration)),
        ("action.requests".into(), int(requests.into())),
    ];
    let message = concat(&[name, " ended: ", outcome.name()]);
    event(stamp, "action.end", severity, &message, attributes)
}

/// How a request ended, as the page saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    /// A response with this status (a no-cors response reports 0).
    Status(u16),
    /// No response: the network failed, or CORS refused it.
    NetworkError,
    /// The app aborted it.
    Aborted,
}

impl Settled {
    /// The `outcome` attribute: `ok`, `http_error`, `network_error` or `aborted`.
    pub fn outcome(self) -> &'static str {
        match self {
            Settled::Status(code) if code >= 400 => "http_error",
            Settled::Status(_) => "ok",
            Settled::NetworkError => "network_error",
            Settled::Aborted => "aborted",
        }
    }

    /// Whether the request counts as failed for its action.
    pub fn failed(self) -> bool {
        matches!(self, Settled::NetworkError) || matches!(self, Settled::Status(c) if c >= 400)
    }

    /// The HTTP status, if there was a response.
    pub fn status(self) -> Option<u16> {
        match self {
            Settled::Status(code) => Some(code),
            _ => None,
        }
    }
}

/// A finished request to an allowed origin.
#[derive(Clone, Debug)]
pub struct RequestDone<'a> {
    /// The HTTP method as sent.
    pub method: &'a str,
    /// The absolute URL as sent.
    pub url: &'a str,
    /// How it ended.
    pub settled: Settled,
    /// From the call to its settlement, in ms.
    pub duration: Millis,
    /// 1 for the first send under its ID, 2 for the first retry, …
    pub attempt: u32,
    /// The correlation ID the server echoed in its response header (see [`echoed_id`]).
    pub echoed: Option<&'a str>,
}

/// A correlation ID a server echoed, if it is one a backend would accept: 16 to 64 letters,
/// digits, `-` or `_` (a server may have replaced an ID it found invalid with its own).
pub fn echoed_id(text: &str) -> Option<&str> {
    let valid = (16..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then_some(text)
}

/// `url` without its query string and fragment.
pub fn without_query(url: &str) -> &str {
    let end = url
        .bytes()
        .position(|b| b == b'?' || b == b'#')
        .unwrap_or(url.len());
    url.get(..end).unwrap_or(url)
}

/// `url` without its fragment (never sent to a server anyway).
fn without_fragment(url: &str) -> &str {
    let end = url.bytes().position(|b| b == b'#').unwrap_or(url.len());
    url.get(..end).unwrap_or(url)
}

/// An `http.request` event; `keep_query` keeps the URL's query string.
pub fn http_request(stamp: Stamp, request: &RequestDone<'_>, keep_query: bool) -> Event {
    let url = if keep_query {
        without_fragment(request.url)
    } else {
        without_query(request.url)
    };
    let severity = match request.settled {
        Settled::NetworkError => Severity::Error,
        Settled::Status(code) if code >= 500 => Severity::Error,
        Settled::Status(code) if code >= 400 => Severity::Warn,
        _ => Severity::Info,
    };
    let outcome = request.settled.outcome();
    let mut attributes = vec![
        ("http.request.method".into(), text(request.method)),
        ("url.full".into(), text(url)),
    ];
    let status_text = match request.settled.status() {
        Some(code) => {
            attributes.push(("http.response.status_code".into(), int(code.into())));
            decimal(code.into())
        }
        None => String::from(outcome),
    };
    attributes.push(("duration_ms".into(), int(request.duration)));
    attributes.push(("attempt".into(), int(request.attempt.into())));
    attributes.push(("outcome".into(), text(outcome)));
    if let Some(echoed) = request.echoed.and_then(echoed_id) {
        attributes.push(("http.response.correlation_id".into(), text(echoed)));
    }
    let message = concat(&[request.method, " ", url, " ", &status_text]);
    event(stamp, "http.request", severity, &message, attributes)
}

/// An uncaught error or unhandled rejection.
#[derive(Clone, Debug)]
pub struct Uncaught<'a> {
    /// `error` or `unhandledrejection`.
    pub source: &'a str,
    /// The error's type, such as `TypeError`.
    pub kind: &'a str,
    /// The error's message.
    pub message: &'a str,
    /// The stack trace, if the browser gave one.
    pub stack: &'a str,
}

/// An `error` event.
pub fn error(stamp: Stamp, uncaught: &Uncaught<'_>) -> Event {
    let kind = if uncaught.kind.is_empty() {
        "Error"
    } else {
        uncaught.kind
    };
    let mut attributes = vec![
        ("exception.type".into(), text(kind)),
        ("exception.message".into(), text(uncaught.message)),
        ("error.source".into(), text(uncaught.source)),
    ];
    if !uncaught.stack.is_empty() {
        attributes.push((
            "exception.stacktrace".into(),
            AttrValue::Str(truncate(uncaught.stack, MAX_STACK_BYTES).0),
        ));
    }
    let message = concat(&[kind, ": ", uncaught.message]);
    event(stamp, "error", Severity::Error, &message, attributes)
}

/// A captured `console.warn` or `console.error` line.
pub fn console(stamp: Stamp, severity: Severity, message: &str) -> Event {
    event(stamp, "console", severity, message, Vec::new())
}

/// The counts of events dropped since the last report, as a `threadline.dropped` event, so a
/// gap shows in the timeline.
pub fn dropped(stamp: Stamp, counts: &[(DropReason, u32)]) -> Event {
    let total: u64 = counts.iter().map(|(_, n)| u64::from(*n)).sum();
    let attributes = counts
        .iter()
        .map(|(reason, n)| {
            (
                concat(&["dropped.", reason.name()]),
                AttrValue::Int((*n).into()),
            )
        })
        .collect();
    let message = concat(&["Threadline dropped ", &decimal(total), " events"]);
    event(
        stamp,
        "threadline.dropped",
        Severity::Warn,
        &message,
        attributes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp {
            id: Id::from_bytes([1; 16]).unwrap(),
            time: 1_000,
            correlation_id: Id::from_bytes([2; 16]).unwrap(),
            session_id: None,
            page_path: "/checkout".into(),
        }
    }

    fn attr<'e>(event: &'e Event, key: &str) -> Option<&'e AttrValue> {
        event
            .attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    fn request(url: &str, settled: Settled) -> RequestDone<'_> {
        RequestDone {
            method: "POST",
            url,
            settled,
            duration: 42,
            attempt: 2,
            echoed: Some("0af7651916cd43dd8448eb211c80319c"),
        }
    }

    #[test]
    fn request_events_carry_what_support_needs_and_no_query_by_default() {
        let e = http_request(
            stamp(),
            &request("https://api.test/pay?card=4111#x", Settled::Status(503)),
            false,
        );
        assert_eq!(e.name, "http.request");
        assert_eq!(e.severity, Severity::Error);
        assert_eq!(e.message, "POST https://api.test/pay 503");
        assert_eq!(
            attr(&e, "url.full"),
            Some(&AttrValue::Str("https://api.test/pay".into()))
        );
        assert_eq!(
            attr(&e, "http.response.status_code"),
            Some(&AttrValue::Int(503))
        );
        assert_eq!(attr(&e, "attempt"), Some(&AttrValue::Int(2)));
        assert_eq!(attr(&e, "duration_ms"), Some(&AttrValue::Int(42)));
        assert_eq!(
            attr(&e, "outcome"),
            Some(&AttrValue::Str("http_error".into()))
        );
        assert_eq!(
            attr(&e, "http.response.correlation_id"),
            Some(&AttrValue::Str("0af7651916cd43dd8448eb211c80319c".into()))
        );
        let kept = http_request(
            stamp(),
            &request("https://api.test/pay?card=1#x", Settled::Status(200)),
            true,
        );
        assert_eq!(
            attr(&kept, "url.full"),
            Some(&AttrValue::Str("https://api.test/pay?card=1".into()))
        );
        assert_eq!(kept.severity, Severity::Info);
    }

    #[test]
    fn only_plausible_echoed_ids_are_kept() {
        assert_eq!(
            echoed_id("req_0123456789abcdef"),
            Some("req_0123456789abcdef")
        );
        for bad in [
            "short",
            "has space 0123456789",
            "<script>0123456789</script>",
            &"a".repeat(65),
        ] {
            assert_eq!(echoed_id(bad), None, "{bad}");
        }
        let mut r = request("https://a.test/", Settled::Status(200));
        r.echoed = Some("not valid!");
        let e = http_request(stamp(), &r, false);
        assert_eq!(attr(&e, "http.response.correlation_id"), None);
    }

    #[test]
    fn outcomes_follow_the_settlement() {
        for (settled, outcome, failed, status) in [
            (Settled::Status(200), "ok", false, Some(200)),
            (Settled::Status(0), "ok", false, Some(0)),
            (Settled::Status(404), "http_error", true, Some(404)),
            (Settled::NetworkError, "network_error", true, None),
            (Settled::Aborted, "aborted", false, None),
        ] {
            assert_eq!(settled.outcome(), outcome);
            assert_eq!(settled.failed(), failed);
            assert_eq!(settled.status(), status);
        }
        let e = http_request(
            stamp(),
            &request("https://a.test/", Settled::Aborted),
            false,
        );
        assert_eq!(e.message, "POST https://a.test/ aborted");
        assert_eq!(attr(&e, "http.response.status_code"), None);
    }

    #[test]
    fn actions_report_outcome_duration_and_requests() {
        let start = action_start(stamp(), "checkout", true);
        assert_eq!(
            (start.name.as_str(), start.message.as_str()),
            ("action.start", "checkout started")
        );
        assert_eq!(
            attr(&start, "action.kind"),
            Some(&AttrValue::Str("auto".into()))
        );
        let end = action_end(stamp(), "checkout", ActionOutcome::Error, 1_234, 3);
        assert_eq!(end.severity, Severity::Warn);
        assert_eq!(attr(&end, "duration_ms"), Some(&AttrValue::Int(1_234)));
        assert_eq!(attr(&end, "action.requests"), Some(&AttrValue::Int(3)));
        assert_eq!(
            attr(&end, "action.outcome"),
            Some(&AttrValue::Str("error".into()))
        );
        assert_eq!(
            ActionOutcome::parse("cancelled"),
            Some(ActionOutcome::Cancelled)
        );
        assert_eq!(ActionOutcome::parse("failed"), None);
    }

    #[test]
    fn errors_keep_type_message_and_a_bounded_stack() {
        let stack = "at f (app.js:1:1)\n".repeat(2_000);
        let e = error(
            stamp(),
            &Uncaught {
                source: "unhandledrejection",
                kind: "TypeError",
                message: "x is undefined",
                stack: &stack,
            },
        );
        assert_eq!(e.message, "TypeError: x is undefined");
        let Some(AttrValue::Str(kept)) = attr(&e, "exception.stacktrace") else {
            panic!("stack expected")
        };
        assert!(kept.len() < MAX_STACK_BYTES + 32);
        let plain = error(
            stamp(),
            &Uncaught {
                source: "error",
                kind: "",
                message: "boom",
                stack: "",
            },
        );
        assert_eq!(plain.message, "Error: boom");
        assert_eq!(attr(&plain, "exception.stacktrace"), None);
    }

    #[test]
    fn drop_counts_become_one_event() {
        let e = dropped(
            stamp(),
            &[(DropReason::QueueFull, 7), (DropReason::StorageFull, 2)],
        );
        assert_eq!(e.name, "threadline.dropped");
        assert_eq!(e.message, "Threadline dropped 9 events");
        assert_eq!(attr(&e, "dropped.queue_full"), Some(&AttrValue::Int(7)));
        assert_eq!(attr(&e, "dropped.storage_full"), Some(&AttrValue::Int(2)));
    }
}
