// Small readers of JavaScript values for reading options and describing them in errors.

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
