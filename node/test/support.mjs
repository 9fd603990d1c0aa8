// What the Node tests share: a downstream service that records what it is sent, a job queue
// drained by a worker that runs outside any request, and the scenarios every framework must
// pass (the same routes, the same assertions on the wire and on the captured log lines).
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { runJob } from "../index.js";

export const CID = "0af7651916cd43dd8448eb211c80319c";
export const SID = "5e55101d5e55101d5e55101d5e55101d";
export const HEX32 = /^[0-9a-f]{32}$/;

/** A real HTTP server on loopback that answers 200 and keeps the headers of every request. */
export async function startDownstream() {
  const received = [];
  const server = createServer((req, res) => {
    received.push(req.headers);
    res.writeHead(200, { "Content-Type": "application/json" }).end('{"ok":true}');
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * A queue of JSON job envelopes and a worker that polls it from a timer started here, outside
 * any request, so the job's IDs can only come from its envelope.
 * @param {(job: any) => void} handle
 */
export function startWorker(handle) {
  const queue = [];
  const timer = setInterval(() => {
    while (queue.length) {
      const envelope = JSON.parse(queue.shift());
      runJob(envelope, handle);
    }
  }, 5);
  return { enqueue: (text) => queue.push(text), stop: () => clearInterval(timer) };
}

/** A stream a logger writes JSON lines to; each is parsed into `lines`. */
export function jsonLines(lines) {
  return new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
}

/** Waits until `check()` is truthy (at most 5 s), returning its value. */
export async function eventually(check) {
  for (let i = 0; i < 500; i++) {
    const value = check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail("timed out waiting");
}

/**
 * The scenarios every framework passes. `start()` resolves to `{ base, lines, close }`: the
 * app's base URL, the parsed JSON log lines so far, and a stop function. The app must serve
 * `GET /ok` (logs, awaits, logs), `GET /status/:n` (answers n), `GET /throw` (throws),
 * `GET /reject` (an async handler that rejects), `GET /forward?to=URL` (fetchWithIds with its
 * own `baggage: user.tier=gold`), `GET /job` (enqueues a job the worker logs as "job ran").
 * @param {string} name
 * @param {() => Promise<{ base: string, lines: () => any[], close: () => Promise<void> }>} start
 */
export function edgePolicyScenarios(name, start) {
  describe(`${name}: the edge policy`, () => {
    let app;
    let downstream;
    before(async () => {
      downstream = await startDownstream();
      app = await start();
    });
    after(async () => {
      await app.close();
      await downstream.close();
    });
    const get = (path, headers = {}) => fetch(`${app.base}${path}`, { headers });
    const linesOf = (cid) => app.lines().filter((l) => l.correlation_id === cid);
    /** The two lines `/ok` logs itself (frameworks may add their own). */
    const okLines = (cid) => linesOf(cid).filter((l) => /^ok /.test(l.msg ?? l.message));

    test("a valid ID and the session in baggage are on every line of the request", async () => {
      const r = await get("/ok", { "X-Correlation-ID": CID, baggage: `user.tier=gold, session.id=${SID}` });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("x-correlation-id"), CID);
      const lines = await eventually(() => okLines(CID).length === 2 && linesOf(CID));
      assert.deepEqual(lines.map((l) => l["session.id"]), lines.map(() => SID));
      assert.deepEqual(await r.json(), { correlationId: CID, sessionId: SID });
    });

    test("X-Session-ID serves without baggage; baggage wins over it; bad sessions are absent", async () => {
      const cid = "plain-header-0000000001";
      const r = await get("/ok", { "X-Correlation-ID": cid, "X-Session-ID": SID });
      assert.deepEqual(await r.json(), { correlationId: cid, sessionId: SID });
      const both = await get("/ok", { "X-Correlation-ID": cid, "X-Session-ID": "ignored-00000000000", baggage: `session.id=${SID}` });
      assert.deepEqual(await both.json(), { correlationId: cid, sessionId: SID });
      for (const headers of [{}, { baggage: "session.id=short" }, { "X-Session-ID": "<script>alert(1)</script>" }, { baggage: "session.id=%ZZ%ZZ%ZZ%ZZ%ZZ%ZZ" }]) {
        const id = `no-session-${Math.random().toString(16).slice(2, 12)}`;
        const r = await get("/ok", { "X-Correlation-ID": id, ...headers });
        assert.deepEqual(await r.json(), { correlationId: id }, JSON.stringify(headers));
        const lines = await eventually(() => okLines(id).length === 2 && linesOf(id));
        assert.ok(lines.every((l) => !("session.id" in l)), JSON.stringify(lines));
      }
    });

    test("missing or invalid IDs are replaced by fresh 128-bit hex ones", async () => {
      const seen = new Set();
      for (const given of [undefined, "short", "a".repeat(65), "bad id with spaces!!", "0af7651916cd43dd'; DROP--"]) {
        const r = await get("/ok", given === undefined ? {} : { "X-Correlation-ID": given });
        const echoed = r.headers.get("x-correlation-id");
        assert.match(echoed, HEX32, String(given));
        assert.equal((await r.json()).correlationId, echoed);
        seen.add(echoed);
      }
      assert.equal(seen.size, 5);
    });

    test("4xx, 5xx, thrown errors, rejections and unknown routes echo the ID", async () => {
      for (const [path, status] of [["/status/404", 404], ["/status/503", 503], ["/throw", 500], ["/reject", 500], ["/nowhere", 404]]) {
        const r = await get(path, { "X-Correlation-ID": CID, baggage: `session.id=${SID}` });
        assert.equal(r.status, status, path);
        assert.equal(r.headers.get("x-correlation-id"), CID, path);
      }
    });

    test("a downstream call gets both IDs, the app's own baggage kept", async () => {
      const cid = "forwarding-000000000001";
      const r = await get(`/forward?to=${encodeURIComponent(downstream.url)}`, { "X-Correlation-ID": cid, baggage: `session.id=${SID}` });
      assert.equal(r.status, 200);
      const sent = downstream.received.at(-1);
      assert.equal(sent["x-correlation-id"], cid);
      assert.equal(sent.baggage, `user.tier=gold,session.id=${SID}`);
    });

    test("a job carries both IDs to a worker that runs outside the request", async () => {
      const cid = "job-carrier-00000000001";
      await get("/job", { "X-Correlation-ID": cid, baggage: `session.id=${SID}` });
      const line = await eventually(() => linesOf(cid).find((l) => (l.msg ?? l.message) === "job ran"));
      assert.equal(line["session.id"], SID);
    });

    test("concurrent requests never mix their IDs", async () => {
      const ids = Array.from({ length: 20 }, (_, i) => [`concurrent-${String(i).padStart(12, "0")}`, `session-${String(i).padStart(15, "0")}`]);
      await Promise.all(ids.map(([cid, sid]) => get("/ok", { "X-Correlation-ID": cid, "X-Session-ID": sid })));
      for (const [cid, sid] of ids) {
        const lines = await eventually(() => okLines(cid).length === 2 && okLines(cid));
        assert.deepEqual(lines.map((l) => l["session.id"]), [sid, sid]);
      }
    });
  });
}
