//! The web shell in a real headless Chromium (wasm-bindgen-test): option errors, what the wrapped
//! fetch and XHR hand to the functions they wrap, the caller's objects left untouched, session
//! storage, and shutdown. Each test starts and shuts down its own recorder.
#![cfg(target_arch = "wasm32")]
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use js_sys::{Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/js/protocol.js")]
extern "C" {
    #[wasm_bindgen(js_name = defineMethods)]
    fn define_methods(recorder: &JsValue, own: &JsValue);
}

/// `createRecorder` with the public methods defined, as `js/loader.js` defines them.
fn create_recorder(options: JsValue) -> Result<JsValue, JsValue> {
    let recorder = threadline::web::create_recorder(options, None)?;
    // No test here logs: `log` and `recordUi` are left to `_call` (log-entry.js defines them).
    define_methods(
        &Reflect::get_prototype_of(&recorder).unwrap(),
        &js_sys::Object::new(),
    );
    Ok(recorder)
}

fn js(source: &str) -> JsValue {
    js_sys::eval(source).unwrap_or_else(|e| panic!("{source}: {e:?}"))
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap()
}

async fn shutdown(recorder: &JsValue) {
    let shutdown: js_sys::Function = get(recorder, "shutdown").dyn_into().unwrap();
    let promise: Promise = shutdown.call0(recorder).unwrap().dyn_into().unwrap();
    JsFuture::from(promise).await.unwrap();
}

fn is_id(value: &JsValue) -> bool {
    value.as_string().is_some_and(|s| {
        s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[wasm_bindgen_test]
fn bad_options_are_refused_with_the_option_and_what_was_expected() {
    let cases = [
        (
            "({ propagateTo: ['api.shop.test'] })",
            "propagateTo[0]: expected an origin such as \"https://api.example.com\"",
        ),
        (
            "({ propagateTo: ['https://api.shop.test', 42] })",
            "propagateTo[1]: expected an origin string or a RegExp, got 42",
        ),
        (
            "({ propagateTo: 'https://api.shop.test' })",
            "propagateTo: expected an array of origins or RegExps, got \"https://api.shop.test\"",
        ),
        (
            "({ header: 'X Correlation' })",
            "header: expected a header name a page may set",
        ),
        (
            "({ header: 'Cookie' })",
            "header: expected a header name a page may set",
        ),
        (
            "({ propagateto: [] })",
            "propagateto: unknown option (did you mean \"propagateTo\"?)",
        ),
        (
            "({ traceparent: 'yes' })",
            "traceparent: expected true or false, got \"yes\"",
        ),
        (
            "({ retryWindowSeconds: -1 })",
            "retryWindowSeconds: expected a number of seconds from 0 to 3600, got -1",
        ),
        (
            "({ sessionIdleMinutes: '30' })",
            "sessionIdleMinutes: expected a number of minutes",
        ),
        (
            "({ endpoint: 'ftp://collector.test/v1/logs' })",
            "endpoint: expected an http(s) URL",
        ),
        ("'https://api.shop.test'", "options: expected an object"),
        ("null", "options: expected an object"),
    ];
    for (options, expected) in cases {
        let error = create_recorder(js(options)).expect_err(options);
        assert!(
            error.is_instance_of::<js_sys::Error>(),
            "{options}: rejects with an Error object"
        );
        let message = get(&error, "message").as_string().unwrap();
        assert!(message.contains(expected), "{options}: {message}");
    }
}

#[wasm_bindgen_test]
async fn wrapped_fetch_passes_a_new_init_and_leaves_the_callers_objects_alone() {
    js(
        "window.__calls = []; window.__response = new Response('ok'); window.__stub = function (input, init) { __calls.push([input, init]); return Promise.resolve(__response); }; window.fetch = __stub;",
    );
    let recorder = create_recorder(js("({})")).unwrap();
    assert!(
        !js("window.fetch === __stub").is_truthy(),
        "fetch is wrapped"
    );
    let promise: Promise = js(r#"
        window.__headers = new Headers({ 'Content-Type': 'application/json' });
        window.__init = Object.freeze({ method: 'POST', headers: __headers, body: '{}' });
        fetch('/orders', __init)
    "#)
    .dyn_into()
    .unwrap();
    let response = JsFuture::from(promise).await.unwrap();
    assert!(
        response == js("__response"),
        "the caller gets the original Response"
    );

    let passed = js("__calls[0][1]");
    assert!(
        !js("__calls[0][1] === __init").is_truthy(),
        "a new init is passed on"
    );
    assert_eq!(
        get(&passed, "method").as_string().as_deref(),
        Some("POST"),
        "other members come from the caller's init"
    );
    assert_eq!(
        js("__calls[0][1].headers.get('content-type')")
            .as_string()
            .as_deref(),
        Some("application/json")
    );
    assert!(is_id(&js("__calls[0][1].headers.get('x-correlation-id')")));
    assert!(
        js("__headers.get('x-correlation-id') === null && [...__headers].length === 1").is_truthy(),
        "caller's Headers untouched"
    );
    assert!(
        js("__calls[0][0] === '/orders'").is_truthy(),
        "input passed as given"
    );

    shutdown(&recorder).await;
    assert!(
        js("window.fetch === __stub").is_truthy(),
        "shutdown restores the wrapped fetch"
    );
}

#[wasm_bindgen_test]
async fn other_origins_and_non_http_urls_pass_through_untouched() {
    js(
        "window.__calls = []; window.fetch = function (input, init) { __calls.push([input, init]); return Promise.resolve(new Response('ok')); };",
    );
    let recorder = create_recorder(js("({ propagateTo: ['https://api.shop.test'] })")).unwrap();
    js(
        "window.__init = { headers: { a: '1' } }; fetch('https://api.shop.test.evil.test/x', __init); fetch('data:text/plain,hi', __init); fetch('https://api.shop.test/x', __init);",
    );
    assert!(
        js("__calls[0][1] === __init && __calls[1][1] === __init").is_truthy(),
        "untouched calls get the caller's own init"
    );
    assert!(
        js("__calls[2][1] !== __init && /^[0-9a-f]{32}$/.test(__calls[2][1].headers['X-Correlation-ID'])").is_truthy()
    );
    assert!(js("Object.keys(__init.headers).join() === 'a'").is_truthy());
    shutdown(&recorder).await;
}

#[wasm_bindgen_test]
async fn xhr_gets_the_header_at_send_unless_the_app_set_it() {
    js(r#"
        window.__set = [];
        const original = XMLHttpRequest.prototype.setRequestHeader;
        window.__originalSet = original;
        XMLHttpRequest.prototype.setRequestHeader = function (n, v) { __set.push([n, v]); return original.call(this, n, v); };
    "#);
    let recorder = create_recorder(js("({})")).unwrap();
    js(r#"
        const a = new XMLHttpRequest(); a.open('GET', '/a'); a.send();
        const b = new XMLHttpRequest(); b.open('GET', '/b'); b.setRequestHeader('X-CORRELATION-ID', 'mine'); b.send();
    "#);
    let set = js("JSON.stringify(__set)").as_string().unwrap();
    let session = get(&recorder, "sessionId");
    let session = session
        .unchecked_ref::<js_sys::Function>()
        .call0(&recorder)
        .unwrap();
    Reflect::set(&js("window"), &"__session".into(), &session).unwrap();
    assert!(
        js("__set.length === 3 && __set[0][0] === 'X-Correlation-ID' && __set[1][0] === 'baggage' && __set[1][1] === 'session.id=' + __session && __set[2][1] === 'mine'")
            .is_truthy(),
        "same-origin: the correlation ID and the session; the app's own header alone: {set}"
    );
    assert!(is_id(&js("__set[0][1]")), "{set}");
    shutdown(&recorder).await;
    js("XMLHttpRequest.prototype.setRequestHeader = __originalSet;");
}

#[wasm_bindgen_test]
async fn init_without_options_patches_fetch_with_the_defaults() {
    js(
        "window.__seen = []; window.fetch = function (input, init) { __seen.push(new Headers(init && init.headers).get('x-correlation-id')); return Promise.resolve(new Response('ok')); };",
    );
    let recorder = create_recorder(JsValue::UNDEFINED).expect("init() with no options");
    let promise: Promise = js("fetch('/orders')").dyn_into().unwrap();
    JsFuture::from(promise).await.unwrap();
    let seen = js("__seen[0]");
    assert!(
        is_id(&seen),
        "a same-origin request carries the header: {seen:?}"
    );
    shutdown(&recorder).await;
}

#[wasm_bindgen_test]
async fn the_session_lives_in_local_storage_and_init_twice_is_one_recorder() {
    js("localStorage.removeItem('threadline.session')");
    let recorder = create_recorder(js("({})")).unwrap();
    let again = create_recorder(js("({ header: 'X-Correlation-ID' })")).unwrap();
    assert!(
        recorder == again,
        "a second init with the same settings returns the same recorder"
    );
    let other = create_recorder(js("({ header: 'X-Other' })")).expect_err("other settings");
    let message = get(&other, "message").as_string().unwrap_or_default();
    assert!(message.contains("other options (header)"), "{message}");
    let session_id: js_sys::Function = get(&recorder, "sessionId").dyn_into().unwrap();
    let id = session_id.call0(&recorder).unwrap();
    assert!(is_id(&id));
    let stored = js("localStorage.getItem('threadline.session')")
        .as_string()
        .unwrap();
    assert!(
        stored.starts_with(&format!("v1.{}.", id.as_string().unwrap())),
        "{stored}"
    );
    assert_eq!(
        session_id.call0(&recorder).unwrap(),
        id,
        "stable while live"
    );
    shutdown(&recorder).await;
    let fresh = create_recorder(js("({})")).unwrap();
    assert!(
        fresh != recorder,
        "after shutdown, init creates a new recorder"
    );
    shutdown(&fresh).await;
}
