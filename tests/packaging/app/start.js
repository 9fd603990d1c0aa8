// The app every fixture builds: starts Threadline with the API server named in the page's query
// string allowed, fetches from it and opens the error dialog. The test awaits
// `window.threadlineResult`.
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
    // The dialog's code is a chunk of its own: the bundler must have emitted it too.
    const close = await tl.showErrorDialog({ title: "Packaging check" });
    const host = document.querySelector("threadline-error-dialog");
    const dialogTitle = host && host.shadowRoot.querySelector("[role=alertdialog] h2").textContent;
    close();
    return { sessionId: tl.sessionId(), status: response.status, dialogTitle };
  });
}
