//! The entry points the recorder's own JavaScript glue calls back into: plan a request, report
//! its end, a click or submit, a timer, another tab's storage write, an upload's end, the page
//! being hidden or shown, an uncaught error, a console line. One
//! exported object instead of a closure each, which keeps closure machinery out of the download.
//! Not part of the public API.

use alloc::rc::Weak;
use alloc::string::String;
use core::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::event::Severity;
use crate::id::Id;
use crate::page_events::{self, Settled, Uncaught};
use crate::web::pipeline::{TIMER_AUTO_ACTION, TIMER_FLUSH_DEADLINE};
use crate::web::shared::{Handle, Shared, schedule_auto_end};
use crate::web::{auto_actions, plan};

/// A byte count from JavaScript as an integer (negative or NaN counts as 0).
fn whole(bytes: f64) -> u64 {
    // A message's length, far below 2^53.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = bytes.max(0.0) as u64;
    n
}

/// Holds the recorder state weakly: the glue outliving the recorder does nothing.
#[wasm_bindgen]
pub struct Hooks {
    handle: Weak<RefCell<Shared>>,
}

impl Hooks {
    /// Hooks onto the recorder state behind `handle`.
    pub(crate) fn new(handle: Weak<RefCell<Shared>>) -> Hooks {
        Hooks { handle }
    }

    /// Runs `f` on the recorder state unless the recorder is gone or busy (a re-entrant call,
    /// e.g. a console line written while recording).
    fn with(&self, f: impl FnOnce(&mut Shared)) {
        if let Some(handle) = self.handle.upgrade() {
            if let Ok(mut shared) = handle.try_borrow_mut() {
                f(&mut shared);
            }
        }
    }

    fn handle(&self) -> Option<Handle> {
        self.handle.upgrade()
    }
}

#[wasm_bindgen]
impl Hooks {
    /// Plans a request about to start: 0 to leave it alone, else its token, negated when the
    /// headers to add changed since `decision()` was last called. `request` is href, method, app
    /// header names, previous ID and forced ID, joined by newlines (see `js/patch.js` and
    /// `web/plan.rs`).
    pub fn plan(&self, request: String) -> f64 {
        self.handle
            .upgrade()
            .map_or(0.0, |handle| plan::plan(&handle, &request))
    }

    /// The headers of the latest plan: `id\nname\nvalue…`, or `\nheader` for a request that is
    /// only observed (the app set the correlation header).
    pub fn decision(&self) -> String {
        self.handle
            .upgrade()
            .and_then(|handle| Some(handle.try_borrow_mut().ok()?.decisions.take()))
            .unwrap_or_default()
    }

    /// A planned request ended: `how` is 0 with an HTTP `status`, 1 for a network error, 2 for
    /// an abort; `echoed` is the response's correlation header, if readable; `traceparent` the
    /// one it went out with, when code below Threadline replaced Threadline's.
    pub fn settle(
        &self,
        token: u32,
        status: u16,
        how: u8,
        echoed: Option<String>,
        traceparent: Option<String>,
    ) {
        let settled = match how {
            0 => Settled::Status(status),
            2 => Settled::Aborted,
            _ => Settled::NetworkError,
        };
        self.with(|shared| {
            shared.settle_request(token, settled, echoed.as_deref(), traceparent.as_deref())
        });
        if let Some(handle) = self.handle() {
            schedule_auto_end(&handle);
        }
    }

    /// Tagged request `token` failed without a response: whether it may be sent once more
    /// without Threadline's headers (a cross-origin `GET` or `HEAD`, as a refused CORS
    /// preflight fails). It is still in flight until settled.
    #[wasm_bindgen(js_name = mayResend)]
    pub fn may_resend(&self, token: u32) -> bool {
        let handle = self.handle.upgrade();
        let shared = handle.as_ref().and_then(|h| h.try_borrow().ok());
        shared.is_some_and(|s| s.may_resend(token))
    }

    /// A request to `href` answered once sent without Threadline's headers: its server refused
    /// them, and its origin gets none from now on.
    #[wasm_bindgen(js_name = corsRefused)]
    pub fn cors_refused(&self, href: String) {
        self.with(|shared| shared.cors_refused(&href));
    }

    /// Requests started between `init` and the recorder being ready: `held` waited and were
    /// planned, `untagged` went out untouched; the longest wait, in ms. Recorded as a
    /// `threadline.startup` event.
    pub fn startup(&self, held: u32, untagged: u32, waited_ms: u32) {
        self.with(|shared| {
            shared.emit(None, Severity::Info, |stamp, _| {
                page_events::startup(stamp, held, untagged, waited_ms)
            });
        });
    }

    /// An event upload ended: its HTTP status, or 0 for a network error.
    pub fn uploaded(&self, id: u32, status: u16, retry_after: Option<String>) {
        self.with(|shared| shared.uploaded(id, status, retry_after));
    }

    /// The page was hidden (0), shown (1) or came back online (2).
    pub fn lifecycle(&self, change: u8) {
        self.with(|shared| shared.lifecycle(change));
    }

    /// An uncaught error (`source` "error") or unhandled rejection.
    pub fn uncaught(&self, source: String, kind: String, message: String, stack: String) {
        let uncaught = Uncaught {
            source: &source,
            kind: &kind,
            message: &message,
            stack: &stack,
        };
        self.with(|shared| {
            shared.emit(None, Severity::Error, |stamp, _| {
                page_events::error(stamp, &uncaught)
            })
        });
    }

    /// A `console.error` (`is_error`) or `console.warn` line.
    pub fn console(&self, is_error: bool, message: String) {
        let severity = if is_error {
            Severity::Error
        } else {
            Severity::Warn
        };
        self.with(|shared| {
            shared.emit(None, severity, |stamp, _| {
                page_events::console(stamp, severity, &message)
            })
        });
    }

    /// A click on an actionable element, or a form submit (`element` is then the submitter).
    #[wasm_bindgen(js_name = onAction)]
    pub fn on_action(&self, name: String, element: JsValue, is_submit: bool) {
        if let Some(handle) = self.handle.upgrade() {
            auto_actions::on_action(&handle, name, element, is_submit);
        }
    }

    /// A timer fired: the automatic-action timer (0), the batch timer (1) or a `flush()`
    /// deadline (2).
    pub fn tick(&self, kind: u8) {
        if kind == TIMER_FLUSH_DEADLINE {
            self.with(Shared::flush_deadline);
            return;
        }
        if kind != TIMER_AUTO_ACTION {
            self.with(Shared::pipeline_timer);
            return;
        }
        self.with(Shared::timer_fired);
        if let Some(handle) = self.handle() {
            schedule_auto_end(&handle);
        }
    }

    /// A message of `bytes` is about to be sent on the socket at `url`: records `ws.send` and
    /// answers the IDs a JSON object message carries, `correlation\nsession` (the correlation
    /// empty outside an action; the whole answer empty when there is nothing to add).
    #[wasm_bindgen(js_name = socketSent)]
    pub fn socket_sent(&self, url: String, bytes: f64) -> String {
        let mut ids = String::new();
        self.with(|shared| {
            let action = shared.correlator.current_action().map(|(id, _)| id);
            let session = shared.session_id();
            if let Some(session) = session {
                if let Some(action) = action {
                    action.push_hex(&mut ids);
                }
                ids.push('\n');
                session.push_hex(&mut ids);
            }
            let keep_query = shared.keeps_query();
            shared.emit(action, Severity::Info, |stamp, _| {
                page_events::ws_message(stamp, true, &url, whole(bytes), None, keep_query)
            });
        });
        ids
    }

    /// A message of `bytes` arrived on the socket at `url` carrying `correlation`: recorded as
    /// `ws.message` under it when it is a Threadline ID, else beside it.
    #[wasm_bindgen(js_name = socketReceived)]
    pub fn socket_received(&self, url: String, correlation: String, bytes: f64) {
        self.with(|shared| {
            let ours = Id::parse(&correlation);
            let foreign = ours.is_none().then_some(correlation.as_str());
            let keep_query = shared.keeps_query();
            shared.emit(ours, Severity::Info, |stamp, _| {
                page_events::ws_message(stamp, false, &url, whole(bytes), foreign, keep_query)
            });
        });
    }

    /// Another tab wrote storage: re-read the session next time it is needed.
    #[wasm_bindgen(js_name = storageChanged)]
    pub fn storage_changed(&self) {
        self.with(|shared| shared.session.forget_cached());
    }
}
