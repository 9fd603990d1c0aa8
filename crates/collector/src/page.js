// The search page: asks for the read token once (the login sets an HttpOnly cookie), searches
// one ID, draws the story as lanes per service on one time axis (spans and requests as bars,
// log lines as marks, errors in red), lists the records with every field and typed attribute,
// and the other errors of the same session. Every text from a record goes in as text, never
// as markup.

const KEY_ATTRIBUTES = ["event.name", "action.name", "http.request.method", "url.full", "http.route",
  "http.response.status_code", "outcome", "duration_ms", "attempt", "exception.type", "job.name"];
const $ = (id) => document.getElementById(id);
const form = $("search");
const input = $("id");
const statusLine = $("status");
const table = $("timeline");
const tbody = table.querySelector("tbody");
const more = $("more");
const login = $("login");
/** @type {{id: string, records: any[], spans: any[], folded: number, next: string | null} | null} */
let story = null;
let pendingId = null;

/**
 * @param {string} tag
 * @param {string} [text]
 * @param {string} [className]
 */
function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** Nanoseconds (a decimal string) as milliseconds since the epoch, to the microsecond. */
const msOf = (nanos) => Number(BigInt(nanos) / 1000n) / 1000;

function timeOf(nanos) {
  const iso = new Date(msOf(nanos)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/** An OTLP typed value as [text, type]: int64 stays exact (its string), bytes say so. */
function typed(value) {
  if (!value || typeof value !== "object") return ["", "empty"];
  if ("stringValue" in value) return [value.stringValue, "string"];
  if ("intValue" in value) return [String(value.intValue), "int"];
  if ("doubleValue" in value) return [String(value.doubleValue), "double"];
  if ("boolValue" in value) return [String(value.boolValue), "bool"];
  if ("bytesValue" in value) return [value.bytesValue, "bytes, base64"];
  if ("arrayValue" in value) {
    return [`[${(value.arrayValue.values || []).map((v) => typed(v)[0]).join(", ")}]`, "array"];
  }
  if ("kvlistValue" in value) {
    return [`{${(value.kvlistValue.values || []).map((kv) => `${kv.key}: ${typed(kv.value)[0]}`).join(", ")}}`, "kvlist"];
  }
  return ["", "empty"];
}

function idLink(label, id) {
  const wrap = el("div", `${label} `);
  const a = el("a", id);
  a.href = `?id=${encodeURIComponent(id)}`;
  a.addEventListener("click", (e) => { e.preventDefault(); search(id); });
  wrap.append(a);
  return wrap;
}

/** A definition list of typed attributes. */
function typedList(attributes) {
  const dl = el("dl", undefined, "typed");
  for (const [key, value] of Object.entries(attributes || {})) {
    const [text, type] = typed(value);
    const dd = el("dd", text);
    dd.append(el("span", type, "type"));
    dl.append(el("dt", key), dd);
  }
  return dl;
}

function fieldList(r) {
  const fields = {
    "time_unix_nano": r.time_unix_nano, "sent time": r.sent_time_unix_nano,
    "observed time": r.observed_time_unix_nano, "severity": `${r.severity_number} ${r.severity_text}`,
    "event name": r.event_name, "scope": `${r.scope} ${r.scope_version}`, "trace id": r.trace_id || "",
    "span id": r.span_id || "", "flags": String(r.flags), "dropped attributes": String(r.dropped_attributes_count),
    "sent by": r.provenance, "duplicates folded": String(r.folded),
  };
  const dl = el("dl", undefined, "typed");
  for (const [key, value] of Object.entries(fields)) dl.append(el("dt", key), el("dd", value));
  return dl;
}

function keyText(r) {
  return KEY_ATTRIBUTES.filter((k) => r.attributes && r.attributes[k] !== undefined)
    .map((k) => `${k}=${typed(r.attributes[k])[0]}`).join("  ");
}

function renderRecords(records) {
  tbody.replaceChildren();
  for (const r of records) {
    const row = el("tr", undefined, `row ${r.provenance}`);
    row.tabIndex = 0;
    row.setAttribute("aria-expanded", "false");
    const time = el("td", timeOf(r.time_unix_nano), "time");
    if (r.time_replaced) time.append(el("span", "received", "flag"));
    row.append(time);
    const where = el("td");
    where.append(el("span", r.provenance, "side"));
    row.append(where, el("td", r.service), el("td", r.level, `level-${r.level}`), el("td", r.message), el("td", keyText(r), "keys"));
    const details = el("tr", undefined, "details");
    details.hidden = true;
    const cell = el("td");
    cell.colSpan = 6;
    const ids = el("div", undefined, "ids");
    if (r.correlation_id) ids.append(idLink("correlation", r.correlation_id));
    if (r.session_id) ids.append(idLink("session", r.session_id));
    if (r.event_id) ids.append(el("div", `event ${r.event_id}`));
    const body = typedList({ body: r.body });
    cell.append(ids, el("h2", "Fields"), fieldList(r), el("h2", "Body"), body,
      el("h2", "Record attributes"), typedList(r.attributes),
      el("h2", "Resource attributes"), typedList(r.resource),
      el("h2", "As JSON"), el("pre", JSON.stringify({ attributes: r.attributes, resource: r.resource }, null, 2)));
    details.append(cell);
    const toggle = () => {
      details.hidden = !details.hidden;
      row.setAttribute("aria-expanded", String(!details.hidden));
    };
    row.addEventListener("click", toggle);
    row.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); } });
    tbody.append(row, details);
  }
  table.hidden = records.length === 0;
}

const isErrorRecord = (r) => r.level === "ERROR" || r.level === "FATAL"
  || Number(typed(r.attributes?.["http.response.status_code"])[0]) >= 500
  || /error/.test(typed(r.attributes?.outcome)[0]);

/** The waterfall: one lane per service and sender, bars for spans, timed requests and actions. */
function renderWaterfall(records, spans) {
  const section = $("waterfall");
  const lanesBox = section.querySelector(".lanes");
  lanesBox.replaceChildren();
  const items = [];
  for (const s of spans) {
    items.push({ lane: [s.service, s.provenance], from: msOf(s.start_time_unix_nano), to: msOf(s.end_time_unix_nano),
      label: `${s.name} (${(msOf(s.end_time_unix_nano) - msOf(s.start_time_unix_nano)).toFixed(0)} ms)`, error: s.status_code === 2, kind: "span" });
  }
  for (const r of records) {
    const at = msOf(r.time_unix_nano);
    const duration = Number(typed(r.attributes?.duration_ms)[0]);
    const event = typed(r.attributes?.["event.name"])[0];
    // A request is stamped when it started, an action when it ended.
    const kind = duration > 0 && event === "http.request" ? "request" : duration > 0 && event === "action.end" ? "action" : "log";
    const from = kind === "action" ? at - duration : at;
    items.push({ lane: [r.service, r.provenance], from, to: kind === "log" ? at : from + duration,
      label: kind === "log" ? r.message : `${r.message} (${duration.toFixed(0)} ms)`, error: isErrorRecord(r), kind });
  }
  section.hidden = items.length === 0;
  if (!items.length) return;
  const start = Math.min(...items.map((i) => i.from));
  const end = Math.max(...items.map((i) => i.to));
  const span = Math.max(end - start, 1);
  section.querySelector(".from").textContent = "0 ms";
  section.querySelector(".to").textContent = `${span.toFixed(0)} ms`;
  const lanes = new Map();
  for (const item of [...items].sort((a, b) => a.from - b.from)) {
    const key = item.lane.join("\u0000");
    if (!lanes.has(key)) {
      const [service, provenance] = item.lane;
      const lane = el("div", undefined, `lane ${provenance}`);
      lane.dataset.service = service;
      const name = el("div", undefined, "name");
      name.append(el("span", provenance, "side"), document.createTextNode(` ${service}`));
      name.title = `${service}, sent by a ${provenance}`;
      const track = el("div", undefined, "track");
      lane.append(name, track);
      lanes.set(key, { lane, track, first: item.from, rowEnds: [] });
    }
    const entry = lanes.get(key);
    const node = el("div", undefined, `item ${item.kind === "log" ? "mark" : "bar"} ${item.kind}${item.error ? " error" : ""}`);
    node.style.left = `${((item.from - start) / span) * 100}%`;
    if (item.kind !== "log") {
      // Bars that overlap in time go on rows of their own, so none hides another.
      let row = entry.rowEnds.findIndex((end) => end <= item.from);
      if (row < 0) row = entry.rowEnds.push(item.to) - 1;
      entry.rowEnds[row] = item.to;
      node.style.width = `${((item.to - item.from) / span) * 100}%`;
      node.style.top = `${0.25 + row * 1.5}rem`;
    }
    node.title = item.label;
    node.setAttribute("role", "img");
    node.setAttribute("aria-label", item.label);
    entry.track.append(node);
  }
  for (const { track, rowEnds } of lanes.values()) {
    track.style.height = `${Math.max(1, rowEnds.length) * 1.5 + 0.5}rem`;
  }
  lanesBox.append(...[...lanes.values()].sort((a, b) => a.first - b.first).map((l) => l.lane));
}

function renderRelated(related) {
  const section = $("related");
  const list = section.querySelector("ul");
  list.replaceChildren();
  for (const e of related || []) {
    const item = el("li", `${timeOf(e.time_unix_nano)} ${e.service} (${e.provenance}): ${e.message} `);
    const a = el("a", e.correlation_id);
    a.href = `?id=${encodeURIComponent(e.correlation_id)}`;
    a.addEventListener("click", (ev) => { ev.preventDefault(); search(e.correlation_id); });
    item.append(a);
    list.append(item);
  }
  section.hidden = !(related && related.length);
}

function render() {
  const { id, records, spans, folded, next } = story;
  renderRecords(records);
  renderWaterfall(records, spans);
  more.hidden = !next;
  const services = new Set([...records, ...spans].map((r) => r.service));
  const parts = [];
  if (records.length || spans.length) {
    parts.push(`${records.length} records and ${spans.length} spans from ${services.size} service${services.size === 1 ? "" : "s"} for ${id}, oldest first. Click a row for all its fields and attributes.`);
    if (folded) parts.push(`${folded} duplicate${folded === 1 ? "" : "s"} folded.`);
    if (next) parts.push("More rows follow: the answer was cut at its size bound.");
  } else {
    parts.push(`Nothing found for ${id}.`);
  }
  statusLine.textContent = parts.join(" ");
}

async function fetchPage(id, cursor) {
  const query = new URLSearchParams({ id });
  if (cursor) query.set("cursor", cursor);
  const response = await fetch(`/api/search?${query}`, { credentials: "same-origin" });
  if (response.status === 401) return null;
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

async function search(id) {
  id = id.trim();
  if (!id) return;
  input.value = id;
  history.replaceState(null, "", `?id=${encodeURIComponent(id)}`);
  statusLine.textContent = "Searching…";
  try {
    const answer = await fetchPage(id);
    if (!answer) {
      pendingId = id;
      showLogin();
      return;
    }
    $("logout").hidden = false;
    story = { id, records: answer.records, spans: answer.spans, folded: answer.folded, next: answer.next };
    renderRelated(answer.related_errors);
    render();
  } catch (e) {
    table.hidden = true;
    statusLine.textContent = `Search failed: ${e.message}`;
  }
}

async function loadMore() {
  if (!story?.next) return;
  const answer = await fetchPage(story.id, story.next);
  if (!answer) return showLogin();
  story.records = [...story.records, ...answer.records].sort((a, b) => (BigInt(a.time_unix_nano) < BigInt(b.time_unix_nano) ? -1 : 1));
  story.spans = [...story.spans, ...answer.spans];
  story.folded += answer.folded;
  story.next = answer.next;
  render();
}

function showLogin() {
  login.hidden = false;
  statusLine.textContent = "Log in with the read token to search.";
  $("token").focus();
}

login.addEventListener("submit", async (e) => {
  e.preventDefault();
  const response = await fetch("/api/login", { method: "POST", body: new URLSearchParams({ token: $("token").value }) });
  if (response.ok) {
    login.hidden = true;
    $("token").value = "";
    $("login-status").textContent = "";
    statusLine.textContent = "Logged in.";
    if (pendingId) search(pendingId);
  } else {
    $("login-status").textContent = response.status === 401 ? "That is not the read token." : `Login failed (${response.status}).`;
  }
});
form.addEventListener("submit", (e) => { e.preventDefault(); search(input.value); });
$("logout").addEventListener("click", async () => {
  await fetch("/api/logout", { method: "POST" });
  $("logout").hidden = true;
  story = null;
  for (const id of ["timeline", "waterfall", "related", "more"]) $(id).hidden = true;
  statusLine.textContent = "Logged out.";
});
more.addEventListener("click", loadMore);
const initial = new URLSearchParams(location.search).get("id");
if (initial) search(initial);
