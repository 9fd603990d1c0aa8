//! Patches `window.fetch` (`js/patch.js` holds the wrapper): requests to allowed origins go out
//! with a new init whose headers carry the correlation ID. The caller's input, init and headers
//! objects are never touched, the body is never read, and the Response is the original one.

use wasm_bindgen::JsValue;

use crate::web::glue;

/// The installed fetch wrapper.
pub(crate) struct FetchPatch {
    patch: JsValue,
}

impl FetchPatch {
    /// Wraps `window.fetch`; `None` (after a console warning) when it cannot be replaced.
    pub fn install(window: &JsValue, hooks: &JsValue, header: &str) -> Option<FetchPatch> {
        let patch = glue::patch_fetch(window, hooks, header);
        if patch.is_null() {
            glue::warn(
                "window.fetch is missing or not writable, so fetch requests will not carry the correlation header (action.fetch still does).",
            );
            return None;
        }
        Some(FetchPatch { patch })
    }

    /// Restores the original fetch if Threadline is still the outermost wrapper, else turns the
    /// wrapper into a pass-through.
    pub fn restore(self) {
        glue::unpatch_fetch(&self.patch);
    }
}
