// How the recorder's code reaches the page: the wasm is fetched and compiled while the page
// loads, before `init`; a file that cannot be fetched fails `init` clearly and can be retried.
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

test("a wasm file that cannot be fetched rejects init with its URL, quietly, and init can try again", async () => {
  const context = await live.browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.route(WASM, (route) => route.fulfill({ status: 404, body: "not found" }));
  await page.goto(`${live.server.origin("app.shop.test")}/script.html`);
  const first = await page.evaluate(() => Threadline.init({}).then(() => "resolved", (e) => e.message));
  assert.match(first, /^Threadline could not load http:\/\/app\.shop\.test:\d+\/dist\/threadline_bg\.wasm: HTTP 404$/);
  await page.unroute(WASM);
  const second = await page.evaluate(() => Threadline.init({}).then((tl) => tl.sessionId()));
  assert.match(second, ID);
  assert.deepEqual(errors, [], "no unhandled rejection from the early fetch");
  await context.close();
});

test("a server that does not say application/wasm still gets a working recorder", async () => {
  const { page, context, errors } = await openPage(live.browser, "about:blank");
  const bytes = await readFile(new URL("../../dist/threadline_bg.wasm", import.meta.url));
  await page.route(WASM, (route) => route.fulfill({ status: 200, contentType: "application/octet-stream", body: bytes }));
  await page.goto(`${live.server.origin("app.shop.test")}/script.html`);
  const id = await page.evaluate(() => Threadline.init({}).then((tl) => tl.sessionId()));
  assert.match(id, ID);
  assert.deepEqual(errors, []);
  await context.close();
});
