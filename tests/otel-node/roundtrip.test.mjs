// Round trips from the real OpenTelemetry JS SDK (pinned in package.json) through the real
// collector: logs and spans sent with the OTLP/HTTP JSON and protobuf exporters, with the write
// token in the exporter's headers, come back from the search API field for field.
// Needs the collector built (target/debug/threadline-collector); run by tests/otel-sdks.sh.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from "@opentelemetry/api";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { OTLPLogExporter as JsonLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPLogExporter as ProtoLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPTraceExporter as JsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const READ = "node-roundtrip-read-token-0123";
const WRITE = "node-roundtrip-write-token-0123";
let collector;
let base;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "threadline-otel-node-"));
  collector = spawn(join(root, "target", "debug", "threadline-collector"), ["--listen", "127.0.0.1:0", "--db", join(dir, "c.sqlite")], {
    env: { ...process.env, THREADLINE_READ_TOKEN: READ, THREADLINE_WRITE_TOKEN: WRITE },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  base = await new Promise((resolve, reject) => {
    collector.stdout.on("data", (chunk) => {
      out += chunk;
      const found = /listening on (http:\/\/[\d.:]+)/.exec(out);
      if (found) resolve(found[1]);
    });
    collector.on("exit", (code) => reject(new Error(`collector exited (${code}): ${out}`)));
  });
});
after(() => collector?.kill("SIGINT"));

const random = (bytes) => [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
const nowSeconds = Math.floor(Date.now() / 1000) - 60;
const headers = { Authorization: `Bearer ${WRITE}` };

async function search(id) {
  const response = await fetch(`${base}/api/search?id=${id}`, { headers: { Authorization: `Bearer ${READ}` } });
  assert.equal(response.status, 200);
  return response.json();
}

/** Sends one log record and one span through `variant`'s exporters; returns what was sent. */
async function send(variant, LogExporter, TraceExporter) {
  const traceId = random(16);
  const parentSpanId = random(8);
  const [linkedTraceId, linkedSpanId] = [random(16), random(8)];
  const resource = resourceFromAttributes({ "service.name": `node-${variant}`, "host.cores": 8 });
  const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
  const logs = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: new LogExporter({ url: `${base}/v1/logs`, headers, compression: variant === "proto" ? "gzip" : "none" }) })] });
  const attributes = {
    text: "deadbeef",
    big: Number.MAX_SAFE_INTEGER,
    negative: -42,
    half: 0.5,
    infinite: Infinity,
    yes: true,
    raw: new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
    list: ["a", 1, false],
    nested: { inner: "value", depth: 2 },
    "service.name": "record says otherwise",
  };
  if (variant === "proto") attributes.nan = NaN;
  const record = {
    timestamp: [nowSeconds, 123456789],
    observedTimestamp: [nowSeconds, 123456790],
    severityNumber: SeverityNumber.ERROR2,
    severityText: "Error2",
    body: { reason: "card", codes: [51, 52] },
    eventName: "payment.declined",
    attributes,
    context: parent,
  };
  logs.getLogger("roundtrip-scope", "4.5.6").emit(record);
  await logs.shutdown();

  const spans = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(new TraceExporter({ url: `${base}/v1/traces`, headers, compression: variant === "proto" ? "gzip" : "none" }))] });
  const span = spans.getTracer("roundtrip-tracer", "7.8.9").startSpan("charge card", {
    kind: SpanKind.SERVER,
    startTime: [nowSeconds, 1000],
    attributes: { "http.route": "/api/pay", attempt: 2 },
    links: [{ context: { traceId: linkedTraceId, spanId: linkedSpanId, traceFlags: TraceFlags.SAMPLED }, attributes: { "link.kind": "retry-of" } }],
  }, parent);
  span.addEvent("exception", { "exception.message": "deadline exceeded" }, [nowSeconds + 1, 5]);
  span.setStatus({ code: SpanStatusCode.ERROR, message: "card processor unavailable" });
  span.end([nowSeconds + 3, 1000]);
  await spans.shutdown();
  return { traceId, parentSpanId, spanId: span.spanContext().spanId, linkedTraceId, linkedSpanId };
}

for (const [variant, LogExporter, TraceExporter] of [["json", JsonLogExporter, JsonTraceExporter], ["proto", ProtoLogExporter, ProtoTraceExporter]]) {
  test(`the ${variant} exporters' logs and spans come back field for field`, async () => {
    const sent = await send(variant, LogExporter, TraceExporter);
    const answer = await search(sent.traceId);
    assert.equal(answer.records.length, 1, JSON.stringify(answer));
    const r = answer.records[0];
    assert.equal(r.provenance, "backend", "sent with the write token");
    assert.equal(r.time_unix_nano, `${nowSeconds}123456789`);
    assert.equal(r.time_replaced, false);
    assert.equal(r.observed_time_unix_nano, `${nowSeconds}123456790`);
    assert.equal(r.service, `node-${variant}`);
    assert.equal(r.scope, "roundtrip-scope");
    assert.equal(r.scope_version, "4.5.6");
    assert.equal(r.severity_number, 18);
    assert.equal(r.severity_text, "Error2");
    assert.equal(r.event_name, "payment.declined");
    assert.equal(r.trace_id, sent.traceId);
    assert.equal(r.span_id, sent.parentSpanId);
    assert.equal(r.flags, 1);
    assert.deepEqual(r.body, { kvlistValue: { values: [
      { key: "reason", value: { stringValue: "card" } },
      { key: "codes", value: { arrayValue: { values: [{ intValue: "51" }, { intValue: "52" }] } } },
    ] } });
    assert.deepEqual(r.resource["service.name"], { stringValue: `node-${variant}` });
    assert.deepEqual(r.resource["host.cores"], { intValue: "8" });
    const a = r.attributes;
    assert.deepEqual(a["service.name"], { stringValue: "record says otherwise" }, "record and resource attributes apart");
    assert.deepEqual(a.text, { stringValue: "deadbeef" });
    assert.deepEqual(a.big, { intValue: String(Number.MAX_SAFE_INTEGER) });
    assert.deepEqual(a.negative, { intValue: "-42" });
    assert.deepEqual(a.half, { doubleValue: 0.5 });
    assert.deepEqual(a.infinite, variant === "proto" ? { doubleValue: "Infinity" } : {},
      "JSON.stringify turns Infinity into null in the JS JSON exporter: stored as an empty value");
    if (variant === "proto") assert.deepEqual(a.nan, { doubleValue: "NaN" });
    assert.deepEqual(a.yes, { boolValue: true });
    assert.deepEqual(a.raw, { bytesValue: "3q2+7w==" }, "bytes stay bytes, not a hex string");
    assert.deepEqual(a.list, { arrayValue: { values: [{ stringValue: "a" }, { intValue: "1" }, { boolValue: false }] } });
    assert.deepEqual(a.nested, { kvlistValue: { values: [{ key: "inner", value: { stringValue: "value" } }, { key: "depth", value: { intValue: "2" } }] } });

    assert.equal(answer.spans.length, 1);
    const s = answer.spans[0];
    assert.equal(s.provenance, "backend");
    assert.equal(s.service, `node-${variant}`);
    assert.equal(s.scope, "roundtrip-tracer");
    assert.equal(s.scope_version, "7.8.9");
    assert.equal(s.name, "charge card");
    assert.equal(s.kind, 2, "SERVER");
    assert.equal(s.trace_id, sent.traceId);
    assert.equal(s.span_id, sent.spanId);
    assert.equal(s.parent_span_id, sent.parentSpanId);
    assert.equal(s.start_time_unix_nano, `${nowSeconds}000001000`);
    assert.equal(s.end_time_unix_nano, `${nowSeconds + 3}000001000`);
    assert.equal(s.status_code, 2);
    assert.equal(s.status_message, "card processor unavailable");
    assert.deepEqual(s.attributes["http.route"], { stringValue: "/api/pay" });
    assert.deepEqual(s.attributes.attempt, { intValue: "2" });
    assert.deepEqual(s.events, [{ time_unix_nano: `${nowSeconds + 1}000000005`, name: "exception", attributes: { "exception.message": { stringValue: "deadline exceeded" } } }]);
    assert.deepEqual(s.links, [{ trace_id: sent.linkedTraceId, span_id: sent.linkedSpanId, attributes: { "link.kind": { stringValue: "retry-of" } } }]);
  });
}

test("without the write token the same exporter's lines are shown as from a browser", async () => {
  const traceId = random(16);
  const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: random(8), traceFlags: TraceFlags.SAMPLED, isRemote: true });
  const logs = new LoggerProvider({
    resource: resourceFromAttributes({ "service.name": "payments" }),
    processors: [new SimpleLogRecordProcessor({ exporter: new JsonLogExporter({ url: `${base}/v1/logs` }) })],
  });
  logs.getLogger("forger").emit({ body: "refund approved by support", severityNumber: SeverityNumber.ERROR, context: parent });
  await logs.shutdown();
  const { records } = await search(traceId);
  assert.equal(records.length, 1);
  assert.equal(records[0].service, "payments");
  assert.equal(records[0].provenance, "browser");
});
