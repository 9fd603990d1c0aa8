// Script-tag entry: `<script src=".../threadline.js">` defines `window.Threadline`. The wasm file
// is fetched from beside the script.
import { init, setWasmUrl } from "./loader.js";

const script = typeof document !== "undefined" ? document.currentScript : null;
setWasmUrl(new URL("threadline_bg.wasm", (script && script.src) || location.href));

export { init };
