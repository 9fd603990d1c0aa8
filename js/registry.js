// The page's one recorder, so that a second `init` returns the first and `shutdown` frees the slot.
let current = null;

export function currentRecorder() {
  return current;
}

export function setCurrentRecorder(recorder) {
  current = recorder;
}
