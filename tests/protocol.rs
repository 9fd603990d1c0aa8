//! The JS↔wasm protocol, natively: both of its definitions (`src/protocol.rs` and
//! `js/protocol.js`) give every code the same number, a request crosses as its fields and comes
//! back as one number, and a `log` call's one string is read back into its parts.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

mod sim;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use sim::{Answer, Checkout, Collector, Storage, T0, Tab};
use threadline::allowlist::OriginPattern;
use threadline::event::Severity;
use threadline::id::{Entropy, Id, IdPool};
use threadline::options::Config;
use threadline::origin::Origin;
use threadline::page_events::Settled;
use threadline::propagation::DEFAULT_HEADER;
use threadline::protocol::{
    self, Decisions, Happening, KIND_TRACER, KIND_XHR, LEVELS, LogEntry, PAGE_HIDDEN, PAGE_ONLINE,
    PAGE_VISIBLE, PLAN_CODES, PLAN_NEW_HEADERS, PLAN_OBSERVE, PLAN_SAME_HEADERS, PLAN_UNTOUCHED,
    Question, RecorderMethod, Report, SETTLED_ABORTED, SETTLED_RESPONSE,
};
use threadline::recorder::limits::STARTUP_DEADLINE_MS;
use threadline::recorder::{Effect, Recorder};

const JS: &str = include_str!("../js/protocol.js");

/// The JavaScript side's source without its comments, which quote codes of their own.
fn js_code() -> String {
    let mut out = String::new();
    let mut rest = JS;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        rest = &rest[start + rest[start..].find("*/").unwrap() + 2..];
    }
    out.push_str(rest);
    out.lines()
        .map(|line| line.split("// ").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `name: number` members of the JavaScript constant `name`, in order.
fn js_table(name: &str) -> Vec<(String, u32)> {
    let code = js_code();
    let start = code
        .find(&format!("const {name} = "))
        .unwrap_or_else(|| panic!("js/protocol.js defines {name}"));
    let statement = &code[start..start + code[start..].find(";\n").unwrap()];
    let body = &statement[statement.find('{').unwrap() + 1..statement.rfind('}').unwrap()];
    body.split(',')
        .filter(|member| !member.trim().is_empty())
        .map(|member| {
            let (key, value) = member.split_once(':').unwrap();
            (key.trim().to_owned(), value.trim().parse().unwrap())
        })
        .collect()
}

/// The number the JavaScript constant `const name = N;` holds.
fn js_number(name: &str) -> u32 {
    let code = js_code();
    let start = code.find(&format!("const {name} = ")).unwrap() + name.len() + 9;
    code[start..start + code[start..].find(';').unwrap()]
        .parse()
        .unwrap()
}

/// The text the JavaScript constant `const name = "…";` holds.
fn js_text(name: &str) -> String {
    let code = js_code();
    let start = code.find(&format!("const {name} = \"")).unwrap() + name.len() + 10;
    code[start..start + code[start..].find('"').unwrap()].to_owned()
}

/// `MayResend` as JavaScript spells it: `mayResend`.
fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    let first = chars.next().unwrap().to_ascii_lowercase();
    std::iter::once(first).chain(chars).collect()
}

#[test]
fn the_startup_gate_waits_as_long_and_for_the_header_the_core_says() {
    assert_eq!(js_number("STARTUP_DEADLINE_MS"), STARTUP_DEADLINE_MS);
    // The two methods log-entry.js defines call `_call` by these codes.
    assert_eq!(js_number("LOG"), RecorderMethod::Log as u32);
    assert_eq!(js_number("RECORD_UI"), RecorderMethod::RecordUi as u32);
    assert_eq!(js_text("DEFAULT_HEADER"), DEFAULT_HEADER);
    assert_eq!(Config::default().propagation.header, DEFAULT_HEADER);
}

#[test]
fn both_sides_give_every_code_the_same_number() {
    let happenings: Vec<(String, u32)> = (0..=u8::MAX)
        .map_while(Happening::from_code)
        .map(|h| (lower_camel(&format!("{h:?}")), h as u32))
        .collect();
    assert_eq!(happenings.len(), 13);
    assert_eq!(js_table("HAPPENING"), happenings);

    let methods: Vec<String> = (0..=u8::MAX)
        .map_while(RecorderMethod::from_code)
        .map(|m| lower_camel(&format!("{m:?}")))
        .collect();
    let code = js_code();
    let start = code.find("const RECORDER_METHODS = [").unwrap() + 26;
    let listed: Vec<String> = code[start..start + code[start..].find(']').unwrap()]
        .split(',')
        .map(|name| name.trim().trim_matches('"').to_owned())
        .collect();
    assert_eq!(listed, methods);

    let levels: Vec<(String, u32)> = LEVELS
        .iter()
        .zip(1..)
        .map(|(s, code)| (format!("{s:?}").to_lowercase(), code))
        .collect();
    assert_eq!(js_table("LEVEL"), levels);

    assert_eq!(
        js_table("QUESTION"),
        [
            ("decision".to_owned(), Question::Decision as u32),
            ("socketSent".to_owned(), Question::SocketSent as u32),
        ]
    );
    let settled = js_table("SETTLED");
    assert_eq!(
        settled[0],
        ("response".to_owned(), u32::from(SETTLED_RESPONSE))
    );
    assert_eq!(
        settled[2],
        ("aborted".to_owned(), u32::from(SETTLED_ABORTED))
    );
    assert_eq!(
        js_table("PAGE"),
        [
            ("hidden".to_owned(), u32::from(PAGE_HIDDEN)),
            ("visible".to_owned(), u32::from(PAGE_VISIBLE)),
            ("online".to_owned(), u32::from(PAGE_ONLINE)),
        ]
    );
    assert_eq!(
        js_table("KIND")[1..],
        [
            ("xhr".to_owned(), u32::from(KIND_XHR)),
            ("tracer".to_owned(), u32::from(KIND_TRACER))
        ]
    );
    assert_eq!(js_number("PLAN_UNTOUCHED"), u32::from(PLAN_UNTOUCHED));
    assert_eq!(js_number("PLAN_NEW_HEADERS"), u32::from(PLAN_NEW_HEADERS));
    assert_eq!(js_number("PLAN_OBSERVE"), u32::from(PLAN_OBSERVE));
    assert_eq!(js_number("PLAN_CODES"), u32::from(PLAN_CODES));
}

/// A recorder at `https://shop.test` that sends events, propagates to `https://api.shop.test`,
/// and to the origins its one `RegExp` entry matches.
fn recorder() -> Recorder<Checkout> {
    recorder_with(Config {
        propagate_to: vec![OriginPattern::parse("https://api.shop.test").unwrap()],
        ..sim::config()
    })
}

fn recorder_with(config: Config) -> Recorder<Checkout> {
    Recorder::new(
        config,
        Origin::parse_url("https://shop.test/checkout"),
        true,
        IdPool::new(Entropy::Seeded(7)),
        Checkout {
            storage: Rc::new(RefCell::new(Storage::default())),
            session_reads: Rc::new(RefCell::new(0)),
        },
    )
    .unwrap()
}

/// A request as `plan` in `js/protocol.js` joins it: href, method, names, previous ID, forced
/// ID, traceparent, baggage, the correlation header's value.
fn fields(href: &str, names: &str, forced: &str) -> String {
    format!("{href}\nGET\n{names}\n\n{forced}\n\n\n")
}

/// An answer taken apart: (token, code).
fn answer(n: f64) -> (u32, u8) {
    let n = n as u64;
    let codes = u64::from(PLAN_CODES);
    ((n / codes) as u32, (n % codes) as u8)
}

/// Plans `request` of kind `kind` through the protocol at `now`, as the shell does, without
/// `RegExp` entries; the answer taken apart.
fn plan_at(
    now: u64,
    core: &mut Recorder<Checkout>,
    decisions: &mut Decisions,
    request: &str,
    kind: u8,
) -> (u32, u8) {
    answer(protocol::plan(
        now,
        core,
        |_| false,
        decisions,
        request,
        kind,
    ))
}

/// The headers part JavaScript takes after a `PLAN_NEW_HEADERS`, by name.
fn headers(decisions: &mut Decisions) -> (String, BTreeMap<String, String>) {
    let text = decisions.take();
    let mut parts = text.split('\n');
    let id = parts.next().unwrap().to_owned();
    let rest: Vec<&str> = parts.collect();
    let pairs = rest
        .chunks(2)
        .map(|p| (p[0].to_owned(), p[1].to_owned()))
        .collect();
    (id, pairs)
}

#[test]
fn a_request_crosses_as_its_fields_and_comes_back_as_one_number() {
    let mut core = recorder();
    let mut decisions = Decisions::default();
    let action = core.start_action(T0, "pay", "").unwrap();

    let first = plan_at(
        T0,
        &mut core,
        &mut decisions,
        &fields("https://api.shop.test/cart", ",", ""),
        0,
    );
    let (token, code) = first;
    assert_eq!(code, PLAN_NEW_HEADERS);
    assert!(token > 0);
    let (id, pairs) = headers(&mut decisions);
    assert_eq!(Id::parse(&id), Some(action));
    assert_eq!(
        pairs,
        BTreeMap::from([("X-Correlation-ID".to_owned(), id.clone())])
    );

    // The next request of the action gets the same headers: only a number crosses.
    let second = plan_at(
        T0 + 1,
        &mut core,
        &mut decisions,
        &fields("https://api.shop.test/pay", ",", ""),
        KIND_XHR,
    );
    let (second_token, code) = second;
    assert_eq!(code, PLAN_SAME_HEADERS);
    assert_ne!(second_token, token);

    // The app set the correlation header itself: observed, nothing added.
    let own = plan_at(
        T0 + 2,
        &mut core,
        &mut decisions,
        &fields("https://api.shop.test/own", ",x-correlation-id,", ""),
        0,
    );
    assert_eq!(own.1, PLAN_OBSERVE);

    // The first request met again further down the chain, carrying its ID: left alone.
    let below = format!("https://api.shop.test/cart\nGET\n,x-correlation-id,\n\n\n\n\n{id}");
    assert_eq!(
        plan_at(T0 + 2, &mut core, &mut decisions, &below, 0),
        (0, PLAN_UNTOUCHED)
    );

    // Another origin, and a request that is not in the protocol's form: left alone.
    for request in [
        fields("https://tracker.example/pixel", ",", ""),
        String::from("https://api.shop.test/cart\nGET"),
        String::new(),
    ] {
        let n = plan_at(T0 + 3, &mut core, &mut decisions, &request, 0);
        assert_eq!(n, (0, PLAN_UNTOUCHED), "{request:?}");
    }
}

#[test]
fn the_regex_entries_are_tested_by_the_page_and_their_answer_is_used() {
    let mut core = recorder();
    let mut decisions = Decisions::default();
    let asked = RefCell::new(Vec::new());
    let regex = |origin: &str| {
        asked.borrow_mut().push(origin.to_owned());
        origin == "https://cdn.shop.test"
    };
    core.start_action(T0, "load", "").unwrap();
    let request = fields("https://cdn.shop.test/img", ",", "");
    let n = protocol::plan(T0, &mut core, regex, &mut decisions, &request, 0);
    assert_eq!(answer(n).1, PLAN_NEW_HEADERS);
    assert_eq!(asked.borrow().as_slice(), ["https://cdn.shop.test"]);

    let other = fields("https://other.test/img", ",", "");
    let n = protocol::plan(T0, &mut core, regex, &mut decisions, &other, 0);
    assert_eq!(answer(n).1, PLAN_UNTOUCHED);
}

#[test]
fn with_a_tracer_on_the_page_that_adds_its_own_no_trace_headers_are_added() {
    let mut config = Config {
        propagate_to: vec![OriginPattern::parse("https://api.shop.test").unwrap()],
        ..sim::config()
    };
    config.propagation.traceparent = true;
    config.propagation.session_to = threadline::propagation::SessionTo::All;
    let mut core = recorder_with(config);
    core.start_action(T0, "pay", "").unwrap();
    let names = |core: &mut Recorder<Checkout>, kind: u8| {
        let mut decisions = Decisions::default();
        let request = fields("https://api.shop.test/pay", ",", "");
        assert_eq!(
            plan_at(T0, core, &mut decisions, &request, kind).1,
            PLAN_NEW_HEADERS
        );
        headers(&mut decisions).1.into_keys().collect::<Vec<_>>()
    };
    assert_eq!(
        names(&mut core, 0),
        ["X-Correlation-ID", "baggage", "traceparent"]
    );
    for kind in [KIND_TRACER, KIND_XHR | KIND_TRACER] {
        assert_eq!(names(&mut core, kind), ["X-Correlation-ID"], "kind {kind}");
    }
}

#[test]
fn a_forced_id_is_the_one_sent() {
    let mut core = recorder();
    let mut decisions = Decisions::default();
    let forced = "0af7651916cd43dd8448eb211c80319c";
    let request = fields("https://api.shop.test/retry", ",", forced);
    let code = plan_at(T0, &mut core, &mut decisions, &request, 0).1;
    assert_eq!(code, PLAN_NEW_HEADERS);
    assert_eq!(headers(&mut decisions).0, forced);
}

/// Every entry of `text`, read one after the other.
fn entries(text: &str) -> Vec<LogEntry<'_>> {
    let mut rest = text;
    let mut out = Vec::new();
    while let Some((entry, next)) = LogEntry::read(rest) {
        out.push(entry);
        rest = next;
    }
    out
}

#[test]
fn log_calls_are_read_back_from_their_one_string() {
    // Below the lowest recorded level: the code alone.
    let (entry, rest) = LogEntry::read("1.").unwrap();
    assert_eq!(entry.level, Some(Severity::Debug));
    assert!(entry.event.is_none());
    assert_eq!(rest, "");

    // Not a level (0), with attributes whose values hold the separators of the message, and a
    // message holding them too; then a second call with no attributes.
    let text = "01700000000123\0/cart\0skey\0\u{1}value\0n\x003\0\u{1}14\0the \0message\u{1}2\
                41700000000124\0/\0\u{1}4\0boom";
    let read = entries(text);
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].level, None);
    assert_eq!(
        read[0].event,
        Some((
            1_700_000_000_123,
            "/cart",
            "skey\0\u{1}value\0n\x003\0",
            "the \0message\u{1}2"
        ))
    );
    assert_eq!(read[1].level, Some(Severity::Error));
    assert_eq!(read[1].event, Some((1_700_000_000_124, "/", "", "boom")));

    // The length is in UTF-16 units, as JavaScript counts it: "é" is one, "😀" two.
    let read = entries("21\0/\0\u{1}4\0é😀!2.");
    assert_eq!(read[0].event.unwrap().3, "é😀!");
    assert_eq!(read[1].level, Some(Severity::Info));

    // Not in the form: no code, a code that is not a digit, no time, no path end, an entry cut
    // short, a message shorter than its length, a length ending inside a character; nothing
    // after a malformed entry is read.
    for bad in [
        "",
        "x1\0/p\0\u{1}0\0",
        "2\0/p\0\u{1}0\0",
        "21\0/p",
        "21\0/p\0skey\0value",
        "21\0/p\0\u{1}5\0abc",
        "21\0/p\0\u{1}1\0😀",
        "21\0/p\0\u{1}x\0a2.",
    ] {
        assert!(LogEntry::read(bad).is_none(), "{bad:?}");
    }
}

#[test]
fn the_calls_of_a_task_are_recorded_in_order_each_at_its_time() {
    let storage = Rc::new(RefCell::new(Storage::default()));
    let mut tab = Tab::open(sim::config(), &storage, 7, T0);
    let at = |ms: u64| T0 + ms;
    // An info call with an attribute; an error; a debug call below the lowest recorded level
    // (info), which crosses as its code alone; an error; a value that is not a level (0),
    // recorded as info after a warning.
    let text = [
        format!("2{}\0/cart\0skey\0v\0\u{1}5\0first", at(1)),
        format!("4{}\0/pay\0\u{1}4\0é😀!", at(40)),
        "1.".to_owned(),
        format!("4{}\0/pay\0\u{1}4\0last", at(41)),
        format!("0{}\0/\0\u{1}7\0unknown", at(42)),
    ]
    .concat();
    let lowest = protocol::log(&mut tab.rec, "log", &text, None);
    assert_eq!(lowest, 2, "info is the lowest recorded level");
    tab.apply();
    assert_eq!(
        tab.warnings.len(),
        1,
        "one warning, for the value that is not a level"
    );
    tab.flush(at(50));
    let mut collector = Collector::default();
    while tab.answer(at(60), Answer::Ok, &mut collector) {}
    assert_eq!(
        collector.log_messages(),
        ["first", "é😀!", "last", "unknown"]
    );
    let times: Vec<u64> = collector
        .named("log")
        .map(|r| r["timeUnixNano"].as_str().unwrap().parse::<u64>().unwrap() / 1_000_000)
        .collect();
    assert_eq!(
        times,
        [at(1), at(40), at(41), at(42)],
        "each at the time it was logged"
    );
    let severities: Vec<&str> = collector
        .named("log")
        .map(|r| r["severityText"].as_str().unwrap())
        .collect();
    assert_eq!(severities, ["INFO", "ERROR", "ERROR", "INFO"]);
    let paths: Vec<String> = collector
        .named("log")
        .map(|r| sim::attr(r, "url.path").unwrap())
        .collect();
    assert_eq!(paths, ["/cart", "/pay", "/pay", "/"]);
}

#[test]
fn the_walker_keeps_to_the_core_limits() {
    let walk: BTreeMap<String, u32> = js_table("WALK").into_iter().collect();
    let core = [
        ("maxLength", threadline::otlp::MAX_VALUE_BYTES as u32 + 1),
        (
            "maxDepth",
            threadline::recorder::limits::MAX_ATTRIBUTE_DEPTH,
        ),
        ("maxKept", threadline::attributes::MAX_ATTRIBUTES as u32),
        (
            "maxWalked",
            threadline::recorder::limits::MAX_ATTRIBUTES_WALKED,
        ),
    ];
    let core: BTreeMap<String, u32> = core.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    assert_eq!(walk, core);
}

/// Plans a GET to `href` as the shell does; its token.
fn planned(core: &mut Recorder<Checkout>, href: &str) -> f64 {
    let mut decisions = Decisions::default();
    f64::from(plan_at(T0, core, &mut decisions, &fields(href, ",", ""), 0).0)
}

#[test]
fn reported_happenings_reach_the_core_with_their_numbers_and_texts() {
    let mut core = recorder();
    let action = core.start_action(T0, "pay", "").unwrap();
    let token = planned(&mut core, "https://api.shop.test/pay");
    assert!(token > 0.0);
    let settled = Report {
        a: token,
        b: 503.0,
        c: f64::from(SETTLED_RESPONSE),
        s1: Some("req_0123456789abcdef"),
        ..Report::default()
    };
    assert_eq!(
        protocol::on(&mut core, T0 + 5, Happening::Settled, &settled),
        0.0
    );
    // The server's echoed ID is what a user reports once the request failed.
    assert_eq!(core.debug_id().as_deref(), Some("req_0123456789abcdef"));

    // A question's answer is the number `hooks.on` returns: a tagged cross-origin GET that
    // failed without an answer may go once more without headers; an unknown token may not.
    let failed = planned(&mut core, "https://api.shop.test/cart");
    let ask = |token| Report {
        a: token,
        ..Report::default()
    };
    assert_eq!(
        protocol::on(&mut core, T0 + 6, Happening::MayResend, &ask(failed)),
        1.0
    );
    assert_eq!(
        protocol::on(&mut core, T0 + 6, Happening::MayResend, &ask(999.0)),
        0.0
    );

    // Codes that name nothing do nothing.
    core.take_effects();
    for (happening, a) in [
        (Happening::Lifecycle, 9.0),
        (Happening::Tick, 9.0),
        (Happening::Action, 0.0),
    ] {
        let report = Report {
            a,
            ..Report::default()
        };
        assert_eq!(protocol::on(&mut core, T0 + 7, happening, &report), 0.0);
    }
    let effects = core.take_effects();
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(core.current_action().map(|(id, _, _)| id), Some(action));
}

#[test]
fn an_action_ends_with_the_outcome_given_and_anything_else_is_ok_after_a_warning() {
    let mut core = recorder();
    let warned = |core: &mut Recorder<Checkout>| {
        core.take_effects()
            .iter()
            .filter(|e| **e == Effect::Warn(protocol::OUTCOME_WARNING.to_owned()))
            .count()
    };
    for (outcome, given, warnings) in [
        (None, false, 0),
        (Some("error"), true, 0),
        (Some("cancelled"), true, 0),
        (Some("failed"), true, 1),
        // Given, but not a string (a number, an object).
        (None, true, 1),
    ] {
        let id = core.start_action(T0, "save", "").unwrap().to_hex();
        core.take_effects();
        let end = Report {
            s1: Some(&id),
            s3: outcome,
            s3_given: given,
            ..Report::default()
        };
        protocol::on(&mut core, T0 + 1, Happening::ActionEnd, &end);
        assert_eq!(warned(&mut core), warnings, "{outcome:?} {given}");
        assert_eq!(core.current_action(), None, "{outcome:?} ended the action");
    }
}

#[test]
fn numbers_from_javascript_are_read_as_whole_numbers_in_range() {
    assert_eq!(protocol::whole(f64::NAN), 0);
    assert_eq!(protocol::whole(-3.0), 0);
    assert_eq!(protocol::whole(502.0), 502);
    assert_eq!(protocol::whole(2.9), 2);
    assert_eq!(protocol::token(1e12), u32::MAX);
    assert_eq!(protocol::small(7.0), 7);
    assert_eq!(protocol::small(300.0), u8::MAX);
}

#[test]
fn settle_codes_name_how_a_request_ended() {
    assert_eq!(
        protocol::settled(SETTLED_RESPONSE, 502),
        Settled::Status(502)
    );
    assert_eq!(protocol::settled(SETTLED_ABORTED, 0), Settled::Aborted);
    assert_eq!(protocol::settled(1, 0), Settled::NetworkError);
    assert_eq!(protocol::settled(9, 200), Settled::NetworkError);
}

#[test]
fn the_lowest_recorded_level_is_a_level_code() {
    let warn = recorder_with(Config {
        min_level: Severity::Warn,
        ..sim::config()
    });
    assert_eq!(protocol::lowest_recorded(&warn), 3);
    // Without an endpoint nothing is recorded: past the last code.
    assert_eq!(
        protocol::lowest_recorded(&recorder_with(Config::default())),
        5
    );
}
