// What servers actually receive: the correlation header on every fetch input shape and on XHR,
// only for allowed origins, never overwriting the app's own, with the caller's objects untouched.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ID, loopbackAndBrowser, openEsmPage } from "./harness.mjs";

const live = loopbackAndBrowser();

const app = () => openEsmPage(live);

describe("fetch", () => {
  test("every input shape carries the current action's ID, same-origin and to allowed origins", async () => {
    const { page, context, errors } = await app();
    const api = live.server.origin("api.shop.test");
    const id = await page.evaluate(async (api) => {
      const tl = await Threadline.init({ propagateTo: [api] });
      const pay = tl.startAction("checkout_submit");
      const u = (p) => `${api}/api/shapes/${p}`;
      await fetch("/api/shapes/relative");
      await fetch(u("string"));
      await fetch(new URL(u("url")));
      await fetch(new Request(u("request"), { headers: { "X-From": "request" } }));
      await fetch(new Request(u("request-init"), { headers: { "X-From": "request" } }), { method: "PUT", headers: { "X-From": "init" } });
      await fetch(u("headers"), { headers: new Headers({ "X-App": "headers" }) });
      await fetch(u("pairs"), { headers: [["X-App", "pairs"]] });
      await fetch(u("object"), { headers: { "X-App": "object" } });
      await fetch(u("post"), { method: "POST", body: "hello" });
      pay.end("ok");
      return pay.id;
    }, api);
    assert.match(id, ID);
    const got = live.server.received("/api/shapes/");
    assert.deepEqual(got.map((r) => r.path), ["relative", "string", "url", "request", "request-init", "headers", "pairs", "object", "post"].map((p) => `/api/shapes/${p}`));
    for (const r of got) assert.equal(r.headers["x-correlation-id"], id, r.path);
    assert.equal(got[0].host, `app.shop.test:${live.server.port}`);
    const byPath = Object.fromEntries(got.map((r) => [r.path.split("/").pop(), r]));
    assert.equal(byPath.request.headers["x-from"], "request");
    assert.equal(byPath["request-init"].headers["x-from"], "init");
    assert.equal(byPath["request-init"].method, "PUT");
    assert.equal(byPath.headers.headers["x-app"], "headers");
    assert.equal(byPath.pairs.headers["x-app"], "pairs");
    assert.equal(byPath.object.headers["x-app"], "object");
    assert.equal(byPath.post.body, "hello");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("the caller's Request, init and headers objects are never mutated, and bodies arrive intact", async () => {
    const { page, context } = await app();
    const api = live.server.origin("api.shop.test");
    const report = await page.evaluate(async (api) => {
      await Threadline.init({ propagateTo: [api] });
      const u = (p) => `${api}/api/untouched/${p}`;
      const snapshot = (v) => JSON.stringify(v instanceof Headers ? [...v] : v);
      const headers = new Headers({ "X-App": "1" });
      const init = Object.freeze({ method: "POST", headers, body: "init-body" });
      const plain = Object.freeze({ "X-App": "1" });
      const pairs = Object.freeze([Object.freeze(["X-App", "1"])]);
      const request = new Request(u("request"), { method: "POST", body: "request-body", headers: { "X-App": "1" } });
      const before = [snapshot(headers), snapshot(Object.keys(init)), snapshot(plain), snapshot(pairs), snapshot(request.headers)];
      await fetch(u("init"), init);
      await fetch(u("plain"), { headers: plain });
      await fetch(u("pairs"), { headers: pairs });
      await fetch(request);
      const after = [snapshot(headers), snapshot(Object.keys(init)), snapshot(plain), snapshot(pairs), snapshot(request.headers)];
      return { before, after, initHeadersSame: init.headers === headers };
    }, api);
    assert.deepEqual(report.after, report.before);
    assert.ok(report.initHeadersSame);
    const got = live.server.received("/api/untouched/");
    assert.equal(got.length, 4);
    for (const r of got) {
      assert.match(r.headers["x-correlation-id"], ID, r.path);
      assert.equal(r.headers["x-app"], "1", r.path);
    }
    assert.equal(got[0].body, "init-body");
    assert.equal(got[3].body, "request-body");
    await context.close();
  });

  test("a header the app set itself, in any letter case, is left as it is and not duplicated", async () => {
    const { page, context } = await app();
    const api = live.server.origin("api.shop.test");
    await page.evaluate(async (api) => {
      await Threadline.init({ propagateTo: [api], traceparent: true });
      const u = (p) => `${api}/api/app-set/${p}`;
      await fetch(u("object"), { headers: { "x-correlation-id": "app-object" } });
      await fetch(u("headers"), { headers: new Headers({ "X-CORRELATION-ID": "app-headers" }) });
      await fetch(new Request(u("request"), { headers: { "X-Correlation-Id": "app-request" } }));
      await fetch(u("traceparent"), { headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } });
      const xhr = new XMLHttpRequest();
      await new Promise((done) => {
        xhr.onloadend = done;
        xhr.open("GET", u("xhr"));
        xhr.setRequestHeader("x-correlation-id", "app-xhr");
        xhr.send();
      });
    }, api);
    const got = Object.fromEntries(live.server.received("/api/app-set/").map((r) => [r.path.split("/").pop(), r.headers]));
    assert.equal(got.object["x-correlation-id"], "app-object");
    assert.equal(got.headers["x-correlation-id"], "app-headers");
    assert.equal(got.request["x-correlation-id"], "app-request");
    assert.equal(got.xhr["x-correlation-id"], "app-xhr");
    for (const name of ["object", "headers", "request", "xhr"]) {
      assert.equal(got[name].traceparent, undefined, `${name}: the app manages correlation, nothing is added`);
    }
    assert.equal(got.traceparent.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    assert.match(got.traceparent["x-correlation-id"], ID);
    await context.close();
  });

  test("traceparent carries the same ID with a fresh span, baggage the session", async () => {
    const { page, context } = await app();
    const api = live.server.origin("api.shop.test");
    const { id, session } = await page.evaluate(async (api) => {
      const tl = await Threadline.init({ propagateTo: [api], traceparent: true });
      const a = tl.startAction("search");
      await fetch(`${api}/api/trace/1`);
      await fetch(`${api}/api/trace/2`);
      return { id: a.id, session: tl.sessionId() };
    }, api);
    const got = live.server.received("/api/trace/");
    assert.equal(got.length, 2);
    const spans = got.map((r) => {
      const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(r.headers.traceparent);
      assert.ok(m, r.headers.traceparent);
      assert.equal(m[1], id);
      assert.equal(r.headers["x-correlation-id"], id);
      assert.equal(r.headers.baggage, `session.id=${session}`);
      return m[2];
    });
    assert.notEqual(spans[0], spans[1]);
    assert.notEqual(session, id);
    await context.close();
  });

  test("data: and blob: URLs work as before and cross-origin no-cors requests are not broken", async () => {
    const { page, context, errors } = await app();
    const texts = await page.evaluate(async () => {
      await Threadline.init({});
      const data = await (await fetch("data:text/plain,from-data")).text();
      const blobUrl = URL.createObjectURL(new Blob(["from-blob"]));
      const blob = await (await fetch(blobUrl)).text();
      return [data, blob];
    });
    assert.deepEqual(texts, ["from-data", "from-blob"]);
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe("allowed origins", () => {
  test("only the page's origin and propagateTo entries get the header; look-alikes never do", async () => {
    const { page, context } = await app();
    const port = live.server.port;
    await page.evaluate(async ({ port, otherPort }) => {
      await Threadline.init({
        propagateTo: [`http://api.shop.test:${port}`, `http://*.cdn.shop.test:${port}`, /^http:\/\/regex\d\.test:\d+$/],
      });
      const hit = (url) => fetch(url).catch(() => "blocked");
      await hit(`http://app.shop.test:${port}/api/allow/same-origin`);
      await hit(`http://api.shop.test:${port}/api/allow/exact`);
      await hit(`http://API.SHOP.TEST:${port}/api/allow/exact-upper`);
      await hit(`http://eu.cdn.shop.test:${port}/api/allow/wildcard`);
      await hit(`http://a.b.cdn.shop.test:${port}/api/allow/wildcard-deep`);
      await hit(`http://regex7.test:${port}/api/allow/regexp`);
      await hit(`http://api.shop.test.evil.test:${port}/api/allow/lookalike-suffix`);
      await hit(`http://other.test:${port}/api/allow/other-host?http://api.shop.test:${port}`);
      await hit(`http://evil.test:${port}/api/allow/in-path/http://api.shop.test:${port}/`);
      await hit(`http://api.shop.test:${otherPort}/api/allow/other-port`);
      await hit(`http://cdn.shop.test:${port}/api/allow/wildcard-apex`);
      await hit(`http://regex7.test.evil.test:${port}/api/allow/regexp-anchored`);
      await new Promise((done) => {
        const xhr = new XMLHttpRequest();
        xhr.onloadend = done;
        xhr.open("GET", `http://api.shop.test@other.test:${port}/api/allow/userinfo`);
        xhr.send();
      });
    }, { port, otherPort: live.server.otherPort });
    const got = Object.fromEntries(live.server.received("/api/allow/").map((r) => [r.path.replace("/api/allow/", "").split(/[?/]/)[0], r]));
    for (const yes of ["same-origin", "exact", "exact-upper", "wildcard", "wildcard-deep", "regexp"]) {
      assert.match(got[yes]?.headers["x-correlation-id"] ?? "", ID, `${yes} gets the header`);
    }
    for (const no of ["lookalike-suffix", "other-host", "in-path", "other-port", "wildcard-apex", "regexp-anchored", "userinfo"]) {
      assert.ok(got[no], `${no} reached the server`);
      assert.equal(got[no].headers["x-correlation-id"], undefined, `${no} must not get the header`);
    }
    assert.equal(got.userinfo.host, `other.test:${port}`);
    await context.close();
  });

  test("sameOrigin: false keeps the page's own requests untagged", async () => {
    const { page, context } = await app();
    await page.evaluate(async () => {
      await Threadline.init({ sameOrigin: false });
      await fetch("/api/no-same-origin/1");
    });
    const [r] = live.server.received("/api/no-same-origin/");
    assert.equal(r.headers["x-correlation-id"], undefined);
    await context.close();
  });
});

describe("XMLHttpRequest", () => {
  test("XHR carries the action's ID; one reused object keeps its ID on resend, with one header value each time", async () => {
    const { page, context } = await app();
    const api = live.server.origin("api.shop.test");
    const { actionId } = await page.evaluate(async (api) => {
      const tl = await Threadline.init({ propagateTo: [api] });
      const send = (xhr, url) => new Promise((done) => {
        xhr.onloadend = done;
        xhr.open("GET", url);
        xhr.send();
      });
      const a = tl.startAction("load");
      await send(new XMLHttpRequest(), `${api}/api/xhr/in-action`);
      a.end();
      const reused = new XMLHttpRequest();
      let loadends = 0;
      reused.addEventListener("loadend", () => loadends++);
      await send(reused, `${api}/api/xhr/retry?status=503`);
      await send(reused, `${api}/api/xhr/retry?status=503`);
      await send(reused, `${api}/api/xhr/retry`);
      await send(new XMLHttpRequest(), `${api}/api/xhr/retry`);
      return { actionId: a.id, loadends };
    }, api);
    const got = live.server.received("/api/xhr/");
    assert.equal(got.length, 5);
    assert.equal(got[0].headers["x-correlation-id"], actionId);
    const retryId = got[1].headers["x-correlation-id"];
    assert.match(retryId, ID);
    assert.notEqual(retryId, actionId);
    assert.equal(got[2].headers["x-correlation-id"], retryId, "same XHR object sent again");
    assert.equal(got[3].headers["x-correlation-id"], retryId, "same XHR object sent a third time");
    assert.match(got[4].headers["x-correlation-id"], ID);
    assert.notEqual(got[4].headers["x-correlation-id"], retryId, "a new request after success gets a new ID");
    await context.close();
  });
});
