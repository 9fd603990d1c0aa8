//! Patches `XMLHttpRequest.prototype`: at `send`, a request to an allowed origin gets the
//! correlation header unless the app set it. State is per object, so reusing an XHR stacks
//! neither listeners nor wrappers.

use alloc::rc::Rc;
use alloc::string::String;

use js_sys::{Array, Function, Set};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::correlator::RequestFacts;
use crate::web::glue;
use crate::web::shared::Handle;

type Prepare = dyn Fn(JsValue, String, String, Set) -> JsValue;

/// The installed XHR wrappers and the callback they call.
pub(crate) struct XhrPatch {
    patch: JsValue,
    _prepare: Closure<Prepare>,
}

impl XhrPatch {
    /// Wraps the XMLHttpRequest prototype; `None` (after a warning) when that is impossible.
    pub fn install(handle: &Handle, window: &JsValue, settle: &Function) -> Option<XhrPatch> {
        let proto = js_sys::Reflect::get(window, &JsValue::from_str("XMLHttpRequest"))
            .and_then(|ctor| js_sys::Reflect::get(&ctor, &JsValue::from_str("prototype")))
            .ok()
            .filter(JsValue::is_object)?;
        let weak = Rc::downgrade(handle);
        let prepare = Closure::<Prepare>::new(
            move |xhr: JsValue, method: String, url: String, names: Set| {
                weak.upgrade()
                    .and_then(|handle| plan(&handle, &xhr, &method, &url, &names))
                    .unwrap_or(JsValue::UNDEFINED)
            },
        );
        let patch = glue::patch_xhr(&proto, prepare.as_ref().unchecked_ref(), settle);
        if patch.is_null() {
            glue::warn(
                "XMLHttpRequest cannot be patched, so XHR requests will not carry the correlation header.",
            );
            return None;
        }
        Some(XhrPatch {
            patch,
            _prepare: prepare,
        })
    }

    /// Restores each method Threadline still wraps outermost; the rest become pass-throughs.
    pub fn restore(self) {
        glue::unpatch_xhr(&self.patch);
    }
}

/// `[token, name, value, …]` for an XHR about to be sent, or `None` to leave it alone.
fn plan(
    handle: &Handle,
    xhr: &JsValue,
    method: &str,
    url: &str,
    app_names: &Set,
) -> Option<JsValue> {
    let href = glue::request_url(&JsValue::from_str(url))?;
    let mut shared = handle.try_borrow_mut().ok()?;
    if !shared.allows(&href) {
        return None;
    }
    let same_object = shared.remembered_object(xhr);
    let facts = RequestFacts {
        method,
        url: &href,
        forced: None,
        same_object,
    };
    let app_has = |name: &str| app_names.has(&JsValue::from(name.to_ascii_lowercase()));
    let planned = shared.plan_request(&facts, app_has)?;
    shared.remember_object(xhr, planned.id);
    let out = Array::new();
    out.push(&JsValue::from(planned.token));
    for (name, value) in &planned.headers {
        out.push(&JsValue::from_str(name));
        out.push(&JsValue::from_str(value));
    }
    Some(out.into())
}
