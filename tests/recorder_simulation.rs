//! Whole page lives through the core recorder, natively: hours of failing and recovering
//! endpoints, reloads that send what the last page stored, two tabs sharing a session and the
//! storage budget, shutdown in every state, more requests in flight than the recorder follows.
//! Every event is stored by the endpoint exactly once, or counted in a `threadline.dropped`
//! event.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod sim;

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use sim::{Answer, Collector, Storage, T0, Tab, config};
use threadline::Millis;
use threadline::actions::AUTO_ACTION_IDLE_MS;
use threadline::options::Config;
use threadline::page_events::{ActionOutcome, Settled};
use threadline::recorder::limits::{FLUSH_GRACE, MAX_ACTION_NAME_CHARS, MAX_IN_FLIGHT};
use threadline::recorder::{Plan, Trigger};

fn storage() -> Rc<RefCell<Storage>> {
    Rc::new(RefCell::new(Storage::default()))
}

/// Runs timers and answers uploads with `answer` until nothing is pending or `until`.
fn drain(
    tab: &mut Tab,
    now: &mut Millis,
    until: Millis,
    collector: &mut Collector,
    answer: Answer,
) {
    while *now < until {
        tab.run_timers(*now);
        while tab.answer(*now, answer, collector) {}
        match tab.next_timer() {
            Some(at) if at <= until => *now = at.max(*now + 1),
            _ => return,
        }
    }
}

/// Each event stored once, and stored plus dropped is what was recorded (drop reports are
/// events too, each counted once: stored, or dropped itself).
fn assert_accounted(collector: &Collector, recorded: u64) {
    let twice: Vec<_> = collector.stored.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    let stored = collector.stored.len() as u64;
    assert_eq!(
        stored + collector.dropped(),
        recorded,
        "stored {stored} + dropped {} != recorded {recorded}",
        collector.dropped()
    );
}

/// Stored notes that the page left storage overflowing: written beside the stored events,
/// never queued, so not among the events recorded.
fn storage_notes(collector: &Collector) -> u64 {
    collector
        .named("threadline.dropped")
        .filter(|r| sim::attr(r, "dropped.storage_full").is_some())
        .count() as u64
}

#[test]
fn three_hours_of_outages_and_recoveries_lose_nothing_uncounted() {
    let store = storage();
    let mut tab = Tab::open(config(), &store, 1, T0);
    let mut collector = Collector::default();
    let mut now = T0;
    // The endpoint: up, then 503s, then the network gone, then 429s, then up, in 15-minute turns.
    let script = [
        Answer::Ok,
        Answer::Status(503),
        Answer::NetworkError,
        Answer::Status(429),
        Answer::Ok,
        Answer::Status(500),
    ];
    let end = T0 + 3 * 3_600_000;
    let mut n: usize = 0;
    while now < end {
        let answer = script[((now - T0) / 900_000) as usize % script.len()];
        for _ in 0..3 {
            n += 1;
            tab.log(now, &format!("event {n}"));
        }
        tab.run_timers(now);
        while tab.answer(now, answer, &mut collector) {}
        now += 1_000;
    }
    assert!(n > 30_000);
    // Back for good: everything still queued goes.
    let p = tab.flush(now);
    drain(
        &mut tab,
        &mut now,
        end + 3_600_000,
        &mut collector,
        Answer::Ok,
    );
    assert!(tab.settled.contains(&p));
    assert!(tab.uploads.is_empty() && tab.rec.events_recorded() > n as u64);
    assert!(
        collector.dropped() > 0,
        "a full queue during the outages drops the oldest, counted"
    );
    assert_accounted(&collector, tab.rec.events_recorded());
}

#[test]
fn a_rejected_batch_is_counted_and_the_rest_goes_on() {
    let store = storage();
    let mut tab = Tab::open(config(), &store, 2, T0);
    let mut collector = Collector::default();
    let mut now = T0;
    tab.log_many(now, "a", 10);
    tab.flush(now);
    assert!(tab.answer(now, Answer::Status(400), &mut collector));
    tab.log_many(now, "b", 5);
    tab.flush(now);
    drain(&mut tab, &mut now, T0 + 60_000, &mut collector, Answer::Ok);
    assert_eq!(collector.log_messages().len(), 5);
    assert_eq!(collector.dropped(), 10);
    assert_accounted(&collector, tab.rec.events_recorded());
}

#[test]
fn uploads_in_flight_answered_out_of_order_settle_a_flush_only_when_all_are_in() {
    let store = storage();
    let batches_of_20 = Config {
        limits: threadline::batcher::Limits {
            max_events: 20,
            ..threadline::batcher::Limits::default()
        },
        ..config()
    };
    let mut tab = Tab::open(batches_of_20, &store, 9, T0);
    let mut collector = Collector::default();
    let now = T0;
    tab.log_many(now, "burst", 45);
    assert!(
        tab.uploads.is_empty(),
        "batches due in a burst wait for the timer set for now"
    );
    tab.run_timers(now);
    assert_eq!(tab.uploads.len(), 2, "then the two full batches go at once");
    let p = tab.flush(now);
    assert_eq!(tab.uploads.len(), 3, "the flush sends the rest beside them");
    assert!(tab.answer_nth(2, now + 5, Answer::Ok, &mut collector));
    assert!(tab.answer_nth(1, now + 6, Answer::Ok, &mut collector));
    assert!(
        !tab.settled.contains(&p),
        "the oldest batch is not acknowledged yet"
    );
    // The page is hidden meanwhile: the unacknowledged batch is kept, oldest first.
    tab.hide(now + 7);
    let stored = store.borrow().items.get(&tab.outbox_key).cloned().unwrap();
    let kept: Vec<&str> = stored.lines().collect();
    assert_eq!(kept.len(), 20, "{stored}");
    assert!(kept[0].contains("burst 0\"") && kept[19].contains("burst 19\""));
    tab.rec.page_shown();
    tab.apply();
    assert!(tab.answer_nth(0, now + 8, Answer::Ok, &mut collector));
    assert!(tab.settled.contains(&p));
    let mut messages = collector.log_messages();
    messages.sort_by_key(|m| m[6..].parse::<u32>().unwrap());
    let expected: Vec<String> = (0..45).map(|i| format!("burst {i}")).collect();
    assert_eq!(messages, expected);
    assert_accounted(&collector, tab.rec.events_recorded());
}

#[test]
fn a_log_carries_the_path_read_with_it_and_other_events_the_path_read_when_stamped() {
    let store = storage();
    let mut tab = Tab::open(config(), &store, 10, T0);
    let mut collector = Collector::default();
    let mut now = T0;
    let call = threadline::recorder::LogCall {
        name: "log",
        severity: threadline::event::Severity::Warn,
        message: "moved",
        attributes: "sstep\0two\0",
        path: Some("/cart/2"),
        correlation: None,
    };
    tab.rec.log(now, &call);
    tab.apply();
    tab.log(now, "here");
    tab.flush(now);
    drain(&mut tab, &mut now, T0 + 60_000, &mut collector, Answer::Ok);
    let logs: Vec<_> = collector.named("log").collect();
    assert_eq!(logs.len(), 2);
    assert_eq!(sim::attr(logs[0], "url.path").as_deref(), Some("/cart/2"));
    assert_eq!(sim::attr(logs[0], "step").as_deref(), Some("two"));
    assert_eq!(logs[0]["severityText"], "WARN");
    assert_eq!(sim::attr(logs[1], "url.path").as_deref(), Some("/checkout"));
}

#[test]
fn a_reload_sends_what_the_hidden_page_stored_exactly_once() {
    let store = storage();
    let mut first = Tab::open(config(), &store, 3, T0);
    let mut collector = Collector::default();
    let mut now = T0;
    first.log_many(now, "before", 50);
    // The endpoint is down, then the page is hidden and closed.
    first.flush(now);
    assert!(first.answer(now, Answer::NetworkError, &mut collector));
    first.hide(now);
    first.beacons.clear(); // the beacon is lost too
    let recorded = first.rec.events_recorded();
    drop(first);
    now += 5_000;
    let mut second = Tab::open(config(), &store, 4, now);
    drain(
        &mut second,
        &mut now,
        T0 + 120_000,
        &mut collector,
        Answer::Ok,
    );
    let messages = collector.log_messages();
    assert_eq!(messages.len(), 50, "{messages:?}");
    assert!(
        !store
            .borrow()
            .items
            .keys()
            .any(|k| k.starts_with("threadline.outbox.")),
        "claimed storage is removed"
    );
    assert_accounted(&collector, recorded + second.rec.events_recorded());
}

#[test]
fn storage_past_the_budget_keeps_the_newest_and_stores_the_count() {
    let store = storage();
    let small = Config {
        max_storage_bytes: 40_000,
        ..config()
    };
    let mut first = Tab::open(small.clone(), &store, 5, T0);
    let now = T0;
    for i in 0..400 {
        first.log(now, &format!("{i:04} {}", "x".repeat(200)));
    }
    first.hide(now);
    first.beacons.clear();
    let recorded = first.rec.events_recorded();
    let stored_bytes: usize = store.borrow().items.values().map(String::len).sum();
    assert!(stored_bytes <= 40_000, "{stored_bytes}");
    let mut collector = Collector::default();
    let mut now = now + 1_000;
    let mut second = Tab::open(small, &store, 6, now);
    drain(
        &mut second,
        &mut now,
        T0 + 120_000,
        &mut collector,
        Answer::Ok,
    );
    let messages = collector.log_messages();
    assert!(messages.len() < 400 && messages.iter().any(|m| m.starts_with("0399")));
    assert!(
        !messages.iter().any(|m| m.starts_with("0000")),
        "the oldest go first"
    );
    // What did not fit is counted by the note stored with the rest.
    assert_eq!(storage_notes(&collector), 1);
    assert_accounted(&collector, recorded + second.rec.events_recorded() + 1);
}

#[test]
fn two_tabs_share_one_session_and_one_storage_budget() {
    let store = storage();
    let budget = Config {
        max_storage_bytes: 30_000,
        ..config()
    };
    let mut a = Tab::open(budget.clone(), &store, 7, T0);
    let session = a.rec.session_id(T0).unwrap();
    a.apply();
    let mut b = Tab::open(budget, &store, 8, T0 + 10);
    assert_eq!(
        b.rec.session_id(T0 + 10),
        Some(session),
        "the second tab joins the session"
    );
    b.apply();
    a.sync();
    for i in 0..300 {
        a.log(T0 + 20, &format!("a{i} {}", "y".repeat(150)));
        b.log(T0 + 20, &format!("b{i} {}", "y".repeat(150)));
    }
    a.hide(T0 + 30);
    b.sync();
    b.hide(T0 + 31);
    let used: usize = store
        .borrow()
        .items
        .iter()
        .filter(|(k, _)| k.starts_with("threadline.outbox."))
        .map(|(_, v)| v.len())
        .sum();
    assert!(
        used <= 30_000,
        "both tabs together stay within the budget: {used}"
    );
    // After 31 idle minutes the session rotates, once, for both tabs.
    let later = T0 + 31 * 60_000;
    let rotated = a.rec.session_id(later).unwrap();
    a.apply();
    assert_ne!(rotated, session);
    b.sync();
    assert_eq!(b.rec.session_id(later + 5), Some(rotated));
}

#[test]
fn shutdown_settles_and_stops_in_every_state() {
    type Setup = fn(&mut Tab, &mut Collector, Millis);
    let states: [(&str, Setup); 5] = [
        ("idle", |_, _, _| {}),
        ("events queued", |t, _, now| t.log(now, "queued")),
        ("upload in flight", |t, _, now| {
            t.log(now, "in flight");
            t.flush(now);
        }),
        ("backing off", |t, c, now| {
            t.log(now, "failing");
            t.flush(now);
            t.answer(now, Answer::Status(503), c);
        }),
        ("page hidden", |t, _, now| {
            t.log(now, "hidden");
            t.hide(now);
        }),
    ];
    for (state, setup) in states {
        let store = storage();
        let mut tab = Tab::open(config(), &store, 9, T0);
        let mut collector = Collector::default();
        setup(&mut tab, &mut collector, T0);
        let p = tab.shutdown(T0 + 1);
        let deadline = T0 + 1 + Config::default().upload_timeout + FLUSH_GRACE;
        // The endpoint never answers: the flush settles by its deadline anyway.
        let mut now = T0 + 1;
        while !tab.settled.contains(&p) {
            let next = tab
                .next_timer()
                .unwrap_or_else(|| panic!("{state}: no timer left and not settled"));
            assert!(next <= deadline, "{state}: settles by the deadline");
            now = next;
            tab.run_timers(now);
        }
        assert!(
            tab.timers.is_empty(),
            "{state}: no timer after shutdown: {:?}",
            tab.timers
        );
        tab.uploads.clear();
        tab.log(now + 1, "after");
        tab.run_timers(now + 100_000);
        assert!(
            tab.uploads.is_empty() && tab.timers.is_empty(),
            "{state}: nothing is sent after shutdown"
        );
        let p2 = tab.flush(now + 2);
        assert!(
            tab.settled.contains(&p2),
            "{state}: a flush after shutdown settles at once"
        );
    }
}

#[test]
fn requests_past_the_in_flight_bound_are_counted_not_lost() {
    let store = storage();
    let mut tab = Tab::open(config(), &store, 10, T0);
    let mut collector = Collector::default();
    let mut now = T0;
    let total = MAX_IN_FLIGHT + 500;
    let mut tokens = Vec::new();
    for i in 0..total {
        match tab.fetch(now, "GET", &format!("https://shop.test/api/item/{i}")) {
            Plan::Tag { token, .. } => tokens.push(token),
            other => panic!("same-origin request not tagged: {other:?}"),
        }
    }
    assert!(tab.rec.requests_in_flight() <= MAX_IN_FLIGHT);
    for chunk in tokens.chunks(500) {
        now += 50;
        for token in chunk {
            tab.rec
                .request_settled(now, *token, Settled::Status(200), None, None);
            tab.apply();
        }
        tab.flush(now);
        let until = now + 60_000;
        drain(&mut tab, &mut now, until, &mut collector, Answer::Ok);
    }
    let requests = collector.named("http.request").count();
    assert_eq!(
        requests,
        total - MAX_IN_FLIGHT / 2,
        "the older half was forgotten"
    );
    // The forgotten requests' events were never recorded, and are counted as dropped.
    assert_accounted(
        &collector,
        tab.rec.events_recorded() + (MAX_IN_FLIGHT / 2) as u64,
    );
    assert_eq!(requests as u64 + collector.dropped(), total as u64);
}

#[test]
fn an_automatic_action_ends_once_its_requests_settle_and_its_failure_is_the_debug_id() {
    let store = storage();
    let mut tab = Tab::open(config(), &store, 11, T0);
    let long = "Pay ".repeat(40);
    let id = tab.click(T0, &long).unwrap();
    let plan = tab.fetch(T0 + 5, "POST", "https://shop.test/api/pay");
    assert_eq!(Tab::tagged(&plan), Some(id));
    // The submit the same click causes is the same action.
    assert_eq!(
        tab.rec.trigger(
            T0 + 6,
            &Trigger {
                fields: "form",
                is_submit: true,
                same_element: true
            }
        ),
        None
    );
    let Plan::Tag { token, .. } = plan else {
        unreachable!()
    };
    tab.rec.request_settled(
        T0 + 300,
        token,
        Settled::Status(502),
        Some("server-id-0123456789"),
        None,
    );
    tab.apply();
    assert_eq!(tab.timers.get(&0), Some(&(T0 + 300 + AUTO_ACTION_IDLE_MS)));
    tab.run_timers(T0 + 300 + AUTO_ACTION_IDLE_MS);
    assert_eq!(tab.rec.current_action(), None);
    assert_eq!(tab.rec.debug_id().as_deref(), Some("server-id-0123456789"));
    assert!(
        !tab.timers.contains_key(&0),
        "no automatic-action timer once it ended"
    );
}

#[test]
fn a_name_cut_right_before_a_space_does_not_end_in_it() {
    let store = storage();
    let mut tab = Tab::open(config(), &store, 13, T0);
    let words = "Pay ".repeat(40);
    let cut = "Pay ".repeat(MAX_ACTION_NAME_CHARS / 4);
    tab.click(T0, &words).unwrap();
    assert_eq!(
        tab.rec.current_action().map(|(_, n, _)| n),
        Some(cut.trim_end())
    );
    let explicit = tab
        .rec
        .start_action(T0 + 1, &format!("  {words}"), "")
        .unwrap();
    tab.apply();
    assert_eq!(
        tab.rec.current_action().map(|(id, n, _)| (id, n)),
        Some((explicit, cut.trim_end()))
    );
    tab.rec.start_action(T0 + 2, " \t ", "").unwrap();
    assert_eq!(tab.rec.current_action().map(|(_, n, _)| n), Some("action"));
}

#[test]
fn action_names_are_cut_to_one_cap_and_outcomes_follow_failures() {
    let store = storage();
    let mut tab = Tab::open(config(), &store, 12, T0);
    let mut collector = Collector::default();
    let long = "é".repeat(200);
    let auto = tab.click(T0, &long).unwrap();
    let Plan::Tag { token, .. } = tab.fetch(T0 + 1, "GET", "https://shop.test/api/cart") else {
        panic!()
    };
    tab.rec
        .request_settled(T0 + 2, token, Settled::NetworkError, None, None);
    tab.apply();
    tab.run_timers(T0 + 1_000);
    let explicit = tab.rec.start_action(T0 + 2_000, &long, "").unwrap();
    tab.apply();
    assert_ne!(auto, explicit);
    tab.rec
        .end_action(T0 + 2_001, explicit, ActionOutcome::Cancelled);
    tab.apply();
    let mut now = T0 + 2_001;
    tab.flush(now);
    drain(&mut tab, &mut now, T0 + 60_000, &mut collector, Answer::Ok);
    let names: Vec<String> = collector
        .named("action.start")
        .map(|r| sim::attr(r, "action.name").unwrap())
        .collect();
    let cut = "é".repeat(MAX_ACTION_NAME_CHARS);
    assert_eq!(names, [cut.clone(), cut]);
    let outcomes: HashSet<String> = collector
        .named("action.end")
        .map(|r| sim::attr(r, "action.outcome").unwrap())
        .collect();
    assert_eq!(
        outcomes,
        HashSet::from(["error".to_owned(), "cancelled".to_owned()])
    );
    assert_accounted(&collector, tab.rec.events_recorded());
}

#[test]
fn a_request_to_another_origin_gets_nothing_and_a_refusing_origin_gets_nothing_more() {
    let store = storage();
    let mut tab = Tab::open(
        Config {
            propagate_to: vec![
                threadline::allowlist::OriginPattern::parse("https://api.shop.test").unwrap(),
            ],
            ..config()
        },
        &store,
        13,
        T0,
    );
    assert_eq!(
        tab.fetch(T0, "GET", "https://api.shop.test.evil.test/x"),
        Plan::Untouched
    );
    let Plan::Tag { token, .. } = tab.fetch(T0, "GET", "https://api.shop.test/x") else {
        panic!()
    };
    assert!(
        tab.rec.may_resend(token),
        "a failed cross-origin GET may go again without headers"
    );
    tab.rec.cors_refused(T0 + 1, "https://api.shop.test/x");
    tab.apply();
    assert_eq!(tab.warnings.len(), 1);
    assert_eq!(
        tab.fetch(T0 + 2, "GET", "https://api.shop.test/y"),
        Plan::Untouched
    );
}

#[test]
fn a_request_the_app_tagged_itself_is_only_observed_and_recorded_under_the_echo() {
    let store = storage();
    let mut tab = Tab::open(config(), &store, 14, T0);
    let mut collector = Collector::default();
    let plan = tab.request(T0, "https://shop.test/api/a", ",x-correlation-id,", None);
    let Plan::Observe(token) = plan else {
        panic!("the app's own header is left alone: {plan:?}")
    };
    let echoed = "0af7651916cd43dd8448eb211c80319c";
    tab.rec
        .request_settled(T0 + 20, token, Settled::Status(200), Some(echoed), None);
    tab.apply();
    let mut now = T0 + 20;
    tab.flush(now);
    drain(&mut tab, &mut now, T0 + 60_000, &mut collector, Answer::Ok);
    let request: Vec<_> = collector.named("http.request").collect();
    assert_eq!(request.len(), 1);
    assert_eq!(
        sim::attr(request[0], "correlation_id").as_deref(),
        Some(echoed)
    );
    assert_eq!(request[0]["traceId"].as_str(), Some(echoed));
}

#[test]
fn traceparent_and_the_session_go_where_the_options_say() {
    let store = storage();
    let mut options = Config {
        propagate_to: vec![
            threadline::allowlist::OriginPattern::parse("https://api.shop.test").unwrap(),
        ],
        ..config()
    };
    options.propagation.traceparent = false;
    let mut tab = Tab::open(options.clone(), &store, 15, T0);
    let session = tab.rec.session_id(T0).unwrap().to_hex();
    let names = |plan: &Plan| match plan {
        Plan::Tag { headers, .. } => headers
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect::<Vec<_>>(),
        other => panic!("not tagged: {other:?}"),
    };
    // By default the session goes to the page's own origin only, in baggage.
    let same = tab.request(T0, "https://shop.test/api", ",", None);
    assert_eq!(names(&same), ["x-correlation-id", "baggage"]);
    let Plan::Tag { headers, .. } = &same else {
        unreachable!()
    };
    assert_eq!(headers[1].1, format!("session.id={session}"));
    let cross = tab.request(T0, "https://api.shop.test/v1", ",", None);
    assert_eq!(names(&cross), ["x-correlation-id"]);
    // The app's baggage is kept, the session added.
    let merged = tab.request(T0, "https://shop.test/api", ",baggage,", Some("tenant=7"));
    let Plan::Tag { headers, .. } = &merged else {
        unreachable!()
    };
    assert_eq!(headers[1].1, format!("tenant=7,session.id={session}"));
    // With traceparent, the trace and the session travel everywhere the header does.
    options.propagation.traceparent = true;
    options.propagation.session_to = threadline::propagation::SessionTo::All;
    let mut traced = Tab::open(options, &storage(), 16, T0);
    let plan = traced.request(T0, "https://api.shop.test/v1", ",", None);
    assert_eq!(names(&plan), ["x-correlation-id", "traceparent", "baggage"]);
    let Plan::Tag { id, headers, .. } = &plan else {
        unreachable!()
    };
    assert!(
        headers[1].1.starts_with(&format!("00-{}-", id.to_hex())) && headers[1].1.ends_with("-01")
    );
}

#[test]
fn the_session_rotates_after_idle_time_and_actions_keep_it_alive() {
    let store = storage();
    let mut tab = Tab::open(config(), &store, 17, T0);
    let first = tab.rec.session_id(T0).unwrap();
    tab.apply();
    // Reading the session never extends it; an action does.
    let idle = Config::default().session.idle;
    assert_eq!(tab.rec.session_id(T0 + idle - 1), Some(first));
    tab.rec.start_action(T0 + idle - 1, "keep", "").unwrap();
    tab.apply();
    assert_eq!(tab.rec.session_id(T0 + 2 * idle - 2), Some(first));
    let rotated = tab.rec.session_id(T0 + 2 * idle).unwrap();
    tab.apply();
    assert_ne!(rotated, first);
    assert!(store.borrow().items["threadline.session"].contains(&rotated.to_hex()));
    // However active, it rotates at its maximum age.
    let max_age = Config::default().session.max_age;
    let mut at = T0 + 2 * idle;
    while at < T0 + 2 * idle + max_age {
        tab.rec.start_action(at, "busy", "").unwrap();
        tab.apply();
        at += idle / 2;
    }
    assert_ne!(tab.rec.session_id(at), Some(rotated));
}

#[test]
fn the_session_is_written_when_it_starts_and_when_an_action_keeps_it_alive_never_per_request() {
    let store = storage();
    let mut tab = Tab::open(config(), &store, 29, T0);
    // A second tab of the origin sees each write as a `storage` event.
    let _other = Tab::open(config(), &store, 30, T0);
    let session_writes = || {
        store.borrow().pending.get(&1).map_or(0, |writes| {
            writes
                .iter()
                .filter(|(key, _)| key == "threadline.session")
                .count()
        })
    };
    let mut at = T0;
    for i in 0..200 {
        at = T0 + i * 1_500;
        let plan = tab.fetch(at, "GET", "https://shop.test/api/cart");
        let Plan::Tag { token, .. } = plan else {
            panic!("a same-origin request is tagged: {plan:?}");
        };
        tab.rec
            .request_settled(at + 20, token, Settled::Status(200), None, None);
        tab.log(at + 30, "cart shown");
        tab.apply();
    }
    assert_eq!(
        session_writes(),
        1,
        "200 requests and logs over 5 minutes: one write, when the session started"
    );
    tab.rec.start_action(at + 2_000, "pay", "").unwrap();
    tab.apply();
    assert_eq!(session_writes(), 2, "an action keeps the session alive");
    let id = tab.rec.session_id(at + 2_000).unwrap();
    assert!(store.borrow().items["threadline.session"].contains(&id.to_hex()));
}

#[test]
fn storage_is_read_for_the_session_only_when_a_request_or_event_needs_it_and_once() {
    let store = storage();
    store
        .borrow_mut()
        .items
        .insert("threadline.session".into(), "garbage".into());
    let options = Config {
        endpoint: None,
        propagate_to: vec![
            threadline::allowlist::OriginPattern::parse("https://api.shop.test").unwrap(),
        ],
        ..config()
    };
    let mut tab = Tab::open(options, &store, 31, T0);
    let reads = tab.session_reads.clone();
    // Cross-origin requests carry no session by default: nothing waits for storage.
    for i in 0..3 {
        let plan = tab.fetch(T0 + i, "GET", "https://api.shop.test/cart");
        assert!(Tab::tagged(&plan).is_some());
    }
    assert_eq!(
        *reads.borrow(),
        0,
        "no session needed yet: storage untouched"
    );
    // Another tab writes the slot before this one needs it: that value is the one used.
    let mut other = Tab::open(config(), &store, 32, T0 + 5);
    let theirs = other.rec.session_id(T0 + 5).unwrap();
    other.apply();
    tab.sync();
    let plan = tab.fetch(T0 + 10, "GET", "https://shop.test/api/cart");
    let Plan::Tag { headers, .. } = &plan else {
        panic!("same-origin: tagged: {plan:?}");
    };
    assert!(
        headers
            .iter()
            .any(|(n, v)| n == "baggage" && v.contains(&theirs.to_hex())),
        "{headers:?}"
    );
    assert_eq!(
        *reads.borrow(),
        0,
        "the other tab's write told it the value"
    );
    // A fresh tab reads the slot once, when its first same-origin request needs the session.
    let mut fresh = Tab::open(config(), &store, 33, T0 + 20);
    let fresh_reads = fresh.session_reads.clone();
    assert_eq!(*fresh_reads.borrow(), 0);
    for i in 0..3 {
        fresh.fetch(T0 + 20 + i, "GET", "https://shop.test/api/cart");
    }
    assert_eq!(*fresh_reads.borrow(), 1);
    assert_eq!(fresh.rec.session_id(T0 + 30), Some(theirs));
}

#[test]
fn set_user_keeps_opaque_ids_refuses_anything_else_with_a_warning_and_clears_on_null() {
    use threadline::recorder::{USER_WARNING, UserGiven};
    let store = storage();
    let mut tab = Tab::open(config(), &store, 21, T0);
    let mut collector = Collector::default();
    let steps = [
        (UserGiven::Text("u_8f3a"), 0, Some("u_8f3a")),
        // Personal data, and what is not a string: refused, the user stays.
        (UserGiven::Text("ana@shop.test"), 1, Some("u_8f3a")),
        (UserGiven::Text("has space"), 1, Some("u_8f3a")),
        (UserGiven::Other, 1, Some("u_8f3a")),
        (UserGiven::Clear, 0, None),
    ];
    for (i, (given, warnings, _)) in steps.iter().enumerate() {
        tab.warnings.clear();
        tab.rec.set_user(*given);
        tab.apply();
        assert_eq!(tab.warnings.len(), *warnings, "{given:?}");
        assert!(tab.warnings.iter().all(|w| w == USER_WARNING));
        tab.log(T0 + i as u64, &format!("step {i}"));
    }
    let mut now = T0 + 10;
    tab.flush(now);
    drain(&mut tab, &mut now, T0 + 60_000, &mut collector, Answer::Ok);
    let users: Vec<Option<String>> = (0..steps.len())
        .map(|i| {
            let record = collector
                .named("log")
                .find(|r| r["body"]["stringValue"] == format!("step {i}"))
                .unwrap();
            sim::attr(record, "user.id")
        })
        .collect();
    let expected: Vec<Option<String>> = steps.iter().map(|s| s.2.map(str::to_owned)).collect();
    assert_eq!(users, expected);
}

#[test]
fn a_log_level_that_is_not_one_of_the_four_is_info_after_a_warning() {
    use threadline::event::Severity;
    use threadline::recorder::LEVEL_WARNING;
    let store = storage();
    let mut tab = Tab::open(config(), &store, 22, T0);
    for level in [
        Severity::Debug,
        Severity::Info,
        Severity::Warn,
        Severity::Error,
    ] {
        assert_eq!(tab.rec.log_level(Some(level)), level);
    }
    tab.apply();
    assert!(tab.warnings.is_empty());
    assert_eq!(tab.rec.log_level(None), Severity::Info);
    tab.apply();
    assert_eq!(tab.warnings, [LEVEL_WARNING]);
}

#[test]
fn a_tagged_request_met_again_down_the_chain_is_left_alone_and_a_tracer_between_is_the_trace() {
    let store = storage();
    let mut tab = Tab::open(config(), &store, 23, T0);
    let mut collector = Collector::default();
    let url = "https://shop.test/api/cart";
    let action = tab.rec.start_action(T0, "cart", "").unwrap();
    let Plan::Tag { token, id, .. } = tab.fetch(T0, "GET", url) else {
        panic!("tagged")
    };
    assert_eq!(id, action);
    // Below another wrapper, with the traceparent a tracer in between put on it.
    let tracer = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert_eq!(
        tab.met_again(T0 + 1, url, id, Some(tracer)),
        Plan::Untouched
    );
    // The same request, once more without one: still left alone, and the tracer's stays.
    assert_eq!(tab.met_again(T0 + 1, url, id, None), Plan::Untouched);
    // An ID of Threadline's that no request in flight carries is the app's to set: observed.
    let other = threadline::id::Id::parse("0123456789abcdef0123456789abcdef").unwrap();
    assert!(matches!(
        tab.met_again(T0 + 2, url, other, None),
        Plan::Observe(_)
    ));
    tab.rec
        .request_settled(T0 + 3, token, Settled::Status(200), None, None);
    tab.apply();
    // Settled: the ID is no longer in flight, so a request carrying it now is the app's.
    assert!(matches!(
        tab.met_again(T0 + 4, url, id, None),
        Plan::Observe(_)
    ));
    let mut now = T0 + 5;
    tab.flush(now);
    drain(&mut tab, &mut now, T0 + 60_000, &mut collector, Answer::Ok);
    let ours: Vec<_> = collector
        .named("http.request")
        .filter(|r| sim::attr(r, "correlation_id") == Some(id.to_hex()))
        .collect();
    assert_eq!(
        ours.len(),
        1,
        "one event for the request, not one per wrapper"
    );
    assert_eq!(
        sim::attr(ours[0], "http.request.trace_id").as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
}
