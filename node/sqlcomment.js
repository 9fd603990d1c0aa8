// sqlcommenter (https://google.github.io/sqlcommenter/spec/): both IDs appended to a SQL
// statement as a comment, so the database's slow-query log and activity views show them.
import { currentIds } from "./context.js";

/** @param {string} text RFC 3986 encoding: encodeURIComponent leaves `!'()*` bare */
const encode = (text) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * `sql` with `tags` appended as `/*key='value',…*\/`: keys sorted, keys and values URL-encoded,
 * `'` escaped; before a final `;`. A statement that already has a comment is left alone.
 * @param {string} sql
 * @param {Record<string, string>} tags
 */
export function withSqlComment(sql, tags) {
  const entries = Object.entries(tags).filter(([, v]) => v !== undefined && v !== "");
  if (entries.length === 0 || sql.includes("/*") || sql.includes("--")) return sql;
  const pairs = entries.map(([k, v]) => `${encode(k)}='${encode(v).replace(/'/g, "\\'")}'`).sort();
  const comment = `/*${pairs.join(",")}*/`;
  const body = sql.trimEnd();
  return body.endsWith(";") ? `${body.slice(0, -1).trimEnd()} ${comment};` : `${body} ${comment}`;
}

/**
 * `sql` tagged with the current `correlation_id` and `session_id`.
 * @param {string} sql
 */
export function sqlWithIds(sql) {
  const ids = currentIds();
  if (!ids) return sql;
  /** @type {Record<string, string>} */
  const tags = { correlation_id: ids.correlationId };
  if (ids.sessionId) tags.session_id = ids.sessionId;
  return withSqlComment(sql, tags);
}
