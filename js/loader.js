// Loads the WebAssembly module once and creates the page's recorder. Shared by the ESM entry
// (`index.js`) and the script-tag entry (`script.js`), which differ only in where the wasm is.

import load, { createRecorder, Recorder } from "../build/pkg/threadline.js";
import { defineDebugIdElement, showErrorDialog } from "./dialog.js";

let wasmUrl;
let loading;
let latest = null;

/** Sets where `threadline_bg.wasm` is fetched from. */
export function setWasmUrl(url) {
  wasmUrl = url;
}

/** Opens the error dialog with the debug ID (see index.d.ts); returns a function that closes it. */
Recorder.prototype.showErrorDialog = function (options) {
  return showErrorDialog(this, options);
};

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
  defineDebugIdElement(() => latest);
  return latest;
}
