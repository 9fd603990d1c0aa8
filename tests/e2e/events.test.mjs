// The event pipeline end to end: what the page records reaches a real ingestion server on
// loopback exactly once (by event.id), whatever the network does, or is dropped by the policy and
// counted in a `threadline.dropped` event.
import assert from "node:assert/strict";
import { after, afterEach, describe, test } from "node:test";
import { ID, loopbackAndBrowser, openEsmPage } from "./harness.mjs";
import { createIngest, decodeOtlp, until } from "./ingest.mjs";

const live = loopbackAndBrowser();
let ingest;
const contexts = [];

afterEach(async () => {
  while (contexts.length) await contexts.pop().close();
  await ingest?.stop();
});
after(async () => ingest?.stop());

/** A fresh endpoint (listening unless `listening` is false) and a page with `init`ed Threadline. */
async function app(options = {}, { listening = true } = {}) {
  ingest = await createIngest();
  if (listening) await ingest.start();
  const opened = await openEsmPage(live);
  contexts.push(opened.context);
  await opened.page.evaluate(async (options) => {
    window.tl = await Threadline.init(options);
  }, { endpoint: ingest.url, ...options });
  return opened;
}

/** Logs `n` events named `<prefix>-<i>` and returns their messages. */
async function logMany(page, prefix, n, attributes = {}) {
  return page.evaluate(
    ({ prefix, n, attributes }) => {
      const out = [];
      for (let i = 0; i < n; i++) {
        tl.log("info", `${prefix}-${i}`, { i, ...attributes });
        out.push(`${prefix}-${i}`);
      }
      return out;
    },
    { prefix, n, attributes },
  );
}

const storedMessages = (prefix) =>
  ingest.events("log").map((e) => e.body.stringValue).filter((m) => m.startsWith(prefix));

/** Every message stored exactly once, and no event ID acknowledged twice. */
function assertExactlyOnce(messages, prefix) {
  const stored = storedMessages(prefix);
  assert.deepEqual([...stored].sort(), [...messages].sort());
  assert.equal(new Set(stored).size, stored.length);
}

function droppedCounts() {
  const counts = {};
  for (const e of ingest.events("threadline.dropped")) {
    for (const [key, value] of Object.entries(e.attrs)) {
      if (key.startsWith("dropped.")) counts[key.slice(8)] = (counts[key.slice(8)] || 0) + Number(value);
    }
  }
  return counts;
}

describe("what is recorded", () => {
  test("logs, actions and requests arrive as valid OTLP that a real decoder reads", async () => {
    const { page } = await app({ service: "shop-web", flushIntervalMs: 60_000 });
    const facts = await page.evaluate(async (api) => {
      const action = tl.startAction("checkout_submit", { cart: 3 });
      tl.log("info", "paying", { amount: 12.5, items: 3, express: true, user: { id: "u1" } });
      await fetch(`/api/pay?card=4242#frag`, { method: "POST" });
      await fetch("/api/missing?status=404");
      action.end("error");
      tl.log("debug", "below the level");
      await tl.flush();
      return { id: action.id, session: tl.sessionId(), api };
    }, live.server.origin("app.shop.test"));
    const bodies = ingest.requests.filter((r) => r.status === 200).map((r) => r.body);
    assert.ok(bodies.length >= 1);
    for (const r of ingest.requests) assert.equal(r.contentType, "application/json");
    const records = decodeOtlp(bodies);
    const byName = (name) => records.filter((r) => r.attributes["event.name"] === name);
    for (const r of records) {
      assert.equal(r.resource["service.name"], "shop-web");
      assert.equal(r.scope, "threadline");
      assert.match(r.attributes["event.id"], ID);
      assert.equal(r.attributes["session.id"], facts.session);
      assert.equal(r.attributes["url.path"], "/esm.html");
      assert.equal(r.traceId, r.attributes.correlation_id);
      assert.ok(r.timeUnixNano > 1.6e18);
    }
    assert.equal(new Set(records.map((r) => r.attributes["event.id"])).size, records.length);
    const [start] = byName("action.start");
    assert.equal(start.traceId, facts.id);
    assert.equal(start.attributes["action.name"], "checkout_submit");
    assert.equal(start.attributes.cart, 3);
    const [log] = byName("log");
    assert.equal(log.body, "paying");
    assert.equal(log.severityText, "INFO");
    assert.equal(log.severityNumber, 9);
    assert.equal(log.traceId, facts.id, "a log inside an action carries its ID");
    assert.deepEqual(
      [log.attributes.amount, log.attributes.items, log.attributes.express, log.attributes["user.id"]],
      [12.5, 3, true, "u1"],
    );
    assert.equal(records.filter((r) => r.body === "below the level").length, 0, "minLevel info drops debug");
    const requests = byName("http.request");
    assert.equal(requests.length, 2);
    const [pay, missing] = requests;
    assert.equal(pay.attributes["http.request.method"], "POST");
    assert.equal(pay.attributes["url.full"], `${facts.api}/api/pay`, "no query string or fragment");
    assert.equal(pay.attributes["http.response.status_code"], 200);
    assert.equal(pay.attributes.outcome, "ok");
    assert.equal(pay.attributes.attempt, 1);
    assert.equal(pay.attributes["http.response.correlation_id"], facts.id, "the server's echo");
    assert.equal(pay.traceId, facts.id);
    assert.ok(pay.attributes.duration_ms >= 0);
    assert.equal(missing.attributes.outcome, "http_error");
    assert.equal(missing.severityText, "WARN");
    const [end] = byName("action.end");
    assert.equal(end.attributes["action.outcome"], "error");
    assert.equal(end.attributes["action.requests"], 2);
    assert.ok(end.attributes.duration_ms >= 0);
    assert.ok(!ingest.requests.some((r) => r.headers["x-correlation-id"]), "uploads are never tagged");
  });

  test("minLevel applies to automatic events too", async () => {
    const { page } = await app({ minLevel: "warn", flushIntervalMs: 60_000 });
    await page.evaluate(async () => {
      const action = tl.startAction("quiet");
      await fetch("/api/fine");
      await fetch("/api/missing?status=404");
      action.end("error");
      tl.log("info", "too low");
      tl.log("warn", "high enough");
      await tl.flush();
    });
    const names = ingest.events().map((e) => `${e.attrs["event.name"]} ${e.body.stringValue}`);
    assert.ok(names.some((n) => /^http\.request .*\/api\/missing 404$/.test(n)), names.join("; "));
    assert.ok(names.includes("action.end quiet ended: error"));
    assert.ok(names.includes("log high enough"));
    assert.ok(!names.some((n) => /\/api\/fine|started|too low/.test(n)), names.join("; "));
  });

  test("url.path follows the page's own navigation, even between two calls in one task", async () => {
    const { page } = await app({ flushIntervalMs: 60_000 });
    await page.evaluate(async () => {
      tl.log("info", "before");
      history.pushState(null, "", "/cart/step-2?coupon=x#top");
      tl.log("info", "after push");
      history.replaceState(null, "", "/cart/step%203");
      tl.log("info", "after replace");
      location.hash = "summary";
      tl.log("info", "after hash");
      await tl.flush();
    });
    const paths = Object.fromEntries(ingest.events("log").map((e) => [e.body.stringValue, e.attrs["url.path"]]));
    assert.deepEqual(paths, {
      before: "/esm.html",
      "after push": "/cart/step-2",
      "after replace": "/cart/step%203",
      "after hash": "/cart/step%203",
    });
  });

  test("a request the app tagged itself is recorded under its ID, once; action.fetch is recorded once", async () => {
    const { page } = await app({ flushIntervalMs: 60_000 });
    const own = "0af7651916cd43dd8448eb211c80319c";
    const actionId = await page.evaluate(async (own) => {
      await fetch("/api/own-id", { headers: { "X-Correlation-ID": own } });
      const xhr = new XMLHttpRequest();
      xhr.open("GET", "/api/own-xhr");
      xhr.setRequestHeader("x-correlation-id", own);
      await new Promise((resolve) => {
        xhr.onloadend = resolve;
        xhr.send();
      });
      const action = tl.startAction("forced");
      await action.fetch("/api/forced");
      action.end();
      await tl.flush();
      return action.id;
    }, own);
    const requests = ingest.events("http.request");
    const byPath = (path) => requests.filter((e) => e.attrs["url.full"].endsWith(path));
    for (const path of ["/api/own-id", "/api/own-xhr"]) {
      const [event, ...more] = byPath(path);
      assert.equal(more.length, 0, `${path} recorded once`);
      assert.equal(event.attrs.correlation_id, own, "the app's own ID (echoed by the server)");
      assert.equal(event.attrs["http.response.correlation_id"], own);
      assert.ok(!("attempt" in event.attrs), "no attempt count for a request Threadline did not tag");
    }
    const received = live.server.received("/api/own-").map((r) => r.headers["x-correlation-id"]);
    assert.deepEqual(received, [own, own], "the app's header is sent as it was, not duplicated");
    const forced = byPath("/api/forced");
    assert.equal(forced.length, 1, "action.fetch is recorded once");
    assert.equal(forced[0].attrs.correlation_id, actionId);
  });

  test("uploads go through the original fetch: never tagged, never recorded, even to an allowed origin", async () => {
    ingest = await createIngest();
    await ingest.start();
    const { page, context } = await openEsmPage(live);
    contexts.push(context);
    await page.evaluate(async ({ endpoint, origin }) => {
      window.tl = await Threadline.init({ endpoint, propagateTo: [origin] });
      tl.log("info", "one");
      await tl.flush();
      tl.log("info", "two");
      await tl.flush();
    }, { endpoint: ingest.url, origin: ingest.origin });
    assert.equal(ingest.requests.length, 2);
    assert.ok(ingest.requests.every((r) => !r.headers["x-correlation-id"]));
    assert.equal(ingest.events("http.request").length, 0);
  });

  test("uncaught errors and unhandled rejections; console lines only when asked", async () => {
    const { page } = await app({ captureConsole: true });
    await page.evaluate(async () => {
      setTimeout(() => {
        throw new TypeError("x is undefined");
      });
      Promise.reject(new RangeError("too far"));
      Promise.reject("just a string");
      console.error("console says", { code: 7 });
      console.warn("careful");
      // Threadline's own warnings are console lines like any other.
      tl.setUser({ id: 7 });
      tl.log("loud", "shouted");
      await new Promise((r) => setTimeout(r, 100));
      await tl.flush();
    });
    const errors = ingest.events("error");
    const byType = Object.fromEntries(errors.map((e) => [e.attrs["exception.type"], e]));
    assert.equal(byType.TypeError.attrs["exception.message"], "x is undefined");
    assert.equal(byType.TypeError.attrs["error.source"], "error");
    assert.match(byType.TypeError.attrs["exception.stacktrace"], /esm\.html|eval|at /);
    assert.equal(byType.RangeError.attrs["error.source"], "unhandledrejection");
    assert.ok(errors.some((e) => e.body.stringValue === "Error: just a string"));
    const consoleLines = ingest.events("console").map((e) => [e.severityText, e.body.stringValue]);
    assert.deepEqual(consoleLines.slice(0, 2), [
      ["ERROR", 'console says {"code":7}'],
      ["WARN", "careful"],
    ]);
    assert.deepEqual(
      consoleLines.slice(2).map(([level, text]) => [level, text.slice(0, 31)]),
      [
        ["WARN", "Threadline: setUser(id): expect"],
        ["WARN", 'Threadline: log(level): expecte'],
      ],
    );
    assert.ok(ingest.events("log").some((e) => e.body.stringValue === "shouted" && e.severityText === "INFO"));

    const { page: quiet } = await openEsmPage(live).then((o) => (contexts.push(o.context), o));
    await quiet.evaluate(async (endpoint) => {
      window.tl = await Threadline.init({ endpoint });
      console.error("not captured");
      tl.log("info", "marker");
      await tl.flush();
    }, ingest.url);
    assert.equal(ingest.events("console").length, 4, "captureConsole is off by default");
  });

  test("hostile attributes never throw and come out safe; secrets are redacted, the list is configurable", async () => {
    const { page } = await app();
    const threw = await page.evaluate(async () => {
      const cycle = { name: "loop" };
      cycle.self = cycle;
      const deep = {};
      let at = deep;
      for (let i = 0; i < 50; i++) at = at.next = {};
      const hostile = {
        cycle,
        big: 2n ** 70n,
        small: 42n,
        fn: function namedFn() {},
        sym: Symbol("s"),
        node: document.getElementById("pay"),
        error: new Error("inner"),
        huge: "x".repeat(1 << 20),
        deep,
        nan: NaN,
        nothing: null,
        skipped: undefined,
        password: "hunter2",
        auth: { Authorization: "Bearer abc", apiKey: "k" },
        get trap() {
          throw new Error("getter");
        },
      };
      try {
        tl.log("warn", "hostile", hostile);
        tl.log("info", "not an object", "just text");
        tl.log("fatal", "odd level");
        tl.log("info", "nul \0 and soh \u0001 kept", { "\u0001key": "\u0001value", after: 1 });
        tl.log("error", 404);
        await tl.flush();
        return false;
      } catch (e) {
        return String(e);
      }
    });
    assert.equal(threw, false);
    const [event] = ingest.events("log").filter((e) => e.body.stringValue === "hostile");
    const a = event.attrs;
    assert.equal(a["cycle.name"], "loop");
    assert.equal(a["cycle.self"], "[circular]");
    assert.equal(a.big, (2n ** 70n).toString(), "a BigInt past 64 bits stays a string");
    assert.equal(a.small, "42", "OTLP JSON carries intValue as a string");
    assert.equal(a.fn, "[function namedFn]");
    assert.equal(a.sym, "Symbol(s)");
    assert.equal(a.node, "button#pay");
    assert.equal(a["error.type"], "Error");
    assert.equal(a["error.message"], "inner");
    assert.ok(a.huge.length < 5_000 && a.huge.endsWith("…[truncated]"));
    assert.ok(Object.keys(a).some((k) => k.startsWith("deep.next") && a[k] === "[object]"), "depth is capped");
    assert.equal(a.nan, "NaN");
    assert.equal(a.nothing, "null");
    assert.ok(!("skipped" in a));
    assert.equal(a.password, "[redacted]");
    assert.equal(a["auth.Authorization"], "[redacted]");
    assert.equal(a["auth.apiKey"], "[redacted]");
    assert.equal(a.trap, "[unreadable]");
    assert.ok(ingest.events("log").some((e) => e.body.stringValue === "odd level" && e.severityText === "INFO"));
    const [controls] = ingest.events("log").filter((e) => e.body.stringValue === "nul \0 and soh \u0001 kept");
    assert.ok(controls, "a message keeps its control characters");
    assert.equal(controls.attrs["\u0001key"], "\u0001value");
    assert.equal(controls.attrs.after, "1");
    assert.ok(ingest.events("log").some((e) => e.body.stringValue === "404" && e.severityText === "ERROR"), "a message that is not a string is described");
    assert.ok(ingest.requests.every((r) => !r.body.includes("hunter2") && !r.body.includes("Bearer abc")));

    const { page: custom } = await openEsmPage(live).then((o) => (contexts.push(o.context), o));
    await custom.evaluate(async (endpoint) => {
      window.tl = await Threadline.init({ endpoint, redactKeys: ["ssn"] });
      tl.log("info", "custom", { ssn: "123-45-6789", password: "shown" });
      await tl.flush();
    }, ingest.url);
    const [customEvent] = ingest.events("log").filter((e) => e.body.stringValue === "custom");
    assert.equal(customEvent.attrs.ssn, "[redacted]");
    assert.equal(customEvent.attrs.password, "shown");
  });

  test("an event keeps 64 attributes and counts every one left out, nested ones too", async () => {
    const { page } = await app();
    await page.evaluate(async () => {
      const flat = {};
      for (let i = 0; i < 300; i++) flat[`k${i}`] = i;
      const nested = { a: {}, b: {}, c: {} };
      for (const part of Object.values(nested)) for (let i = 0; i < 100; i++) part[`k${i}`] = "v";
      tl.log("info", "many flat", flat);
      tl.log("info", "many nested", nested);
      await tl.flush();
    });
    for (const message of ["many flat", "many nested"]) {
      const [event] = ingest.events("log").filter((e) => e.body.stringValue === message);
      const kept = Object.keys(event.attrs).filter((k) => /^[abc.]*k\d+$/.test(k));
      assert.equal(kept.length, 64, message);
      assert.equal(event.attrs["threadline.attributes_dropped"], "236", message);
    }
  });

  test("bad event options make init reject with the option's name", async () => {
    const { page, context } = await openEsmPage(live);
    contexts.push(context);
    const messages = await page.evaluate(async () => {
      const out = [];
      for (const options of [
        { endpoint: "/v1/logs", minLevel: "verbose" },
        { maxBatchBytes: 100 },
        { maxBatchEvents: 0 },
        { flushIntervalMs: "5s" },
        { maxQueueBytes: 1e12 },
        { captureConsole: "yes" },
        { redactKeys: "password" },
        { redactKeys: ["ok", 5] },
        { flushInterval: 5 },
      ]) {
        try {
          await Threadline.init(options);
          out.push("accepted");
        } catch (e) {
          out.push(e.message);
        }
      }
      return out;
    });
    assert.deepEqual(messages, [
      'Threadline init: minLevel: expected "debug", "info", "warn" or "error", got "verbose"',
      "Threadline init: maxBatchBytes: expected a number of bytes from 1024 to 1048576, got 100",
      "Threadline init: maxBatchEvents: expected a number of events from 1 to 1000, got 0",
      'Threadline init: flushIntervalMs: expected a number of milliseconds from 0 to 600000, got "5s"',
      "Threadline init: maxQueueBytes: expected a number of bytes from 16384 to 67108864, got 1000000000000",
      'Threadline init: captureConsole: expected true or false, got "yes"',
      'Threadline init: redactKeys: expected an array of key fragments such as ["password", "ssn"], got "password"',
      'Threadline init: redactKeys: expected an array of key fragments such as ["password", "ssn"], got 5',
      'Threadline init: flushInterval: unknown option (did you mean "flushIntervalMs"?)',
    ]);
  });
});

describe("log calls cross into the recorder together", () => {
  test("once the task's script has run, each with its own time, action and exact text", async () => {
    const { page } = await app({ flushIntervalMs: 60_000 });
    const text = "sep \0 \u0001 é😀 end";
    const facts = await page.evaluate(async (text) => {
      const first = tl.startAction("first");
      tl.log("info", "in the first action");
      first.end();
      tl.log("info", "after it");
      const from = Date.now();
      while (Date.now() - from < 30); // 30 ms of this task pass before the next call
      tl.log("warn", text, { "clé": "😀 \0 \u0001", lone: "\ud800" });
      const second = tl.startAction("second");
      tl.log("info", "in the second action");
      second.end();
      tl.log("bogus", "not a level");
      await tl.flush();
      return { first: first.id, second: second.id, session: tl.sessionId() };
    }, text);
    const records = decodeOtlp(ingest.requests.filter((r) => r.status === 200).map((r) => r.body));
    const logs = records.filter((r) => r.attributes["event.name"] === "log");
    assert.deepEqual(
      logs.map((r) => [r.body, r.traceId]),
      [
        ["in the first action", facts.first],
        ["after it", facts.session],
        [text, facts.session],
        ["in the second action", facts.second],
        ["not a level", facts.session],
      ],
      "in the order of the calls, each under the action current when it was made",
    );
    const [, after, late] = logs;
    const gap = Number(BigInt(late.timeUnixNano) - BigInt(after.timeUnixNano)) / 1e6;
    assert.ok(gap >= 30, `each call's own time, not the crossing's: ${gap} ms apart (${after.timeUnixNano}, ${late.timeUnixNano})`);
    assert.equal(late.severityText, "WARN");
    assert.deepEqual([late.attributes["clé"], late.attributes.lone], ["😀 \ufffd \u0001", "\ufffd"]);
    assert.equal(logs[4].severityText, "INFO", "not a level: recorded as info");
  });

  test("a log made while the recorder is busy (from a sendBeacon wrapper at page exit) still arrives", async () => {
    const { page } = await app({ flushIntervalMs: 60_000 });
    const inside = await page.evaluate(async () => {
      // An analytics wrapper around sendBeacon: the recorder calls it while it handles the
      // page being hidden, so a call back into it finds it busy.
      const original = navigator.sendBeacon;
      let inside;
      navigator.sendBeacon = function (url, data) {
        tl.log("info", "seen by the beacon wrapper");
        inside ??= tl.sessionId();
        return original.call(navigator, url, data);
      };
      tl.log("info", "before exit");
      window.dispatchEvent(new Event("pagehide"));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await tl.flush();
      return inside;
    });
    assert.equal(inside, null, "the recorder was busy when the wrapper called it");
    await until(() => storedMessages("").includes("seen by the beacon wrapper"), 5000, "the wrapper's log");
    assert.ok(storedMessages("").includes("before exit"));
    assert.ok(ingest.requests.some((r) => r.contentType.startsWith("text/plain")), "a beacon was sent");
  });
});

describe("batching", () => {
  test("a batch goes when it holds maxBatchEvents, or flushIntervalMs after its first event", async () => {
    const { page } = await app({ maxBatchEvents: 5, flushIntervalMs: 400 });
    const messages = await logMany(page, "batch", 12);
    await until(() => storedMessages("batch").length === 12, 5_000, "12 events");
    const sizes = ingest.requests.map((r) => r.records.length);
    assert.deepEqual(sizes, [5, 5, 2]);
    // The two full batches go at once, side by side (in either order); the last two wait.
    const firstSent = Math.min(ingest.requests[0].at, ingest.requests[1].at);
    assert.ok(ingest.requests[2].at - firstSent >= 300, "the last two waited for the interval");
    assertExactlyOnce(messages, "batch");
  });

  test("maxBatchBytes bounds a batch's size", async () => {
    const { page } = await app({ maxBatchBytes: 4096, flushIntervalMs: 60_000 });
    const messages = await logMany(page, "bytes", 20, { pad: "p".repeat(300) });
    await page.evaluate(() => tl.flush());
    await until(() => storedMessages("bytes").length === 20, 5_000, "20 events");
    assert.ok(ingest.requests.length > 1);
    for (const r of ingest.requests) assert.ok(r.records.length === 1 || r.body.length < 4096 + 1024);
    assertExactlyOnce(messages, "bytes");
  });
});

describe("delivery that loses nothing", () => {
  test("the endpoint refusing connections, then coming up", async () => {
    const { page } = await app({ flushIntervalMs: 100 }, { listening: false });
    const messages = await logMany(page, "refused", 10);
    await page.evaluate(() => tl.flush());
    await new Promise((r) => setTimeout(r, 1_500));
    await ingest.start();
    await until(() => storedMessages("refused").length === 10, 30_000, "10 events after the endpoint came up");
    assertExactlyOnce(messages, "refused");
  });

  test("503 three times, then 200: retried with growing back-off", async () => {
    let failures = 0;
    const { page } = await app({ flushIntervalMs: 100 });
    ingest.judge = () => (failures++ < 3 ? { status: 503 } : { status: 200 });
    const messages = await logMany(page, "unavailable", 5);
    await until(() => storedMessages("unavailable").length === 5, 20_000, "5 events");
    const times = ingest.requests.map((r) => r.at);
    assert.equal(ingest.requests.length, 4);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    assert.ok(gaps[0] >= 450 && gaps[1] >= 950 && gaps[2] >= 1_950, `back-off gaps ${gaps}`);
    assertExactlyOnce(messages, "unavailable");
  });

  test("429 with Retry-After: 2 waits two seconds", async () => {
    let first = true;
    const { page } = await app({ flushIntervalMs: 100 });
    ingest.judge = () => (first ? ((first = false), { status: 429, headers: { "Retry-After": "2" } }) : { status: 200 });
    const messages = await logMany(page, "limited", 3);
    await until(() => storedMessages("limited").length === 3, 10_000, "3 events");
    const [a, b] = ingest.requests;
    assert.ok(b.at - a.at >= 1_900, `retried after ${b.at - a.at} ms`);
    assertExactlyOnce(messages, "limited");
  });

  test("413 splits a batch in halves; a single event still too large is dropped and counted", async () => {
    const { page } = await app({ flushIntervalMs: 60_000 });
    ingest.judge = (r) => (r.records.length > 4 || r.body.length > 20_000 ? { status: 413 } : { status: 200 });
    const messages = await logMany(page, "split", 10);
    await page.evaluate(() => {
      const blob = {};
      for (let i = 0; i < 8; i++) blob[`part${i}`] = String(i).repeat(4_000);
      tl.log("info", "split-too-large", blob);
    });
    await page.evaluate(() => tl.flush());
    await until(() => storedMessages("split").length === 10 && ingest.requests.at(-1).records.length === 1, 10_000, "split delivery");
    // The drop report waits for the next batch like any event.
    await page.evaluate(() => tl.flush());
    await until(() => droppedCounts().too_large === 1, 5_000, "the drop report");
    assertExactlyOnce(messages, "split");
    assert.ok(ingest.requests.filter((r) => r.status === 200).every((r) => r.records.length <= 4));
  });

  test("400 drops the batch and counts it; later events still go", async () => {
    let first = true;
    const { page } = await app({ flushIntervalMs: 60_000 });
    ingest.judge = () => (first ? ((first = false), { status: 400 }) : { status: 200 });
    const rejected = await logMany(page, "rejected", 4);
    await page.evaluate(() => tl.flush());
    const later = await logMany(page, "later", 3);
    await page.evaluate(() => tl.flush());
    await until(() => storedMessages("later").length === 3 && droppedCounts().rejected_4xx, 10_000, "later events");
    assert.equal(storedMessages("rejected").length, 0);
    assert.equal(droppedCounts().rejected_4xx, rejected.length);
    assertExactlyOnce(later, "later");
    assert.equal(ingest.requests.filter((r) => r.status === 400).length, 1, "a 400 is not retried");
  });

  test("the browser offline, then online", async () => {
    const { page, context } = await app({ flushIntervalMs: 100 });
    await context.setOffline(true);
    const messages = await logMany(page, "offline", 6);
    await page.evaluate(() => tl.flush());
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(storedMessages("offline").length, 0);
    await context.setOffline(false);
    await until(() => storedMessages("offline").length === 6, 20_000, "6 events once online");
    assertExactlyOnce(messages, "offline");
  });

  test("flush resolves once events are persisted when the endpoint is down", async () => {
    const { page } = await app({ flushIntervalMs: 60_000 }, { listening: false });
    await logMany(page, "persisted", 3);
    const stored = await page.evaluate(async () => {
      await tl.flush();
      return Object.keys(localStorage)
        .filter((k) => k.startsWith("threadline.outbox."))
        .map((k) => localStorage.getItem(k))
        .join("");
    });
    for (let i = 0; i < 3; i++) assert.ok(stored.includes(`persisted-${i}`));
  });
});

describe("shutdown", () => {
  test("shutdown flushes, then stops: no more events, timers or retries; what failed waits in storage", async () => {
    const { page } = await app({ flushIntervalMs: 60_000 });
    const sent = await logMany(page, "before-shutdown", 3);
    await page.evaluate(async () => {
      await tl.shutdown();
      tl.log("info", "after-shutdown");
    });
    assertExactlyOnce(sent, "before-shutdown");
    const uploads = ingest.requests.length;
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(ingest.requests.length, uploads, "nothing is sent after shutdown");
    assert.equal(storedMessages("after-shutdown").length, 0);

    ingest.judge = () => ({ status: 503 });
    const failing = await page.evaluate(async (endpoint) => {
      window.tl = await Threadline.init({ endpoint, flushIntervalMs: 60_000 });
      for (let i = 0; i < 3; i++) tl.log("info", `failing-${i}`);
      await tl.shutdown();
      return Object.keys(localStorage).filter((k) => k.startsWith("threadline.outbox.")).length;
    }, ingest.url);
    assert.equal(failing, 1, "kept in storage");
    const attempts = ingest.requests.length;
    await new Promise((r) => setTimeout(r, 2_500));
    assert.equal(ingest.requests.length, attempts, "no retries after shutdown");
    ingest.judge = () => ({ status: 200 });
    await page.evaluate(async (endpoint) => {
      window.tl = await Threadline.init({ endpoint });
    }, ingest.url);
    await until(() => storedMessages("failing").length === 3, 10_000, "the stored events on the next init");
  });
});

describe("no loss on page exit", () => {
  for (const beacons of [true, false]) {
    const how = beacons ? "beacon accepted" : "beacon refused: storage carries them";
    test(`the page reloaded with events pending (${how})`, async () => {
      const { page } = await app({ flushIntervalMs: 60_000 });
      ingest.judge = (r) => (r.contentType?.startsWith("text/plain") && !beacons ? { status: 503 } : { status: 200 });
      const messages = await logMany(page, "reload", 8);
      await page.reload();
      await page.waitForFunction(() => window.Threadline);
      await page.evaluate(async (endpoint) => {
        window.tl = await Threadline.init({ endpoint, flushIntervalMs: 60_000 });
      }, ingest.url);
      await until(() => storedMessages("reload").length === 8, 10_000, "8 events after reload");
      assertExactlyOnce(messages, "reload");
      if (beacons) assert.ok(ingest.requests.some((r) => r.contentType.startsWith("text/plain")), "a beacon was sent");
    });
  }

  test("the tab closed with events pending: they arrive after the next load", async () => {
    const { page, context } = await app({ flushIntervalMs: 60_000 }, { listening: false });
    const messages = await logMany(page, "closed", 5);
    await page.close({ runBeforeUnload: true });
    await ingest.start();
    const next = await context.newPage();
    await next.goto(`${live.server.origin("app.shop.test")}/esm.html`);
    await next.waitForFunction(() => window.Threadline);
    await next.evaluate(async (endpoint) => {
      window.tl = await Threadline.init({ endpoint });
    }, ingest.url);
    await until(() => storedMessages("closed").length === 5, 10_000, "5 events on the next load");
    assertExactlyOnce(messages, "closed");
  });
});

describe("bounded memory", () => {
  test("1000 requests in flight at once are each recorded once", async () => {
    const { page } = await app({ flushIntervalMs: 60_000 });
    const statuses = await page.evaluate(async () => {
      const responses = await Promise.all(Array.from({ length: 1000 }, (_, i) => fetch(`/api/burst/${i}`)));
      await tl.flush();
      return responses.map((r) => r.status);
    });
    assert.ok(statuses.every((s) => s === 200));
    const paths = ingest.events("http.request").map((e) => new URL(e.attrs["url.full"]).pathname).filter((p) => p.startsWith("/api/burst/"));
    assert.equal(paths.length, 1000);
    assert.equal(new Set(paths).size, 1000);
  });

  test("10,000 events in a burst with the endpoint down: the queue stays bounded, drops are counted", async () => {
    const { page } = await app({ flushIntervalMs: 100, maxStorageBytes: 0 }, { listening: false });
    const total = 10_000;
    const logged = await page.evaluate((total) => {
      for (let i = 0; i < total; i++) tl.log("info", `burst-${i}`, { i, pad: "x".repeat(100) });
      return total;
    }, total);
    await ingest.start();
    await page.evaluate(() => tl.flush());
    await until(
      () => storedMessages("burst").length + (droppedCounts().queue_full || 0) === logged,
      60_000,
      "every burst event stored or counted",
    );
    const stored = storedMessages("burst");
    const dropped = droppedCounts().queue_full;
    assert.ok(dropped > 0, "past 1 MiB the oldest are dropped");
    assert.ok(stored.length < 4_000, `at most ~1 MiB of events was kept (${stored.length})`);
    assert.equal(new Set(stored).size, stored.length);
    assert.ok(stored.includes(`burst-${total - 1}`), "the newest are kept");
  });
});
