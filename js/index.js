// ESM entry: `import { init } from "threadline"`. The wasm file and the dialog chunk sit beside
// this module, where bundlers put them when they see `new URL("…", import.meta.url)`.
import { init, setDialogLoader, setWasmLocator } from "./loader.js";

/** The script this module was bundled into, when that is a classic script (an IIFE bundle). */
const script = typeof document !== "undefined" ? document.currentScript : null;

setWasmLocator(() => {
  let url;
  try {
    url = new URL("./threadline_bg.wasm", import.meta.url);
  } catch {
    // A bundle format without `import.meta` (esbuild's IIFE): beside the bundle's script.
    url = new URL("threadline_bg.wasm", (script && script.src) || document.baseURI);
  }
  // A dev server's pre-bundled copy (Vite's `node_modules/.vite/deps/`) has no wasm beside it;
  // the package's own file is served from `node_modules/threadline/dist/`.
  const deps = /^(.*\/node_modules\/)\.vite\/deps[^/]*\//.exec(url.pathname);
  return [url, deps ? new URL(`${deps[1]}threadline/dist/threadline_bg.wasm`, url) : undefined];
});
setDialogLoader(() => import("./dialog.js"));

export { init };
