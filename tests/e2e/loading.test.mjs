// How the recorder's code reaches the page: the wasm is fetched and compiled while the page
// loads, before `init`, or taken from init's `wasm` option; a file that cannot be fetched or
// compiled fails `init` once, with a message naming the fix, and can be retried.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { ID, loopbackAndBrowser, openPage } from "./harness.mjs";

const live = loopbackAndBrowser();
const WASM = "**/dist/threadline_bg.wasm";

/** Calls `init` with the API origin allowed, fetches from it, and returns the echoed header. */
function initAndFetch(page) {
  return page.evaluate(async (api) => {
    await Threadline.init({ propagateTo: [api] });
    const response = await fetch(`${api}/api/loaded`);
    return response.headers.get("X-Correlation-ID");
  }, live.server.origin("api.shop.test"));
}

test("the script tag starts fetching the wasm as it runs, before init is called", async () => {
  const context = await live.browser.newContext();
  const page = await context.newPage();
  const wasm = page.waitForResponse((r) => r.url().endsWith("/dist/threadline_bg.wasm"));
  await page.goto(`${live.server.origin("app.shop.test")}/script.html`);
  assert.equal((await wasm).status(), 200);
  assert.equal(await page.evaluate(() => typeof window.Threadline.init), "function");
  assert.match(await initAndFetch(page), ID);
  await context.close();
});

test("the README's preload line is used: the wasm is downloaded once, with no unused-preload warning", async () => {
  const context = await live.browser.newContext();
  const page = await context.newPage();
  const fetched = [];
  const warnings = [];
  page.on("request", (r) => fetched.push(new URL(r.url()).pathname));
  page.on("console", (m) => warnings.push(m.text()));
  await page.goto(`${live.server.origin("app.shop.test")}/script-preload.html`);
  assert.match(await initAndFetch(page), ID);
  // Chromium reports a preload that no fetch took up after about three seconds.
  await page.waitForTimeout(3500);
  assert.deepEqual(fetched.filter((p) => p === "/dist/threadline_bg.wasm"), ["/dist/threadline_bg.wasm"]);
  assert.deepEqual(warnings.filter((w) => /preload/i.test(w)), []);
  await context.close();
});

/**
 * Answers the page's requests for dist/ from disk: a document the test fulfils itself counts as
 * public, and Chromium then refuses its subresources from loopback (private network access).
 */
async function serveDistFromDisk(page) {
  const types = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm" };
  await page.route("**/dist/*", async (route) => {
    const name = new URL(route.request().url()).pathname.split("/").pop();
    const body = await readFile(new URL(`../../dist/${name}`, import.meta.url));
    await route.fulfill({ body, contentType: types[name.slice(name.lastIndexOf("."))] });
  });
}

/** Opens script.html with `route` answering the wasm, counting how often the page asked for it. */
async function openScriptPage(route, headers = {}) {
  const opened = await openPage(live.browser, "about:blank");
  const downloads = [];
  opened.page.on("request", (r) => r.url().endsWith("/threadline_bg.wasm") && downloads.push(r.url()));
  if (Object.keys(headers).length) {
    await serveDistFromDisk(opened.page);
    const body = await readFile(new URL("pages/script.html", import.meta.url), "utf8");
    await opened.page.route("**/script.html", (r) => r.fulfill({ body, headers: { "content-type": "text/html", ...headers } }));
  }
  if (route) await opened.page.route(WASM, route);
  await opened.page.goto(`${live.server.origin("app.shop.test")}/script.html`);
  return { ...opened, downloads };
}

const initMessage = (page, options = {}) => page.evaluate((o) => Threadline.init(o).then(() => "resolved", (e) => e.message), options);
const wasmBytes = () => readFile(new URL("../../dist/threadline_bg.wasm", import.meta.url));

test("a wasm file that cannot be fetched rejects init once with its URL, status and fix, quietly, and init can try again", async () => {
  const { page, context, errors, downloads } = await openScriptPage((route) => route.fulfill({ status: 404, body: "not found" }));
  const first = await initMessage(page);
  assert.match(first, /^Threadline could not load http:\/\/app\.shop\.test:\d+\/dist\/threadline_bg\.wasm: HTTP 404; serve threadline_bg\.wasm there, or pass its location as init's `wasm` option$/);
  assert.equal(downloads.length, 1, "one failed init downloads once");
  await page.unroute(WASM);
  const second = await page.evaluate(() => Threadline.init({}).then((tl) => tl.sessionId()));
  assert.match(second, ID);
  assert.equal(downloads.length, 2);
  assert.deepEqual(errors, [], "no unhandled rejection from the early fetch");
  await context.close();
});

test("a server that does not say application/wasm still gets a working recorder, from one download", async () => {
  const bytes = await wasmBytes();
  const { page, context, errors, downloads } = await openScriptPage((route) => route.fulfill({ status: 200, contentType: "application/octet-stream", body: bytes }));
  assert.match(await page.evaluate(() => Threadline.init({}).then((tl) => tl.sessionId())), ID);
  assert.equal(downloads.length, 1);
  assert.deepEqual(errors, []);
  await context.close();
});

test("an HTML page where the wasm should be fails init naming what came back, from one download", async () => {
  const { page, context, downloads } = await openScriptPage((route) => route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>app</title>" }));
  assert.match(await initMessage(page), /threadline_bg\.wasm: the answer \(text\/html\) is not WebAssembly; serve threadline_bg\.wasm there/);
  assert.equal(downloads.length, 1);
  await context.close();
});

test("under a CSP without 'wasm-unsafe-eval' init names 'wasm-unsafe-eval', not 'unsafe-eval', after one download", async () => {
  const { page, context, downloads } = await openScriptPage(null, { "content-security-policy": "script-src 'self'" });
  const message = await initMessage(page);
  assert.match(message, /Content-Security-Policy does not allow WebAssembly; add 'wasm-unsafe-eval' to its script-src$/);
  assert.doesNotMatch(message, /[^-]'unsafe-eval'/);
  assert.equal(downloads.length, 1);
  await context.close();
});

test("with 'wasm-unsafe-eval' in the CSP the recorder loads", async () => {
  const { page, context, errors } = await openScriptPage(null, { "content-security-policy": "script-src 'self' 'wasm-unsafe-eval'" });
  assert.match(await page.evaluate(() => Threadline.init({}).then((tl) => tl.sessionId())), ID);
  assert.deepEqual(errors, []);
  await context.close();
});

test("the wasm option takes a URL, a Response, an ArrayBuffer, a typed array or a compiled module", async () => {
  const bytes = await wasmBytes();
  const forms = {
    url: "() => '/hosted/elsewhere.wasm'",
    URL: "() => new URL('/hosted/elsewhere.wasm', location.href)",
    Response: "() => fetch('/hosted/elsewhere.wasm')",
    ArrayBuffer: "() => fetch('/hosted/elsewhere.wasm').then((r) => r.arrayBuffer())",
    Uint8Array: "() => fetch('/hosted/elsewhere.wasm').then((r) => r.arrayBuffer()).then((b) => new Uint8Array(b))",
    Module: "() => WebAssembly.compileStreaming(fetch('/hosted/elsewhere.wasm'))",
  };
  for (const [form, make] of Object.entries(forms)) {
    const { page, context, errors } = await openScriptPage((route) => route.fulfill({ status: 404, body: "not here" }));
    await page.route("**/hosted/elsewhere.wasm", (route) => route.fulfill({ status: 200, contentType: "application/wasm", body: bytes }));
    const api = live.server.origin("api.shop.test");
    const id = await page.evaluate(async ([source, api, path]) => {
      const wasm = await (0, eval)(source)();
      await Threadline.init({ wasm, propagateTo: [api] });
      return (await fetch(`${api}${path}`)).headers.get("X-Correlation-ID");
    }, [make, api, `/api/wasm-option/${form}`]);
    assert.match(id, ID, form);
    assert.match(live.server.received(`/api/wasm-option/${form}`)[0].headers["x-correlation-id"], ID, form);
    assert.deepEqual(errors, [], form);
    await context.close();
  }
});

test("the wasm option is the loader's: other options are still checked, a bad wasm value is named", async () => {
  const { page, context } = await openScriptPage();
  assert.match(await initMessage(page, { wasm: 42 }), /^Threadline init: wasm: expected a URL, a Response, an ArrayBuffer or typed array, or a WebAssembly\.Module, got number$/);
  assert.match(await initMessage(page, { wasm: "/dist/threadline_bg.wasm", propagatTo: [] }), /^Threadline init: propagatTo: unknown option \(did you mean "propagateTo"\?\)$/);
  assert.match(await page.evaluate(() => Threadline.init("wasm").then(() => "resolved", (e) => e.message)), /^Threadline init: /);
  await context.close();
});

test("an ESM page that passes wasm as it loads never fetches the file beside the module", async () => {
  const bytes = await wasmBytes();
  const { page, context, errors } = await openPage(live.browser, "about:blank");
  const downloads = [];
  page.on("request", (r) => r.url().endsWith(".wasm") && downloads.push(new URL(r.url()).pathname));
  await serveDistFromDisk(page);
  await page.route("**/hosted/elsewhere.wasm", (route) => route.fulfill({ status: 200, contentType: "application/wasm", body: bytes }));
  await page.route("**/hosted.html", (route) => route.fulfill({
    contentType: "text/html",
    body: `<script type="module">import { init } from "/dist/threadline.mjs";
      window.started = init({ wasm: "/hosted/elsewhere.wasm" }).then((tl) => tl.sessionId());</script>`,
  }));
  await page.goto(`${live.server.origin("app.shop.test")}/hosted.html`);
  assert.match(await page.evaluate(() => window.started), ID);
  assert.deepEqual(downloads, ["/hosted/elsewhere.wasm"]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("outside a browser importing does nothing, and init rejects saying it needs a browser", async () => {
  const fetched = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = (...args) => {
    fetched.push(args);
    return realFetch(...args);
  };
  try {
    const { init } = await import("../../dist/threadline.mjs");
    await new Promise((resolve) => setTimeout(resolve, 50));
    await assert.rejects(init({}), /^Error: Threadline needs a browser page: init was called where there is no window or document/);
    assert.deepEqual(fetched, []);
  } finally {
    globalThis.fetch = realFetch;
  }
});
