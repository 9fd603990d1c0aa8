// The packaging matrix: the `npm pack` tarball installed into small apps built by the bundlers
// real teams use, with no configuration for Threadline (or the README's one line where the
// bundler cannot emit the wasm itself). Each app is served on loopback and loaded in headless
// Chromium; its fetch must reach a loopback API server carrying the correlation header, `init`
// must resolve, the error dialog (a chunk of its own) must open, and the page must log no error.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { launchBrowser } from "../e2e/harness.mjs";
import { packTarball, removeTarball, repo, withFixture } from "./install.mjs";

const ID = /^[0-9a-f]{32}$/;
const run = promisify(execFile);
const log = (message) => console.log(message);
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm" };

let tarball;
let browser;
let api;

/** The API the apps call: records each request's headers; CORS lets the page send the header. */
function startApi() {
  const received = [];
  const server = createServer((req, res) => {
    res.setHeader("Access-Control-Allow-Origin", req.headers.origin || "*");
    if (req.method === "OPTIONS") {
      res.setHeader("Access-Control-Allow-Headers", req.headers["access-control-request-headers"] || "");
      res.writeHead(204).end();
      return;
    }
    received.push({ path: req.url, headers: req.headers });
    res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({
    origin: `http://127.0.0.1:${server.address().port}`,
    received: (path) => received.filter((r) => r.path === path),
    close: () => new Promise((done) => server.close(done)),
  })));
}

/** A plain static server for a build's output directory, with the wasm's proper MIME type. */
function serveStatic(dir) {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    try {
      const file = join(dir, normalize(path.endsWith("/") ? `${path}index.html` : path));
      const body = await readFile(file);
      res.writeHead(200, { "Content-Type": TYPES[extname(file)] || "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({
    url: `http://127.0.0.1:${server.address().port}/`,
    stop: () => new Promise((done) => server.close(done)),
  })));
}

/** A free loopback port for a server that picks none itself. */
function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Starts a fixture's own server (a dev server, `vite preview`, `next start`) and waits until it answers. */
async function startCommand(cwd, command, args, env = {}) {
  const port = await freePort();
  const child = spawn(join(cwd, "node_modules", ".bin", command), args(port), {
    cwd, env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", resolve);
    process.kill(-child.pid, "SIGTERM");
  });
  const url = `http://127.0.0.1:${port}/`;
  for (const deadline = Date.now() + 60_000; ;) {
    if (child.exitCode !== null) throw new Error(`${command} exited: ${output}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${command} did not answer on ${url}: ${output}`);
    }
    try {
      await fetch(url, { signal: AbortSignal.timeout(60_000) });
      return { url, stop };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Runs a fixture's build step (`npm run …` or one of its binaries), failing with its output. */
async function build(cwd, [command, ...args], env = {}) {
  const file = command === "npm" ? "npm" : join(cwd, "node_modules", ".bin", command);
  try {
    await run(file, args, { cwd, timeout: 300_000, env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ...env } });
  } catch (error) {
    throw new Error(`${command} ${args.join(" ")} failed: ${error.stdout}${error.stderr}`);
  }
}

/** Loads the app at `url` and asserts what a user and the API server see. */
async function assertAppWorks(row, url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.on("response", (r) => r.status() >= 400 && errors.push(`HTTP ${r.status()}: ${r.url()}`));
  const wasm = [];
  page.on("response", (r) => new URL(r.url()).pathname.endsWith(".wasm") && wasm.push(`${r.status()} ${r.headers()["content-type"]} ${new URL(r.url()).pathname}`));
  const path = `/api/packaging/${row}`;
  try {
    const target = new URL(url);
    target.searchParams.set("api", api.origin);
    target.searchParams.set("row", row);
    await page.goto(target.href, { timeout: 120_000 });
    await page.waitForFunction(() => window.threadlineResult, null, { timeout: 120_000 });
    const result = await page.evaluate(() => window.threadlineResult.then((r) => r, (e) => ({ error: e.message })));
    assert.equal(result.error, undefined, `the app failed (init, its fetch or the dialog): ${result.error}`);
    assert.match(result.sessionId, ID);
    assert.equal(result.status, 200);
    assert.equal(result.dialogTitle, "Packaging check", "the error dialog's chunk loaded");
    const received = api.received(path);
    assert.equal(received.length, 1, `one request at ${path}`);
    assert.match(received[0].headers["x-correlation-id"], ID);
    assert.deepEqual(errors, []);
    assert.equal(wasm.filter((w) => w.startsWith("200 application/wasm ")).length, 1, `the wasm downloaded once: ${wasm.join(", ")}`);
    log(`${row}: ${wasm.join(", ")}`);
  } finally {
    await context.close();
  }
}

/** Checks the app that `server` serves, then stops the server whatever happened. */
async function served(row, server) {
  try {
    await assertAppWorks(row, server.url);
  } finally {
    await server.stop();
  }
}

before(async () => {
  tarball = await packTarball();
  browser = await launchBrowser();
  api = await startApi();
});

after(async () => {
  await browser?.close();
  await api?.close();
  if (tarball) removeTarball(tarball);
});

/** Runs `use(dir)` in the fixture's prepared directory. */
const fixture = (name, use) => withFixture(name, tarball, log, use);

const viteServer = (mode) => (port) => [...(mode ? [mode] : []), "--host", "127.0.0.1", "--port", String(port), "--strictPort"];

for (const vite of ["vite5", "vite6", "vite8"]) {
  test(`${vite}: dev server, no config`, { timeout: 600_000 }, async () => {
    await fixture(vite, async (cwd) => {
      await served(`${vite}-dev`, await startCommand(cwd, "vite", viteServer()));
    });
  });

  test(`${vite}: build, then preview`, { timeout: 600_000 }, async () => {
    await fixture(vite, async (cwd) => {
      await build(cwd, ["vite", "build"]);
      await served(`${vite}-build`, await startCommand(cwd, "vite", viteServer("preview")));
    });
  });
}

test("webpack 5: production build, no config for Threadline", { timeout: 600_000 }, async () => {
  await fixture("webpack5", async (cwd) => {
    await build(cwd, ["npm", "run", "build"]);
    await served("webpack5", await serveStatic(join(cwd, "dist")));
  });
});

/** The README's line for bundlers that do not emit the wasm; the fixtures' build scripts use it. */
const COPY_LINE = "cp node_modules/threadline/dist/threadline_bg.wasm";

test("the README gives Rollup and esbuild the one line the fixtures use", () => {
  const readme = readFileSync(join(repo, "README.md"), "utf8");
  assert.ok(readme.includes(`${COPY_LINE} dist/`), "README names the copy line");
  for (const name of ["rollup", "esbuild"]) {
    const scripts = JSON.parse(readFileSync(join(repo, "tests", "packaging", "fixtures", name, "package.json"), "utf8")).scripts;
    for (const script of Object.values(scripts)) assert.ok(script.includes(COPY_LINE), `${name}: ${script}`);
  }
});

test("Rollup with node-resolve and the README's line", { timeout: 600_000 }, async () => {
  await fixture("rollup", async (cwd) => {
    await build(cwd, ["npm", "run", "build"]);
    await served("rollup", await serveStatic(join(cwd, "dist")));
  });
});

for (const format of ["esm", "iife"]) {
  test(`esbuild --bundle --format=${format} and the README's line`, { timeout: 600_000 }, async () => {
    await fixture("esbuild", async (cwd) => {
      await build(cwd, ["npm", "run", `build:${format}`]);
      await served(`esbuild-${format}`, await serveStatic(join(cwd, "dist", format)));
    });
  });
}

for (const bundler of ["webpack", "turbopack"]) {
  test(`Next.js 16 App Router with ${bundler}: next build (prerender), next start, init rejects during SSR`, { timeout: 900_000 }, async () => {
    await fixture("next16", async (cwd) => {
      const env = { NEXT_DIST_DIR: `.next-${bundler}` };
      await build(cwd, ["next", "build", `--${bundler}`], env);
      const server = await startCommand(cwd, "next", (port) => ["start", "-H", "127.0.0.1", "-p", String(port)], env);
      try {
        const ssr = await (await fetch(`${server.url}ssr`)).text();
        assert.match(ssr, /<p id="ssr-init">Threadline needs a browser page: init was called where there is no window or document/);
      } catch (error) {
        await server.stop();
        throw error;
      }
      await served(`next-${bundler}`, server);
    });
  });
}

for (const bundler of ["webpack", "turbopack"]) {
  test(`Next.js 16 App Router: next dev with ${bundler}`, { timeout: 900_000 }, async () => {
    await fixture("next16", async (cwd) => {
      const dev = (port) => ["dev", `--${bundler}`, "-H", "127.0.0.1", "-p", String(port)];
      await served(`next-dev-${bundler}`, await startCommand(cwd, "next", dev, { NEXT_DIST_DIR: `.next-${bundler}` }));
    });
  });
}
