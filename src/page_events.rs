//! The events the recorder makes by itself: actions starting and ending, requests settling,
//! uncaught errors, console lines and its own drop counts. Names, severities, messages and
//! attribute keys are decided here; the web shell only supplies the facts. Each builder returns
//! the encoded OTLP JSON record. Each event's severity is known before it is built (see
//! [`Settled::severity`], [`ActionOutcome::severity`]), so the shell can skip events below
//! `minLevel` without building them.

use alloc::string::String;

use crate::Millis;
use crate::attributes;
use crate::batcher::DropReason;
use crate::event::{Severity, Stamp};
use crate::id::Id;
use crate::otlp::RecordWriter;
use crate::redact::Redactor;
use crate::text::{concat, decimal};

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// An app's `tl.log(level, message, attributes)` (event `name` "log"), or an event of
/// Threadline's own UI (`ui.…`); `entries` are the attributes as the web shell's walker
/// flattened them (see `attributes`).
pub fn log(
    stamp: &Stamp,
    name: &str,
    severity: Severity,
    message: &str,
    entries: &str,
    redactor: &Redactor,
) -> String {
    let mut w = RecordWriter::new(stamp, name, severity, message);
    attributes::write(entries, redactor, &mut w);
    w.finish()
}

/// An action began (`startAction`, with its attributes, or a click/submit).
pub fn action_start(
    stamp: &Stamp,
    name: &str,
    automatic: bool,
    entries: &str,
    redactor: &Redactor,
) -> String {
    let message = concat(&[name, " started"]);
    let mut w = RecordWriter::new(stamp, "action.start", Severity::Info, &message);
    w.str("action.name", name);
    w.str("action.kind", if automatic { "auto" } else { "explicit" });
    attributes::write(entries, redactor, &mut w);
    w.finish()
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

    /// How serious its `action.end` event is: a failed action is a warning.
    pub fn severity(self) -> Severity {
        if self == ActionOutcome::Error {
            Severity::Warn
        } else {
            Severity::Info
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
    stamp: &Stamp,
    name: &str,
    outcome: ActionOutcome,
    duration: Millis,
    requests: u32,
) -> String {
    let severity = outcome.severity();
    let message = concat(&[name, " ended: ", outcome.name()]);
    let mut w = RecordWriter::new(stamp, "action.end", severity, &message);
    w.str("action.name", name);
    w.str("action.outcome", outcome.name());
    w.int("duration_ms", int(duration));
    w.int("action.requests", requests.into());
    w.finish()
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

    /// How serious its `http.request` event is: 5xx and network errors are errors, 4xx warnings.
    pub fn severity(self) -> Severity {
        match self {
            Settled::NetworkError => Severity::Error,
            Settled::Status(code) if code >= 500 => Severity::Error,
            Settled::Status(code) if code >= 400 => Severity::Warn,
            _ => Severity::Info,
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
    /// 1 for the first send under its ID, 2 for the first retry, …; 0 when unknown (the app
    /// tagged the request itself).
    pub attempt: u32,
    /// The correlation ID the server echoed in its response header (see [`echoed_id`]).
    pub echoed: Option<&'a str>,
    /// The trace ID of another tracer's `traceparent` that the request carried instead of
    /// Threadline's, so that the debug ID still finds the trace the backend logged under.
    pub trace: Option<Id>,
}

/// A correlation ID a server echoed, if it is one a backend would accept
/// ([`crate::id::is_acceptable_id`]; a server may have replaced an ID it found invalid).
pub fn echoed_id(text: &str) -> Option<&str> {
    crate::id::is_acceptable_id(text).then_some(text)
}

/// `url` cut before the first of `stops`.
fn cut_at<'u>(url: &'u str, stops: &[u8]) -> &'u str {
    let end = url
        .bytes()
        .position(|b| stops.contains(&b))
        .unwrap_or(url.len());
    url.get(..end).unwrap_or(url)
}

/// An `http.request` event; `keep_query` keeps the URL's query string (never the fragment).
pub fn http_request(stamp: &Stamp, request: &RequestDone<'_>, keep_query: bool) -> String {
    let url = cut_at(request.url, if keep_query { b"#" } else { b"?#" });
    let severity = request.settled.severity();
    let outcome = request.settled.outcome();
    let status = request.settled.status();
    let status_text = status.map_or_else(|| outcome.into(), |code| decimal(code.into()));
    let message = concat(&[request.method, " ", url, " ", &status_text]);
    let mut w = RecordWriter::new(stamp, "http.request", severity, &message);
    w.str("http.request.method", request.method);
    w.str("url.full", url);
    if let Some(code) = status {
        w.int("http.response.status_code", code.into());
    }
    w.int("duration_ms", int(request.duration));
    if request.attempt > 0 {
        w.int("attempt", request.attempt.into());
    }
    w.str("outcome", outcome);
    if let Some(echoed) = request.echoed.and_then(echoed_id) {
        w.str("http.response.correlation_id", echoed);
    }
    if let Some(trace) = request.trace {
        w.str("http.request.trace_id", &trace.to_hex());
    }
    w.finish()
}

/// A message an app sent (`ws.send`) or received (`ws.message`) on a socket it handed to
/// `tl.socket`. `url` is the socket's (its query cut unless `keep_query`); `foreign` is a
/// correlation ID the message carried that is not a Threadline ID.
pub fn ws_message(
    stamp: &Stamp,
    sent: bool,
    url: &str,
    bytes: u64,
    foreign: Option<&str>,
    keep_query: bool,
) -> String {
    let url = cut_at(url, if keep_query { b"#" } else { b"?#" });
    let (name, verb) = if sent {
        ("ws.send", "ws send ")
    } else {
        ("ws.message", "ws message ")
    };
    let mut w = RecordWriter::new(stamp, name, Severity::Info, &concat(&[verb, url]));
    w.str("url.full", url);
    w.int("ws.message.bytes", int(bytes));
    if let Some(id) = foreign.and_then(echoed_id) {
        w.str("ws.message.correlation_id", id);
    }
    w.finish()
}

/// A server's CORS preflight refused Threadline's headers; its origin gets none from now on.
pub fn cors_refused(stamp: &Stamp, origin: &str, advice: &str) -> String {
    let mut w = RecordWriter::new(stamp, "threadline.cors_refused", Severity::Warn, advice);
    w.str("url.origin", origin);
    w.finish()
}

/// How the requests started before the recorder was ready went: `held` waited for it and carry
/// the header, `untagged` went out without it (past the startup deadline, or a failed start);
/// `waited_ms` is the longest wait.
pub fn startup(stamp: &Stamp, held: u32, untagged: u32, waited_ms: u32) -> String {
    let message = concat(&[
        "Threadline started: ",
        &decimal(held.into()),
        " early requests held, ",
        &decimal(untagged.into()),
        " untagged",
    ]);
    let mut w = RecordWriter::new(stamp, "threadline.startup", Severity::Info, &message);
    w.int("startup.held", held.into());
    w.int("startup.untagged", untagged.into());
    w.int("startup.wait_ms", waited_ms.into());
    w.finish()
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

/// An `error` event; the stack is cut like any attribute value.
pub fn error(stamp: &Stamp, uncaught: &Uncaught<'_>) -> String {
    let kind = if uncaught.kind.is_empty() {
        "Error"
    } else {
        uncaught.kind
    };
    let message = concat(&[kind, ": ", uncaught.message]);
    let mut w = RecordWriter::new(stamp, "error", Severity::Error, &message);
    w.str("exception.type", kind);
    w.str("exception.message", uncaught.message);
    w.str("error.source", uncaught.source);
    if !uncaught.stack.is_empty() {
        w.str("exception.stacktrace", uncaught.stack);
    }
    w.finish()
}

/// A captured `console.warn` or `console.error` line.
pub fn console(stamp: &Stamp, severity: Severity, message: &str) -> String {
    RecordWriter::new(stamp, "console", severity, message).finish()
}

/// The counts of events dropped since the last report, as a `threadline.dropped` event, so a
/// gap shows in the timeline.
pub fn dropped(stamp: &Stamp, counts: &[(DropReason, u32)]) -> String {
    let total: u64 = counts.iter().map(|(_, n)| u64::from(*n)).sum();
    let message = concat(&["Threadline dropped ", &decimal(total), " events"]);
    let mut w = RecordWriter::new(stamp, "threadline.dropped", Severity::Warn, &message);
    for (reason, n) in counts {
        w.int(&concat(&["dropped.", reason.name()]), (*n).into());
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Id;
    use crate::otlp::testing::{attr, decode_record, s};
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use opentelemetry_proto::tonic::logs::v1::LogRecord;

    fn stamp() -> Stamp {
        Stamp {
            id: Id::from_bytes([1; 16]).unwrap(),
            time: 1_000,
            correlation_id: Id::from_bytes([2; 16]).unwrap(),
            session_id: None,
            page_path: "/checkout".into(),
            user_id: None,
        }
    }

    fn decoded(json: &str) -> LogRecord {
        decode_record(json)
    }

    fn body(record: &LogRecord) -> String {
        match record.body.as_ref().and_then(|b| b.value.clone()) {
            Some(Value::StringValue(text)) => text,
            other => panic!("string body expected, got {other:?}"),
        }
    }

    fn request(url: &str, settled: Settled) -> RequestDone<'_> {
        RequestDone {
            method: "POST",
            url,
            settled,
            duration: 42,
            attempt: 2,
            echoed: Some("0af7651916cd43dd8448eb211c80319c"),
            trace: None,
        }
    }

    #[test]
    fn a_request_another_tracer_traced_names_that_trace() {
        let trace = Id::parse("4bf92f3577b34da6a3ce929d0e0e4736");
        let done = RequestDone {
            trace,
            ..request("https://api.test/pay", Settled::Status(200))
        };
        let e = decoded(&http_request(&stamp(), &done, false));
        assert_eq!(
            attr(&e, "http.request.trace_id"),
            Some(s("4bf92f3577b34da6a3ce929d0e0e4736"))
        );
        let plain = decoded(&http_request(
            &stamp(),
            &request("https://api.test/", Settled::Status(200)),
            false,
        ));
        assert_eq!(attr(&plain, "http.request.trace_id"), None);
    }

    #[test]
    fn startup_counts_the_early_requests_held_and_untagged() {
        let e = decoded(&startup(&stamp(), 3, 1, 250));
        assert_eq!(attr(&e, "event.name"), Some(s("threadline.startup")));
        assert_eq!(attr(&e, "startup.held"), Some(Value::IntValue(3)));
        assert_eq!(attr(&e, "startup.untagged"), Some(Value::IntValue(1)));
        assert_eq!(attr(&e, "startup.wait_ms"), Some(Value::IntValue(250)));
        assert_eq!(
            body(&e),
            "Threadline started: 3 early requests held, 1 untagged"
        );
    }

    #[test]
    fn a_cors_refusal_names_the_origin_and_the_advice() {
        let e = decoded(&cors_refused(
            &stamp(),
            "https://api.test",
            "answer preflights with: X",
        ));
        assert_eq!(attr(&e, "event.name"), Some(s("threadline.cors_refused")));
        assert_eq!(attr(&e, "url.origin"), Some(s("https://api.test")));
        assert_eq!(e.severity_text, "WARN");
        assert_eq!(body(&e), "answer preflights with: X");
    }

    #[test]
    fn request_events_carry_what_support_needs_and_no_query_by_default() {
        let d = http_request(
            &stamp(),
            &request("https://api.test/pay?card=4111#x", Settled::Status(503)),
            false,
        );
        let e = decoded(&d);
        assert_eq!(e.severity_text, "ERROR");
        assert_eq!(attr(&e, "event.name"), Some(s("http.request")));
        assert_eq!(body(&e), "POST https://api.test/pay 503");
        assert_eq!(attr(&e, "url.full"), Some(s("https://api.test/pay")));
        assert_eq!(
            attr(&e, "http.response.status_code"),
            Some(Value::IntValue(503))
        );
        assert_eq!(attr(&e, "attempt"), Some(Value::IntValue(2)));
        assert_eq!(attr(&e, "duration_ms"), Some(Value::IntValue(42)));
        assert_eq!(attr(&e, "outcome"), Some(s("http_error")));
        assert_eq!(
            attr(&e, "http.response.correlation_id"),
            Some(s("0af7651916cd43dd8448eb211c80319c"))
        );
        let kept = http_request(
            &stamp(),
            &request("https://api.test/pay?card=1#x", Settled::Status(200)),
            true,
        );
        assert_eq!(decoded(&kept).severity_text, "INFO");
        assert_eq!(
            attr(&decoded(&kept), "url.full"),
            Some(s("https://api.test/pay?card=1"))
        );
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
        let e = decoded(&http_request(&stamp(), &r, false));
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
        let e = decoded(&http_request(
            &stamp(),
            &request("https://a.test/", Settled::Aborted),
            false,
        ));
        assert_eq!(body(&e), "POST https://a.test/ aborted");
        assert_eq!(attr(&e, "http.response.status_code"), None);
    }

    #[test]
    fn actions_report_outcome_duration_and_requests() {
        let start = decoded(&action_start(
            &stamp(),
            "checkout",
            true,
            "icart\u{0}3\u{0}",
            &Redactor::default(),
        ));
        assert_eq!(attr(&start, "event.name"), Some(s("action.start")));
        assert_eq!(body(&start), "checkout started");
        assert_eq!(attr(&start, "action.kind"), Some(s("auto")));
        assert_eq!(attr(&start, "cart"), Some(Value::IntValue(3)));
        let end = action_end(&stamp(), "checkout", ActionOutcome::Error, 1_234, 3);
        let end = decoded(&end);
        assert_eq!(end.severity_text, "WARN");
        assert_eq!(attr(&end, "duration_ms"), Some(Value::IntValue(1_234)));
        assert_eq!(attr(&end, "action.requests"), Some(Value::IntValue(3)));
        assert_eq!(attr(&end, "action.outcome"), Some(s("error")));
        assert_eq!(
            ActionOutcome::parse("cancelled"),
            Some(ActionOutcome::Cancelled)
        );
        assert_eq!(ActionOutcome::parse("failed"), None);
    }

    #[test]
    fn errors_keep_type_message_and_a_bounded_stack() {
        let stack = "at f (app.js:1:1)\n".repeat(2_000);
        let e = decoded(&error(
            &stamp(),
            &Uncaught {
                source: "unhandledrejection",
                kind: "TypeError",
                message: "x is undefined",
                stack: &stack,
            },
        ));
        assert_eq!(body(&e), "TypeError: x is undefined");
        let Some(Value::StringValue(kept)) = attr(&e, "exception.stacktrace") else {
            panic!("stack expected")
        };
        assert!(kept.len() < crate::otlp::MAX_VALUE_BYTES + 32);
        let plain = decoded(&error(
            &stamp(),
            &Uncaught {
                source: "error",
                kind: "",
                message: "boom",
                stack: "",
            },
        ));
        assert_eq!(body(&plain), "Error: boom");
        assert_eq!(attr(&plain, "exception.stacktrace"), None);
    }

    #[test]
    fn logs_and_console_lines_keep_their_level() {
        let d = log(
            &stamp(),
            "log",
            Severity::Debug,
            "hello",
            "spassword\0x\0",
            &Redactor::default(),
        );
        let e = decoded(&d);
        assert_eq!(e.severity_text, "DEBUG");
        assert_eq!(attr(&e, "password"), Some(s("[redacted]")));
        let c = console(&stamp(), Severity::Warn, "careful");
        assert_eq!(attr(&decoded(&c), "event.name"), Some(s("console")));
    }

    #[test]
    fn drop_counts_become_one_event() {
        let e = decoded(&dropped(
            &stamp(),
            &[(DropReason::QueueFull, 7), (DropReason::StorageFull, 2)],
        ));
        assert_eq!(attr(&e, "event.name"), Some(s("threadline.dropped")));
        assert_eq!(body(&e), "Threadline dropped 9 events");
        assert_eq!(attr(&e, "dropped.queue_full"), Some(Value::IntValue(7)));
        assert_eq!(attr(&e, "dropped.storage_full"), Some(Value::IntValue(2)));
    }

    #[test]
    fn socket_messages_name_their_direction_and_socket() {
        let sent = decoded(&ws_message(
            &stamp(),
            true,
            "wss://shop.test/orders?token=x",
            42,
            None,
            false,
        ));
        assert_eq!(attr(&sent, "event.name"), Some(s("ws.send")));
        assert_eq!(attr(&sent, "url.full"), Some(s("wss://shop.test/orders")));
        assert_eq!(attr(&sent, "ws.message.bytes"), Some(Value::IntValue(42)));
        let got = decoded(&ws_message(
            &stamp(),
            false,
            "wss://shop.test/orders",
            7,
            Some("order-4711-abcdef123456"),
            false,
        ));
        assert_eq!(attr(&got, "event.name"), Some(s("ws.message")));
        assert_eq!(
            attr(&got, "ws.message.correlation_id"),
            Some(s("order-4711-abcdef123456"))
        );
        assert_eq!(body(&got), "ws message wss://shop.test/orders");
    }
}
