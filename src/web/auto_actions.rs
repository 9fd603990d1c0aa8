//! Automatic actions: a click on a button, link, `[role=button]` or submit input, or a form
//! submit, starts an action named after the element when no explicit action is current.
//! `js/page.js` watches the DOM and names the element; the decisions are made here.

use alloc::string::String;

use js_sys::Function;
use wasm_bindgen::JsValue;

use crate::actions::ActionKind;
use crate::web::glue;
use crate::web::shared::{Handle, schedule_auto_end};

/// The installed watcher; [`AutoActions::remove`] stops it.
pub(crate) struct AutoActions {
    unwatch: Function,
}

impl AutoActions {
    /// Starts watching clicks and submits on `target` (the document).
    pub fn install(target: &JsValue, hooks: &JsValue) -> AutoActions {
        AutoActions {
            unwatch: glue::watch_actions(target, hooks),
        }
    }

    /// Stops watching.
    pub fn remove(self) {
        let _ = self.unwatch.call0(&JsValue::UNDEFINED);
    }
}

/// Starts an automatic action unless an explicit one is current, or unless this submit comes
/// from the button whose click already started the current automatic action.
pub(crate) fn on_action(handle: &Handle, name: String, source: JsValue, is_submit: bool) {
    {
        let Ok(mut shared) = handle.try_borrow_mut() else {
            return;
        };
        if let Some((kind, current)) = shared.current_action() {
            let same_interaction =
                is_submit && !source.is_null() && current.source.as_ref() == Some(&source);
            if kind == ActionKind::Explicit || same_interaction {
                return;
            }
        }
        let source = (!source.is_null()).then_some(source);
        shared.start_action(ActionKind::Auto, name, source, "");
    }
    schedule_auto_end(handle);
}
