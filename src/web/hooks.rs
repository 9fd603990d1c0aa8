//! The entry points the recorder's own JavaScript glue calls back into: plan a request, report
//! its end, a click or submit, a timer, another tab's storage write, an upload's end, the page
//! being hidden or shown, an uncaught error, a console line. Each reads the clock once, hands
//! the happening to the core and carries out its effects. One exported object instead of a
//! closure each, which keeps closure machinery out of the download. Not part of the public API.

use alloc::rc::Weak;
use alloc::string::String;
use core::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::Millis;
use crate::page_events::Uncaught;
use crate::recorder::{Timer, Trigger};
use crate::web::driver::{Shell, with_shell};
use crate::web::protocol::{self, PAGE_HIDDEN, PAGE_ONLINE, PAGE_VISIBLE};

/// A byte count from JavaScript as an integer (negative or NaN counts as 0).
fn whole(bytes: f64) -> u64 {
    // A message's length, far below 2^53.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = bytes.max(0.0) as u64;
    n
}

/// Holds the recorder weakly: the glue outliving the recorder does nothing.
#[wasm_bindgen]
pub struct Hooks {
    handle: Weak<RefCell<Shell>>,
}

impl Hooks {
    /// Hooks onto the recorder behind `handle`.
    pub(crate) fn new(handle: Weak<RefCell<Shell>>) -> Hooks {
        Hooks { handle }
    }

    /// Runs `f` on the shell with the time, then carries out the effects; nothing if the
    /// recorder is gone or busy.
    fn with<T>(&self, f: impl FnOnce(&mut Shell, Millis) -> T) -> Option<T> {
        with_shell(&self.handle.upgrade()?, f)
    }
}

#[wasm_bindgen]
impl Hooks {
    /// Plans a request about to start (see `web/protocol.rs`).
    pub fn plan(&self, request: String) -> f64 {
        self.with(|shell, _| {
            let Shell {
                core,
                regexes,
                decisions,
                ..
            } = shell;
            protocol::plan(core, regexes, decisions, &request)
        })
        .unwrap_or(0.0)
    }

    /// The headers of the latest plan (see `web/protocol.rs`).
    pub fn decision(&self) -> String {
        self.with(|shell, _| shell.decisions.take())
            .unwrap_or_default()
    }

    /// A planned request ended: `how` is a `SETTLED_*` code of `web/protocol.rs`; `echoed` is
    /// the response's correlation header, if readable; `traceparent` the one it went out with,
    /// when code below Threadline replaced Threadline's.
    pub fn settle(
        &self,
        token: u32,
        status: u16,
        how: u8,
        echoed: Option<String>,
        traceparent: Option<String>,
    ) {
        let settled = protocol::settled(how, status);
        self.with(|shell, now| {
            shell.core.request_settled(
                now,
                token,
                settled,
                echoed.as_deref(),
                traceparent.as_deref(),
            );
        });
    }

    /// Tagged request `token` failed without a response: whether it may be sent once more
    /// without Threadline's headers (a refused CORS preflight). It is still in flight until
    /// settled.
    #[wasm_bindgen(js_name = mayResend)]
    pub fn may_resend(&self, token: u32) -> bool {
        self.with(|shell, _| shell.core.may_resend(token))
            .unwrap_or(false)
    }

    /// A request to `href` answered once sent without Threadline's headers: its server refused
    /// them, and its origin gets none from now on.
    #[wasm_bindgen(js_name = corsRefused)]
    pub fn cors_refused(&self, href: String) {
        self.with(|shell, now| shell.core.cors_refused(now, &href));
    }

    /// Requests started between `init` and the recorder being ready: `held` waited and were
    /// planned, `untagged` went out untouched; the longest wait, in ms.
    pub fn startup(&self, held: u32, untagged: u32, waited_ms: u32) {
        self.with(|shell, now| shell.core.startup(now, held, untagged, waited_ms));
    }

    /// An event upload ended: its HTTP status, or 0 for a network error.
    pub fn uploaded(&self, id: u32, status: u16, retry_after: Option<String>) {
        self.with(|shell, now| {
            shell
                .core
                .upload_answered(now, id, status, retry_after.as_deref());
        });
    }

    /// The page changed: a `PAGE_*` code of `web/protocol.rs`.
    pub fn lifecycle(&self, change: u8) {
        self.with(|shell, now| match change {
            PAGE_HIDDEN => shell.core.page_hidden(now),
            PAGE_VISIBLE => shell.core.page_shown(),
            PAGE_ONLINE => shell.core.online(now),
            _ => {}
        });
    }

    /// An uncaught error (`source` "error") or unhandled rejection.
    pub fn uncaught(&self, source: String, kind: String, message: String, stack: String) {
        let uncaught = Uncaught {
            source: &source,
            kind: &kind,
            message: &message,
            stack: &stack,
        };
        self.with(|shell, now| shell.core.uncaught(now, &uncaught));
    }

    /// A `console.error` (`is_error`) or `console.warn` line.
    pub fn console(&self, is_error: bool, message: String) {
        self.with(|shell, now| shell.core.console(now, is_error, &message));
    }

    /// A click on an actionable element, or a form submit (`element` is then the submitter).
    #[wasm_bindgen(js_name = onAction)]
    pub fn on_action(&self, name: String, element: JsValue, is_submit: bool) {
        self.with(|shell, now| {
            let current = shell.core.current_action().map(|(id, _, _)| id);
            let same_element = !element.is_null()
                && shell
                    .auto_source
                    .as_ref()
                    .is_some_and(|(id, source)| Some(*id) == current && *source == element);
            let trigger = Trigger {
                name: &name,
                is_submit,
                same_element,
            };
            if let Some(id) = shell.core.trigger(now, &trigger) {
                shell.auto_source = (!element.is_null()).then_some((id, element));
            }
        });
    }

    /// A timer fired (its [`Timer`] code).
    pub fn tick(&self, kind: u8) {
        if let Some(timer) = Timer::from_code(kind) {
            self.with(|shell, now| shell.core.timer_fired(now, timer));
        }
    }

    /// A message of `bytes` is about to be sent on the socket at `url`: records `ws.send` and
    /// answers the IDs a JSON object message carries, `correlation\nsession` (the correlation
    /// empty outside an action; the whole answer empty when there is nothing to add).
    #[wasm_bindgen(js_name = socketSent)]
    pub fn socket_sent(&self, url: String, bytes: f64) -> String {
        let mut ids = String::new();
        let answer = self.with(|shell, now| shell.core.socket_sent(now, &url, whole(bytes)));
        if let Some(Some((action, session))) = answer {
            if let Some(action) = action {
                action.push_hex(&mut ids);
            }
            ids.push('\n');
            session.push_hex(&mut ids);
        }
        ids
    }

    /// A message of `bytes` arrived on the socket at `url` carrying `correlation`.
    #[wasm_bindgen(js_name = socketReceived)]
    pub fn socket_received(&self, url: String, correlation: String, bytes: f64) {
        self.with(|shell, now| {
            shell
                .core
                .socket_received(now, &url, &correlation, whole(bytes));
        });
    }

    /// Another tab wrote storage key `key` (`None` when it cleared storage).
    #[wasm_bindgen(js_name = storageChanged)]
    pub fn storage_changed(&self, key: Option<String>, value: Option<String>) {
        self.with(|shell, _| shell.core.storage_changed(key.as_deref(), value.as_deref()));
    }
}
