// Turns what the page says the wasm is — a URL, a Response, bytes or a compiled module — into a
// `WebAssembly.Module`, downloading it at most once, with errors that name the fix.

const MAGIC = [0x00, 0x61, 0x73, 0x6d]; // "\0asm"
const FIX = "serve threadline_bg.wasm there, or pass its location as init's `wasm` option";

/**
 * Compiles `source` (see the `wasm` option in index.d.ts). `retry` is a second URL tried once when
 * the first answers something other than wasm, e.g. a dev server's HTML fallback page.
 * @param {unknown} source
 * @param {URL} [retry]
 * @returns {Promise<WebAssembly.Module>}
 */
export async function compileWasm(source, retry) {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return compileBytes(source, "the `wasm` option's bytes");
  if (typeof source === "string" || source instanceof URL) {
    const url = resolve(source);
    return compileResponse(await download(url), url.href, retry);
  }
  if (source instanceof Response) return compileResponse(source, source.url || "the `wasm` option's Response");
  if (source !== null && typeof source === "object" && typeof source.then === "function") return compileWasm(await source);
  throw new Error(`Threadline init: wasm: expected a URL, a Response, an ArrayBuffer or typed array, or a WebAssembly.Module, got ${describe(source)}`);
}

function resolve(source) {
  try {
    return new URL(source, document.baseURI);
  } catch {
    throw new Error(`Threadline init: wasm: expected a URL, got ${JSON.stringify(String(source))}`);
  }
}

async function download(url) {
  try {
    return await fetch(url);
  } catch (error) {
    throw new Error(`Threadline could not load ${url.href}: ${error && error.message} (is it served, and does the page's connect-src allow it?)`);
  }
}

/** Streams the compile when the server says `application/wasm`; otherwise reads the bytes once. */
async function compileResponse(response, label, retry) {
  if (!response.ok) {
    if (retry) return compileWasm(retry);
    throw new Error(`Threadline could not load ${label}: HTTP ${response.status}; ${FIX}`);
  }
  const type = (response.headers.get("content-type") || "").split(";")[0].trim().toLowerCase();
  if (type === "application/wasm") {
    return WebAssembly.compileStreaming(response).catch((error) => {
      throw compileError(error, label);
    });
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (!MAGIC.every((byte, i) => bytes[i] === byte)) {
    if (retry) return compileWasm(retry);
    throw new Error(`Threadline could not load ${label}: the answer (${type || "no Content-Type"}) is not WebAssembly; ${FIX}`);
  }
  return compileBytes(bytes, label);
}

function compileBytes(bytes, label) {
  return WebAssembly.compile(bytes).catch((error) => {
    throw compileError(error, label);
  });
}

/** The browser's CSP message names `'unsafe-eval'`; the narrow source a page needs is `'wasm-unsafe-eval'`. */
function compileError(error, label) {
  const message = String(error && error.message);
  if (/unsafe-eval|Content Security Policy/i.test(message)) {
    return new Error(`Threadline could not compile ${label}: the page's Content-Security-Policy does not allow WebAssembly; add 'wasm-unsafe-eval' to its script-src`);
  }
  return new Error(`Threadline could not compile ${label}: ${message}`);
}

function describe(value) {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return (value.constructor && value.constructor.name) || "an object";
}
