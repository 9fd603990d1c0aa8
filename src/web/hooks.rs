//! The entry points the recorder's own JavaScript glue calls back into: `plan` for a request
//! about to start, `on` for every other happening and `ask` for the questions answered with text
//! (`src/protocol.rs`). Each
//! reads the clock once, hands the happening to the core and carries out its effects. One
//! exported object with few methods: each export costs a shim in the wasm and in its glue. Not
//! part of the public API.

use alloc::rc::Weak;
use alloc::string::String;
use core::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::Millis;
use crate::protocol::{self, Happening, Question, Report, small, whole};
use crate::recorder::Trigger;
use crate::web::driver::{Shell, with_shell};

/// Holds the recorder weakly: the glue outliving the recorder does nothing.
#[wasm_bindgen]
pub struct Hooks {
    handle: Weak<RefCell<Shell>>,
}

impl Hooks {
    /// Hooks onto the recorder behind `handle`.
    pub(crate) fn new(handle: Weak<RefCell<Shell>>) -> Hooks {
        Hooks { handle }
    }

    /// Runs `f` on the shell with the time, then carries out the effects; nothing if the
    /// recorder is gone or busy.
    fn with<T>(&self, f: impl FnOnce(&mut Shell, Millis) -> T) -> Option<T> {
        with_shell(&self.handle.upgrade()?, f)
    }
}

#[wasm_bindgen]
impl Hooks {
    /// Plans a request of kind `kind` about to start (see `src/protocol.rs`).
    pub fn plan(&self, request: String, kind: u8) -> f64 {
        self.with(|shell, now| {
            let Shell {
                core,
                regexes,
                decisions,
                ..
            } = shell;
            let regex = |origin: &str| regexes.iter().any(|re| re.test(origin));
            protocol::plan(now, core, regex, decisions, &request, kind)
        })
        .unwrap_or(0.0)
    }

    /// Answers a [`Question`] code with text (see `src/protocol.rs`); empty when the recorder
    /// is gone or has nothing to say.
    pub fn ask(&self, question: u8, text: Option<String>, n: f64) -> String {
        if question == Question::Decision as u8 {
            let handle = self.handle.upgrade();
            let shell = handle.as_ref().and_then(|h| h.try_borrow_mut().ok());
            return shell.map(|mut s| s.decisions.take()).unwrap_or_default();
        }
        if question == Question::SocketSent as u8 {
            return self.socket_sent(text.as_deref().unwrap_or_default(), n);
        }
        String::new()
    }

    /// A happening (a [`Happening`] code) with its numbers and texts, as `js/protocol.js`
    /// lists them; the answer is 0 unless the happening asks a question.
    #[allow(clippy::too_many_arguments)]
    pub fn on(
        &self,
        happening: u8,
        a: f64,
        b: f64,
        c: f64,
        s1: Option<String>,
        s2: Option<String>,
        s3: JsValue,
    ) -> f64 {
        let Some(happening) = Happening::from_code(happening) else {
            return 0.0;
        };
        // Only these two carry a third argument; reading it is a call into JavaScript.
        let (s3_text, s3_given) = match happening {
            Happening::Uncaught | Happening::ActionEnd => (s3.as_string(), !s3.is_undefined()),
            _ => (None, false),
        };
        self.with(|shell, now| {
            if happening == Happening::Action {
                on_action(
                    shell,
                    now,
                    s1.as_deref().unwrap_or_default(),
                    s3,
                    small(a) == 1,
                );
                return 0.0;
            }
            let report = Report {
                a,
                b,
                c,
                s1: s1.as_deref(),
                s2: s2.as_deref(),
                s3: s3_text.as_deref(),
                s3_given,
            };
            protocol::on(&mut shell.core, now, happening, &report)
        })
        .unwrap_or(0.0)
    }
}

/// A click on an actionable element, or a form submit (`element` is then the submitter);
/// `fields` is what the page read to name it.
fn on_action(shell: &mut Shell, now: Millis, fields: &str, element: JsValue, is_submit: bool) {
    let current = shell.core.current_action().map(|(id, _, _)| id);
    let same_element = !element.is_null()
        && shell
            .auto_source
            .as_ref()
            .is_some_and(|(id, source)| Some(*id) == current && *source == element);
    let trigger = Trigger {
        fields,
        is_submit,
        same_element,
    };
    if let Some(id) = shell.core.trigger(now, &trigger) {
        shell.auto_source = (!element.is_null()).then_some((id, element));
    }
}

impl Hooks {
    /// A message of `bytes` is about to be sent on the socket at `url`: records `ws.send` and
    /// answers the IDs a JSON object message carries, `correlation\nsession` (the correlation
    /// empty outside an action; the whole answer empty when there is nothing to add).
    fn socket_sent(&self, url: &str, bytes: f64) -> String {
        let mut ids = String::new();
        let answer = self.with(|shell, now| shell.core.socket_sent(now, url, whole(bytes)));
        if let Some(Some((action, session))) = answer {
            if let Some(action) = action {
                action.push_hex(&mut ids);
            }
            ids.push('\n');
            session.push_hex(&mut ids);
        }
        ids
    }
}
