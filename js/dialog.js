// The error dialog (`tl.showErrorDialog`) and the rendering of `<threadline-debug-id>`: the debug
// ID in a selectable monospace field with a "Copy debug ID" button. Loaded only when first used
// (see loader.js), so pages that never show it never download it. Styles live in a shadow root, so
// the page's CSS neither reaches in nor is touched; the dialog is a fixed overlay, so the page
// does not shift.

const STYLE = `
:host { all: initial; }
.backdrop { position: fixed; inset: 0; z-index: 2147483647; display: grid; place-items: center;
  background: rgba(0, 0, 0, .45); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
.dialog { box-sizing: border-box; width: min(28rem, calc(100vw - 2rem)); padding: 1.25rem 1.25rem 1rem;
  border-radius: 10px; background: #fff; color: #1f2328; box-shadow: 0 10px 40px rgba(0, 0, 0, .35); }
h2 { margin: 0 0 .5rem; font-size: 1.15rem; }
p { margin: 0 0 1rem; }
label { display: block; font-size: .8rem; color: #57606a; margin-bottom: .25rem; }
.id { display: block; box-sizing: border-box; width: 100%; padding: .45rem .6rem; border: 1px solid #d0d7de;
  border-radius: 6px; background: #f6f8fa; color: inherit; font: 14px ui-monospace, SFMono-Regular, Menlo, monospace;
  user-select: all; word-break: break-all; }
.actions { display: flex; gap: .5rem; justify-content: flex-end; align-items: center; margin-top: 1rem; }
.status { margin-right: auto; font-size: .85rem; color: #1a7f37; }
button { font: inherit; padding: .4rem .9rem; border-radius: 6px; border: 1px solid #d0d7de; background: #f6f8fa;
  color: inherit; cursor: pointer; }
button.primary { background: #1f6feb; border-color: #1f6feb; color: #fff; }
button:focus-visible, .id:focus-visible { outline: 3px solid #54aeff; outline-offset: 1px; }
.inline { display: inline-flex; gap: .4rem; align-items: center; font: 13px system-ui, sans-serif; }
.inline .id { width: auto; display: inline-block; padding: .2rem .45rem; }
.inline button { padding: .2rem .6rem; }
@media (prefers-color-scheme: dark) {
  .dialog { background: #161b22; color: #e6edf3; }
  label { color: #8d96a0; }
  .id, button { background: #0d1117; border-color: #30363d; }
  .status { color: #3fb950; }
}`;

let count = 0;

/** Copies `text`; when the Clipboard API is refused, selects the field so the user can copy it. */
async function copyText(text, field) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) {
    const selection = field.ownerDocument.getSelection();
    const range = field.ownerDocument.createRange();
    range.selectNodeContents(field);
    selection.removeAllRanges();
    selection.addRange(range);
    field.focus();
    return false;
  }
}

function node(tag, attributes = {}, text) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

/** The ID field and its copy button, wired to `recorder` for the copy event. */
function idControls(recorder, id, statusNode) {
  const field = node("code", { class: "id", tabindex: "0" }, id);
  const copy = node("button", { type: "button", class: "primary" }, "Copy debug ID");
  copy.addEventListener("click", async () => {
    const copied = await copyText(id, field);
    statusNode.textContent = copied ? "Copied" : "Selected: press Ctrl+C (⌘C) to copy";
    try {
      recorder.recordUi("ui.debug_id.copy", "debug ID copied", { debug_id: id, clipboard: copied }, id);
    } catch (_) {
      // Recording never gets in the way.
    }
  });
  return { field, copy };
}

/** The ID to show: the one given, else `debugId()`, else the session's. */
function idFor(recorder, given) {
  if (typeof given === "string" && given) return given;
  try {
    return recorder.debugId() || recorder.sessionId() || "";
  } catch (_) {
    return "";
  }
}

/**
 * Opens the error dialog; returns a function that closes it. Escape and Close close it, focus
 * moves into it and returns where it was, Tab stays inside.
 */
export function showErrorDialog(recorder, options = {}) {
  const opts = options && typeof options === "object" ? options : {};
  const title = typeof opts.title === "string" && opts.title ? opts.title : "Something went wrong";
  const message = typeof opts.message === "string" && opts.message
    ? opts.message
    : "Please try again. If it keeps happening, send this debug ID to support.";
  const id = idFor(recorder, opts.debugId);
  const n = ++count;
  const previous = document.activeElement;
  const host = node("threadline-error-dialog");
  const root = host.attachShadow({ mode: "open" });
  const style = node("style");
  style.textContent = STYLE;
  const backdrop = node("div", { class: "backdrop" });
  const dialog = node("div", {
    class: "dialog",
    role: "alertdialog",
    "aria-modal": "true",
    "aria-labelledby": `tl-title-${n}`,
    "aria-describedby": `tl-message-${n}`,
  });
  const status = node("span", { class: "status", role: "status" });
  const { field, copy } = idControls(recorder, id, status);
  const close = node("button", { type: "button" }, "Close");
  const actions = node("div", { class: "actions" });
  actions.append(status, close, copy);
  dialog.append(
    node("h2", { id: `tl-title-${n}` }, title),
    node("p", { id: `tl-message-${n}` }, message),
    node("label", {}, "Debug ID"),
    field,
    actions,
  );
  backdrop.append(dialog);
  root.append(style, backdrop);

  let open = true;
  const dismiss = () => {
    if (!open) return;
    open = false;
    host.remove();
    if (previous && typeof previous.focus === "function") previous.focus();
  };
  close.addEventListener("click", dismiss);
  dialog.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      dismiss();
    } else if (e.key === "Tab") {
      const stops = [field, close, copy];
      const at = stops.indexOf(root.activeElement);
      const next = (at + (e.shiftKey ? stops.length - 1 : 1)) % stops.length;
      e.preventDefault();
      stops[at < 0 ? 0 : next].focus();
    }
  });
  document.body.append(host);
  copy.focus();
  try {
    recorder.recordUi("ui.error_dialog.open", `error dialog shown: ${title}`, { debug_id: id, message }, id);
  } catch (_) {
    // As above.
  }
  return dismiss;
}

/** Renders `<threadline-debug-id>` `element`: the debug ID (or its `debug-id` attribute) and a copy button. */
export function renderDebugId(element, recorder) {
  const id = recorder ? idFor(recorder, element.getAttribute("debug-id")) : element.getAttribute("debug-id") || "";
  const root = element.shadowRoot || element.attachShadow({ mode: "open" });
  const style = node("style");
  style.textContent = STYLE;
  const wrap = node("span", { class: "inline" });
  const status = node("span", { class: "status", role: "status" });
  const { field, copy } = idControls(recorder || { recordUi() {} }, id, status);
  wrap.append(field, copy, status);
  root.replaceChildren(style, wrap);
}
