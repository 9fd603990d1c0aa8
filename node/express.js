// Express (4 and 5) middleware: the edge policy on every request.
import { storage } from "./context.js";
import { CORRELATION_HEADER, idsFromHeaders } from "./ids.js";

/**
 * @typedef {object} MiddlewareOptions
 * @property {string} [header] the correlation header (default `X-Correlation-ID`)
 */

/**
 * The middleware: reads both IDs (`req.correlationId`, `req.sessionId`), echoes the
 * correlation ID on the response before any handler runs (so 4xx, 5xx and thrown errors carry
 * it too), and runs the rest of the request with both as the current IDs.
 * @param {MiddlewareOptions} [options]
 * @returns {(req: any, res: any, next: (err?: unknown) => void) => void}
 */
export function expressCorrelation(options = {}) {
  const header = (options.header ?? CORRELATION_HEADER).toLowerCase();
  return (req, res, next) => {
    const ids = idsFromHeaders(req.headers, header);
    req.correlationId = ids.correlationId;
    req.sessionId = ids.sessionId;
    res.setHeader(header, ids.correlationId);
    storage.run(ids, next);
  };
}
