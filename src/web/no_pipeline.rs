//! The propagation-only build's stand-in for the event pipeline (`web/pipeline.rs`, feature
//! `events`): nothing is recorded or sent, so the encoders, the batcher and page-exit storage
//! stay out of the wasm. The shell calls the same names either way.

use alloc::string::String;

use js_sys::Function;
use wasm_bindgen::JsValue;

use crate::Millis;
use crate::event::{Severity, Stamp};
use crate::id::Id;
use crate::options::Config;
use crate::redact::Redactor;
use crate::web::shared::Shared;

/// Never exists: a recorder without the event pipeline has none.
pub(crate) enum Pipeline {}

impl Pipeline {
    /// Always `None`.
    pub fn new(_config: &Config, _upload_fetch: JsValue, _tab: Id) -> Option<Pipeline> {
        None
    }

    /// Unreachable: there is no pipeline.
    pub fn keeps_query(&self) -> bool {
        match *self {}
    }
}

/// Timer kinds, as in the full build.
pub(crate) const TIMER_AUTO_ACTION: u8 = 0;
pub(crate) const TIMER_FLUSH_DEADLINE: u8 = 2;

impl Shared {
    /// Records nothing.
    pub fn emit(
        &mut self,
        _correlation: Option<Id>,
        _severity: Severity,
        _build: impl FnOnce(&Stamp, &Redactor) -> String,
    ) {
    }

    /// Records nothing.
    pub fn emit_at(
        &mut self,
        _correlation: Option<Id>,
        _time: Option<Millis>,
        _severity: Severity,
        _build: impl FnOnce(&Stamp, &Redactor) -> String,
    ) {
    }

    /// No event is recorded.
    pub fn is_recorded(&self, _severity: Severity) -> bool {
        false
    }

    /// No upload is ever made.
    pub fn uploaded(&mut self, _id: u32, _status: u16, _retry_after: Option<String>) {}

    /// No flush ever waits.
    pub fn flush_deadline(&mut self) {}

    /// No batch timer is ever set.
    pub fn pipeline_timer(&mut self) {}

    /// Nothing is pending: `resolve` is called at once.
    pub fn flush(&mut self, resolve: Function, _close: bool) {
        let _ = resolve.call0(&JsValue::UNDEFINED);
    }

    /// Nothing to keep when the page goes.
    pub fn lifecycle(&mut self, _change: u8) {}

    /// Nothing was stored.
    pub fn resend_outbox(&mut self) {}
}
