// Loads the WebAssembly module once and creates the page's recorder. Shared by the ESM entry
// (`index.js`) and the script-tag entry (`script.js`), which differ only in where the wasm is and
// how the error dialog's code is fetched when first needed.

import load, { createRecorder, Recorder } from "../build/pkg/threadline.js";

let wasmUrl;
/** The compiled module, once `setWasmUrl` or `init` started fetching it. */
let compiling;
let loading;
let latest = null;
let loadDialog = () => Promise.reject(new Error("Threadline: no dialog loader"));

/**
 * Sets where `threadline_bg.wasm` is fetched from. In a page, fetching and compiling it start at
 * once, while the page's own scripts load, so that `init` only has to instantiate it.
 */
export function setWasmUrl(url) {
  wasmUrl = url;
  if (typeof document !== "undefined") compiling = compile(url);
}

/**
 * Fetches and compiles the wasm, streaming (compiled as its bytes arrive). When that fails, e.g.
 * because the server does not say `application/wasm`, a second, buffered try follows.
 */
function compile(url) {
  const buffered = () =>
    fetch(url).then((response) => {
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return response.arrayBuffer().then((bytes) => WebAssembly.compile(bytes));
    });
  const module = WebAssembly.compileStreaming(fetch(url)).catch(buffered);
  // A failure is reported by `init`, not as an unhandled rejection while the page loads.
  module.catch(() => {});
  return module;
}

/** Sets how the dialog module (`dialog.js`) is loaded: a dynamic import, or a script beside this one. */
export function setDialogLoader(loader) {
  let cached;
  loadDialog = () => (cached ??= loader().catch((error) => {
    cached = undefined;
    throw error;
  }));
}

/**
 * Opens the error dialog with the debug ID (see index.d.ts). Its code is fetched on first use;
 * resolves to a function that closes the dialog.
 */
Recorder.prototype.showErrorDialog = function (options) {
  return loadDialog().then((dialog) => dialog.showErrorDialog(this, options));
};

function defineDebugIdElement() {
  if (typeof customElements === "undefined" || customElements.get("threadline-debug-id")) return;
  customElements.define(
    "threadline-debug-id",
    class extends HTMLElement {
      connectedCallback() {
        this.render();
      }
      /** Shows the debug ID as it is now (or the `debug-id` attribute). */
      render() {
        return loadDialog().then((dialog) => dialog.renderDebugId(this, latest));
      }
    },
  );
}

/**
 * Starts Threadline: validates `options`, patches fetch and XMLHttpRequest, and resolves to the
 * page's recorder. Calling it again resolves to the same recorder. Rejects with an Error naming
 * the bad option when options are invalid.
 * @param {import("./index").Options} [options]
 * @returns {Promise<import("./index").Recorder>}
 */
export async function init(options) {
  loading ??= (compiling ??= compile(wasmUrl)).then((module) => load({ module_or_path: module })).catch((error) => {
    // The next `init` tries again from the start.
    compiling = loading = undefined;
    throw new Error(`Threadline could not load ${wasmUrl}: ${error && error.message}`);
  });
  await loading;
  latest = createRecorder(options);
  defineDebugIdElement();
  return latest;
}
