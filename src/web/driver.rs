//! Holds the core [`Recorder`] with the browser objects its effects need (timers, promises,
//! the page's original `fetch`, the storage slot, the `Action` objects handed out) and carries
//! the effects out. It decides nothing.

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{RefCell, RefMut};

use js_sys::{Function, RegExp};
use wasm_bindgen::JsValue;

use crate::Millis;
use crate::id::Id;
use crate::protocol::Decisions;
use crate::recorder::{Effect, PromiseId, Recorder, Slot, Timer};
use crate::web::glue::{self, Page, now};

/// The recorder in the page; lives in an `Rc<RefCell<_>>` ([`Handle`]).
pub(crate) struct Shell {
    pub core: Recorder<Page>,
    /// The `Hooks` object the JS glue calls back into.
    pub hooks: JsValue,
    /// The `RegExp` entries of `propagateTo`.
    pub regexes: Vec<RegExp>,
    /// `window.fetch` as it was before Threadline patched it: what uploads go through.
    #[cfg(feature = "events")]
    upload_fetch: JsValue,
    /// Where the session is kept (see `openSlot` in `js/page.js`).
    session_slot: JsValue,
    /// Where events go, and this tab's storage key for them (kept: effects may follow the
    /// pipeline's end at `shutdown`).
    #[cfg(feature = "events")]
    endpoint: String,
    #[cfg(feature = "events")]
    outbox_key: String,
    timers: [Option<JsValue>; 3],
    promises: Vec<(PromiseId, Function)>,
    next_promise: PromiseId,
    /// The `Action` object handed out for an action, so `currentAction()` returns the same one.
    pub action_object: Option<(Id, JsValue)>,
    /// The element whose click started an automatic action.
    pub auto_source: Option<(Id, JsValue)>,
    /// The headers part of plan answers, crossing into JavaScript only when it changes.
    pub decisions: Decisions,
    /// Warnings the core wrote, printed once the recorder is free again, so that with
    /// `captureConsole` they are recorded like any other console line.
    warnings: Vec<String>,
}

/// Shared ownership of the recorder in the page.
pub(crate) type Handle = Rc<RefCell<Shell>>;

impl Shell {
    /// The shell around `core` in the page `window` (whose fetch, as it was before Threadline's
    /// patches, uploads go through).
    pub fn new(
        core: Recorder<Page>,
        regexes: Vec<RegExp>,
        session_slot: JsValue,
        window: &JsValue,
    ) -> Shell {
        #[cfg(not(feature = "events"))]
        let _ = window;
        Shell {
            #[cfg(feature = "events")]
            upload_fetch: glue::page_fetch(window),
            #[cfg(feature = "events")]
            endpoint: String::from(core.endpoint().unwrap_or_default()),
            #[cfg(feature = "events")]
            outbox_key: String::from(core.outbox_key().unwrap_or_default()),
            core,
            hooks: JsValue::UNDEFINED,
            regexes,
            session_slot,
            timers: [None, None, None],
            promises: Vec::new(),
            next_promise: 0,
            action_object: None,
            auto_source: None,
            decisions: Decisions::default(),
            warnings: Vec::new(),
        }
    }

    /// Holds the `resolve` of a `flush()` or `shutdown()` promise; the ID the core settles it by.
    pub fn promise(&mut self, resolve: Function) -> PromiseId {
        self.next_promise = self.next_promise.wrapping_add(1);
        self.promises.push((self.next_promise, resolve));
        self.next_promise
    }

    /// Carries out what the core decided at `now` (the happening's time), in order.
    fn carry_out(&mut self, now: Millis) {
        while self.core.has_effects() {
            for effect in self.core.take_effects() {
                self.apply(effect, now);
            }
        }
    }

    fn apply(&mut self, effect: Effect, now: Millis) {
        match effect {
            Effect::SetTimer(timer, at) => {
                self.cancel(timer);
                let delay = i32::try_from(at.saturating_sub(now)).unwrap_or(i32::MAX);
                if let Some(slot) = self.timers.get_mut(timer as usize) {
                    *slot = Some(glue::tick_after(&self.hooks, delay, timer as u8));
                }
            }
            Effect::CancelTimer(timer) => self.cancel(timer),
            #[cfg(feature = "events")]
            Effect::Upload {
                batch,
                body,
                timeout,
            } => glue::upload(
                &self.upload_fetch,
                &self.endpoint,
                body.as_bytes(),
                &self.hooks,
                batch,
                u32::try_from(timeout).unwrap_or(u32::MAX),
            ),
            #[cfg(feature = "events")]
            Effect::Beacon(body) => {
                let queued = glue::beacon(&self.endpoint, body.as_bytes());
                self.core.beacon_answered(queued);
            }
            Effect::Store(Slot::Session, value) => glue::slot_set(&self.session_slot, &value),
            #[cfg(feature = "events")]
            Effect::Store(Slot::Outbox, value) => {
                glue::outbox_write(&self.outbox_key, &value);
            }
            Effect::Settle(id) => {
                if let Some(at) = self.promises.iter().position(|(p, _)| *p == id) {
                    let (_, resolve) = self.promises.swap_remove(at);
                    let _ = resolve.call0(&JsValue::UNDEFINED);
                }
            }
            Effect::Warn(text) => self.warnings.push(text),
        }
    }

    fn cancel(&mut self, timer: Timer) {
        if let Some(pending) = self.timers.get_mut(timer as usize).and_then(Option::take) {
            glue::cancel_tick(&pending);
        }
    }
}

/// Runs `f` on the shell with the time of the happening, then carries out its effects; does
/// nothing if the recorder is busy (a re-entrant call, e.g. a console line written while
/// recording).
pub(crate) fn with_shell<T>(handle: &Handle, f: impl FnOnce(&mut Shell, Millis) -> T) -> Option<T> {
    let mut shell = handle.try_borrow_mut().ok()?;
    let now = now();
    let out = f(&mut shell, now);
    finish(shell, now);
    Some(out)
}

/// Carries out the effects, then prints the core's warnings with the recorder free, so that the
/// console line each one is gets recorded like any other (with `captureConsole`).
fn finish(mut shell: RefMut<'_, Shell>, now: Millis) {
    shell.carry_out(now);
    let warnings = core::mem::take(&mut shell.warnings);
    drop(shell);
    for text in &warnings {
        glue::warn(text);
    }
}
