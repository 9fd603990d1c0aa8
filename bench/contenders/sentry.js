// Sentry: browser tracing with tracePropagationTargets, logs to the endpoint (as a DSN).
import * as Sentry from "@sentry/browser";

const endpoint = new URL(window.BENCH.endpoint);
Sentry.init({
  dsn: `${endpoint.protocol}//public@${endpoint.host}/1`,
  integrations: [Sentry.browserTracingIntegration()],
  tracesSampleRate: 1,
  tracePropagationTargets: [window.BENCH.api],
  enableLogs: true,
});
window.bench = {
  ready: Promise.resolve(),
  log: (message, attributes) => Sentry.logger.info(message, attributes),
  flush: () => Sentry.flush(10_000),
};
