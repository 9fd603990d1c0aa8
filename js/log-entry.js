// How `log` calls cross into the recorder: each is written as an entry (its level's code and,
// when that level is recorded, the time, the page's path, the attributes walked and the
// message) and queued, and the calls of one task cross together. The propagation-only build
// records no events and uses log-level.js in its place (scripts/build.mjs), so that neither the
// walker nor the queue is in its download.

import { describe, flatten, pagePath } from "./page.js";
import { LEVEL, LOG, RECORD_UI, levelCode, queueLogsWith } from "./protocol.js";

/**
 * A `log(level, message, attributes)` call as it crosses into the recorder (`LogEntry` in
 * src/protocol.rs), entries written one after the other: the level's `LEVEL` code (0: not a
 * level, recorded as info), then `.` when that level is below `lowest`, or else the time
 * (`Date.now()`), `\0`, the page's path, `\0`, the attributes flattened (see `flatten`),
 * `\u0001`, the message's length in UTF-16 units, `\0` and the message as text. A level below
 * `lowest` is "" (nothing to record), unless it is not a level, for the core's warning.
 */
function logEntry(level, message, attributes, lowest) {
  const code = levelCode(level);
  if ((code || LEVEL.info) < lowest) return code ? "" : "0.";
  const text = typeof message === "string" ? message : describe(message);
  const flat = attributes == null ? "" : flatten(attributes);
  return `${code}${Date.now()}\0${pagePath()}\0${flat}\u0001${text.length}\0${text}`;
}

/**
 * `log` calls not yet handed to the recorder (`queued`, for recorder `queuedFor`), as
 * `logEntry` writes them: they cross together once the task's script has run, before anything
 * else reaches the recorder (every method and every happening crosses them first, so the core
 * sees calls in the order they were made), or once they reach `LOG_CROSSING` UTF-16 units,
 * which bounds what waits here.
 */
let queued = "";
let queuedFor = null;
/** The lowest level `queuedFor` records, as its last crossing answered (0: not known yet). */
let lowest = 0;
/** How many crossings in a row found the recorder busy. */
let busy = 0;
const LOG_CROSSING = 65536;

/** Hands the queued `log` calls to their recorder. A busy recorder (a call from inside it) takes none: they wait for the next crossing. */
function crossLogs() {
  const text = queued;
  if (!text) return;
  queued = "";
  let answer = 0;
  try {
    answer = queuedFor._call(LOG, text);
  } catch (_) {
    // The recorder is gone: so are its calls.
    return;
  }
  if (answer) {
    lowest = answer;
    busy = 0;
  } else if (text.length < 2 * LOG_CROSSING) {
    queued = text + queued;
    // Tried again once the call stack is the page's; a recorder that stays busy (it failed
    // inside) is not asked again until the next crossing.
    if (!busy++) setTimeout(crossLogs);
  }
}

queueLogsWith(crossLogs);

/** `log` and `recordUi` of the recorder (see `defineMethods` in protocol.js). */
export const logMethods = {
  log(level, message, attributes) {
    if (queuedFor !== this) {
      crossLogs();
      queued = "";
      queuedFor = this;
      lowest = 0;
    }
    const text = logEntry(level, message, attributes, lowest);
    if (!text) return;
    if (!queued) queueMicrotask(crossLogs);
    queued += text;
    if (queued.length >= LOG_CROSSING) crossLogs();
  },
  recordUi(name, message, attributes, id) {
    crossLogs();
    this._call(RECORD_UI, name, logEntry("info", message, attributes, 0), id);
  },
};
