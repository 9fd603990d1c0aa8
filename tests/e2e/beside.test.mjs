// Living beside the page's other code: what the fetch below receives, a server whose CORS
// preflight refuses the header, two copies of Threadline on one page, clicks in shadow DOM,
// one beacon per page exit, and an endpoint that never answers.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, afterEach, describe, test } from "node:test";
import { ID, loopbackAndBrowser, openEsmPage, openPage } from "./harness.mjs";
import { createIngest, until } from "./ingest.mjs";

const live = loopbackAndBrowser();
const cleanup = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()();
});

/** A fresh ingestion endpoint, stopped after the test. */
async function endpoint() {
  const ingest = await createIngest();
  await ingest.start();
  cleanup.push(() => ingest.stop());
  return ingest;
}

/** Opens the ESM page, closed after the test. */
async function esmPage() {
  const opened = await openEsmPage(live);
  cleanup.push(() => opened.context.close());
  return opened;
}

/**
 * A cross-origin API on loopback whose preflight allows `Content-Type` only: a request carrying
 * the correlation header is refused by the browser before it is sent. Records what arrives.
 */
async function refusingServer() {
  const received = [];
  const server = createServer((req, res) => {
    received.push({ method: req.method, path: req.url, headers: req.headers });
    res.setHeader("Access-Control-Allow-Origin", req.headers.origin || "*");
    if (req.method === "OPTIONS") {
      res.setHeader("Access-Control-Allow-Headers", "Content-Type");
      res.setHeader("Access-Control-Allow-Methods", "GET, POST, HEAD");
      res.writeHead(204).end();
      return;
    }
    req.resume();
    req.on("end", () => res.writeHead(200, { "Content-Type": "text/plain" }).end(`answer to ${req.method} ${req.url}`));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanup.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { origin: `http://refuse.test:${server.address().port}`, received };
}

describe("what the fetch below Threadline receives", () => {
  test("every member of the app's init, as own properties, with the same body and signal; nothing of the caller's changes", async () => {
    const { page } = await esmPage();
    const result = await page.evaluate(async () => {
      const seen = [];
      const native = window.fetch;
      window.fetch = function (input, init) {
        seen.push({ input, init, keys: Object.keys(init || {}) });
        return native.call(this, input, init);
      };
      window.tl = await Threadline.init({});
      const stream = new ReadableStream({ start: (c) => c.close() });
      const controller = new AbortController();
      const headers = { "Content-Type": "application/octet-stream", "X-App": "1" };
      const init = {
        method: "POST", body: stream, duplex: "half", headers, signal: controller.signal, credentials: "include",
        mode: "same-origin", cache: "no-store", redirect: "error", referrer: "", referrerPolicy: "no-referrer",
        keepalive: false, priority: "high", integrity: "",
      };
      const before = JSON.stringify({ ...init, body: undefined, signal: undefined });
      await fetch("/api/below/stream", init).catch(() => "streaming needs HTTP/2");
      const inherited = Object.create({ method: "PUT", body: "from the prototype" });
      await fetch("/api/below/inherited", inherited);
      const got = seen[0].init;
      const members = Object.keys(init).filter((k) => k !== "headers").every((k) => got[k] === init[k]);
      return {
        members,
        own: Object.keys(init).every((k) => Object.prototype.hasOwnProperty.call(got, k)),
        headersForm: got.headers.constructor.name,
        headers: got.headers,
        callerUnchanged: before === JSON.stringify({ ...init, body: undefined, signal: undefined }) && Object.keys(headers).length === 2,
        inheritedOwn: { method: seen[1].init.method, body: seen[1].init.body, keys: seen[1].keys.sort() },
      };
    });
    assert.ok(result.members, "the same body, duplex, signal, credentials, mode, cache, redirect, referrer, keepalive, priority");
    assert.ok(result.own, "own properties, which a spread or Object.assign keeps");
    assert.equal(result.headersForm, "Object", "the headers keep the form the app gave them");
    assert.equal(result.headers["Content-Type"], "application/octet-stream");
    assert.equal(result.headers["X-App"], "1");
    assert.match(result.headers["X-Correlation-ID"], ID);
    assert.ok(result.callerUnchanged, "the caller's init and headers are untouched");
    assert.deepEqual(result.inheritedOwn, { method: "PUT", body: "from the prototype", keys: ["body", "headers", "method"] });
    const [r] = live.server.received("/api/below/inherited");
    assert.equal(r.method, "PUT");
    assert.equal(r.body, "from the prototype");
  });

  test("baggage the app set is merged, not replaced; an app's traceparent is never doubled and its trace is recorded", async () => {
    const ingest = await endpoint();
    const { page } = await esmPage();
    await page.evaluate(async (url) => {
      window.tl = await Threadline.init({ traceparent: true, endpoint: url, flushIntervalMs: 100 });
      await fetch("/api/baggage/fetch", { headers: { baggage: "user.tier=gold" } });
      await fetch("/api/baggage/headers", { headers: new Headers({ Baggage: "a=1", traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }) });
      await new Promise((done) => {
        const x = new XMLHttpRequest();
        x.onloadend = done;
        x.open("GET", "/api/baggage/xhr");
        x.setRequestHeader("baggage", "user.tier=silver");
        x.send();
      });
      await tl.flush();
    }, ingest.url);
    const [f] = live.server.received("/api/baggage/fetch");
    assert.match(f.headers.baggage, /^user\.tier=gold,session\.id=[0-9a-f]{32}$/);
    assert.equal(f.headers.baggage.split("session.id=")[1], await page.evaluate(() => tl.sessionId()));
    const [h] = live.server.received("/api/baggage/headers");
    assert.match(h.headers.baggage, /^a=1,session\.id=[0-9a-f]{32}$/);
    assert.equal(h.headers.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "the app's traceparent, alone");
    const [x] = live.server.received("/api/baggage/xhr");
    assert.match(x.headers.baggage, /^user\.tier=silver, session\.id=[0-9a-f]{32}$/);
    await until(() => ingest.events("http.request").some((e) => String(e.attrs["url.full"]).endsWith("/api/baggage/headers")), 5_000);
    const event = ingest.events("http.request").find((e) => String(e.attrs["url.full"]).endsWith("/api/baggage/headers"));
    assert.equal(event.attrs["http.request.trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert.equal(event.attrs.correlation_id, h.headers["x-correlation-id"]);
  });
});

describe("a server whose CORS preflight refuses the header", () => {
  test("the app's GET still gets its answer; later requests go untagged; one warning and one event", async () => {
    const api = await refusingServer();
    const ingest = await endpoint();
    const { page, warnings } = await esmPage();
    const answers = await page.evaluate(async ({ api, url }) => {
      window.tl = await Threadline.init({ propagateTo: [api], endpoint: url, flushIntervalMs: 100 });
      const first = await fetch(`${api}/first`).then((r) => r.text());
      const second = await fetch(`${api}/second`).then((r) => r.text());
      const post = await fetch(`${api}/post`, { method: "POST", body: "hello" }).then((r) => r.text());
      await tl.flush();
      return [first, second, post];
    }, { api: api.origin, url: ingest.url });
    assert.deepEqual(answers, ["answer to GET /first", "answer to GET /second", "answer to POST /post"]);
    const sent = api.received.filter((r) => r.method !== "OPTIONS");
    assert.deepEqual(sent.map((r) => `${r.method} ${r.path}`), ["GET /first", "GET /second", "POST /post"], "the GET was resent once, untagged");
    for (const r of sent) assert.equal(r.headers["x-correlation-id"], undefined);
    assert.equal(api.received.filter((r) => r.method === "OPTIONS").length, 1, "one refused preflight");
    const advice = warnings.filter((w) => w.includes("refused the X-Correlation-ID header"));
    assert.equal(advice.length, 1, "said once");
    assert.ok(advice[0].includes("Access-Control-Allow-Headers: X-Correlation-ID"), advice[0]);
    await until(() => ingest.events("threadline.cors_refused").length > 0, 5_000);
    const refused = ingest.events("threadline.cors_refused");
    assert.equal(refused.length, 1);
    assert.equal(refused[0].attrs["url.origin"], api.origin);
  });

  test("a refused POST is never resent; an XHR GET that fails marks the origin for later requests", async () => {
    const api = await refusingServer();
    const { page } = await esmPage();
    const result = await page.evaluate(async (api) => {
      window.tl = await Threadline.init({ propagateTo: [api] });
      const post = await fetch(`${api}/post`, { method: "POST", body: "once" }).then(() => "answered", (e) => e.name);
      const xhr = await new Promise((done) => {
        const x = new XMLHttpRequest();
        x.onloadend = () => done(x.status);
        x.open("GET", `${api}/xhr`);
        x.send();
      });
      // The probe that tells a refusal from a network failure runs after the XHR's own end.
      await new Promise((r) => setTimeout(r, 500));
      const later = await fetch(`${api}/later`).then((r) => r.text());
      return { post, xhr, later };
    }, api.origin);
    assert.equal(result.post, "TypeError", "the app sees the POST fail");
    assert.equal(result.xhr, 0);
    assert.equal(api.received.filter((r) => r.method === "POST").length, 0, "a POST is never sent twice");
    const probe = api.received.filter((r) => r.path === "/xhr" && r.method === "GET");
    assert.equal(probe.length, 1, "one untagged probe of the failed XHR's GET");
    assert.equal(probe[0].headers["x-correlation-id"], undefined);
    const later = api.received.find((r) => r.path === "/later");
    assert.equal(later.headers["x-correlation-id"], undefined, "the origin gets no header any more");
  });
});

describe("one recorder per page", () => {
  test("two copies of Threadline on one page share one recorder and patch once", async () => {
    const ingest = await endpoint();
    const { page } = await openPage(live.browser, `${live.server.origin("app.shop.test")}/script.html`);
    cleanup.push(() => page.context().close());
    const result = await page.evaluate(async (url) => {
      const copy = await import("/dist/threadline.mjs?second-copy");
      const options = { endpoint: url, flushIntervalMs: 100 };
      const first = await window.Threadline.init(options);
      const second = await copy.init(options);
      const other = await copy.init({ ...options, service: "other" }).then(() => "resolved", (e) => e.message);
      await fetch("/api/copies/one");
      await first.flush();
      return { same: first === second, other };
    }, ingest.url);
    assert.ok(result.same, "the second copy's init returns the first copy's recorder");
    assert.match(result.other, /already running on this page with other options \(service\)/);
    const [r] = live.server.received("/api/copies/one");
    assert.match(r.headers["x-correlation-id"], ID, "one header value");
    await until(() => ingest.events("http.request").length > 0, 5_000);
    assert.equal(ingest.events("http.request").filter((e) => String(e.attrs["url.full"]).endsWith("/api/copies/one")).length, 1, "recorded once");
  });
});

describe("automatic actions in shadow DOM", () => {
  test("a click on a button inside an open shadow root starts an action named after it", async () => {
    const { page } = await esmPage();
    await page.evaluate(async () => {
      window.tl = await Threadline.init({});
      const host = document.createElement("div");
      document.body.append(host);
      const button = document.createElement("button");
      button.dataset.action = "shadow_pay";
      button.id = "shadow-pay";
      button.textContent = "Pay";
      button.addEventListener("click", () => {
        window.clickedAction = tl.currentAction() && tl.currentAction().name;
        fetch("/api/shadow/pay");
      });
      host.attachShadow({ mode: "open" }).append(button);
    });
    await page.locator("#shadow-pay").click();
    await until(() => live.server.received("/api/shadow/pay").length === 1, 5_000);
    assert.equal(await page.evaluate(() => window.clickedAction), "shadow_pay");
    assert.match(live.server.received("/api/shadow/pay")[0].headers["x-correlation-id"], ID);
  });
});

describe("page exit and a hung endpoint", () => {
  test("each event leaves in at most one beacon when the page is left", async () => {
    const ingest = await endpoint();
    const { page } = await esmPage();
    await page.evaluate(async (url) => {
      window.tl = await Threadline.init({ endpoint: url, flushIntervalMs: 600_000 });
      for (let i = 0; i < 20; i++) tl.log("info", `exit-${i}`);
    }, ingest.url);
    await page.goto(`${live.server.origin("app.shop.test")}/script.html`);
    await until(() => ingest.requests.some((r) => r.contentType?.startsWith("text/plain")), 5_000, "a beacon");
    await new Promise((r) => setTimeout(r, 500));
    const beacons = ingest.requests.filter((r) => r.contentType?.startsWith("text/plain"));
    const perEvent = new Map();
    for (const b of beacons) {
      for (const record of b.records) {
        const message = record.body.stringValue;
        if (message.startsWith("exit-")) perEvent.set(message, (perEvent.get(message) || 0) + 1);
      }
    }
    assert.equal(perEvent.size, 20, "every event left in a beacon");
    assert.deepEqual([...new Set(perEvent.values())], [1], "and in one only");
  });

  test("an endpoint that never answers: uploads time out, flush() and shutdown() settle", async () => {
    const hung = createServer(() => {});
    await new Promise((resolve) => hung.listen(0, "127.0.0.1", resolve));
    cleanup.push(() => {
      hung.closeAllConnections();
      return new Promise((resolve) => hung.close(resolve));
    });
    const { page } = await esmPage();
    const result = await page.evaluate(async (url) => {
      const tl = await Threadline.init({ endpoint: url, uploadTimeoutMs: 1000 });
      tl.log("info", "into the void");
      const started = performance.now();
      await tl.flush();
      const flushed = performance.now() - started;
      tl.log("info", "again");
      await tl.shutdown();
      return { flushed, stored: Object.keys(localStorage).filter((k) => k.startsWith("threadline.outbox.")).length };
    }, `http://ingest.test:${hung.address().port}/v1/logs`);
    assert.ok(result.flushed >= 900, `flush waited for the upload's deadline (${result.flushed} ms)`);
    assert.ok(result.stored >= 1, "what was not acknowledged waits in storage");
  });
});
