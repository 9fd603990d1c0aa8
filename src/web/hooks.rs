//! The entry points the recorder's own JavaScript glue calls back into: plan a request, report
//! its end, a click or submit, the automatic-action timer, another tab's storage write. One
//! exported object instead of a closure each, which keeps closure machinery out of the download.
//! Not part of the public API.

use alloc::rc::Weak;
use alloc::string::String;
use core::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::web::shared::{Shared, schedule_auto_end};
use crate::web::{auto_actions, plan};

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
}

#[wasm_bindgen]
impl Hooks {
    /// `[token, id, name, value, …]` for a request about to start, or undefined to leave it
    /// alone. `request` is href, method, app header names, previous ID and forced ID, joined
    /// by newlines (see `js/patch.js` and `web/plan.rs`).
    pub fn plan(&self, request: String) -> JsValue {
        self.handle
            .upgrade()
            .and_then(|handle| plan::plan(&handle, &request))
            .unwrap_or(JsValue::UNDEFINED)
    }

    /// A planned request ended: its HTTP status, or `failed` for a network error or abort.
    pub fn settle(&self, token: u32, status: f64, failed: bool) {
        let Some(handle) = self.handle.upgrade() else {
            return;
        };
        let status = if failed || !(0.0..=999.0).contains(&status) {
            None
        } else {
            // In 0..=999, so the cast is exact.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Some(status as u16)
        };
        if let Ok(mut shared) = handle.try_borrow_mut() {
            shared.settle_request(token, status);
        }
        schedule_auto_end(&handle);
    }

    /// A click on an actionable element, or a form submit (`element` is then the submitter).
    #[wasm_bindgen(js_name = onAction)]
    pub fn on_action(&self, name: String, element: JsValue, is_submit: bool) {
        if let Some(handle) = self.handle.upgrade() {
            auto_actions::on_action(&handle, name, element, is_submit);
        }
    }

    /// The automatic-action timer fired.
    pub fn tick(&self) {
        if let Some(handle) = self.handle.upgrade() {
            if let Ok(mut shared) = handle.try_borrow_mut() {
                shared.timer_fired();
            }
            schedule_auto_end(&handle);
        }
    }

    /// Another tab wrote storage: re-read the session next time it is needed.
    #[wasm_bindgen(js_name = storageChanged)]
    pub fn storage_changed(&self) {
        if let Some(handle) = self.handle.upgrade() {
            if let Ok(mut shared) = handle.try_borrow_mut() {
                shared.session.forget_cached();
            }
        }
    }
}
