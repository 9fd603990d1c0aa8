// The page's one recorder, so that a second `init` returns the first and `shutdown` frees the slot.
let current = null;

/** The page's window, or undefined outside a window (a worker). */
export function pageWindow() {
  return typeof window === "object" ? window : undefined;
}

export function currentRecorder() {
  return current;
}

export function setCurrentRecorder(recorder) {
  current = recorder;
}
