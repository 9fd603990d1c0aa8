// OpenTelemetry JS for propagation only: the web tracer with fetch and XHR instrumentation; no logs.
import { traceRequests } from "./opentelemetry-tracing.js";

traceRequests();
window.bench = { ready: Promise.resolve(), log() {} };
