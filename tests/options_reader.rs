//! The options `init` is given, read natively through the core's reader with values of the
//! test's own (the web shell reads JavaScript values the same way): which option sets what,
//! and the error that names the option, what was expected and what it got.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use threadline::options::Config;
use threadline::options_reader::{OptionValue, ReadOptions, read_options};
use threadline::propagation::SessionTo;

/// A value as a page could pass it.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Absent,
    Text(String),
    Bool(bool),
    Number(f64),
    List(Vec<Value>),
    RegExp(&'static str),
    Object,
}

fn text(t: &str) -> Value {
    Value::Text(t.to_owned())
}

impl OptionValue for Value {
    fn is_absent(&self) -> bool {
        *self == Value::Absent
    }

    fn text(&self) -> Option<String> {
        match self {
            Value::Text(t) => Some(t.clone()),
            _ => None,
        }
    }

    fn boolean(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    type Items = std::vec::IntoIter<Value>;
    type Pattern = &'static str;

    fn items(&self) -> Option<Self::Items> {
        match self {
            Value::List(items) => Some(items.clone().into_iter()),
            _ => None,
        }
    }

    fn pattern(&self) -> Option<&'static str> {
        match self {
            Value::RegExp(source) => Some(source),
            _ => None,
        }
    }

    /// As `describe` in js/page.js does.
    fn describe(&self) -> String {
        match self {
            Value::Absent => "undefined".to_owned(),
            Value::Text(t) => Value::describe_text(t),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::List(_) => "an array".to_owned(),
            Value::RegExp(source) => format!("the RegExp /{source}/"),
            Value::Object => "an object".to_owned(),
        }
    }

    fn describe_text(text: &str) -> String {
        format!("{text:?}")
    }
}

fn read(entries: &[(&str, Value)]) -> Result<ReadOptions<&'static str>, String> {
    let entries = entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone()));
    let resolve = |url: &str| {
        if url.contains("://") {
            Some(url.to_owned())
        } else {
            Some(format!("https://shop.test{url}"))
        }
    };
    read_options(entries, resolve).map_err(|e| e.message().to_owned())
}

fn config(entries: &[(&str, Value)]) -> Config {
    read(entries).unwrap().config
}

fn refusal(entries: &[(&str, Value)]) -> String {
    read(entries)
        .err()
        .unwrap_or_else(|| format!("{entries:?} was accepted"))
}

#[test]
fn no_options_and_absent_values_are_the_defaults() {
    let defaults = Config::default();
    for entries in [
        &[][..],
        &[("header", Value::Absent), ("propagateTo", Value::Absent)][..],
    ] {
        let read = config(entries);
        assert_eq!(read.propagation.header, defaults.propagation.header);
        assert!(read.propagate_to.is_empty());
        assert_eq!(read.propagation.session_to, SessionTo::SameOrigin);
    }
    // Absent, but misspelt: still refused, with the name meant.
    assert_eq!(
        refusal(&[("propagateto", Value::Absent)]),
        "Threadline init: propagateto: unknown option (did you mean \"propagateTo\"?)"
    );
}

#[test]
fn each_refusal_names_the_option_what_was_expected_and_what_it_got() {
    let cases: Vec<(Vec<(&str, Value)>, &str)> = vec![
        (
            vec![("propagateTo", Value::List(vec![text("api.shop.test")]))],
            "propagateTo[0]: expected an origin such as \"https://api.example.com\"",
        ),
        (
            vec![(
                "propagateTo",
                Value::List(vec![text("https://api.shop.test"), Value::Number(42.0)]),
            )],
            "propagateTo[1]: expected an origin string or a RegExp, got 42",
        ),
        (
            vec![("propagateTo", text("https://api.shop.test"))],
            "propagateTo: expected an array of origins or RegExps, got \"https://api.shop.test\"",
        ),
        (
            vec![("header", text("X Correlation"))],
            "header: expected a header name a page may set",
        ),
        (
            vec![("header", text("Cookie"))],
            "header: expected a header name a page may set",
        ),
        (
            vec![("traceparent", text("yes"))],
            "traceparent: expected true or false, got \"yes\"",
        ),
        (
            vec![("retryWindowSeconds", Value::Number(-1.0))],
            "retryWindowSeconds: expected a number of seconds from 0 to 3600, got -1",
        ),
        (
            vec![("sessionIdleMinutes", text("30"))],
            "sessionIdleMinutes: expected a number of minutes",
        ),
        (
            vec![("endpoint", text("ftp://collector.test/v1/logs"))],
            "endpoint: expected an http(s) URL",
        ),
        (
            vec![("endpoint", text("  "))],
            "endpoint: expected an http(s) URL",
        ),
        (
            vec![("sendSession", Value::Bool(true))],
            "sendSession: expected \"same-origin\", \"all\" or false, got true",
        ),
        (
            vec![("sessionHeader", text("Baggage"))],
            "sessionHeader: expected a header name a page may set, such as \"X-Session-ID\"",
        ),
        (
            vec![("redactKeys", Value::List(vec![text("ssn"), text("")]))],
            "redactKeys: expected an array of key fragments such as [\"password\", \"ssn\"], got \"\"",
        ),
        (
            vec![("redactKeys", Value::Object)],
            "redactKeys: expected an array of key fragments",
        ),
        (
            vec![("minLevel", text("trace"))],
            "minLevel: expected \"debug\"",
        ),
        (
            vec![("service", text(""))],
            "service: expected a non-empty service name",
        ),
        (
            vec![("service", text(&"s".repeat(257)))],
            "service: expected a non-empty service name",
        ),
        (
            vec![("maxBatchEvents", Value::Number(0.0))],
            "maxBatchEvents: expected",
        ),
    ];
    for (entries, expected) in cases {
        let message = refusal(&entries);
        assert!(
            message.starts_with("Threadline init: ") && message.contains(expected),
            "{entries:?}: {message}"
        );
    }
}

#[test]
fn the_session_header_may_not_be_the_correlation_header() {
    let message = refusal(&[
        ("header", text("X-Request-ID")),
        ("sessionHeader", text("x-request-id")),
    ]);
    assert_eq!(
        message,
        "Threadline init: sessionHeader: expected a header name other than the correlation header's, got \"X-Request-ID\""
    );
}

#[test]
fn the_session_goes_where_the_trace_goes_unless_said_otherwise() {
    let cases = [
        (vec![], SessionTo::SameOrigin),
        (vec![("traceparent", Value::Bool(true))], SessionTo::All),
        (
            vec![
                ("traceparent", Value::Bool(true)),
                ("sendSession", text("same-origin")),
            ],
            SessionTo::SameOrigin,
        ),
        (vec![("sendSession", text("all"))], SessionTo::All),
        (
            vec![("sendSession", Value::Bool(false))],
            SessionTo::Nowhere,
        ),
    ];
    for (entries, expected) in cases {
        assert_eq!(
            config(&entries).propagation.session_to,
            expected,
            "{entries:?}"
        );
    }
}

#[test]
fn propagate_to_keeps_origins_and_hands_back_the_regexps_in_order() {
    let read = read(&[(
        "propagateTo",
        Value::List(vec![
            text("https://api.shop.test"),
            Value::RegExp("^https://cdn\\."),
            text("https://*.shop.test:8443"),
            Value::RegExp("payments"),
        ]),
    )])
    .unwrap();
    assert_eq!(read.config.propagate_to.len(), 2);
    assert_eq!(read.regexes, ["^https://cdn\\.", "payments"]);
}

#[test]
fn options_set_what_they_name() {
    let read = config(&[
        ("endpoint", text("/v1/logs")),
        ("service", text("checkout-web")),
        ("header", text("X-Request-ID")),
        ("sessionHeader", text("X-Session-ID")),
        ("traceparent", Value::Bool(true)),
        ("sameOrigin", Value::Bool(false)),
        ("autoActions", Value::Bool(false)),
        ("userInBaggage", Value::Bool(true)),
        ("retryWindowSeconds", Value::Number(5.0)),
        ("minLevel", text("warn")),
        ("keepQueryString", Value::Bool(true)),
        ("captureConsole", Value::Bool(true)),
    ]);
    // A relative endpoint is resolved against the page.
    assert_eq!(read.endpoint.as_deref(), Some("https://shop.test/v1/logs"));
    assert_eq!(read.service, "checkout-web");
    assert_eq!(read.propagation.header, "X-Request-ID");
    assert_eq!(
        read.propagation.session_header.as_deref(),
        Some("X-Session-ID")
    );
    assert!(read.propagation.traceparent && read.propagation.user_in_baggage);
    assert!(!read.same_origin && !read.auto_actions);
    assert_eq!(read.retry_window, 5_000);
    assert_eq!(read.min_level, threadline::event::Severity::Warn);
    assert!(read.keep_query && read.capture_console);
}
