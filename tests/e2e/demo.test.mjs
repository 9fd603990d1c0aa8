// The support flow that `npm start` runs, end to end on real parts: the demo shop, checkout,
// payments and the worker (Rust, axum), the collector with its SQLite file, headless Chromium.
// Payments fail; the user clicks Pay, sees the dialog, copies the debug ID; support pastes it
// into the collector's search, logs in once with the read token `npm start` printed, and sees the
// whole story in time order and as lanes per service. The collector's page is also checked for
// its security headers, its closed reading door, markup in records shown as text, and the
// related errors of a session. Screenshots of the dialog, the timeline and the waterfalls are
// saved in test-results/.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { ID, launchBrowser } from "./harness.mjs";
import { startDemo } from "./demo-start.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const artifacts = join(root, "test-results");

let demo;
let browser;
let shopUrl;
let collectorUrl;
let readToken;
before(async () => {
  mkdirSync(artifacts, { recursive: true });
  demo = await startDemo();
  ({ shopUrl, collectorUrl } = demo);
  readToken = /Read token: ([0-9a-f]{32})/.exec(demo.output())?.[1];
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  demo?.stop();
});

/**
 * Opens the collector's page on the story of `id` in `context`, logging in with the read token
 * if the page asks, and waits until the answer holds spans from every service in `services`.
 */
async function openStory(context, id, services) {
  const search = await context.newPage();
  await search.goto(`${collectorUrl}/?id=${id}`);
  await search.locator("#login:not([hidden]), #timeline:not([hidden])").first().waitFor();
  if (await search.locator("#login").isVisible()) {
    await search.fill("#token", readToken);
    await search.click("#login button[type=submit]");
    await search.locator("#login").waitFor({ state: "hidden" });
  }
  for (let i = 0; i < 80; i++) {
    const { spans } = await search.evaluate(async (id) => (await fetch(`/api/search?id=${id}`)).json(), id);
    if (services.every((s) => spans.some((span) => span.service === s))) break;
    await search.waitForTimeout(250);
  }
  await search.click("#search button[type=submit]");
  await search.waitForFunction((n) => document.querySelectorAll("#waterfall .lane .item.span").length >= n, services.length);
  return search;
}

/** The waterfall as the user sees it: per lane, its service, sender and bars with their widths. */
function lanes(search) {
  return search.$$eval("#waterfall .lane", (all) => all.map((lane) => ({
    service: lane.dataset.service,
    sender: lane.classList.contains("backend") ? "backend" : "browser",
    spans: [...lane.querySelectorAll(".item.span")].map((b) => ({
      width: b.getBoundingClientRect().width, error: b.classList.contains("error"), label: b.getAttribute("aria-label"),
    })),
    marks: lane.querySelectorAll(".item.mark").length,
    track: lane.querySelector(".track").getBoundingClientRect().width,
  })));
}

async function shopPage() {
  const context = await browser.newContext({ permissions: ["clipboard-read", "clipboard-write"] });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(shopUrl);
  await page.waitForFunction(() => window.tl);
  return { context, page, errors };
}

describe("from the error dialog to the whole story", () => {
  test("payments fail, the user copies the debug ID, support finds every part of the story", async () => {
    const { context, page, errors } = await shopPage();
    await page.check("input[name=payments][value='502']");
    const before = await page.locator("#pay").boundingBox();
    await page.click("#pay");
    const dialog = page.getByRole("alertdialog");
    await dialog.waitFor();
    assert.deepEqual(await page.locator("#pay").boundingBox(), before, "no layout shift");
    assert.equal(await dialog.getAttribute("aria-modal"), "true");
    assert.match(await dialog.textContent(), /Payment failed/);
    assert.match(await dialog.textContent(), /payment service is unavailable/);
    const shown = (await dialog.locator("code").textContent()).trim();
    assert.match(shown, ID);
    assert.equal(
      await page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.textContent),
      "Copy debug ID",
      "focus moved into the dialog",
    );
    await dialog.screenshot({ path: join(artifacts, "error-dialog.png") });
    await dialog.getByRole("button", { name: "Copy debug ID" }).click();
    await dialog.getByText("Copied").waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, shown);
    assert.equal(await page.evaluate(() => tl.debugId()), copied, "debugId() is what the dialog showed");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    assert.equal(await page.evaluate(() => document.activeElement.id), "pay", "focus returned to Pay");
    const element = page.locator("threadline-debug-id");
    assert.equal((await element.locator("code").textContent()).trim(), copied, "<threadline-debug-id> shows it too");
    await page.evaluate(() => tl.flush());

    const search = await context.newPage();
    await search.goto(`${collectorUrl}/`);
    await search.fill("#id", copied);
    await search.click("#search button[type=submit]");
    // The reading door is closed until the read token is given once.
    await search.locator("#login").waitFor();
    assert.equal(await search.locator("#timeline tbody tr").count(), 0);
    assert.match(readToken, /^[0-9a-f]{32}$/, "npm start printed the read token");
    await search.fill("#token", "not-the-token");
    await search.click("#login button[type=submit]");
    await search.getByText("That is not the read token.").waitFor();
    await search.fill("#token", readToken);
    await search.click("#login button[type=submit]");
    await search.locator("#login").waitFor({ state: "hidden" });
    const wanted = [
      ["shop-web", /checkout_submit started/],
      ["shop-web", /^POST http:\/\/127\.0\.0\.1:\d+\/api\/checkout 502$/],
      ["checkout", /checkout started/],
      ["payments", /card processor unavailable/],
      ["checkout", /payments failed with HTTP 502/],
      ["worker", /processing job record-failed-payment/],
      ["order_status", /order status requested/],
      ["shop-web", /error dialog shown/],
    ];
    let rows = [];
    for (let i = 0; i < 60; i++) {
      rows = await search.$$eval("#timeline tbody tr.row", (trs) =>
        trs.map((tr) => ({
          time: tr.children[0].textContent,
          side: tr.children[1].textContent,
          service: tr.children[2].textContent,
          message: tr.children[4].textContent,
        })),
      );
      if (wanted.every(([s, m]) => rows.some((r) => r.service === s && m.test(r.message)))) break;
      await search.waitForTimeout(250);
      await search.click("#search button[type=submit]");
    }
    for (const [service, message] of wanted) {
      assert.ok(rows.some((r) => r.service === service && message.test(r.message)), `${service}: ${message} in ${JSON.stringify(rows, null, 1)}`);
    }
    const at = (service, message) => rows.findIndex((r) => r.service === service && message.test(r.message));
    assert.ok(at("shop-web", /checkout_submit started/) < at("checkout", /checkout started/));
    assert.ok(at("shop-web", /api\/checkout 502/) < at("checkout", /checkout started/), "the request is stamped when it started");
    assert.ok(at("checkout", /checkout started/) < at("payments", /card processor unavailable/));
    assert.ok(at("payments", /card processor unavailable/) < at("checkout", /payments failed/));
    assert.ok(at("checkout", /payments failed/) < at("worker", /processing job/));
    const times = rows.map((r) => r.time);
    assert.deepEqual([...times].sort(), times, "oldest first");
    assert.ok(rows.some((r) => r.side === "browser") && rows.some((r) => r.side === "backend"));
    const { records } = await search.evaluate(async (id) => (await fetch(`/api/search?id=${id}`)).json(), copied);
    assert.ok(records.every((r) => r.correlation_id === copied || r.trace_id === copied || r.session_id === copied));
    assert.ok(records.filter((r) => r.provenance === "backend").every((r) => r.correlation_id === copied));
    assert.ok(records.filter((r) => r.service === "shop-web").every((r) => r.provenance === "browser"));
    assert.ok(records.filter((r) => ["checkout", "payments", "worker", "order_status"].includes(r.service)).every((r) => r.provenance === "backend"),
      "the demo backend sends with the write token");
    const names = records.map((r) => r.attributes["event.name"]?.stringValue);
    assert.ok(names.includes("ui.error_dialog.open") && names.includes("ui.debug_id.copy"), `${names}`);
    await search.screenshot({ path: join(artifacts, "timeline.png"), fullPage: true });
    // A row opens to all its attributes, with a link from its correlation ID to its session.
    const first = search.locator("#timeline tbody tr.row").first();
    await first.click();
    assert.equal(await first.getAttribute("aria-expanded"), "true");
    const details = search.locator("#timeline tbody tr.details").first();
    assert.match(await details.textContent(), /"event\.id"/);
    const sessionLink = details.locator("a").nth(1);
    const session = (await sessionLink.textContent()).trim();
    assert.match(session, ID);
    await sessionLink.click();
    await search.waitForFunction((s) => document.getElementById("status").textContent.includes(s), session);
    assert.equal(new URL(search.url()).searchParams.get("id"), session);
    const sessionRows = await search.$$eval("#timeline tbody tr.row", (trs) => trs.map((tr) => tr.children[4].textContent));
    assert.ok(sessionRows.some((m) => /checkout_submit started/.test(m)), "the session's timeline holds the page's side of the story");
    assert.deepEqual(errors, []);

    // The story as a picture: one lane per service, the requests as bars, errors in red.
    const story = await openStory(context, copied, ["checkout", "payments", "worker"]);
    const drawn = await lanes(story);
    const services = drawn.map((l) => l.service);
    // After checkout answers, the worker's job and the page's order-status message race.
    assert.deepEqual(services.slice(0, 3), ["shop-web", "checkout", "payments"], "lanes in order of first activity");
    assert.deepEqual(services.slice(3).sort(), ["order_status", "worker"], "then the worker's and the order-status socket's");
    assert.deepEqual(drawn.map((l) => l.sender), ["browser", "backend", "backend", "backend", "backend"]);
    const lane = (service) => drawn.find((l) => l.service === service);
    assert.ok(lane("payments").spans.some((b) => b.error && /request/.test(b.label)), "payments' failed request is a red bar");
    assert.ok(lane("checkout").spans.some((b) => b.error), "checkout's request is red too");
    assert.ok(lane("worker").spans.length >= 1 && lane("worker").spans.every((b) => !b.error), "the worker's job is a plain bar");
    assert.ok(lane("payments").marks >= 2, "payments' log lines are marks on its lane");
    await story.locator("#waterfall").screenshot({ path: join(artifacts, "waterfall-502.png") });
    await context.close();
  });

  test("the timeout story shows the slow payments request as a long bar on the shared axis", async () => {
    const { context, page } = await shopPage();
    await page.check("input[name=payments][value='timeout']");
    await page.click("#pay");
    await page.getByRole("alertdialog").waitFor({ timeout: 10_000 });
    const id = await page.evaluate(() => tl.debugId());
    await page.evaluate(() => tl.flush());
    const story = await openStory(context, id, ["checkout", "payments"]);
    const drawn = await lanes(story);
    const bar = (service) => drawn.find((l) => l.service === service).spans.reduce((a, b) => (b.width > a.width ? b : a));
    const duration = (b) => Number(/\((\d+) ms\)/.exec(b.label)[1]);
    const checkout = bar("checkout");
    const payments = bar("payments");
    assert.ok(checkout.error, "checkout gave up: red");
    // Checkout stops waiting after 1.5 s and drops the call; payments' request ends with it.
    assert.ok(duration(checkout) >= 1400 && duration(payments) >= 1400, `${checkout.label} / ${payments.label}`);
    assert.ok(payments.width > drawn[0].track * 0.6, `the slow payments request (${payments.width}px) spans most of the axis (${drawn[0].track}px)`);
    assert.ok(Math.abs(payments.width - checkout.width) < checkout.width * 0.2, "checkout's wait and payments' request line up");
    await story.locator("#waterfall").screenshot({ path: join(artifacts, "waterfall-timeout.png") });
    await context.close();
  });

  test("the dialog works with the keyboard alone: Tab stays inside, Enter copies, Escape closes", async () => {
    const { context, page } = await shopPage();
    await page.check("input[name=payments][value='timeout']");
    await page.focus("#pay");
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("alertdialog");
    await dialog.waitFor({ timeout: 10_000 });
    assert.match(await dialog.textContent(), /did not answer in time/);
    const focused = () => page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.textContent?.trim());
    const order = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press("Tab");
      order.push(await focused());
    }
    const id = (await dialog.locator("code").textContent()).trim();
    assert.deepEqual(order, [id, "Close", "Copy debug ID", id], "Tab cycles inside the dialog");
    await page.keyboard.press("Shift+Tab");
    assert.equal(await focused(), "Copy debug ID");
    await page.keyboard.press("Enter");
    await dialog.getByText("Copied").waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), id);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    assert.equal(await page.evaluate(() => document.activeElement.id), "pay");
    await context.close();
  });

  test("the dialog is readable in the dark colour scheme and its styles do not leak", async () => {
    const context = await browser.newContext({ colorScheme: "dark" });
    const page = await context.newPage();
    await page.goto(shopUrl);
    await page.waitForFunction(() => window.tl);
    await page.addStyleTag({ content: "button { background: red !important; } h2 { font-size: 80px; }" });
    await page.evaluate(() => tl.showErrorDialog({ title: "Dark", message: "Readable?" }));
    const dialog = page.getByRole("alertdialog");
    const colors = await dialog.evaluate((d) => {
      const s = getComputedStyle(d);
      return { bg: s.backgroundColor, fg: s.color, button: getComputedStyle(d.querySelector("button")).backgroundColor, h2: getComputedStyle(d.querySelector("h2")).fontSize };
    });
    assert.equal(colors.bg, "rgb(22, 27, 34)");
    assert.equal(colors.fg, "rgb(230, 237, 243)");
    assert.notEqual(colors.button, "rgb(255, 0, 0)", "page styles do not reach into the dialog");
    assert.notEqual(colors.h2, "80px");
    assert.equal(await page.evaluate(() => document.querySelectorAll("h2").length), 0, "the page's own DOM is untouched");
    await dialog.screenshot({ path: join(artifacts, "error-dialog-dark.png") });
    await context.close();
  });

  test("without clipboard permission the ID is selected for the user to copy", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(shopUrl);
    await page.waitForFunction(() => window.tl);
    await page.evaluate(() => {
      navigator.clipboard.writeText = () => Promise.reject(new DOMException("denied", "NotAllowedError"));
      tl.showErrorDialog({ message: "Something broke", debugId: "0af7651916cd43dd8448eb211c80319c" });
    });
    const dialog = page.getByRole("alertdialog");
    await dialog.getByRole("button", { name: "Copy debug ID" }).click();
    await dialog.getByText(/press Ctrl\+C/).waitFor();
    assert.equal(await page.evaluate(() => String(document.getSelection())), "0af7651916cd43dd8448eb211c80319c");
    await dialog.getByRole("button", { name: "Close" }).click();
    await dialog.waitFor({ state: "detached" });
    await context.close();
  });
});

/** Posts OTLP JSON logs to the demo's collector without a credential, as a browser (or a forger) would. */
async function postLogs(service, records) {
  const response = await fetch(`${collectorUrl}/v1/logs`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ resourceLogs: [{
      resource: { attributes: [{ key: "service.name", value: { stringValue: service } }] },
      scopeLogs: [{ scope: { name: service, version: "1" }, logRecords: records }],
    }] }),
  });
  assert.equal(response.status, 200);
}

const randomId = () => [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
const nanosAgo = (ms) => `${BigInt(Date.now() - ms) * 1000000n}`;

describe("the collector's page", () => {
  test("sends its security headers and shows nothing before the read token is given", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const scripts = [];
    page.on("response", (r) => { if (r.url().endsWith("/page.js")) scripts.push(r.headers()); });
    const response = await page.goto(`${collectorUrl}/?id=${randomId()}`);
    for (const headers of [response.headers(), ...scripts]) {
      assert.match(headers["content-security-policy"], /script-src 'self'/);
      assert.doesNotMatch(headers["content-security-policy"], /unsafe-inline/);
      assert.match(headers["content-security-policy"], /frame-ancestors 'none'/);
      assert.equal(headers["x-content-type-options"], "nosniff");
      assert.equal(headers["x-frame-options"], "DENY");
      assert.equal(headers["referrer-policy"], "no-referrer");
    }
    assert.equal(scripts.length, 1, "the page's script is a file of its own");
    await page.locator("#login").waitFor();
    assert.equal(await page.locator("#timeline").isHidden(), true);
    const status = await page.evaluate(async () => (await fetch("/api/search?id=x")).status);
    assert.equal(status, 401);
    await context.close();
  });

  test("markup in every field of a record is shown as text and never runs", async () => {
    const payload = (where) => `<img src=x onerror="window.__xss='${where}'"><script>window.__xss='${where}'</script>`;
    const traceId = randomId();
    await postLogs(payload("service"), [{
      timeUnixNano: nanosAgo(1000),
      severityNumber: 17,
      severityText: payload("severity"),
      eventName: payload("event"),
      traceId,
      body: { kvlistValue: { values: [{ key: payload("body key"), value: { stringValue: payload("body value") } }] } },
      attributes: [
        { key: "correlation_id", value: { stringValue: traceId } },
        { key: "session.id", value: { stringValue: payload("session") } },
        { key: payload("attribute key"), value: { stringValue: payload("attribute value") } },
        { key: "url.full", value: { stringValue: "javascript:window.__xss='link'" } },
      ],
    }, {
      timeUnixNano: nanosAgo(900), severityNumber: 9, traceId,
      body: { stringValue: payload("message") },
      attributes: [{ key: "correlation_id", value: { stringValue: traceId } }],
    }]);
    const context = await browser.newContext();
    const page = await context.newPage();
    const violations = [];
    page.on("console", (m) => { if (/Content Security Policy/.test(m.text())) violations.push(m.text()); });
    await page.goto(`${collectorUrl}/?id=${traceId}`);
    await page.fill("#token", readToken);
    await page.click("#login button[type=submit]");
    await page.locator("#timeline tbody tr.row").nth(1).waitFor();
    for (const row of await page.locator("#timeline tbody tr.row").all()) await row.click();
    await page.locator("#waterfall .lane").first().waitFor();
    const text = await page.locator("body").textContent();
    for (const where of ["service", "severity", "body key", "body value", "attribute key", "attribute value", "message", "session"]) {
      assert.ok(text.includes(payload(where)), `${where} is shown as its text`);
    }
    assert.equal(await page.evaluate(() => window.__xss), undefined, "no payload ran");
    assert.equal(await page.locator("body img, #timeline script, #waterfall script").count(), 0, "no element came from a record");
    assert.equal(await page.locator("a[href^='javascript:']").count(), 0);
    await page.screenshot({ path: join(artifacts, "collector-xss.png"), fullPage: true });
    assert.deepEqual(violations, [], "nothing even tried to run");
    await context.close();
  });

  test("the attribute view shows every field with its type: int64 exact, bytes, NaN, kvlist", async () => {
    const traceId = randomId();
    await postLogs("checkout", [{
      timeUnixNano: nanosAgo(1000), observedTimeUnixNano: nanosAgo(999), severityNumber: 18, severityText: "Error2",
      eventName: "payment.declined", traceId, spanId: "00f067aa0ba902b7", flags: 1,
      body: { kvlistValue: { values: [{ key: "reason", value: { stringValue: "card" } }] } },
      attributes: [
        { key: "big", value: { intValue: "9007199254740993" } },
        { key: "nan", value: { doubleValue: "NaN" } },
        { key: "raw", value: { bytesValue: "3q2+7w==" } },
      ],
    }]);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${collectorUrl}/?id=${traceId}`);
    await page.fill("#token", readToken);
    await page.click("#login button[type=submit]");
    await page.locator("#timeline tbody tr.row").first().click();
    const details = page.locator("#timeline tbody tr.details").first();
    const pairs = await details.locator("dl.typed").evaluateAll((lists) => lists.flatMap((dl) =>
      [...dl.querySelectorAll("dt")].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])));
    const value = (key) => pairs.find(([k]) => k === key)?.[1];
    assert.equal(value("big"), "9007199254740993int", "int64 exact, typed");
    assert.equal(value("nan"), "NaNdouble");
    assert.equal(value("raw"), "3q2+7w==bytes, base64");
    assert.equal(value("body"), "{reason: card}kvlist");
    assert.equal(value("span id"), "00f067aa0ba902b7");
    assert.equal(value("flags"), "1");
    assert.equal(value("severity"), "18 Error2");
    assert.equal(value("event name"), "payment.declined");
    assert.equal(value("scope"), "checkout 1");
    assert.equal(value("sent by"), "browser");
    assert.equal(value("service.name"), "checkoutstring", "resource attributes shown apart");
    await context.close();
  });

  test("a story larger than one page says so and loads the rest on request", async () => {
    const traceId = randomId();
    for (const chunk of [0, 1]) {
      const records = Array.from({ length: chunk ? 5 : 2000 }, (_, i) => ({
        timeUnixNano: nanosAgo(10_000 - chunk * 5000 - i), body: { stringValue: `line ${chunk}-${i}` }, traceId,
      }));
      await postLogs("shop-web", records);
    }
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${collectorUrl}/?id=${traceId}`);
    await page.fill("#token", readToken);
    await page.click("#login button[type=submit]");
    await page.locator("#more").waitFor();
    assert.match(await page.locator("#status").textContent(), /2000 records .*More rows follow/);
    await page.click("#more");
    await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("2005 records"));
    assert.equal(await page.locator("#timeline tbody tr.row").count(), 2005);
    assert.equal(await page.locator("#more").isHidden(), true);
    await context.close();
  });

  test("a correlation ID's story links to the other errors of its session", async () => {
    const session = randomId();
    const [story, other, calm] = [randomId(), randomId(), randomId()];
    const record = (correlation, ms, severity, message) => ({
      timeUnixNano: nanosAgo(ms), severityNumber: severity, body: { stringValue: message },
      attributes: [{ key: "correlation_id", value: { stringValue: correlation } }, { key: "session.id", value: { stringValue: session } }],
    });
    await postLogs("shop-web", [
      record(other, 60_000, 17, "an earlier checkout failed"),
      record(calm, 50_000, 9, "browsing"),
      record(story, 1_000, 17, "this checkout failed"),
    ]);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${collectorUrl}/?id=${story}`);
    await page.fill("#token", readToken);
    await page.click("#login button[type=submit]");
    const related = page.locator("#related");
    await related.waitFor();
    assert.match(await related.textContent(), /an earlier checkout failed/);
    assert.doesNotMatch(await related.textContent(), /browsing/);
    await related.getByRole("link", { name: other }).click();
    await page.waitForFunction((id) => document.getElementById("status").textContent.includes(id), other);
    assert.equal(new URL(page.url()).searchParams.get("id"), other);
    assert.match(await page.locator("#timeline").textContent(), /an earlier checkout failed/);
    // Logging out clears the story and closes the door again.
    await page.click("#logout");
    await page.getByText("Logged out.").waitFor();
    assert.equal(await page.locator("#timeline").isHidden(), true);
    assert.equal(await page.evaluate(async () => (await fetch("/api/search?id=x")).status), 401);
    await page.click("#search button[type=submit]");
    await page.locator("#login").waitFor();
    await context.close();
  });
});
