//! The JavaScript API: `createRecorder` (wrapped by `init` in `js/loader.js`), `Recorder` and
//! `Action`. One recorder per page: a second `init` returns the first.

use alloc::rc::Rc;
use alloc::string::String;
use core::cell::RefCell;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::id::{Id, IdPool};
use crate::options::{already_running, differences};
use crate::origin::Origin;
use crate::protocol::{self, RecorderMethod};
use crate::recorder::{self, SESSION_KEY, UserGiven};
use crate::web::auto_actions::AutoActions;
use crate::web::driver::{Handle, Shell, with_shell};
use crate::web::fetch::FetchPatch;
use crate::web::glue::{self, Page};
use crate::web::hooks::Hooks;
use crate::web::options::read_options;
use crate::web::xhr::XhrPatch;

/// What `init` installed in the page, taken down by `shutdown`.
struct Installed {
    fetch: Option<FetchPatch>,
    xhr: Option<XhrPatch>,
    auto_actions: Option<AutoActions>,
    unwatch_storage: Function,
    /// Page lifecycle, error and console listeners (only when events are sent).
    unwatch_page: Option<Function>,
}

/// Validates `options`, patches fetch and XHR, and returns the page's recorder. `patched` is
/// called as soon as the patches are in place, before stored events are claimed and listeners
/// added: where `init` releases the requests that waited for the recorder, so none of that
/// delays them. Called again, it returns the same recorder and changes nothing.
#[wasm_bindgen(js_name = createRecorder)]
pub fn create_recorder(options: JsValue, patched: Option<Function>) -> Result<JsValue, JsValue> {
    let window =
        glue::page_window().ok_or_else(|| js_error("Threadline runs in a browser window"))?;
    let running = glue::running_recorder()?;
    let field = |name: &str| Reflect::get(&running, &JsValue::from_str(name)).unwrap_or_default();
    if !running.is_null() && options.is_undefined() {
        return Ok(field("recorder"));
    }
    let page_url = window.location().href().unwrap_or_default();
    let options = read_options(&options, &page_url).map_err(|e| js_error(e.message()))?;
    let settings = options.fingerprint();
    if !running.is_null() {
        let theirs = field("settings").as_string().unwrap_or_default();
        let differ = differences(&theirs, &settings);
        if !differ.is_empty() {
            return Err(js_error(already_running(&differ).message()));
        }
        return Ok(field("recorder"));
    }
    let config = &options.config;
    let (auto, errors, console) = (
        config.auto_actions,
        config.capture_errors,
        config.capture_console,
    );
    let window_js: &JsValue = window.as_ref();
    let slot = glue::open_slot(SESSION_KEY);
    let core = recorder::Recorder::new(
        options.config,
        Origin::parse_url(&page_url),
        !options.regexes.is_empty(),
        IdPool::default(),
        Page {
            session_slot: slot.clone(),
        },
    )
    .ok_or_else(|| {
        js_error("Threadline needs crypto.getRandomValues, which this browser does not provide")
    })?;
    let sends_events = core.sends_events();
    let header = String::from(core.header());
    let handle: Handle = Rc::new(RefCell::new(Shell::new(
        core,
        options.regexes,
        slot,
        window_js,
    )));
    let hooks = JsValue::from(Hooks::new(Rc::downgrade(&handle)));
    if let Ok(mut shell) = handle.try_borrow_mut() {
        shell.hooks = hooks.clone();
    }
    let fetch = FetchPatch::install(window_js, &hooks, &header);
    let xhr = XhrPatch::install(window_js, &hooks, &header);
    if let Some(patched) = patched {
        let _ = patched.call0(&JsValue::UNDEFINED);
    }
    if sends_events {
        let stored = glue::outbox_take(crate::outbox::KEY_PREFIX);
        with_shell(&handle, |shell, now| shell.core.restore(now, &stored));
    }
    let installed = Installed {
        fetch,
        xhr,
        auto_actions: auto
            .then(|| {
                window
                    .document()
                    .map(|d| AutoActions::install(d.as_ref(), &hooks))
            })
            .flatten(),
        unwatch_storage: glue::watch_storage(&hooks),
        unwatch_page: sends_events.then(|| glue::watch_page(&hooks, errors, console)),
    };
    let hooks_for_registry = hooks.clone();
    let recorder = JsValue::from(Recorder {
        handle,
        hooks,
        installed: RefCell::new(Some(installed)),
    });
    glue::register_recorder(&recorder, &settings, &hooks_for_registry);
    Ok(recorder)
}

/// An optional text as the types promise it (`index.d.ts`: `string | null`), null when absent.
fn optional_text(text: Option<String>) -> JsValue {
    text.map_or(JsValue::NULL, JsValue::from)
}

#[wasm_bindgen]
impl Recorder {
    /// Every public method, by its [`RecorderMethod`] code (see `src/protocol.rs`): one export
    /// instead of one per method.
    #[wasm_bindgen(js_name = _call)]
    pub fn call(&self, method: u8, a: JsValue, b: JsValue, c: JsValue) -> Result<JsValue, JsValue> {
        let Some(method) = RecorderMethod::from_code(method) else {
            return Ok(JsValue::UNDEFINED);
        };
        Ok(match method {
            RecorderMethod::SessionId => optional_text(self.session_id()),
            RecorderMethod::StartAction => self.start_action(a, b)?,
            RecorderMethod::DebugId => optional_text(self.debug_id()),
            RecorderMethod::CurrentAction => self.current_action(),
            RecorderMethod::Log => self.log(&a).into(),
            RecorderMethod::SetUser => {
                self.set_user(a);
                JsValue::UNDEFINED
            }
            RecorderMethod::Socket => self.socket(a),
            RecorderMethod::RecordUi => {
                let name = a.as_string().unwrap_or_default();
                self.record_ui(&name, &b.as_string().unwrap_or_default(), c.as_string());
                JsValue::UNDEFINED
            }
            RecorderMethod::Flush => self.flush().into(),
            RecorderMethod::Shutdown => self.shutdown().into(),
        })
    }
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

impl Recorder {
    /// The session ID shared by this origin's tabs; reading it never extends the session.
    pub fn session_id(&self) -> Option<String> {
        with_shell(&self.handle, |shell, now| shell.core.session_id(now))?.map(Id::to_hex)
    }

    /// Starts a new action with a fresh ID; it is current until it ends or another starts.
    /// Odd names are coerced, never refused.
    pub fn start_action(&self, name: JsValue, attributes: JsValue) -> Result<JsValue, JsValue> {
        let name = name.as_string().unwrap_or_else(|| glue::describe(&name));
        with_shell(&self.handle, |shell, now| {
            let attributes = read_attributes(shell, &attributes);
            let id = shell.core.start_action(now, &name, &attributes)?;
            Some(action_object(shell, id, &self.hooks))
        })
        .flatten()
        .ok_or_else(|| js_error("Threadline could not draw a random ID"))
    }

    /// The ID a user should report now: the ID the server echoed on the most recent failed
    /// request, else the most recent failed action's, else the current action's, else null.
    pub fn debug_id(&self) -> Option<String> {
        self.handle.try_borrow().ok()?.core.debug_id()
    }

    /// The current action (explicit or automatic), or null.
    pub fn current_action(&self) -> JsValue {
        with_shell(&self.handle, |shell, _| {
            let (id, _, _) = shell.core.current_action()?;
            Some(action_object(shell, id, &self.hooks))
        })
        .flatten()
        .unwrap_or(JsValue::NULL)
    }

    /// Records the `log` calls of a task, which cross together (`LogEntry`, queued by `log` in
    /// `js/log-entry.js`). An unknown level is recorded as `info`, after a console warning.
    /// Answers the lowest recorded level's code (so the page skips what would not be recorded),
    /// or 0 when the recorder is busy and took none (the page keeps them for the next crossing).
    pub fn log(&self, entries: &JsValue) -> u32 {
        // A task's entries cross as UTF-8 bytes; without events they are a few level codes.
        #[cfg(feature = "events")]
        let text = String::from_utf8(glue::utf8(entries)).unwrap_or_default();
        #[cfg(not(feature = "events"))]
        let text = entries.as_string().unwrap_or_default();
        self.record("log", &text, None).unwrap_or(0)
    }

    /// `setUser(id)` (see [`recorder::Recorder::set_user`]).
    pub fn set_user(&self, id: JsValue) {
        let text = id.as_string();
        let given = match text.as_deref() {
            Some(user) => UserGiven::Text(user),
            None if id.is_null() || id.is_undefined() => UserGiven::Clear,
            None => UserGiven::Other,
        };
        with_shell(&self.handle, |shell, _| shell.core.set_user(given));
    }

    /// Follows a WebSocket: each JSON object message sent carries `session_id` (and inside an
    /// action `correlation_id`) and is recorded as `ws.send`; messages received that carry a
    /// `correlation_id` are recorded as `ws.message` under it. Returns the socket.
    pub fn socket(&self, ws: JsValue) -> JsValue {
        glue::watch_socket(&ws, &self.hooks);
        ws
    }

    /// Records an event of Threadline's own UI (the error dialog): `name` is `ui.…`, and the
    /// event belongs to `correlation` (the debug ID shown) when that is a Threadline ID.
    pub fn record_ui(&self, name: &str, entry: &str, correlation: Option<String>) {
        if !name.starts_with("ui.") {
            return;
        }
        let correlation = correlation.as_deref().and_then(Id::parse);
        self.record(name, entry, correlation);
    }
}

impl Recorder {
    /// Flushes, then stops sending (no timers, no retries) if `close`.
    fn flush_then(&self, close: bool) -> Promise {
        let pair = glue::deferred();
        let resolve: Function = pair.get(1).unchecked_into();
        let held = with_shell(&self.handle, |shell, now| {
            let id = shell.promise(resolve.clone());
            if close {
                shell.core.shutdown(now, id);
            } else {
                shell.core.flush(now, id, close);
            }
        });
        if held.is_none() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
        pair.get(0).unchecked_into()
    }

    /// Records the entries of `text` as events `name` (see `log` and `recordUi`), each at the
    /// time it was logged; the lowest recorded level's code, `None` when the recorder is busy.
    fn record(&self, name: &str, text: &str, correlation: Option<Id>) -> Option<u32> {
        with_shell(&self.handle, |shell, _| {
            protocol::log(&mut shell.core, name, text, correlation)
        })
    }
}

impl Recorder {
    /// Sends what is queued now; resolves once the endpoint acknowledged it, or once it is
    /// kept in storage because the endpoint is failing (unless `maxStorageBytes` is 0). Resolves
    /// at once without an endpoint.
    pub fn flush(&self) -> Promise {
        self.flush_then(false)
    }

    /// Flushes, then stops patching: restores fetch and XHR where Threadline is still the
    /// outermost wrapper (elsewhere its wrappers become pass-throughs) and removes its
    /// listeners. Afterwards `init` creates a new recorder.
    pub fn shutdown(&self) -> Promise {
        let flushed = self.flush_then(true);
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
            if let Some(unwatch) = installed.unwatch_page {
                let _ = unwatch.call0(&JsValue::UNDEFINED);
            }
            glue::unregister_recorder(&self.hooks);
        }
        flushed
    }
}

/// The app's attributes flattened by the walker in `js/page.js` (see `attributes`); empty when
/// there are none or events are not sent.
fn read_attributes(shell: &Shell, value: &JsValue) -> String {
    if !shell.core.sends_events() || value.is_undefined() || value.is_null() {
        return String::new();
    }
    glue::flatten(value)
}

/// The `Action` object for action `id` (the current one): the one handed out before, if any.
fn action_object(shell: &mut Shell, id: Id, hooks: &JsValue) -> JsValue {
    if let Some((_, object)) = shell.action_object.as_ref().filter(|(a, _)| *a == id) {
        return object.clone();
    }
    let name = shell
        .core
        .current_action()
        .filter(|(a, _, _)| *a == id)
        .map(|(_, name, _)| name)
        .unwrap_or_default();
    let object = glue::new_action(&id.to_hex(), name, hooks);
    shell.action_object = Some((id, object.clone()));
    object
}
