// Browser glue that has to be JavaScript: wrappers that see `this`, and that fall back to the
// original call whenever anything inside the recorder throws, so instrumentation can never break
// a request. Every decision is made by the callbacks the recorder passes in.

const quietly = (fn) => function () {
  try {
    return fn.apply(this, arguments);
  } catch (_) {
    return undefined;
  }
};

/** Reports the settlement of `promise` (a fetch) to `settle(token, status, failed)`. */
export function observe(promise, token, settle) {
  const report = quietly(settle);
  try {
    promise.then(
      (response) => report(token, response.status, false),
      () => report(token, 0, true),
    );
  } catch (_) {
    report(token, 0, true);
  }
  return promise;
}

/**
 * Wraps `target.fetch`. `prepare(input, init)` returns `[newInit, token]` or undefined to pass
 * the call through untouched. Returns the patch handle, or null when fetch is missing or cannot be
 * replaced.
 */
export function patchFetch(target, prepare, settle) {
  const original = target.fetch;
  if (typeof original !== "function") return null;
  const patch = { target, original, active: true, wrapper: null };
  patch.wrapper = function fetch(input, init) {
    if (!patch.active) return original.apply(this, arguments);
    let plan;
    try {
      plan = prepare(input, init);
    } catch (_) {
      plan = undefined;
    }
    if (!plan) return original.apply(this, arguments);
    let promise;
    try {
      promise = original.call(this, input, plan[0]);
    } catch (_) {
      quietly(settle)(plan[1], 0, true);
      return original.apply(this, arguments);
    }
    return observe(promise, plan[1], settle);
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
 * Wraps `open`, `setRequestHeader` and `send` of an XMLHttpRequest prototype. At `send`,
 * `prepare(xhr, method, url, appHeaderNames)` returns `[token, name, value, …]` or undefined.
 * State lives in a WeakMap keyed by the request object; one `loadend` listener per object, however
 * often it is reused.
 */
export function patchXhr(proto, prepare, settle) {
  const original = {
    open: proto.open,
    setRequestHeader: proto.setRequestHeader,
    send: proto.send,
  };
  if (Object.values(original).some((f) => typeof f !== "function")) return null;
  const states = new WeakMap();
  const report = quietly(settle);
  const patch = { proto, original, active: true, wrappers: null };

  // Reports the object's pending request. Called from `loadend`, and from `open` when the app
  // reuses the object before our `loadend` listener ran (its own handler may reopen it first):
  // at that moment readyState and status still describe the finished request.
  function settlePending(xhr, state) {
    if (!state.token) return;
    const token = state.token;
    state.token = 0;
    const done = xhr.readyState === 4;
    report(token, done ? xhr.status : 0, !done || xhr.status === 0);
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
          state.names = new Set();
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
          if (state && state.names) state.names.add(String(name).toLowerCase());
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
            const plan = prepare(this, state.method, state.url, state.names);
            if (plan) {
              for (let i = 1; i + 1 < plan.length; i += 2) {
                original.setRequestHeader.call(this, plan[i], plan[i + 1]);
              }
              state.token = plan[0];
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
