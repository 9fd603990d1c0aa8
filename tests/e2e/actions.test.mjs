// Which ID each request carries: actions in a row, background requests, action.fetch, retries
// that keep their ID, and automatic actions started by clicks and submits.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ID, loopbackAndBrowser, openEsmPage } from "./harness.mjs";

const live = loopbackAndBrowser();

async function app(options = {}) {
  const opened = await openEsmPage(live);
  await opened.page.evaluate(async (options) => {
    window.tl = await Threadline.init(options);
  }, options);
  return opened;
}

const idsOf = (prefix) => live.server.received(prefix).map((r) => r.headers["x-correlation-id"]);

describe("explicit actions", () => {
  test("two actions in a row get different IDs; the same action started twice gets two", async () => {
    const { page, context } = await app();
    const ids = await page.evaluate(async () => {
      const a = tl.startAction("checkout_submit");
      await fetch("/api/row/a1");
      await fetch("/api/row/a2");
      a.end("ok");
      const b = tl.startAction("checkout_submit");
      await fetch("/api/row/b1");
      b.end("error");
      return [a.id, b.id];
    });
    assert.match(ids[0], ID);
    assert.notEqual(ids[0], ids[1]);
    assert.deepEqual(idsOf("/api/row/"), [ids[0], ids[0], ids[1]]);
    await context.close();
  });

  test("requests outside any action get IDs of their own: never the session's, never a stale action's", async () => {
    const { page, context } = await app();
    const { actionId, sessionId, current } = await page.evaluate(async () => {
      const a = tl.startAction("open_cart");
      await fetch("/api/bg/in-action");
      a.end();
      for (let i = 0; i < 3; i++) await fetch(`/api/bg/poll`);
      return { actionId: a.id, sessionId: tl.sessionId(), current: tl.currentAction() };
    });
    assert.equal(current, null);
    const [inAction, ...polls] = idsOf("/api/bg/");
    assert.equal(inAction, actionId);
    assert.equal(new Set(polls).size, 3, "each background request has its own ID");
    for (const id of polls) {
      assert.match(id, ID);
      assert.notEqual(id, actionId);
      assert.notEqual(id, sessionId);
    }
    await context.close();
  });

  test("action.fetch uses its action's ID even after another action started", async () => {
    const { page, context } = await app();
    const ids = await page.evaluate(async () => {
      const first = tl.startAction("upload");
      const second = tl.startAction("search");
      const response = await first.fetch("/api/action-fetch/first", { headers: { "X-App": "1" } });
      await fetch("/api/action-fetch/global");
      return { first: first.id, second: second.id, current: tl.currentAction().id, status: response.status };
    });
    assert.equal(ids.status, 200);
    assert.equal(ids.current, ids.second);
    assert.deepEqual(idsOf("/api/action-fetch/"), [ids.first, ids.second]);
    assert.equal(live.server.received("/api/action-fetch/first")[0].headers["x-app"], "1");
    await context.close();
  });

  test("currentAction() is the started action until it ends or another starts", async () => {
    const { page, context } = await app();
    const seen = await page.evaluate(() => {
      const out = [tl.currentAction(), tl.debugId()];
      const a = tl.startAction("a");
      out.push(tl.currentAction() === a, tl.currentAction().name, tl.debugId() === a.id);
      const b = tl.startAction("b");
      out.push(tl.currentAction() === b);
      a.end();
      out.push(tl.currentAction() === b);
      b.end();
      b.end();
      out.push(tl.currentAction(), tl.debugId());
      return out;
    });
    // Nothing current and nothing failed: null for both, as index.d.ts says (not undefined).
    assert.deepStrictEqual(seen, [null, null, true, "a", true, true, true, null, null]);
    await context.close();
  });
});

describe("retries keep the ID", () => {
  test("a fetch repeated after 503s keeps its ID; after success the next one gets a new ID", async () => {
    const { page, context } = await app();
    const statuses = await page.evaluate(async () => {
      const out = [];
      for (let i = 0; i < 3; i++) out.push((await fetch("/api/flaky/order?fail=2", { method: "POST" })).status);
      out.push((await fetch("/api/flaky/order?fail=2", { method: "POST" })).status);
      return out;
    });
    assert.deepEqual(statuses, [503, 503, 200, 200]);
    const ids = idsOf("/api/flaky/order");
    assert.match(ids[0], ID);
    assert.deepEqual(ids.slice(0, 3), [ids[0], ids[0], ids[0]], "the retries carry the failed request's ID");
    assert.notEqual(ids[3], ids[0], "a new request after success has a new ID");
    await context.close();
  });

  test("a failure inside an action is retried with the action's ID after the action ended", async () => {
    const { page, context } = await app();
    const actionId = await page.evaluate(async () => {
      const a = tl.startAction("pay");
      await fetch("/api/flaky/pay?fail=1");
      a.end("error");
      await fetch("/api/flaky/pay?fail=1");
      return a.id;
    });
    assert.deepEqual(idsOf("/api/flaky/pay"), [actionId, actionId]);
    await context.close();
  });

  test("the same Request object sent twice keeps its ID", async () => {
    const { page, context } = await app();
    await page.evaluate(async () => {
      const request = new Request("/api/same-request/x");
      await fetch(request);
      await fetch(request);
      await fetch(new Request("/api/same-request/x"));
    });
    const ids = idsOf("/api/same-request/");
    assert.equal(ids.length, 3);
    assert.equal(ids[1], ids[0]);
    assert.notEqual(ids[2], ids[0]);
    await context.close();
  });

  test("a network error counts as a failure: the retry keeps the ID; retryWindowSeconds: 0 turns it off", async () => {
    for (const [retryWindowSeconds, expectSame] of [[30, true], [0, false]]) {
      // A port nobody listens on yet: the first attempt is refused, then a server comes up.
      const late = await lateServer();
      const api = `http://api.shop.test:${late.port}`;
      const { page, context } = await app({ retryWindowSeconds, propagateTo: [api] });
      const attempted = [];
      page.on("request", (r) => {
        if (r.url().startsWith(`${api}/api/`)) attempted.push(r.headers()["x-correlation-id"]);
      });
      const first = await page.evaluate((api) => fetch(`${api}/api/refused`).then(() => "ok", () => "refused"), api);
      assert.equal(first, "refused");
      await late.listen();
      const second = await page.evaluate((api) => fetch(`${api}/api/refused`).then((r) => r.status), api);
      assert.equal(second, 200);
      const arrived = late.received.map((h) => h["x-correlation-id"]);
      assert.equal(arrived.length, 1);
      assert.match(attempted[0], ID);
      assert.equal(arrived[0] === attempted[0], expectSame, `retryWindowSeconds ${retryWindowSeconds}`);
      await context.close();
      await late.close();
    }
  });
});

/** A server on a port reserved now but listened on only when `listen()` is called. */
async function lateServer() {
  const { createServer } = await import("node:http");
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = probe.address().port;
  await new Promise((resolve) => probe.close(resolve));
  const received = [];
  const http = createServer((req, res) => {
    res.setHeader("Access-Control-Allow-Origin", req.headers.origin || "*");
    if (req.method === "OPTIONS") {
      res.setHeader("Access-Control-Allow-Headers", req.headers["access-control-request-headers"] || "");
      return res.writeHead(204).end();
    }
    received.push(req.headers);
    res.writeHead(200).end("ok");
  });
  return {
    port,
    received,
    listen: () => new Promise((resolve) => http.listen(port, "127.0.0.1", resolve)),
    close: () => new Promise((resolve) => {
      http.closeAllConnections();
      http.close(resolve);
    }),
  };
}

describe("automatic actions", () => {
  /** Makes each listed element fetch `/api/auto/<element id>` twice when clicked. */
  async function fetchOnClick(page, ids) {
    await page.evaluate((ids) => {
      window.seen = [];
      for (const id of ids) {
        document.getElementById(id).addEventListener("click", async (event) => {
          if (id === "link") event.preventDefault();
          const action = tl.currentAction();
          window.seen.push(action && { id: action.id, name: action.name });
          await fetch(`/api/auto/${id}/1`);
          await fetch(`/api/auto/${id}/2`);
        });
      }
    }, ids);
  }

  test("a click on a button starts an action named after it that its requests carry, and it ends by itself", async () => {
    const { page, context } = await app();
    await fetchOnClick(page, ["pay", "plain", "link", "menu", "long"]);
    await page.click("#pay");
    await page.waitForFunction(() => tl.currentAction() === null);
    await page.click("#pay");
    await page.waitForFunction(() => tl.currentAction() === null);
    for (const id of ["plain", "link", "menu", "long"]) {
      await page.click(`#${id}`);
      await page.waitForFunction(() => tl.currentAction() === null);
    }
    const seen = await page.evaluate(() => window.seen);
    assert.deepEqual(seen.map((s) => s.name), [
      "checkout_submit",
      "checkout_submit",
      "Save changes",
      "Show details",
      "Open menu",
      "Confirm and place this order now, charging the saved card ending",
    ]);
    assert.equal(seen[5].name.length, 64, "names are trimmed to 64 characters");
    assert.notEqual(seen[0].id, seen[1].id, "clicking the same button again is a new action");
    await page.waitForFunction(() => tl.currentAction() === null);
    const ids = idsOf("/api/auto/pay/");
    assert.deepEqual(ids, [seen[0].id, seen[0].id, seen[1].id, seen[1].id]);
    assert.deepEqual(idsOf("/api/auto/plain/"), [seen[2].id, seen[2].id]);
    await context.close();
  });

  test("the automatic action waits for its requests to settle, then 100 ms of quiet", async () => {
    const { page, context } = await app();
    const timeline = await page.evaluate(async () => {
      const pay = document.getElementById("pay");
      let done;
      const finished = new Promise((resolve) => { done = resolve; });
      pay.addEventListener("click", async () => {
        await fetch("/api/slow/1?status=200");
        await new Promise((r) => setTimeout(r, 50));
        await fetch("/api/slow/2");
        done(performance.now());
      });
      pay.click();
      const id = tl.currentAction().id;
      const end = await finished;
      const afterRequests = tl.currentAction()?.id;
      while (tl.currentAction()) await new Promise((r) => setTimeout(r, 10));
      return { id, afterRequests, quiet: performance.now() - end };
    });
    assert.equal(timeline.afterRequests, timeline.id, "still current right after its requests");
    assert.ok(timeline.quiet >= 90, `ended ${timeline.quiet} ms after the last request settled`);
    assert.deepEqual(idsOf("/api/slow/"), [timeline.id, timeline.id]);
    await context.close();
  });

  test("a form submitted by its button is one action; clicks on other elements start none", async () => {
    const { page, context } = await app();
    await page.evaluate(() => {
      window.actions = [];
      document.getElementById("form").addEventListener("submit", async (event) => {
        event.preventDefault();
        window.actions.push(tl.currentAction()?.id);
        await fetch("/api/form/submit", { method: "POST" });
      });
      document.getElementById("nothing").addEventListener("click", () => {
        window.actions.push(tl.currentAction());
      });
    });
    await page.click("#subscribe");
    const clickId = await page.evaluate(() => tl.currentAction()?.id);
    await page.waitForFunction(() => tl.currentAction() === null);
    await page.click("#nothing");
    const actions = await page.evaluate(() => window.actions);
    assert.match(actions[0], ID);
    assert.equal(actions[0], clickId);
    assert.equal(actions[1], null);
    assert.deepEqual(idsOf("/api/form/"), [actions[0]]);
    await context.close();
  });

  test("a submit is named by the form's data-action, else its submitter, else the form's label", async () => {
    const { page, context } = await app();
    const names = await page.evaluate(async () => {
      const form = document.getElementById("form");
      const seen = [];
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        seen.push(tl.currentAction()?.name);
      });
      const quiet = async () => {
        while (tl.currentAction()) await new Promise((r) => setTimeout(r, 10));
      };
      form.requestSubmit(document.getElementById("subscribe"));
      await quiet();
      form.requestSubmit();
      await quiet();
      form.setAttribute("data-action", "  join\n newsletter ");
      form.requestSubmit(document.getElementById("subscribe"));
      return seen;
    });
    assert.deepEqual(names, ["Subscribe", "Newsletter", "join newsletter"]);
    await context.close();
  });

  test("clicks do not replace an explicit action, and autoActions: false turns them off", async () => {
    const { page, context } = await app();
    const [explicitId, duringClick] = await page.evaluate(() => {
      const a = tl.startAction("wizard");
      document.getElementById("pay").click();
      return [a.id, tl.currentAction().id];
    });
    assert.equal(duringClick, explicitId);
    await context.close();

    const off = await app({ autoActions: false });
    const current = await off.page.evaluate(() => {
      document.getElementById("pay").click();
      return tl.currentAction();
    });
    assert.equal(current, null);
    await off.context.close();
  });
});
