//! Bindings to the JavaScript helpers in `js/` and the few browser calls the shell shares.

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::Function;
use wasm_bindgen::prelude::*;

use crate::Millis;

// Every helper that calls back into the recorder takes the `Hooks` object (`web/hooks.rs`).

#[wasm_bindgen(module = "/js/patch.js")]
extern "C" {
    /// Wraps `target.fetch` (`header`: the correlation header's name); the patch handle, or
    /// null when fetch cannot be replaced.
    #[wasm_bindgen(js_name = patchFetch)]
    pub fn patch_fetch(target: &JsValue, hooks: &JsValue, header: &str) -> JsValue;
    /// Restores fetch if Threadline is still outermost, else leaves a pass-through.
    #[wasm_bindgen(js_name = unpatchFetch)]
    pub fn unpatch_fetch(patch: &JsValue);
    /// Wraps `open`, `setRequestHeader` and `send` of an XMLHttpRequest prototype.
    #[wasm_bindgen(js_name = patchXhr)]
    pub fn patch_xhr(proto: &JsValue, hooks: &JsValue, header: &str) -> JsValue;
    /// Undoes [`patch_xhr`] method by method.
    #[wasm_bindgen(js_name = unpatchXhr)]
    pub fn unpatch_xhr(patch: &JsValue);
    /// The page's `fetch` as it was before Threadline patched it (`init` may have patched it
    /// already, before the recorder was ready).
    #[wasm_bindgen(js_name = pageFetch)]
    pub fn page_fetch(target: &JsValue) -> JsValue;
    /// `action.fetch`: the page's current `fetch` with `forced` as the correlation ID.
    #[wasm_bindgen(js_name = actionFetch)]
    pub fn action_fetch(input: &JsValue, init: &JsValue, hooks: &JsValue, forced: &str) -> JsValue;
}

#[wasm_bindgen(module = "/js/action.js")]
extern "C" {
    /// The public `Action` object for the action with ID `id` and name `name`.
    #[wasm_bindgen(js_name = newAction)]
    pub fn new_action(id: &str, name: &str, hooks: &JsValue) -> JsValue;
}

#[wasm_bindgen(module = "/js/page.js")]
extern "C" {
    /// Reports clicks on `actionable` elements (a CSS selector) and form submits to the hooks,
    /// with the element's tag, text and `attributes` (comma-separated), each cut to `max_units`
    /// UTF-16 units; returns the unwatch function.
    #[wasm_bindgen(js_name = watchActions)]
    pub fn watch_actions(
        target: &JsValue,
        hooks: &JsValue,
        actionable: &str,
        attributes: &str,
        max_units: u32,
    ) -> Function;
}

#[wasm_bindgen(module = "/js/protocol.js")]
extern "C" {
    /// Reports timer `code` to the hooks after `delay` ms; returns the timer.
    #[wasm_bindgen(js_name = tickAfter)]
    pub fn tick_after(hooks: &JsValue, delay: i32, code: u8) -> JsValue;
    /// Cancels a timer from [`tick_after`].
    #[wasm_bindgen(js_name = cancelTick)]
    pub fn cancel_tick(timer: &JsValue);
}

#[wasm_bindgen(module = "/js/page.js")]
extern "C" {
    /// A slot for `key` in localStorage, else sessionStorage, else memory (storage is first
    /// touched when the slot is first read or written).
    #[wasm_bindgen(js_name = openSlot)]
    pub fn open_slot(key: &str) -> JsValue;
    /// The slot's value, or null.
    #[wasm_bindgen(js_name = slotGet)]
    pub fn slot_get(slot: &JsValue) -> Option<String>;
    /// Writes the slot (degrading to memory if storage refuses).
    #[wasm_bindgen(js_name = slotSet)]
    pub fn slot_set(slot: &JsValue, value: &str);
    /// Tells the hooks which key another tab wrote, and its new value; returns the unwatch
    /// function.
    #[wasm_bindgen(js_name = watchStorage)]
    pub fn watch_storage(hooks: &JsValue) -> Function;
}

#[wasm_bindgen(module = "/js/page.js")]
extern "C" {
    /// The page's `window`, or undefined in a worker. Cheaper than `web_sys::window()`, which
    /// brings four global lookups with it.
    #[wasm_bindgen(js_name = pageWindow)]
    pub fn page_window() -> Option<web_sys::Window>;
    /// The registry entry of the page's running recorder (from any copy of Threadline:
    /// `recorder` and its `settings`), or null; an error if an incompatible version holds it.
    #[wasm_bindgen(js_name = runningRecorder, catch)]
    pub fn running_recorder() -> Result<JsValue, JsValue>;
    /// Registers the page's recorder with its settings (see `Config::fingerprint`); `owner`
    /// (its hooks object) is what frees it again.
    #[wasm_bindgen(js_name = registerRecorder)]
    pub fn register_recorder(recorder: &JsValue, settings: &str, owner: &JsValue);
    /// Frees the registry if `owner` holds it.
    #[wasm_bindgen(js_name = unregisterRecorder)]
    pub fn unregister_recorder(owner: &JsValue);
}

#[wasm_bindgen(module = "/js/page.js")]
extern "C" {
    /// The pattern without `g`/`y` flags.
    #[wasm_bindgen(js_name = statelessRegExp)]
    pub fn stateless_regexp(re: &JsValue) -> js_sys::RegExp;
    /// A short description of a value for an error message.
    pub fn describe(value: &JsValue) -> String;
    /// Whether a value is a non-null, non-array object.
    #[wasm_bindgen(js_name = isOptionsObject)]
    pub fn is_options_object(value: &JsValue) -> bool;
}

#[wasm_bindgen(module = "/js/page.js")]
extern "C" {
    /// A text as UTF-8 bytes (`TextEncoder`), copied in natively: a long string crossing as
    /// one costs wasm-bindgen's glue a loop over its characters.
    pub fn utf8(text: &JsValue) -> Vec<u8>;
    /// Attributes as `<kind><key>\0<value>\0` entries (see `attributes`), within the
    /// walker's limits (`WALK` in `js/protocol.js`, the core's).
    pub fn flatten(value: &JsValue) -> String;
    /// Reports page lifecycle, uncaught errors and (if asked) console lines to the hooks;
    /// returns the unwatch function.
    #[wasm_bindgen(js_name = watchPage)]
    pub fn watch_page(hooks: &JsValue, errors: bool, console: bool) -> Function;
    /// POSTs `body` (UTF-8 JSON, handed over as bytes: no string decoding) with `fetch`, then
    /// calls the hooks' `uploaded(id, status, retryAfter)`; aborted (a network error) after
    /// `timeout` ms.
    pub fn upload(fetch: &JsValue, url: &str, body: &[u8], hooks: &JsValue, id: u32, timeout: u32);
    /// `navigator.sendBeacon` of `body` (UTF-8 bytes) as `text/plain`; whether the browser queued it.
    pub fn beacon(url: &str, body: &[u8]) -> bool;
    /// The concatenated values of every storage key starting with `prefix`, which are removed.
    #[wasm_bindgen(js_name = outboxTake)]
    pub fn outbox_take(prefix: &str) -> String;
    /// Stores `value` under `key` (an empty value removes the key); whether storage took it.
    #[wasm_bindgen(js_name = outboxWrite)]
    pub fn outbox_write(key: &str, value: &str) -> bool;
    /// `[promise, resolve]`.
    pub fn deferred() -> js_sys::Array;
    /// Wraps `ws.send` (on the socket itself) and listens to its messages, reporting both to
    /// the hooks (`QUESTION.socketSent`, `HAPPENING.socketReceived`).
    #[wasm_bindgen(js_name = watchSocket)]
    pub fn watch_socket(ws: &JsValue, hooks: &JsValue);
    /// `location.pathname`.
    #[wasm_bindgen(js_name = pagePath)]
    pub fn page_path() -> String;
}

/// The page's path, read when an event is stamped, and the session slot (`openSlot`), read
/// when the session is first needed.
pub(crate) struct Page {
    /// The slot the session lives in.
    pub session_slot: JsValue,
}

impl crate::recorder::PagePath for Page {
    fn path(&mut self) -> String {
        page_path()
    }

    fn stored_session(&mut self) -> Option<String> {
        slot_get(&self.session_slot)
    }
}

/// Wall-clock milliseconds, shared by all tabs, as the core's clock.
pub fn now() -> Millis {
    let ms = js_sys::Date::now();
    // Date.now() is a non-negative integer below 2^53.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ms = ms.max(0.0) as Millis;
    ms
}

/// Logs a warning to the console with the recorder's prefix.
pub fn warn(message: &str) {
    let text = crate::text::concat(&["Threadline: ", message]);
    web_sys::console::warn_1(&JsValue::from(text));
}
