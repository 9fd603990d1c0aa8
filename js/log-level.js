// How a `log` call crosses into the propagation-only recorder, which records no events (it
// stands in for log-entry.js there, see scripts/build.mjs): only a value that is not a level
// crosses, for the core's warning about it.

import { LEVEL } from "./protocol.js";

/** `logEntry` of log-entry.js when no level is recorded: "" for a level, `0.` for anything else. */
export function logEntry(level) {
  return typeof level === "string" && LEVEL[level] ? "" : "0.";
}
