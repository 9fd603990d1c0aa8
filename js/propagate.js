// Propagation-only ESM entry: `import { init } from "threadline/propagate"`. IDs, sessions,
// actions, retries, origin matching, headers, `debugId` and the dialog, without the event
// pipeline (its wasm is built without the `events` feature), for apps that ship their events
// elsewhere. The build points `loader.js` at that wasm's glue.
import { init, setDialogLoader, setWasmLocator } from "./loader.js";
import { besideModule } from "./locate.js";

setWasmLocator(besideModule(() => new URL("./threadline-propagate_bg.wasm", import.meta.url), "threadline-propagate_bg.wasm"));
setDialogLoader(() => import("./dialog.js"));

export { init };
