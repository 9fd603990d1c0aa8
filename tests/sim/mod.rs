//! A simulated page around the core recorder: a clock, a seeded entropy source, storage shared
//! by the tabs of one origin, timers, and an ingestion endpoint that answers as a script says.
//! It carries out the recorder's effects the way the web shell does, so whole page lives run
//! natively in milliseconds.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use threadline::Millis;
use threadline::baggage::HeaderWrite;
use threadline::id::{Entropy, Id, IdPool};
use threadline::options::Config;
use threadline::origin::Origin;
use threadline::outbox::KEY_PREFIX;
use threadline::recorder::{
    Effect, PagePath, Plan, PromiseId, Recorder, Request, SESSION_KEY, Slot, Timer,
};

/// The simulated page is always at `/checkout`; its session slot is in `storage`.
pub struct Checkout {
    pub storage: Rc<RefCell<Storage>>,
    /// How often the recorder read the session slot.
    pub session_reads: Rc<RefCell<u32>>,
}

impl PagePath for Checkout {
    fn path(&mut self) -> String {
        "/checkout".to_owned()
    }

    fn stored_session(&mut self) -> Option<String> {
        *self.session_reads.borrow_mut() += 1;
        self.storage.borrow().items.get(SESSION_KEY).cloned()
    }
}

/// localStorage of one origin, shared by its tabs.
#[derive(Default)]
pub struct Storage {
    pub items: BTreeMap<String, String>,
    /// Writes not yet seen by each tab, as `storage` events: (key, value).
    pub pending: HashMap<usize, Vec<(String, Option<String>)>>,
    pub tabs: usize,
}

/// What the ingestion endpoint answers next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 200, the events are stored.
    Ok,
    /// A status without storing (503, 429, 400…).
    Status(u16),
    /// The network fails.
    NetworkError,
}

/// The endpoint: which events it stored, how often each.
#[derive(Default)]
pub struct Collector {
    pub stored: HashMap<String, u32>,
    pub records: Vec<serde_json::Value>,
    pub uploads: u32,
}

impl Collector {
    /// Takes an OTLP JSON body.
    pub fn store(&mut self, body: &str) {
        let v: serde_json::Value = serde_json::from_str(body).expect("an upload is JSON");
        for rl in v["resourceLogs"].as_array().unwrap() {
            for sl in rl["scopeLogs"].as_array().unwrap() {
                for r in sl["logRecords"].as_array().unwrap() {
                    let id = attr(r, "event.id").unwrap();
                    *self.stored.entry(id).or_default() += 1;
                    self.records.push(r.clone());
                }
            }
        }
    }

    /// Records of event `name`.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a serde_json::Value> + 'a {
        self.records
            .iter()
            .filter(move |r| attr(r, "event.name").as_deref() == Some(name))
    }

    /// Messages of `log` events stored.
    pub fn log_messages(&self) -> Vec<String> {
        self.named("log")
            .map(|r| r["body"]["stringValue"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Events stored that are not drop reports.
    pub fn events(&self) -> u64 {
        self.records
            .iter()
            .filter(|r| attr(r, "event.name").as_deref() != Some("threadline.dropped"))
            .count() as u64
    }

    /// Events reported dropped, by every `threadline.dropped` event stored.
    pub fn dropped(&self) -> u64 {
        self.named("threadline.dropped")
            .flat_map(|r| r["attributes"].as_array().unwrap().iter())
            .filter(|a| a["key"].as_str().unwrap().starts_with("dropped."))
            .map(|a| {
                a["value"]["intValue"]
                    .as_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
            })
            .sum()
    }
}

/// An attribute's value as text.
pub fn attr(record: &serde_json::Value, key: &str) -> Option<String> {
    record["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| {
            let v = &a["value"];
            v["stringValue"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| v["intValue"].as_str().map(str::to_owned))
                .unwrap_or_else(|| v.to_string())
        })
}

/// One tab running the recorder.
pub struct Tab {
    pub rec: Recorder<Checkout>,
    /// How often the recorder read the session slot.
    pub session_reads: Rc<RefCell<u32>>,
    /// This tab's storage key for pending events.
    pub outbox_key: String,
    pub index: usize,
    pub storage: Rc<RefCell<Storage>>,
    pub timers: HashMap<u8, Millis>,
    /// Uploads sent and not answered yet: batch, body.
    pub uploads: Vec<(u32, String)>,
    pub beacons: Vec<String>,
    pub settled: HashSet<PromiseId>,
    next_promise: PromiseId,
    pub warnings: Vec<String>,
    /// Whether the browser queues beacons.
    pub beacons_queue: bool,
}

/// A fixed wall-clock start for every simulated page life, so runs are reproducible.
pub const T0: Millis = 1_800_000_000_000;

/// A page at `https://shop.test/checkout` with an endpoint, unless `config` says otherwise.
pub fn config() -> Config {
    Config {
        endpoint: Some("https://collector.test/v1/logs".into()),
        ..Config::default()
    }
}

impl Tab {
    /// Opens a tab of the origin whose storage is `storage`, at `now`, seeded with `seed`;
    /// claims what earlier pages stored, as the shell does at `init`.
    pub fn open(config: Config, storage: &Rc<RefCell<Storage>>, seed: u64, now: Millis) -> Tab {
        let index = {
            let mut s = storage.borrow_mut();
            s.tabs += 1;
            s.tabs - 1
        };
        let session_reads = Rc::new(RefCell::new(0));
        let rec = Recorder::new(
            config,
            Origin::parse_url("https://shop.test/checkout"),
            false,
            IdPool::new(Entropy::Seeded(seed)),
            Checkout {
                storage: storage.clone(),
                session_reads: session_reads.clone(),
            },
        )
        .expect("a recorder");
        let mut tab = Tab {
            outbox_key: rec.outbox_key().unwrap_or_default().to_owned(),
            rec,
            session_reads,
            index,
            storage: storage.clone(),
            timers: HashMap::new(),
            uploads: Vec::new(),
            beacons: Vec::new(),
            settled: HashSet::new(),
            next_promise: 0,
            warnings: Vec::new(),
            beacons_queue: true,
        };
        if tab.rec.sends_events() {
            let claimed: String = {
                let mut s = storage.borrow_mut();
                let keys: Vec<String> = s
                    .items
                    .keys()
                    .filter(|k| k.starts_with(KEY_PREFIX))
                    .cloned()
                    .collect();
                keys.iter().map(|k| s.items.remove(k).unwrap()).collect()
            };
            tab.rec.restore(now, &claimed);
        }
        tab.apply();
        tab
    }

    /// Carries out the recorder's effects, like the web shell's driver.
    pub fn apply(&mut self) {
        while self.rec.has_effects() {
            for effect in self.rec.take_effects() {
                match effect {
                    Effect::SetTimer(t, at) => {
                        self.timers.insert(t as u8, at);
                    }
                    Effect::CancelTimer(t) => {
                        self.timers.remove(&(t as u8));
                    }
                    Effect::Upload { batch, body, .. } => self.uploads.push((batch, body)),
                    Effect::Beacon(body) => {
                        if self.beacons_queue {
                            self.beacons.push(body);
                        }
                        self.rec.beacon_answered(self.beacons_queue);
                    }
                    Effect::Store(slot, value) => {
                        let key = match slot {
                            Slot::Session => SESSION_KEY.to_owned(),
                            Slot::Outbox => self.outbox_key.clone(),
                        };
                        let mut s = self.storage.borrow_mut();
                        let new = (!value.is_empty()).then_some(value.clone());
                        match &new {
                            Some(v) => s.items.insert(key.clone(), v.clone()),
                            None => s.items.remove(&key),
                        };
                        for other in 0..s.tabs {
                            if other != self.index {
                                s.pending
                                    .entry(other)
                                    .or_default()
                                    .push((key.clone(), new.clone()));
                            }
                        }
                    }
                    Effect::Settle(p) => {
                        assert!(self.settled.insert(p), "promise {p} settled twice")
                    }
                    Effect::Warn(w) => self.warnings.push(w),
                }
            }
        }
    }

    /// Delivers the `storage` events other tabs caused.
    pub fn sync(&mut self) {
        let events = self
            .storage
            .borrow_mut()
            .pending
            .remove(&self.index)
            .unwrap_or_default();
        for (key, value) in events {
            self.rec.storage_changed(Some(&key), value.as_deref());
        }
        self.apply();
    }

    /// Fires every timer due at `now`.
    pub fn run_timers(&mut self, now: Millis) {
        loop {
            let due: Vec<u8> = self
                .timers
                .iter()
                .filter(|(_, at)| **at <= now)
                .map(|(t, _)| *t)
                .collect();
            if due.is_empty() {
                return;
            }
            for t in due {
                self.timers.remove(&t);
                self.rec.timer_fired(now, Timer::from_code(t).unwrap());
                self.apply();
            }
        }
    }

    /// The earliest timer.
    pub fn next_timer(&self) -> Option<Millis> {
        self.timers.values().copied().min()
    }

    /// Answers the oldest pending upload.
    pub fn answer(&mut self, now: Millis, answer: Answer, collector: &mut Collector) -> bool {
        self.answer_nth(0, now, answer, collector)
    }

    /// Answers pending upload number `n` (counted from the oldest, modulo how many are pending).
    pub fn answer_nth(
        &mut self,
        n: usize,
        now: Millis,
        answer: Answer,
        collector: &mut Collector,
    ) -> bool {
        if self.uploads.is_empty() {
            return false;
        }
        let (batch, body) = self.uploads.remove(n % self.uploads.len());
        collector.uploads += 1;
        let status = match answer {
            Answer::Ok => {
                collector.store(&body);
                200
            }
            Answer::Status(code) => code,
            Answer::NetworkError => 0,
        };
        self.rec.upload_answered(now, batch, status, None);
        self.apply();
        true
    }

    /// `tl.log("info", message)`.
    pub fn log(&mut self, now: Millis, message: &str) {
        let call = threadline::recorder::LogCall {
            name: "log",
            severity: threadline::event::Severity::Info,
            message,
            attributes: "",
            path: None,
            correlation: None,
        };
        self.rec.log(now, &call);
        self.apply();
    }

    /// `tl.log` of `n` messages `prefix 0`, `prefix 1`…
    pub fn log_many(&mut self, now: Millis, prefix: &str, n: usize) {
        for i in 0..n {
            self.log(now, &format!("{prefix} {i}"));
        }
    }

    /// A click on a button that shows `name`: the automatic action it started, if any.
    pub fn click(&mut self, now: Millis, name: &str) -> Option<Id> {
        let fields = format!("button\0{name}");
        let trigger = threadline::recorder::Trigger {
            fields: &fields,
            is_submit: false,
            same_element: false,
        };
        let id = self.rec.trigger(now, &trigger);
        self.apply();
        id
    }

    /// The page is hidden (or left).
    pub fn hide(&mut self, now: Millis) {
        self.rec.page_hidden(now);
        self.apply();
    }

    /// `tl.flush()`; returns its promise.
    pub fn flush(&mut self, now: Millis) -> PromiseId {
        self.next_promise += 1;
        let p = self.next_promise;
        self.rec.flush(now, p, false);
        self.apply();
        p
    }

    /// `tl.shutdown()`; returns its promise.
    pub fn shutdown(&mut self, now: Millis) -> PromiseId {
        self.next_promise += 1;
        let p = self.next_promise;
        self.rec.shutdown(now, p);
        self.apply();
        p
    }

    /// A fetch about to start; its plan.
    pub fn fetch(&mut self, now: Millis, method: &str, url: &str) -> Plan {
        self.plan(now, method, url, ",", None)
    }

    /// A GET the app set header `names` (`,a,b,`) and `baggage` on, about to start.
    pub fn request(&mut self, now: Millis, url: &str, names: &str, baggage: Option<&str>) -> Plan {
        self.plan(now, "GET", url, names, baggage)
    }

    fn plan(
        &mut self,
        now: Millis,
        method: &str,
        url: &str,
        names: &str,
        baggage: Option<&str>,
    ) -> Plan {
        let plan = self.rec.request_starting(
            now,
            &Request {
                href: url,
                method,
                names,
                previous: None,
                forced: None,
                traceparent: None,
                baggage,
                write: HeaderWrite::Replace,
                tracer: false,
                carried: None,
            },
            |_: &str| false,
        );
        self.apply();
        plan
    }

    /// The request a plan tagged with `id`, met again further down the chain (through another
    /// wrapper, or a fetch polyfill's XHR) carrying that ID and `traceparent`.
    pub fn met_again(&mut self, now: Millis, url: &str, id: Id, traceparent: Option<&str>) -> Plan {
        let plan = self.rec.request_starting(
            now,
            &Request {
                href: url,
                method: "GET",
                names: ",traceparent,x-correlation-id,",
                previous: None,
                forced: None,
                traceparent,
                baggage: None,
                write: HeaderWrite::Replace,
                tracer: false,
                carried: Some(id),
            },
            |_: &str| false,
        );
        self.apply();
        plan
    }

    /// The correlation ID a plan put on the request.
    pub fn tagged(plan: &Plan) -> Option<Id> {
        match plan {
            Plan::Tag { id, .. } => Some(*id),
            _ => None,
        }
    }
}
