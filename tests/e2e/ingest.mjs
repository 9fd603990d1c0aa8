// A real ingestion endpoint on loopback for the event tests: accepts OTLP/HTTP JSON logs
// (`application/json`, and `text/plain` beacons), grants CORS, keeps every body it receives and
// stores records by `event.id` (a duplicate is counted, not stored twice), and can be told to
// fail: refuse connections (not listening), answer a planned status, or judge each request.
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** A free loopback port (bound, then released). */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The `event.id` attribute of an OTLP JSON log record. */
const eventIdOf = (record) => record.attributes?.find((a) => a.key === "event.id")?.value?.stringValue;

/**
 * Creates the endpoint on a free port without listening yet (connections are refused until
 * `start()`). `judge(request)` decides each POST's answer: `{ status, headers }`, default 200.
 * `request` is `{ contentType, body, records, at }`.
 */
export async function createIngest() {
  const port = await freePort();
  const state = {
    url: `http://ingest.test:${port}/v1/logs`,
    origin: `http://ingest.test:${port}`,
    port,
    /** Every POST, in arrival order: `{ contentType, body, records, at, status, headers }`. */
    requests: [],
    /** Stored records by event ID. */
    stored: new Map(),
    /** How many times each event ID arrived in an acknowledged request. */
    arrivals: new Map(),
    judge: () => ({ status: 200 }),
    server: null,
  };
  const handler = async (req, res) => {
    const origin = req.headers.origin;
    if (origin) {
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Access-Control-Expose-Headers", "Retry-After");
    }
    if (req.method === "OPTIONS") {
      res.setHeader("Access-Control-Allow-Headers", "Content-Type");
      res.setHeader("Access-Control-Allow-Methods", "POST");
      res.writeHead(204).end();
      return;
    }
    const chunks = [];
    try {
      for await (const chunk of req) chunks.push(chunk);
    } catch {
      return; // The browser or the test closed the connection mid-body: nothing arrived.
    }
    const body = Buffer.concat(chunks).toString();
    let records = [];
    try {
      records = JSON.parse(body).resourceLogs.flatMap((r) => r.scopeLogs.flatMap((s) => s.logRecords));
    } catch {
      records = null;
    }
    const request = { contentType: req.headers["content-type"], headers: req.headers, body, records, at: Date.now() };
    const answer = records ? state.judge(request) : { status: 400 };
    request.status = answer.status;
    state.requests.push(request);
    if (answer.status >= 200 && answer.status < 300) {
      for (const record of records) {
        const id = eventIdOf(record);
        state.arrivals.set(id, (state.arrivals.get(id) || 0) + 1);
        if (!state.stored.has(id)) state.stored.set(id, record);
      }
    }
    res.writeHead(answer.status, { "Content-Type": "application/json", ...(answer.headers || {}) }).end("{}");
  };
  state.start = () =>
    new Promise((resolve) => {
      state.server = createServer(handler);
      state.server.listen(port, "127.0.0.1", resolve);
    });
  state.stop = async () => {
    if (!state.server) return;
    state.server.closeAllConnections();
    await new Promise((resolve) => state.server.close(resolve));
    state.server = null;
  };
  /** Stored records whose `event.name` is `name`, with attributes as a plain object. */
  state.events = (name) =>
    [...state.stored.values()]
      .map((r) => ({ ...r, attrs: Object.fromEntries(r.attributes.map((a) => [a.key, Object.values(a.value)[0]])) }))
      .filter((r) => !name || r.attrs["event.name"] === name);
  return state;
}

/** Waits until `check()` is truthy (polling), or fails after `ms`. */
export async function until(check, ms = 20_000, what = "condition") {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Decodes request bodies with the `opentelemetry-proto` decoder
 * (`crates/collector/examples/otlp_decode.rs`);
 * returns one object per log record. Throws if the decoder refuses a body.
 */
export function decodeOtlp(bodies) {
  const out = execFileSync("cargo", ["run", "--quiet", "-p", "threadline-collector", "--example", "otlp_decode"], {
    cwd: root,
    input: bodies.map((b) => b.replace(/\n/g, " ")).join("\n"),
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  return out.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line));
}
