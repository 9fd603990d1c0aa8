// Compiled by tsc (node/tsconfig.json) only: the declared API accepts what the README shows.
import { currentIds, expressCorrelation, fetchWithIds, forwardHeaders, jobEnvelope, runJob, sqlWithIds, withSqlComment } from "../index.js";
import type { JobEnvelope, RequestIds } from "../index.js";

const middleware: (req: unknown, res: unknown, next: (err?: unknown) => void) => void = expressCorrelation({ header: "X-Request-ID" });
const ids: RequestIds | undefined = currentIds();
const headers: Headers = forwardHeaders({ baggage: "user.tier=gold" }, ids);
const envelope: JobEnvelope<{ name: string }> = jobEnvelope({ name: "send-receipt" });
const name: string = runJob(envelope, (job) => job.name);
const sql: string = withSqlComment(sqlWithIds("SELECT 1"), { route: "/pay" });
const answer: Promise<Response> = fetchWithIds("http://127.0.0.1/", { method: "POST" });
export { answer, headers, middleware, name, sql };
