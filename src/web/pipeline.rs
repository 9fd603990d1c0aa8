//! Ships the page's events: stamps and encodes them, hands them to the core's batcher and carries
//! out its answers (an upload through the page's original `fetch`, a timer), reports drops as a
//! `threadline.dropped` event, keeps what is pending in storage when the page is hidden or left
//! (plus a best-effort beacon), and sends what an earlier page left behind.

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::Function;
use wasm_bindgen::JsValue;

use crate::Millis;
use crate::batcher::{Batcher, DropReason, Next, Record, Response};
use crate::event::{Severity, Stamp};
use crate::id::Id;
use crate::options::Config;
use crate::otlp::{Resource, encode_body};
use crate::outbox::{self, BEACON_MAX_BYTES, BeaconLog, KEY_PREFIX, KeepaliveBudget};
use crate::page_events;
use crate::redact::Redactor;
use crate::retry_after;
use crate::text::concat;
use crate::web::glue::{self, now};
use crate::web::shared::Shared;

/// Room kept in storage for the `threadline.dropped` event that reports a storage overflow.
const DROPPED_EVENT_RESERVE: usize = 1_024;

/// A `flush()` waiting for the newest event it saw to be acknowledged (or persisted).
struct Waiter {
    last: Option<String>,
    resolve: Function,
    /// When it settles at the latest, with what is unacknowledged written to storage.
    deadline: Millis,
}

/// How much longer than one upload's timeout a `flush()` may take: every flush settles within
/// `uploadTimeoutMs` plus this.
pub(crate) const FLUSH_GRACE: Millis = 1_000;

/// The event pipeline of a recorder that has an `endpoint`.
pub(crate) struct Pipeline {
    pub batcher: Batcher,
    pub min_level: Severity,
    pub keep_query: bool,
    pub redactor: Redactor,
    endpoint: String,
    service: String,
    /// `window.fetch` as it was before Threadline patched it.
    upload_fetch: JsValue,
    max_storage: usize,
    /// This tab's storage key for pending events.
    outbox_key: String,
    timer: Option<(Millis, JsValue)>,
    waiters: Vec<Waiter>,
    keepalive: KeepaliveBudget,
    beaconed: BeaconLog,
    /// How long an upload may take before it is aborted (then handled as a network error).
    upload_timeout: Millis,
    /// The timer for the earliest `flush()` deadline.
    flush_timer: Option<JsValue>,
    /// `shutdown()` was called: once its flush settles, the pipeline stops.
    closing: bool,
}

impl Pipeline {
    /// A pipeline for `config`, or `None` without an endpoint. `tab` names this tab's storage.
    pub fn new(config: &Config, upload_fetch: JsValue, tab: Id) -> Option<Pipeline> {
        Some(Pipeline {
            batcher: Batcher::new(config.limits),
            min_level: config.min_level,
            keep_query: config.keep_query,
            redactor: config.redactor.clone(),
            endpoint: config.endpoint.clone()?,
            service: config.service.clone(),
            upload_fetch,
            max_storage: config.max_storage_bytes,
            outbox_key: concat(&[KEY_PREFIX, &tab.to_hex()]),
            timer: None,
            waiters: Vec::new(),
            keepalive: KeepaliveBudget::default(),
            beaconed: BeaconLog::default(),
            upload_timeout: config.upload_timeout,
            flush_timer: None,
            closing: false,
        })
    }

    /// Whether event URLs keep their query string (`keepQueryString`).
    pub fn keeps_query(&self) -> bool {
        self.keep_query
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

    /// Carries out the batcher's answer.
    fn carry_out(&mut self, next: Next, hooks: &JsValue, now: Millis) {
        match next {
            Next::Send(batch) => {
                let body = self.body(&batch.records);
                glue::upload(
                    &self.upload_fetch,
                    &self.endpoint,
                    body.as_bytes(),
                    hooks,
                    batch.id,
                    u32::try_from(self.upload_timeout).unwrap_or(u32::MAX),
                );
            }
            Next::WaitUntil(at) => {
                if self.timer.as_ref().is_some_and(|(t, _)| *t == at) {
                    return;
                }
                self.cancel_timer();
                let delay = i32::try_from(at.saturating_sub(now)).unwrap_or(i32::MAX);
                self.timer = Some((at, glue::tick_after(hooks, delay, TIMER_PIPELINE)));
            }
            Next::Idle => {}
        }
    }

    /// Clears the pending batch timer.
    pub fn cancel_timer(&mut self) {
        if let Some((_, timer)) = self.timer.take() {
            glue::cancel_tick(&timer);
        }
    }

    /// Resolves the `flush()` promises whose events are all acknowledged; all of them when the
    /// endpoint is failing (the events are then in storage).
    fn settle_waiters(&mut self, now: Millis) {
        if self.waiters.is_empty() {
            return;
        }
        let failing = self.batcher.is_backing_off(now);
        let expired = self.waiters.iter().any(|w| w.deadline <= now);
        if failing || expired {
            self.write_outbox(None);
        }
        let Pipeline {
            waiters, batcher, ..
        } = self;
        waiters.retain(|w| {
            let done = failing
                || w.deadline <= now
                || w.last
                    .as_ref()
                    .is_none_or(|id| !batcher.records().any(|r| &r.event_id == id));
            if done {
                let _ = w.resolve.call0(&JsValue::UNDEFINED);
            }
            !done
        });
    }

    /// Sets the timer for the earliest `flush()` deadline, if none is set.
    fn arm_flush_timer(&mut self, hooks: &JsValue, now: Millis) {
        if self.flush_timer.is_some() {
            return;
        }
        if let Some(at) = self.waiters.iter().map(|w| w.deadline).min() {
            let delay = i32::try_from(at.saturating_sub(now)).unwrap_or(i32::MAX);
            self.flush_timer = Some(glue::tick_after(hooks, delay, TIMER_FLUSH_DEADLINE));
        }
    }

    /// Clears the `flush()` deadline timer.
    fn cancel_flush_timer(&mut self) {
        if let Some(timer) = self.flush_timer.take() {
            glue::cancel_tick(&timer);
        }
    }

    /// Writes what is pending to this tab's storage key (bounded by `maxStorageBytes` across
    /// tabs), with `overflow_note` (a `threadline.dropped` record) appended when some did not fit.
    /// Returns how many records did not fit.
    fn write_outbox(&self, overflow_note: Option<&Record>) -> usize {
        if self.max_storage == 0 {
            return 0;
        }
        let records: Vec<&Record> = self.batcher.records().collect();
        let others = glue::outbox_used(KEY_PREFIX, &self.outbox_key);
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
        if !glue::outbox_write(&self.outbox_key, &text) {
            // Storage refused even this (quota taken by the page): nothing persists.
            return records.len();
        }
        skip
    }

    /// A best-effort send of the oldest pending events that needs no CORS preflight, within
    /// the browser's keepalive budget.
    fn beacon(&mut self, now: Millis) {
        let records: Vec<&Record> = self.batcher.records().collect();
        let picked = self.beaconed.pick(&records, BEACON_MAX_BYTES);
        if picked.is_empty() {
            return;
        }
        let body = self.body(picked.iter().copied());
        if self.keepalive.try_take(body.len(), now) && glue::beacon(&self.endpoint, body.as_bytes())
        {
            self.beaconed.mark(&picked);
        }
    }
}

/// `tick_after` kinds: which timer fired.
pub(crate) const TIMER_AUTO_ACTION: u8 = 0;
pub(crate) const TIMER_PIPELINE: u8 = 1;
pub(crate) const TIMER_FLUSH_DEADLINE: u8 = 2;

/// Page lifecycle changes reported by `js/page.js`.
pub(crate) const PAGE_HIDDEN: u8 = 0;
pub(crate) const PAGE_VISIBLE: u8 = 1;
pub(crate) const PAGE_ONLINE: u8 = 2;

impl Shared {
    /// What every new event carries: a fresh `event.id`, the time, `correlation` (else the
    /// current action's ID, else the session's), the session and the page path. `None` when no
    /// events are sent or no random ID could be drawn.
    #[inline(never)]
    pub fn stamp(&mut self, correlation: Option<Id>) -> Option<Stamp> {
        self.pipeline.as_ref()?;
        let id = self.correlator.mint().ok()?;
        let session_id = self.session_id();
        let current = self.correlator.current_action().map(|(id, _)| id);
        let correlation_id = correlation.or(current).or(session_id)?;
        Some(Stamp {
            id,
            time: now(),
            correlation_id,
            session_id,
            page_path: glue::page_path(),
            user_id: self.user.clone(),
        })
    }

    /// Records the event `build` makes from the stamp and the redaction rules. An event below
    /// `minLevel` (its `severity`) is neither stamped nor built.
    pub fn emit(
        &mut self,
        correlation: Option<Id>,
        severity: Severity,
        build: impl FnOnce(&Stamp, &Redactor) -> String,
    ) {
        self.emit_at(correlation, None, severity, build);
    }

    /// [`Shared::emit`] for an event that happened at `time` (default now).
    pub fn emit_at(
        &mut self,
        correlation: Option<Id>,
        time: Option<Millis>,
        severity: Severity,
        build: impl FnOnce(&Stamp, &Redactor) -> String,
    ) {
        if !self.is_recorded(severity) {
            return;
        }
        let Some(mut stamp) = self.stamp(correlation) else {
            return;
        };
        if let Some(time) = time {
            stamp.time = time;
        }
        let Some(pipeline) = self.pipeline.as_ref() else {
            return;
        };
        let json = build(&stamp, &pipeline.redactor);
        self.record(stamp.id, json);
    }

    /// Whether events of `severity` are recorded: events are sent and it is not below
    /// `minLevel`.
    pub fn is_recorded(&self, severity: Severity) -> bool {
        self.pipeline
            .as_ref()
            .is_some_and(|p| severity >= p.min_level)
    }

    /// Queues an encoded event.
    #[inline(never)]
    fn record(&mut self, id: Id, json: String) {
        let Some(pipeline) = self.pipeline.as_mut() else {
            return;
        };
        let record = Record {
            event_id: id.to_hex(),
            json,
        };
        let next = pipeline.batcher.push(record, now());
        self.carry_out(next);
    }

    /// Carries out the batcher's answer and settles `flush()`s; after `shutdown()`'s flush has
    /// settled, stops the pipeline (what was not acknowledged is then in storage).
    #[inline(never)]
    fn carry_out(&mut self, next: Next) {
        let hooks = self.hooks.clone();
        let Some(pipeline) = self.pipeline.as_mut() else {
            return;
        };
        let now = now();
        pipeline.carry_out(next, &hooks, now);
        pipeline.settle_waiters(now);
        if pipeline.closing && pipeline.waiters.is_empty() {
            pipeline.cancel_timer();
            pipeline.cancel_flush_timer();
            self.pipeline = None;
            return;
        }
        pipeline.arm_flush_timer(&hooks, now);
    }

    /// Asks the batcher what to do now, and does it; first reports drops counted since the
    /// last report as one `threadline.dropped` event.
    #[inline(never)]
    fn poll(&mut self) {
        let counts = self
            .pipeline
            .as_mut()
            .and_then(|p| p.batcher.take_dropped());
        if let Some((counts, stamp)) = counts.zip(self.stamp(None)) {
            // Drop reports go whatever `minLevel` says.
            let json = page_events::dropped(&stamp, &counts);
            self.record(stamp.id, json);
        }
        if let Some(pipeline) = self.pipeline.as_mut() {
            let next = pipeline.batcher.poll(now());
            self.carry_out(next);
        }
    }

    /// The upload of batch `id` ended: `status` 0 means a network error.
    pub fn uploaded(&mut self, id: u32, status: u16, retry_after: Option<String>) {
        let jitter = self.correlator.mint().map_or(0, Id::low_bits);
        let now = now();
        let response = if status == 0 {
            Response::NetworkError
        } else {
            Response::Status {
                code: status,
                retry_after: retry_after.and_then(|h| retry_after::parse(&h, now)),
            }
        };
        if let Some(pipeline) = self.pipeline.as_mut() {
            let next = pipeline.batcher.on_response(id, response, now, jitter);
            self.carry_out(next);
        }
        self.poll();
    }

    /// The timer of the earliest `flush()` deadline fired.
    pub fn flush_deadline(&mut self) {
        if let Some(p) = self.pipeline.as_mut() {
            p.flush_timer = None;
        }
        self.carry_out(Next::Idle);
    }

    /// The batch timer fired.
    pub fn pipeline_timer(&mut self) {
        if let Some(p) = self.pipeline.as_mut() {
            p.timer = None;
        }
        self.poll();
    }

    /// `flush()`: sends what is queued now; `resolve` is called once the endpoint acknowledged
    /// everything queued so far, or it was written to storage because the endpoint is failing.
    /// With `close` (`shutdown()`), the pipeline stops once that has happened.
    pub fn flush(&mut self, resolve: Function, close: bool) {
        let Some(pipeline) = self.pipeline.as_mut() else {
            let _ = resolve.call0(&JsValue::UNDEFINED);
            return;
        };
        pipeline.closing |= close;
        let last = pipeline
            .batcher
            .records()
            .last()
            .map(|r| r.event_id.clone());
        let now = now();
        let deadline = now + pipeline.upload_timeout + FLUSH_GRACE;
        pipeline.waiters.push(Waiter {
            last,
            resolve,
            deadline,
        });
        let next = pipeline.batcher.flush(now);
        self.carry_out(next);
    }

    /// The page was hidden, shown again or came back online.
    pub fn lifecycle(&mut self, change: u8) {
        match change {
            PAGE_HIDDEN => self.leave_page(),
            PAGE_VISIBLE => {
                if let Some(p) = self.pipeline.as_mut() {
                    glue::outbox_write(&p.outbox_key, "");
                    p.beaconed.clear();
                }
            }
            PAGE_ONLINE => {
                if let Some(pipeline) = self.pipeline.as_mut() {
                    let next = pipeline.batcher.online(now());
                    self.carry_out(next);
                }
            }
            _ => {}
        }
    }

    /// The page may be about to go: keep what is pending in storage for the next `init`, and
    /// try a beacon. Events that did not fit in storage are reported by a `threadline.dropped`
    /// event stored with the rest (it only matters if this page never comes back).
    fn leave_page(&mut self) {
        let over = match self.pipeline.as_ref() {
            Some(p) => p.write_outbox(None),
            None => return,
        };
        if over > 0 {
            let note = self.stamp(None).map(|stamp| Record {
                event_id: stamp.id.to_hex(),
                json: page_events::dropped(&stamp, &[(DropReason::StorageFull, over_u32(over))]),
            });
            if let Some(p) = self.pipeline.as_ref() {
                p.write_outbox(note.as_ref());
            }
        }
        if let Some(p) = self.pipeline.as_mut() {
            p.beacon(now());
        }
    }

    /// Queues the events earlier pages of this origin left in storage, and sends them at once.
    pub fn resend_outbox(&mut self) {
        if self.pipeline.is_none() {
            return;
        }
        let stored = glue::outbox_take(KEY_PREFIX);
        let records = outbox::decode(&stored);
        if records.is_empty() {
            return;
        }
        if let Some(pipeline) = self.pipeline.as_mut() {
            let now = now();
            for record in records {
                pipeline.batcher.push(record, now);
            }
            let next = pipeline.batcher.flush(now);
            self.carry_out(next);
        }
    }
}

fn over_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
