// ESM entry: `import { init } from "threadline"`. The wasm file and the dialog chunk sit beside
// this module.
import { init, setDialogLoader, setWasmUrl } from "./loader.js";

setWasmUrl(new URL("./threadline_bg.wasm", import.meta.url));
setDialogLoader(() => import("./dialog.js"));

export { init };
