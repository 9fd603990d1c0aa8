// OpenTelemetry JS: fetch and XHR instrumentation propagating to the allowed origin, logs through
// the OTLP/HTTP exporter.
import { logs } from "@opentelemetry/api-logs";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { FetchInstrumentation } from "@opentelemetry/instrumentation-fetch";
import { XMLHttpRequestInstrumentation } from "@opentelemetry/instrumentation-xml-http-request";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { WebTracerProvider } from "@opentelemetry/sdk-trace-web";

const api = new RegExp(`^${window.BENCH.api.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`);
const tracer = new WebTracerProvider();
tracer.register();
registerInstrumentations({
  instrumentations: [
    new FetchInstrumentation({ propagateTraceHeaderCorsUrls: [api] }),
    new XMLHttpRequestInstrumentation({ propagateTraceHeaderCorsUrls: [api] }),
  ],
});
const loggerProvider = new LoggerProvider({
  processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: window.BENCH.endpoint }) })],
});
logs.setGlobalLoggerProvider(loggerProvider);
const logger = loggerProvider.getLogger("bench");
window.bench = {
  ready: Promise.resolve(),
  log: (message, attributes) => logger.emit({ severityText: "INFO", severityNumber: 9, body: message, attributes }),
  flush: () => loggerProvider.forceFlush(),
};
