// OpenTelemetry JS: fetch and XHR instrumentation propagating to the allowed origin, logs through
// the OTLP/HTTP exporter.
import { logs } from "@opentelemetry/api-logs";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { traceRequests } from "./opentelemetry-tracing.js";

traceRequests();
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
