// Types for `threadline/node`.

/** Both IDs of a request or job. */
export interface RequestIds {
  /** The request's ID, accepted or minted at the edge. */
  correlationId: string;
  /** The browser session, absent when the request named none that is valid. */
  sessionId: string | undefined;
}

/** The same JSON shape as the Rust `JobEnvelope`. */
export interface JobEnvelope<T> {
  correlation_id: string;
  session_id?: string;
  job: T;
}

export const CORRELATION_HEADER: "x-correlation-id";
export const SESSION_HEADER: "x-session-id";
export const SESSION_MEMBER: "session.id";

/** Whether `text` is 16 to 64 letters, digits, `-` or `_`. */
export function isValidId(text: unknown): text is string;
/** A fresh ID: 32 lowercase hex from the CSPRNG. */
export function newId(): string;
/** The edge policy on a request's (lower-case) headers. */
export function idsFromHeaders(headers: Record<string, unknown>, header?: string): RequestIds;

/** The IDs of the request or job running now. */
export function currentIds(): RequestIds | undefined;
/** Runs `fn` with `ids` as the current IDs. */
export function runWithIds<T>(ids: RequestIds, fn: () => T): T;
/** `{ correlation_id, "session.id" }` for a log line. */
export function logFields(ids?: RequestIds): Record<string, string>;

export interface MiddlewareOptions {
  /** The correlation header, default `X-Correlation-ID`. */
  header?: string;
}
/** Express middleware: `app.use(expressCorrelation())`. */
export function expressCorrelation(options?: MiddlewareOptions): (req: any, res: any, next: (err?: unknown) => void) => void;
/** Fastify plugin: `app.register(fastifyCorrelation)`. */
export function fastifyCorrelation(fastify: any, options: MiddlewareOptions): Promise<void>;

/** `headers` plus `X-Correlation-ID` and `session.id` merged into `baggage`. */
export function forwardHeaders(headers?: HeadersInit, ids?: RequestIds): Headers;
/** `fetch` with both current IDs on the request. */
export function fetchWithIds(input: string | URL | Request, init?: RequestInit): Promise<Response>;
/** `job` wrapped with both IDs. */
export function jobEnvelope<T>(job: T, ids?: RequestIds): JobEnvelope<T>;
/** Runs `handler(job)` with the envelope's (checked) IDs as the current IDs. */
export function runJob<T, R>(envelope: JobEnvelope<T>, handler: (job: T) => R): R;

/** For `pino({ mixin: pinoMixin })`. */
export function pinoMixin(): Record<string, string>;
/** For `winston.format.combine(winstonFormat, …)`. */
export const winstonFormat: { transform(info: Record<string | symbol, unknown>): Record<string | symbol, unknown> };

/** `sql` with `tags` appended as a sqlcommenter comment. */
export function withSqlComment(sql: string, tags: Record<string, string>): string;
/** `sql` tagged with the current `correlation_id` and `session_id`. */
export function sqlWithIds(sql: string): string;
