// The app every fixture builds: starts Threadline with the API server named in the page's query
// string allowed, then fetches from it. The test awaits `window.threadlineResult`.
import { init } from "threadline";

/**
 * Runs the app once (React runs a dev effect twice); its outcome, or init's error, lands in
 * `window.threadlineResult`.
 */
export function start() {
  if (window.threadlineResult) return;
  const params = new URLSearchParams(location.search);
  const api = params.get("api");
  window.threadlineResult = init({ propagateTo: [api] }).then(async (tl) => {
    const response = await fetch(`${api}/api/packaging/${params.get("row")}`);
    return { sessionId: tl.sessionId(), status: response.status };
  });
}
