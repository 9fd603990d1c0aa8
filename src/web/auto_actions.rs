//! Automatic actions: a click on a button, link, `[role=button]` or submit input, or a form
//! submit, starts an action named after the element when no explicit action is current.

use alloc::rc::Rc;
use alloc::string::String;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Element, Event, EventTarget, SubmitEvent};

use crate::actions::ActionKind;
use crate::web::shared::{Handle, schedule_auto_end};

/// Elements whose click is a user action.
const ACTIONABLE: &str = "button, a, [role=button], input[type=submit]";
/// Longest action name taken from an element, in characters.
const MAX_NAME_CHARS: usize = 64;

/// The installed listeners; [`AutoActions::remove`] takes them off again.
pub(crate) struct AutoActions {
    target: EventTarget,
    click: Closure<dyn Fn(Event)>,
    submit: Closure<dyn Fn(Event)>,
}

impl AutoActions {
    /// Listens, in the capture phase so the action is current before the app's handlers run.
    pub fn install(handle: &Handle, target: EventTarget) -> AutoActions {
        let weak = Rc::downgrade(handle);
        let click = Closure::<dyn Fn(Event)>::new(move |event: Event| {
            if let Some(handle) = weak.upgrade() {
                on_click(&handle, &event);
            }
        });
        let weak = Rc::downgrade(handle);
        let submit = Closure::<dyn Fn(Event)>::new(move |event: Event| {
            if let Some(handle) = weak.upgrade() {
                on_submit(&handle, &event);
            }
        });
        // Adding a listener to a live document cannot fail.
        let _ = target.add_event_listener_with_callback_and_bool(
            "click",
            click.as_ref().unchecked_ref(),
            true,
        );
        let _ = target.add_event_listener_with_callback_and_bool(
            "submit",
            submit.as_ref().unchecked_ref(),
            true,
        );
        AutoActions {
            target,
            click,
            submit,
        }
    }

    /// Stops listening.
    pub fn remove(self) {
        let _ = self.target.remove_event_listener_with_callback_and_bool(
            "click",
            self.click.as_ref().unchecked_ref(),
            true,
        );
        let _ = self.target.remove_event_listener_with_callback_and_bool(
            "submit",
            self.submit.as_ref().unchecked_ref(),
            true,
        );
    }
}

fn on_click(handle: &Handle, event: &Event) {
    let Some(element) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
        return;
    };
    let Some(hit) = element.closest(ACTIONABLE).ok().flatten() else {
        return;
    };
    start(handle, action_name(&hit, None), Some(hit.into()));
}

fn on_submit(handle: &Handle, event: &Event) {
    let submitter = event
        .dyn_ref::<SubmitEvent>()
        .and_then(SubmitEvent::submitter);
    if let (Some(submitter), Ok(mut shared)) = (&submitter, handle.try_borrow_mut()) {
        // The click on the submit button already started this interaction's action.
        let same = shared.current_action().is_some_and(|(kind, c)| {
            kind == ActionKind::Auto && c.source.as_ref() == Some(submitter.as_ref())
        });
        if same {
            return;
        }
    }
    let Some(form) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
        return;
    };
    let name = action_name(&form, submitter.as_ref());
    start(handle, name, submitter.map(Into::into));
}

fn start(handle: &Handle, name: String, source: Option<JsValue>) {
    {
        let Ok(mut shared) = handle.try_borrow_mut() else {
            return;
        };
        if shared
            .current_action()
            .is_some_and(|(kind, _)| kind == ActionKind::Explicit)
        {
            return;
        }
        shared.start_action(ActionKind::Auto, name, source);
    }
    schedule_auto_end(handle);
}

/// The element's `data-action`, else its accessible text (`aria-label`, text, value, title),
/// else its tag; whitespace collapsed, at most [`MAX_NAME_CHARS`] characters. For a form,
/// the submitter's text comes before the form's own labels.
fn action_name(element: &Element, submitter: Option<&web_sys::HtmlElement>) -> String {
    let attr = |el: &Element, name: &str| {
        el.get_attribute(name)
            .map(|v| collapse(&v))
            .filter(|v| !v.is_empty())
    };
    let text = |el: &Element| {
        attr(el, "data-action")
            .or_else(|| attr(el, "aria-label"))
            .or_else(|| {
                el.text_content()
                    .map(|t| collapse(&t))
                    .filter(|t| !t.is_empty())
            })
            .or_else(|| attr(el, "value"))
            .or_else(|| attr(el, "title"))
    };
    let name = attr(element, "data-action")
        .or_else(|| submitter.and_then(|s| text(s)))
        .or_else(|| {
            if submitter.is_some() || element.tag_name() == "FORM" {
                attr(element, "aria-label")
                    .or_else(|| attr(element, "name"))
                    .or_else(|| attr(element, "id"))
            } else {
                text(element)
            }
        })
        .unwrap_or_else(|| element.tag_name().to_ascii_lowercase());
    name.chars().take(MAX_NAME_CHARS).collect()
}

fn collapse(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}
