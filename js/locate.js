// Where an ESM entry finds its wasm file: beside the module, where bundlers put it when they see
// `new URL("…", import.meta.url)` (which each entry writes out itself, so that they do).

/**
 * A dev server's pre-bundled copy of the package. Every `/` escaped, even in the class: Vite 5's
 * tokenizer ends a regular expression at a bare one there, and then misses the entry's
 * `new URL(…, import.meta.url)`.
 */
const VITE_DEPS = /^(.*\/node_modules\/)\.vite\/deps[^\/]*\//;

/** The script the bundle was loaded by, when that is a classic script (an IIFE bundle). */
const script = typeof document !== "undefined" ? document.currentScript : null;

/**
 * A locator for `setWasmLocator`: `beside()` is the entry's `new URL("./<name>",
 * import.meta.url)`. Without `import.meta` (esbuild's IIFE) the file is beside the bundle's
 * script; in a dev server's pre-bundled copy (Vite's `node_modules/.vite/deps/`), which has no
 * wasm beside it, the package's own file is the second choice.
 */
export function besideModule(beside, name) {
  return () => {
    let url;
    try {
      url = beside();
    } catch {
      url = new URL(name, (script && script.src) || document.baseURI);
    }
    const deps = VITE_DEPS.exec(url.pathname);
    return [url, deps ? new URL(`${deps[1]}threadline/dist/${name}`, url) : undefined];
  };
}
