// What both script-tag builds do: the wasm file, and the dialog's script
// (`threadline-dialog.js`, defining `window.ThreadlineDialog`) when first needed, are fetched
// from beside the script.
import { setDialogLoader, setWasmLocator } from "./loader.js";

const script = typeof document !== "undefined" ? document.currentScript : null;
const base = () => (script && script.src) || document.baseURI;

/** Loads `wasmName` and the dialog from beside the script. */
export function besideScript(wasmName) {
  setWasmLocator(() => [new URL(wasmName, base())]);
  setDialogLoader(
    () =>
      new Promise((resolve, reject) => {
        if (window.ThreadlineDialog) return resolve(window.ThreadlineDialog);
        const tag = document.createElement("script");
        tag.src = new URL("threadline-dialog.js", base()).href;
        tag.onload = () => (window.ThreadlineDialog ? resolve(window.ThreadlineDialog) : reject(new Error("Threadline: dialog script did not load")));
        tag.onerror = () => reject(new Error(`Threadline could not load ${tag.src}`));
        document.head.append(tag);
      }),
  );
}
