// `node bench/profile-startup.mjs`: where Threadline's time to ready goes, phase by phase, next
// to the hand-written wrapper's, on the bench's page (script tag with the wasm preload, loopback).
// Each phase is read in the page from Resource Timing and from wrappers around the WebAssembly
// calls and marks between the page's scripts; figures are medians of PROFILE_LOADS loads
// (default 15), each in a fresh browser context. PROFILE_DIST=<dir> profiles another build's
// `dist/`; PROFILE_ROWS=n lists the n costliest calls of each phase (default 10).
// PROFILE_PAGES=handwritten,threadline,threadline-no-preload,threadline-low-preload picks the
// pages, interleaved load by load: Threadline without the README's preload line, or with it at
// `fetchpriority="low"`, shows whether the wasm's download delays the scripts'.
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const dist = process.env.PROFILE_DIST || join(here, "..", "dist");
const LOADS = Math.min(Number(process.env.PROFILE_LOADS || 15), 100);
const ROWS = Number(process.env.PROFILE_ROWS || 10);

const bundles = {};
for (const name of ["threadline", "handwritten"]) {
  const built = await esbuild.build({
    entryPoints: [join(here, "contenders", `${name}.js`)],
    bundle: true, minify: true, format: "iife", target: "es2020", write: false, logLevel: "error",
  });
  bundles[name] = built.outputFiles[0].contents;
}

/** The contender script a page runs: `threadline-no-preload` runs `threadline`. */
const contenderOf = (name) => name.replace(/-(no|low)-preload$/, "");

/** The bench's page, with marks between its scripts. */
function page(name) {
  const contender = contenderOf(name);
  const priority = name.endsWith("-low-preload") ? ' fetchpriority="low"' : "";
  const preload = name.endsWith("-no-preload") ? "" : `<link rel="preload" href="/dist/threadline_bg.wasm" as="fetch" type="application/wasm" crossorigin${priority}>`;
  const library = contender === "threadline"
    ? `${preload}
<script>performance.mark("library-requested")</script><script src="/dist/threadline.js"></script><script>performance.mark("library-run")</script>`
    : "";
  return `<!doctype html><html><head><meta charset="utf-8"><script>
window.__t0 = performance.now();
window.BENCH = { api: "${API}", other: "${API}/other", endpoint: "${API}/v1/logs" };
window.__calls = [];
const wrap = (name) => {
  const original = WebAssembly[name];
  WebAssembly[name] = async function () {
    const entry = { name, start: performance.now() };
    window.__calls.push(entry);
    try { return await original.apply(this, arguments); } finally { entry.end = performance.now(); }
  };
};
for (const name of ["compile", "compileStreaming", "instantiateStreaming"]) wrap(name);
// Time inside each wasm export and each JS import, self time only, until init resolves.
window.__self = {};
window.__phase = "init";
const stack = [];
const timed = (fn, label) => function () {
  if (window.__phase === "done") return fn.apply(this, arguments);
  const frame = { start: performance.now(), children: 0 };
  stack.push(frame);
  try { return fn.apply(this, arguments); } finally {
    stack.pop();
    const total = performance.now() - frame.start;
    const entry = ((window.__self[window.__phase] ??= {})[label] ??= { ms: 0, calls: 0 });
    entry.ms += total - frame.children;
    entry.calls++;
    if (stack.length) stack[stack.length - 1].children += total;
  }
};
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async function (module, imports) {
  const entry = { name: "instantiate", start: performance.now() };
  window.__calls.push(entry);
  const wrapped = {};
  for (const [space, fns] of Object.entries(imports || {})) {
    wrapped[space] = {};
    for (const [key, fn] of Object.entries(fns)) wrapped[space][key] = typeof fn === "function" ? timed(fn, "import " + key) : fn;
  }
  const result = await instantiate.call(this, module, wrapped);
  entry.end = performance.now();
  const instance = result.instance || result;
  const exports = {};
  for (const [key, value] of Object.entries(instance.exports)) exports[key] = typeof value === "function" ? timed(value, "export " + key) : value;
  const proxied = new Proxy(instance, { get: (target, name) => (name === "exports" ? exports : Reflect.get(target, name)) });
  return result.instance ? { module: result.module, instance: proxied } : proxied;
};
const realFetch = window.fetch;
window.fetch = function (input, init) {
  const url = input instanceof Request ? input.url : String(input);
  if (!url.startsWith(BENCH.api)) return realFetch.apply(this, arguments);
  const headers = new Headers(init && init.headers);
  window.__tagged = headers.has("x-correlation-id");
  return Promise.resolve(new Response("{}"));
};
const tick = () => new Promise((r) => { const c = new MessageChannel(); c.port1.onmessage = () => r(); c.port2.postMessage(0); });
window.__readyAt = (async () => {
  const deadline = performance.now() + 10000;
  while (performance.now() < deadline) {
    window.__tagged = false;
    await window.fetch(BENCH.api + "/probe");
    if (window.__tagged) {
      window.__phase = "done";
      return performance.now();
    }
    await tick();
  }
  return null;
})();
</script>${library}<script>performance.mark("contender-requested")</script><script src="/out/${contender}.js"></script><script>performance.mark("contender-run");
window.bench.ready.then(() => { window.__phase = "after"; performance.mark("init-resolved"); });</script></head><body></body></html>`;
}

const server = createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  // Cross-origin isolated, so that performance.now() is precise to 5 µs rather than 100 µs.
  res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
  res.setHeader("Cross-Origin-Embedder-Policy", "require-corp");
  if (url.pathname.startsWith("/page/")) return res.writeHead(200, { "Content-Type": "text/html" }).end(page(url.pathname.slice(6)));
  if (url.pathname.startsWith("/out/")) return res.writeHead(200, { "Content-Type": "text/javascript" }).end(bundles[url.pathname.slice(5, -3)]);
  const file = url.pathname.startsWith("/dist/") ? join(dist, url.pathname.slice(6)) : null;
  if (!file || !existsSync(file)) return res.writeHead(404).end();
  let body = readFileSync(file);
  // Marks around the library's own statements: how long it waited to run, and how long it ran.
  if (file.endsWith("threadline.js")) body = Buffer.concat([Buffer.from('performance.mark("library-start");'), body, Buffer.from(';performance.mark("library-end");')]);
  return res.writeHead(200, { "Content-Type": file.endsWith(".wasm") ? "application/wasm" : "text/javascript" }).end(body);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const PAGE = `http://bench.test:${server.address().port}`;
const API = `http://api.bench.test:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--host-resolver-rules=MAP *.test 127.0.0.1",
    "--disable-features=PreloadTopChromeWebUI",
    `--unsafely-treat-insecure-origin-as-secure=${PAGE},${API}`, ...(process.env.PROFILE_JS_FLAGS ? [`--js-flags=${process.env.PROFILE_JS_FLAGS}`] : [])],
});

/** One load: each phase's start and end, in ms since the page's first script. */
async function load(name) {
  const context = await browser.newContext();
  const tab = await context.newPage();
  await tab.goto(`${PAGE}/page/${name}`);
  const phases = await tab.evaluate(async (contenderName) => {
    if (!crossOriginIsolated) throw new Error("the page is not cross-origin isolated: performance.now() would be coarse");
    const readyAt = await window.__readyAt;
    await window.bench.ready;
    const t0 = window.__t0;
    const at = (t) => (t === undefined ? null : t - t0);
    const mark = (n) => at(performance.getEntriesByName(n, "mark")[0]?.startTime);
    const resource = (suffix) => performance.getEntriesByType("resource").filter((r) => r.name.endsWith(suffix));
    const out = {};
    const span = (label, start, end) => {
      if (start !== null && end !== null) out[label] = [start, end];
    };
    const lib = resource("/dist/threadline.js")[0];
    if (lib) span("library script: download", at(lib.startTime), at(lib.responseEnd));
    span("library script: parse and run", at(lib?.responseEnd), mark("library-run"));
    span("library: downloaded → its first statement runs", at(lib?.responseEnd), mark("library-start"));
    span("library: its statements", mark("library-start"), mark("library-end"));
    span("library: after them → the next script (the wasm fetched, compile started)", mark("library-end"), mark("library-run"));
    const wasmFetches = resource("_bg.wasm");
    wasmFetches.forEach((w, i) => span(`wasm download${wasmFetches.length > 1 ? ` ${i + 1}` : ""}`, at(w.startTime), at(w.responseEnd)));
    const contender = resource(`/out/${contenderName}.js`)[0];
    if (contender) span("contender script: download", at(contender.startTime), at(contender.responseEnd));
    span("contender script: run (init called)", Math.max(at(contender?.responseEnd), mark("library-run") ?? 0), mark("contender-run"));
    for (const call of window.__calls) span(`WebAssembly.${call.name}`, at(call.start), at(call.end));
    const instantiated = window.__calls.find((c) => c.name.startsWith("instantiate"));
    span("after instantiate → init resolved (start, createRecorder)", at(instantiated?.end), mark("init-resolved"));
    span("init resolved → tagged probe", mark("init-resolved"), at(readyAt));
    span("time to ready", 0, at(readyAt));
    return { spans: out, self: window.__self };
  }, contenderOf(name));
  await context.close();
  return phases;
}

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const PAGES = (process.env.PROFILE_PAGES || "handwritten,threadline").split(",");
for (const name of PAGES) await load(name);
const loads = Object.fromEntries(PAGES.map((name) => [name, []]));
for (let i = 0; i < LOADS; i++) for (const name of PAGES) loads[name].push(await load(name));
await browser.close();
server.close();

/** Export short names → the glue's function names (`wasm.ra(` inside `createRecorder`). */
const glue = readFileSync(join(here, "..", "build", "pkg", "threadline.js"), "utf8");
const exportNames = new Map([["_a", "start (__wbindgen_start)"]]);
/** Import short names → what the glue calls there (`openSlot`, `arg0.getItem`…). */
const importNames = new Map();
for (const [, short, body] of glue.matchAll(/\n {8}"(\w+)": function\([^)]*\) \{(?: return handleError\(function \([^)]*\) \{)?\n((?: {12}.*\n){1,6})/g)) {
  const call = /ret = (?:new )?([\w.]+)\(/.exec(body) || /ret = (arg\d(?:\.\w+)+|typeof|\w+ === \w+)/.exec(body) || /^\s+([\w.]+)\(/m.exec(body);
  if (call) importNames.set(short, call[1]);
}
for (const [, short, fn] of glue.matchAll(/"(\w+)": import\d+\.(\w+)/g)) importNames.set(short, fn);
let inside = null;
for (const line of glue.split("\n")) {
  const opens = /^(?:export )?function (\w+)\(|^ {4}(?:(?:get|set|static) )?(\w+)\([^)]*\) \{$/.exec(line);
  if (opens) inside = opens[1] || opens[2];
  for (const [, short] of line.matchAll(/\bwasm\.(\w+)\(/g)) if (inside && !exportNames.has(short)) exportNames.set(short, inside);
}

console.log(`Time to ready by phase: medians of ${LOADS} loads, ms since the page's first script (${dist})`);
for (const name of PAGES) {
  console.log(`\n${name}\n| phase | starts at | ends at | lasts |\n|---|---|---|---|`);
  const spans = loads[name].map((l) => l.spans);
  for (const label of [...new Set(spans.flatMap((l) => Object.keys(l)))]) {
    const xs = spans.map((l) => l[label]).filter(Boolean);
    const [s, e, d] = [median(xs.map((x) => x[0])), median(xs.map((x) => x[1])), median(xs.map((x) => x[1] - x[0]))];
    console.log(`| ${label} | ${s.toFixed(1)} | ${e.toFixed(1)} | ${d.toFixed(1)} |`);
  }
}
const phases = { init: "until init resolved", after: "init resolved → tagged probe" };
const profiled = PAGES.find((n) => n.startsWith("threadline"));
for (const [phase, title] of Object.entries(phases)) {
  console.log(`\n${profiled}, ${title}: self time in wasm exports and JS imports (median ms per load)\n| call | calls | ms |\n|---|---|---|`);
  const selves = loads[profiled].map((l) => l.self[phase] || {});
  const rows = [...new Set(selves.flatMap((l) => Object.keys(l)))].map((label) => {
    const [kind, short] = label.split(" ");
    const named = kind === "export" ? `export ${exportNames.get(short) || short}` : `import ${importNames.get(short) || short}`;
    return [named, median(selves.map((l) => l[label]?.calls ?? 0)), median(selves.map((l) => l[label]?.ms ?? 0))];
  });
  for (const [label, calls, ms] of rows.sort((a, b) => b[2] - a[2]).slice(0, ROWS)) console.log(`| ${label} | ${calls} | ${ms.toFixed(2)} |`);
  const sum = (f) => median(selves.map((l) => Object.entries(l).filter(([k]) => f(k)).reduce((n, [, v]) => n + v.ms, 0)));
  console.log(`| all exports (wasm code, self) | | ${sum((k) => k.startsWith("export")).toFixed(2)} |`);
  console.log(`| all imports (JS called from wasm) | | ${sum((k) => k.startsWith("import")).toFixed(2)} |`);
}
