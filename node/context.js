// The IDs of the request (or job) being handled, for any code below it: log hooks, fetch
// calls, job producers. Kept in an AsyncLocalStorage, so concurrent requests never mix.
import { AsyncLocalStorage } from "node:async_hooks";

/** @typedef {import("./ids.js").RequestIds} RequestIds */

/** @type {AsyncLocalStorage<RequestIds>} */
export const storage = new AsyncLocalStorage();

/**
 * The IDs of the request or job running now, or `undefined` outside one.
 * @returns {RequestIds | undefined}
 */
export function currentIds() {
  return storage.getStore();
}

/**
 * Runs `fn` with `ids` as the current IDs.
 * @template T
 * @param {RequestIds} ids
 * @param {() => T} fn
 * @returns {T}
 */
export function runWithIds(ids, fn) {
  return storage.run(ids, fn);
}

/**
 * The IDs as log fields: `correlation_id` and, when there is a session, `session.id`.
 * @param {RequestIds | undefined} [ids]
 * @returns {Record<string, string>}
 */
export function logFields(ids = currentIds()) {
  if (!ids) return {};
  /** @type {Record<string, string>} */
  const fields = { correlation_id: ids.correlationId };
  if (ids.sessionId) fields["session.id"] = ids.sessionId;
  return fields;
}
