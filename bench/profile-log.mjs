// `node bench/profile-log.mjs`: where the time of `log(message, attributes)` and of delivery
// goes, on the bench's page and calls (2000 `log("event i", { i, user: "u1" })`, then the same
// followed by `flush()` until the loopback endpoint has acknowledged them). Run after
// `npm run build`. Prints, for the logging calls, self time by function and by area from
// Chromium's sampling profiler (CDP `Profiler`, PROFILE_INTERVAL_US µs, default 25), and, for
// delivery, each upload's size and how long its encoding, request and answer took.
//
// The profiled build is the shipped one with names kept: `dist/threadline_bg.wasm`'s code with
// its name section, and the script-tag entry bundled without minifying. PROFILE_ROUNDS (default 5)
// pages are profiled, each in a fresh browser context; figures are medians over them.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const out = join(here, "out", "profile");
const ROUNDS = Math.min(Number(process.env.PROFILE_ROUNDS || 5), 50);
const INTERVAL_US = Math.max(Number(process.env.PROFILE_INTERVAL_US || 25), 10);
const N_LOG = 2000;
/** PROFILE_OPTIONS='{"maxBatchBytes":1048576}': options added to the bench's `init` call. */
const OPTIONS = JSON.parse(process.env.PROFILE_OPTIONS || "{}");

// --- The build, with names.

mkdirSync(out, { recursive: true });
// scripts/build.mjs keeps the optimised wasm with its names in build/pkg; its last step again,
// with -g, gives the shipped file's code (the same bytes) with the name section kept.
const named = join(out, "threadline_bg.wasm");
execFileSync(join(root, "node_modules", ".bin", "wasm-opt"), [
  "-Oz", "-g", "--strip-producers", "--strip-target-features", "--minify-imports-and-exports-and-modules",
  join(root, "build", "pkg", "threadline_opt.wasm"), "-o", named,
], { stdio: ["ignore", "ignore", "inherit"] });
const shape = (file) => {
  const module = new WebAssembly.Module(readFileSync(file));
  return JSON.stringify([WebAssembly.Module.imports(module), WebAssembly.Module.exports(module)]);
};
if (shape(named) !== shape(join(root, "dist", "threadline_bg.wasm"))) {
  throw new Error("profile-log: the named wasm's imports and exports differ from dist/threadline_bg.wasm; run `npm run build` first");
}
/** wasm-bindgen's glue imports its copies of the `js/` snippets; the sources are the same files. */
const snippetsAreSources = {
  name: "snippets-are-sources",
  setup(build) {
    build.onResolve({ filter: /\/snippets\/[^/]+\/js\/[^/]+$/ }, (args) => ({ path: join(root, "js", args.path.split("/").pop()) }));
  },
};
const library = (await esbuild.build({
  entryPoints: [join(root, "js", "script.js")], bundle: true, format: "iife", globalName: "Threadline", target: "es2020",
  plugins: [snippetsAreSources], write: false, logLevel: "error", logOverride: { "duplicate-object-key": "silent" },
})).outputFiles[0].text;
/** The source file of each line of the unminified bundle, from esbuild's `// js/page.js` markers. */
const sourceOfLine = [];
let source = "bundle";
for (const line of library.split("\n")) {
  const marker = /^ {2}\/\/ (\S+\.js)$/.exec(line);
  if (marker) source = marker[1].split("/").pop();
  sourceOfLine.push(source);
}

// --- The page and a loopback endpoint.

const uploads = [];
const server = createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  if (req.headers.origin) res.setHeader("Access-Control-Allow-Origin", req.headers.origin);
  if (req.method === "OPTIONS") {
    res.setHeader("Access-Control-Allow-Headers", req.headers["access-control-request-headers"] || "*");
    res.setHeader("Access-Control-Allow-Methods", "POST");
    return res.writeHead(204).end();
  }
  if (req.method === "POST") {
    let bytes = 0;
    for await (const chunk of req) bytes += chunk.length;
    uploads.push(bytes);
    return res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
  }
  if (url.pathname === "/page") return res.writeHead(200, { "Content-Type": "text/html" }).end(page());
  if (url.pathname === "/p/threadline.js") return res.writeHead(200, { "Content-Type": "text/javascript" }).end(library);
  if (url.pathname === "/p/threadline_bg.wasm") return res.writeHead(200, { "Content-Type": "application/wasm" }).end(readFileSync(named));
  res.writeHead(404).end();
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const PAGE = `http://bench.test:${server.address().port}`;
const ENDPOINT = `http://ingest.bench.test:${server.address().port}/v1/logs`;
const API = `http://api.bench.test:${server.address().port}`;

/**
 * The bench's Threadline page: a stub transport answering the allowed API origin in the page
 * (so requests cost no network time, as in the bench), the script tag, then `init` as
 * bench/contenders/threadline.js calls it.
 */
function page() {
  return `<!doctype html><html><head><meta charset="utf-8"><script>
const realFetch = window.fetch;
window.__uploads = [];
window.fetch = function (input, init) {
  const url = input instanceof Request ? input.url : String(input);
  if (url.startsWith(${JSON.stringify(API)})) return Promise.resolve(new Response("{}", { status: 200 }));
  const entry = { start: performance.now(), bytes: init && init.body ? init.body.byteLength : 0 };
  window.__uploads.push(entry);
  return realFetch.apply(this, arguments).then((response) => {
    entry.answered = performance.now();
    return response;
  });
};
</script><script src="/p/threadline.js"></script><script>
window.ready = Threadline.init({ endpoint: ${JSON.stringify(ENDPOINT)}, propagateTo: [${JSON.stringify(API)}], sameOrigin: false, autoActions: false, ...${JSON.stringify(OPTIONS)} });
</script></head><body></body></html>`;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--host-resolver-rules=MAP *.test 127.0.0.1", "--disable-features=PreloadTopChromeWebUI"],
});

/** Area of a profile node's function: which file or part of the recorder its time belongs to. */
function area(frame) {
  if (frame.url.endsWith(".wasm")) {
    const name = frame.functionName;
    const path = /^(?:<[^>]*>::)?([a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*)/i.exec(name.replace(/^<|^&/, ""))?.[1] || name;
    if (/^threadline::web/.test(path)) return "wasm: web shell (src/web)";
    const own = /^threadline::([a-z_]+)/.exec(path);
    if (own) return `wasm: ${own[1]}.rs`;
    if (/rlsf|alloc::alloc|__rust_(re)?alloc|__rust_dealloc|__rdl|malloc|free/i.test(name)) return "wasm: allocator";
    if (/memcpy|memmove|memset|memcmp/.test(name)) return "wasm: memcpy/memset";
    if (/wasm_bindgen|__wbindgen|__externref|externref/.test(name)) return "wasm: wasm-bindgen runtime";
    if (/^(core|alloc)::/.test(path)) return "wasm: core/alloc (String, Vec, fmt)";
    if (/^getrandom/.test(path)) return "wasm: getrandom";
    return "wasm: other";
  }
  if (frame.url.endsWith("/p/threadline.js")) {
    const file = sourceOfLine[frame.lineNumber] || "bundle";
    return file === "threadline.js" ? "JS: wasm-bindgen glue (strings in and out)" : `JS: ${file}`;
  }
  if (frame.url) return "JS: the page";
  const name = frame.functionName;
  if (name === "") return "JS: the calling loop (and what V8 inlined into it)";
  if (name === "(garbage collector)") return "GC";
  if (/^\((program|idle|root)\)$/.test(name)) return name;
  if (/^(js-to-wasm|wasm-to-js)/.test(name)) return "JS↔wasm call stubs";
  return `browser built-in: ${name}`;
}

/** Self time (µs) per function and per area over one profile. */
function selfTimes(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFunction = new Map();
  const byArea = new Map();
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const frame = nodes.get(id).callFrame;
    const label = frame.url.endsWith(".wasm") ? `wasm ${frame.functionName}` : `${frame.functionName || "(anonymous)"} ${frame.url ? `${sourceOfLine[frame.lineNumber] || ""}:${frame.lineNumber + 1}` : ""}`;
    byFunction.set(label, (byFunction.get(label) || 0) + dt);
    byArea.set(area(frame), (byArea.get(area(frame)) || 0) + dt);
  });
  return { byFunction, byArea };
}

const logs = `for (let i = 0; i < ${N_LOG}; i++) window.tl.log("info", \`event \${i}\`, { i, user: "u1" });`;

async function round() {
  uploads.length = 0;
  const context = await browser.newContext();
  const tab = await context.newPage();
  await tab.goto(`${PAGE}/page`);
  // As in the bench, the log() calls come after the per-request measures: 5200 fetches to the
  // allowed origin, each recorded as an http.request event, warm the encoder's shared code.
  await tab.evaluate(async (api) => {
    window.tl = await window.ready;
    for (const n of [200, 1000, 1000, 1000, 1000, 1000]) {
      const pending = [];
      for (let i = 0; i < n; i++) pending.push(fetch(`${api}/orders`));
      await Promise.all(pending);
    }
    await window.tl.flush();
  }, API);
  const cdp = await context.newCDPSession(tab);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: INTERVAL_US });
  /** The calls, timed and, with `profiled`, profiled alone (console.profile() around them). */
  const run = async (profiled) => {
    const finished = profiled && new Promise((resolve) => cdp.once("Profiler.consoleProfileFinished", resolve));
    const ms = await tab.evaluate(`(() => { ${profiled ? 'console.profile("log");' : ""} const t = performance.now(); ${logs} const ms = performance.now() - t; ${profiled ? 'console.profileEnd("log");' : ""} return ms; })()`);
    await tab.evaluate(() => window.tl.flush());
    return { ms, profile: profiled && selfTimes((await finished).profile) };
  };
  const first = await run(true);
  const second = await run(false);
  const third = await run(true);
  // Delivery: log, then flush until acknowledged, unprofiled; each upload's timing.
  const delivery = await tab.evaluate(`(async () => {
    window.__uploads.length = 0;
    const t = performance.now();
    ${logs}
    const logged = performance.now();
    await window.tl.flush();
    const flushed = performance.now();
    return { logMs: logged - t, totalMs: flushed - t, uploads: window.__uploads.map((u) => ({ ...u, start: u.start - logged, answered: u.answered - logged })) };
  })()`);
  await context.close();
  return { coldMs: first.ms, warmMs: second.ms, profiledMs: third.ms, profiles: { first: first.profile, third: third.profile }, delivery };
}

const rounds = [];
for (let r = 0; r < ROUNDS; r++) rounds.push(await round());
await browser.close();
server.close();

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const perLog = (ms) => ((ms * 1000) / N_LOG).toFixed(2);
console.log(`log(): µs per call over ${N_LOG} calls, median of ${ROUNDS} pages`);
console.log(`  the first ${N_LOG} log() calls of the page, after 5200 requests (what the bench measures), profiled: ${perLog(median(rounds.map((r) => r.coldMs)))}`);
console.log(`  the next ${N_LOG}, unprofiled: ${perLog(median(rounds.map((r) => r.warmMs)))}`);
console.log(`  the third ${N_LOG}, profiled: ${perLog(median(rounds.map((r) => r.profiledMs)))}`);

const table = (title, which, key, top) => {
  const profiles = rounds.map((r) => r.profiles[which][key]);
  const labels = new Set(profiles.flatMap((p) => [...p.keys()]));
  const rows = [...labels].map((label) => [label, median(profiles.map((p) => p.get(label) || 0))]);
  const busy = rows.filter(([l]) => !/^\((idle|program|root)\)/.test(l)).reduce((n, [, us]) => n + us, 0);
  console.log(`\n${title} (self time, µs per log() call, median of ${ROUNDS} profiles at ${INTERVAL_US} µs sampling; share of the sampled time)`);
  console.log("| | µs per call | share |\n|---|---|---|");
  for (const [label, us] of rows.sort((a, b) => b[1] - a[1]).slice(0, top)) {
    if (us > 0) console.log(`| ${label.replaceAll("|", "\\|")} | ${(us / N_LOG).toFixed(2)} | ${((100 * us) / busy).toFixed(1)} % |`);
  }
};
table("The first 2000 log() calls by area", "first", "byArea", 30);
table("The first 2000 log() calls by function", "first", "byFunction", 25);
table("The third 2000 log() calls by area", "third", "byArea", 30);
table("The third 2000 log() calls by function", "third", "byFunction", 25);

console.log(`\nDelivery: ${N_LOG} log() calls, then flush() until the endpoint acknowledged (median of ${ROUNDS} pages)`);
const d = rounds.map((r) => r.delivery);
console.log(`  logging ${median(d.map((x) => x.logMs)).toFixed(1)} ms, until flush() resolved ${median(d.map((x) => x.totalMs)).toFixed(1)} ms: ${perLog(median(d.map((x) => x.totalMs)))} µs per event`);
console.log(`  uploads per flush: ${median(d.map((x) => x.uploads.length))}, KB each (median) ${(median(d.flatMap((x) => x.uploads.map((u) => u.bytes))) / 1024).toFixed(1)}`);
const gaps = d.flatMap((x) => x.uploads.map((u, i) => [u, x.uploads[i - 1]]));
console.log(`  per upload, median ms: request until answer ${median(gaps.map(([u]) => u.answered - u.start)).toFixed(2)}; previous answer until next request (encoding the batch, the upload call) ${median(gaps.filter(([, p]) => p).map(([u, p]) => u.start - p.answered)).toFixed(2)}`);
console.log(`  time in flight (requests outstanding) ${median(d.map((x) => x.uploads.reduce((n, u) => n + (u.answered - u.start), 0))).toFixed(1)} ms of ${median(d.map((x) => x.totalMs - x.logMs)).toFixed(1)} ms after the last log()`);
