// Script-tag entry: `<script src=".../threadline.js">` defines `window.Threadline`. The wasm file,
// and the dialog's script when first needed, are fetched from beside the script.
import { init } from "./loader.js";
import { besideScript } from "./script-entry.js";

besideScript("threadline_bg.wasm");

export { init };
