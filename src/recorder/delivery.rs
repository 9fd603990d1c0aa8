//! Ships the page's events: stamps and encodes them, hands them to the batcher and turns its
//! answers into uploads and timers, reports drops as a `threadline.dropped` event, decides when
//! a `flush()` settles and when `shutdown()` stops, keeps what is pending in storage when the
//! page is hidden (within the storage budget shared by the origin's tabs, plus a best-effort
//! beacon), and sends what earlier pages left behind.

use alloc::string::String;
use alloc::vec::Vec;

use crate::Millis;
use crate::batcher::{Batcher, DropReason, Next, Record, Response};
use crate::event::{Severity, Stamp};
use crate::id::Id;
use crate::options::Config;
use crate::otlp::{Resource, encode_body};
use crate::outbox::{self, BEACON_MAX_BYTES, BeaconLog, KEY_PREFIX, KeepaliveBudget};
use crate::page_events;
use crate::recorder::Recorder;
use crate::recorder::effect::{Effect, PromiseId, Slot, Timer};
use crate::recorder::limits::{DROPPED_EVENT_RESERVE, FLUSH_GRACE};
use crate::redact::Redactor;
use crate::retry_after;
use crate::text::concat;

/// A `flush()` waiting for every event queued before it to be acknowledged (or persisted).
struct Waiter {
    /// How many events the batcher had been given when `flush()` was called.
    upto: u64,
    promise: PromiseId,
    /// When it settles at the latest, with what is unacknowledged written to storage.
    deadline: Millis,
}

/// The event pipeline of a recorder that has an `endpoint`.
pub struct Delivery {
    batcher: Batcher,
    min_level: Severity,
    keep_query: bool,
    redactor: Redactor,
    endpoint: String,
    service: String,
    max_storage: usize,
    /// This tab's storage key for pending events.
    outbox_key: String,
    /// What the other tabs of the origin keep in storage, by key (from their writes).
    others: Vec<(String, usize)>,
    /// When the batch timer is set for.
    timer: Option<Millis>,
    waiters: Vec<Waiter>,
    keepalive: KeepaliveBudget,
    beaconed: BeaconLog,
    /// The events of the beacon awaiting the shell's answer.
    beaconing: Vec<Record>,
    /// How long an upload may take before it is aborted (then handled as a network error).
    upload_timeout: Millis,
    /// When the `flush()` deadline timer is set for.
    flush_timer: Option<Millis>,
    /// `shutdown()` was called: once its flush settles, the pipeline stops.
    closing: bool,
    /// Events recorded so far (each is later acknowledged, or counted as dropped).
    recorded: u64,
    /// The `threadline.dropped` events not yet acknowledged, with the counts each carries: one
    /// that is itself dropped (evicted, rejected) has its counts counted again.
    reports: Vec<(String, Vec<(DropReason, u32)>)>,
    /// The reports in each batch in flight, by batch.
    reports_in_flight: Vec<(u32, Vec<String>)>,
}

impl Delivery {
    /// A pipeline for `config`, or `None` without an endpoint. `tab` names this tab's storage.
    pub fn new(config: &Config, tab: Id) -> Option<Delivery> {
        Some(Delivery {
            batcher: Batcher::new(config.limits),
            min_level: config.min_level,
            keep_query: config.keep_query,
            redactor: config.redactor.clone(),
            endpoint: config.endpoint.clone()?,
            service: config.service.clone(),
            max_storage: config.max_storage_bytes,
            outbox_key: concat(&[KEY_PREFIX, &tab.to_hex()]),
            others: Vec::new(),
            timer: None,
            waiters: Vec::new(),
            keepalive: KeepaliveBudget::default(),
            beaconed: BeaconLog::default(),
            beaconing: Vec::new(),
            upload_timeout: config.upload_timeout,
            flush_timer: None,
            closing: false,
            recorded: 0,
            reports: Vec::new(),
            reports_in_flight: Vec::new(),
        })
    }

    fn body<'r, I>(&self, records: I) -> String
    where
        I: IntoIterator<Item = &'r Record>,
        I::IntoIter: Clone,
    {
        let resource = Resource {
            service_name: &self.service,
        };
        encode_body(&resource, records.into_iter().map(|r| r.json.as_str()))
    }

    /// Turns the batcher's answer into effects: every batch it sends now, then its timer.
    fn carry_out(&mut self, mut next: Next, now: Millis, effects: &mut Vec<Effect>) {
        while let Next::Send(id) = next {
            if let Some(batch) = self.batcher.in_flight(id) {
                let reports = self
                    .reports
                    .iter()
                    .filter(|(event, _)| batch.records.iter().any(|r| &r.event_id == event))
                    .map(|(event, _)| event.clone())
                    .collect();
                let body = self.body(&batch.records);
                self.reports_in_flight.push((id, reports));
                effects.push(Effect::Upload {
                    batch: id,
                    body,
                    timeout: self.upload_timeout,
                });
            }
            next = self.batcher.poll(now);
        }
        if let Next::WaitUntil(at) = next {
            // A timer set earlier stays: when it fires, the batcher is asked again.
            if self.timer.is_none_or(|set| at < set) {
                self.timer = Some(at);
                effects.push(Effect::SetTimer(Timer::Batch, at));
            }
        }
    }

    /// Resolves the `flush()` promises whose events are all acknowledged; all of them when the
    /// endpoint is failing (the events are then in storage).
    fn settle_waiters(&mut self, now: Millis, effects: &mut Vec<Effect>) {
        if self.waiters.is_empty() {
            return;
        }
        let failing = self.batcher.is_backing_off(now);
        let expired = self.waiters.iter().any(|w| w.deadline <= now);
        if failing || expired {
            self.write_outbox(None, effects);
        }
        let Delivery {
            waiters, batcher, ..
        } = self;
        waiters.retain(|w| {
            let done = failing || w.deadline <= now || batcher.done_before(w.upto);
            if done {
                effects.push(Effect::Settle(w.promise));
            }
            !done
        });
    }

    /// Sets the timer for the earliest `flush()` deadline, if none is set.
    fn arm_flush_timer(&mut self, effects: &mut Vec<Effect>) {
        if self.flush_timer.is_some() {
            return;
        }
        if let Some(at) = self.waiters.iter().map(|w| w.deadline).min() {
            self.flush_timer = Some(at);
            effects.push(Effect::SetTimer(Timer::FlushDeadline, at));
        }
    }

    /// Writes what is pending to this tab's storage slot (bounded by `maxStorageBytes` across
    /// tabs), with `overflow_note` (a `threadline.dropped` record) appended when some did not
    /// fit. Returns how many records did not fit.
    fn write_outbox(&self, overflow_note: Option<&Record>, effects: &mut Vec<Effect>) -> usize {
        if self.max_storage == 0 {
            return 0;
        }
        let records: Vec<&Record> = self.batcher.records().collect();
        let others: usize = self.others.iter().map(|(_, n)| n).sum();
        let budget = self
            .max_storage
            .saturating_sub(others)
            .saturating_sub(DROPPED_EVENT_RESERVE);
        let skip = outbox::overflow(&records, budget);
        let mut text = outbox::encode(records.get(skip..).unwrap_or(&[]));
        if skip > 0 {
            if let Some(note) = overflow_note {
                text.push_str(&outbox::encode(&[note]));
            }
        }
        effects.push(Effect::Store(Slot::Outbox, text));
        skip
    }

    /// A best-effort send of the oldest pending events that needs no CORS preflight, within
    /// the browser's keepalive budget.
    fn beacon(&mut self, now: Millis, effects: &mut Vec<Effect>) {
        let records: Vec<&Record> = self.batcher.records().collect();
        let picked = self.beaconed.pick(&records, BEACON_MAX_BYTES);
        if picked.is_empty() {
            return;
        }
        let body = self.body(picked.iter().copied());
        if self.keepalive.try_take(body.len(), now) {
            self.beaconing = picked.into_iter().cloned().collect();
            effects.push(Effect::Beacon(body));
        }
    }

    /// Another tab wrote storage.
    pub fn storage_changed(&mut self, key: Option<&str>, value: Option<&str>) {
        let Some(key) = key else {
            self.others.clear();
            return;
        };
        if !key.starts_with(KEY_PREFIX) || key == self.outbox_key {
            return;
        }
        self.others.retain(|(k, _)| k != key);
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            self.others.push((String::from(key), v.len()));
        }
    }

    /// Counts again what the reports no longer pending (evicted, rejected) carried.
    fn recount_lost_reports(&mut self) {
        let Delivery {
            reports, batcher, ..
        } = self;
        reports.retain(|(id, counts)| {
            let pending = batcher.holds(id);
            if !pending {
                for (reason, n) in counts {
                    batcher.count(*reason, *n as usize);
                }
            }
            pending
        });
    }

    /// Requests in flight forgotten past the bound lose their `http.request` event.
    pub fn count_forgotten(&mut self, n: usize) {
        self.batcher.count(DropReason::TooManyInFlight, n);
    }
}

impl<P: crate::recorder::PagePath> Recorder<P> {
    /// The endpoint events are sent to.
    pub fn endpoint(&self) -> Option<&str> {
        self.delivery.as_ref().map(|d| d.endpoint.as_str())
    }

    /// This tab's storage key for pending events ([`Slot::Outbox`]).
    pub fn outbox_key(&self) -> Option<&str> {
        self.delivery.as_ref().map(|d| d.outbox_key.as_str())
    }

    /// How many events this recorder recorded (each is acknowledged in the end, or counted in
    /// a `threadline.dropped` event).
    pub fn events_recorded(&self) -> u64 {
        self.delivery.as_ref().map_or(0, |d| d.recorded)
    }

    /// Whether event URLs keep their query string (`keepQueryString`).
    pub(crate) fn keeps_query(&self) -> bool {
        self.delivery.as_ref().is_some_and(|d| d.keep_query)
    }

    /// Whether events of `severity` are recorded: events are sent and it is not below
    /// `minLevel`. Checked before the shell walks attributes, which is the costly part.
    pub fn is_recorded(&self, severity: Severity) -> bool {
        self.delivery
            .as_ref()
            .is_some_and(|d| severity >= d.min_level)
    }

    /// What every new event carries: a fresh `event.id`, the time, `correlation` (else the
    /// current action's ID, else the session's), the session and the page path (`path`, else
    /// read now). `None` when no events are sent or no random ID could be drawn.
    #[inline(never)]
    fn stamp(&mut self, now: Millis, correlation: Option<Id>, path: Option<&str>) -> Option<Stamp> {
        self.delivery.as_ref()?;
        let id = self.correlator.mint().ok()?;
        let session_id = self.session_id(now);
        let current = self.correlator.current_action().map(|(id, _)| id);
        let correlation_id = correlation.or(current).or(session_id)?;
        Some(Stamp {
            id,
            time: now,
            correlation_id,
            session_id,
            page_path: path.map_or_else(|| self.path.path(), String::from),
            user_id: self.user.clone(),
        })
    }

    /// Records the event `build` makes from the stamp and the redaction rules. An event below
    /// `minLevel` (its `severity`) is neither stamped nor built.
    pub(crate) fn emit(
        &mut self,
        now: Millis,
        correlation: Option<Id>,
        severity: Severity,
        build: impl FnOnce(&Stamp, &Redactor) -> String,
    ) {
        if self.is_recorded(severity) {
            self.emit_at(now, correlation, None, None, build);
        }
    }

    /// [`Recorder::emit`] for an event that happened at `time` (default now) on the page at
    /// `path` (default read now), whatever its severity.
    pub(crate) fn emit_at(
        &mut self,
        now: Millis,
        correlation: Option<Id>,
        time: Option<Millis>,
        path: Option<&str>,
        build: impl FnOnce(&Stamp, &Redactor) -> String,
    ) {
        let Some(mut stamp) = self.stamp(now, correlation, path) else {
            return;
        };
        if let Some(time) = time {
            stamp.time = time;
        }
        let Some(delivery) = self.delivery.as_ref() else {
            return;
        };
        let json = build(&stamp, &delivery.redactor);
        self.record(now, stamp.id, json);
    }

    /// Queues an encoded event.
    #[inline(never)]
    fn record(&mut self, now: Millis, id: Id, json: String) {
        let Some(delivery) = self.delivery.as_mut() else {
            return;
        };
        let record = Record {
            event_id: id.to_hex(),
            json,
        };
        delivery.recorded += 1;
        let before = delivery.batcher.pending();
        let next = delivery.batcher.push(record, now);
        if delivery.batcher.pending() <= before && !delivery.reports.is_empty() {
            delivery.recount_lost_reports();
        }
        self.carry_out(now, next);
    }

    /// Carries out the batcher's answer and settles `flush()`s; after `shutdown()`'s flush has
    /// settled, stops the pipeline (what was not acknowledged is then in storage).
    #[inline(never)]
    fn carry_out(&mut self, now: Millis, next: Next) {
        let Self {
            delivery, effects, ..
        } = self;
        let Some(d) = delivery.as_mut() else {
            return;
        };
        d.carry_out(next, now, effects);
        d.settle_waiters(now, effects);
        if d.closing && d.waiters.is_empty() {
            if d.timer.is_some() {
                effects.push(Effect::CancelTimer(Timer::Batch));
            }
            if d.flush_timer.is_some() {
                effects.push(Effect::CancelTimer(Timer::FlushDeadline));
            }
            *delivery = None;
            return;
        }
        d.arm_flush_timer(effects);
    }

    /// Asks the batcher what to do now, and does it; first reports drops counted since the
    /// last report as one `threadline.dropped` event (whatever `minLevel` says).
    #[inline(never)]
    fn poll_batcher(&mut self, now: Millis) {
        let counts = self
            .delivery
            .as_mut()
            .and_then(|d| d.batcher.take_dropped());
        if let Some(counts) = counts {
            if let Some(stamp) = self.stamp(now, None, None) {
                let json = page_events::dropped(&stamp, &counts);
                if let Some(d) = self.delivery.as_mut() {
                    d.reports.push((stamp.id.to_hex(), counts));
                }
                self.record(now, stamp.id, json);
            }
        }
        if let Some(d) = self.delivery.as_mut() {
            let next = d.batcher.poll(now);
            self.carry_out(now, next);
        }
    }

    /// The upload of batch `batch` ended: `status` 0 means a network error (or it timed out);
    /// `retry_after` is its `Retry-After` header.
    pub fn upload_answered(
        &mut self,
        now: Millis,
        batch: u32,
        status: u16,
        retry_after: Option<&str>,
    ) {
        let jitter = self.correlator.mint().map_or(0, Id::low_bits);
        let response = if status == 0 {
            Response::NetworkError
        } else {
            Response::Status {
                code: status,
                retry_after: retry_after.and_then(|h| retry_after::parse(h, now)),
            }
        };
        if let Some(d) = self.delivery.as_mut() {
            let reports = d
                .reports_in_flight
                .iter()
                .position(|(b, _)| *b == batch)
                .map(|at| d.reports_in_flight.swap_remove(at).1)
                .unwrap_or_default();
            let next = d.batcher.on_response(batch, response, now, jitter);
            if (200..300).contains(&status) {
                d.reports.retain(|(id, _)| !reports.contains(id));
            }
            d.recount_lost_reports();
            self.carry_out(now, next);
        }
        self.poll_batcher(now);
    }

    /// The beacon asked for was queued by the browser (`queued`) or refused.
    pub fn beacon_answered(&mut self, queued: bool) {
        if let Some(d) = self.delivery.as_mut() {
            let sent = core::mem::take(&mut d.beaconing);
            if queued {
                let records: Vec<&Record> = sent.iter().collect();
                d.beaconed.mark(&records);
            }
        }
    }

    pub(crate) fn flush_deadline(&mut self, now: Millis) {
        if let Some(d) = self.delivery.as_mut() {
            d.flush_timer = None;
        }
        self.carry_out(now, Next::Idle);
    }

    pub(crate) fn batch_timer_fired(&mut self, now: Millis) {
        if let Some(d) = self.delivery.as_mut() {
            d.timer = None;
        }
        self.poll_batcher(now);
    }

    /// `flush()`: sends what is queued now; `promise` settles once the endpoint acknowledged
    /// everything queued so far, or it was written to storage because the endpoint is failing,
    /// and at the latest after `uploadTimeoutMs` plus [`FLUSH_GRACE`]. With `close`
    /// (`shutdown()`), the pipeline stops once that has happened.
    pub fn flush(&mut self, now: Millis, promise: PromiseId, close: bool) {
        let Some(d) = self.delivery.as_mut() else {
            self.effects.push(Effect::Settle(promise));
            return;
        };
        d.closing |= close;
        let upto = d.batcher.pushed();
        let deadline = now + d.upload_timeout + FLUSH_GRACE;
        d.waiters.push(Waiter {
            upto,
            promise,
            deadline,
        });
        let next = d.batcher.flush(now);
        self.carry_out(now, next);
    }

    /// The page may be about to go (hidden or left): keep what is pending in storage for the
    /// next `init`, and try a beacon. Events that did not fit in storage are reported by a
    /// `threadline.dropped` event stored with the rest (it only matters if this page never
    /// comes back).
    pub fn page_hidden(&mut self, now: Millis) {
        let Self {
            delivery, effects, ..
        } = self;
        let over = match delivery.as_ref() {
            Some(d) => d.write_outbox(None, effects),
            None => return,
        };
        if over > 0 {
            let counts = [(
                DropReason::StorageFull,
                u32::try_from(over).unwrap_or(u32::MAX),
            )];
            let note = self.stamp(now, None, None).map(|stamp| Record {
                event_id: stamp.id.to_hex(),
                json: page_events::dropped(&stamp, &counts),
            });
            let Self {
                delivery, effects, ..
            } = self;
            if let Some(d) = delivery.as_ref() {
                d.write_outbox(note.as_ref(), effects);
            }
        }
        let Self {
            delivery, effects, ..
        } = self;
        if let Some(d) = delivery.as_mut() {
            d.beacon(now, effects);
        }
    }

    /// The page is shown again: what storage held for a page that never came back is not needed.
    pub fn page_shown(&mut self) {
        if let Some(d) = self.delivery.as_mut() {
            self.effects
                .push(Effect::Store(Slot::Outbox, String::new()));
            d.beaconed.clear();
        }
    }

    /// The browser is back online: retry at once.
    pub fn online(&mut self, now: Millis) {
        if let Some(d) = self.delivery.as_mut() {
            let next = d.batcher.online(now);
            self.carry_out(now, next);
        }
    }

    /// Queues the events earlier pages of this origin left in storage (`stored`: the values of
    /// every outbox key, concatenated; the shell removed the keys), and sends them at once.
    pub fn restore(&mut self, now: Millis, stored: &str) {
        let records = outbox::decode(stored);
        if records.is_empty() {
            return;
        }
        if let Some(d) = self.delivery.as_mut() {
            for record in records {
                d.batcher.push(record, now);
            }
            let next = d.batcher.flush(now);
            self.carry_out(now, next);
        }
    }
}
