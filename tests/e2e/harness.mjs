// Real parts for the end-to-end tests: one HTTP server on loopback that answers for several
// origins (told apart by the Host header; `*.test` names resolve to 127.0.0.1 in the browser),
// records every request it receives, serves dist/ and the test pages, and a headless Debian
// Chromium driven by playwright-core.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm" };

/**
 * Starts the server on two loopback ports. Requests under /api/ are recorded and answered:
 * `?status=N` answers N; `/api/flaky/<key>?fail=N` answers 503 to the first N requests of that
 * key. CORS is granted to any origin, with preflights recorded apart.
 */
export async function startServers() {
  const received = [];
  const flaky = new Map();
  /** How dist/'s wasm files are answered: after `delay` ms, with `status`. */
  const wasm = { delay: 0, status: 200 };
  const handler = async (req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    if (url.pathname.endsWith(".wasm") && (wasm.delay || wasm.status !== 200)) {
      await new Promise((resolve) => setTimeout(resolve, wasm.delay));
      if (wasm.status !== 200) {
        res.writeHead(wasm.status).end("not served");
        return;
      }
    }
    const origin = req.headers.origin;
    if (origin) {
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Access-Control-Expose-Headers", "X-Correlation-ID");
    }
    const correlation = req.headers["x-correlation-id"];
    if (correlation) res.setHeader("X-Correlation-ID", correlation);
    if (req.method === "OPTIONS") {
      res.setHeader("Access-Control-Allow-Headers", req.headers["access-control-request-headers"] || "");
      res.setHeader("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE");
      res.writeHead(204).end();
      return;
    }
    if (url.pathname.startsWith("/api/")) {
      const chunks = [];
      try {
        for await (const chunk of req) chunks.push(chunk);
      } catch {
        return; // Closed mid-body.
      }
      received.push({ host: req.headers.host, method: req.method, path: url.pathname + url.search, headers: req.headers, body: Buffer.concat(chunks).toString() });
      let status = Number(url.searchParams.get("status") || 200);
      if (url.pathname.startsWith("/api/flaky/")) {
        const seen = (flaky.get(url.pathname) || 0) + 1;
        flaky.set(url.pathname, seen);
        status = seen <= Number(url.searchParams.get("fail") || 0) ? 503 : 200;
      }
      res.writeHead(status, { "Content-Type": "application/json" }).end('{"ok":true}');
      return;
    }
    const path = url.pathname.startsWith("/dist/") ? url.pathname : join("/tests/e2e/pages", url.pathname === "/" ? "index.html" : url.pathname);
    try {
      const body = await readFile(join(root, normalize(path)));
      res.writeHead(200, { "Content-Type": TYPES[extname(path)] || "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  };
  const listen = () => new Promise((resolve) => {
    const server = createServer(handler);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
  const main = await listen();
  const other = await listen();
  const port = main.address().port;
  const otherPort = other.address().port;
  return {
    port,
    otherPort,
    /** `http://<host>:<port>` on the main port. */
    origin: (host) => `http://${host}:${port}`,
    /** Answers the wasm after `delay` ms with `status` (a slow or missing file); `answerWasm()` resets. */
    answerWasm: (delay = 0, status = 200) => Object.assign(wasm, { delay, status }),
    /** Requests recorded whose path starts with `prefix`, in arrival order. */
    received: (prefix) => received.filter((r) => r.path.startsWith(prefix)),
    close: async () => {
      for (const s of [main, other]) {
        s.closeAllConnections();
        await new Promise((resolve) => s.close(resolve));
      }
    },
  };
}

/** Headless Debian Chromium where every `*.test` host name resolves to loopback. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--host-resolver-rules=MAP *.test 127.0.0.1",
    ],
  });
}

/** Opens `path` on `origin` in a fresh context and fails the test on any page error. */
export async function openPage(browser, url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  const warnings = [];
  page.on("pageerror", (e) => errors.push(e));
  page.on("console", (m) => {
    if (m.type() === "warning") warnings.push(m.text());
  });
  await page.goto(url);
  return { context, page, errors, warnings };
}

/** 32 lowercase hex characters: a valid correlation ID. */
export const ID = /^[0-9a-f]{32}$/;

/**
 * Starts the loopback servers and the browser before a test file's tests and stops them after.
 * Returns `{ server, browser }`, filled in once the tests run.
 */
export function loopbackAndBrowser() {
  const live = { server: null, browser: null };
  before(async () => {
    live.server = await startServers();
    live.browser = await launchBrowser();
  });
  after(async () => {
    await live.browser?.close();
    await live.server?.close();
  });
  return live;
}

/** Opens the ESM test page on the app origin and waits until `window.Threadline` is there. */
export async function openEsmPage(live) {
  const opened = await openPage(live.browser, `${live.server.origin("app.shop.test")}/esm.html`);
  await opened.page.waitForFunction(() => window.Threadline);
  return opened;
}
