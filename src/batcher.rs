//! Decides when events go to the ingestion endpoint and what happens when a send fails: batch
//! limits, a few uploads in flight at once, retry with exponential back-off and jitter (honouring
//! `Retry-After`), splitting on 413, dropping (and counting) what the endpoint refuses, and a
//! queue bounded in bytes. It knows nothing of `fetch` or timers: it is fed records, responses
//! and a clock, and answers with what to do next.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use crate::Millis;
use crate::retry::is_retryable;

/// Batching and memory limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most events one upload carries (default 1000). A batch is due once
    /// [`DUE_EVENTS`] are queued, or this many when fewer.
    pub max_events: usize,
    /// The most bytes of records one upload carries (default 1 MiB). A batch is due once
    /// [`DUE_BYTES`] are queued, or this many when fewer.
    pub max_bytes: usize,
    /// Send this long after the first queued event at the latest (default 5 s).
    pub flush_interval: Millis,
    /// Most bytes of records kept in memory; past it the oldest are dropped (default 1 MiB).
    pub max_queue_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_events: 1_000,
            max_bytes: 1024 * 1024,
            flush_interval: 5_000,
            max_queue_bytes: 1024 * 1024,
        }
    }
}

/// One encoded log record waiting to be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The event's `event.id`, for bookkeeping (persistence, deduplication).
    pub event_id: String,
    /// The record as OTLP JSON (see `otlp`).
    pub json: String,
}

/// Records to upload together; send them and report with [`Batcher::on_response`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// Names this upload in [`Batcher::on_response`].
    pub id: u32,
    /// The number of its first record in push order; its records are numbered on from it
    /// without gaps. Orders batches oldest first, whatever order their uploads end in.
    pub first: u64,
    /// The records, oldest first.
    pub records: Vec<Record>,
}

/// What the web shell should do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Upload the batch in flight with this ID ([`Batcher::in_flight`]), then report the
    /// outcome; then call [`Batcher::poll`], which may send another beside it. The batch stays
    /// with the batcher (it is sent again if the upload fails), so it is never copied.
    Send(u32),
    /// Call [`Batcher::poll`] at this time.
    WaitUntil(Millis),
    /// Nothing to do until something is pushed or a response arrives.
    Idle,
}

/// How an upload ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response {
    /// The request failed on the network (no HTTP status).
    NetworkError,
    /// An HTTP status; `retry_after` is the parsed `Retry-After` header, in ms from now.
    Status {
        /// The HTTP status code.
        code: u16,
        /// How long the endpoint asked us to wait, if it did.
        retry_after: Option<Millis>,
    },
}

/// Why events were dropped; reported as a `threadline.dropped` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The in-memory queue was full; the oldest events went.
    QueueFull,
    /// A single event was larger than the endpoint or the queue accepts.
    TooLarge,
    /// The endpoint refused the batch with a status that retrying cannot fix (400 and most 4xx).
    Rejected4xx,
    /// Storage could not hold what was pending when the page was left.
    StorageFull,
    /// More requests were in flight at once than the recorder follows; the oldest lost their
    /// `http.request` events.
    TooManyInFlight,
}

impl DropReason {
    /// The reason's name in the `threadline.dropped` event.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::TooLarge => "too_large",
            DropReason::Rejected4xx => "rejected_4xx",
            DropReason::StorageFull => "storage_full",
            DropReason::TooManyInFlight => "too_many_in_flight",
        }
    }

    const ALL: [DropReason; 5] = [
        DropReason::QueueFull,
        DropReason::TooLarge,
        DropReason::Rejected4xx,
        DropReason::StorageFull,
        DropReason::TooManyInFlight,
    ];
}

/// First retry delay; doubles per consecutive failure.
const BACKOFF_BASE: Millis = 1_000;
/// Longest retry delay, however many failures.
const BACKOFF_MAX: Millis = 60_000;
/// Consecutive network failures after which only the back-off or [`Batcher::online`] resumes.
pub const PAUSE_AFTER_FAILURES: u32 = 3;
/// The most uploads in flight at once. More than one go only when that many full batches wait
/// (a burst of events, or a `flush()`), which then take a quarter of the round trips; four of
/// the six HTTP/1.1 connections a browser opens to a host leave the app two when the endpoint
/// is its own origin (HTTP/2 carries them all on one).
pub const MAX_UPLOADS_IN_FLIGHT: usize = 4;

/// A batch is due once this many events are queued (or the limit, when lower): what a steady
/// stream of events waits for, whatever the limits.
pub const DUE_EVENTS: usize = 200;
/// A batch is due once this many bytes of records are queued (or the limit, when lower).
pub const DUE_BYTES: usize = 64 * 1024;

/// The delay before retry number `failures` (1-based): exponential from 1 s to 60 s, the upper
/// half randomised by `jitter` so that many pages do not retry in step.
pub fn backoff(failures: u32, jitter: u32) -> Millis {
    let exp = failures.saturating_sub(1).min(16);
    let base = BACKOFF_BASE.saturating_mul(1 << exp).min(BACKOFF_MAX);
    let half = base / 2;
    half + Millis::from(jitter) % (half + 1)
}

/// Whether an upload that ended so should be tried again later: what counts as a failure for a
/// request's retry ([`is_retryable`]) counts for an upload too.
fn retryable(response: Response) -> bool {
    is_retryable(match response {
        Response::NetworkError => None,
        Response::Status { code, .. } => Some(code),
    })
}

/// The events and bytes at which a batch is due under `limits`.
fn due_size(limits: &Limits) -> (usize, usize) {
    (
        DUE_EVENTS.min(limits.max_events),
        DUE_BYTES.min(limits.max_bytes),
    )
}

/// The sending side of the event pipeline.
#[derive(Debug)]
pub struct Batcher {
    limits: Limits,
    queue: VecDeque<Record>,
    queued_bytes: usize,
    /// The number of the record at the front of the queue (records are numbered in push order).
    queue_first: u64,
    /// Batches already formed (a retry, or the halves of a 413) that go before new ones, the
    /// oldest (the next to send) last.
    ready: Vec<Batch>,
    /// At most [`MAX_UPLOADS_IN_FLIGHT`], in the order they were sent.
    in_flight: Vec<Batch>,
    first_queued_at: Option<Millis>,
    retry_at: Option<Millis>,
    failures: u32,
    flush_requested: bool,
    next_batch_id: u32,
    dropped: [u32; 5],
    /// The most events and bytes the next batch takes. It starts at the due size and doubles
    /// with each acknowledged upload up to the limits, so a backlog (a burst, a `flush()`)
    /// leaves in a few large uploads while the endpoint keeps up; a failure sets it back, so
    /// the batches formed while the endpoint fails are due-sized.
    take: (usize, usize),
    /// The bytes a batch may grow to: `max_bytes`, or half of a batch refused with 413.
    ceiling: usize,
}

impl Batcher {
    /// An empty batcher with these limits.
    pub fn new(limits: Limits) -> Self {
        Batcher {
            limits,
            queue: VecDeque::new(),
            queued_bytes: 0,
            queue_first: 0,
            ready: Vec::new(),
            in_flight: Vec::new(),
            first_queued_at: None,
            retry_at: None,
            failures: 0,
            flush_requested: false,
            next_batch_id: 0,
            dropped: [0; 5],
            take: due_size(&limits),
            ceiling: limits.max_bytes,
        }
    }

    /// Queues a record; past the memory bound the oldest queued records are dropped.
    pub fn push(&mut self, record: Record, now: Millis) -> Next {
        let size = record.json.len();
        if size > self.limits.max_queue_bytes {
            self.count(DropReason::TooLarge, 1);
            return self.next(now);
        }
        while self.queued_bytes + size > self.limits.max_queue_bytes {
            let Some(oldest) = self.queue.pop_front() else {
                break;
            };
            self.queue_first += 1;
            self.queued_bytes -= oldest.json.len();
            self.count(DropReason::QueueFull, 1);
        }
        self.queued_bytes += size;
        self.queue.push_back(record);
        self.first_queued_at.get_or_insert(now);
        self.next_in(now, true)
    }

    /// Sends what is queued without waiting for the batch limits or the interval.
    pub fn flush(&mut self, now: Millis) -> Next {
        self.flush_requested = true;
        self.next(now)
    }

    /// The network is back: a pause after repeated failures ends now.
    pub fn online(&mut self, now: Millis) -> Next {
        if self.failures >= PAUSE_AFTER_FAILURES {
            self.retry_at = None;
        }
        self.next(now)
    }

    /// A timer set for [`Next::WaitUntil`] fired.
    pub fn poll(&mut self, now: Millis) -> Next {
        self.next(now)
    }

    /// The upload of batch `id` ended; `jitter` is a random number for the back-off. Failures
    /// of uploads that were in flight together count as one: the back-off grows per round.
    pub fn on_response(&mut self, id: u32, response: Response, now: Millis, jitter: u32) -> Next {
        let Some(at) = self.in_flight.iter().position(|b| b.id == id) else {
            return self.next(now);
        };
        let batch = self.in_flight.remove(at);
        let due = due_size(&self.limits);
        match response {
            Response::Status {
                code: 200..=299, ..
            } => {
                self.failures = 0;
                let (events, bytes) = self.take;
                self.take = (
                    events.saturating_mul(2).min(self.limits.max_events),
                    bytes.saturating_mul(2).min(self.ceiling),
                );
            }
            Response::Status { code: 413, .. } => {
                self.failures = 0;
                let size: usize = batch.records.iter().map(|r| r.json.len()).sum();
                self.ceiling = self.ceiling.min(size / 2).max(due.1);
                self.take = due;
                self.split(batch);
            }
            r if retryable(r) => {
                let asked = match r {
                    Response::Status { retry_after, .. } => retry_after.unwrap_or(0),
                    Response::NetworkError => 0,
                };
                let until = if self.is_backing_off(now) {
                    asked
                } else {
                    self.failures = self.failures.saturating_add(1);
                    asked.max(backoff(self.failures, jitter))
                };
                let until = now.saturating_add(until);
                self.retry_at = Some(self.retry_at.map_or(until, |at| at.max(until)));
                self.take = due;
                self.put_ready(batch);
            }
            _ => {
                self.failures = 0;
                self.count(DropReason::Rejected4xx, batch.records.len());
            }
        }
        self.next(now)
    }

    /// Drop counts since the last call, by reason, for a `threadline.dropped` event; `None` if
    /// nothing was dropped.
    pub fn take_dropped(&mut self) -> Option<Vec<(DropReason, u32)>> {
        let counts: Vec<(DropReason, u32)> = DropReason::ALL
            .iter()
            .copied()
            .zip(self.dropped)
            .filter(|(_, n)| *n > 0)
            .collect();
        self.dropped = [0; 5];
        (!counts.is_empty()).then_some(counts)
    }

    /// Records queued or waiting to be retried, including those in flight.
    pub fn pending(&self) -> usize {
        self.queue.len()
            + self
                .in_flight
                .iter()
                .chain(&self.ready)
                .map(|b| b.records.len())
                .sum::<usize>()
    }

    /// Every record not yet acknowledged, oldest first: what must outlive the page.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        // A handful of batches: filed by age one by one, where a sort would add kilobytes.
        let mut batches: Vec<&Batch> = Vec::new();
        for batch in self.in_flight.iter().chain(&self.ready) {
            let at = batches.partition_point(|b| b.first < batch.first);
            batches.insert(at, batch);
        }
        batches
            .into_iter()
            .flat_map(|b| b.records.iter())
            .chain(self.queue.iter())
    }

    /// The batch in flight with ID `id` (see [`Next::Send`]).
    pub fn in_flight(&self, id: u32) -> Option<&Batch> {
        self.in_flight.iter().find(|b| b.id == id)
    }

    /// Whether the record of event `event_id` is still pending (in any order: cheaper than
    /// [`Batcher::records`]).
    #[inline(never)]
    pub fn holds(&self, event_id: &str) -> bool {
        let is = |r: &Record| r.event_id == event_id;
        self.queue.iter().any(is)
            || self
                .in_flight
                .iter()
                .chain(&self.ready)
                .any(|b| b.records.iter().any(is))
    }

    /// How many records were queued so far: [`Batcher::done_before`] of it, later, tells
    /// whether all of them are acknowledged (or dropped).
    pub fn pushed(&self) -> u64 {
        self.queue_first + self.queue.len() as u64
    }

    /// Whether no record among the first `n` pushed is still pending.
    #[inline(never)]
    pub fn done_before(&self, n: u64) -> bool {
        (self.queue.is_empty() || self.queue_first >= n)
            && self
                .in_flight
                .iter()
                .chain(&self.ready)
                .all(|b| b.first >= n)
    }

    /// Whether an upload is waiting out a back-off (the endpoint or network is failing).
    pub fn is_backing_off(&self, now: Millis) -> bool {
        self.retry_at.is_some_and(|at| now < at)
    }

    /// Counts `n` events dropped for `reason` outside the batcher (e.g. storage).
    pub fn count(&mut self, reason: DropReason, n: usize) {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        if let Some(slot) = DropReason::ALL
            .iter()
            .position(|r| *r == reason)
            .and_then(|i| self.dropped.get_mut(i))
        {
            *slot = slot.saturating_add(n);
        }
    }

    /// A batch the endpoint found too large: its halves go next, a single record is dropped.
    fn split(&mut self, mut batch: Batch) {
        if batch.records.len() <= 1 {
            self.count(DropReason::TooLarge, batch.records.len());
            return;
        }
        let half = batch.records.len() / 2;
        let second = batch.records.split_off(half);
        self.put_ready(Batch {
            id: 0,
            first: batch.first + half as u64,
            records: second,
        });
        self.put_ready(batch);
    }

    /// Files a formed batch among the ready ones by age, the oldest last.
    fn put_ready(&mut self, batch: Batch) {
        let at = self.ready.partition_point(|b| b.first > batch.first);
        self.ready.insert(at, batch);
    }

    fn batch_id(&mut self) -> u32 {
        self.next_batch_id = self.next_batch_id.wrapping_add(1);
        self.next_batch_id
    }

    fn next(&mut self, now: Millis) -> Next {
        self.next_in(now, false)
    }

    /// What to do next; `in_burst` when called from [`Batcher::push`], where a batch due by its
    /// size waits for the next poll (at once): the rest of events logged in one go then leave
    /// with it, in as few uploads as the batch size allows.
    fn next_in(&mut self, now: Millis, in_burst: bool) -> Next {
        if self.in_flight.len() >= MAX_UPLOADS_IN_FLIGHT {
            return Next::Idle;
        }
        if let Some(at) = self.retry_at {
            if now < at {
                return Next::WaitUntil(at);
            }
            self.retry_at = None;
        }
        let batch = match self.ready.pop() {
            Some(mut batch) => {
                batch.id = self.batch_id();
                batch
            }
            None => {
                let Some(first) = self.first_queued_at else {
                    self.flush_requested = false;
                    return Next::Idle;
                };
                let (events, bytes) = due_size(&self.limits);
                let full = self.queue.len() >= events || self.queued_bytes >= bytes;
                let due = now >= first.saturating_add(self.limits.flush_interval);
                if !(full || due || self.flush_requested) {
                    return Next::WaitUntil(first.saturating_add(self.limits.flush_interval));
                }
                if in_burst && !(due || self.flush_requested) {
                    return Next::WaitUntil(now);
                }
                self.take_batch(now)
            }
        };
        let id = batch.id;
        self.in_flight.push(batch);
        Next::Send(id)
    }

    /// Takes the oldest records that fit the next batch's size (always at least one).
    fn take_batch(&mut self, now: Millis) -> Batch {
        let first = self.queue_first;
        let (max_events, max_bytes) = self.take;
        let mut records = Vec::new();
        let mut bytes = 0;
        while let Some(record) = self.queue.front() {
            let size = record.json.len();
            let fits =
                records.is_empty() || (records.len() < max_events && bytes + size <= max_bytes);
            if !fits {
                break;
            }
            let Some(record) = self.queue.pop_front() else {
                break;
            };
            bytes += size;
            self.queued_bytes -= size;
            self.queue_first += 1;
            records.push(record);
        }
        if self.queue.is_empty() {
            self.first_queued_at = None;
            self.flush_requested = false;
        } else {
            self.first_queued_at = Some(now);
        }
        Batch {
            id: self.batch_id(),
            first,
            records,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: usize, size: usize) -> Record {
        let json = format!("{n:0>size$}");
        Record {
            event_id: format!("e{n}"),
            json,
        }
    }

    fn ids(batch: &Batch) -> Vec<String> {
        batch.records.iter().map(|r| r.event_id.clone()).collect()
    }

    impl Batcher {
        /// The batch `step` sent (a copy, to compare).
        fn sent_with(&mut self, step: impl FnOnce(&mut Batcher) -> Next) -> Batch {
            match step(self) {
                Next::Send(id) => self.in_flight(id).cloned().unwrap(),
                other => panic!("expected a send, got {other:?}"),
            }
        }
    }

    const OK: Response = Response::Status {
        code: 200,
        retry_after: None,
    };
    const UNAVAILABLE: Response = Response::Status {
        code: 503,
        retry_after: None,
    };

    #[test]
    fn a_batch_goes_when_full_or_when_the_interval_passes() {
        let mut b = Batcher::new(Limits {
            max_events: 3,
            ..Limits::default()
        });
        assert_eq!(b.push(record(1, 10), 1_000), Next::WaitUntil(6_000));
        assert_eq!(b.push(record(2, 10), 2_000), Next::WaitUntil(6_000));
        let batch = b.sent_with(|b| b.due_after_push(record(3, 10), 3_000));
        assert_eq!(ids(&batch), ["e1", "e2", "e3"]);
        assert_eq!(b.on_response(batch.id, OK, 3_100, 0), Next::Idle);

        assert_eq!(b.push(record(4, 10), 10_000), Next::WaitUntil(15_000));
        assert_eq!(b.poll(14_999), Next::WaitUntil(15_000));
        assert_eq!(ids(&b.sent_with(|b| b.poll(15_000))), ["e4"]);
    }

    #[test]
    fn batches_respect_the_byte_limit() {
        let mut b = Batcher::new(Limits {
            max_bytes: 100,
            ..Limits::default()
        });
        b.push(record(1, 40), 0);
        b.push(record(2, 40), 0);
        let batch = b.sent_with(|b| b.due_after_push(record(3, 40), 0));
        assert_eq!(ids(&batch), ["e1", "e2"], "120 bytes would not fit in 100");
        assert_eq!(
            b.on_response(batch.id, OK, 1, 0),
            Next::WaitUntil(5_000),
            "e3 was queued at 0"
        );
        assert_eq!(ids(&b.sent_with(|b| b.flush(2))), ["e3"]);
    }

    #[test]
    fn full_batches_go_side_by_side_up_to_the_bound_and_flush_waits_for_a_free_upload() {
        let mut b = Batcher::new(Limits {
            max_events: 2,
            ..Limits::default()
        });
        let mut in_flight = Vec::new();
        for n in 0..MAX_UPLOADS_IN_FLIGHT {
            b.push(record(2 * n, 10), 0);
            in_flight.push(b.sent_with(|b| b.due_after_push(record(2 * n + 1, 10), 0)));
            assert_eq!(b.poll(0), Next::Idle, "nothing else is queued");
        }
        assert_eq!(ids(&in_flight[1]), ["e2", "e3"]);
        let n = 2 * MAX_UPLOADS_IN_FLIGHT;
        b.push(record(n, 10), 0);
        assert_eq!(
            b.push(record(n + 1, 10), 0),
            Next::Idle,
            "the bound is reached"
        );
        b.push(record(n + 2, 10), 0);
        assert_eq!(b.flush(11), Next::Idle, "flush waits for a free upload");
        let next = b.sent_with(|b| b.on_response(in_flight[1].id, OK, 12, 0));
        assert_eq!(ids(&next), [format!("e{n}"), format!("e{}", n + 1)]);
        let last = b.sent_with(|b| b.on_response(in_flight[0].id, OK, 13, 0));
        assert_eq!(ids(&last), [format!("e{}", n + 2)]);
        assert_eq!(b.poll(13), Next::Idle, "the flush took everything");
        for batch in in_flight.iter().skip(2).chain([&next, &last]) {
            assert_eq!(b.on_response(batch.id, OK, 14, 0), Next::Idle);
        }
        assert_eq!(b.pending(), 0);
    }

    /// The batches `n` pushes of 10-byte records send, with the timer firing after each push
    /// that makes a batch due (events logged one at a time).
    fn push_many(b: &mut Batcher, from: usize, n: usize) -> Vec<Batch> {
        let mut sent = Vec::new();
        for i in from..from + n {
            if b.push(record(i, 10), 0) == Next::WaitUntil(0) {
                while let Next::Send(id) = b.poll(0) {
                    sent.extend(b.in_flight(id).cloned());
                }
            }
        }
        sent
    }

    #[test]
    fn a_backlog_leaves_in_batches_that_grow_while_the_endpoint_keeps_up() {
        let mut b = Batcher::new(Limits::default());
        let due = push_many(&mut b, 0, 4 * DUE_EVENTS + 2_000);
        let sizes = |batches: &[Batch]| batches.iter().map(|b| b.records.len()).collect::<Vec<_>>();
        assert_eq!(
            sizes(&due),
            [DUE_EVENTS; 4],
            "a steady stream goes as it is due"
        );
        let mut grown = Vec::new();
        for batch in &due[..3] {
            grown.push(b.sent_with(|b| b.on_response(batch.id, OK, 1, 0)));
        }
        assert_eq!(
            sizes(&grown),
            [400, 800, 800],
            "doubling per answer, the rest of the backlog"
        );
        for batch in grown.iter().chain(&due[3..]) {
            b.on_response(batch.id, OK, 2, 0);
        }
        let big = push_many(&mut b, 10_000, 4 * DUE_EVENTS + 3_000);
        assert_eq!(sizes(&big), [DUE_EVENTS; 4]);
        let next = b.sent_with(|b| b.on_response(big[0].id, OK, 3, 0));
        assert_eq!(next.records.len(), 1_000, "at most max_events");
        assert_eq!(b.pending(), 3 * DUE_EVENTS + 3_000, "the first answered");
    }

    #[test]
    fn events_logged_in_one_go_leave_together_at_the_next_poll() {
        let mut b = Batcher::new(Limits::default());
        let warm = b.sent_with(|b| b.flush_after_push(record(0, 10), 0));
        b.on_response(warm.id, OK, 1, 0);
        for n in 1..=1_000 {
            let next = b.push(record(n, 10), 2);
            if n < DUE_EVENTS {
                assert_eq!(next, Next::WaitUntil(5_002), "not due yet");
            } else {
                assert_eq!(next, Next::WaitUntil(2), "due: sent at the next poll");
            }
        }
        let first = b.sent_with(|b| b.poll(2));
        assert_eq!(
            first.records.len(),
            400,
            "the batch size one answer grew it to"
        );
        let second = b.sent_with(|b| b.poll(2));
        assert_eq!(second.records.len(), 400);
        let third = b.sent_with(|b| b.poll(2));
        assert_eq!(third.records.len(), 200);
        assert_eq!(
            b.poll(2),
            Next::Idle,
            "nothing left, no interval to wait for"
        );

        let mut b = Batcher::new(Limits {
            flush_interval: 0,
            ..Limits::default()
        });
        assert!(
            matches!(b.push(record(1, 10), 0), Next::Send(_)),
            "flushIntervalMs 0: at once"
        );
    }

    #[test]
    fn after_a_failure_batches_are_due_sized_again_so_a_failing_endpoint_holds_little() {
        let mut b = Batcher::new(Limits::default());
        let first = b.sent_with(|b| b.flush_after_push(record(0, 10), 0));
        b.on_response(first.id, OK, 1, 0);
        let second = b.sent_with(|b| b.flush_after_push(record(1, 10), 1));
        b.on_response(second.id, OK, 2, 0);
        let third = b.sent_with(|b| b.flush_after_push(record(2, 10), 2));
        b.on_response(third.id, OK, 3, 0);
        assert_eq!(
            b.take,
            (1_000, 512 * 1024),
            "three answers: 200 → 400 → 800 → 1000"
        );
        let failing = b.sent_with(|b| b.flush_after_push(record(3, 10), 3));
        assert!(matches!(
            b.on_response(failing.id, Response::NetworkError, 4, 0),
            Next::WaitUntil(_)
        ));
        assert_eq!(b.take, (DUE_EVENTS, DUE_BYTES));
        push_many(&mut b, 4, 3_000);
        let retry = b.sent_with(|b| b.poll(10_000));
        assert_eq!(ids(&retry), ["e3"], "the retry keeps its form");
        for _ in 1..MAX_UPLOADS_IN_FLIGHT {
            let batch = b.sent_with(|b| b.poll(10_000));
            assert_eq!(batch.records.len(), DUE_EVENTS);
        }
    }

    #[test]
    fn a_413_stops_the_growth_at_half_the_refused_batch_but_not_below_the_due_size() {
        let mut b = Batcher::new(Limits::default());
        let too_large = Response::Status {
            code: 413,
            retry_after: None,
        };
        for _ in 0..4 {
            let batch = b.sent_with(|b| b.flush_after_push(record(0, 10), 0));
            b.on_response(batch.id, OK, 1, 0);
        }
        assert_eq!(b.take, (1_000, 1024 * 1024));
        // Four due batches of 1000-byte records in flight, and a backlog behind them.
        let mut due = Vec::new();
        for n in 0..2_000 {
            if b.push(record(n, 1_000), 2) == Next::WaitUntil(2) {
                while let Next::Send(id) = b.poll(2) {
                    due.push(id);
                }
            }
        }
        assert_eq!(due.len(), MAX_UPLOADS_IN_FLIGHT);
        let refused = b.sent_with(|b| b.on_response(due[0], OK, 3, 0));
        assert_eq!(refused.records.len(), 1_000, "a million bytes fit in 1 MiB");
        let half = b.sent_with(|b| b.on_response(refused.id, too_large, 4, 0));
        assert_eq!(half.records.len(), 500, "split");
        assert_eq!(b.ceiling, 500_000, "half of the refused batch");
        assert_eq!(b.take, (DUE_EVENTS, DUE_BYTES));
        let mut in_flight = due[1..].to_vec();
        in_flight.push(half.id);
        assert_eq!(b.flush(5), Next::Idle, "four in flight");
        let mut largest = 0;
        while let Some(id) = in_flight.pop() {
            let mut next = b.on_response(id, OK, 5, 0);
            while let Next::Send(id) = next {
                let bytes = b.in_flight(id).map_or(0, |batch| {
                    batch.records.iter().map(|r| r.json.len()).sum::<usize>()
                });
                largest = largest.max(bytes);
                in_flight.push(id);
                next = b.poll(5);
            }
        }
        assert_eq!(b.pending(), 0, "the backlog is delivered");
        assert!(largest <= 500_000, "no batch past the ceiling: {largest}");
        assert_eq!(
            b.take,
            (1_000, 500_000),
            "grows again, up to the new ceiling"
        );

        let mut b = Batcher::new(Limits::default());
        b.push(record(1, 10), 0);
        let small = b.sent_with(|b| b.flush_after_push(record(2, 10), 0));
        b.on_response(small.id, too_large, 1, 0);
        assert_eq!(b.ceiling, DUE_BYTES, "never below the due size");
    }

    #[test]
    fn answers_in_any_order_keep_the_records_oldest_first() {
        let mut b = Batcher::new(Limits {
            max_events: 2,
            ..Limits::default()
        });
        let all = |b: &Batcher| b.records().map(|r| r.event_id.clone()).collect::<Vec<_>>();
        b.push(record(1, 10), 0);
        let first = b.sent_with(|b| b.due_after_push(record(2, 10), 0));
        b.push(record(3, 10), 0);
        let second = b.sent_with(|b| b.due_after_push(record(4, 10), 0));
        b.push(record(5, 10), 0);
        let flushed = b.pushed();
        assert!(!b.done_before(flushed));
        b.on_response(second.id, UNAVAILABLE, 10, 0);
        assert_eq!(all(&b), ["e1", "e2", "e3", "e4", "e5"]);
        b.on_response(first.id, OK, 11, 0);
        assert!(b.done_before(2), "e1 and e2 are acknowledged");
        assert!(!b.done_before(flushed), "e3 and e4 wait for their retry");
        assert_eq!(all(&b), ["e3", "e4", "e5"]);
        let retry = b.sent_with(|b| b.poll(510));
        assert_eq!(ids(&retry), ["e3", "e4"], "the retry goes first");
        b.on_response(retry.id, OK, 520, 0);
        let last = b.sent_with(|b| b.flush(520));
        assert!(!b.done_before(flushed));
        b.on_response(last.id, OK, 530, 0);
        assert!(b.done_before(flushed));
        assert_eq!(b.take_dropped(), None);
    }

    #[test]
    fn uploads_failing_together_back_off_once_and_retry_oldest_first() {
        let mut b = Batcher::new(Limits {
            max_events: 1,
            ..Limits::default()
        });
        let first = b.sent_with(|b| b.due_after_push(record(1, 10), 0));
        let second = b.sent_with(|b| b.due_after_push(record(2, 10), 0));
        assert_eq!(
            b.on_response(second.id, Response::NetworkError, 10, 0),
            Next::WaitUntil(510)
        );
        assert_eq!(
            b.on_response(first.id, Response::NetworkError, 20, 0),
            Next::WaitUntil(510),
            "one round of failures, one step of back-off"
        );
        assert_eq!(ids(&b.sent_with(|b| b.poll(510))), ["e1"]);
        assert_eq!(ids(&b.sent_with(|b| b.poll(510))), ["e2"]);
    }

    #[test]
    fn retryable_failures_back_off_exponentially_up_to_a_minute() {
        let mut b = Batcher::new(Limits::default());
        let mut batch = b.sent_with(|b| b.flush_after_push(record(1, 10), 0));
        let mut now = 0;
        let mut waits = Vec::new();
        for _ in 0..9 {
            let Next::WaitUntil(at) = b.on_response(batch.id, Response::NetworkError, now, 0)
            else {
                panic!()
            };
            waits.push(at - now);
            assert_eq!(b.poll(at - 1), Next::WaitUntil(at), "never earlier");
            now = at;
            batch = b.sent_with(|b| b.poll(now));
            assert_eq!(ids(&batch), ["e1"], "the same events are retried");
        }
        // With no jitter each wait is the lower half of its band: 1 s, 2 s, 4 s, … capped at 60 s.
        assert_eq!(
            waits,
            [
                500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000
            ]
        );
        assert_eq!(b.on_response(batch.id, OK, now, 0), Next::Idle);
        assert_eq!(b.take_dropped(), None, "nothing lost");
    }

    #[test]
    fn jitter_randomises_the_upper_half() {
        assert_eq!(backoff(1, 0), 500);
        assert_eq!(backoff(1, 500), 1_000);
        assert_eq!(backoff(3, 0), 2_000);
        assert!((2_000..=4_000).contains(&backoff(3, 1_234_567)));
        assert_eq!(backoff(100, 0), 30_000);
        assert!(backoff(100, u32::MAX) <= 60_000);
    }

    #[test]
    fn retry_after_is_honoured_and_recovery_resets_the_back_off() {
        let mut b = Batcher::new(Limits::default());
        let batch = b.sent_with(|b| b.flush_after_push(record(1, 10), 0));
        let busy = Response::Status {
            code: 429,
            retry_after: Some(2_000),
        };
        assert_eq!(
            b.on_response(batch.id, busy, 100, 0),
            Next::WaitUntil(2_100)
        );
        let batch = b.sent_with(|b| b.poll(2_100));
        assert_eq!(
            b.on_response(batch.id, UNAVAILABLE, 2_200, 0),
            Next::WaitUntil(3_200),
            "second failure: 2 s band"
        );
        let batch = b.sent_with(|b| b.poll(3_200));
        b.on_response(batch.id, OK, 3_300, 0);
        let batch = b.sent_with(|b| b.flush_after_push(record(2, 10), 4_000));
        assert_eq!(
            b.on_response(batch.id, UNAVAILABLE, 4_100, 0),
            Next::WaitUntil(4_600),
            "back to the 1 s band"
        );
    }

    #[test]
    fn which_statuses_are_retried() {
        for code in [408, 429, 500, 502, 503, 504] {
            let mut b = Batcher::new(Limits::default());
            let batch = b.sent_with(|b| b.flush_after_push(record(1, 10), 0));
            assert!(
                matches!(
                    b.on_response(
                        batch.id,
                        Response::Status {
                            code,
                            retry_after: None
                        },
                        0,
                        0
                    ),
                    Next::WaitUntil(_)
                ),
                "{code}"
            );
            assert_eq!(b.pending(), 1, "{code}");
        }
        for code in [400, 401, 403, 404, 422] {
            let mut b = Batcher::new(Limits::default());
            let batch = b.sent_with(|b| b.flush_after_push(record(1, 10), 0));
            assert_eq!(
                b.on_response(
                    batch.id,
                    Response::Status {
                        code,
                        retry_after: None
                    },
                    0,
                    0
                ),
                Next::Idle,
                "{code}"
            );
            assert_eq!(b.pending(), 0);
            assert_eq!(
                b.take_dropped(),
                Some(vec![(DropReason::Rejected4xx, 1)]),
                "{code}"
            );
        }
    }

    #[test]
    fn a_413_splits_the_batch_until_single_events_are_dropped() {
        let mut b = Batcher::new(Limits::default());
        for n in 1..=4 {
            b.push(record(n, 10), 0);
        }
        let too_large = Response::Status {
            code: 413,
            retry_after: None,
        };
        let batch = b.sent_with(|b| b.flush(0));
        let halves = b.sent_with(|b| b.on_response(batch.id, too_large, 1, 0));
        assert_eq!(ids(&halves), ["e1", "e2"]);
        let quarter = b.sent_with(|b| b.on_response(halves.id, too_large, 2, 0));
        assert_eq!(ids(&quarter), ["e1"]);
        let next = b.sent_with(|b| b.on_response(quarter.id, too_large, 3, 0));
        assert_eq!(ids(&next), ["e2"]);
        let rest = b.sent_with(|b| b.on_response(next.id, OK, 4, 0));
        assert_eq!(ids(&rest), ["e3", "e4"]);
        assert_eq!(b.on_response(rest.id, OK, 5, 0), Next::Idle);
        assert_eq!(b.take_dropped(), Some(vec![(DropReason::TooLarge, 1)]));
    }

    #[test]
    fn the_queue_is_bounded_and_drops_the_oldest_counting_them() {
        let mut b = Batcher::new(Limits {
            max_queue_bytes: 1_000,
            max_events: 10_000,
            max_bytes: 1 << 30,
            flush_interval: 1 << 40,
        });
        for n in 0..10_000 {
            b.push(record(n, 100), 0);
        }
        assert_eq!(b.pending(), 10);
        assert_eq!(b.take_dropped(), Some(vec![(DropReason::QueueFull, 9_990)]));
        assert_eq!(b.take_dropped(), None, "counts are reported once");
        let batch = b.sent_with(|b| b.flush(1));
        assert_eq!(
            ids(&batch).first().map(String::as_str),
            Some("e9990"),
            "the newest survive"
        );
        b.push(record(1, 2_000), 2);
        assert_eq!(b.take_dropped(), Some(vec![(DropReason::TooLarge, 1)]));
    }

    #[test]
    fn after_repeated_network_failures_going_online_retries_at_once() {
        let mut b = Batcher::new(Limits::default());
        let mut batch = b.sent_with(|b| b.flush_after_push(record(1, 10), 0));
        let mut now = 0;
        for _ in 0..PAUSE_AFTER_FAILURES {
            let Next::WaitUntil(at) = b.on_response(batch.id, Response::NetworkError, now, 0)
            else {
                panic!()
            };
            now = at;
            batch = b.sent_with(|b| b.poll(now));
        }
        let Next::WaitUntil(at) = b.on_response(batch.id, Response::NetworkError, now, 0) else {
            panic!()
        };
        assert!(at > now + 1_000);
        assert_eq!(ids(&b.sent_with(|b| b.online(now + 10))), ["e1"]);
    }

    #[test]
    fn a_response_for_an_unknown_batch_changes_nothing() {
        let mut b = Batcher::new(Limits::default());
        let batch = b.sent_with(|b| b.flush_after_push(record(1, 10), 0));
        assert_eq!(b.on_response(batch.id + 7, OK, 1, 0), Next::Idle);
        assert_eq!(b.pending(), 1);
    }

    impl Batcher {
        fn flush_after_push(&mut self, record: Record, now: Millis) -> Next {
            self.push(record, now);
            self.flush(now)
        }

        /// Pushes a record that makes a batch due: it waits for the timer set for now, which
        /// then fires.
        fn due_after_push(&mut self, record: Record, now: Millis) -> Next {
            assert_eq!(
                self.push(record, now),
                Next::WaitUntil(now),
                "due at the next poll"
            );
            self.poll(now)
        }
    }

    #[test]
    fn pending_records_are_listed_oldest_first_across_retries_and_the_queue() {
        let mut b = Batcher::new(Limits {
            max_events: 2,
            ..Limits::default()
        });
        b.push(record(1, 10), 0);
        let first = b.sent_with(|b| b.due_after_push(record(2, 10), 0));
        b.push(record(3, 10), 1);
        let all = |b: &Batcher| b.records().map(|r| r.event_id.clone()).collect::<Vec<_>>();
        assert_eq!(all(&b), ["e1", "e2", "e3"]);
        b.on_response(first.id, UNAVAILABLE, 10, 0);
        assert!(b.is_backing_off(11));
        assert_eq!(all(&b), ["e1", "e2", "e3"]);
        b.count(DropReason::StorageFull, 2);
        assert_eq!(b.take_dropped(), Some(vec![(DropReason::StorageFull, 2)]));
    }
}
