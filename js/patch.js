// Browser glue that has to be JavaScript: wrappers that see `this`, that read the caller's
// request objects without touching them, and that fall back to the original call whenever
// anything inside the recorder throws, so instrumentation can never break a request.
//
// Every decision is the recorder's, through its `hooks`: `hooks.plan(request)` answers
// `[token, id, name, value, …]` (the headers to add) or undefined (leave it alone). `request` is
// one string (one copy into wasm per request): href, method, the header names the app set as
// ",name,name," in lower case, the ID the object carried before and the ID to force, joined by
// newlines, which none of them can contain; an empty ID means "none".
// `hooks.settle(token, status, failed)` reports how a planned request ended.

/** Reports a settlement; a failure to report never reaches the page. */
function report(hooks, token, status, failed) {
  try {
    hooks.settle(token, status, failed);
  } catch (_) {
    // Nothing to do: the request itself is unaffected.
  }
}

/** `Request` and XHR objects already sent, mapped to the ID they carried. */
const sent = new WeakMap();

/** The absolute URL a fetch/XHR input points at, resolved against the document's base URL. */
function requestUrl(input) {
  if (typeof input === "string") return new URL(input, document.baseURI).href;
  if (input instanceof URL) return input.href;
  if (input instanceof Request) return input.url;
  return undefined;
}

/** Asks the recorder about a request; `names` are the header names the app set, lower case. */
function plan(hooks, href, method, names, previous, forced) {
  return hooks.plan(`${href}\n${method}\n,${names.join(",")},\n${previous}\n${forced}`);
}

function own(object, name, value) {
  Object.defineProperty(object, name, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * Plans a fetch: returns `[newInit, token]`, or undefined to leave the call untouched.
 * The new init inherits every member of the caller's (nothing is read or copied) and has its own
 * copy of the headers fetch would send (`init.headers` replaces a Request's own). A non-empty init
 * resets a Request's referrer and referrer policy, so those are carried over unless `init` sets
 * them. A Request passed as init cannot be inherited from, so such calls are left alone.
 */
export function prepareFetch(input, init, hooks, forced) {
  try {
    if (init instanceof Request) return undefined;
    const href = requestUrl(input);
    if (!href) return undefined;
    const isRequest = input instanceof Request;
    let method = "GET";
    let headers;
    if (init != null && init.method !== undefined) method = String(init.method);
    else if (isRequest) method = input.method;
    if (init != null && init.headers !== undefined) headers = new Headers(init.headers);
    else headers = new Headers(isRequest ? input.headers : undefined);
    const names = [];
    for (const [name] of headers) names.push(name);
    const decision = plan(hooks, href, method, names, (isRequest && sent.get(input)) || "", forced || "");
    if (!decision) return undefined;
    for (let i = 2; i + 1 < decision.length; i += 2) headers.append(decision[i], decision[i + 1]);
    const out = init == null ? {} : Object.create(init);
    own(out, "headers", headers);
    if (isRequest) {
      sent.set(input, decision[1]);
      if (out.referrer === undefined) own(out, "referrer", input.referrer);
      if (out.referrerPolicy === undefined) own(out, "referrerPolicy", input.referrerPolicy);
    }
    return [out, decision[0]];
  } catch (_) {
    return undefined;
  }
}

/** Reports the settlement of `promise` (a fetch) to `hooks.settle`; returns it unchanged. */
export function observe(promise, token, hooks) {
  try {
    promise.then(
      (response) => report(hooks, token, response.status, false),
      () => report(hooks, token, 0, true),
    );
  } catch (_) {
    report(hooks, token, 0, true);
  }
  return promise;
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
    if (!patch.active) return original.apply(this, arguments);
    const prepared = prepareFetch(input, init, hooks, "");
    if (!prepared) return original.apply(this, arguments);
    let promise;
    try {
      promise = original.call(this, input, prepared[0]);
    } catch (_) {
      report(hooks, prepared[1], 0, true);
      return original.apply(this, arguments);
    }
    return observe(promise, prepared[1], hooks);
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
    const done = xhr.readyState === 4;
    report(hooks, token, done ? xhr.status : 0, !done || xhr.status === 0);
  }

  function onLoadEnd() {
    const state = states.get(this);
    // Not DONE: the app already reopened and resent the object from an earlier listener of
    // this same event; `open` has settled the finished request, the pending token is the new one.
    if (state && this.readyState === 4) settlePending(this, state);
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
              sent.set(this, decision[1]);
              if (!state.listening) {
                state.listening = true;
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
