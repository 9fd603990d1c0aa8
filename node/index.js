// `threadline/node`: the correlation edge policy for Node backends. Express and Fastify
// middleware, the current IDs in AsyncLocalStorage, fetch and job helpers that carry them on,
// log hooks for pino and winston, and sqlcommenter tags.
export { CORRELATION_HEADER, SESSION_HEADER, SESSION_MEMBER, idsFromHeaders, isValidId, newId } from "./ids.js";
export { currentIds, logFields, runWithIds } from "./context.js";
export { expressCorrelation } from "./express.js";
export { fastifyCorrelation } from "./fastify.js";
export { fetchWithIds, forwardHeaders, jobEnvelope, runJob } from "./forward.js";
export { pinoMixin, winstonFormat } from "./logging.js";
export { sqlWithIds, withSqlComment } from "./sqlcomment.js";
