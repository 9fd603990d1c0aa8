// From the moment `init` is called, requests carry the header: fetches and XHRs started while
// the wasm is still downloading wait for the recorder and are planned as soon as it is ready;
// past the startup deadline (3 s), or when the recorder cannot start, they go out untouched, are
// counted, and the console says so.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { ID, loopbackAndBrowser, openEsmPage } from "./harness.mjs";
import { createIngest, until } from "./ingest.mjs";

const live = loopbackAndBrowser();
let ingest;

afterEach(async () => {
  live.server.answerWasm();
  await ingest?.stop();
  ingest = undefined;
});

/**
 * Calls `init(options)` without waiting, at once fires two fetches (a string and a Request) and
 * an XHR to the API origin, then waits for all of them; returns how `init` ended and when.
 */
function initAndFireAtOnce(page, options, tag) {
  return page.evaluate(
    async ({ api, options, tag }) => {
      const started = performance.now();
      const ready = Threadline.init({ propagateTo: [api], ...options }).then(() => "resolved", (e) => e.message);
      const xhr = new Promise((resolve) => {
        const request = new XMLHttpRequest();
        request.open("POST", `${api}/api/${tag}/xhr`);
        request.setRequestHeader("Content-Type", "text/plain");
        request.onloadend = () => resolve(request.status);
        request.send("xhr body");
      });
      const statuses = await Promise.all([
        fetch(`${api}/api/${tag}/fetch`).then((r) => r.status),
        fetch(new Request(`${api}/api/${tag}/request`, { method: "PUT", body: "request body" })).then((r) => r.status),
        xhr,
      ]);
      return { init: await ready, statuses, ms: performance.now() - started };
    },
    { api: live.server.origin("api.shop.test"), options, tag },
  );
}

const received = (tag) => live.server.received(`/api/${tag}/`);

test("requests started right after init while the wasm is still downloading all carry the header", async () => {
  ingest = await createIngest();
  await ingest.start();
  live.server.answerWasm(1200);
  const { page, context, errors, warnings } = await openEsmPage(live);
  const result = await initAndFireAtOnce(page, { endpoint: ingest.url }, "early");
  assert.equal(result.init, "resolved");
  assert.deepEqual(result.statuses, [200, 200, 200]);
  const got = received("early");
  assert.deepEqual(got.map((r) => r.path).sort(), ["/api/early/fetch", "/api/early/request", "/api/early/xhr"]);
  for (const r of got) assert.match(r.headers["x-correlation-id"] || "", ID, r.path);
  assert.deepEqual(got.filter((r) => r.method !== "GET").map((r) => [r.method, r.body]).sort(), [["POST", "xhr body"], ["PUT", "request body"]]);
  assert.equal(got.find((r) => r.path.endsWith("/xhr")).headers["content-type"], "text/plain");
  await page.evaluate(() => Threadline.init().then((tl) => tl.flush()));
  await until(() => ingest.events("threadline.startup").length === 1, 10_000, "the startup event");
  const [startup] = ingest.events("threadline.startup");
  assert.equal(Number(startup.attrs["startup.held"]), 3);
  assert.equal(Number(startup.attrs["startup.untagged"]), 0);
  assert.ok(Number(startup.attrs["startup.wait_ms"]) > 0);
  assert.equal(ingest.events("http.request").length, 3);
  assert.deepEqual(warnings.filter((w) => /Threadline/.test(w)), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test("waiting requests go out before the recorder claims stored events and adds its listeners", async () => {
  ingest = await createIngest();
  await ingest.start();
  live.server.answerWasm(600);
  const { page, context, errors } = await openEsmPage(live);
  const order = await page.evaluate(
    async ({ api, endpoint }) => {
      const order = [];
      localStorage.setItem("unrelated", "1");
      const fetchBelow = window.fetch;
      window.fetch = function (input, init) {
        const url = String(input instanceof Request ? input.url : input);
        if (url.startsWith(api)) order.push(`fetch ${new Headers(init && init.headers).has("x-correlation-id") ? "tagged" : "untagged"}`);
        return fetchBelow.apply(this, arguments);
      };
      const listen = window.addEventListener;
      window.addEventListener = function (type) {
        order.push(`listener ${type}`);
        return listen.apply(this, arguments);
      };
      const key = Storage.prototype.key;
      Storage.prototype.key = function () {
        order.push("stored events claimed");
        return key.apply(this, arguments);
      };
      const ready = Threadline.init({ propagateTo: [api], endpoint });
      const response = fetch(`${api}/api/order/fetch`);
      await ready;
      await response;
      return [...new Set(order)];
    },
    { api: live.server.origin("api.shop.test"), endpoint: ingest.url },
  );
  assert.equal(order[0], "fetch tagged", order.join(", "));
  for (const later of ["stored events claimed", "listener storage", "listener pagehide"]) assert.ok(order.includes(later), `${later}: ${order.join(", ")}`);
  assert.deepEqual(errors, []);
  await context.close();
});

test("past the startup deadline, waiting requests go out untouched and are counted", async () => {
  ingest = await createIngest();
  await ingest.start();
  live.server.answerWasm(4500);
  const { page, context, errors, warnings } = await openEsmPage(live);
  const result = await initAndFireAtOnce(page, { endpoint: ingest.url }, "late");
  assert.equal(result.init, "resolved");
  assert.deepEqual(result.statuses, [200, 200, 200]);
  // Released at the 3 s deadline, before the wasm arrived.
  assert.ok(result.ms >= 4000, `init took ${result.ms} ms`);
  const got = received("late");
  assert.equal(got.length, 3);
  for (const r of got) assert.equal(r.headers["x-correlation-id"], undefined, r.path);
  assert.equal(got.find((r) => r.path.endsWith("/request")).body, "request body");
  // Started after the recorder is ready: tagged again.
  assert.equal(await page.evaluate(async (api) => (await fetch(`${api}/api/late/after`)).status, live.server.origin("api.shop.test")), 200);
  assert.match(received("late").find((r) => r.path.endsWith("/after")).headers["x-correlation-id"] || "", ID);
  assert.ok(warnings.some((w) => /3 request\(s\) started before the recorder was ready went out without the correlation header/.test(w)), warnings.join("\n"));
  await page.evaluate(() => Threadline.init().then((tl) => tl.flush()));
  await until(() => ingest.events("threadline.startup").length === 1, 10_000, "the startup event");
  const [startup] = ingest.events("threadline.startup");
  assert.equal(Number(startup.attrs["startup.untagged"]), 3);
  assert.equal(Number(startup.attrs["startup.held"]), 0);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a wasm file that fails to load releases the waiting requests untouched, and init rejects as before", async () => {
  live.server.answerWasm(300, 404);
  const { page, context, errors, warnings } = await openEsmPage(live);
  const result = await initAndFireAtOnce(page, {}, "failed");
  assert.match(result.init, /could not load .*threadline_bg\.wasm: HTTP 404/);
  assert.deepEqual(result.statuses, [200, 200, 200]);
  assert.ok(result.ms < 2500, `released after ${result.ms} ms`);
  const got = received("failed");
  assert.equal(got.length, 3);
  for (const r of got) assert.equal(r.headers["x-correlation-id"], undefined, r.path);
  assert.ok(warnings.some((w) => /3 request\(s\) started before the recorder was ready went out without/.test(w)));
  // Nothing is left patched: fetch is the page's own again.
  assert.equal(await page.evaluate(() => window.fetch.toString().includes("[native code]")), true);
  assert.deepEqual(errors, []);
  await context.close();
});

test("requests waiting while the options turn out invalid go out untouched; init rejects naming the option", async () => {
  live.server.answerWasm(600);
  const { page, context, errors } = await openEsmPage(live);
  const result = await initAndFireAtOnce(page, { propagatTo: [] }, "invalid");
  assert.match(result.init, /propagatTo: unknown option \(did you mean "propagateTo"\?\)/);
  const got = received("invalid");
  assert.equal(got.length, 3);
  for (const r of got) assert.equal(r.headers["x-correlation-id"], undefined, r.path);
  assert.equal(await page.evaluate(() => XMLHttpRequest.prototype.send.toString().includes("[native code]")), true);
  // A later init with good options starts the recorder, and it tags.
  const tagged = await page.evaluate(async (api) => {
    await Threadline.init({ propagateTo: [api] });
    return (await fetch(`${api}/api/invalid/after`)).headers.get("X-Correlation-ID");
  }, live.server.origin("api.shop.test"));
  assert.match(tagged, ID);
  assert.deepEqual(errors, []);
  await context.close();
});

test("an XHR aborted or reopened while waiting behaves as the app expects, and a second init shares the wait", async () => {
  live.server.answerWasm(800);
  const { page, context, errors } = await openEsmPage(live);
  const api = live.server.origin("api.shop.test");
  const result = await page.evaluate(async (api) => {
    const abortOne = (name) => {
      const events = [];
      const aborted = new XMLHttpRequest();
      aborted.open("GET", `${api}/api/waiting/${name}`);
      aborted.onabort = () => events.push(`abort ${aborted.readyState}`);
      aborted.onloadend = () => events.push(`loadend ${aborted.readyState}`);
      aborted.send();
      aborted.abort();
      events.push(`after ${aborted.readyState}`);
      return events;
    };
    const native = abortOne("native");
    const first = Threadline.init({ propagateTo: [api] });
    const second = Threadline.init({ propagateTo: [api] });
    const events = abortOne("aborted");
    const reused = new XMLHttpRequest();
    reused.open("GET", `${api}/api/waiting/dropped`);
    reused.send();
    reused.open("GET", `${api}/api/waiting/reused`);
    const done = new Promise((resolve) => (reused.onloadend = () => resolve(reused.status)));
    reused.send();
    const [a, b] = await Promise.all([first, second]);
    return { same: a === b, events, native, status: await done };
  }, api);
  assert.equal(result.same, true);
  assert.deepEqual(result.events, result.native);
  assert.deepEqual(result.native, ["abort 4", "loadend 4", "after 0"]);
  assert.equal(result.status, 200);
  const paths = received("waiting").map((r) => r.path);
  assert.equal(paths.includes("/api/waiting/dropped"), false);
  assert.match(received("waiting").find((r) => r.path.endsWith("/reused")).headers["x-correlation-id"] || "", ID);
  assert.deepEqual(errors, []);
  await context.close();
});
