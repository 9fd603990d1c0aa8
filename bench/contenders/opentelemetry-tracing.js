// What both OpenTelemetry contenders share: the web tracer with fetch and XHR instrumentation
// putting `traceparent` on requests to the allowed origin.
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { FetchInstrumentation } from "@opentelemetry/instrumentation-fetch";
import { XMLHttpRequestInstrumentation } from "@opentelemetry/instrumentation-xml-http-request";
import { WebTracerProvider } from "@opentelemetry/sdk-trace-web";

/** Registers the tracer and the instrumentations for `window.BENCH.api`. */
export function traceRequests() {
  const api = new RegExp(`^${window.BENCH.api.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`);
  const tracer = new WebTracerProvider();
  tracer.register();
  registerInstrumentations({
    instrumentations: [
      new FetchInstrumentation({ propagateTraceHeaderCorsUrls: [api] }),
      new XMLHttpRequestInstrumentation({ propagateTraceHeaderCorsUrls: [api] }),
    ],
  });
}
