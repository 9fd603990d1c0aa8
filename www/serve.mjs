// `npm start`: serves the demo shop page and dist/ on one origin, and a small API on a second
// origin (a different port), both on loopback. The API echoes the correlation ID it received, so
// the page (and devtools' Network tab) show what each request carried. Ctrl-C stops both.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const host = process.env.HOST || "127.0.0.1";
const pagePort = Number(process.env.PORT || 8080);
const apiPort = Number(process.env.API_PORT || 8081);
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".css": "text/css" };
const attempts = new Map();

function api(req, res) {
  const url = new URL(req.url, `http://${req.headers.host}`);
  res.setHeader("Access-Control-Allow-Origin", req.headers.origin || "*");
  res.setHeader("Access-Control-Expose-Headers", "X-Correlation-ID");
  if (req.method === "OPTIONS") {
    res.setHeader("Access-Control-Allow-Headers", req.headers["access-control-request-headers"] || "");
    res.setHeader("Access-Control-Allow-Methods", "GET, POST");
    return res.writeHead(204).end();
  }
  const id = req.headers["x-correlation-id"] || null;
  let status = 200;
  if (url.pathname === "/api/flaky") {
    // Fails twice, then succeeds, per client-chosen key: shows that retries keep their ID.
    const key = url.searchParams.get("key") || "";
    const seen = (attempts.get(key) || 0) + 1;
    attempts.set(key, seen);
    status = seen <= 2 ? 503 : 200;
  }
  console.log(`${new Date().toISOString()} ${req.method} ${req.headers.host}${url.pathname} ${status} X-Correlation-ID=${id ?? "(none)"}`);
  if (id) res.setHeader("X-Correlation-ID", id);
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ path: url.pathname, status, received_correlation_id: id }));
}

async function page(req, res) {
  const url = new URL(req.url, `http://${req.headers.host}`);
  if (url.pathname.startsWith("/api/")) return api(req, res);
  const file = url.pathname.startsWith("/dist/") ? url.pathname : join("/www", url.pathname === "/" ? "index.html" : url.pathname);
  try {
    const body = await readFile(join(root, normalize(file)));
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] || "application/octet-stream" }).end(body);
  } catch {
    res.writeHead(404).end("not found");
  }
}

const listen = (handler, port) => new Promise((resolve, reject) => {
  const server = createServer(handler);
  server.once("error", reject);
  server.listen(port, host, () => resolve(server));
});

try {
  const servers = [await listen(page, pagePort), await listen(api, apiPort)];
  console.log(`
Threadline demo
  shop page:  http://${host}:${pagePort}/${apiPort === pagePort + 1 ? "" : `?api=http://${host}:${apiPort}`}
  API:        http://${host}:${apiPort}/api/…  (another origin, listed in propagateTo)
Open the page, click the buttons, and watch X-Correlation-ID in devtools (Network tab) or below.
Ctrl-C stops everything.
`);
  const stop = () => {
    for (const s of servers) s.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} catch (error) {
  console.error(`Could not start the demo: ${error.message}. Set PORT and API_PORT to free ports.`);
  process.exit(1);
}
