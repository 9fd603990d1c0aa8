// The JS↔wasm protocol, the one definition on the JavaScript side (src/web/protocol.rs is the
// Rust side): every happening the glue reports goes through `report(hooks, happening, …)` as
// one call with typed codes, and a request is planned with `plan(…)`.

/** What `hooks.on(happening, a, b, c, s1, s2, s3)` reports (`Happening` in protocol.rs). */
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
});

/** How a request settled. */
export const SETTLED = Object.freeze({ response: 0, networkError: 1, aborted: 2 });

/** Page lifecycle changes. */
export const PAGE = Object.freeze({ hidden: 0, visible: 1, online: 2 });

/** Reports a happening; a failure to report never reaches the page. Returns the answer (0 if none). */
export function report(hooks, happening, a = 0, b = 0, c = 0, s1, s2, s3) {
  try {
    return hooks.on(happening, a, b, c, s1 == null ? undefined : String(s1), s2 == null ? undefined : String(s2), s3);
  } catch (_) {
    return 0;
  }
}

/** The latest headers part of plan answers, split (`[id, name, value, …]`), per hooks object. */
const decisions = new WeakMap();

/**
 * Asks the recorder about a request. It crosses as one string, the fields joined by newlines,
 * which none of them can contain (an empty field means "none"): href, method, the header names
 * the app set as ",a,b," in lower case, the ID the object carried before, the ID to force, the
 * app's `traceparent` and `baggage`, and "x" for an XHR. The answer is a number: 0 (leave it
 * alone), the request's token (add the headers of the last answer), or the token negated (the
 * headers changed: `hooks.decision()` gives `id\nname\nvalue…`, or `\nheader` when the app set
 * the correlation header itself: add nothing, only report how it ends), so the requests of one
 * action cross no string out of wasm. Returns `[token, id, name, value, …]` (`[token, "",
 * header]` when only observed), or undefined.
 */
export function plan(hooks, href, method, names, previous, forced, traceparent, baggage, kind) {
  const answer = hooks.plan(`${href}\n${method}\n${names}\n${previous}\n${forced}\n${traceparent}\n${baggage}\n${kind}`);
  if (!answer) return undefined;
  let decision = decisions.get(hooks);
  if (answer < 0 || !decision) {
    const text = hooks.decision();
    // Empty only if the recorder could not answer: nothing to add, and nothing to keep.
    if (!text) return undefined;
    decision = text.split("\n");
    decisions.set(hooks, decision);
  }
  return [Math.abs(answer), ...decision];
}

/** Calls back with timer `code` (`Timer` in src/recorder/effect.rs) after `delay` ms; returns the timer. */
export function tickAfter(hooks, delay, code) {
  return setTimeout(() => report(hooks, HAPPENING.tick, code), delay);
}

export function cancelTick(timer) {
  clearTimeout(timer);
}
