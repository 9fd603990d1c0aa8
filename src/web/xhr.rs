//! Patches `XMLHttpRequest.prototype` (`js/patch.js` holds the wrappers): at `send`, a request to
//! an allowed origin gets the correlation header unless the app set it. State is per object, so
//! reusing an XHR stacks neither listeners nor wrappers.

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::web::glue;

/// The installed XHR wrappers.
pub(crate) struct XhrPatch {
    patch: JsValue,
}

impl XhrPatch {
    /// Wraps the XMLHttpRequest prototype; `None` (after a warning) when that is impossible.
    pub fn install(window: &JsValue, hooks: &JsValue, header: &str) -> Option<XhrPatch> {
        let proto = Reflect::get(window, &JsValue::from_str("XMLHttpRequest"))
            .and_then(|ctor| Reflect::get(&ctor, &JsValue::from_str("prototype")))
            .ok()
            .filter(JsValue::is_object)?;
        let patch = glue::patch_xhr(&proto, hooks, header);
        if patch.is_null() {
            glue::warn(
                "XMLHttpRequest cannot be patched, so XHR requests will not carry the correlation header.",
            );
            return None;
        }
        Some(XhrPatch { patch })
    }

    /// Restores each method Threadline still wraps outermost; the rest become pass-throughs.
    pub fn restore(self) {
        glue::unpatch_xhr(&self.patch);
    }
}
