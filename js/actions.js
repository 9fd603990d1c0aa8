// Watches clicks and form submits for automatic actions and names the element the way a user
// sees it. Deciding whether an action starts is the recorder's; this only reads the DOM.

const ACTIONABLE = "button, a, [role=button], input[type=submit]";
const MAX_NAME = 64;

const collapse = (text) => (text || "").replace(/\s+/g, " ").trim();

/** `data-action`, else accessible text: aria-label, text, value, title. */
function elementName(el) {
  for (const attr of ["data-action", "aria-label"]) {
    const v = collapse(el.getAttribute(attr));
    if (v) return v;
  }
  return collapse(el.textContent) || collapse(el.getAttribute("value")) || collapse(el.getAttribute("title"));
}

/** A form's `data-action`, else its submitter's name, else its own label, name or id. */
function formName(form, submitter) {
  return (
    collapse(form.getAttribute("data-action")) ||
    (submitter && elementName(submitter)) ||
    collapse(form.getAttribute("aria-label")) ||
    collapse(form.getAttribute("name")) ||
    collapse(form.id) ||
    "form"
  );
}

const trim = (name, el) => (name || el.tagName.toLowerCase()).slice(0, MAX_NAME);

/**
 * Calls `hooks.onAction(name, element, isSubmit)` for each click on an actionable element and
 * each form submit, in the capture phase so the action is current before the app's handlers run.
 * For a submit, `element` is the submitter (or null). Returns a function that stops watching.
 */
export function watchActions(target, hooks) {
  const click = (event) => {
    try {
      const el = event.target instanceof Element ? event.target.closest(ACTIONABLE) : null;
      if (el) hooks.onAction(trim(elementName(el), el), el, false);
    } catch (_) {
      // Never in the way of the page's own handlers.
    }
  };
  const submit = (event) => {
    try {
      const form = event.target;
      if (!(form instanceof Element)) return;
      const submitter = event.submitter || null;
      hooks.onAction(trim(formName(form, submitter), form), submitter, true);
    } catch (_) {
      // As above.
    }
  };
  target.addEventListener("click", click, true);
  target.addEventListener("submit", submit, true);
  return () => {
    target.removeEventListener("click", click, true);
    target.removeEventListener("submit", submit, true);
  };
}

/** Calls `hooks.tick()` after `delay` ms (when an automatic action may end); returns the timer. */
export function tickAfter(hooks, delay) {
  return setTimeout(() => hooks.tick(), delay);
}

export function cancelTick(timer) {
  clearTimeout(timer);
}
