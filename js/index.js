// ESM entry: `import { init } from "threadline"`. The wasm file sits beside this module.
import { init, setWasmUrl } from "./loader.js";

setWasmUrl(new URL("./threadline_bg.wasm", import.meta.url));

export { init };
