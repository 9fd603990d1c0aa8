// The session on every backend line, end to end: a page with the built recorder
// (`traceparent: true`, so each tagged request also carries `baggage: session.id=…`) calls an
// Express app, a Fastify app, a FastAPI app under uvicorn, a Flask app under werkzeug and the
// tower demo (checkout, payments, worker), all behind one loopback reverse proxy that serves
// the page, so every request is same-origin. Each backend must echo the action's ID on success,
// 4xx, 5xx and thrown errors, put the action's ID and the session on every log line, forward
// both to a downstream service and carry both into a job.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, request as httpRequest } from "node:http";
import { createInterface } from "node:readline";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { startExpressApp, startFastifyApp } from "../../node/test/apps.mjs";
import { startDownstream } from "../../node/test/support.mjs";
import { ID, launchBrowser } from "./harness.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const PAGE = `<!doctype html><meta charset="utf-8"><title>backends</title>
<script type="module">import { init } from "/dist/threadline.mjs"; window.Threadline = { init };</script>`;
const TYPES = { ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm" };

const listen = (server) => new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)));
const freePort = async () => {
  const s = createServer();
  const port = await listen(s);
  await new Promise((resolve) => s.close(resolve));
  return port;
};

/** Spawns `command` and calls `onLine` for each line it prints; resolves once `ready(line)`. */
function spawnWithLines(command, args, options, onLine, ready) {
  const child = spawn(command, args, { ...options, stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  return new Promise((resolve, reject) => {
    let started = false;
    lines.on("line", (line) => {
      onLine(line);
      if (!started && ready(line)) {
        started = true;
        resolve({ child, line });
      }
    });
    child.on("exit", (code) => started || reject(new Error(`${command} exited (${code}) before it was ready`)));
  });
}

/** A FastAPI or Flask test app (python/tests/serve.py) in the virtual environment `npm test` makes. */
async function startPythonApp(name) {
  const python = join(root, "python", ".venv", "bin", "python");
  if (!existsSync(python)) throw new Error(`${python} is missing: scripts/test.sh creates it (npm test)`);
  const lines = [];
  const { child, line } = await spawnWithLines(
    python, ["-m", "tests.serve", name], { cwd: join(root, "python") },
    (text) => lines.push(JSON.parse(text)), (text) => text.startsWith('{"listening"'),
  );
  return {
    base: `http://127.0.0.1:${JSON.parse(line).listening}`,
    lines: () => lines,
    close: async () => {
      child.stdin.end();
      await new Promise((resolve) => child.on("exit", resolve));
    },
  };
}

/** The tower demo (crates/demo) with its payments service and worker; its stdout lines parsed. */
async function startTowerDemo() {
  execFileSync("cargo", ["build", "-q", "-p", "threadline-demo"], { cwd: root, stdio: "inherit" });
  const [port, payments, collector] = [await freePort(), await freePort(), await freePort()];
  const lines = [];
  const { child } = await spawnWithLines(
    join(root, "target", "debug", "threadline-demo"),
    ["--port", String(port), "--payments-port", String(payments), "--collector", `http://127.0.0.1:${collector}`, "--root", root],
    { cwd: root, env: { ...process.env, NO_COLOR: "1", DATABASE_URL: "" } }, // no database: the worker skips its query
    (text) => {
      const cid = /correlation_id=([A-Za-z0-9_-]+)/.exec(text)?.[1];
      const sid = /session\.id="([A-Za-z0-9_-]+)"/.exec(text)?.[1];
      if (cid) lines.push({ correlation_id: cid, "session.id": sid, message: text });
    },
    (text) => text.includes("shop on"),
  );
  return {
    base: `http://127.0.0.1:${port}`,
    lines: () => lines,
    close: async () => {
      child.kill("SIGINT");
      await new Promise((resolve) => child.on("exit", resolve));
    },
  };
}

/** Serves the page and dist/ and passes `/<backend>/rest` to that backend as `/rest`, headers untouched. */
async function startProxy(backends) {
  const server = createServer(async (req, res) => {
    const [, first, ...rest] = req.url.split("/");
    const backend = backends[first];
    if (backend) {
      const target = new URL(backend.base);
      // A connection per request: a server may close one after an unhandled error.
      const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: `/${rest.join("/")}`, headers: { ...req.headers, host: target.host }, agent: false }, (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      });
      upstream.on("error", () => res.writeHead(502).end());
      req.pipe(upstream);
      return;
    }
    if (req.url === "/") return res.writeHead(200, { "Content-Type": "text/html" }).end(PAGE);
    try {
      const path = normalize(req.url.split("?")[0]);
      if (!path.startsWith("/dist/")) throw new Error("not served");
      res.writeHead(200, { "Content-Type": TYPES[extname(path)] || "application/octet-stream" }).end(await readFile(join(root, path)));
    } catch {
      res.writeHead(404).end();
    }
  });
  const port = await listen(server);
  return { origin: `http://app.shop.test:${port}`, close: () => { server.closeAllConnections(); return new Promise((resolve) => server.close(resolve)); } };
}

let downstream;
let backends;
let proxy;
let browser;
before(async () => {
  downstream = await startDownstream();
  backends = {};
  const starts = { express: startExpressApp, fastify: startFastifyApp, fastapi: () => startPythonApp("fastapi"), flask: () => startPythonApp("flask"), tower: startTowerDemo };
  for (const [name, start] of Object.entries(starts)) backends[name] = await start();
  proxy = await startProxy(backends);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await proxy?.close();
  for (const backend of Object.values(backends ?? {})) await backend.close();
  await downstream?.close();
});

/**
 * Opens the page, starts the recorder with `traceparent: true` and makes one action per call,
 * each with its own fetch. Returns the session ID and, per call, the action's ID, the status
 * and the echoed header as the page saw them.
 */
async function fromThePage(calls) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(`${proxy.origin}/`);
  await page.waitForFunction(() => window.Threadline);
  const seen = await page.evaluate(async (calls) => {
    const tl = await window.Threadline.init({ traceparent: true });
    const out = [];
    for (const [path, init] of calls) {
      const action = tl.startAction(`call ${path}`);
      const r = await action.fetch(path, init);
      await r.arrayBuffer();
      action.end(r.ok ? "ok" : "error");
      out.push({ path, id: action.id, status: r.status, echoed: r.headers.get("x-correlation-id") });
    }
    return { session: tl.sessionId(), calls: out };
  }, calls);
  assert.deepEqual(errors, []);
  await context.close();
  return seen;
}

/** Waits until `check()` is truthy (at most 5 s). */
async function eventually(check, what) {
  for (let i = 0; i < 500; i++) {
    const value = check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const messageOf = (line) => line.msg ?? line.message;

for (const name of ["express", "fastify", "fastapi", "flask"]) {
  describe(`${name}: the browser's IDs on the backend`, () => {
    test("echoed on success, 4xx, 5xx and thrown errors; both on every line, downstream and in the job", async () => {
      const to = encodeURIComponent(downstream.url);
      const calls = [
        [`/${name}/ok`, 200], [`/${name}/status/404`, 404], [`/${name}/status/503`, 503], [`/${name}/throw`, 500],
        [`/${name}/nowhere`, 404], [`/${name}/forward?to=${to}`, 200], [`/${name}/job`, 202],
        ...(name === "express" || name === "fastify" ? [[`/${name}/reject`, 500]] : []),
      ];
      const { session, calls: seen } = await fromThePage(calls.map(([path]) => [path, {}]));
      assert.match(session, ID);
      for (const [i, call] of seen.entries()) {
        assert.match(call.id, ID);
        assert.equal(call.status, calls[i][1], call.path);
        assert.equal(call.echoed, call.id, `${call.path}: the echo is the action's ID`);
      }
      assert.equal(new Set(seen.map((c) => c.id)).size, seen.length, "one ID per action");

      const backend = backends[name];
      const lines = (id) => backend.lines().filter((l) => l.correlation_id === id);
      const [ok, , , , , forward, job] = seen;
      await eventually(() => lines(ok.id).filter((l) => /^ok /.test(messageOf(l))).length === 2, "the /ok lines");
      await eventually(() => lines(job.id).some((l) => messageOf(l) === "job ran"), "the worker's line");
      for (const call of seen) {
        for (const line of lines(call.id)) assert.equal(line["session.id"], session, `${call.path}: ${JSON.stringify(line)}`);
      }
      const sent = downstream.received.find((h) => h["x-correlation-id"] === forward.id);
      assert.ok(sent, "the downstream call carries the action's ID");
      assert.equal(sent.baggage, `user.tier=gold,session.id=${session}`);
    });
  });
}

describe("tower demo: the browser's IDs through checkout, payments and the worker", () => {
  test("echoed on success, 4xx and 5xx; checkout's, payments' and the worker's lines carry both", async () => {
    const post = (payments) => ({ method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ payments, total: 12.5 }) });
    const calls = [["/tower/api/checkout", post("ok"), 200], ["/tower/api/checkout", post("502"), 502], ["/tower/api/checkout", { method: "GET" }, 405]];
    const { session, calls: seen } = await fromThePage(calls.map(([path, init]) => [path, init]));
    for (const [i, call] of seen.entries()) {
      assert.equal(call.status, calls[i][2], `${call.path} ${calls[i][1].method}`);
      assert.equal(call.echoed, call.id);
    }
    const lines = (id) => backends.tower.lines().filter((l) => l.correlation_id === id);
    const [paid, failed] = seen;
    const story = {
      [paid.id]: ["checkout started", "charging card", "card charged", "payment accepted", "job enqueued", "processing job send-receipt", "job send-receipt done"],
      [failed.id]: ["checkout started", "card processor unavailable: answering 502", "payments failed with HTTP 502", "processing job record-failed-payment", "job record-failed-payment done"],
    };
    for (const [id, messages] of Object.entries(story)) {
      await eventually(() => messages.every((m) => lines(id).some((l) => l.message.includes(`: ${m}`))), `the story of ${id}: ${messages}`);
      for (const line of lines(id)) assert.equal(line["session.id"], session, JSON.stringify(line));
    }
  });
});
