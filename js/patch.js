// Browser glue that has to be JavaScript: wrappers that see `this`, that read the caller's
// request objects without touching them, and that fall back to the original call whenever
// anything inside the recorder throws, so instrumentation can never break a request.
//
// What goes down the chain is what the app described plus Threadline's headers, in a form any
// wrapper can copy and any polyfill can read: a plain init object whose members are own
// properties, and the headers in the form the app gave them (a plain object, an array of pairs
// or a `Headers`).
//
// Every decision is the recorder's, through its `hooks`, in the protocol of `protocol.js`.

import { DEFAULT_HEADER, HAPPENING, KIND, SETTLED, plan, report } from "./protocol.js";

/** Reports how a planned request ended (`SETTLED`). */
function settle(hooks, token, status, how, echoed, traceparent) {
  report(hooks, HAPPENING.settled, token, status, how, echoed, traceparent);
}

/** The value of header `name` in an XHR's raw response headers (no console noise for hidden ones). */
function rawHeader(raw, name) {
  for (const line of raw.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) return line.slice(colon + 1).trim();
  }
  return undefined;
}

/** `Request` and XHR objects already sent, mapped to the ID they carried. */
const sent = new WeakMap();

/** The correlation header's name, lower case (one recorder per page). */
let correlationHeader = DEFAULT_HEADER.toLowerCase();

/**
 * Set while `action.fetch` calls the page's fetch with a request it already planned but could
 * not mark (the app set the correlation header), or resends one: Threadline's own wrapper
 * passes such a call through.
 */
let passing = 0;

/** Calls the page's current fetch with `passing` set. */
function passThrough(input, init) {
  passing++;
  try {
    return window.fetch(input, init);
  } finally {
    passing--;
  }
}

/** `fetch` from before Threadline patched it: probes that must not be tagged. */
let untaggedFetch;

/**
 * The patches `init` installed before the recorder was ready (see `holdRequests`): requests they
 * see wait in `held` until the recorder adopts the patches (`patchFetch`, `patchXhr`) and
 * `releaseRequests` plans them, or go out untouched and are counted once `holding` ends (the
 * deadline, or a failed start).
 */
let gate = null;

/**
 * A request that arrived before the recorder was ready waits, or, past the wait, goes out
 * untouched and is counted. `run` and `untouched` answer whether they sent it (an XHR reopened or
 * aborted meanwhile is not sent again).
 */
function holdOrPass(run, untouched, xhr) {
  if (gate.holding) gate.held.push({ run, untouched, xhr, at: performance.now() });
  else if (untouched()) gate.untagged++;
}

/**
 * Installs the fetch and XHR patches before the recorder exists (`header`: the correlation
 * header's name as the options give it): fetches and asynchronous XHRs wait, for at most
 * `deadline` ms, for `releaseRequests`. Returns whether a gate was installed (none while one is
 * already waiting).
 */
export function holdRequests(target, header, deadline) {
  if (gate) return false;
  gate = { holding: true, held: [], heldCount: 0, untagged: 0, waited: 0, fetch: null, xhr: null, timer: 0 };
  const fetchPatch = patchFetch(target, null, header);
  const proto = target.XMLHttpRequest && target.XMLHttpRequest.prototype;
  const xhrPatch = proto ? patchXhr(proto, null, header) : null;
  gate.fetch = fetchPatch;
  gate.xhr = xhrPatch;
  const waiting = gate;
  waiting.timer = setTimeout(() => {
    waiting.holding = false;
    for (const entry of waiting.held.splice(0)) if (entry.untouched()) waiting.untagged++;
  }, deadline);
  return true;
}

/** The page's fetch as it was before any Threadline patch: what uploads go through. */
export function pageFetch(target) {
  return gate && gate.fetch && gate.fetch.target === target ? gate.fetch.original : target.fetch;
}

/**
 * Ends the wait: held requests go on through the patches the recorder adopted (planned, so they
 * carry the header), else untouched (`failed`: the recorder did not start, and they are counted;
 * otherwise another copy's recorder below plans them). Patches not adopted are taken down.
 * Returns `[held, untagged, longest wait in ms, hooks]`, or undefined when there was no gate.
 */
export function releaseRequests(failed) {
  const ending = gate;
  if (!ending) return undefined;
  gate = null;
  clearTimeout(ending.timer);
  const now = performance.now();
  let adopted;
  for (const entry of ending.held) {
    ending.waited = Math.max(ending.waited, now - entry.at);
    const patch = entry.xhr ? ending.xhr : ending.fetch;
    if (patch && patch.hooks) {
      adopted = patch.hooks;
      if (entry.run()) ending.heldCount++;
    } else if (entry.untouched() && failed) ending.untagged++;
  }
  if (ending.fetch && !ending.fetch.hooks) unpatchFetch(ending.fetch);
  if (ending.xhr && !ending.xhr.hooks) unpatchXhr(ending.xhr);
  adopted ??= (ending.fetch && ending.fetch.hooks) || (ending.xhr && ending.xhr.hooks);
  return [ending.heldCount, ending.untagged, Math.round(ending.waited), adopted];
}

/**
 * `KIND.tracer` when a tracer that appends its own `traceparent` and `baggage` whatever a request
 * carries (Datadog RUM) is initialised on the page, else 0: the recorder then adds neither, so a
 * request never carries two.
 */
function tracerKind() {
  const dd = globalThis.DD_RUM;
  try {
    return dd && typeof dd.getInitConfiguration === "function" && dd.getInitConfiguration() ? KIND.tracer : 0;
  } catch (_) {
    return 0;
  }
}

/** Whether `input` is a Request, or a polyfill's request object (a `url` string and headers). */
function isRequestLike(input) {
  return (
    input instanceof Request ||
    (typeof input === "object" && input !== null && typeof input.url === "string" && "headers" in input)
  );
}

/** The absolute URL a fetch/XHR input points at, resolved against the document's base URL. */
function requestUrl(input) {
  if (typeof input === "string") return new URL(input, document.baseURI).href;
  if (input instanceof URL) return input.href;
  if (isRequestLike(input)) return new URL(input.url, document.baseURI).href;
  return undefined;
}

/** RequestInit members fetch reads by name, which may be getters a `for…in` does not see. */
const INIT_MEMBERS = ["method", "headers", "body", "referrer", "referrerPolicy", "mode", "credentials", "cache", "redirect", "integrity", "keepalive", "signal", "priority", "duplex", "window"];

/** A plain object holding every member of the caller's init as an own property (the body is passed on, never read). */
function copyInit(init) {
  const out = {};
  for (const key in init) out[key] = init[key];
  for (const key of INIT_MEMBERS) if (!(key in out) && key in init) out[key] = init[key];
  return out;
}

/** Whether the decision's header pairs (from index 2) set `name`. */
function setsName(decision, name) {
  const lower = String(name).toLowerCase();
  for (let i = 2; i + 1 < decision.length; i += 2) if (decision[i].toLowerCase() === lower) return true;
  return false;
}

/**
 * The headers to hand on: the app's, in the form it gave them, with the decision's pairs set
 * (a pair replaces a header of its name: a merged `baggage` holds the app's members). Without
 * headers of the app's own, or with a Request's, a plain object of what fetch would send.
 */
function withHeaders(source, normalized, decision) {
  const put = (set) => {
    for (let i = 2; i + 1 < decision.length; i += 2) set(decision[i], decision[i + 1]);
  };
  if (source instanceof Headers) {
    const out = new Headers(normalized);
    put((name, value) => out.set(name, value));
    return out;
  }
  if (Array.isArray(source)) {
    const out = [];
    for (const pair of source) {
      const copy = Array.from(pair);
      if (!setsName(decision, copy[0])) out.push(copy);
    }
    put((name, value) => out.push([name, value]));
    return out;
  }
  const out = {};
  if (source != null && typeof source === "object" && !(Symbol.iterator in source)) {
    for (const key of Object.keys(source)) if (!setsName(decision, key)) out[key] = source[key];
  } else if (normalized) {
    for (const [name, value] of normalized) if (!setsName(decision, name)) out[name] = value;
  }
  put((name, value) => {
    out[name] = value;
  });
  return out;
}

/** Header `name` (lower case) in headers of any form, or undefined. */
function headerIn(headers, name) {
  try {
    if (headers == null) return undefined;
    if (headers instanceof Headers) return headers.get(name) ?? undefined;
    const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
    for (const [key, value] of pairs) if (String(key).toLowerCase() === name) return String(value);
  } catch (_) {
    // Unreadable: unknown.
  }
  return undefined;
}

/**
 * Plans a fetch: returns `{ input, init, token, id, header, traceparent, href }` (without an
 * `id` the request is only observed: the app's own arguments go on), or undefined to leave the
 * call untouched. The new init holds every member of the caller's and its own headers
 * (`init.headers` replaces a Request's own); a Request input goes on as `new Request(input,
 * init)`. A non-empty init resets a Request's referrer and referrer policy, so those are carried
 * over unless `init` sets them. A Request passed as init is left alone.
 */
function prepareFetch(input, init, hooks, forced) {
  try {
    if (init != null && (typeof init !== "object" || init instanceof Request)) return undefined;
    const href = requestUrl(input);
    if (!href) return undefined;
    const isRequest = isRequestLike(input);
    let method = "GET";
    if (init != null && init.method !== undefined) method = String(init.method);
    else if (isRequest) method = String(input.method || "GET");
    const fromInit = init != null && init.headers !== undefined;
    const source = fromInit ? init.headers : isRequest ? input.headers : undefined;
    let normalized;
    let names = ",";
    let traceparent = "";
    let baggage = "";
    let carried = "";
    // Most calls carry no headers: then there is nothing to copy or to read names from.
    if (source != null) {
      normalized = new Headers(source);
      for (const [name] of normalized) names += `${name},`;
      traceparent = normalized.get("traceparent") || "";
      baggage = normalized.get("baggage") || "";
      carried = normalized.get(correlationHeader) || "";
    }
    const previous = (isRequest && sent.get(input)) || "";
    const decision = plan(hooks, href, method, names, previous, forced || "", traceparent, baggage, carried, KIND.fetch | tracerKind());
    if (!decision) return undefined;
    const id = decision[1];
    const prepared = { input, init: undefined, token: decision[0], id, header: correlationHeader, traceparent: undefined, href };
    if (!id) return prepared;
    const out = init == null ? {} : copyInit(init);
    out.headers = withHeaders(fromInit ? source : undefined, normalized, decision);
    let sentHeaders = out.headers;
    try {
      if (input instanceof Request) {
        // A Request goes down as a new Request built the way fetch builds it, so that code below
        // that adds to `request.headers` (as tracers do) is not overridden by an init.
        if (out.referrer === undefined) out.referrer = input.referrer;
        if (out.referrerPolicy === undefined) out.referrerPolicy = input.referrerPolicy;
        prepared.input = new Request(input, out);
        sentHeaders = prepared.input.headers;
      } else {
        prepared.init = out;
      }
    } catch (_) {
      // fetch would refuse these arguments just the same: it does, with the app's own.
      settle(hooks, prepared.token, 0, SETTLED.networkError);
      return undefined;
    }
    if (isRequest) sent.set(input, id);
    prepared.sentHeaders = sentHeaders;
    if (setsName(decision, "traceparent")) prepared.traceparent = headerIn(sentHeaders, "traceparent");
    return prepared;
  } catch (_) {
    return undefined;
  }
}

/**
 * The traceparent the request went out with, if code below Threadline replaced Threadline's in
 * the headers it was handed (read back once the call returned). One that a tracer between two
 * wrappers put on the request as it came by again further down the chain, the recorder knows.
 */
function replacedTraceparent(prepared) {
  const ours = prepared.traceparent;
  if (!ours) return undefined;
  // A wrapper below may have replaced the headers object in the init it was handed.
  const now = headerIn(prepared.init ? prepared.init.headers : prepared.sentHeaders, "traceparent");
  return now && now !== ours ? now : undefined;
}

/**
 * Reports how `promise`, a fetch `prepared` by `prepareFetch`, settles, and resolves as it does.
 * A failure without a response that the recorder says may be a refused CORS preflight is sent
 * once more by `resend()` (the app's own request, without Threadline's headers); its answer is
 * the app's, and the origin is marked refused.
 */
function observe(promise, prepared, hooks, resend) {
  const { token, header, href } = prepared;
  const answered = (response, echo) => {
    const traceparent = replacedTraceparent(prepared);
    let echoed;
    if (echo) {
      try {
        echoed = response.headers.get(header);
      } catch (_) {
        // Unreadable: no echo.
      }
    }
    settle(hooks, token, response.status, SETTLED.response, echoed, traceparent);
    return response;
  };
  return promise.then(
    (response) => answered(response, true),
    (error) => {
      const aborted = error && error.name === "AbortError";
      let again;
      try {
        again = !aborted && report(hooks, HAPPENING.mayResend, token) ? resend() : undefined;
      } catch (_) {
        again = undefined;
      }
      if (!again) {
        settle(hooks, token, 0, aborted ? SETTLED.aborted : SETTLED.networkError, undefined, replacedTraceparent(prepared));
        throw error;
      }
      return Promise.resolve(again).then(
        (response) => {
          report(hooks, HAPPENING.corsRefused, 0, 0, 0, href);
          return answered(response, false);
        },
        (second) => {
          settle(hooks, token, 0, SETTLED.networkError, undefined, replacedTraceparent(prepared));
          throw second;
        },
      );
    },
  );
}

/**
 * `action.fetch`: calls the page's current `fetch` (so other wrappers still run; Threadline's own
 * sees its header on the request and passes it through) with `forced` as the correlation ID.
 */
export function actionFetch(input, init, hooks, forced) {
  const prepared = prepareFetch(input, init, hooks, forced);
  let promise;
  try {
    if (!prepared) return window.fetch(input, init);
    promise = prepared.id ? window.fetch(prepared.input, prepared.init) : passThrough(input, init);
  } catch (error) {
    if (prepared) settle(hooks, prepared.token, 0, SETTLED.networkError);
    return Promise.reject(error);
  }
  return observe(promise, prepared, hooks, () => passThrough(input, init));
}

/**
 * Wraps `target.fetch`; `header` is the correlation header's name. Returns the patch handle, or
 * null when fetch is missing or cannot be replaced.
 */
export function patchFetch(target, hooks, header) {
  correlationHeader = String(header).toLowerCase();
  const waiting = gate && gate.fetch;
  if (hooks && waiting && waiting.target === target && !waiting.hooks && target.fetch === waiting.wrapper) {
    waiting.hooks = hooks;
    return waiting;
  }
  const original = target.fetch;
  if (typeof original !== "function") return null;
  untaggedFetch = original;
  const patch = { target, original, active: true, wrapper: null, hooks };
  patch.wrapper = function fetch(input, init) {
    if (!patch.active || passing) return original.apply(this, arguments);
    const hooks = patch.hooks;
    if (!hooks) {
      if (!gate || !/^https?:/.test(requestUrl(input) || "")) return original.apply(this, arguments);
      const self = this;
      const args = arguments;
      return new Promise((resolve, reject) => {
        const settle = (call) => () => {
          try {
            resolve(call());
          } catch (error) {
            reject(error);
          }
          return true;
        };
        holdOrPass(settle(() => patch.wrapper.apply(self, args)), settle(() => original.apply(self, args)), false);
      });
    }
    const prepared = prepareFetch(input, init, hooks, "");
    if (!prepared) return original.apply(this, arguments);
    const args = arguments;
    const self = this;
    let promise;
    try {
      promise = prepared.id ? original.call(this, prepared.input, prepared.init) : original.apply(this, arguments);
    } catch (_) {
      settle(hooks, prepared.token, 0, SETTLED.networkError);
      return original.apply(this, arguments);
    }
    return observe(promise, prepared, hooks, () => original.apply(self, args));
  };
  try {
    target.fetch = patch.wrapper;
  } catch (_) {
    // Non-writable: reported below.
  }
  return target.fetch === patch.wrapper ? patch : null;
}

/** Undoes `patchFetch`: restores the original if still outermost, else becomes a pass-through. */
export function unpatchFetch(patch) {
  patch.active = false;
  try {
    if (patch.target.fetch === patch.wrapper) patch.target.fetch = patch.original;
  } catch (_) {
    // Stays a pass-through.
  }
}

/**
 * Wraps `open`, `setRequestHeader` and `send` of an XMLHttpRequest prototype; the headers are
 * added at `send`. State lives in a WeakMap keyed by the request object; one `loadend` listener
 * per object, however often it is reused. An XHR's headers can only be appended to, so a
 * `traceparent` that code below Threadline sets after Threadline's is dropped: a request never
 * carries two.
 */
export function patchXhr(proto, hooks, header) {
  correlationHeader = String(header).toLowerCase();
  const waiting = gate && gate.xhr;
  if (hooks && waiting && waiting.proto === proto && !waiting.hooks && proto.send === waiting.wrappers.send) {
    waiting.hooks = hooks;
    return waiting;
  }
  const original = {
    open: proto.open,
    setRequestHeader: proto.setRequestHeader,
    send: proto.send,
    abort: proto.abort,
  };
  if (Object.values(original).some((f) => typeof f !== "function")) return null;
  const states = new WeakMap();
  const patch = { proto, original, active: true, wrappers: null, hooks };

  // Reports the object's pending request. Called from `loadend`, and from `open` when the app
  // reuses the object before our `loadend` listener ran (its own handler may reopen it first):
  // at that moment readyState and status still describe the finished request.
  function settlePending(xhr, state) {
    if (!state.token) return;
    const token = state.token;
    state.token = 0;
    const answered = xhr.readyState === 4 && xhr.status !== 0;
    let echoed;
    if (answered) {
      try {
        echoed = rawHeader(xhr.getAllResponseHeaders(), state.header);
      } catch (_) {
        // Unreadable: no echo.
      }
    }
    const probe = !answered && !state.aborted && report(patch.hooks, HAPPENING.mayResend, token);
    settle(patch.hooks, token, answered ? xhr.status : 0, answered ? SETTLED.response : state.aborted ? SETTLED.aborted : SETTLED.networkError, echoed, state.lateTraceparent);
    if (probe) probeRefusal(state.href, state.method, xhr.withCredentials);
  }

  // A failed XHR cannot be sent again under the app's handlers, which have seen the error: the
  // same GET or HEAD goes once through the untagged fetch, and if it answers, the origin refused
  // Threadline's headers and gets none from now on.
  function probeRefusal(href, method, withCredentials) {
    try {
      const probe = (untaggedFetch || window.fetch).call(window, href, { method, credentials: withCredentials ? "include" : "same-origin" });
      probe.then(
        () => report(patch.hooks, HAPPENING.corsRefused, 0, 0, 0, href),
        () => {},
      );
    } catch (_) {
      // No probe: nothing is concluded.
    }
  }

  function onLoadEnd() {
    const state = states.get(this);
    // Not DONE: the app already reopened and resent the object from an earlier listener of
    // this same event; `open` has settled the finished request, the pending token is the new one.
    if (state && this.readyState === 4) settlePending(this, state);
  }

  function onAbort() {
    const state = states.get(this);
    if (state) state.aborted = true;
  }

  patch.wrappers = {
    open: function open(method, url) {
      if (patch.active) {
        try {
          let state = states.get(this);
          if (!state) {
            state = { listening: false, token: 0 };
            states.set(this, state);
          }
          settlePending(this, state);
          // Reopened while waiting for the recorder: the earlier send never happens, as an
          // in-flight request is cancelled by `open`.
          state.held = null;
          state.aborted = false;
          state.async = arguments.length < 3 || Boolean(arguments[2]);
          state.method = String(method);
          state.url = String(url);
          state.names = ",";
          state.values = {};
          state.ownTraceparent = false;
          state.lateTraceparent = undefined;
        } catch (_) {
          // Untracked: the request goes out without a header.
        }
      }
      return original.open.apply(this, arguments);
    },
    setRequestHeader: function setRequestHeader(name, value) {
      if (patch.active) {
        try {
          const state = states.get(this);
          if (state && state.names) {
            const lower = String(name).toLowerCase();
            // Sent by code below Threadline after Threadline's own: it would make two.
            if (lower === "traceparent" && state.ownTraceparent) return undefined;
            // A tracer below Threadline set it during `send`: that one goes out.
            if (lower === "traceparent" && state.token) state.lateTraceparent = String(value);
            state.names += `${lower},`;
            if (lower === "traceparent" || lower === "baggage" || lower === correlationHeader) {
              state.values[lower] = state.values[lower] ? `${state.values[lower]}, ${value}` : String(value);
            }
          }
        } catch (_) {
          // Untracked header name.
        }
      }
      return original.setRequestHeader.apply(this, arguments);
    },
    send: function send(body) {
      if (patch.active && !patch.hooks) {
        const state = states.get(this);
        if (!gate || !state || !state.async || state.held) return original.send.apply(this, arguments);
        const xhr = this;
        const args = arguments;
        const entry = {};
        const go = (call) => () => {
          if (state.held !== entry) return false;
          state.held = null;
          try {
            call.apply(xhr, args);
          } catch (_) {
            // Not sendable any more: fetch would have refused it the same way.
          }
          return true;
        };
        state.held = entry;
        state.untouched = go(original.send);
        holdOrPass(go(patch.wrappers.send), state.untouched, true);
        return undefined;
      }
      if (patch.active) {
        try {
          const state = states.get(this);
          if (state && state.names && !state.token) {
            const href = requestUrl(state.url);
            const values = state.values;
            const decision = href && plan(patch.hooks, href, state.method, state.names, sent.get(this) || "", "", values.traceparent || "", values.baggage || "", values[correlationHeader] || "", KIND.xhr | tracerKind());
            if (decision) {
              for (let i = 2; i + 1 < decision.length; i += 2) {
                original.setRequestHeader.call(this, decision[i], decision[i + 1]);
              }
              state.token = decision[0];
              state.href = href;
              state.header = correlationHeader;
              state.ownTraceparent = setsName(decision, "traceparent");
              if (decision[1]) sent.set(this, decision[1]);
              if (!state.listening) {
                state.listening = true;
                this.addEventListener("abort", onAbort);
                this.addEventListener("loadend", onLoadEnd);
              }
            }
          }
        } catch (_) {
          // The request goes out as the app made it.
        }
      }
      return original.send.apply(this, arguments);
    },
    abort: function abort() {
      const state = patch.active && states.get(this);
      // Aborted while waiting for the recorder: sent untouched and aborted at once, so the app
      // sees the events an abort after `send` gives.
      if (state && state.held && state.untouched() && gate) gate.untagged++;
      return original.abort.apply(this, arguments);
    },
  };
  for (const name of Object.keys(original)) {
    try {
      proto[name] = patch.wrappers[name];
    } catch (_) {
      // Checked below.
    }
  }
  if (Object.keys(original).some((name) => proto[name] !== patch.wrappers[name])) {
    unpatchXhr(patch);
    return null;
  }
  return patch;
}

/** Undoes `patchXhr` method by method, like `unpatchFetch`. */
export function unpatchXhr(patch) {
  patch.active = false;
  for (const name of Object.keys(patch.original)) {
    try {
      if (patch.proto[name] === patch.wrappers[name]) patch.proto[name] = patch.original[name];
    } catch (_) {
      // Stays a pass-through.
    }
  }
}
