// Small readers of browser objects for the recorder's web shell. Each one catches everything:
// `undefined` means "cannot tell", and the caller then leaves the request alone.

/** The absolute URL a fetch/XHR input points at, resolved against the document's base URL. */
export function requestUrl(input) {
  try {
    if (typeof input === "string") return new URL(input, document.baseURI).href;
    if (input instanceof URL) return input.href;
    if (input instanceof Request) return input.url;
  } catch (_) {
    // Unparseable: fetch itself will reject it.
  }
  return undefined;
}

/** The method fetch will use: `init.method`, else the Request's, else GET. */
export function requestMethod(input, init) {
  try {
    if (init != null && init.method !== undefined) return String(init.method);
    if (input instanceof Request) return input.method;
  } catch (_) {
    // Fall through.
  }
  return "GET";
}

/**
 * A copy of the headers fetch will send (`init.headers` replaces a Request's own), as a new
 * Headers object; the caller's objects are only read. `undefined` when they cannot be copied.
 */
export function requestHeaders(input, init) {
  try {
    if (init != null && init.headers !== undefined) return new Headers(init.headers);
    if (input instanceof Request) return new Headers(input.headers);
    return new Headers();
  } catch (_) {
    return undefined;
  }
}

/**
 * A new RequestInit that behaves exactly like `init` (it inherits every member from it, so
 * nothing is read or copied) but has its own `headers`. A non-empty init resets a Request's
 * referrer and referrer policy, so for a Request input they are carried over unless `init` sets
 * them. `undefined` when `init` is a platform object whose members cannot be inherited (a
 * Request passed as init).
 */
export function derivedInit(input, init, headers) {
  if (init instanceof Request) return undefined;
  const out = init == null ? {} : Object.create(init);
  own(out, "headers", headers);
  if (input instanceof Request) {
    if (out.referrer === undefined) own(out, "referrer", input.referrer);
    if (out.referrerPolicy === undefined) own(out, "referrerPolicy", input.referrerPolicy);
  }
  return out;
}

function own(object, name, value) {
  Object.defineProperty(object, name, { value, writable: true, enumerable: true, configurable: true });
}

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
