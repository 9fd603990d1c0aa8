// How a `log` call crosses into the recorder: its level's code and, when that level is recorded,
// the time, the page's path, the attributes walked and the message. The propagation-only build
// records no events and uses log-level.js in its place (scripts/build.mjs), so that the walker
// is not in its download.

import { describe, flatten, pagePath } from "./page.js";
import { LEVEL } from "./protocol.js";

/**
 * A `log(level, message, attributes)` call as it crosses into the recorder (`LogEntry` in
 * src/protocol.rs), entries written one after the other: the level's `LEVEL` code (0: not a
 * level, recorded as info), then `.` when that level is below `lowest`, or else the time
 * (`Date.now()`), `\0`, the page's path, `\0`, the attributes flattened (see `flatten`),
 * `\u0001`, the message's length in UTF-16 units, `\0` and the message as text. A level below
 * `lowest` is "" (nothing to record), unless it is not a level, for the core's warning.
 */
export function logEntry(level, message, attributes, lowest) {
  const code = (typeof level === "string" && LEVEL[level]) || 0;
  if ((code || LEVEL.info) < lowest) return code ? "" : "0.";
  const text = typeof message === "string" ? message : describe(message);
  const flat = attributes == null ? "" : flatten(attributes);
  return `${code}${Date.now()}\0${pagePath()}\0${flat}\u0001${text.length}\0${text}`;
}
