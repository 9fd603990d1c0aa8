// Browser glue that has to be JavaScript: wrappers that see `this`, that read the caller's
// request objects without touching them, and that fall back to the original call whenever
// anything inside the recorder throws, so instrumentation can never break a request.
//
// Every decision is the recorder's, through its `hooks`: `hooks.plan(request)` answers a
// number: 0 (leave it alone), the request's token (add the headers of the last answer), or the
// token negated (the headers changed: `hooks.decision()` gives `id\nname\nvalue…`, or `\nheader`
// when the app set the correlation header itself: add nothing, only report how it ends). The
// requests of one action carry the same ID, so they cross no string out of wasm. `request` is
// one string (one copy into wasm per request): href, method, the header names the app set as
// ",name,name," in lower case, the ID the object carried before and the ID to force, joined by
// newlines, which none of them can contain; an empty ID means "none".
// `hooks.settle(token, status, how, echoed)` reports how a planned request ended: `how` is 0
// with a response (`status`), 1 for a network error, 2 for an abort; `echoed` is the response's
// correlation header, if the server sent one and CORS lets the page read it.

/** Reports a settlement; a failure to report never reaches the page. */
function report(hooks, token, status, how, echoed) {
  try {
    hooks.settle(token, status, how, echoed == null ? undefined : String(echoed));
  } catch (_) {
    // Nothing to do: the request itself is unaffected.
  }
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

/** Init objects this module made: a fetch carrying one was planned already (`action.fetch`). */
const ours = new WeakSet();

/** The absolute URL a fetch/XHR input points at, resolved against the document's base URL. */
function requestUrl(input) {
  if (typeof input === "string") return new URL(input, document.baseURI).href;
  if (input instanceof URL) return input.href;
  if (input instanceof Request) return input.url;
  return undefined;
}

/** The latest headers part of plan answers, split (`[id, name, value, …]`), per hooks object. */
const decisions = new WeakMap();

/**
 * Asks the recorder about a request; `names` are the header names the app set, lower case.
 * Returns `[token, id, name, value, …]` (`[token, "", header]` when only observed), or undefined.
 */
function plan(hooks, href, method, names, previous, forced) {
  const answer = hooks.plan(`${href}\n${method}\n,${names.join(",")},\n${previous}\n${forced}`);
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

function own(object, name, value) {
  Object.defineProperty(object, name, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * Plans a fetch: returns `[newInit, token, headerName]`, or undefined to leave the call untouched.
 * The new init inherits every member of the caller's (nothing is read or copied) and has its own
 * copy of the headers fetch would send (`init.headers` replaces a Request's own). A non-empty init
 * resets a Request's referrer and referrer policy, so those are carried over unless `init` sets
 * them. A Request passed as init cannot be inherited from, so such calls are left alone.
 */
function prepareFetch(input, init, hooks, forced) {
  try {
    if (init instanceof Request) return undefined;
    const href = requestUrl(input);
    if (!href) return undefined;
    const isRequest = input instanceof Request;
    let method = "GET";
    let headers;
    if (init != null && init.method !== undefined) method = String(init.method);
    else if (isRequest) method = input.method;
    const source = init != null && init.headers !== undefined ? init.headers : isRequest ? input.headers : undefined;
    const names = [];
    // Most calls carry no headers: then there is nothing to copy or to read names from.
    if (source !== undefined) {
      headers = new Headers(source);
      for (const [name] of headers) names.push(name);
    }
    const decision = plan(hooks, href, method, names, (isRequest && sent.get(input)) || "", forced || "");
    if (!decision) return undefined;
    headers ??= new Headers();
    for (let i = 2; i + 1 < decision.length; i += 2) headers.append(decision[i], decision[i + 1]);
    let out;
    if (init == null) out = { headers };
    else {
      out = Object.create(init);
      own(out, "headers", headers);
    }
    ours.add(out);
    if (isRequest) {
      if (decision[1]) sent.set(input, decision[1]);
      if (out.referrer === undefined) own(out, "referrer", input.referrer);
      if (out.referrerPolicy === undefined) own(out, "referrerPolicy", input.referrerPolicy);
    }
    return [out, decision[0], decision[2]];
  } catch (_) {
    return undefined;
  }
}

/** Reports the settlement of `promise`, a fetch `prepared` by `prepareFetch`; returns it unchanged. */
function observe(promise, prepared, hooks) {
  const token = prepared[1];
  try {
    promise.then(
      (response) => {
        let echoed;
        try {
          echoed = response.headers.get(prepared[2]);
        } catch (_) {
          // Unreadable: no echo.
        }
        report(hooks, token, response.status, 0, echoed);
      },
      (error) => report(hooks, token, 0, error && error.name === "AbortError" ? 2 : 1),
    );
  } catch (_) {
    report(hooks, token, 0, 1);
  }
  return promise;
}

/**
 * `action.fetch`: calls the page's current `fetch` (so other wrappers still run; Threadline's own
 * finds the header set and leaves it) with `forced` as the correlation ID.
 */
export function actionFetch(input, init, hooks, forced) {
  const prepared = prepareFetch(input, init, hooks, forced);
  let promise;
  try {
    promise = window.fetch(input, prepared ? prepared[0] : init);
  } catch (error) {
    if (prepared) report(hooks, prepared[1], 0, 1);
    return Promise.reject(error);
  }
  return prepared ? observe(promise, prepared, hooks) : promise;
}

/**
 * Wraps `target.fetch`. Returns the patch handle, or null when fetch is missing or cannot be
 * replaced.
 */
export function patchFetch(target, hooks) {
  const original = target.fetch;
  if (typeof original !== "function") return null;
  const patch = { target, original, active: true, wrapper: null };
  patch.wrapper = function fetch(input, init) {
    if (!patch.active || (init != null && ours.has(init))) return original.apply(this, arguments);
    const prepared = prepareFetch(input, init, hooks, "");
    if (!prepared) return original.apply(this, arguments);
    let promise;
    try {
      promise = original.call(this, input, prepared[0]);
    } catch (_) {
      report(hooks, prepared[1], 0, 1);
      return original.apply(this, arguments);
    }
    return observe(promise, prepared, hooks);
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
 * per object, however often it is reused.
 */
export function patchXhr(proto, hooks) {
  const original = {
    open: proto.open,
    setRequestHeader: proto.setRequestHeader,
    send: proto.send,
  };
  if (Object.values(original).some((f) => typeof f !== "function")) return null;
  const states = new WeakMap();
  const patch = { proto, original, active: true, wrappers: null };

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
    report(hooks, token, answered ? xhr.status : 0, answered ? 0 : state.aborted ? 2 : 1, echoed);
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
          state.aborted = false;
          state.method = String(method);
          state.url = String(url);
          state.names = [];
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
          if (state && state.names) state.names.push(String(name).toLowerCase());
        } catch (_) {
          // Untracked header name.
        }
      }
      return original.setRequestHeader.apply(this, arguments);
    },
    send: function send(body) {
      if (patch.active) {
        try {
          const state = states.get(this);
          if (state && state.names && !state.token) {
            const href = requestUrl(state.url);
            const decision = href && plan(hooks, href, state.method, state.names, sent.get(this) || "", "");
            if (decision) {
              for (let i = 2; i + 1 < decision.length; i += 2) {
                original.setRequestHeader.call(this, decision[i], decision[i + 1]);
              }
              state.token = decision[0];
              state.header = String(decision[2]).toLowerCase();
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
