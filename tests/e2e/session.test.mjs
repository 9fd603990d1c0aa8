// The session on the backend: same-origin requests tell the backend the session in `baggage`
// by default, cross-origin ones when asked (or as a plain header); the app's opaque user ID on
// events; WebSocket messages carrying the action's and the session's IDs.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { afterEach, describe, test } from "node:test";
import { ID, loopbackAndBrowser, openEsmPage } from "./harness.mjs";
import { createIngest, until } from "./ingest.mjs";

const require = createRequire(new URL("./libs/package.json", import.meta.url));
const { WebSocketServer } = require("ws");

const live = loopbackAndBrowser();
const cleanup = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()();
});

async function page() {
  const opened = await openEsmPage(live);
  cleanup.push(() => opened.context.close());
  return opened;
}

async function endpoint() {
  const ingest = await createIngest();
  await ingest.start();
  cleanup.push(() => ingest.stop());
  return ingest;
}

const api = () => `http://api.shop.test:${live.server.otherPort}`;

describe("the session reaches the backend", () => {
  test("same-origin requests carry baggage: session.id by default; cross-origin ones only when asked", async () => {
    const { page: p } = await page();
    const session = await p.evaluate(async (api) => {
      const tl = await Threadline.init({ propagateTo: [api] });
      await fetch("/api/session/same");
      await fetch(`${api}/api/session/cross`);
      return tl.sessionId();
    }, api());
    assert.equal(live.server.received("/api/session/same")[0].headers.baggage, `session.id=${session}`);
    const cross = live.server.received("/api/session/cross")[0];
    assert.match(cross.headers["x-correlation-id"], ID);
    assert.equal(cross.headers.baggage, undefined, "no CORS change is needed by default");
  });

  test("sendSession: \"all\" sends it everywhere; sessionHeader sends it as a plain header; false sends none", async () => {
    for (const [options, expect] of [
      [{ sendSession: "all" }, (r, s) => assert.equal(r.headers.baggage, `session.id=${s}`)],
      [{ sendSession: "all", sessionHeader: "X-Session-ID" }, (r, s) => {
        assert.equal(r.headers["x-session-id"], s);
        assert.equal(r.headers.baggage, undefined);
      }],
      [{ sendSession: false }, (r) => assert.equal(r.headers.baggage, undefined)],
    ]) {
      const { page: p, context } = await openEsmPage(live);
      const tag = JSON.stringify(options).replace(/\W/g, "");
      const session = await p.evaluate(async ({ api, options, tag }) => {
        const tl = await Threadline.init({ propagateTo: [api], ...options });
        await fetch(`${api}/api/session/${tag}`);
        return tl.sessionId();
      }, { api: api(), options, tag });
      expect(live.server.received(`/api/session/${tag}`)[0], session);
      await context.close();
    }
  });

  test("bad session options are refused with the option's name", async () => {
    const { page: p } = await page();
    const errors = await p.evaluate(async () => {
      const out = [];
      for (const options of [{ sendSession: "sometimes" }, { sessionHeader: "Cookie" }, { sessionHeader: "x-correlation-id" }]) {
        out.push(await Threadline.init(options).then(() => "resolved", (e) => e.message));
      }
      return out;
    });
    assert.match(errors[0], /^Threadline init: sendSession: expected "same-origin", "all" or false, got "sometimes"/);
    assert.match(errors[1], /^Threadline init: sessionHeader: expected a header name a page may set/);
    assert.match(errors[2], /^Threadline init: sessionHeader: expected a header name other than the correlation header's/);
  });

  test("setUser puts an opaque user ID on every event, in baggage only when enabled, and refuses an e-mail address", async () => {
    const ingest = await endpoint();
    const { page: p, warnings } = await page();
    await p.evaluate(async (url) => {
      window.tl = await Threadline.init({ endpoint: url, userInBaggage: true });
      tl.setUser("u_8f3a9c");
      tl.setUser("ann@example.com");
      tl.log("info", "with user");
      await fetch("/api/session/user");
      tl.setUser(null);
      tl.log("info", "without user");
      await tl.flush();
    }, ingest.url);
    await until(() => ingest.events("log").length === 2, 5_000);
    const byMessage = Object.fromEntries(ingest.events("log").map((e) => [e.body.stringValue, e.attrs]));
    assert.equal(byMessage["with user"]["user.id"], "u_8f3a9c");
    assert.equal(byMessage["without user"]["user.id"], undefined);
    assert.match(live.server.received("/api/session/user")[0].headers.baggage, /^session\.id=[0-9a-f]{32},user\.id=u_8f3a9c$/);
    assert.ok(warnings.some((w) => w.includes("setUser(id): expected an opaque user ID")), "the e-mail address was refused");
  });
});

describe("WebSockets", () => {
  test("messages sent inside an action carry its ID and the session; replies are recorded under the ID they carry", async () => {
    const ingest = await endpoint();
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise((resolve) => wss.once("listening", resolve));
    cleanup.push(() => new Promise((resolve) => wss.close(resolve)));
    const received = [];
    wss.on("connection", (socket) => {
      socket.on("message", (data) => {
        const text = data.toString();
        received.push(text);
        if (text.startsWith("{")) {
          const { correlation_id: id } = JSON.parse(text);
          if (id) socket.send(JSON.stringify({ correlation_id: id, status: "paid" }));
        }
      });
    });
    const { page: p } = await page();
    const ids = await p.evaluate(async ({ url, ws }) => {
      window.tl = await Threadline.init({ endpoint: url });
      const socket = tl.socket(new WebSocket(ws));
      await new Promise((resolve) => socket.addEventListener("open", resolve));
      const reply = new Promise((resolve) => socket.addEventListener("message", (e) => resolve(e.data)));
      const action = tl.startAction("watch_order");
      socket.send('{"type":"watch","order":12345678901234567890}');
      socket.send("ping");
      socket.send("{}");
      const answer = await reply;
      action.end();
      await new Promise((r) => setTimeout(r, 100));
      await tl.flush();
      return { action: action.id, session: tl.sessionId(), answer };
    }, { url: ingest.url, ws: `ws://127.0.0.1:${wss.address().port}/orders` });
    assert.deepEqual(received, [
      `{"correlation_id":"${ids.action}","session_id":"${ids.session}","type":"watch","order":12345678901234567890}`,
      "ping",
      `{"correlation_id":"${ids.action}","session_id":"${ids.session}"}`,
    ]);
    assert.equal(JSON.parse(ids.answer).status, "paid");
    await until(() => ingest.events("ws.message").length > 0, 5_000);
    const sends = ingest.events("ws.send");
    assert.equal(sends.length, 3);
    for (const e of sends) assert.equal(e.attrs.correlation_id, ids.action);
    const [message] = ingest.events("ws.message");
    assert.equal(message.attrs.correlation_id, ids.action);
    assert.equal(message.attrs["url.full"], `ws://127.0.0.1:${wss.address().port}/orders`);
  });
});
