// `npm run bench:collector`: the collector under a bounded load on loopback, SQLite and
// PostgreSQL side by side with the collector as built from BASELINE_COMMIT (on SQLite) in the
// same run. Every phase sends a fixed number of OTLP JSON batches (or stops at its time limit)
// and stops by itself. Writes bench/collector.md and the marked collector section of
// BENCHMARKS.md, and prints PASS/FAIL lines for the goals against the baseline.
//
// Needs: cargo, node, python3 (its sqlite3 module reads page counts), Debian's postgresql 15
// (scripts/postgres.sh installs it when missing). The baseline is built once into
// ${XDG_CACHE_HOME:-~/.cache}/threadline/collector-baseline/.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, copyFileSync, mkdirSync } from "node:fs";
import http from "node:http";
import { tmpdir, homedir, loadavg, availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const BASELINE_COMMIT = "a85db72";
const READ = "bench-read-token-0123456789abcdef";
const WRITE = "bench-write-token-0123456789abcdef";

/** BENCH_SCALE=0.1 runs every phase with a tenth of its batches and rows (a quick check of the
 * bench itself; its figures are not the ones to publish); BENCH_ONLY=sqlite (or postgres)
 * measures only the current collector on that engine (for profiling it). Neither writes the
 * report. */
const SCALE = Number(process.env.BENCH_SCALE || 1);
const scaled = (n) => Math.max(1, Math.round(n * SCALE));
/** Records per OTLP batch, and records per story (one correlation ID). */
const BATCH = 200;
const STORY = 10;
/** Batches each load phase sends at most, and its time limit in seconds. */
const PHASES = [
  { clients: 1, batches: scaled(60), seconds: 60 },
  { clients: 8, batches: scaled(300), seconds: 60 },
  { clients: 32, batches: scaled(600), seconds: 90 },
];
/** Rows the search phases run against. */
const SEARCH_ROWS = scaled(1_000_000 / BATCH) * BATCH;
/** Searches per search phase, batches sent during the search-under-ingest phase. */
const SEARCHES = 300;
/** Time limit of one search phase, in seconds. */
const SEARCH_SECONDS = 45;
const INGEST_DURING_SEARCH = { clients: 8, batches: scaled(400), seconds: 60 };
/** Batches sent to each of two collectors on one PostgreSQL (every batch to both). */
const TWO_COLLECTORS = { clients: 16, batches: scaled(300), seconds: 120 };

const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "threadline", "collector-baseline");
const baselineBin = join(cache, `threadline-collector-${BASELINE_COMMIT}`);
/** BENCH_COLLECTOR=<binary> measures that build instead of building the current one (with
 * BENCH_ONLY=sqlite: two builds compared one after the other). */
const currentBin = process.env.BENCH_COLLECTOR || join(process.env.CARGO_TARGET_DIR || join(root, "target"), "release", "threadline-collector");

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.status})`);
  return result.stdout;
}

/** Builds the current collector (release) and, once, the baseline. */
function build() {
  if (!process.env.BENCH_COLLECTOR) {
    console.log("building the collector (release)");
    run("cargo", ["build", "--release", "-p", "threadline-collector"], { cwd: root, stdio: "inherit" });
  }
  // BENCH_ONLY measures the current build alone: no baseline to build.
  if (existsSync(baselineBin) || process.env.BENCH_ONLY) return;
  console.log(`building the baseline collector of ${BASELINE_COMMIT} (once, into ${cache})`);
  const tree = join(tmpdir(), "collector-baseline");
  if (!existsSync(join(tree, "Cargo.toml"))) {
    spawnSync("git", ["worktree", "prune"], { cwd: root });
    run("git", ["worktree", "add", "--detach", tree, BASELINE_COMMIT], { cwd: root, stdio: "inherit" });
  }
  const target = join(cache, "target");
  run("cargo", ["build", "--release", "-p", "threadline-collector"], {
    cwd: tree,
    stdio: "inherit",
    env: { ...process.env, CARGO_TARGET_DIR: target },
  });
  mkdirSync(cache, { recursive: true });
  copyFileSync(join(target, "release", "threadline-collector"), baselineBin);
}

/** A private PostgreSQL that flushes to disk (scripts/postgres.sh, POSTGRES_DURABLE=1). */
function startPostgres() {
  // Directly under the temporary directory: the server runs as another user, who must reach it.
  const dir = join(tmpdir(), `threadline-bench-pg-${randomBytes(4).toString("hex")}`);
  const out = run("bash", [join(root, "scripts", "postgres.sh"), "start", dir], {
    env: { ...process.env, POSTGRES_DURABLE: "1" },
  });
  const url = out.trim().split("DATABASE_URL=")[1];
  return { dir, url };
}

function psql(url, sql) {
  return run("psql", ["-X", "-q", "-At", "-d", url, "-c", sql]).trim();
}

function database(pg, name) {
  psql(pg.url, `DROP DATABASE IF EXISTS ${name}`);
  psql(pg.url, `CREATE DATABASE ${name}`);
  return pg.url.replace(/\/postgres$/, `/${name}`);
}

/** Collector processes started and not yet stopped: killed if the bench ends early. */
const running = new Set();
process.on("exit", () => running.forEach((child) => child.kill("SIGKILL")));

/** A collector process on `db`; resolves once it listens. */
function startCollector(bin, db) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["--listen", "127.0.0.1:0", "--db", db], {
      env: { ...process.env, THREADLINE_READ_TOKEN: READ, THREADLINE_WRITE_TOKEN: WRITE },
      stdio: ["ignore", "pipe", "inherit"],
    });
    running.add(child);
    child.on("exit", () => running.delete(child));
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`${bin} did not listen within 60 s`)), 60_000);
    child.stdout.on("data", (chunk) => {
      seen += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(seen);
      if (match && !child.base) {
        clearTimeout(timer);
        child.base = match[1];
        resolve(child);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (!child.base) reject(new Error(`${bin} exited (${code}) before listening`));
    });
  });
}

function stopCollector(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.on("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 15_000).unref();
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** One HTTP request; resolves with status, body and milliseconds taken. */
function request(url, { method = "GET", headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString(), ms: performance.now() - started }),
      );
    });
    req.on("error", reject);
    req.setTimeout(60_000, () => req.destroy(new Error("timed out")));
    req.end(body);
  });
}

const runTag = randomBytes(6).toString("hex");
/** A lowercase hex ID of `width` digits: its kind, this run's tag, then the counter `n`. */
function hex(kind, n, width) {
  const counter = n.toString(16).padStart(12, "0");
  return `${kind}${runTag}`.slice(0, width - 12).padEnd(width - 12, "0") + counter;
}
/** The correlation ID (and trace ID) of story `n`. */
const storyId = (n) => hex("c", n, 32);
const RESOURCE = [
  ["service.name", "shop-api"],
  ["service.version", "1.4.2"],
  ["host.name", "web-3.shop.internal"],
  ["deployment.environment", "bench"],
].map(([key, value]) => ({ key, value: { stringValue: value } }));
const ROUTES = ["/api/orders", "/api/cart", "/api/pay", "/api/products", "/api/session"];

/** The attributes of record `n` of story `story`, batch `batch`. */
function attributes(n, story, batch) {
  return [
    { key: "correlation_id", value: { stringValue: storyId(story) } },
    { key: "session.id", value: { stringValue: hex("5", batch, 32) } },
    { key: "event.id", value: { stringValue: hex("e", n, 32) } },
    { key: "http.request.method", value: { stringValue: n % 3 ? "GET" : "POST" } },
    { key: "url.path", value: { stringValue: `${ROUTES[n % ROUTES.length]}/${n % 9973}` } },
    { key: "http.response.status_code", value: { intValue: String(n % 17 ? 200 : 503) } },
    { key: "duration_ms", value: { doubleValue: (n % 1000) / 7 } },
  ];
}

/** Batch `batch` as OTLP JSON: BATCH records in BATCH / STORY stories, all never sent before. */
function batchBody(batch) {
  const now = BigInt(Date.now()) * 1_000_000n;
  const records = [];
  for (let i = 0; i < BATCH; i++) {
    const n = batch * BATCH + i;
    const story = Math.floor(n / STORY);
    records.push({
      timeUnixNano: String(now + BigInt(i)),
      observedTimeUnixNano: String(now + BigInt(i) + 1000n),
      severityNumber: n % 17 ? 9 : 17,
      severityText: n % 17 ? "INFO" : "ERROR",
      body: { stringValue: `${n % 3 ? "GET" : "POST"} ${ROUTES[n % ROUTES.length]} answered in ${(n % 1000) / 7} ms` },
      traceId: storyId(story),
      spanId: hex("a", n, 16),
      attributes: attributes(n, story, batch),
    });
  }
  return JSON.stringify({
    resourceLogs: [{ resource: { attributes: RESOURCE }, scopeLogs: [{ scope: { name: "shop", version: "1.4.2" }, logRecords: records }] }],
  });
}

const ATTRIBUTE_BYTES = JSON.stringify(attributes(123456, 12345, 617)).length;

function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Batches `first..first+count` as bytes, made before a measured phase so that building them
 * does not take the cores the collector is measured on. */
function prepare(first, count) {
  return Array.from({ length: count }, (_, b) => Buffer.from(batchBody(first + b)));
}

/** Sends batches `first..first+count` from `clients` concurrent clients to `targets` (each batch
 * to every target), within `seconds`; 503s wait their Retry-After and are counted. The bodies
 * are `prepared` (by `prepare`) or, for the unmeasured fill, made as they are sent. */
async function load(targets, { clients, batches, seconds }, first, prepared) {
  const deadline = performance.now() + seconds * 1000;
  const latencies = [];
  let next = 0, acknowledged = 0, refused = 0, cut = false;
  const jobs = [];
  for (let b = 0; b < batches; b++) for (const t of targets) jobs.push([first + b, t]);
  // Every target gets the very same body of a batch (made when the first of them is sent).
  const bodies = new Map();
  const bodyOf = (batch) => {
    if (prepared) return prepared[batch - first];
    let entry = bodies.get(batch);
    if (!entry) bodies.set(batch, (entry = { text: batchBody(batch), left: targets.length }));
    if (--entry.left === 0) bodies.delete(batch);
    return entry.text;
  };
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < jobs.length) {
        if (performance.now() > deadline) { cut = true; return; }
        const [batch, target] = jobs[next++];
        const body = bodyOf(batch);
        for (;;) {
          const answer = await request(`${target}/v1/logs`, {
            method: "POST",
            headers: { "Content-Type": "application/json", Authorization: `Bearer ${WRITE}` },
            body,
          });
          if (answer.status === 200) { latencies.push(answer.ms); acknowledged++; break; }
          if (answer.status === 503 && performance.now() < deadline) {
            refused++;
            await new Promise((r) => setTimeout(r, 1000 * Number(answer.headers["retry-after"] || 1)));
            continue;
          }
          throw new Error(`ingest answered ${answer.status}: ${answer.body.slice(0, 200)}`);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return {
    records: (acknowledged * BATCH) / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    sent: acknowledged / targets.length,
    refused,
    cut,
  };
}

/** Up to `count` searches of known stories, one at a time, within SEARCH_SECONDS; their
 * latencies. */
async function searches(base, stories, count) {
  const latencies = [];
  const deadline = performance.now() + SEARCH_SECONDS * 1000;
  for (let i = 0; i < count && performance.now() < deadline; i++) {
    const story = Math.floor((i * 7919) % stories);
    const answer = await request(`${base}/api/search?id=${storyId(story)}`, { headers: { Authorization: `Bearer ${READ}` } });
    if (answer.status !== 200) throw new Error(`search answered ${answer.status}`);
    const found = JSON.parse(answer.body).records?.length ?? 0;
    if (found !== STORY) throw new Error(`search for story ${story} found ${found} records, not ${STORY}`);
    latencies.push(answer.ms);
  }
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), done: latencies.length };
}

async function stats(base) {
  const answer = await request(`${base}/api/stats`, { headers: { Authorization: `Bearer ${READ}` } });
  return answer.status === 200 ? JSON.parse(answer.body) : {};
}

/** Bytes a SQLite file takes per log record: its pages (after a checkpoint) over its rows. */
function sqliteBytes(file) {
  const script = `
import sqlite3, sys, json
c = sqlite3.connect(sys.argv[1])
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
rows = c.execute("SELECT count(*) FROM logs").fetchone()[0]
size = c.execute("PRAGMA page_count").fetchone()[0] * c.execute("PRAGMA page_size").fetchone()[0]
tables = dict(c.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
table = tables.get("logs", 0) + tables.get("layouts", 0)
idx = sum(v for k, v in tables.items() if k.startswith(("logs_", "sqlite_autoindex_logs", "sqlite_autoindex_layouts")))
print(json.dumps({"rows": rows, "total": size / rows, "table": table / rows, "indices": idx / rows}))
`;
  return JSON.parse(run("python3", ["-c", script, file]));
}

/** The same for PostgreSQL: every partition of `logs` with its indices, and `layouts`. */
function postgresBytes(url) {
  psql(url, "CHECKPOINT");
  const rows = Number(psql(url, "SELECT count(*) FROM logs"));
  const parts = "SELECT inhrelid FROM pg_inherits WHERE inhparent = 'logs'::regclass";
  const table = Number(psql(url, `SELECT coalesce(sum(pg_table_size(inhrelid)), 0) FROM (${parts}) p`));
  const indices = Number(psql(url, `SELECT coalesce(sum(pg_indexes_size(inhrelid)), 0) FROM (${parts}) p`));
  const shared = Number(psql(url, "SELECT coalesce(pg_total_relation_size(to_regclass('layouts')), 0)"));
  return { rows, total: (table + indices + shared) / rows, table: (table + shared) / rows, indices: indices / rows };
}

/** ms per clock tick of /proc's CPU times (USER_HZ is 100 on Linux). */
const TICK_MS = 1000 / 100;

/** The fields of /proc/<pid>/stat after the command name: [0] the state, [1] the parent's pid,
 * [11]/[12] user/system ticks, [13]/[14] those of the children it waited for. */
const statOf = (pid) => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");

/** The cores whose CPU time the collector, the database server and the load generator share. */
const CORES = availableParallelism();

/** The most records/s the machine's cores allow at one phase's CPU costs per record. */
const ceiling = (phase) => (CORES * 1e6) / (phase.cpuUsPerRecord + (phase.serverUsPerRecord || 0) + phase.generatorUsPerRecord);

/** The collector process's CPU time (user + system, ms) and bytes handed to write(2) so far,
 * from /proc: what a phase costs per record, which other work on the machine disturbs far less
 * than its records/s. Null where /proc is not there. */
function processCost(pid) {
  try {
    const fields = statOf(pid);
    const cpuMs = (Number(fields[11]) + Number(fields[12])) * TICK_MS;
    const written = Number(/^wchar: (\d+)/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"))[1]);
    return { cpuMs, written };
  } catch {
    return null;
  }
}

/** The PostgreSQL server's CPU time so far (user + system, ms): the postmaster's own, what its
 * ended backends left to it, and every live backend's (the collectors' pooled connections).
 * Null where /proc or the server's pid file is not there. */
function serverCost(pgDir) {
  try {
    const postmaster = readFileSync(join(pgDir, "data", "postmaster.pid"), "utf8").split("\n")[0].trim();
    const own = statOf(postmaster);
    let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const fields = statOf(pid);
        if (fields[1] === postmaster) ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // The process ended between the listing and the read.
      }
    }
    return ticks * TICK_MS;
  } catch {
    return null;
  }
}

/** Every measurement of one engine: load at 1, 8, 32 clients, then fill to SEARCH_ROWS, then
 * search alone and during ingest, then bytes per record. */
async function measure(name, bin, db, bytesOf, pgDir) {
  console.log(`\n== ${name}`);
  const collector = await startCollector(bin, db);
  const result = { name, load: [], loads: [loadavg()[0]] };
  let batch = 0;
  for (const phase of PHASES) {
    const bodies = prepare(batch, phase.batches);
    const before = await stats(collector.base);
    const costBefore = processCost(collector.pid);
    const serverBefore = pgDir ? serverCost(pgDir) : null;
    const generatorBefore = process.cpuUsage();
    const wall = performance.now();
    const r = await load([collector.base], phase, batch, bodies);
    const after = await stats(collector.base);
    const costAfter = processCost(collector.pid);
    const serverAfter = pgDir ? serverCost(pgDir) : null;
    const generator = process.cpuUsage(generatorBefore);
    batch += r.sent;
    if (costBefore && costAfter && r.sent > 0) {
      const records = r.sent * BATCH;
      r.cpuUsPerRecord = ((costAfter.cpuMs - costBefore.cpuMs) * 1000) / records;
      r.writtenPerRecord = (costAfter.written - costBefore.written) / records;
      r.generatorUsPerRecord = (generator.user + generator.system) / records;
      if (serverBefore !== null && serverAfter !== null) r.serverUsPerRecord = ((serverAfter - serverBefore) * 1000) / records;
    }
    if (after.commits !== undefined) {
      r.perCommit = (after.committed_records - before.committed_records) / Math.max(1, after.commits - before.commits);
      r.writerBusy = (after.write_busy_ms - before.write_busy_ms) / (performance.now() - wall);
    }
    const grouping = r.perCommit ? `, ${Math.round(r.perCommit)} records per commit, writers busy ${(100 * r.writerBusy).toFixed(0)}% of the time` : "";
    const server = r.serverUsPerRecord !== undefined ? `, the server ${r.serverUsPerRecord.toFixed(1)} µs` : "";
    const cost = r.cpuUsPerRecord !== undefined ? `, ${r.cpuUsPerRecord.toFixed(1)} µs of CPU and ${Math.round(r.writtenPerRecord)} B written per record${server}, the load generator ${r.generatorUsPerRecord.toFixed(1)} µs` : "";
    console.log(`${phase.clients} clients: ${Math.round(r.records)} records/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms${grouping}${cost}${r.cut ? " (cut at its time limit)" : ""}`);
    result.load.push({ clients: phase.clients, ...r });
  }
  const fillStart = performance.now();
  const fill = await load([collector.base], { clients: 8, batches: Math.max(0, SEARCH_ROWS / BATCH - batch), seconds: 400 }, batch);
  batch += fill.sent;
  console.log(`filled to ${batch * BATCH} rows in ${((performance.now() - fillStart) / 1000).toFixed(0)} s (${Math.round(fill.records)} records/s)`);
  const stories = (batch * BATCH) / STORY;
  result.rows = batch * BATCH;
  result.searchAlone = await searches(collector.base, stories, SEARCHES);
  console.log(`search alone: p50 ${result.searchAlone.p50.toFixed(1)} ms, p99 ${result.searchAlone.p99.toFixed(1)} ms`);
  const ingest = load([collector.base], INGEST_DURING_SEARCH, batch, prepare(batch, INGEST_DURING_SEARCH.batches));
  result.searchDuring = await searches(collector.base, stories, SEARCHES);
  result.ingestDuring = await ingest;
  batch += result.ingestDuring.sent;
  console.log(`search during ingest (8 clients, ${Math.round(result.ingestDuring.records)} records/s): p50 ${result.searchDuring.p50.toFixed(1)} ms, p99 ${result.searchDuring.p99.toFixed(1)} ms`);
  await stopCollector(collector);
  result.loads.push(loadavg()[0]);
  result.bytes = bytesOf();
  console.log(`bytes per record: ${result.bytes.total.toFixed(0)} (table ${result.bytes.table.toFixed(0)}, indices ${result.bytes.indices.toFixed(0)}) over ${result.bytes.rows} rows`);
  if (result.bytes.rows !== batch * BATCH) throw new Error(`${name}: ${result.bytes.rows} rows stored, ${batch * BATCH} acknowledged`);
  return result;
}

/** Two collectors on one PostgreSQL database, every batch sent to both: records/s stored and
 * whether each record is stored exactly once (the other copy folded). */
async function twoCollectors(pg) {
  console.log("\n== two collectors on one PostgreSQL");
  const db = database(pg, "bench_two");
  const [a, b] = await Promise.all([startCollector(currentBin, db), startCollector(currentBin, db)]);
  const r = await load([a.base, b.base], TWO_COLLECTORS, 0, prepare(0, TWO_COLLECTORS.batches));
  await Promise.all([stopCollector(a), stopCollector(b)]);
  const [rows, distinct, folded] = psql(db, "SELECT count(*), count(DISTINCT (provenance, content_hash)), coalesce(sum(folded), 0) FROM logs").split("|").map(Number);
  const unique = r.sent * BATCH;
  const exactlyOnce = rows === unique && distinct === unique && folded === unique;
  console.log(`${Math.round(r.records / 2)} records/s stored (${Math.round(r.records)} sent), ${rows} rows for ${unique} records sent twice, ${folded} copies folded: ${exactlyOnce ? "exactly once" : "NOT exactly once"}`);
  return { stored: r.records / 2, sent: r.records, p50: r.p50, p99: r.p99, rows, unique, folded, exactlyOnce };
}

const n = (x) => Math.round(x).toLocaleString("en-US");
const ms = (x) => (x < 10 ? x.toFixed(1) : x.toFixed(0));

function report(results, two, verdicts, started) {
  const head = `| | ${results.map((r) => r.name).join(" | ")} |\n|---|${results.map(() => "---|").join("")}`;
  const row = (label, f) => `| ${label} | ${results.map(f).join(" | ")} |`;
  const lines = [
    "<!-- collector-bench:start -->",
    "## Collector",
    "",
    `Written by \`npm run bench:collector\` (bench/collector.mjs) on ${new Date(started).toISOString().slice(0, 10)}, ${Math.round((Date.now() - started) / 60000)} min on this 2-core machine; release builds; the baseline is the collector of commit \`${BASELINE_COMMIT}\` (the build before group commit, the reader pool, PostgreSQL and the compact rows), run in the same bench against SQLite.`,
    `Load: OTLP JSON batches of ${BATCH} log records from a backend (write token), ${ATTRIBUTE_BYTES} B of attribute JSON per record (7 attributes: correlation, session and event IDs, method, path, status, duration), the trace ID equal to the correlation ID as Threadline's recorder sends it, ${STORY} records per story. Every phase sends a fixed number of batches (${PHASES.map((p) => `${p.batches} at ${p.clients}`).join(", ")} clients) or stops at its time limit; a search phase runs ${SEARCHES} searches of a story's correlation ID, one at a time, or stops after ${SEARCH_SECONDS} s. PostgreSQL 15 runs with fsync on; SQLite with \`synchronous = FULL\` (the baseline: \`NORMAL\`). The machine's other work shows in its load average (a row of the table).`,
    "",
    head,
    ...results[0].load.map((_, i) => row(`${results[0].load[i].clients} client${i ? "s" : ""}: records/s (p50 / p99 ms)`, (r) => `${n(r.load[i].records)} (${ms(r.load[i].p50)} / ${ms(r.load[i].p99)})${r.load[i].cut ? " cut" : ""}`)),
    ...results[0].load.map((_, i) => row(`${results[0].load[i].clients} client${i ? "s" : ""}: records per commit (writers busy)`, (r) => (r.load[i].perCommit ? `${n(r.load[i].perCommit)} (${(100 * r.load[i].writerBusy).toFixed(0)}%)` : "not counted"))),
    ...results[0].load.map((_, i) => row(`${results[0].load[i].clients} client${i ? "s" : ""}: the collector's CPU µs and bytes written per record`, (r) => (r.load[i].cpuUsPerRecord === undefined ? "not measured" : r.name.includes("PostgreSQL") ? `${r.load[i].cpuUsPerRecord.toFixed(1)} µs` : `${r.load[i].cpuUsPerRecord.toFixed(1)} µs, ${n(r.load[i].writtenPerRecord)} B`))),
    ...results[0].load.map((_, i) => row(`${results[0].load[i].clients} client${i ? "s" : ""}: CPU µs per record of the PostgreSQL server / the load generator; the most records/s ${CORES} cores allow for all three`, (r) => (r.load[i].generatorUsPerRecord === undefined ? "not measured" : `${r.load[i].serverUsPerRecord === undefined ? "—" : r.load[i].serverUsPerRecord.toFixed(1)} / ${r.load[i].generatorUsPerRecord.toFixed(1)}; ${n(ceiling(r.load[i]))}`))),
    row("search alone, p50 / p99 ms (searches)", (r) => `${ms(r.searchAlone.p50)} / ${ms(r.searchAlone.p99)} (${r.searchAlone.done})`),
    row("search during ingest (8 clients), p50 / p99 ms (searches)", (r) => `${ms(r.searchDuring.p50)} / ${ms(r.searchDuring.p99)} (${r.searchDuring.done})`),
    row("ingest meanwhile, records/s", (r) => n(r.ingestDuring.records)),
    row("rows searched", (r) => n(r.rows)),
    row("machine load average (1 min) at start / end", (r) => r.loads.map((l) => l.toFixed(1)).join(" / ")),
    row("bytes per record on disk (table + indices)", (r) => `${n(r.bytes.total)} (${n(r.bytes.table)} + ${n(r.bytes.indices)})`),
    "",
    `Two collectors on one PostgreSQL, every batch sent to both (${TWO_COLLECTORS.clients} clients): ${n(two.stored)} records/s stored (${n(two.sent)} sent/s, p50 ${ms(two.p50)} ms, p99 ${ms(two.p99)} ms); ${n(two.rows)} rows for ${n(two.unique)} records, ${n(two.folded)} copies folded: ${two.exactlyOnce ? "each record stored exactly once" : "NOT exactly once"}.`,
    "",
    "Goals against the baseline:",
    "",
    ...verdicts.map((v) => `- ${v}`),
    "",
    "Bytes per record are the database's pages over its log records after all phases (SQLite: page count × page size of the whole file after a WAL checkpoint, split by `dbstat` into the `logs` and `layouts` tables and their indices, the rest being the empty `spans` and the schema; PostgreSQL: every day partition of `logs` with its indices, plus `layouts`). The batches of every measured phase are made before it starts, so that building them does not take the cores the collector is measured on (only the unmeasured fill makes its batches as it sends them). Latency is per request, from sending to the end of the answer. Records per commit come from `/api/stats` (`commits`, `committed_records`). CPU time and bytes written are the collector process's own (user + system time, and the bytes it handed to `write`/`pwrite`: the WAL, the database, temporary files and its answers), read from `/proc` before and after the phase; they vary far less with the machine's other work than records/s do. The PostgreSQL server's CPU time is its postmaster's, what its ended backends left to it and its live backends'; the load generator's is this bench process's own (`process.cpuUsage`)." + ` The most records/s the ${CORES} cores allow is ${CORES} s of CPU per second over the three CPU costs per record: a ceiling for this machine, reached only if nothing else ran.`,
    "",
    "Reproduce: `npm run bench:collector` (builds what it needs, starts and stops a private PostgreSQL).",
    "<!-- collector-bench:end -->",
    "",
  ];
  return lines.join("\n");
}

function writeReport(text) {
  if (SCALE !== 1) return false;
  writeFileSync(join(here, "collector.md"), text);
  const file = join(root, "BENCHMARKS.md");
  const current = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const start = current.indexOf("<!-- collector-bench:start -->");
  const end = current.indexOf("<!-- collector-bench:end -->");
  const next =
    start >= 0 && end > start
      ? current.slice(0, start) + text.trimEnd() + current.slice(end + "<!-- collector-bench:end -->".length)
      : `${current.trimEnd()}\n\n${text}`;
  writeFileSync(file, next);
  return true;
}

async function main() {
  const started = Date.now();
  build();
  const work = mkdtempSync(join(tmpdir(), "threadline-bench-"));
  const pg = startPostgres();
  const stop = () => {
    spawnSync("bash", [join(root, "scripts", "postgres.sh"), "stop", pg.dir]);
    rmSync(work, { recursive: true, force: true });
  };
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => (stop(), process.exit(130)));
  try {
    if (process.env.BENCH_ONLY === "sqlite") {
      await measure("SQLite", currentBin, join(work, "current.sqlite"), () => sqliteBytes(join(work, "current.sqlite")));
      return console.log("BENCH_ONLY=sqlite: nothing written");
    }
    if (process.env.BENCH_ONLY === "postgres") {
      const pgDb = database(pg, "bench_one");
      await measure("PostgreSQL", currentBin, pgDb, () => postgresBytes(pgDb), pg.dir);
      return console.log("BENCH_ONLY=postgres: nothing written");
    }
    const baseline = await measure(`baseline ${BASELINE_COMMIT}, SQLite`, baselineBin, join(work, "baseline.sqlite"), () => sqliteBytes(join(work, "baseline.sqlite")));
    const sqlite = await measure("SQLite", currentBin, join(work, "current.sqlite"), () => sqliteBytes(join(work, "current.sqlite")));
    const pgDb = database(pg, "bench_one");
    const postgres = await measure("PostgreSQL", currentBin, pgDb, () => postgresBytes(pgDb), pg.dir);
    const two = await twoCollectors(pg);
    const at32 = (r) => r.load[r.load.length - 1];
    const verdicts = [];
    for (const r of [sqlite, postgres]) {
      const ratio = at32(r).records / at32(baseline).records;
      verdicts.push(`${ratio >= 4 && at32(r).p99 < 250 ? "PASS" : "FAIL"} ${r.name}: 32 clients ${n(at32(r).records)} records/s = ${ratio.toFixed(2)}× baseline (goal ≥ 4×), p99 ${ms(at32(r).p99)} ms (goal < 250 ms)`);
      verdicts.push(`${r.searchDuring.p99 < 20 ? "PASS" : "FAIL"} ${r.name}: search p99 during ingest ${ms(r.searchDuring.p99)} ms (goal < 20 ms)`);
      verdicts.push(`${r.bytes.total <= baseline.bytes.total / 2 ? "PASS" : "FAIL"} ${r.name}: ${n(r.bytes.total)} bytes per record = ${(r.bytes.total / baseline.bytes.total).toFixed(2)} of baseline's ${n(baseline.bytes.total)} (goal ≤ 0.5)`);
    }
    verdicts.push(`${two.exactlyOnce ? "PASS" : "FAIL"} two collectors on one PostgreSQL: every record stored exactly once`);
    const text = report([baseline, sqlite, postgres], two, verdicts, started);
    const written = writeReport(text);
    console.log(`\n${verdicts.join("\n")}\n`);
    console.log(written ? "Wrote bench/collector.md and the collector section of BENCHMARKS.md" : `BENCH_SCALE=${SCALE}: nothing written`);
  } finally {
    stop();
    agent.destroy();
  }
}

await main();
