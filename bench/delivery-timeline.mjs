// `node bench/delivery-timeline.mjs <dist> [<dist>…]`: where "per event through delivery" goes,
// for one or more builds side by side (e.g. this checkout's `dist/` and an older one's). Each
// round loads a page per build in headless Chromium, logs 2000 events, then times `flush()`
// while a wrapper around the page's fetch (installed before Threadline, so uploads go through
// it) stamps each upload's start and answer. Printed per build, medians over the rounds:
// the flush, one upload's round trip, the recorder's gap between an answer and the next upload,
// the gap between the last answer and `flush()` resolving, and µs per `log()` (median and best
// of five loops, which shows the recorder's own cost under a loaded machine).
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const dists = process.argv.slice(2).map((d) => resolve(d));
if (!dists.length) throw new Error("usage: node bench/delivery-timeline.mjs <dist> [<dist>…]");
const ROUNDS = Number(process.env.BENCH_ROUNDS || 9);
const N_LOG = 2000;

const sink = createServer(async (req, res) => {
  res.setHeader("Access-Control-Allow-Origin", req.headers.origin || "*");
  if (req.method === "OPTIONS") {
    res.setHeader("Access-Control-Allow-Headers", "*");
    res.setHeader("Access-Control-Allow-Methods", "POST");
    return res.writeHead(204).end();
  }
  for await (const _ of req);
  res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
});
await new Promise((r) => sink.listen(0, "127.0.0.1", r));
const endpoint = `http://127.0.0.1:${sink.address().port}/v1/logs`;

// The fetch wrapper runs before Threadline's script, so the uploads (sent with the fetch
// Threadline found) are stamped.
const stamping = `<script>window.uploads = []; const f = window.fetch; window.fetch = function (...args) {
  const start = performance.now(); const p = f.apply(this, args);
  p.then(() => window.uploads.push([start, performance.now()]), () => {}); return p; };</script>`;
const pages = createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  const file = url.pathname.match(/^\/(\d+)\/([\w.-]+)$/);
  if (file) {
    const path = join(dists[Number(file[1])], file[2]);
    const type = path.endsWith(".wasm") ? "application/wasm" : "text/javascript";
    return res.writeHead(200, { "Content-Type": type }).end(readFileSync(path));
  }
  const build = url.searchParams.get("build");
  res.writeHead(200, { "Content-Type": "text/html" }).end(`${stamping}<script src="/${build}/threadline.js"></script>`);
});
await new Promise((r) => pages.listen(0, "localhost", r));

/** In the page: the timeline of one flush of `n` events, and the cost of `log()`. */
async function timeline({ endpoint, n }) {
  const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
  const logAll = () => {
    const from = performance.now();
    for (let i = 0; i < n; i++) tl.log("info", `event ${i}`, { i, user: "u1" });
    return ((performance.now() - from) * 1000) / n;
  };
  const tl = await window.Threadline.init({ endpoint, propagateTo: [], sameOrigin: false, autoActions: false });
  logAll();
  await tl.flush();
  window.uploads = [];
  const logUs = logAll();
  const logged = performance.now();
  await tl.flush();
  const end = performance.now();
  const ups = window.uploads.slice();
  const logs = [];
  for (let k = 0; k < 5; k++) {
    logs.push(logAll());
    await tl.flush();
  }
  return {
    flushMs: end - logged,
    uploads: ups.length,
    roundTripMs: median(ups.map(([s, e]) => e - s)),
    answerToNextMs: median(ups.slice(1).map(([s], i) => s - ups[i][1])),
    lastAnswerToResolveMs: ups.length ? end - ups[ups.length - 1][1] : NaN,
    logUs,
    bestLogUs: Math.min(...logs),
  };
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const results = dists.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < dists.length; k++) {
    const page = await browser.newPage();
    await page.goto(`http://localhost:${pages.address().port}/?build=${k}`);
    results[k].push(await page.evaluate(timeline, { endpoint, n: N_LOG }));
    await page.close();
  }
}
await browser.close();
sink.close();
pages.close();

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
for (let k = 0; k < dists.length; k++) {
  const m = (key) => median(results[k].map((r) => r[key]));
  console.log(
    `${dists[k]}: flush of ${N_LOG} ${m("flushMs").toFixed(1)} ms in ${m("uploads")} uploads, round trip ${m("roundTripMs").toFixed(1)} ms, ` +
      `answer → next upload ${m("answerToNextMs").toFixed(2)} ms, last answer → resolved ${m("lastAnswerToResolveMs").toFixed(2)} ms; ` +
      `log() ${m("logUs").toFixed(2)} µs (best of five loops ${m("bestLogUs").toFixed(2)} µs)`,
  );
}
