// The page-level glue the recorder's shell binds to: the window and the page's one recorder,
// option values, session storage, the DOM events and timer behind automatic actions, and for
// events: walking attributes, page lifecycle, errors and console lines, uploads, beacons and the
// storage of pending events. Each piece only reads, listens or sends; every decision is the
// recorder's. (Request-level glue is in patch.js, the protocol both speak in protocol.js. The
// glue is kept to these three files: wasm-bindgen's test runner stalls when a page loads many
// snippet modules at once.)

import { HAPPENING, PAGE, QUESTION, WALK, crossLogs, report } from "./protocol.js";

// --- The window and the page's one recorder, kept in a registry on `globalThis` that every
// copy and version of Threadline on the page finds: a second `init` anywhere gets the first
// recorder, and fetch and XHR are patched once.

export const REGISTRY = Symbol.for("threadline.registry");
/** Bumped when what the registry holds, or the recorder's API, changes incompatibly. */
const PROTOCOL = 1;

/** The page's window, or undefined outside a window (a worker). */
export function pageWindow() {
  return typeof window === "object" ? window : undefined;
}

/**
 * The running recorder and its settings (`Config::fingerprint`), or null. Throws when another,
 * incompatible version of Threadline runs on the page.
 */
export function runningRecorder() {
  const entry = globalThis[REGISTRY];
  if (!entry) return null;
  if (entry.protocol !== PROTOCOL) {
    throw new Error(`Threadline init: another Threadline (registry protocol ${entry.protocol}) already runs on this page; load one copy of Threadline`);
  }
  return entry;
}

/**
 * Registers the page's recorder (`settings` as `Config::fingerprint` writes them); `owner` is
 * what may free the registry again.
 */
export function registerRecorder(recorder, settings, owner) {
  Object.defineProperty(globalThis, REGISTRY, {
    value: Object.freeze({ protocol: PROTOCOL, recorder, settings, owner }),
    configurable: true,
    writable: true,
  });
}

/** Frees the registry if `owner` holds it (`shutdown`). */
export function unregisterRecorder(owner) {
  const entry = globalThis[REGISTRY];
  if (entry && entry.owner === owner) delete globalThis[REGISTRY];
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

/** `window[name]`, or null where reading it throws (storage blocked). */
function storageNamed(name) {
  try {
    return window[name] || null;
  } catch (_) {
    return null;
  }
}

/**
 * A `{ get(), set(value) }` slot for `key` in the best storage the page allows, first touched
 * when the slot is first read or written (the first access to localStorage costs milliseconds).
 * Nothing is written to find out: a write that throws (quota, a revoked permission) moves the
 * slot on to the next storage, and memory keeps the value whatever happens.
 */
export function openSlot(key) {
  const candidates = ["localStorage", "sessionStorage"];
  let memory = null;
  let storage;
  const next = () => {
    storage = null;
    while (!storage && candidates.length) storage = storageNamed(candidates.shift());
  };
  return {
    get() {
      if (storage === undefined) next();
      try {
        return storage ? storage.getItem(key) : memory;
      } catch (_) {
        return memory;
      }
    },
    set(value) {
      memory = value;
      if (storage === undefined) next();
      while (storage) {
        try {
          storage.setItem(key, value);
          return;
        } catch (_) {
          next();
        }
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

/** Reports each storage write of another tab (`HAPPENING.storageChanged`); returns the unwatch function. */
export function watchStorage(hooks) {
  const listener = (event) => report(hooks, HAPPENING.storageChanged, 0, 0, 0, event.key, event.newValue);
  window.addEventListener("storage", listener);
  return () => window.removeEventListener("storage", listener);
}

// --- Automatic actions: clicks and form submits, with what the core names them by.

/**
 * Reports `HAPPENING.action` for each click on an element matching `actionable` (the core's
 * selector; also inside open shadow roots) and each form submit, in the capture phase so the
 * action is current before the app's handlers run. The element crosses as its tag, its text and
 * its `attributes` (the core's list, `NAME_ATTRIBUTES` in src/action_names.rs), `\0`-separated,
 * each whitespace-collapsed (its first `16 * maxUnits` UTF-16 units) and cut to `maxUnits`; a
 * submit's form is followed by its submitter, which is also the `element` argument (or null).
 * Returns a function that stops watching.
 */
export function watchActions(target, hooks, actionable, attributes, maxUnits) {
  const names = attributes.split(",");
  // Only the start of a long text is collapsed: a link around a whole card must not cost a
  // pass over all of its text on every click.
  const collapse = (text) => (text || "").slice(0, 16 * maxUnits).replace(/[\s\0]+/g, " ").trim().slice(0, maxUnits);
  const read = (el) =>
    [el.tagName.toLowerCase(), el.textContent, ...names.map((name) => el.getAttribute(name))].map(collapse).join("\0");
  const action = (submit, fields, element) => report(hooks, HAPPENING.action, submit, 0, 0, fields, undefined, element);
  const click = (event) => {
    try {
      // The composed path reaches into open shadow roots, where `event.target` is the host.
      const el = event.composedPath().find((node) => node instanceof Element && node.matches(actionable));
      if (el) action(0, read(el), el);
    } catch (_) {
      // Never in the way of the page's own handlers.
    }
  };
  const submit = (event) => {
    try {
      const form = event.target;
      if (!(form instanceof Element)) return;
      const submitter = event.submitter || null;
      action(1, submitter ? `${read(form)}\0${read(submitter)}` : read(form), submitter);
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

// --- Events: attributes, the page's errors, console lines and lifecycle, and delivery.

/** A short description of a DOM node: `button#pay.primary`, `#text`. */
function nodeName(node) {
  if (!(node instanceof Element)) return node.nodeName;
  const id = node.id ? `#${node.id}` : "";
  const classes = typeof node.className === "string" && node.className.trim() ? `.${node.className.trim().split(/\s+/).join(".")}` : "";
  return `${node.tagName.toLowerCase()}${id}${classes}`;
}

/**
 * Flattens attributes for the recorder (which redacts, types and bounds them): entries of
 * `<kind><dotted key>\0<value>\0`, kind `s`, `i` (integer or BigInt), `d` (other finite number)
 * or `b`. Never throws: cycles, functions, symbols, DOM nodes, Errors, throwing getters and
 * nesting deeper than `maxDepth` become short descriptions. Strings are cut past `maxLength`
 * characters. The first `maxKept` entries are written; the others, among the first `maxWalked`
 * visited, are counted in a last entry `n\0<count>\0` (the limits are the core's, `WALK`).
 */
export function flatten(value) {
  const { maxLength, maxDepth, maxKept, maxWalked } = WALK;
  let out = "";
  let walked = 0;
  const cut = (text) => {
    const s = text.length > maxLength ? text.slice(0, maxLength) : text;
    return s.includes("\0") ? s.replace(/\0/g, "\uFFFD") : s;
  };
  const put = (kind, key, text) => {
    if (!key || walked >= maxWalked) return;
    if (++walked <= maxKept) out += `${kind}${cut(key)}\0${cut(text)}\0`;
  };
  const join = (a, b) => (a ? `${a}.${b}` : String(b));
  const ancestors = [];
  const walk = (key, v, depth) => {
    try {
      switch (typeof v) {
        case "string":
          return put("s", key, v);
        case "number":
          return put(Number.isSafeInteger(v) ? "i" : Number.isFinite(v) ? "d" : "s", key, String(v));
        case "bigint":
          return put("i", key, v.toString());
        case "boolean":
          return put("b", key, String(v));
        case "symbol":
          return put("s", key, v.toString());
        case "function":
          return put("s", key, `[function ${v.name || "anonymous"}]`);
        case "undefined":
          return undefined;
      }
      if (v === null) return put("s", key, "null");
      if (ancestors.includes(v)) return put("s", key, "[circular]");
      if (v instanceof Error) {
        put("s", join(key, "type"), String(v.name));
        put("s", join(key, "message"), String(v.message));
        return v.stack ? put("s", join(key, "stack"), String(v.stack)) : undefined;
      }
      if (typeof Node === "function" && v instanceof Node) return put("s", key, nodeName(v));
      if (v instanceof Date) return put("s", key, Number.isNaN(v.getTime()) ? "Invalid Date" : v.toISOString());
      if (depth >= maxDepth) return put("s", key, Array.isArray(v) ? "[array]" : "[object]");
      ancestors.push(v);
      try {
        for (const k of Object.keys(v)) {
          if (walked >= maxWalked) break;
          let child;
          try {
            child = v[k];
          } catch (_) {
            put("s", join(key, k), "[unreadable]");
            continue;
          }
          walk(join(key, k), child, depth + 1);
        }
      } finally {
        ancestors.pop();
      }
    } catch (_) {
      put("s", key, "[unreadable]");
    }
    return undefined;
  };
  walk("", value, 0);
  return walked > maxKept ? `${out}n\0${walked - maxKept}\0` : out;
}

const encoder = /* @__PURE__ */ new TextEncoder();

/** `text` as UTF-8 bytes, which wasm-bindgen copies into the wasm natively. */
export function utf8(text) {
  return encoder.encode(text);
}

/** One console argument as text. */
function consoleText(arg) {
  try {
    if (typeof arg === "string") return arg;
    if (arg instanceof Error) return `${arg.name}: ${arg.message}`;
    const json = JSON.stringify(arg);
    return json === undefined ? String(arg) : json;
  } catch (_) {
    try {
      return String(arg);
    } catch (_) {
      return "[unprintable]";
    }
  }
}

/** Reports an uncaught error (`rejection` 0) or rejection reason (1). */
function reportError(hooks, rejection, error, fallback) {
  const isError = error !== null && typeof error === "object" && "message" in error;
  const text = (v) => (v == null ? "" : String(v));
  report(
    hooks,
    HAPPENING.uncaught,
    rejection,
    0,
    0,
    isError ? text(error.name) : "",
    isError ? text(error.message) : fallback || consoleText(error),
    isError ? text(error.stack) : "",
  );
}

/**
 * Reports to the hooks: the page hidden or left, shown again, back online (`PAGE`); uncaught
 * errors and unhandled rejections when `errors`; `console.warn` and `console.error` lines when
 * `consoleLines`. Returns a function that stops it all.
 */
export function watchPage(hooks, errors, consoleLines) {
  const undo = [];
  const on = (target, type, handler) => {
    const safe = (event) => {
      try {
        handler(event);
      } catch (_) {
        // Never in the page's way.
      }
    };
    target.addEventListener(type, safe);
    undo.push(() => target.removeEventListener(type, safe));
  };
  const lifecycle = (change) => report(hooks, HAPPENING.lifecycle, change);
  on(document, "visibilitychange", () => lifecycle(document.visibilityState === "hidden" ? PAGE.hidden : PAGE.visible));
  on(window, "pagehide", () => lifecycle(PAGE.hidden));
  on(window, "online", () => lifecycle(PAGE.online));
  if (errors) {
    on(window, "error", (e) => reportError(hooks, 0, e.error, e.message));
    on(window, "unhandledrejection", (e) => reportError(hooks, 1, e.reason));
  }
  if (consoleLines) {
    for (const level of ["warn", "error"]) {
      const original = console[level];
      if (typeof original !== "function") continue;
      const wrapper = function (...args) {
        try {
          report(hooks, HAPPENING.console, level === "error" ? 1 : 0, 0, 0, args.map(consoleText).join(" "));
        } catch (_) {
          // The line is still printed.
        }
        return original.apply(this, args);
      };
      console[level] = wrapper;
      undo.push(() => {
        if (console[level] === wrapper) console[level] = original;
      });
    }
  }
  return () => undo.forEach((f) => f());
}

/**
 * POSTs an event batch with `fetchFn` (the page's fetch from before Threadline patched it, so the
 * upload is neither tagged nor recorded), then reports `HAPPENING.uploaded` (batch `id`, the
 * status and `Retry-After`), status 0 for a network error or when no answer came within `timeout` ms (it is aborted then).
 * The endpoint must allow the page's origin (CORS) and expose `Retry-After`.
 */
export function upload(fetchFn, url, bytes, hooks, id, timeout) {
  // `bytes` views wasm memory only during this call: copied (a memcpy, where a string body would
  // be decoded from UTF-8 here and encoded again by fetch).
  const body = bytes.slice();
  const done = (status, retryAfter) => report(hooks, HAPPENING.uploaded, id, status, 0, retryAfter);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  Promise.resolve()
    .then(() =>
      fetchFn.call(window, url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body,
        credentials: "omit",
        signal: controller.signal,
      }),
    )
    .finally(() => clearTimeout(timer))
    .then(
      (response) => done(response.status, response.headers.get("Retry-After")),
      () => done(0),
    );
}

/**
 * Sends `body` (UTF-8 bytes viewing wasm memory, copied by the Blob) as a `text/plain` beacon,
 * which needs no CORS preflight; whether it was queued.
 */
export function beacon(url, body) {
  try {
    return navigator.onLine !== false && navigator.sendBeacon(url, new Blob([body], { type: "text/plain" }));
  } catch (_) {
    return false;
  }
}

function outboxKeys(prefix) {
  const keys = [];
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i);
    if (key && key.startsWith(prefix)) keys.push(key);
  }
  return keys;
}

/** The values of every localStorage key starting with `prefix`, concatenated; the keys are removed. */
export function outboxTake(prefix) {
  let out = "";
  try {
    for (const key of outboxKeys(prefix)) {
      out += localStorage.getItem(key) || "";
      localStorage.removeItem(key);
    }
  } catch (_) {
    // No storage: nothing was kept.
  }
  return out;
}

/** Stores `value` under `key` (empty: removes it); false when storage refuses. */
export function outboxWrite(key, value) {
  try {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
    return true;
  } catch (_) {
    return false;
  }
}

/** `[promise, resolve]`. */
export function deferred() {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  return [promise, resolve];
}

let lastUrl = null;
let lastPath = "";

/**
 * The page's path, for every event. Read through `document.URL`, about ten times cheaper than
 * `location.pathname`, and parsed again only when the URL changed.
 */
export function pagePath() {
  try {
    const url = document.URL;
    if (url !== lastUrl) {
      lastPath = new URL(url).pathname;
      lastUrl = url;
    }
    return lastPath;
  } catch (_) {
    return "";
  }
}

// --- WebSockets: one connection carries many actions, so the IDs travel in each message.

/** Where a JSON object's opening brace is in `text` (after leading whitespace), or -1. */
function objectStart(text) {
  const at = text.search(/\S/);
  return at >= 0 && text.charCodeAt(at) === 123 ? at : -1;
}

/**
 * Wraps `ws.send` on the socket itself and listens to its messages. A JSON object message gets
 * the IDs the recorder answers (`QUESTION.socketSent`) written in after its opening brace, the rest
 * of the text left exactly as the app wrote it (numbers are never re-serialised); fields the
 * message already has are kept. Other messages go as they are. Messages received that carry a
 * `correlation_id` are reported (`HAPPENING.socketReceived`).
 */
export function watchSocket(ws, hooks) {
  if (!ws || typeof ws.send !== "function" || typeof ws.addEventListener !== "function") return;
  const send = ws.send;
  ws.send = function (data) {
    let out = data;
    try {
      const size = typeof data === "string" ? data.length : data && (data.byteLength ?? data.size ?? 0);
      crossLogs();
      const ids = hooks.ask(QUESTION.socketSent, String(ws.url), Number(size) || 0);
      const at = ids && typeof data === "string" ? objectStart(data) : -1;
      if (at >= 0) {
        const message = JSON.parse(data);
        if (message && typeof message === "object" && !Array.isArray(message)) {
          const [correlation, session] = ids.split("\n");
          const fields = [];
          if (correlation && !Object.hasOwn(message, "correlation_id")) fields.push(`"correlation_id":"${correlation}"`);
          if (session && !Object.hasOwn(message, "session_id")) fields.push(`"session_id":"${session}"`);
          if (fields.length) {
            const empty = Object.keys(message).length === 0;
            out = `${data.slice(0, at + 1)}${fields.join(",")}${empty ? "" : ","}${data.slice(at + 1)}`;
          }
        }
      }
    } catch (_) {
      out = data;
    }
    return send.call(this, out);
  };
  ws.addEventListener("message", (event) => {
    try {
      const data = event.data;
      if (typeof data !== "string" || objectStart(data) < 0 || !data.includes('"correlation_id"')) return;
      const message = JSON.parse(data);
      const correlation = message && message.correlation_id;
      if (typeof correlation === "string") report(hooks, HAPPENING.socketReceived, data.length, 0, 0, ws.url, correlation);
    } catch (_) {
      // Not JSON: not reported.
    }
  });
}
