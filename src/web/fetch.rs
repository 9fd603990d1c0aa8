//! Patches `window.fetch`: requests to allowed origins go out with a new init whose headers carry
//! the correlation ID. The caller's input, init and headers objects are never touched, the body is
//! never read, and the Response is the original one.

use alloc::rc::Rc;

use js_sys::{Array, Function};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::Headers;

use crate::correlator::RequestFacts;
use crate::id::Id;
use crate::web::glue;
use crate::web::shared::Handle;

/// The installed fetch wrapper and the callbacks it calls.
pub(crate) struct FetchPatch {
    patch: JsValue,
    _prepare: Closure<dyn Fn(JsValue, JsValue) -> JsValue>,
}

impl FetchPatch {
    /// Wraps `window.fetch`; `None` (after a console warning) when it cannot be replaced.
    pub fn install(handle: &Handle, window: &JsValue, settle: &Function) -> Option<FetchPatch> {
        let weak = Rc::downgrade(handle);
        let prepare = Closure::<dyn Fn(JsValue, JsValue) -> JsValue>::new(
            move |input: JsValue, init: JsValue| {
                weak.upgrade()
                    .and_then(|handle| plan(&handle, &input, &init, None))
                    .map_or(JsValue::UNDEFINED, |(init, token)| {
                        Array::of2(&init, &JsValue::from(token)).into()
                    })
            },
        );
        let patch = glue::patch_fetch(window, prepare.as_ref().unchecked_ref(), settle);
        if patch.is_null() {
            glue::warn(
                "window.fetch is missing or not writable, so fetch requests will not carry the correlation header (action.fetch still does).",
            );
            return None;
        }
        Some(FetchPatch {
            patch,
            _prepare: prepare,
        })
    }

    /// Restores the original fetch if Threadline is still the outermost wrapper, else turns the
    /// wrapper into a pass-through.
    pub fn restore(self) {
        glue::unpatch_fetch(&self.patch);
    }
}

/// Decides whether a fetch gets headers and builds its new init. Returns the init to pass on
/// and the token that reports its settlement, or `None` to leave the call untouched.
/// `forced` is the ID `action.fetch` insists on.
pub(crate) fn plan(
    handle: &Handle,
    input: &JsValue,
    init: &JsValue,
    forced: Option<Id>,
) -> Option<(JsValue, u32)> {
    let href = glue::request_url(input)?;
    if !handle.try_borrow().ok()?.allows(&href) {
        return None;
    }
    let method = glue::request_method(input, init);
    let headers: Headers = glue::request_headers(input, init).dyn_into().ok()?;
    let is_request = input.is_instance_of::<web_sys::Request>();
    let mut shared = handle.try_borrow_mut().ok()?;
    let same_object = if is_request {
        shared.remembered_object(input)
    } else {
        None
    };
    let facts = RequestFacts {
        method: &method,
        url: &href,
        forced,
        same_object,
    };
    let planned = shared.plan_request(&facts, |name| headers.has(name).unwrap_or(false))?;
    let added = planned
        .headers
        .iter()
        .all(|(name, value)| headers.append(name, value).is_ok());
    let new_init = glue::derived_init(input, init, &headers);
    if !added || new_init.is_undefined() {
        shared.settle_request(planned.token, None);
        return None;
    }
    if is_request {
        shared.remember_object(input, planned.id);
    }
    Some((new_init, planned.token))
}
