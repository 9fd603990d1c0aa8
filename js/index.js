// ESM entry: `import { init } from "threadline"`. The wasm file and the dialog chunk sit beside
// this module, where bundlers put them when they see `new URL("…", import.meta.url)`.
import { init, setDialogLoader, setWasmLocator } from "./loader.js";
import { besideModule } from "./locate.js";

setWasmLocator(besideModule(() => new URL("./threadline_bg.wasm", import.meta.url), "threadline_bg.wasm"));
setDialogLoader(() => import("./dialog.js"));

export { init };
