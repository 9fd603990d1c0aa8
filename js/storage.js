// Where the session is kept: localStorage so the tabs of an origin share it, falling back to
// sessionStorage and then memory when storage throws (private modes, sandboxed frames, quota).

function usable(name) {
  try {
    const storage = window[name];
    storage.setItem("threadline.probe", "1");
    storage.removeItem("threadline.probe");
    return storage;
  } catch (_) {
    return null;
  }
}

/** A `{ kind, get(), set(value) }` slot for `key` in the best storage the page allows. */
export function openSlot(key) {
  let memory = null;
  let storage = usable("localStorage");
  let kind = "localStorage";
  if (!storage) {
    storage = usable("sessionStorage");
    kind = storage ? "sessionStorage" : "memory";
  }
  return {
    kind,
    get() {
      try {
        return storage ? storage.getItem(key) : memory;
      } catch (_) {
        return memory;
      }
    },
    set(value) {
      memory = value;
      try {
        if (storage) storage.setItem(key, value);
      } catch (_) {
        // Quota or a revoked permission: memory keeps this tab going.
        storage = null;
        kind = "memory";
      }
    },
  };
}

export function slotGet(slot) {
  return slot.get();
}

export function slotSet(slot, value) {
  slot.set(value);
}

/** Calls `hooks.storageChanged()` when another tab writes storage; returns the unwatch function. */
export function watchStorage(hooks) {
  const listener = () => hooks.storageChanged();
  window.addEventListener("storage", listener);
  return () => window.removeEventListener("storage", listener);
}
