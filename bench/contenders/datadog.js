// Datadog RUM with allowedTracingUrls, and Datadog browser logs, both sent to the endpoint (proxy).
import { datadogLogs } from "@datadog/browser-logs";
import { datadogRum } from "@datadog/browser-rum";

const common = { clientToken: "pub00000000000000000000000000000000", site: "datadoghq.com", service: "bench", proxy: window.BENCH.endpoint };
datadogRum.init({
  ...common,
  applicationId: "00000000-0000-0000-0000-000000000000",
  sessionSampleRate: 100,
  traceSampleRate: 100,
  allowedTracingUrls: [window.BENCH.api],
  trackUserInteractions: false,
  trackResources: true,
});
datadogLogs.init({ ...common, forwardErrorsToLogs: false, sessionSampleRate: 100 });
// Datadog's browser SDKs have no public flush: its logs leave on their own schedule.
window.bench = { ready: Promise.resolve(), log: (message, attributes) => datadogLogs.logger.info(message, attributes) };
