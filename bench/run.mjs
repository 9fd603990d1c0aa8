// `npm run bench`: Threadline side by side with the SDKs a user would otherwise pick, each
// configured for the same job (a correlation/trace header on requests to one allowed origin, log
// events shipped to an endpoint), in headless Chromium on loopback. Contenders are interleaved
// round by round so the machine's drift hits them alike; every figure is a median. Writes
// BENCHMARKS.md and bench/results.json.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { cpus, totalmem, type as osType, release as osRelease } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import * as esbuild from "esbuild";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const out = join(here, "out");
const ROUNDS = Number(process.env.BENCH_ROUNDS || 7);
const N_FETCH = 1000;
const N_XHR = 1000;
const BATCHES = 5;
const N_LOG = 2000;
const N_MEMORY = 100_000;
/** Fetches sent right after the contender's script (Threadline: right after `init` is called). */
const N_EARLY = 5;

// --- Contenders: bundle each with esbuild (minified, only what the job needs).

if (!existsSync(join(here, "node_modules", ".package-lock.json"))) {
  execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: here, stdio: "inherit" });
}
mkdirSync(out, { recursive: true });
const CONTENDERS = [
  { name: "baseline", label: "no instrumentation" },
  { name: "handwritten", label: "hand-written fetch/XHR wrapper" },
  { name: "threadline", label: "Threadline" },
  // The same build without the README's optional `<link rel="preload">` for the wasm.
  { name: "threadline-no-preload", label: "Threadline, without the preload line", bundle: "threadline" },
  { name: "sentry", label: "@sentry/browser + browserTracingIntegration" },
  { name: "opentelemetry", label: "OpenTelemetry (sdk-trace-web, fetch + XHR, sdk-logs + OTLP)" },
  { name: "datadog", label: "@datadog/browser-rum + browser-logs" },
  // Propagation only: no events.
  { name: "threadline-propagate", label: "Threadline propagation-only (threadline/propagate)", script: "threadline-propagate" },
  { name: "opentelemetry-propagate", label: "OpenTelemetry propagation-only (sdk-trace-web, fetch + XHR)" },
];
// `BENCH_COMPARE=<dir>` adds Threadline as built in another checkout's `dist/` (e.g. the commit
// before a change), interleaved with this one: a change's cost measured side by side.
const COMPARE = process.env.BENCH_COMPARE || null;
if (COMPARE) {
  CONTENDERS.splice(3, 0, { name: "threadline-compare", label: `Threadline as built in ${COMPARE}`, bundle: "threadline", dist: COMPARE });
  CONTENDERS.splice(5, 0, { name: "threadline-compare-no-preload", label: `Threadline as built in ${COMPARE}, without the preload line`, bundle: "threadline", dist: COMPARE });
}
// `BENCH_ONLY=threadline,opentelemetry` runs just those (plus the baseline), skips memory, prints the
// medians and leaves BENCHMARKS.md alone: for comparing one change side by side.
const ONLY = process.env.BENCH_ONLY ? ["baseline", ...process.env.BENCH_ONLY.split(",")] : null;
if (ONLY) CONTENDERS.splice(0, CONTENDERS.length, ...CONTENDERS.filter((c) => ONLY.includes(c.name)));
const INSTRUMENTED = ["sentry", "opentelemetry", "datadog"];

const sizes = {};
for (const c of CONTENDERS) {
  const outfile = join(out, `${c.name}.js`);
  await esbuild.build({
    entryPoints: [join(here, "contenders", `${c.bundle || c.name}.js`)],
    bundle: true, minify: true, format: "iife", target: "es2020", legalComments: "none", logLevel: "error",
    outfile,
  });
  // What a page downloads for the instrumentation (Threadline: its script-tag build and wasm).
  const dist = c.dist || join(root, "dist");
  const script = c.script || "threadline";
  const files = c.name.startsWith("threadline")
    ? [join(dist, `${script}.js`), join(dist, `${script}_bg.wasm`)]
    : c.name === "baseline" ? [] : [outfile];
  const bytes = files.map((f) => readFileSync(f));
  const sum = (f) => bytes.reduce((n, b) => n + f(b), 0);
  sizes[c.name] = {
    raw: sum((b) => b.length),
    gzip: sum((b) => gzipSync(b, { level: 9 }).length),
    brotli: sum((b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length),
  };
}

// --- A loopback server: the pages, the bundles, dist/, and an ingestion sink that accepts
// anything. The allowed API origin is answered by an in-page stub transport, never the network.

const received = { count: 0 };
const server = createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  const origin = req.headers.origin;
  if (origin) {
    res.setHeader("Access-Control-Allow-Origin", origin);
    res.setHeader("Access-Control-Allow-Credentials", "true");
  }
  if (req.method === "OPTIONS") {
    res.setHeader("Access-Control-Allow-Headers", req.headers["access-control-request-headers"] || "*");
    res.setHeader("Access-Control-Allow-Methods", "POST, GET");
    return res.writeHead(204).end();
  }
  if (req.method === "POST") {
    for await (const _ of req);
    received.count++;
    return res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
  }
  if (url.pathname.startsWith("/page/")) return res.writeHead(200, { "Content-Type": "text/html" }).end(page(url.pathname.slice(6), url.searchParams.get("endpoint")));
  const file = url.pathname.startsWith("/dist/")
    ? join(root, url.pathname)
    : url.pathname.startsWith("/compare/") && COMPARE
      ? join(COMPARE, url.pathname.slice(9))
      : url.pathname.startsWith("/out/") ? join(here, url.pathname) : null;
  if (file && existsSync(file)) {
    const type = file.endsWith(".wasm") ? "application/wasm" : "text/javascript";
    return res.writeHead(200, { "Content-Type": type }).end(readFileSync(file));
  }
  res.writeHead(404).end();
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const port = server.address().port;
const closed = await new Promise((r) => {
  const s = createServer();
  s.listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => r(p));
  });
});
const PAGE = `http://bench.test:${port}`;
const API = `http://api.bench.test:${port}`;
const OTHER = `http://other.bench.test:${port}`;
const ENDPOINT = `http://ingest.bench.test:${port}/v1/logs`;
const DOWN = `http://ingest.bench.test:${closed}/v1/logs`;

/** The bench page: stub transport for the API and other origins, then the contender. */
function page(name, endpoint) {
  const config = { api: API, other: OTHER, endpoint: endpoint || ENDPOINT };
  // Threadline as its README installs it with a script tag.
  const from = name.startsWith("threadline-compare") ? "/compare" : "/dist";
  const script = CONTENDERS.find((c) => c.name === name)?.script || "threadline";
  const preload = !name.endsWith("-no-preload") ? `<link rel="preload" href="${from}/${script}_bg.wasm" as="fetch" type="application/wasm" crossorigin>` : "";
  const threadline = name.startsWith("threadline") ? `${preload}<script src="${from}/${script}.js"></script>` : "";
  return `<!doctype html><html><head><meta charset="utf-8"><script>
window.__t0 = performance.now();
window.BENCH = ${JSON.stringify(config)};
window.__memories = [];
for (const f of ["instantiate", "instantiateStreaming"]) {
  const original = WebAssembly[f];
  WebAssembly[f] = async function () {
    const result = await original.apply(this, arguments);
    const exports = (result.instance || result).exports;
    for (const v of Object.values(exports)) if (v instanceof WebAssembly.Memory) window.__memories.push(v);
    return result;
  };
}
const TRACE_HEADERS = ["x-correlation-id", "traceparent", "sentry-trace", "x-datadog-trace-id"];
window.__tagged = false;
window.__early = [];
const stubbed = (url) => url.startsWith(BENCH.api) || url.startsWith(BENCH.other);
const realFetch = window.fetch;
window.fetch = function (input, init) {
  const url = input instanceof Request ? input.url : String(input);
  if (!stubbed(url)) return realFetch.apply(this, arguments);
  const headers = new Headers(init && init.headers !== undefined ? init.headers : input instanceof Request ? input.headers : undefined);
  window.__tagged = TRACE_HEADERS.some((h) => headers.has(h));
  const early = /[/]early[?]([0-9]+)$/.exec(url);
  if (early) window.__early[early[1]].reached = { at: performance.now(), tagged: window.__tagged };
  return Promise.resolve(new Response("{}", { status: 200, headers: { "Content-Type": "application/json" } }));
};
const proto = XMLHttpRequest.prototype;
const realOpen = proto.open, realSet = proto.setRequestHeader, realSend = proto.send;
proto.open = function (method, url) {
  this.__stub = stubbed(new URL(String(url), location.href).href);
  this.__names = [];
  if (!this.__stub) return realOpen.apply(this, arguments);
};
proto.setRequestHeader = function (name, value) {
  if (!this.__stub) return realSet.apply(this, arguments);
  this.__names.push(String(name).toLowerCase());
};
proto.send = function () {
  if (!this.__stub) return realSend.apply(this, arguments);
  window.__tagged = TRACE_HEADERS.some((h) => this.__names.includes(h));
};
const tick = () => new Promise((r) => { const c = new MessageChannel(); c.port1.onmessage = () => r(); c.port2.postMessage(0); });
window.__readyAt = (async () => {
  const deadline = performance.now() + 10000;
  while (performance.now() < deadline && !window.__stopPolling) {
    window.__tagged = false;
    await window.fetch(BENCH.api + "/probe");
    if (window.__tagged) return performance.now() - window.__t0;
    await tick();
  }
  return null;
})();
</script>${threadline}<script src="/out/${name}.js"></script><script>
for (let i = 0; i < ${N_EARLY}; i++) {
  window.__early.push({ sent: performance.now() });
  window.__early[i].done = window.fetch(BENCH.api + "/early?" + i);
}
</script></head><body></body></html>`;
}

// --- The browser.

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // No top-chrome WebUI preloaded with each new context: its renderer loads and runs the
  // omnibox popup's app while the bench page loads, which on a 2-core machine lengthened every
  // contender's time to ready by 10 to 25 ms.
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--host-resolver-rules=MAP *.test 127.0.0.1",
    "--disable-features=PreloadTopChromeWebUI", "--js-flags=--expose-gc", "--enable-precise-memory-info", "--disable-background-timer-throttling"],
});
const chromiumVersion = browser.version();

/** One round for one contender, in a fresh context: time to ready and per-call costs (µs). */
async function round(name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${PAGE}/page/${name}`);
  const result = await page.evaluate(async ({ N_FETCH, N_XHR, N_LOG, BATCHES }) => {
    const readyMs = await window.__readyAt;
    await window.bench.ready;
    await Promise.all(window.__early.map((e) => e.done));
    // Sent right after the contender's script: how many left untagged, and how long they waited.
    const earlyUntagged = window.__early.filter((e) => !e.reached.tagged).length;
    const earlyWait = Math.max(...window.__early.map((e) => e.reached.at - e.sent));
    const perFetch = async (url, n) => {
      const started = performance.now();
      const pending = [];
      for (let i = 0; i < n; i++) pending.push(fetch(url));
      await Promise.all(pending);
      return ((performance.now() - started) * 1000) / n;
    };
    const perXhr = (url, n) => {
      const started = performance.now();
      for (let i = 0; i < n; i++) {
        const x = new XMLHttpRequest();
        x.open("GET", url);
        x.send();
      }
      return ((performance.now() - started) * 1000) / n;
    };
    await perFetch(`${BENCH.api}/warm`, 200);
    perXhr(`${BENCH.api}/warm`, 200);
    // Each figure is the median of BATCHES batches, so one garbage collection does not decide it.
    const middle = async (measure) => {
      const xs = [];
      for (let b = 0; b < BATCHES; b++) xs.push(await measure());
      return xs.sort((a, b) => a - b)[BATCHES >> 1];
    };
    const fetchAllowed = await middle(() => perFetch(`${BENCH.api}/orders`, N_FETCH));
    const fetchOther = await middle(() => perFetch(`${BENCH.other}/orders`, N_FETCH));
    const xhrAllowed = await middle(() => perXhr(`${BENCH.api}/orders`, N_XHR));
    const xhrOther = await middle(() => perXhr(`${BENCH.other}/orders`, N_XHR));
    const started = performance.now();
    for (let i = 0; i < N_LOG; i++) window.bench.log(`event ${i}`, { i, user: "u1" });
    const log = ((performance.now() - started) * 1000) / N_LOG;
    // The same calls again, until the SDK's flush says the endpoint took them: encoding that an
    // SDK defers to its export is counted here.
    let delivered = null;
    if (window.bench.flush) {
      await window.bench.flush();
      const from = performance.now();
      for (let i = 0; i < N_LOG; i++) window.bench.log(`event ${i}`, { i, user: "u1" });
      await window.bench.flush();
      delivered = ((performance.now() - from) * 1000) / N_LOG;
    }
    return { readyMs, earlyUntagged, earlyWait, fetchAllowed, fetchOther, xhrAllowed, xhrOther, log, delivered };
  }, { N_FETCH, N_XHR, N_LOG, BATCHES });
  await context.close();
  return result;
}

/** Heap and wasm memory after 100,000 events with the endpoint down. */
async function memory(name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${PAGE}/page/${name}?endpoint=${encodeURIComponent(DOWN)}`);
  const result = await page.evaluate(async (n) => {
    window.__stopPolling = true; // the readiness probe is not part of this measure
    await window.bench.ready;
    const heap = () => (gc(), performance.memory.usedJSHeapSize);
    const wasm = () => window.__memories.reduce((s, m) => s + m.buffer.byteLength, 0);
    const before = { heap: heap(), wasm: wasm() };
    for (let i = 0; i < n; i += 1000) {
      for (let j = i; j < i + 1000; j++) window.bench.log(`event ${j}`, { i: j, user: "u1" });
      await new Promise((r) => setTimeout(r, 0));
    }
    await new Promise((r) => setTimeout(r, 2000));
    return { heapBefore: before.heap, heapAfter: heap(), wasmBefore: before.wasm, wasmAfter: wasm() };
  }, N_MEMORY);
  await context.close();
  return result;
}

const runs = Object.fromEntries(CONTENDERS.map((c) => [c.name, []]));
for (let r = 0; r < ROUNDS; r++) {
  const order = CONTENDERS.map((c) => c.name);
  for (let k = 0; k < r % order.length; k++) order.push(order.shift());
  for (const name of order) {
    runs[name].push(await round(name));
    process.stdout.write(".");
  }
}
process.stdout.write("\n");
const memories = {};
if (!ONLY) for (const c of CONTENDERS) memories[c.name] = await memory(c.name);
await browser.close();
server.close();

// --- Medians, ratios, budgets, the report.

const median = (xs) => {
  const v = xs.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const med = Object.fromEntries(CONTENDERS.map((c) => {
  const rs = runs[c.name];
  const m = {};
  for (const key of ["readyMs", "earlyUntagged", "earlyWait", "fetchAllowed", "fetchOther", "xhrAllowed", "xhrOther", "log", "delivered"]) m[key] = median(rs.map((x) => x[key]));
  m.readyCount = rs.filter((x) => x.readyMs !== null).length;
  return [c.name, m];
}));
if (ONLY) {
  writeFileSync(join(out, "only.json"), JSON.stringify({ runs, medians: med }, null, 2));
  for (const c of CONTENDERS) {
    const m = med[c.name];
    const over = (key) => (m[key] - med.baseline[key]).toFixed(1).padStart(7);
    console.log(`${c.name.padEnd(14)} ready ${String(m.readyMs?.toFixed(1)).padStart(6)} ms  early untagged ${m.earlyUntagged}/${N_EARLY}, waited ${m.earlyWait?.toFixed(1)} ms  fetch ${over("fetchAllowed")} / other ${over("fetchOther")}  xhr ${over("xhrAllowed")} / other ${over("xhrOther")} µs  log ${m.log.toFixed(2)} µs, delivered ${m.delivered?.toFixed(2)} µs`);
  }
  process.exit(0);
}
const base = med.baseline;
const overhead = (name, key) => (med[name][key] === null ? null : med[name][key] - base[key]);
const kb = (n) => (n / 1024).toFixed(1);
const num = (x, d = 1) => (x === null || x === undefined ? "—" : x.toFixed(d));
const ratio = (x, t) => (x === null || t === null || t === 0 ? "—" : `${(x / t).toFixed(2)}×`);

const tl = "threadline";
const verdicts = [];
const budget = (ok, text) => verdicts.push(`- **${ok ? "PASS" : "FAIL"}** ${text}`);
const tlGzip = sizes[tl].gzip;
budget(tlGzip <= 36 * 1024, `Threadline's JS + wasm is ${kb(tlGzip)} KB gzipped; budget 36 KB.`);
// The SDKs; the hand-written wrapper and the empty page are floors, not contenders to beat on size.
const smaller = INSTRUMENTED.filter((n) => sizes[n].gzip <= tlGzip);
budget(smaller.length === 0, `Threadline's download is smaller than every SDK contender's${smaller.length ? `; not smaller than: ${smaller.map((n) => `${n} (${kb(sizes[n].gzip)} KB)`).join(", ")}` : ""}.`);
const propagateGzip = sizes["threadline-propagate"]?.gzip;
const otelPropagateGzip = sizes["opentelemetry-propagate"]?.gzip;
budget(propagateGzip <= otelPropagateGzip, `Threadline's propagation-only download (threadline/propagate, JS + wasm) is ${kb(propagateGzip)} KB gzipped; budget OpenTelemetry's propagation-only bundle, ${kb(otelPropagateGzip)} KB.`);
const lightest = Math.min(...INSTRUMENTED.map((n) => overhead(n, "fetchAllowed")).filter((x) => x !== null));
const tlFetch = overhead(tl, "fetchAllowed");
budget(tlFetch !== null && tlFetch <= lightest / 2, `Per-request overhead of the patched fetch (allowed origin): ${num(tlFetch, 2)} µs; budget half of the lightest instrumented contender's ${num(lightest, 2)} µs = ${num(lightest / 2, 2)} µs.`);
const fastest = Math.min(...INSTRUMENTED.map((n) => med[n].readyMs).filter((x) => x !== null));
budget(med[tl].readyMs !== null && med[tl].readyMs <= fastest, `Time to ready: ${num(med[tl].readyMs)} ms; budget the fastest contender's ${num(fastest)} ms.`);
budget(med[tl].readyMs !== null && med[tl].readyMs <= med.handwritten.readyMs + 5, `Time to ready: ${num(med[tl].readyMs)} ms; budget the hand-written wrapper's ${num(med.handwritten.readyMs)} ms + 5 ms.`);
const earlyRuns = runs[tl].map((x) => x.earlyUntagged);
budget(earlyRuns.every((n) => n === 0), `Requests sent right after \`init\` that went out untagged: ${earlyRuns.reduce((a, b) => a + b, 0)} of ${N_EARLY * ROUNDS} over ${ROUNDS} rounds; budget 0.`);

// Recording: each figure at most OpenTelemetry's, in the same run.
const otel = med.opentelemetry;
budget(med[tl].log <= otel.log, `Cost per \`log()\`: ${num(med[tl].log, 2)} µs; budget OpenTelemetry's ${num(otel.log, 2)} µs.`);
budget(med[tl].delivered !== null && med[tl].delivered <= otel.delivered, `Cost per event through delivery: ${num(med[tl].delivered, 2)} µs; budget OpenTelemetry's ${num(otel.delivered, 2)} µs.`);

const rows = (f) => CONTENDERS.map((c) => `| ${c.label} | ${f(c.name)} |`).join("\n");

// Ahead or behind each SDK, measure by measure (lower is better everywhere).
const measures = [
  ["download (gzip)", (n) => sizes[n].gzip],
  ["time to ready", (n) => med[n].readyMs],
  ["fetch overhead, allowed origin", (n) => overhead(n, "fetchAllowed")],
  ["fetch overhead, other origin", (n) => overhead(n, "fetchOther")],
  ["XHR overhead, allowed origin", (n) => overhead(n, "xhrAllowed")],
  ["cost per log()", (n) => med[n].log],
  ["cost per event through delivery", (n) => med[n].delivered],
  ["JS heap + wasm memory after 100,000 events", (n) => memories[n].heapAfter + memories[n].wasmAfter],
];
const standing = measures.map(([label, value]) => {
  const mine = value(tl);
  const ahead = INSTRUMENTED.filter((n) => value(n) !== null && mine !== null && mine < value(n));
  const behind = INSTRUMENTED.filter((n) => value(n) !== null && mine !== null && mine >= value(n));
  const list = (ns) => (ns.length ? ns.join(", ") : "none");
  return `| ${label} | ${list(ahead)} | ${list(behind)} |`;
}).join("\n");
const report = `# Benchmarks

Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: headless Chromium ${chromiumVersion}
(Debian, driven by playwright-core), Node ${process.version}, ${osType()} ${osRelease()}, ${cpus().length} × ${cpus()[0]?.model?.trim()},
${kb(totalmem() / 1024)} MB RAM. ${ROUNDS} rounds; in each, every contender runs in a fresh browser context, in an
order rotated from round to round so that the machine's drift hits them alike. Figures are medians over the
rounds; ratios are to Threadline's figure (or, for costs over the baseline, to Threadline's cost).
The machine is shared and noisy: compare ratios, not absolute values. Reproduce with \`npm run bench\`
(\`BENCH_ROUNDS=n\` changes the rounds).

Every contender does the same job: a correlation or trace header on requests to one allowed origin
(\`${API}\`), none on another origin, and log events shipped to an endpoint on loopback. The allowed and
other origins are answered by an in-page stub transport (installed before the contender, so the
contender wraps it), so no network time is measured.

## Budgets

${verdicts.join("\n")}

## Where Threadline is ahead and where it is behind

Against the three SDKs, in this run (medians; differences of a few µs or ms are within this machine's noise).

| measure | Threadline is ahead of | Threadline is behind |
|---|---|---|
${standing}

## 1. Bytes a page downloads for the instrumentation

Each contender bundled with esbuild (minified, IIFE, only what the job needs); Threadline is its
script-tag build plus its wasm file.

| contender | raw KB | gzip KB | brotli KB | gzip vs Threadline |
|---|---|---|---|---|
${CONTENDERS.map((c) => `| ${c.label} | ${kb(sizes[c.name].raw)} | ${kb(sizes[c.name].gzip)} | ${kb(sizes[c.name].brotli)} | ${ratio(sizes[c.name].gzip, tlGzip)} |`).join("\n")}

## 2. Time to ready

From the first script on the page to the first fetch to the allowed origin that carries the header
(polled without timers' clamping). Includes downloading and compiling the bundle (and the wasm) from loopback.
Threadline's page is set up as its README shows, with the optional \`<link rel="preload">\` for the
wasm; "without the preload line" is the same build with only the script tag.

"Early requests": ${N_EARLY} fetches sent right after the contender's script ran (Threadline: right
after \`init\` was called, while its wasm may still be downloading or compiling): how many reached the
transport without the header (median per round), and the longest time one of them took to reach it
(Threadline holds them until it is ready, at most 3 s).

| contender | ms (median) | vs Threadline | rounds where it got ready | early requests untagged (of ${N_EARLY}) | early requests' wait, ms |
|---|---|---|---|---|---|
${rows((n) => `${num(med[n].readyMs)} | ${ratio(med[n].readyMs, med[tl].readyMs)} | ${med[n].readyCount}/${ROUNDS} | ${num(med[n].earlyUntagged, 0)} | ${num(med[n].earlyWait, 2)}`)}

## 3. Per-request overhead

Microseconds per call over the baseline page's, for ${N_FETCH} fetches (issued together, awaited) and
${N_XHR} XHR \`open\` + \`send\` (the stub answers nothing, so only the call path is measured); in each
round, the median of ${BATCHES} such batches.

| contender | fetch, allowed | fetch, other origin | XHR, allowed | XHR, other origin | fetch allowed vs Threadline |
|---|---|---|---|---|---|
${rows((n) => `${num(overhead(n, "fetchAllowed"), 2)} | ${num(overhead(n, "fetchOther"), 2)} | ${num(overhead(n, "xhrAllowed"), 2)} | ${num(overhead(n, "xhrOther"), 2)} | ${ratio(overhead(n, "fetchAllowed"), tlFetch)}`)}

Baseline page, absolute: fetch ${num(base.fetchAllowed, 2)} µs, XHR ${num(base.xhrAllowed, 2)} µs per call.

## 4. Cost of recording

Microseconds per \`log(message, attributes)\` call (${N_LOG} calls in a row), and the events per
second that rate sustains. Batching and encoding are included as far as each SDK does them in the
call: Threadline encodes each event as it is logged; OpenTelemetry and Sentry keep the objects and
encode them when they export. "Through delivery" times the same ${N_LOG} calls followed by the SDK's
flush, until the endpoint on loopback has acknowledged them, so deferred encoding counts too.
Datadog's browser SDKs have no public flush. Threadline's cost per automatically recorded
request event is part of its fetch and XHR figures above (the \`http.request\` event is encoded when
the request ends).

| contender | µs per log() | events/s | vs Threadline | µs per event through delivery | events/s | vs Threadline |
|---|---|---|---|---|---|---|
${rows((n) => (n === "baseline" || n === "handwritten" || n.endsWith("-propagate") ? "— | — | — | — | — | —" : [med[n].log, med[n].delivered].map((x, k) => `${num(x, 2)} | ${x ? Math.round(1e6 / x).toLocaleString("en") : "—"} | ${ratio(x, k ? med[tl].delivered : med[tl].log)}`).join(" | ")))}

## 5. Memory with the endpoint down

After ${N_MEMORY.toLocaleString("en")} events logged with the endpoint refusing connections, 2 s later, after a forced GC
(one run per contender). Threadline keeps the newest events up to \`maxQueueBytes\` (1 MiB by
default) for when the endpoint comes back, and counts what it drops; its wasm memory holds them,
and never shrinks once grown. OpenTelemetry's log processor keeps at most 2048 records.

| contender | JS heap before MB | JS heap after MB | wasm memory after MB |
|---|---|---|---|
${rows((n) => `${(memories[n].heapBefore / 1048576).toFixed(1)} | ${(memories[n].heapAfter / 1048576).toFixed(1)} | ${(memories[n].wasmAfter / 1048576).toFixed(1)}`)}
`;
// The hand-written accounts after the tables: Threadline's bytes (measured with
// bench/wasm-sizes.mjs), side-by-side runs, where its time goes (bench/profile-*.mjs), and the
// collector's section, written by `npm run bench:collector` (bench/collector.mjs).
const accounts = ["where-the-bytes-go.md", "side-by-side.md", "profile.md", "collector.md"]
  .filter((f) => existsSync(join(here, f)))
  .map((f) => readFileSync(join(here, f), "utf8"));
writeFileSync(join(root, "BENCHMARKS.md"), `${report}\n${accounts.join("\n")}`);
writeFileSync(join(here, "results.json"), JSON.stringify({ date: new Date().toISOString(), chromium: chromiumVersion, rounds: ROUNDS, sizes, runs, medians: med, memories }, null, 2));
console.log(verdicts.join("\n"));
console.log("Wrote BENCHMARKS.md and bench/results.json");
