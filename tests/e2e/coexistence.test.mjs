// Living in other people's pages: other fetch wrappers before and after, init twice, shutdown,
// a fetch that cannot be replaced, storage that throws, tabs sharing a session, option errors,
// and both published builds (ESM and script tag).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ID, loopbackAndBrowser, openEsmPage, openPage } from "./harness.mjs";

const live = loopbackAndBrowser();

const esmPage = () => openEsmPage(live);

/** Installs a fetch wrapper like other libraries do, adding `X-<name>: 1`. */
const installWrapper = (name) => {
  const inner = window.fetch;
  window.fetch = function (input, init) {
    const headers = new Headers((init && init.headers) || (input instanceof Request ? input.headers : undefined));
    headers.set(`X-${name}`, "1");
    return inner.call(this, input, { ...init, headers });
  };
  window[`wrapper${name}`] = window.fetch;
  window[`inner${name}`] = inner;
};

describe("other libraries and repeated init", () => {
  test("wrappers installed before and after keep working; init twice patches once", async () => {
    const { page, context } = await esmPage();
    const result = await page.evaluate(async (installWrapper) => {
      eval(`(${installWrapper})`)("Before");
      const first = await Threadline.init({ propagateTo: ["http://api.shop.test"] });
      const second = await Threadline.init({ propagateTo: ["http://api.shop.test:80/"] });
      const third = await Threadline.init();
      const refused = await Threadline.init({ header: "X-Other" }).then(
        () => "resolved",
        (e) => e.message,
      );
      eval(`(${installWrapper})`)("After");
      await fetch("/api/others/both");
      return { same: first === second && first === third, refused };
    }, installWrapper.toString());
    assert.ok(result.same, "a second init with the same settings (or none) returns the same recorder");
    assert.match(result.refused, /^Threadline init: Threadline is already running on this page with other options \(propagateTo, header\)/);
    const [r] = live.server.received("/api/others/both");
    assert.equal(r.headers["x-before"], "1");
    assert.equal(r.headers["x-after"], "1");
    assert.match(r.headers["x-correlation-id"], ID, "one value, not duplicated");
    assert.equal(r.headers["x-other"], undefined);
    await context.close();
  });

  test("shutdown restores fetch and XHR when Threadline is outermost, else leaves a pass-through", async () => {
    const { page, context } = await esmPage();
    const state = await page.evaluate(async (installWrapper) => {
      eval(`(${installWrapper})`)("Before");
      const open = XMLHttpRequest.prototype.open;
      let tl = await Threadline.init({});
      await tl.shutdown();
      const restored = window.fetch === window.wrapperBefore && XMLHttpRequest.prototype.open === open;
      tl = await Threadline.init({});
      eval(`(${installWrapper})`)("After");
      await tl.shutdown();
      const kept = window.fetch === window.wrapperAfter;
      await fetch("/api/others/after-shutdown");
      const xhr = new XMLHttpRequest();
      await new Promise((done) => {
        xhr.onloadend = done;
        xhr.open("GET", "/api/others/xhr-after-shutdown");
        xhr.send();
      });
      return { restored, kept };
    }, installWrapper.toString());
    assert.deepEqual(state, { restored: true, kept: true });
    const [r] = live.server.received("/api/others/after-shutdown");
    assert.equal(r.headers["x-after"], "1");
    assert.equal(r.headers["x-before"], "1");
    assert.equal(r.headers["x-correlation-id"], undefined, "the left-behind wrapper passes through");
    assert.equal(live.server.received("/api/others/xhr-after-shutdown")[0].headers["x-correlation-id"], undefined);
    await context.close();
  });

  test("a non-writable window.fetch makes init warn, not throw; XHR and action.fetch still work", async () => {
    const { page, context, warnings, errors } = await esmPage();
    const result = await page.evaluate(async () => {
      Object.defineProperty(window, "fetch", { value: window.fetch, writable: false, configurable: false });
      const tl = await Threadline.init({});
      const a = tl.startAction("locked");
      await a.fetch("/api/locked/action-fetch");
      await new Promise((done) => {
        const xhr = new XMLHttpRequest();
        xhr.onloadend = done;
        xhr.open("GET", "/api/locked/xhr");
        xhr.send();
      });
      await fetch("/api/locked/plain");
      return a.id;
    });
    assert.ok(warnings.some((w) => w.includes("window.fetch is missing or not writable")), warnings.join("\n"));
    assert.deepEqual(errors, []);
    assert.equal(live.server.received("/api/locked/action-fetch")[0].headers["x-correlation-id"], result);
    assert.equal(live.server.received("/api/locked/xhr")[0].headers["x-correlation-id"], result);
    assert.equal(live.server.received("/api/locked/plain")[0].headers["x-correlation-id"], undefined);
    await context.close();
  });

  test("a wrapper that throws inside Threadline's reach never breaks the request", async () => {
    const { page, context, errors } = await esmPage();
    const status = await page.evaluate(async () => {
      await Threadline.init({});
      // Headers that cannot be copied: Threadline leaves the call to fetch, which decides.
      const odd = { get headers() { throw new Error("boom"); } };
      let threw;
      try {
        await fetch("/api/robust/getter", odd);
      } catch (e) {
        threw = e.message;
      }
      const init = Object.create({ method: "POST" }, { body: { value: "inherited", enumerable: true } });
      const response = await fetch("/api/robust/inherited", init);
      return { threw, status: response.status };
    });
    assert.equal(status.threw, "boom", "the app's own error surfaces as it would without Threadline");
    assert.equal(status.status, 200);
    const [r] = live.server.received("/api/robust/inherited");
    assert.equal(r.method, "POST", "members inherited by the caller's init are honoured");
    assert.equal(r.body, "inherited");
    assert.match(r.headers["x-correlation-id"], ID);
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe("sessions", () => {
  test("tabs of one origin share the session ID; reading it does not rotate it", async () => {
    const context = await live.browser.newContext();
    const url = `${live.server.origin("app.shop.test")}/esm.html`;
    const ids = [];
    for (let i = 0; i < 2; i++) {
      const page = await context.newPage();
      await page.goto(url);
      await page.waitForFunction(() => window.Threadline);
      ids.push(await page.evaluate(async () => {
        const tl = await Threadline.init({});
        return [tl.sessionId(), tl.sessionId()];
      }));
    }
    assert.match(ids[0][0], ID);
    assert.deepEqual(ids, [[ids[0][0], ids[0][0]], [ids[0][0], ids[0][0]]]);
    await context.close();
  });

  test("the session rotates after the idle time, reading does not extend it, actions do", async () => {
    const { page, context } = await esmPage();
    const ids = await page.evaluate(async () => {
      const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
      // 0.04 minutes: a 2.4 s idle limit. Sleeps only ever last longer than asked, so the waits
      // meant to exceed the limit always do; the others stay far below it.
      const tl = await Threadline.init({ sessionIdleMinutes: 0.04 });
      const first = tl.sessionId();
      await sleep(500);
      const whileReading = tl.sessionId();
      await sleep(2_500);
      const afterIdle = tl.sessionId();
      const kept = [];
      for (let i = 0; i < 8; i++) {
        tl.startAction("keep-alive").end();
        await sleep(400);
        kept.push(tl.sessionId());
      }
      await sleep(3_000);
      const afterKept = tl.sessionId();
      return { first, whileReading, afterIdle, kept, afterKept };
    });
    assert.match(ids.first, ID);
    assert.equal(ids.whileReading, ids.first);
    assert.notEqual(ids.afterIdle, ids.first, "reading does not extend it: 3 s without activity rotates it");
    assert.deepEqual(new Set(ids.kept), new Set([ids.kept[0]]), "an action every 400 ms keeps one session for 3.2 s");
    assert.notEqual(ids.afterKept, ids.kept[0], "and it rotates once activity stops");
    await context.close();
  });

  test("storage that throws falls back to sessionStorage, then memory", async () => {
    // Blocked: reading `window.localStorage` throws. Full: its writes throw, as with no quota left.
    const cases = [
      [["localStorage"], [], "sessionStorage"],
      [["localStorage", "sessionStorage"], [], null],
      [[], ["localStorage"], "sessionStorage"],
      [[], ["localStorage", "sessionStorage"], null],
    ];
    for (const [blocked, full, expectIn] of cases) {
      const context = await live.browser.newContext();
      await context.addInitScript(([blocked, full]) => {
        for (const name of blocked) {
          Object.defineProperty(window, name, { get() { throw new DOMException("denied", "SecurityError"); } });
        }
        const refusing = full.map((name) => window[name]);
        const setItem = Storage.prototype.setItem;
        Storage.prototype.setItem = function (key, value) {
          if (refusing.includes(this)) throw new DOMException("full", "QuotaExceededError");
          return setItem.call(this, key, value);
        };
      }, [blocked, full]);
      const page = await context.newPage();
      const errors = [];
      page.on("pageerror", (e) => errors.push(e));
      await page.goto(`${live.server.origin("app.shop.test")}/esm.html`);
      await page.waitForFunction(() => window.Threadline);
      const result = await page.evaluate(async (expectIn) => {
        const tl = await Threadline.init({ traceparent: true });
        await fetch("/api/storage/x");
        const stored = expectIn ? window[expectIn].getItem("threadline.session") : null;
        return { id: tl.sessionId(), stored };
      }, expectIn);
      assert.match(result.id, ID);
      if (expectIn) assert.ok(result.stored.includes(result.id), `${expectIn} holds the session`);
      assert.equal(live.server.received("/api/storage/x").at(-1).headers.baggage, `session.id=${result.id}`);
      assert.deepEqual(errors, []);
      await context.close();
    }
  });
});

describe("published builds and options", () => {
  test("the script-tag build defines window.Threadline and tags requests", async () => {
    const { page, context, errors } = await openPage(live.browser, `${live.server.origin("app.shop.test")}/script.html`);
    const id = await page.evaluate(async () => {
      const tl = await window.Threadline.init({});
      const a = tl.startAction("from-script-tag");
      await fetch("/api/script-tag/1");
      return a.id;
    });
    assert.match(id, ID);
    assert.equal(live.server.received("/api/script-tag/1")[0].headers["x-correlation-id"], id);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("bad options reject with an Error naming the option and what was expected", async () => {
    const { page, context } = await openPage(live.browser, `${live.server.origin("app.shop.test")}/script.html`);
    const messages = await page.evaluate(async () => {
      const tries = [
        { propagateTo: ["api.shop.test"] },
        { header: "X Correlation" },
        { propagatTo: [] },
        { autoActions: "no" },
      ];
      const out = [];
      for (const options of tries) {
        try {
          await window.Threadline.init(options);
          out.push("resolved");
        } catch (e) {
          out.push(`${e instanceof Error}: ${e.message}`);
        }
      }
      return out;
    });
    assert.deepEqual(messages, [
      'true: Threadline init: propagateTo[0]: expected an origin such as "https://api.example.com" or "https://*.example.com", got "api.shop.test"',
      'true: Threadline init: header: expected a header name a page may set, such as "X-Correlation-ID", got "X Correlation"',
      'true: Threadline init: propagatTo: unknown option (did you mean "propagateTo"?)',
      'true: Threadline init: autoActions: expected true or false, got "no"',
    ]);
    await context.close();
  });
});
