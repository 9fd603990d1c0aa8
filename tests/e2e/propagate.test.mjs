// The propagation-only entry (`threadline/propagate`): the same IDs and headers from a wasm built
// without the event pipeline, which it downloads instead of the full one; event options are
// refused, naming the full entry.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ID, loopbackAndBrowser, openPage } from "./harness.mjs";

const live = loopbackAndBrowser();

test("the propagation-only bundles carry none of the event pipeline's glue; the full ones do", () => {
  const bundle = (name) => readFileSync(new URL(`../../dist/${name}`, import.meta.url), "utf8");
  // Uploads, beacons and the page's lifecycle and errors: words minifying keeps.
  const words = ["sendBeacon", "Retry-After", "unhandledrejection", "visibilitychange"];
  for (const name of ["threadline-propagate.mjs", "threadline-propagate.js"]) {
    assert.deepEqual(words.filter((w) => bundle(name).includes(w)), [], name);
  }
  for (const name of ["threadline.mjs", "threadline.js"]) assert.deepEqual(words.filter((w) => bundle(name).includes(w)), words, name);
});

/** Opens `path` on the app origin, noting which wasm files the page downloads. */
async function openEntry(path) {
  const opened = await openPage(live.browser, "about:blank");
  const wasm = [];
  opened.page.on("request", (r) => r.url().endsWith(".wasm") && wasm.push(new URL(r.url()).pathname));
  await opened.page.goto(`${live.server.origin("app.shop.test")}${path}`);
  await opened.page.waitForFunction(() => window.Threadline);
  return { ...opened, wasm };
}

for (const path of ["/propagate.html", "/propagate-script.html"]) {
  test(`${path}: fetch and XHR carry the action's ID, retries keep theirs, and only the small wasm is downloaded`, async () => {
    const { page, context, errors, wasm } = await openEntry(path);
    const api = live.server.origin("api.shop.test");
    const tag = path.includes("script") ? "pscript" : "pesm";
    const seen = await page.evaluate(async ({ api, tag }) => {
      const tl = await Threadline.init({ propagateTo: [api], traceparent: true });
      const action = tl.startAction("checkout_submit");
      await fetch(`${api}/api/${tag}/fetch`, { method: "POST", body: "{}" });
      await new Promise((resolve) => {
        const x = new XMLHttpRequest();
        x.open("GET", `${api}/api/${tag}/xhr`);
        x.onloadend = resolve;
        x.send();
      });
      action.end("ok");
      const retry = new Request(`${api}/api/${tag}/retry`);
      await fetch(retry);
      await fetch(retry);
      await fetch("https://elsewhere.test/nothing").catch(() => {});
      return { action: action.id, session: tl.sessionId(), debugId: tl.debugId(), flushed: await tl.flush().then(() => true) };
    }, { api, tag });
    const got = live.server.received(`/api/${tag}/`);
    assert.deepEqual(got.map((r) => r.path), [`/api/${tag}/fetch`, `/api/${tag}/xhr`, `/api/${tag}/retry`, `/api/${tag}/retry`]);
    assert.match(seen.action, ID);
    assert.equal(got[0].headers["x-correlation-id"], seen.action);
    assert.equal(got[1].headers["x-correlation-id"], seen.action);
    assert.match(got[0].headers.traceparent, new RegExp(`^00-${seen.action}-[0-9a-f]{16}-01$`));
    assert.equal(got[0].headers.baggage, `session.id=${seen.session}`);
    assert.match(got[2].headers["x-correlation-id"], ID);
    assert.notEqual(got[2].headers["x-correlation-id"], seen.action);
    assert.equal(got[3].headers["x-correlation-id"], got[2].headers["x-correlation-id"]);
    assert.equal(seen.flushed, true);
    assert.strictEqual(seen.debugId, null, "nothing failed and no action is current: null, as index.d.ts says");
    assert.deepEqual(wasm, ["/dist/threadline-propagate_bg.wasm"]);
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test("event options are refused, naming the full entry; the error dialog opens with the debug ID", async () => {
  const { page, context, errors } = await openEntry("/propagate.html");
  const messages = await page.evaluate(async () => {
    const refused = (options) => Threadline.init(options).then(() => "resolved", (e) => e.message);
    return [await refused({ endpoint: "https://collector.test/v1/logs" }), await refused({ captureConsole: true })];
  });
  assert.equal(messages[0], 'Threadline init: endpoint: threadline/propagate only propagates IDs and sends no events; import "threadline" (the full entry, or its threadline.js script) to record and send events');
  assert.match(messages[1], /^Threadline init: captureConsole: threadline\/propagate only propagates IDs/);
  await page.evaluate(async () => {
    const tl = await Threadline.init({});
    window.action = tl.startAction("pay");
    await tl.showErrorDialog({ title: "Payment failed", message: "Try again" });
  });
  const dialog = page.getByRole("alertdialog");
  await dialog.waitFor();
  const id = await page.evaluate(() => window.action.id);
  assert.match(await dialog.textContent(), new RegExp(`Payment failed.*Try again.*${id}`, "s"));
  assert.deepEqual(errors, []);
  await context.close();
});
