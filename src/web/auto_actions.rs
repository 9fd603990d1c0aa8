//! Watches clicks and form submits for automatic actions (`js/page.js` watches the DOM for what
//! the core calls actionable and reads what the core names it by; `Hooks::on` hands them to the
//! core, which decides).

use js_sys::Function;
use wasm_bindgen::JsValue;

use crate::action_names::NAME_ATTRIBUTES;
use crate::actions::ACTIONABLE;
use crate::recorder::limits::MAX_ACTION_NAME_UNITS;
use crate::web::glue;

/// The installed watcher; [`AutoActions::remove`] stops it.
pub(crate) struct AutoActions {
    unwatch: Function,
}

impl AutoActions {
    /// Starts watching clicks and submits on `target` (the document).
    pub fn install(target: &JsValue, hooks: &JsValue) -> AutoActions {
        AutoActions {
            unwatch: glue::watch_actions(
                target,
                hooks,
                ACTIONABLE,
                NAME_ATTRIBUTES,
                MAX_ACTION_NAME_UNITS,
            ),
        }
    }

    /// Stops watching.
    pub fn remove(self) {
        let _ = self.unwatch.call0(&JsValue::UNDEFINED);
    }
}
