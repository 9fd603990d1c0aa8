// The pure parts: baggage reading and merging, sqlcommenter, envelopes with forged IDs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { currentIds, forwardHeaders, idsFromHeaders, jobEnvelope, runJob, runWithIds, sqlWithIds, withSqlComment } from "../index.js";
import { CID, SID } from "./support.mjs";

test("the session is read from a baggage list with spaces, properties and encoding", () => {
  const ids = idsFromHeaders({ "x-correlation-id": CID, baggage: "a=1, session.id = 5e55101d%2D5e55101d5e55 ;ttl=3,b=2" });
  assert.deepEqual(ids, { correlationId: CID, sessionId: "5e55101d-5e55101d5e55" });
  assert.equal(idsFromHeaders({ baggage: "session.idx=5e55101d5e55101d5e55" }).sessionId, undefined);
});

test("forwarded headers replace only Threadline's baggage member", () => {
  const h = forwardHeaders({ baggage: "user.tier=gold,session.id=old", "x-other": "1" }, { correlationId: CID, sessionId: SID });
  assert.equal(h.get("baggage"), `user.tier=gold,session.id=${SID}`);
  assert.equal(h.get("x-correlation-id"), CID);
  assert.equal(h.get("x-other"), "1");
  assert.equal(forwardHeaders({ a: "b" }, undefined).get("x-correlation-id"), null, "outside a request nothing is added");
});

test("sqlcommenter comments are sorted, encoded, before the semicolon, never doubled", () => {
  assert.equal(withSqlComment("SELECT 1;", { session_id: "s-1", correlation_id: "c_1" }), "SELECT 1 /*correlation_id='c_1',session_id='s-1'*/;");
  assert.equal(withSqlComment("SELECT 1", { "a b": "it's /x" }), "SELECT 1 /*a%20b='it%27s%20%2Fx'*/");
  assert.equal(withSqlComment("SELECT 1 /* mine */", { k: "v" }), "SELECT 1 /* mine */");
  assert.equal(runWithIds({ correlationId: CID, sessionId: SID }, () => sqlWithIds("SELECT 1")), `SELECT 1 /*correlation_id='${CID}',session_id='${SID}'*/`);
});

test("envelopes round-trip, and forged IDs in one are not taken", () => {
  const envelope = runWithIds({ correlationId: CID, sessionId: SID }, () => jobEnvelope({ n: 1 }));
  assert.deepEqual(JSON.parse(JSON.stringify(envelope)), { correlation_id: CID, session_id: SID, job: { n: 1 } });
  assert.deepEqual(runJob(envelope, (job) => [job.n, currentIds()]), [1, { correlationId: CID, sessionId: SID }]);
  const forged = runJob({ correlation_id: "x\ny", session_id: "a b", job: 0 }, () => currentIds());
  assert.match(forged.correlationId, /^[0-9a-f]{32}$/);
  assert.equal(forged.sessionId, undefined);
});
