// Propagation-only script-tag entry: `<script src=".../threadline-propagate.js">` defines
// `window.Threadline` without the event pipeline (see propagate.js); its wasm,
// `threadline-propagate_bg.wasm`, and the dialog's script are fetched from beside it.
import { init } from "./loader.js";
import { besideScript } from "./script-entry.js";

besideScript("threadline-propagate_bg.wasm");

export { init };
