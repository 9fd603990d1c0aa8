// Types of the propagation-only entry, `import { init } from "threadline/propagate"`: the full
// entry's, without the options of the event pipeline (which its `init` refuses). `log` records
// nothing and `flush` resolves at once.
import type { Options as FullOptions, Recorder } from "./index.js";

export type { Action, Level, Recorder } from "./index.js";

/** The options of `threadline/propagate`: propagation, actions and sessions. */
export type Options = Omit<
  FullOptions,
  | "endpoint"
  | "service"
  | "minLevel"
  | "maxBatchEvents"
  | "maxBatchBytes"
  | "flushIntervalMs"
  | "maxQueueBytes"
  | "maxStorageBytes"
  | "captureErrors"
  | "captureConsole"
  | "keepQueryString"
  | "redactKeys"
  | "uploadTimeoutMs"
>;

/** Starts the propagation-only recorder (see the full entry's `init`). */
export function init(options?: Options): Promise<Recorder>;
