// Types of the script-tag build (`dist/threadline.js`), which defines the global `Threadline`:
// `/// <reference types="threadline/script" />` makes `Threadline` and `window.Threadline` typed.
import type { init } from "./index.js";

declare global {
  /** Defined by `<script src=".../threadline.js">`: the same `init` as the ESM entry's. */
  var Threadline: { init: typeof init };
}
