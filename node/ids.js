// The IDs a request carries: what a valid one looks like, how a fresh one is made, and where
// the session is read from (W3C `baggage` member `session.id`, else `X-Session-ID`).
import { randomBytes } from "node:crypto";

/** The correlation header, lower-cased as Node's `IncomingMessage.headers` has it. */
export const CORRELATION_HEADER = "x-correlation-id";
/** The plain session header, for callers that send no `baggage`. */
export const SESSION_HEADER = "x-session-id";
/** The baggage member that carries the session. */
export const SESSION_MEMBER = "session.id";

const VALID = /^[A-Za-z0-9_-]{16,64}$/;

/**
 * Whether `text` is 16 to 64 letters, digits, `-` or `_`: the rule for every ID taken from
 * the outside.
 * @param {unknown} text
 * @returns {text is string}
 */
export function isValidId(text) {
  return typeof text === "string" && VALID.test(text);
}

/** A fresh ID: 128 bits from the CSPRNG as 32 lowercase hex (a W3C trace-id). */
export function newId() {
  return randomBytes(16).toString("hex");
}

/**
 * One header's value as a string, whatever shape the server gives it in (Node joins most
 * repeated headers with ", "; a few arrive as arrays).
 * @param {unknown} value
 * @returns {string | undefined}
 */
function headerText(value) {
  if (Array.isArray(value)) return value.join(",");
  return typeof value === "string" ? value : undefined;
}

/**
 * The raw `key=value;props` members of a baggage header value, trimmed, empty ones dropped.
 * @param {string | undefined} baggage
 */
function members(baggage) {
  return (baggage ?? "").split(",").map((m) => m.trim()).filter(Boolean);
}

/** @param {string} member */
const keyOf = (member) => member.split(/[=;]/, 1)[0].trim();

/**
 * The decoded value of baggage member `key`, if present.
 * @param {string | undefined} baggage
 * @param {string} key
 * @returns {string | undefined}
 */
export function baggageValue(baggage, key) {
  const member = members(baggage).find((m) => keyOf(m) === key);
  const raw = member?.split(";", 1)[0].split("=").slice(1).join("=").trim();
  if (raw === undefined) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/**
 * `baggage` with member `key` set to `value`: the other members stay, in order, an old `key`
 * member is replaced.
 * @param {string | undefined} baggage
 * @param {string} key
 * @param {string} value
 */
export function setBaggage(baggage, key, value) {
  const kept = members(baggage).filter((m) => keyOf(m) !== key);
  return [...kept, `${key}=${encodeURIComponent(value)}`].join(",");
}

/**
 * @typedef {object} RequestIds
 * @property {string} correlationId the request's ID, accepted or minted at the edge
 * @property {string | undefined} sessionId the browser session, absent when none valid was named
 */

/**
 * The edge policy on a request's headers (a Node `IncomingHttpHeaders`-like object with
 * lower-case names): a valid correlation ID is kept, a missing or invalid one replaced by a
 * fresh one; the session is the baggage member `session.id`, else `X-Session-ID`, if valid,
 * and otherwise absent (never minted).
 * @param {Record<string, unknown>} headers
 * @param {string} [header] the correlation header, lower case
 * @returns {RequestIds}
 */
export function idsFromHeaders(headers, header = CORRELATION_HEADER) {
  const given = headerText(headers[header])?.trim();
  const fromBaggage = baggageValue(headerText(headers.baggage), SESSION_MEMBER);
  const session = fromBaggage ?? headerText(headers[SESSION_HEADER])?.trim();
  return {
    correlationId: isValidId(given) ? given : newId(),
    sessionId: isValidId(session) ? session : undefined,
  };
}
