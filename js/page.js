// The page-level glue the recorder's shell binds to: the window and the page's one recorder,
// option values, session storage, and the DOM events and timer behind automatic actions. Each
// piece only reads or listens; every decision is the recorder's. (Request-level glue is in
// patch.js. The glue is kept to two files: wasm-bindgen's test runner stalls when a page loads
// many snippet modules at once.)

// --- The window and the page's one recorder: a second `init` returns the first, and
// `shutdown` frees the slot.

let current = null;

/** The page's window, or undefined outside a window (a worker). */
export function pageWindow() {
  return typeof window === "object" ? window : undefined;
}

export function currentRecorder() {
  return current;
}

export function setCurrentRecorder(recorder) {
  current = recorder;
}

// --- Option values: reading them and describing them in errors.

/** The same pattern without the `g`/`y` flags, whose `lastIndex` would make `test` stateful. */
export function statelessRegExp(re) {
  return new RegExp(re.source, re.flags.replace(/[gy]/g, ""));
}

/** A short description of a value for an error message: `"api.shop.com"`, `42`, `null`, `an array`. */
export function describe(value) {
  try {
    if (typeof value === "string") {
      const text = value.length > 60 ? `${value.slice(0, 57)}...` : value;
      return JSON.stringify(text);
    }
    if (value === null || value === undefined || typeof value === "number" || typeof value === "boolean") {
      return String(value);
    }
    if (Array.isArray(value)) return "an array";
    if (value instanceof RegExp) return `the RegExp ${String(value)}`;
    if (typeof value === "object") return "an object";
    return `a ${typeof value}`;
  } catch (_) {
    return "an unreadable value";
  }
}

/** Whether `value` is an options object: a non-null, non-array object. */
export function isOptionsObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// --- Session storage: localStorage so the tabs of an origin share it, falling back to
// sessionStorage and then memory when storage throws (private modes, sandboxed frames, quota).

function usable(name) {
  try {
    const storage = window[name];
    storage.setItem("threadline.probe", "1");
    storage.removeItem("threadline.probe");
    return storage;
  } catch (_) {
    return null;
  }
}

/** A `{ kind, get(), set(value) }` slot for `key` in the best storage the page allows. */
export function openSlot(key) {
  let memory = null;
  let storage = usable("localStorage");
  let kind = "localStorage";
  if (!storage) {
    storage = usable("sessionStorage");
    kind = storage ? "sessionStorage" : "memory";
  }
  return {
    kind,
    get() {
      try {
        return storage ? storage.getItem(key) : memory;
      } catch (_) {
        return memory;
      }
    },
    set(value) {
      memory = value;
      try {
        if (storage) storage.setItem(key, value);
      } catch (_) {
        // Quota or a revoked permission: memory keeps this tab going.
        storage = null;
        kind = "memory";
      }
    },
  };
}

export function slotGet(slot) {
  return slot.get();
}

export function slotSet(slot, value) {
  slot.set(value);
}

/** Calls `hooks.storageChanged()` when another tab writes storage; returns the unwatch function. */
export function watchStorage(hooks) {
  const listener = () => hooks.storageChanged();
  window.addEventListener("storage", listener);
  return () => window.removeEventListener("storage", listener);
}

// --- Automatic actions: clicks and form submits, named the way a user sees the element.

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
