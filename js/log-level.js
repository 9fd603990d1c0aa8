// How `log` calls cross into the propagation-only recorder, which records no events (it stands
// in for log-entry.js there, see scripts/build.mjs): nothing is queued, and only a value that is
// not a level crosses, for the core's warning about it.

import { LOG, levelCode } from "./protocol.js";

/** `log` and `recordUi` of the recorder when no event is recorded (see log-entry.js). */
export const logMethods = {
  log(level) {
    if (!levelCode(level)) this._call(LOG, "0.");
  },
  recordUi() {},
};
