// The README's two lines for Node backends already on OpenTelemetry, with the real SDK: the
// W3C propagators read what the recorder sends (`traceparent: true`) on a real HTTP request,
// and the baggage span processor copies `session.id`, and nothing else, onto every span.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import { context, propagation, trace } from "@opentelemetry/api";
import { BaggageSpanProcessor } from "@opentelemetry/baggage-span-processor";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { CID, SID } from "./support.mjs";

test("the session in baggage lands on the spans and the action's ID is their trace ID", async () => {
  const exported = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new BaggageSpanProcessor((key) => key === "session.id"), new SimpleSpanProcessor(exported)] });
  provider.register({ propagator: new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }) });
  const tracer = trace.getTracer("shop");

  // What OpenTelemetry's HTTP instrumentation does with a request's headers.
  const server = createServer((req, res) => {
    context.with(propagation.extract(context.active(), req.headers), () => {
      tracer.startActiveSpan("POST /api/checkout", (span) => {
        tracer.startActiveSpan("charge card", async (child) => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          child.end();
          span.end();
          res.end("ok");
        });
      });
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const r = await fetch(`http://127.0.0.1:${server.address().port}/api/checkout`, {
      method: "POST",
      headers: { traceparent: `00-${CID}-b7ad6b7169203331-01`, baggage: `user.tier=gold,session.id=${SID}` },
    });
    assert.equal(await r.text(), "ok");
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  const spans = exported.getFinishedSpans();
  assert.deepEqual(spans.map((s) => s.name), ["charge card", "POST /api/checkout"]);
  for (const span of spans) {
    assert.equal(span.spanContext().traceId, CID);
    assert.deepEqual(span.attributes, { "session.id": SID });
  }
  await provider.shutdown();
});
