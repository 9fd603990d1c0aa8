// The public `Action` (index.d.ts): an action's ID and name, `fetch` with its ID, and `end`. A
// plain object of the glue: its calls go through the recorder's hooks (which hold the recorder
// weakly), so it costs no wasm export and no class of wasm-bindgen's.
import { actionFetch } from "./patch.js";
import { HAPPENING, report } from "./protocol.js";

/** The hooks each action reports to, out of sight of the app. */
const hooksOf = new WeakMap();

class Action {
  constructor(id, name, hooks) {
    Object.defineProperties(this, { id: { value: id, enumerable: true }, name: { value: name, enumerable: true } });
    hooksOf.set(this, hooks);
  }

  /** `fetch` with this action's ID, even after another action started (see index.d.ts). */
  fetch(input, init) {
    return actionFetch(input, init, hooksOf.get(this), this.id);
  }

  /** Ends the action (`"ok"`, `"error"` or `"cancelled"`; default `"ok"`); ending twice is harmless. */
  end(outcome) {
    report(hooksOf.get(this), HAPPENING.actionEnd, 0, 0, 0, this.id, undefined, outcome);
  }
}

/** The object for the action with ID `id` and name `name`, reporting to `hooks`. */
export function newAction(id, name, hooks) {
  return new Action(id, name, hooks);
}
