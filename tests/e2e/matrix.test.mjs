// The coexistence matrix: Threadline beside the real libraries pages already load (pinned in
// tests/e2e/libs/package.json), each installed before and after Threadline. For every pair the
// page sends fetch and XHR POSTs with each body kind, `action.fetch`, `fetch(new Request(…))` and
// axios requests through both its adapters; the loopback server must receive the method, body
// bytes and content type the app described, the correlation header exactly once, the other
// library's own headers, at most one `traceparent`, and the ingestion server one `http.request`
// event per request.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import * as esbuild from "esbuild";
import { ID, loopbackAndBrowser, openEsmPage } from "./harness.mjs";
import { createIngest, until } from "./ingest.mjs";

const libs = join(dirname(fileURLToPath(import.meta.url)), "libs");
const live = loopbackAndBrowser();
let ingest;

/** Each library as a script that installs it when it runs; `headers` it must leave on requests. */
const LIBRARIES = {
  sentry: {
    headers: ["sentry-trace"],
    tracer: true,
    source: `import * as Sentry from "@sentry/browser";
      Sentry.init({ dsn: "http://public@" + location.host + "/sentry/1", integrations: [Sentry.browserTracingIntegration()],
        tracesSampleRate: 1, tracePropagationTargets: [/.*/] });`,
  },
  datadog: {
    headers: ["x-datadog-trace-id"],
    tracer: true,
    source: `import { datadogRum } from "@datadog/browser-rum";
      datadogRum.init({ applicationId: "00000000-0000-0000-0000-000000000000", clientToken: "pub00000000000000000000000000000000",
        site: "datadoghq.com", service: "matrix", proxy: location.origin + "/datadog", sessionSampleRate: 100, traceSampleRate: 100,
        allowedTracingUrls: [location.origin], trackUserInteractions: false, trackResources: true });`,
  },
  opentelemetry: {
    headers: ["traceparent"],
    tracer: true,
    source: `import { registerInstrumentations } from "@opentelemetry/instrumentation";
      import { FetchInstrumentation } from "@opentelemetry/instrumentation-fetch";
      import { XMLHttpRequestInstrumentation } from "@opentelemetry/instrumentation-xml-http-request";
      import { WebTracerProvider } from "@opentelemetry/sdk-trace-web";
      new WebTracerProvider().register();
      registerInstrumentations({ instrumentations: [new FetchInstrumentation({ propagateTraceHeaderCorsUrls: [/.*/] }),
        new XMLHttpRequestInstrumentation({ propagateTraceHeaderCorsUrls: [/.*/] })] });`,
  },
  zone: { headers: [], source: `import "zone.js";` },
  "whatwg-fetch": {
    headers: [],
    polyfill: true,
    source: `import * as polyfill from "whatwg-fetch";
      Object.assign(window, { fetch: polyfill.fetch, Headers: polyfill.Headers, Request: polyfill.Request, Response: polyfill.Response });`,
  },
  spread: {
    headers: ["x-wrapper"],
    source: `const inner = window.fetch;
      window.fetch = function (input, init) {
        const headers = new Headers((init && init.headers) || (input instanceof Request ? input.headers : undefined));
        headers.set("x-wrapper", "spread");
        return inner.call(this, input, { ...init, headers });
      };`,
  },
  assign: {
    headers: [],
    source: `const inner = window.fetch;
      window.fetch = function (input, init) { return inner.call(this, input, Object.assign({}, init)); };`,
  },
  "new-request": {
    headers: [],
    source: `const inner = window.fetch;
      window.fetch = function (input, init) { return inner.call(this, new Request(input, init)); };`,
  },
};

const bundles = {};

before(async () => {
  const build = (contents) =>
    esbuild.build({ stdin: { contents, resolveDir: libs }, bundle: true, format: "iife", write: false, logLevel: "error" });
  for (const [name, lib] of Object.entries(LIBRARIES)) bundles[name] = (await build(lib.source)).outputFiles[0].text;
  bundles.axios = (await build(`import axios from "axios"; window.axios = axios;`)).outputFiles[0].text;
  ingest = await createIngest();
  await ingest.start();
});
after(async () => ingest?.stop());

/**
 * The page's requests, all POSTs to `/api/matrix/<row>/<kind>`; returns what each sent, by kind:
 * the body the server must receive and its content type (`multipart` for FormData).
 */
async function sendAll({ row, polyfill }) {
  const base = `/api/matrix/${row}/`;
  const sent = {};
  const json = (kind) => JSON.stringify({ kind, row });
  const xhr = (kind, body, type) =>
    new Promise((resolve) => {
      const r = new XMLHttpRequest();
      r.onloadend = resolve;
      r.open("POST", base + kind);
      if (type) r.setRequestHeader("Content-Type", type);
      r.send(body);
    });
  const form = () => {
    const f = new FormData();
    f.append("field", "value-" + row);
    f.append("file", new Blob(["file bytes"], { type: "text/plain" }), "notes.txt");
    return f;
  };
  sent["fetch-json"] = { body: json("fetch-json"), type: "application/json" };
  await fetch(base + "fetch-json", { method: "POST", headers: { "Content-Type": "application/json" }, body: json("fetch-json") });
  sent["fetch-form"] = { type: "multipart", field: "value-" + row };
  await fetch(base + "fetch-form", { method: "POST", body: form() });
  sent["fetch-blob"] = { body: "blob bytes \u00e9", type: "application/octet-stream" };
  await fetch(base + "fetch-blob", { method: "POST", body: new Blob(["blob bytes \u00e9"], { type: "application/octet-stream" }) });
  sent["fetch-params"] = { body: "a=1&b=two+words", type: "application/x-www-form-urlencoded;charset=UTF-8" };
  await fetch(base + "fetch-params", { method: "POST", body: new URLSearchParams({ a: "1", b: "two words" }) });
  sent["fetch-request"] = { body: json("fetch-request"), type: "application/json" };
  await fetch(new Request(base + "fetch-request", { method: "POST", headers: { "Content-Type": "application/json" }, body: json("fetch-request") }));
  const action = tl.startAction("matrix");
  sent["action-fetch"] = { body: json("action-fetch"), type: "application/json", action: action.id };
  await action.fetch(base + "action-fetch", { method: "POST", headers: { "Content-Type": "application/json" }, body: json("action-fetch") });
  action.end();
  sent["xhr-text"] = { body: json("xhr-text"), type: "application/json" };
  await xhr("xhr-text", json("xhr-text"), "application/json");
  sent["xhr-form"] = { type: "multipart", field: "value-" + row };
  await xhr("xhr-form", form());
  sent["xhr-blob"] = { body: "xhr blob \u00e9", type: "application/octet-stream" };
  await xhr("xhr-blob", new Blob(["xhr blob \u00e9"], { type: "application/octet-stream" }));
  sent["xhr-params"] = { body: "c=3&d=more+words", type: "application/x-www-form-urlencoded;charset=UTF-8" };
  await xhr("xhr-params", new URLSearchParams({ c: "3", d: "more words" }));
  sent["axios-xhr"] = { body: json("axios-xhr"), type: "application/json" };
  await axios.post(base + "axios-xhr", { kind: "axios-xhr", row }, { adapter: "xhr" });
  if (!polyfill) {
    // axios's fetch adapter builds a native Request: a fetch polyfill cannot read one.
    sent["axios-fetch"] = { body: json("axios-fetch"), type: "application/json" };
    await axios.post(base + "axios-fetch", { kind: "axios-fetch", row }, { adapter: "fetch" });
  }
  await tl.flush();
  return sent;
}

/** Loads `library` before or after `init`, sends every request kind, and checks each one. */
async function row(library, order, options) {
  const lib = LIBRARIES[library];
  const name = `${library}-${order}`;
  const { page, context, errors } = await openEsmPage(live);
  try {
    await context.route("**/matrix-lib.js", (route) => route.fulfill({ contentType: "text/javascript", body: bundles[library] }));
    await context.route("**/matrix-axios.js", (route) => route.fulfill({ contentType: "text/javascript", body: bundles.axios }));
    await page.addScriptTag({ url: "/matrix-axios.js" });
    if (order === "before") await page.addScriptTag({ url: "/matrix-lib.js" });
    await page.evaluate(async (options) => {
      window.tl = await Threadline.init(options);
    }, { endpoint: ingest.url, flushIntervalMs: 200, ...options });
    if (order === "after") await page.addScriptTag({ url: "/matrix-lib.js" });
    const sent = await page.evaluate(sendAll, { row: name, polyfill: Boolean(lib.polyfill) });
    assert.deepEqual(errors, [], `${name}: no page errors`);
    const ours = () => ingest.events("http.request").filter((e) => String(e.attrs["url.full"]).includes(`/api/matrix/${name}/`));
    await until(() => ours().length >= Object.keys(sent).length, 8_000, `${name}: http.request events`).catch((error) => {
      const urls = ours().map((e) => e.attrs["url.full"]);
      throw new Error(`${error.message}: recorded ${JSON.stringify(urls)}; sent ${JSON.stringify(Object.keys(sent))}`);
    });
    const events = ours();
    for (const [kind, expected] of Object.entries(sent)) {
      const label = `${name} ${kind}`;
      const received = live.server.received(`/api/matrix/${name}/${kind}`);
      assert.equal(received.length, 1, `${label}: one request arrived`);
      const [r] = received;
      assert.equal(r.method, "POST", `${label}: method`);
      const type = r.headers["content-type"] || "";
      if (expected.type === "multipart") {
        assert.match(type, /^multipart\/form-data; boundary=/, `${label}: content type`);
        assert.ok(r.body.includes(expected.field) && r.body.includes("file bytes") && r.body.includes('filename="notes.txt"'), `${label}: form body`);
      } else {
        assert.equal(type.toLowerCase(), expected.type.toLowerCase(), `${label}: content type`);
        assert.equal(r.body, expected.body, `${label}: body bytes`);
      }
      const correlation = r.headers["x-correlation-id"];
      assert.match(correlation || "", ID, `${label}: the correlation header exactly once`);
      if (expected.action) assert.equal(correlation, expected.action, `${label}: action.fetch carries its action's ID`);
      const throughFetch = !kind.startsWith("xhr") && kind !== "axios-xhr";
      for (const header of lib.headers) {
        // The wrappers wrap fetch only; the SDKs instrument fetch and XHR.
        if (lib.tracer || throughFetch) assert.ok(r.headers[header], `${label}: ${library}'s own ${header} header is intact`);
      }
      const traceparent = r.headers.traceparent;
      if (traceparent) {
        assert.ok(!traceparent.includes(","), `${label}: one traceparent, got ${traceparent}`);
        const trace = traceparent.split("-")[1];
        const event = events.find((e) => String(e.attrs["url.full"]).endsWith(`/${kind}`));
        // Datadog's fetch wrapper, when it runs after Threadline's (Datadog initialised first),
        // copies the request and appends its traceparent where nothing of Threadline's can see it.
        const unseen = library === "datadog" && order === "before" && throughFetch;
        if (trace !== correlation && !unseen) {
          assert.equal(event?.attrs["http.request.trace_id"], trace, `${label}: the winning tracer's trace ID is recorded`);
        }
      }
      if (options.traceparent) {
        // One session member: Threadline's, or (beside Datadog RUM, which sets its own) the other SDK's.
        const sessions = (r.headers.baggage || "").split(",").filter((m) => m.trim().startsWith("session.id="));
        assert.equal(sessions.length, 1, `${label}: one session.id in baggage: ${r.headers.baggage}`);
        if (library !== "datadog") assert.match(sessions[0].trim(), /^session\.id=[0-9a-f]{32}$/, `${label}: Threadline's session`);
      }
      const recorded = events.filter((e) => String(e.attrs["url.full"]).endsWith(`/api/matrix/${name}/${kind}`));
      assert.equal(recorded.length, 1, `${label}: one http.request event`);
      assert.equal(recorded[0].attrs.correlation_id, correlation, `${label}: the event carries the request's ID`);
    }
  } finally {
    await context.close();
  }
}

describe("beside other libraries: each before and after Threadline", () => {
  for (const library of Object.keys(LIBRARIES)) {
    for (const order of ["before", "after"]) {
      const options = LIBRARIES[library].tracer ? { traceparent: true } : {};
      test(`${library} ${order} Threadline${options.traceparent ? " (traceparent: true)" : ""}`, () => row(library, order, options));
    }
  }
});
