// Fastify (4 and 5) plugin: the edge policy on every request of the instance it is
// registered on, including its not-found and error replies.
import { storage } from "./context.js";
import { CORRELATION_HEADER, idsFromHeaders } from "./ids.js";

/**
 * The plugin: `app.register(fastifyCorrelation, { header })`. Reads both IDs
 * (`request.correlationId`, `request.sessionId`), runs the request's hooks and handler with them
 * as the current IDs, and echoes the correlation ID on every reply, errors included.
 * @param {any} fastify
 * @param {{ header?: string }} options
 */
export async function fastifyCorrelation(fastify, options) {
  const header = (options?.header ?? CORRELATION_HEADER).toLowerCase();
  fastify.decorateRequest("correlationId", "");
  fastify.decorateRequest("sessionId", undefined);
  fastify.addHook("onRequest", (/** @type {any} */ request, /** @type {any} */ reply, /** @type {() => void} */ done) => {
    const ids = idsFromHeaders(request.headers, header);
    request.correlationId = ids.correlationId;
    request.sessionId = ids.sessionId;
    reply.header(header, ids.correlationId);
    storage.run(ids, done);
  });
  // Error replies may be built afresh; the echo is put back on whatever is sent.
  fastify.addHook("onSend", (/** @type {any} */ request, /** @type {any} */ reply, /** @type {unknown} */ payload, /** @type {(err: null, p: unknown) => void} */ done) => {
    if (request.correlationId) reply.header(header, request.correlationId);
    done(null, payload);
  });
}

// Hooks reach the whole app, not only the plugin's own scope (what fastify-plugin does).
/** @type {any} */ (fastifyCorrelation)[Symbol.for("skip-override")] = true;
/** @type {any} */ (fastifyCorrelation)[Symbol.for("fastify.display-name")] = "threadline-correlation";
