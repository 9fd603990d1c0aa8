// Log hooks that put both current IDs on every line: a pino mixin and a winston format.
import { logFields } from "./context.js";

/**
 * For `pino({ mixin: pinoMixin })`: `correlation_id` and `session.id` on every line logged
 * inside a request or job.
 * @returns {Record<string, string>}
 */
export function pinoMixin() {
  return logFields();
}

/**
 * A winston format (use it in `winston.format.combine(winstonFormat, …)`): copies
 * `correlation_id` and `session.id` onto every line logged inside a request or job.
 */
export const winstonFormat = {
  /**
   * @param {Record<string | symbol, unknown>} info
   */
  transform(info) {
    return Object.assign(info, logFields());
  },
};
