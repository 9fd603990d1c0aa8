//! The JavaScript API: `createRecorder` (wrapped by `init` in `js/loader.js`), `Recorder` and
//! `Action`. One recorder per page: a second `init` returns the first.

use alloc::rc::{Rc, Weak};
use alloc::string::String;
use core::cell::RefCell;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::actions::ActionKind;
use crate::id::Id;
use crate::origin::Origin;
use crate::web::auto_actions::AutoActions;
use crate::web::fetch::FetchPatch;
use crate::web::glue;
use crate::web::hooks::Hooks;
use crate::web::options::read_options;
use crate::web::shared::{Handle, Shared, schedule_auto_end};
use crate::web::xhr::XhrPatch;

/// What `init` installed in the page, taken down by `shutdown`.
struct Installed {
    fetch: Option<FetchPatch>,
    xhr: Option<XhrPatch>,
    auto_actions: Option<AutoActions>,
    unwatch_storage: Function,
}

/// Longest action name kept, in characters.
const MAX_ACTION_NAME_CHARS: usize = 128;

/// Validates `options`, patches fetch and XHR, and returns the page's recorder. Called again, it
/// returns the same recorder and changes nothing.
#[wasm_bindgen(js_name = createRecorder)]
pub fn create_recorder(options: JsValue) -> Result<JsValue, JsValue> {
    let existing = glue::current_recorder();
    if !existing.is_null() {
        return Ok(existing);
    }
    let window =
        glue::page_window().ok_or_else(|| js_error("Threadline runs in a browser window"))?;
    let page_url = window.location().href().unwrap_or_default();
    let options = read_options(&options, &page_url).map_err(|e| js_error(e.message()))?;
    let auto = options.config.auto_actions;
    let mut shared = Shared::new(
        options.config,
        options.regexes,
        Origin::parse_url(&page_url),
    );
    if shared.correlator.mint().is_err() {
        return Err(js_error(
            "Threadline needs crypto.getRandomValues, which this browser does not provide",
        ));
    }
    let handle: Handle = Rc::new(RefCell::new(shared));
    let hooks = JsValue::from(Hooks::new(Rc::downgrade(&handle)));
    if let Ok(mut shared) = handle.try_borrow_mut() {
        shared.hooks = hooks.clone();
    }
    let window_js: &JsValue = window.as_ref();
    let installed = Installed {
        fetch: FetchPatch::install(window_js, &hooks),
        xhr: XhrPatch::install(window_js, &hooks),
        auto_actions: auto
            .then(|| {
                window
                    .document()
                    .map(|d| AutoActions::install(d.as_ref(), &hooks))
            })
            .flatten(),
        unwatch_storage: glue::watch_storage(&hooks),
    };
    let recorder = JsValue::from(Recorder {
        handle,
        hooks,
        installed: RefCell::new(Some(installed)),
    });
    glue::set_current_recorder(&recorder);
    Ok(recorder)
}

fn js_error(message: &str) -> JsValue {
    js_sys::Error::new(message).into()
}

/// The page's recorder, returned by `init`.
#[wasm_bindgen]
pub struct Recorder {
    handle: Handle,
    hooks: JsValue,
    installed: RefCell<Option<Installed>>,
}

#[wasm_bindgen]
impl Recorder {
    /// The session ID shared by this origin's tabs; reading it never extends the session.
    #[wasm_bindgen(js_name = sessionId)]
    pub fn session_id(&self) -> Option<String> {
        self.handle
            .try_borrow_mut()
            .ok()?
            .session_id()
            .map(Id::to_hex)
    }

    /// Starts a new action with a fresh ID; it is current until it ends or another starts.
    /// Odd names are coerced, never refused.
    #[wasm_bindgen(js_name = startAction)]
    pub fn start_action(&self, name: JsValue, _attributes: JsValue) -> Result<JsValue, JsValue> {
        let name = action_name(&name);
        let mut shared = self
            .handle
            .try_borrow_mut()
            .map_err(|_| js_error("Threadline is busy"))?;
        let id = shared
            .start_action(ActionKind::Explicit, name.clone(), None)
            .ok_or_else(|| js_error("Threadline could not draw a random ID"))?;
        let object = JsValue::from(Action {
            id,
            name,
            handle: Rc::downgrade(&self.handle),
            hooks: self.hooks.clone(),
        });
        if let Some(current) = shared.current.as_mut() {
            current.object = Some(object.clone());
        }
        drop(shared);
        schedule_auto_end(&self.handle);
        Ok(object)
    }

    /// The current action (explicit or automatic), or null.
    #[wasm_bindgen(js_name = currentAction)]
    pub fn current_action(&self) -> JsValue {
        let hooks = self.hooks.clone();
        let Ok(mut shared) = self.handle.try_borrow_mut() else {
            return JsValue::NULL;
        };
        let weak = Rc::downgrade(&self.handle);
        let Some((_, current)) = shared.current_action() else {
            return JsValue::NULL;
        };
        current
            .object
            .get_or_insert_with(|| {
                JsValue::from(Action {
                    id: current.id,
                    name: current.name.clone(),
                    handle: weak,
                    hooks,
                })
            })
            .clone()
    }

    /// Stops patching: restores fetch and XHR where Threadline is still the outermost wrapper
    /// (elsewhere its wrappers become pass-throughs) and removes its listeners. Afterwards
    /// `init` creates a new recorder.
    pub fn shutdown(&self) -> Promise {
        let installed = self
            .installed
            .try_borrow_mut()
            .ok()
            .and_then(|mut slot| slot.take());
        if let Some(installed) = installed {
            if let Some(patch) = installed.fetch {
                patch.restore();
            }
            if let Some(patch) = installed.xhr {
                patch.restore();
            }
            if let Some(listeners) = installed.auto_actions {
                listeners.remove();
            }
            let _ = installed.unwatch_storage.call0(&JsValue::UNDEFINED);
            if let Ok(mut shared) = self.handle.try_borrow_mut() {
                shared.cancel_auto_timer();
            }
            glue::set_current_recorder(&JsValue::NULL);
        }
        Promise::resolve(&JsValue::UNDEFINED)
    }
}

fn action_name(name: &JsValue) -> String {
    let text = name.as_string().unwrap_or_else(|| glue::describe(name));
    let trimmed = text.trim_ascii();
    let name = if trimmed.is_empty() {
        "action"
    } else {
        trimmed
    };
    name.chars().take(MAX_ACTION_NAME_CHARS).collect()
}

/// One user action; its ID goes on the requests it causes.
#[wasm_bindgen]
pub struct Action {
    id: Id,
    name: String,
    handle: Weak<RefCell<Shared>>,
    hooks: JsValue,
}

#[wasm_bindgen]
impl Action {
    /// The action's correlation ID: 32 lowercase hex characters.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.id.to_hex()
    }

    /// The action's name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// `fetch` with this action's ID, even after another action started. Goes through the
    /// page's current `fetch`, so other wrappers still run (Threadline's own sees the header
    /// already set and leaves it).
    pub fn fetch(&self, input: JsValue, init: JsValue) -> Promise {
        let window: JsValue = glue::page_window().map_or(JsValue::UNDEFINED, Into::into);
        let current_fetch = Reflect::get(&window, &JsValue::from_str("fetch"))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        let Some(current_fetch) = current_fetch else {
            return Promise::reject(&js_error("fetch is not available"));
        };
        let prepared = glue::prepare_fetch(&input, &init, &self.hooks, &self.id.to_hex());
        let token = Reflect::get(&prepared, &JsValue::from(1))
            .ok()
            .and_then(|t| t.as_f64());
        let new_init = if token.is_some() {
            Reflect::get(&prepared, &JsValue::from(0)).unwrap_or(init)
        } else {
            init
        };
        match (current_fetch.call2(&window, &input, &new_init), token) {
            // Tokens are small positive integers.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            (Ok(promise), Some(token)) => {
                glue::observe(&promise, token as u32, &self.hooks).unchecked_into()
            }
            (Ok(promise), None) => promise.unchecked_into(),
            (Err(error), token) => {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                if let (Some(token), Some(handle)) = (token, self.handle.upgrade()) {
                    if let Ok(mut shared) = handle.try_borrow_mut() {
                        shared.settle_request(token as u32, None);
                    }
                }
                Promise::reject(&error)
            }
        }
    }

    /// Ends the action (`"ok"`, `"error"` or `"cancelled"`; default `"ok"`). Ending twice is
    /// harmless.
    pub fn end(&self, outcome: JsValue) {
        if !outcome.is_undefined()
            && !matches!(
                outcome.as_string().as_deref(),
                Some("ok" | "error" | "cancelled")
            )
        {
            glue::warn(
                "action.end(outcome): expected \"ok\", \"error\" or \"cancelled\"; recorded as \"ok\".",
            );
        }
        if let Some(handle) = self.handle.upgrade() {
            if let Ok(mut shared) = handle.try_borrow_mut() {
                shared.end_action(self.id);
            }
            schedule_auto_end(&handle);
        }
    }
}
