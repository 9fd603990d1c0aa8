//! Invariants of the core recorder over random sequences of happenings: no event is both
//! stored and counted dropped, nor stored twice; every `flush` settles by its deadline; an
//! action's ID is never handed out again; only allowed origins get headers; a request of
//! Threadline's own met again further down the chain is left alone while it is in flight.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod sim;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use proptest::prelude::*;
use sim::{Answer, Collector, Storage, T0, Tab, config};
use threadline::Millis;
use threadline::allowlist::OriginPattern;
use threadline::id::Id;
use threadline::options::Config;
use threadline::page_events::{ActionOutcome, Settled};
use threadline::recorder::limits::FLUSH_GRACE;
use threadline::recorder::{Plan, Trigger};

/// The URLs a page may ask for: two allowed origins and look-alikes that are not.
const URLS: [(&str, bool); 6] = [
    ("https://shop.test/api/cart", true),
    ("https://api.shop.test/v1/pay", true),
    ("https://api.shop.test.evil.test/v1/pay", false),
    ("http://shop.test/api/cart", false),
    ("https://shop.test:8443/api", false),
    ("https://evil.test/?u=https://shop.test", false),
];

#[derive(Clone, Debug)]
enum Step {
    Log(u8),
    Fetch(usize),
    /// A request in flight comes by again further down the chain, carrying its ID; or, once
    /// none in flight carries it, a request of the app's that does.
    MetAgain(usize),
    Settle(usize, Option<u16>),
    StartAction,
    EndAction(usize, u8),
    Click(bool),
    Wait(u32),
    /// Answers one of the uploads in flight, any of them.
    Answer(usize, Answer),
    Flush,
    Hidden,
    Shown,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => any::<u8>().prop_map(Step::Log),
        3 => (0..URLS.len()).prop_map(Step::Fetch),
        2 => any::<usize>().prop_map(Step::MetAgain),
        3 => (any::<usize>(), prop_oneof![Just(None), (100u16..600).prop_map(Some)]).prop_map(|(i, s)| Step::Settle(i, s)),
        1 => Just(Step::StartAction),
        1 => (any::<usize>(), 0u8..3).prop_map(|(i, o)| Step::EndAction(i, o)),
        1 => any::<bool>().prop_map(Step::Click),
        3 => (1u32..120_000).prop_map(Step::Wait),
        3 => prop_oneof![
            3 => Just(Answer::Ok),
            1 => Just(Answer::Status(503)),
            1 => Just(Answer::Status(400)),
            1 => Just(Answer::Status(413)),
            1 => Just(Answer::NetworkError),
        ].prop_flat_map(|a| any::<usize>().prop_map(move |i| Step::Answer(i, a))),
        1 => Just(Step::Flush),
        1 => Just(Step::Hidden),
        1 => Just(Step::Shown),
    ]
}

fn page_config() -> Config {
    Config {
        propagate_to: vec![OriginPattern::parse("https://api.shop.test").unwrap()],
        max_storage_bytes: 20_000,
        limits: threadline::batcher::Limits {
            max_events: 5,
            max_queue_bytes: 16_384,
            ..threadline::batcher::Limits::default()
        },
        ..config()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_happening_keeps_the_invariants(steps in prop::collection::vec(step(), 1..120), shutdown in any::<bool>(), seed in any::<u64>()) {
        let store = Rc::new(RefCell::new(Storage::default()));
        let mut tab = Tab::open(page_config(), &store, seed, T0);
        let mut collector = Collector::default();
        let mut now = T0;
        let mut in_flight = Vec::new();
        let mut actions: Vec<Id> = Vec::new();
        let mut handed_out: HashSet<Id> = HashSet::new();
        let mut fresh_ids: HashSet<Id> = HashSet::new();
        // Requests that failed retryably: a repeat within the retry window keeps their ID.
        let mut failed: HashSet<(usize, Id)> = HashSet::new();
        let mut tokens: HashMap<u32, (usize, Id)> = HashMap::new();
        let mut flushes: HashMap<u32, Millis> = HashMap::new();
        let deadline = |at: Millis| at + Config::default().upload_timeout + FLUSH_GRACE;
        let new_action = |id: Id, handed_out: &mut HashSet<Id>| {
            prop_assert!(handed_out.insert(id), "action ID {} handed out twice", id.to_hex());
            Ok(())
        };
        for step in steps {
            match step {
                Step::Log(n) => tab.log(now, &format!("log {n}")),
                Step::Fetch(u) => {
                    let (url, allowed) = URLS[u];
                    let current = tab.rec.current_action().map(|(id, _, _)| id);
                    match tab.fetch(now, "GET", url) {
                        Plan::Untouched => prop_assert!(!allowed, "{url} got no headers"),
                        Plan::Observe(_) => prop_assert!(false, "nothing set the header for {url}"),
                        Plan::Tag { token, id, headers } => {
                            prop_assert!(allowed, "{url} got headers {headers:?}");
                            prop_assert_eq!(&headers[0].1, &id.to_hex());
                            match current {
                                Some(action) => prop_assert_eq!(id, action),
                                None => {
                                    prop_assert!(
                                        !handed_out.contains(&id) || failed.contains(&(u, id)),
                                        "a request outside actions borrowed an action's ID without being a retry"
                                    );
                                    fresh_ids.insert(id);
                                }
                            }
                            tokens.insert(token, (u, id));
                            in_flight.push(token);
                        }
                    }
                }
                Step::MetAgain(i) => {
                    let known: Vec<(usize, Id)> = tokens.values().copied().collect();
                    if !known.is_empty() {
                        let (u, id) = known[i % known.len()];
                        let (url, allowed) = URLS[u];
                        let carried = in_flight.iter().any(|t| tokens.get(t).is_some_and(|(_, other)| *other == id));
                        match tab.met_again(now, url, id, None) {
                            Plan::Untouched => prop_assert!(carried || !allowed, "the app's request to {url} was not followed"),
                            Plan::Observe(token) => {
                                prop_assert!(!carried, "{url}: one of Threadline's own was followed twice");
                                prop_assert!(allowed);
                                in_flight.push(token);
                            }
                            Plan::Tag { .. } => prop_assert!(false, "{url}: a request carrying an ID got another"),
                        }
                    }
                }
                Step::Settle(i, status) => {
                    if !in_flight.is_empty() {
                        let token = in_flight.swap_remove(i % in_flight.len());
                        let settled = status.map_or(Settled::NetworkError, Settled::Status);
                        if threadline::retry::is_retryable(status) {
                            if let Some(request) = tokens.get(&token) {
                                failed.insert(*request);
                            }
                        }
                        tab.rec.request_settled(now, token, settled, None, None);
                        tab.apply();
                    }
                }
                Step::StartAction => {
                    let id = tab.rec.start_action(now, "pay", "").unwrap();
                    tab.apply();
                    prop_assert!(!fresh_ids.contains(&id), "an action took a request's ID");
                    new_action(id, &mut handed_out)?;
                    actions.push(id);
                }
                Step::EndAction(i, o) => {
                    if !actions.is_empty() {
                        let id = actions[i % actions.len()];
                        let outcome = [ActionOutcome::Ok, ActionOutcome::Error, ActionOutcome::Cancelled][o as usize];
                        tab.rec.end_action(now, id, outcome);
                        tab.apply();
                    }
                }
                Step::Click(submit) => {
                    if let Some(id) = tab.rec.trigger(now, &Trigger { fields: "button\0Pay", is_submit: submit, same_element: false }) {
                        prop_assert!(!fresh_ids.contains(&id), "an action took a request's ID");
                        new_action(id, &mut handed_out)?;
                    }
                    tab.apply();
                }
                Step::Wait(ms) => {
                    let until = now + Millis::from(ms);
                    while let Some(at) = tab.next_timer().filter(|at| *at <= until) {
                        now = at.max(now);
                        tab.run_timers(now);
                    }
                    now = until;
                }
                Step::Answer(i, answer) => {
                    tab.answer_nth(i, now, answer, &mut collector);
                }
                Step::Flush => {
                    let p = tab.flush(now);
                    flushes.insert(p, deadline(now));
                }
                Step::Hidden => {
                    tab.hide(now);
                }
                Step::Shown => {
                    tab.rec.page_shown();
                    tab.apply();
                }
            }
            for (p, by) in &flushes {
                prop_assert!(tab.settled.contains(p) || now < *by, "flush {p} not settled by its deadline");
            }
        }
        // The endpoint recovers (or the page shuts down): everything ends stored or counted.
        if shutdown {
            let p = tab.shutdown(now);
            flushes.insert(p, deadline(now));
        }
        for token in in_flight.drain(..) {
            tab.rec.request_settled(now, token, Settled::Status(200), None, None);
            tab.apply();
        }
        let p = tab.flush(now);
        flushes.insert(p, deadline(now));
        let recorded = tab.rec.events_recorded();
        let end = now + 3_600_000;
        while now < end {
            tab.run_timers(now);
            while tab.answer(now, Answer::Ok, &mut collector) {}
            match tab.next_timer() {
                Some(at) => now = at.max(now + 1),
                None => break,
            }
        }
        for p in flushes.keys() {
            prop_assert!(tab.settled.contains(p), "flush {p} never settled");
        }
        let twice: Vec<_> = collector.stored.iter().filter(|(_, n)| **n > 1).collect();
        prop_assert!(twice.is_empty(), "stored more than once: {twice:?}");
        if !shutdown {
            let recorded = recorded.max(tab.rec.events_recorded());
            let notes = collector.named("threadline.dropped").filter(|r| sim::attr(r, "dropped.storage_full").is_some()).count() as u64;
            prop_assert_eq!(collector.stored.len() as u64 - notes + collector.dropped(), recorded);
        }
    }
}
