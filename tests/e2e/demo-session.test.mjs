// The demo's session and its live order-status socket, end to end on real parts: what `npm start`
// runs (the collector with its SQLite file, the shop, checkout, payments, the worker, the
// socket), headless Chromium. The user pays twice in one session, once successfully and once
// with payments failing; after each checkout answer the page asks the socket for the order's
// status and shows the reply. A search by the session ID returns the page's events and every
// backend line the session caused; a search by an action's ID shows the socket's messages.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ID, launchBrowser } from "./harness.mjs";
import { startDemo } from "./demo-start.mjs";

let demo;
let browser;
before(async () => {
  demo = await startDemo();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  demo?.stop();
});

/**
 * The collector's search for `id`: its records as `GET /api/search?id=` returns them (oldest
 * first), read from a page on the collector's origin with the read token `npm start` printed.
 * Both sides ship in batches, so it asks again until `complete(records)` holds or 15 s pass.
 * @param {import("playwright-core").BrowserContext} context
 * @param {string} id
 * @param {(records: any[]) => boolean} complete
 */
async function searchCollector(context, id, complete) {
  const page = await context.newPage();
  await page.goto(`${demo.collectorUrl}/`);
  const token = /Read token: ([0-9a-f]{32})/.exec(demo.output())?.[1];
  assert.ok(token, "npm start printed the read token");
  let records = [];
  for (let i = 0; i < 60; i++) {
    records = await page.evaluate(async ({ id, token }) => {
      const answer = await fetch(`/api/search?id=${id}`, { headers: { Authorization: `Bearer ${token}` } });
      return (await answer.json()).records;
    }, { id, token });
    if (complete(records)) break;
    await page.waitForTimeout(250);
  }
  await page.close();
  return records;
}

const ANSI = /\x1b\[[0-9;]*m/g;
/**
 * The backend's own lines (INFO and above; its HTTP libraries trace below that) printed on stdout
 * inside a span naming `session`, without colours.
 */
const printedLines = (session) =>
  demo.output().replace(ANSI, "").split("\n")
    .filter((line) => /^\S+\s+(INFO|WARN|ERROR) /.test(line) && line.includes(`session.id="${session}"`));

/** A record attribute's value (the search answer keeps OTLP's typed values). */
const attr = (r, key) => {
  const value = r.attributes?.[key];
  return value && Object.values(value)[0];
};
const eventName = (r) => attr(r, "event.name");
const ms = (r) => BigInt(r.time_unix_nano) / 1_000_000n;

describe("the session's story and the order-status socket", () => {
  test("two payments in one session: the socket answers each, the session search holds every line", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e));
    /** What crossed the socket, as Chromium saw it. */
    const frames = { sent: [], received: [] };
    page.on("websocket", (ws) => {
      ws.on("framesent", (f) => frames.sent.push({ url: ws.url(), body: JSON.parse(f.payload) }));
      ws.on("framereceived", (f) => frames.received.push({ url: ws.url(), body: JSON.parse(f.payload) }));
    });
    /** The headers of each checkout request, as sent. */
    const checkouts = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname === "/api/checkout") checkouts.push(r.headers());
    });
    await page.goto(demo.shopUrl);
    await page.waitForFunction(() => window.tl);
    const session = await page.evaluate(() => tl.sessionId());
    assert.match(session, ID);
    assert.equal(await page.locator("#session").textContent(), session, "the page shows its session");
    assert.equal(await page.locator("#collector").getAttribute("href"), `${demo.collectorUrl}/?id=${session}`);
    const status = page.locator("#order-status");
    await page.getByText("Order status: connected").waitFor();

    await page.click("#pay");
    await page.getByText("Paid. Thank you!").waitFor();
    await page.getByText("Order status: paid").waitFor();

    await page.check("input[name=payments][value='502']");
    await page.click("#pay");
    const dialog = page.getByRole("alertdialog");
    await dialog.waitFor();
    await page.getByText("Order status: payment_failed").waitFor();
    assert.equal(await status.textContent(), "Order status: payment_failed", "the page shows the socket's reply");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    await page.evaluate(() => tl.flush());

    // On the wire: each status request carries its action's ID (the one its checkout carried)
    // and the session; each reply names the same ID.
    assert.equal(frames.sent.length, 2, JSON.stringify(frames));
    assert.equal(frames.received.length, 2, JSON.stringify(frames));
    assert.equal(checkouts.length, 2);
    const actions = frames.sent.map((f) => f.body.correlation_id);
    for (const [i, expected] of ["paid", "payment_failed"].entries()) {
      const sent = frames.sent[i];
      assert.equal(new URL(sent.url).pathname, "/ws/orders");
      assert.equal(sent.body.type, "order_status");
      assert.match(sent.body.correlation_id, ID);
      assert.equal(sent.body.session_id, session);
      assert.equal(checkouts[i]["x-correlation-id"], sent.body.correlation_id, "the message carries its checkout's action ID");
      assert.match(checkouts[i].baggage, new RegExp(`(^|,)\\s*session\\.id=${session}\\s*(,|$)`), "same-origin requests carry the session");
      assert.deepEqual(frames.received[i].body, { correlation_id: sent.body.correlation_id, status: expected });
    }
    assert.notEqual(actions[0], actions[1], "each click is its own action");

    // An action's story: the page's ws.send, the socket's line, the page's ws.message, in time
    // order (the page stamps its events in whole milliseconds, so order is asserted at that
    // resolution), after checkout's answer.
    for (const action of actions) {
      const story = await searchCollector(context, action, (rs) =>
        rs.some((r) => eventName(r) === "ws.send") &&
        rs.some((r) => eventName(r) === "ws.message") &&
        rs.some((r) => r.service === "order_status"));
      const send = story.find((r) => eventName(r) === "ws.send");
      const line = story.find((r) => r.service === "order_status");
      const message = story.find((r) => eventName(r) === "ws.message");
      assert.ok(send && line && message, `${action}: ${JSON.stringify(story, null, 1)}`);
      for (const r of [send, line, message]) assert.equal(r.correlation_id, action);
      assert.equal(send.scope, "threadline");
      assert.equal(message.scope, "threadline");
      assert.match(attr(send, "url.full"), /^ws:\/\/127\.0\.0\.1:\d+\/ws\/orders$/);
      assert.equal(line.message, "order status requested");
      assert.equal(line.session_id, session, "the socket's line carries the message's session");
      assert.ok(story.indexOf(send) < story.indexOf(line) || ms(send) === ms(line), "ws.send before the socket's line");
      assert.ok(story.indexOf(line) < story.indexOf(message) || ms(line) === ms(message), "the socket's line before ws.message");
      assert.ok(ms(send) <= ms(line) && ms(line) <= ms(message), `times: ${[send, line, message].map((r) => r.time_unix_nano)}`);
      const answered = story.find((r) => r.service === "checkout" && /payment accepted|payments failed/.test(r.message));
      assert.ok(answered && ms(answered) <= ms(send), "the status is asked after checkout answered");
      const times = story.map((r) => BigInt(r.time_unix_nano));
      assert.deepEqual([...times].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), times, "oldest first");
    }

    // The session's story: the page's events and every backend line naming the session, as
    // printed by the demo on stdout, of checkout, payments, the worker and the socket, for both
    // actions.
    const backendServices = ["checkout", "payments", "worker", "order_status"];
    const complete = (rs) => {
      const printed = printedLines(session);
      const backend = rs.filter((r) => r.scope !== "threadline");
      return backend.length >= printed.length &&
        backendServices.every((s) => actions.every((a) => backend.some((r) => r.service === s && r.correlation_id === a))) &&
        actions.every((a) => rs.some((r) => eventName(r) === "ws.message" && r.correlation_id === a)) &&
        rs.some((r) => eventName(r) === "ui.error_dialog.open");
    };
    const records = await searchCollector(context, session, complete);
    assert.ok(complete(records), JSON.stringify(records, null, 1));
    assert.ok(records.every((r) => r.session_id === session), "every record is of this session");
    const browserEvents = records.filter((r) => r.scope === "threadline");
    const backend = records.filter((r) => r.scope !== "threadline");
    for (const action of actions) {
      const names = browserEvents.filter((r) => r.correlation_id === action).map(eventName);
      for (const name of ["action.start", "http.request", "ws.send", "ws.message"]) {
        assert.ok(names.includes(name), `${action}: ${name} in ${names}`);
      }
    }
    assert.ok(browserEvents.some((r) => eventName(r) === "ui.error_dialog.open"));
    const printed = printedLines(session);
    assert.ok(printed.length >= 2 * 7, `the demo printed the session's lines: ${printed.join("\n")}`);
    assert.equal(backend.length, printed.length, `every printed line is in the store:\n${printed.join("\n")}\n${JSON.stringify(backend, null, 1)}`);
    for (const line of printed) {
      assert.ok(backend.some((r) => line.includes(r.correlation_id) && line.includes(r.message)), `stored: ${line}`);
    }
    for (const service of backendServices) {
      for (const action of actions) {
        assert.ok(backend.some((r) => r.service === service && r.correlation_id === action), `${service} line of ${action}`);
      }
    }
    assert.ok(backend.some((r) => r.service === "payments" && /card processor unavailable/.test(r.message)));
    assert.ok(backend.some((r) => r.service === "worker" && /processing job send-receipt/.test(r.message)));
    assert.ok(backend.some((r) => r.service === "worker" && /processing job record-failed-payment/.test(r.message)));
    assert.deepEqual(errors, []);
    await context.close();
  });
});
