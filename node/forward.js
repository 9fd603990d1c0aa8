// Carrying both IDs on: to a downstream HTTP call and into a queued job.
import { currentIds, runWithIds } from "./context.js";
import { CORRELATION_HEADER, isValidId, newId, SESSION_MEMBER, setBaggage } from "./ids.js";

/** @typedef {import("./ids.js").RequestIds} RequestIds */

/**
 * `headers` (anything `new Headers()` takes) plus both IDs: `X-Correlation-ID` (replaced) and
 * `session.id` merged into `baggage` beside the caller's own members.
 * @param {HeadersInit | undefined} [headers]
 * @param {RequestIds | undefined} [ids] default: the current IDs
 * @returns {Headers}
 */
export function forwardHeaders(headers, ids = currentIds()) {
  const out = new Headers(headers);
  if (!ids) return out;
  out.set(CORRELATION_HEADER, ids.correlationId);
  if (ids.sessionId) out.set("baggage", setBaggage(out.get("baggage") ?? undefined, SESSION_MEMBER, ids.sessionId));
  return out;
}

/**
 * `fetch` with both current IDs on the request (see `forwardHeaders`).
 * @param {string | URL | Request} input
 * @param {RequestInit} [init]
 * @returns {Promise<Response>}
 */
export function fetchWithIds(input, init = {}) {
  const base = init.headers ?? (input instanceof Request ? input.headers : undefined);
  return fetch(input, { ...init, headers: forwardHeaders(base) });
}

/**
 * @template T
 * @typedef {{ correlation_id: string, session_id?: string, job: T }} JobEnvelope
 */

/**
 * `job` wrapped with both IDs, as JSON-ready fields (the same shape the Rust `JobEnvelope`
 * has, so producers and workers in either language agree).
 * @template T
 * @param {T} job
 * @param {RequestIds | undefined} [ids] default: the current IDs (a fresh ID outside any)
 * @returns {JobEnvelope<T>}
 */
export function jobEnvelope(job, ids = currentIds()) {
  /** @type {JobEnvelope<T>} */
  const envelope = { correlation_id: ids?.correlationId ?? newId(), job };
  if (ids?.sessionId) envelope.session_id = ids.sessionId;
  return envelope;
}

/**
 * Runs `handler(job)` with the envelope's IDs as the current IDs. An envelope's IDs are
 * checked like a request's: an invalid correlation ID is replaced, an invalid session dropped.
 * @template T, R
 * @param {JobEnvelope<T>} envelope
 * @param {(job: T) => R} handler
 * @returns {R}
 */
export function runJob(envelope, handler) {
  const ids = {
    correlationId: isValidId(envelope?.correlation_id) ? envelope.correlation_id : newId(),
    sessionId: isValidId(envelope?.session_id) ? envelope.session_id : undefined,
  };
  return runWithIds(ids, () => handler(envelope.job));
}

