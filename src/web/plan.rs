//! The one decision every fetch and XHR asks for: does this request get headers, with which ID,
//! and which headers. `js/patch.js` reads the request and applies the answer.

use js_sys::Array;
use wasm_bindgen::JsValue;

use crate::correlator::RequestFacts;
use crate::id::Id;
use crate::propagation::names_include;
use crate::web::shared::Handle;

/// `[token, id, name, value, …]` for a request to `href`, or `None` to leave it alone:
/// not an allowed origin, or the app set the correlation header itself.
pub(crate) fn plan(
    handle: &Handle,
    href: &str,
    method: &str,
    app_names: &str,
    previous: &str,
    forced: &str,
) -> Option<JsValue> {
    let mut shared = handle.try_borrow_mut().ok()?;
    if !shared.allows(href) {
        return None;
    }
    let facts = RequestFacts {
        method,
        url: href,
        forced: Id::parse(forced),
        same_object: Id::parse(previous),
    };
    let planned = shared.plan_request(&facts, |name| names_include(app_names, name))?;
    let out = Array::new();
    out.push(&JsValue::from(planned.token));
    out.push(&JsValue::from(planned.id.to_hex()));
    for (name, value) in &planned.headers {
        out.push(&JsValue::from_str(name));
        out.push(&JsValue::from_str(value));
    }
    Some(out.into())
}
