/** Options for {@link init}. Unknown keys are refused, so typos surface at once. */
export interface Options {
  /** Ingestion URL for events. Absent: propagate headers only, send no events. */
  endpoint?: string;
  /** `service.name` on every event. Default `"web"`. */
  service?: string;
  /**
   * Extra origins whose requests get the header: exact origins (`"https://api.shop.com"`,
   * default ports implied), wildcard subdomains (`"https://*.shop.com"`), or RegExps tested
   * against the origin string only (`/^https:\/\/api-\d+\.shop\.com$/`).
   */
  propagateTo?: (string | RegExp)[];
  /** Give the page's own origin the header. Default `true`. */
  sameOrigin?: boolean;
  /** Name of the correlation header. Default `"X-Correlation-ID"`. */
  header?: string;
  /** Also send W3C `traceparent` (same ID) and `baggage: session.id=…`. Default `false`. */
  traceparent?: boolean;
  /** Start an action on clicks of buttons and links and on form submits. Default `true`. */
  autoActions?: boolean;
  /** A failed request repeated within this many seconds keeps its ID. Default 30; 0 turns it off. */
  retryWindowSeconds?: number;
  /** Rotate the session after this many minutes without activity. Default 30. */
  sessionIdleMinutes?: number;
  /** Rotate the session after this many hours however active. Default 24. */
  sessionMaxHours?: number;
  /** Events below this level are not recorded. Default `"info"`. */
  minLevel?: Level;
  /** The most events one upload carries (1–1000). Default 1000. A batch is due once 200 are waiting (or this many, if fewer); up to four are uploaded at a time, and each carries what is waiting, up to a size that grows while the endpoint acknowledges them. */
  maxBatchEvents?: number;
  /** The most bytes of records one upload carries (1024–1048576). Default 1 MiB. A batch is also due once 64 KiB are waiting (or this many, if fewer). */
  maxBatchBytes?: number;
  /** … or this many milliseconds after its first event (0–600000). Default 5000. */
  flushIntervalMs?: number;
  /** Bytes of events kept in memory; past it the oldest are dropped and counted. Default 1 MiB. Besides it, up to four batches are in flight or awaiting their retry. */
  maxQueueBytes?: number;
  /** Bytes of unsent events page exit may keep in localStorage (0: none). Default 1 MiB. */
  maxStorageBytes?: number;
  /** Record uncaught errors and unhandled rejections. Default `true`. */
  captureErrors?: boolean;
  /** Record `console.warn` and `console.error` lines. Default `false`. */
  captureConsole?: boolean;
  /** Keep query strings in `http.request` URLs. Default `false`. */
  keepQueryString?: boolean;
  /**
   * Key fragments (case-insensitive) whose values are replaced by `"[redacted]"`; replaces the
   * default list: password, passwd, secret, token, authorization, cookie, apikey, api-key, api_key.
   */
  redactKeys?: string[];
  /**
   * An upload without an answer after this many milliseconds is aborted and retried like a
   * network error (1000–120000). `flush()` and `shutdown()` settle within this plus 1 s. Default 10000.
   */
  uploadTimeoutMs?: number;
  /**
   * Which tagged requests tell the backend the session: `"same-origin"` (default; the page's own
   * origin needs no CORS change), `"all"` (the default with `traceparent: true`; cross-origin
   * servers must allow the header in CORS) or `false`.
   */
  sendSession?: "same-origin" | "all" | false;
  /** Send the session as this plain header (such as `"X-Session-ID"`) instead of in `baggage`. */
  sessionHeader?: string;
  /** Also put the `setUser` ID in `baggage` (`user.id`). Default `false`. */
  userInBaggage?: boolean;
  /**
   * Where `threadline_bg.wasm` comes from, for pages that host it elsewhere than beside the
   * module: a URL (relative to the page), a `Response` (or a promise of one), its bytes, or a
   * compiled `WebAssembly.Module`. Default: the file beside the module or script. Read by the
   * loader, never by the recorder; it counts on the first `init` only.
   */
  wasm?: string | URL | Response | PromiseLike<Response> | ArrayBuffer | ArrayBufferView | WebAssembly.Module;
}

/** Event levels, as OTLP severities DEBUG (5), INFO (9), WARN (13), ERROR (17). */
export type Level = "debug" | "info" | "warn" | "error";

/** One user action. Its ID goes on the requests it causes. */
export interface Action {
  /** The correlation ID: 32 lowercase hex characters (a W3C trace-id). */
  readonly id: string;
  readonly name: string;
  /** `fetch` that always carries this action's ID, even after another action started. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Ends the action. Ending twice is harmless. */
  end(outcome?: "ok" | "error" | "cancelled"): void;
}

/** The page's recorder. */
export interface Recorder {
  /** The session ID shared by this origin's tabs (32 hex). Reading it never extends the session. */
  sessionId(): string;
  /**
   * Starts a new action, current until it ends or another starts. A name longer than 64
   * characters (the cap of every action name, automatic ones too) is cut to 64.
   */
  startAction(name: string, attributes?: Record<string, unknown>): Action;
  /** The current action, explicit or automatic, or null. */
  currentAction(): Action | null;
  /**
   * Records a log event (with an `endpoint`). Attributes are sanitised, redacted and bounded;
   * nothing about them makes this throw.
   */
  log(level: Level, message: string, attributes?: Record<string, unknown>): void;
  /**
   * Sends queued events now. Resolves once the endpoint acknowledged them, or once the endpoint is
   * failing and they are kept in storage for the next page (unless `maxStorageBytes` is 0); at once
   * without an `endpoint`.
   */
  flush(): Promise<void>;
  /**
   * The ID a user should report now: the ID the server echoed on the most recent failed request,
   * else the ID of the most recent failed action, else the current action's ID, else null.
   */
  debugId(): string | null;
  /**
   * Opens an accessible error dialog showing `message` and the debug ID (default `debugId()`,
   * else the session ID) with a "Copy debug ID" button. Escape or Close closes it; returns a
   * function that closes it too. Opening and copying are recorded as events. The dialog's code
   * (about 2 KB) is fetched on first use; resolves to a function that closes the dialog.
   */
  showErrorDialog(options?: { title?: string; message?: string; debugId?: string }): Promise<() => void>;
  /**
   * Sets the app's opaque or hashed user ID (never an e-mail address or a name), carried as
   * `user.id` on every event and, with `userInBaggage`, in `baggage`; `null` clears it. A value
   * that is not an opaque ID is refused with a console warning.
   */
  setUser(id: string | null): void;
  /**
   * Follows a WebSocket: JSON object messages it sends carry `session_id` (inside an action also
   * `correlation_id`) and are recorded as `ws.send`; messages it receives that carry a
   * `correlation_id` are recorded as `ws.message`. Returns the same socket.
   */
  socket<T extends WebSocket>(ws: T): T;
  /**
   * Flushes, then stops patching: restores `fetch` and `XMLHttpRequest` where Threadline is still
   * the outermost wrapper, else leaves a pass-through. Once the flush settles, nothing more is
   * recorded or sent (events the endpoint did not take wait in storage for the next `init`).
   * A later `init` creates a new recorder.
   */
  shutdown(): Promise<void>;
}

/**
 * Starts Threadline and resolves to the page's recorder. A second call, from this or another copy
 * of Threadline on the page, resolves to the same recorder when it passes the same settings or
 * none, and rejects naming the options that differ otherwise. Fetch and XHR are patched at once:
 * requests started while the wasm loads wait and carry the header; they go out as soon as the
 * recorder's patches are in place, before it claims stored events and adds its listeners.
 * Rejects with an Error naming the option when options are invalid, naming the fix when the wasm
 * cannot be loaded (its URL and status, or `'wasm-unsafe-eval'` for a page's CSP), and saying it
 * needs a browser page when called outside one (server-side rendering, Node).
 */
export function init(options?: Options): Promise<Recorder>;
