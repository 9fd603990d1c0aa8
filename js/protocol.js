// The JS↔wasm protocol, the one definition on the JavaScript side (src/protocol.rs is the
// Rust side): every happening the glue reports goes through `report(hooks, happening, …)` as
// one call with typed codes, and a request is planned with `plan(…)`.

/**
 * The correlation header when the options name none (`DEFAULT_HEADER` in src/propagation.rs):
 * the startup gate needs it before the core exists.
 */
export const DEFAULT_HEADER = "X-Correlation-ID";

/**
 * How long requests started before the recorder is ready wait for it, at most, in ms
 * (`STARTUP_DEADLINE_MS` in src/recorder/limits.rs): the gate waits before the core exists.
 */
export const STARTUP_DEADLINE_MS = 3000;

/** What `hooks.on(happening, a, b, c, s1, s2, s3)` reports (`Happening` in src/protocol.rs). */
export const HAPPENING = Object.freeze({
  /** a planned request ended: a = token, b = status, c = `SETTLED`, s1 = echoed ID, s2 = traceparent sent */
  settled: 0,
  /** whether a failed request may go once more without headers (answers 1): a = token */
  mayResend: 1,
  /** a request answered once sent without headers: s1 = href */
  corsRefused: 2,
  /** requests before the recorder was ready: a = held, b = untagged, c = longest wait (ms) */
  startup: 3,
  /** an upload ended: a = batch, b = status (0: network error), s1 = Retry-After */
  uploaded: 4,
  /** the page changed: a = `PAGE` */
  lifecycle: 5,
  /** a console line: a = 1 for console.error, 0 for console.warn, s1 = text */
  console: 6,
  /** a timer fired: a = its code (`Timer` in src/recorder/effect.rs) */
  tick: 7,
  /** a socket message arrived carrying a correlation ID: a = bytes, s1 = url, s2 = the ID */
  socketReceived: 8,
  /** another tab wrote storage: s1 = key (null: cleared), s2 = new value */
  storageChanged: 9,
  /** an uncaught error (a = 0) or unhandled rejection (a = 1): s1 = kind, s2 = message, s3 = stack */
  uncaught: 10,
  /** a click on an actionable element (a = 0) or a form submit (a = 1): s1 = what names it (`NAME_ATTRIBUTES` in src/action_names.rs), s3 = the element (for a submit, the submitter or null) */
  action: 11,
  /** `action.end(outcome)`: s1 = the action's ID, s3 = the outcome as the app passed it */
  actionEnd: 12,
});

/**
 * What `hooks.ask(question, text, n)` answers with text (`Question` in src/protocol.rs): the headers of
 * the latest plan (see `plan`), or, for a message of n bytes about to be sent on the socket at
 * URL `text`, the IDs it should carry, `correlation\nsession` (empty when there is nothing to add).
 */
export const QUESTION = Object.freeze({ decision: 0, socketSent: 1 });

/** `log` levels by code (`LEVELS` in src/protocol.rs); 0 is not a level. */
export const LEVEL = Object.freeze(Object.assign(Object.create(null), { debug: 1, info: 2, warn: 3, error: 4 }));

/** The `LEVEL` code of what `log` was given as its level; 0 when it is not one. */
export function levelCode(level) {
  return (typeof level === "string" && LEVEL[level]) || 0;
}

/** How a request settled. */
export const SETTLED = Object.freeze({ response: 0, networkError: 1, aborted: 2 });

/** Page lifecycle changes. */
export const PAGE = Object.freeze({ hidden: 0, visible: 1, online: 2 });

/** Reports a happening; a failure to report never reaches the page. Returns the answer (0 if none). `s3` goes as it is (a text or an element). */
export function report(hooks, happening, a = 0, b = 0, c = 0, s1, s2, s3) {
  crossLogs();
  try {
    return hooks.on(happening, a, b, c, s1 == null ? undefined : String(s1), s2 == null ? undefined : String(s2), s3);
  } catch (_) {
    return 0;
  }
}

/**
 * A request's kind, the second argument of `hooks.plan` (`KIND_*` in src/protocol.rs): fetch or
 * XHR, plus `tracer` when a tracer on the page appends its own trace headers.
 */
export const KIND = Object.freeze({ fetch: 0, xhr: 1, tracer: 2 });

/**
 * A plan answer is `token * PLAN_CODES + code` (`PLAN_*` in src/protocol.rs); the code says: leave
 * the request alone, add the headers taken last (1), add new ones (`QUESTION.decision` gives
 * `id\nname\nvalue…`), or add nothing and only report how it ends (the app set the correlation
 * header itself).
 */
const PLAN_UNTOUCHED = 0;
const PLAN_NEW_HEADERS = 2;
const PLAN_OBSERVE = 3;
const PLAN_CODES = 4;

/** The latest headers part of plan answers, split (`[id, name, value, …]`), per hooks object. */
const decisions = new WeakMap();

/**
 * Asks the recorder about a request of kind `kind` (`KIND`). It crosses as one string, the fields
 * joined by newlines, which none of them can contain (an empty field means "none"): href,
 * method, the header names the app set as ",a,b," in lower case, the ID the object carried
 * before, the ID to force, the `traceparent` and `baggage` it carries, and its correlation
 * header's value (`carried`: a request Threadline tagged, met again further down the chain, is
 * left alone). The answer is one number (see `PLAN_CODES`), so the requests of one action cross
 * no string out of wasm. Returns `[token, id, name, value, …]`, `[token, ""]` when only observed,
 * or undefined to leave it alone.
 */
export function plan(hooks, href, method, names, previous, forced, traceparent, baggage, carried, kind) {
  crossLogs();
  const answer = hooks.plan(`${href}\n${method}\n${names}\n${previous}\n${forced}\n${traceparent}\n${baggage}\n${carried}`, kind);
  const code = answer % PLAN_CODES;
  const token = (answer - code) / PLAN_CODES;
  if (code === PLAN_UNTOUCHED) return undefined;
  if (code === PLAN_OBSERVE) return [token, ""];
  let decision = decisions.get(hooks);
  if (code === PLAN_NEW_HEADERS || !decision) {
    const text = hooks.ask(QUESTION.decision);
    // Empty only if the recorder could not answer: nothing to add, and nothing to keep.
    if (!text) return undefined;
    decision = text.split("\n");
    decisions.set(hooks, decision);
  }
  return [token, ...decision];
}

/** Calls back with timer `code` (`Timer` in src/recorder/effect.rs) after `delay` ms; returns the timer. */
export function tickAfter(hooks, delay, code) {
  return setTimeout(() => report(hooks, HAPPENING.tick, code), delay);
}

export function cancelTick(timer) {
  clearTimeout(timer);
}

/**
 * The limits of the attribute walker (`flatten` in page.js), the core's: strings cut past
 * `maxLength` characters (`otlp::MAX_VALUE_BYTES` + 1, so that a cut string is told from a
 * whole one), `maxDepth` levels (`limits::MAX_ATTRIBUTE_DEPTH`), `maxKept` entries written
 * (`attributes::MAX_ATTRIBUTES`) of the first `maxWalked` visited (`limits::MAX_ATTRIBUTES_WALKED`).
 */
export const WALK = /* @__PURE__ */ Object.freeze({ maxLength: 4097, maxDepth: 6, maxKept: 64, maxWalked: 1000 });

/**
 * The public methods of `Recorder` (index.d.ts) in the order of their codes (`RecorderMethod` in
 * src/protocol.rs). Each calls the class's one export, `_call(code, …)`: an export per method would
 * cost a shim in the wasm and in its glue.
 */
const RECORDER_METHODS = ["sessionId", "startAction", "debugId", "currentAction", "log", "setUser", "socket", "recordUi", "flush", "shutdown"];
/** The codes of the two methods log-entry.js (or log-level.js) defines (their places above). */
export const LOG = 4;
export const RECORD_UI = 7;

/**
 * What runs before anything crosses into the recorder: log-entry.js sets it to hand over the
 * `log` calls it queued, so that the core sees every call in the order it was made. Without
 * events (log-level.js) nothing waits.
 */
let crossQueued = () => {};

/** Sets what `crossLogs` runs (log-entry.js). */
export function queueLogsWith(cross) {
  crossQueued = cross;
}

/** Hands the queued `log` calls, if any, to the recorder: called first by every crossing. */
export function crossLogs() {
  crossQueued();
}

/**
 * Defines those methods on the prototype of the wasm class `Recorder`, as class methods are (not
 * enumerable): `log` and `recordUi` as `own` has them (log-entry.js), the others calling `_call`
 * once the queued `log` calls have crossed.
 */
export function defineMethods(recorder, own) {
  RECORDER_METHODS.forEach((name, code) => {
    const value =
      own[name] ||
      function (a, b) {
        crossLogs();
        return this._call(code, a, b);
      };
    Object.defineProperty(recorder, name, { value, writable: true, configurable: true });
  });
}
