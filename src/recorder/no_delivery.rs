//! The propagation-only build's stand-in for `delivery.rs` (feature `events`): nothing is
//! recorded or sent, so the encoders, the batcher and page-exit storage stay out of the wasm.
//! The recorder calls the same names either way.

use alloc::string::String;

use crate::Millis;
use crate::event::{Severity, Stamp};
use crate::id::Id;
use crate::options::Config;
use crate::recorder::Recorder;
use crate::recorder::effect::{Effect, PromiseId};
use crate::redact::Redactor;

/// Never exists: a recorder without the event pipeline has none.
pub enum Delivery {}

impl Delivery {
    /// Always `None`.
    pub fn new(_config: &Config, _tab: Id) -> Option<Delivery> {
        None
    }

    /// Unreachable: there is no pipeline.
    pub fn storage_changed(&mut self, _key: Option<&str>, _value: Option<&str>) {
        match *self {}
    }

    /// Unreachable: there is no pipeline.
    pub fn count_forgotten(&mut self, _n: usize) {
        match *self {}
    }
}

impl<P: crate::recorder::PagePath> Recorder<P> {
    /// No endpoint.
    pub fn endpoint(&self) -> Option<&str> {
        None
    }

    /// Nothing is stored.
    pub fn outbox_key(&self) -> Option<&str> {
        None
    }

    pub(crate) fn keeps_query(&self) -> bool {
        false
    }

    /// No event is recorded.
    pub fn is_recorded(&self, _severity: Severity) -> bool {
        false
    }

    pub(crate) fn emit(
        &mut self,
        _now: Millis,
        _correlation: Option<Id>,
        _severity: Severity,
        _build: impl FnOnce(&Stamp, &Redactor) -> String,
    ) {
    }

    pub(crate) fn emit_at(
        &mut self,
        _now: Millis,
        _correlation: Option<Id>,
        _time: Option<Millis>,
        _path: Option<&str>,
        _build: impl FnOnce(&Stamp, &Redactor) -> String,
    ) {
    }

    /// No upload is ever made.
    pub fn upload_answered(
        &mut self,
        _now: Millis,
        _batch: u32,
        _status: u16,
        _retry_after: Option<&str>,
    ) {
    }

    /// No beacon is ever sent.
    pub fn beacon_answered(&mut self, _queued: bool) {}

    pub(crate) fn flush_deadline(&mut self, _now: Millis) {}

    pub(crate) fn batch_timer_fired(&mut self, _now: Millis) {}

    /// Nothing is pending: `promise` settles at once.
    pub fn flush(&mut self, _now: Millis, promise: PromiseId, _close: bool) {
        self.effects.push(Effect::Settle(promise));
    }

    /// Nothing to keep when the page goes.
    pub fn page_hidden(&mut self, _now: Millis) {}

    /// Nothing was kept.
    pub fn page_shown(&mut self) {}

    /// Nothing to retry.
    pub fn online(&mut self, _now: Millis) {}

    /// Nothing was stored.
    pub fn restore(&mut self, _now: Millis, _stored: &str) {}
}
