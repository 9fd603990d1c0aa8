// Loads the WebAssembly module once and creates the page's recorder. Shared by the ESM entry
// (`index.js`) and the script-tag entry (`script.js`), which differ only in where the wasm is and
// how the error dialog's code is fetched when first needed.

import load, { createRecorder, Recorder } from "../build/pkg/threadline.js";

let wasmUrl;
let loading;
let latest = null;
let loadDialog = () => Promise.reject(new Error("Threadline: no dialog loader"));

/** Sets where `threadline_bg.wasm` is fetched from. */
export function setWasmUrl(url) {
  wasmUrl = url;
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
  loading ??= load({ module_or_path: wasmUrl }).catch((error) => {
    loading = undefined;
    throw new Error(`Threadline could not load ${wasmUrl}: ${error && error.message}`);
  });
  await loading;
  latest = createRecorder(options);
  defineDebugIdElement();
  return latest;
}
