// Loads the WebAssembly module once and creates the page's recorder. Shared by the ESM entry
// (`index.js`) and the script-tag entry (`script.js`), which differ only in where the wasm is and
// how the error dialog's code is fetched when first needed. Importing it touches nothing outside
// this module: the wasm is fetched only in a browser page.

import load, { createRecorder, Recorder } from "../build/pkg/threadline.js";
import { logMethods } from "./log-entry.js";
import { REGISTRY } from "./page.js";
import { holdRequests, releaseRequests } from "./patch.js";
import { DEFAULT_HEADER, HAPPENING, STARTUP_DEADLINE_MS, defineMethods, report } from "./protocol.js";
import { compileWasm } from "./wasm.js";

/**
 * Where the entry says the wasm is, as `[url, retryUrl?]`: a function, called only in a page, so
 * that a bundler's odd `import.meta` cannot throw at load.
 */
let defaultWasm = () => [];
/** The compiled module of the default wasm, once it started compiling. */
let compiling;
let loading;
let latest = null;
let loadDialog = () => Promise.reject(new Error("Threadline: no dialog loader"));

const inBrowser = () => typeof window !== "undefined" && typeof document !== "undefined";

/**
 * Sets where `threadline_bg.wasm` is fetched from (`locate` returns its URL and, optionally, a
 * second URL to try when the first does not answer wasm). In a page, fetching and compiling
 * start once the importing scripts have run, unless `init` was called with a `wasm` option by
 * then, so that `init` only has to instantiate it.
 */
export function setWasmLocator(locate) {
  defaultWasm = locate;
  if (!inBrowser()) return;
  queueMicrotask(() => {
    if (!loading) startDefault();
  });
}

function startDefault() {
  if (!compiling) {
    compiling = (async () => compileWasm(...defaultWasm()))();
    // A failure is reported by `init`, not as an unhandled rejection while the page loads.
    compiling.catch(() => {});
  }
  return compiling;
}

/** Sets how the dialog module (`dialog.js`) is loaded: a dynamic import, or a script beside this one. */
export function setDialogLoader(loader) {
  let cached;
  loadDialog = () => (cached ??= loader().catch((error) => {
    cached = undefined;
    throw error;
  }));
}

defineMethods(Recorder.prototype, logMethods);

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
 * Splits the loader's own `wasm` option from those the recorder reads (which refuses unknown
 * names). Anything but a plain object is passed on as it is, for the recorder to refuse.
 */
function splitOptions(options) {
  if (options === null || typeof options !== "object" || !("wasm" in options)) return [undefined, options];
  const { wasm, ...rest } = options;
  return [wasm, rest];
}

/**
 * Starts Threadline: patches fetch and XMLHttpRequest at once (requests started before the
 * recorder is ready wait for it, see `holdRequests`), validates `options`, and resolves to the
 * page's recorder. Calling it again resolves to the same recorder. Rejects with an Error naming
 * the bad option when options are invalid, and with one saying so outside a browser page.
 * @param {import("./index").Options} [options]
 * @returns {Promise<import("./index").Recorder>}
 */
export async function init(options) {
  if (!inBrowser()) {
    throw new Error("Threadline needs a browser page: init was called where there is no window or document (server-side rendering, a worker or Node); call it from code that runs in the page");
  }
  const [wasm, recorderOptions] = splitOptions(options);
  const header = recorderOptions && typeof recorderOptions.header === "string" ? recorderOptions.header : DEFAULT_HEADER;
  const gated = !globalThis[REGISTRY] && holdRequests(window, header, STARTUP_DEADLINE_MS);
  loading ??= (wasm === undefined ? startDefault() : compileWasm(wasm))
    .then((module) => load({ module_or_path: module }))
    .catch((error) => {
      // The next `init` tries again from the start.
      compiling = loading = undefined;
      throw error;
    });
  // Released as soon as the recorder's patches are in place, before it claims stored events
  // and adds its listeners, which the waiting requests do not need.
  let released;
  try {
    await loading;
    latest = createRecorder(recorderOptions, () => {
      if (gated) released = releaseRequests(false);
    });
  } catch (error) {
    if (gated) reportStartup(released || releaseRequests(true));
    throw error;
  }
  if (gated) reportStartup(released || releaseRequests(false));
  defineDebugIdElement();
  return latest;
}

/** Tells the recorder (and, for requests that went out untagged, the console) how startup went. */
function reportStartup([held, untagged, waited, hooks]) {
  if (untagged) console.warn(`Threadline: ${untagged} request(s) started before the recorder was ready went out without the correlation header (it was not ready within ${STARTUP_DEADLINE_MS} ms, or did not start)`);
  if (hooks && (held || untagged)) report(hooks, HAPPENING.startup, held, untagged, waited);
}
