// Baton trace viewer: a live sequence diagram of Connect messages, fed by the collector's SSE
// stream. Plain ES modules with no build step (see index.html). The span → arrow rule is the one
// documented in tracing/attributes.py and implemented for exports in tracing/_export.py.

const COLUMN = 180;          // px per lifeline
const ROW = 26;              // px per message row
const MAX_ROWS = 500;        // rows kept on screen; older ones scroll out of memory
const MAX_REMEMBERED = 20000; // spans kept for pairing senders with late receivers
const LOST_AFTER_MS = 5000;  // a sender span without a receiver this long after arrival is "lost"
const LATE_AFTER_MS = 5000;  // a record received this long after it ended is "late"
const CLOCKS_EVERY_MS = 5000; // how often the collector's clock-offset estimates are re-read
const SVG = "http://www.w3.org/2000/svg";

const $ = (id) => document.getElementById(id);
// Nanosecond timestamps exceed 2^53; as milliseconds they keep µs precision for ordering.
const ms = (ns) => ns / 1e6;
const state = {
  devices: new Map(),   // device id → {id, name, type, offset (reported), clock (measured)}
  spans: new Map(),     // "trace:span" → row
  orphans: new Map(),   // "trace:parent span" → receiver row whose sender has not arrived
  arrows: new Map(),    // sender key → {sender, receiver, from, to, receivedMs}
  items: [],            // arrows, notes and gaps, in time order
  lastSeqByLink: new Map(), // "from→to" → last envelope seq seen
  lastSeq: 0,
  source: null,
  paused: false,
  dirty: false,
  namesTimer: 0,
};

// ------------------------------------------------------------------ login and start

async function api(path, options) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (response.status === 401) { showLogin(""); throw new Error("unauthorised"); }
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

function showLogin(message) {
  if (state.source) state.source.close();
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await fetch("/api/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: $("token").value.trim() }),
  });
  $("token").value = "";
  if (response.ok) start(); else showLogin("That token is not known to this collector.");
});

$("logout").addEventListener("click", async () => {
  await fetch("/api/logout", { method: "POST" });
  showLogin("");
});

async function start() {
  let me;
  try { me = await api("/api/whoami"); } catch { return; }
  $("login").hidden = true;
  $("app").hidden = false;
  $("who").textContent = me.admin ? `${me.name} (all devices)` : me.name;
  await refreshDevices();
  connect(false);
}

async function refreshDevices() {
  // The collector measures clock offsets from the messages it pairs (tracing/_clock.py);
  // they sharpen as messages flow, so they are re-read now and then.
  if ($("app").hidden) return;
  let devices;
  try { devices = await api("/api/devices"); } catch { return; }  // a login or retry follows
  for (const d of devices) noteDevice(d.device_id, d.name, d.type, d.clock_offset_ms, d.clock);
  scheduleRender();
}
setInterval(refreshDevices, CLOCKS_EVERY_MS);

// ------------------------------------------------------------------ the stream

function filterQuery() {
  const q = new URLSearchParams();
  const fields = { device: "f-device", kind: "f-kind", session: "f-session",
                   transfer: "f-transfer", q: "f-text" };
  for (const [name, id] of Object.entries(fields)) {
    const value = $(id).value.trim();
    if (value) q.set(name, value);
  }
  return q;
}

function connect(resume) {
  if (state.source) state.source.close();
  const q = filterQuery();
  if (resume && state.lastSeq) q.set("after", String(state.lastSeq));
  const source = new EventSource(`/api/stream?${q}`);
  state.source = source;
  source.addEventListener("open", () => setStatus("live"));
  source.addEventListener("error", () => {
    setStatus("reconnecting");
    // The browser retries by itself unless the answer was an error (e.g. 401 after the token
    // was replaced): then check the login and start over.
    if (source.readyState === EventSource.CLOSED && state.source === source) setTimeout(start, 2000);
  });
  source.addEventListener("record", (e) => { receive(JSON.parse(e.data)); });
  source.addEventListener("reset", (e) => addGap(null, `older records deleted (retention) before #${e.data}`));
  source.addEventListener("overflow", () => connect(true));  // fell behind: replay from SQLite
}

function setStatus(text) {
  const el = $("status");
  el.textContent = state.paused ? "paused" : text;
  el.className = `status ${state.paused ? "paused" : text === "live" ? "live" : ""}`;
}

$("pause").addEventListener("click", () => {
  state.paused = !state.paused;
  $("pause").textContent = state.paused ? "Resume" : "Pause";
  // Pausing closes the stream; resuming asks the collector for everything after the last seq.
  if (state.paused) { state.source.close(); setStatus("paused"); } else connect(true);
});

let filterTimer = 0;
for (const id of ["f-device", "f-kind", "f-session", "f-transfer", "f-text"]) {
  $(id).addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => { clearDiagram(); if (!state.paused) connect(false); }, 300);
  });
}

function clearDiagram() {
  for (const key of ["spans", "orphans", "arrows", "lastSeqByLink"]) state[key].clear();
  state.items = [];
  state.lastSeq = 0;
  scheduleRender();
}

// ------------------------------------------------------------------ records → diagram items

function noteDevice(id, name, type, offset, clock) {
  if (!id) return;
  let device = state.devices.get(id);
  if (!device) {
    device = { id, name: "", type: "", offset: null, clock: null };
    state.devices.set(id, device);
    const option = document.createElement("option");
    option.value = id;
    option.textContent = id;
    $("f-device").append(option);
    // Known only as a message's peer so far: the collector may know its name already.
    if (!name) { clearTimeout(state.namesTimer); state.namesTimer = setTimeout(refreshDevices, 500); }
  }
  if (name) device.name = name;
  if (type) device.type = type;
  if (typeof offset === "number") device.offset = offset;
  if (clock) device.clock = clock;
}

function clockText(device) {
  // What a lifeline's head says about its clock: measured, else reported, else unknown.
  const c = device.clock;
  if (c && c.reference === device.id) return "clock reference";
  if (c) {
    const shown = Math.abs(c.offset_ms).toFixed(1);
    const sign = shown === "0.0" ? "" : c.offset_ms > 0 ? "+" : "−";
    return `clock ${sign}${shown} ms ±${c.uncertainty_ms.toFixed(1)}`
      + (c.consistent ? "" : " (inconsistent)");
  }
  if (device.offset !== null) return `clock ${device.offset.toFixed(1)} ms (reported)`;
  return "clock offset unknown";
}

function correctedLatency(arrow, latency) {
  // Latency with both clocks' measured offsets taken out, and how sure that is; null when
  // either clock is unmeasured or they were measured against different references.
  const from = state.devices.get(arrow.from)?.clock, to = state.devices.get(arrow.to)?.clock;
  if (latency === null || !from || !to || from.reference !== to.reference) return null;
  return { ms: latency - (to.offset_ms - from.offset_ms),
           within: from.uncertainty_ms + to.uncertainty_ms };
}

function receive(row) {
  state.lastSeq = Math.max(state.lastSeq, row.seq);
  const res = row.data.resource || {};
  noteDevice(row.device_id, res["baton.device.name"], res["baton.device.type"],
             res["baton.clock.offset_ms"]);
  noteDevice(row.peer_device_id);
  const late = (row.received_ns - row.end_ns) / 1e6 > LATE_AFTER_MS;
  if (row.kind === "log") {
    state.items.push({ type: "note", time: ms(row.start_ns), row, late });
  } else {
    receiveSpan(row, late);
  }
  scheduleRender();
}

function remoteParents(row) {
  // The spans this one may answer: its parent, and any span it links to (fan-out).
  const keys = row.parent_id ? [`${row.trace_id}:${row.parent_id}`] : [];
  for (const link of row.data.links || []) keys.push(`${link.trace_id}:${link.span_id}`);
  return keys;
}

function receiveSpan(row, late) {
  const key = `${row.trace_id}:${row.span_id}`;
  state.spans.set(key, row);
  for (const parentKey of remoteParents(row)) {
    const parent = state.spans.get(parentKey);
    if (!parent) {
      // The sender has not arrived yet (another device's batch): pair it when it does.
      const waiting = state.orphans.get(parentKey) || [];
      waiting.push(row);
      state.orphans.set(parentKey, waiting);
    } else if (parent.device_id !== row.device_id) {
      completeArrow(parent, row);
    }
  }
  for (const child of state.orphans.get(key) || []) {
    if (child.device_id !== row.device_id) completeArrow(row, child);
  }
  state.orphans.delete(key);
  const pendingKey = `${key}>${row.peer_device_id}`;
  if (row.peer_device_id && !state.arrows.has(pendingKey)) {
    const arrow = { type: "arrow", time: ms(row.start_ns), sender: row, receiver: null,
                    from: row.device_id, to: row.peer_device_id, receivedMs: Date.now(), late };
    state.arrows.set(pendingKey, arrow);
    state.items.push(arrow);
    checkSequence(row);
  }
  prune();
}

function completeArrow(sender, receiver) {
  // One arrow per (sender span, receiving device).
  const key = `${sender.trace_id}:${sender.span_id}>${receiver.device_id}`;
  let arrow = state.arrows.get(key);
  if (!arrow) {
    arrow = { type: "arrow", time: ms(sender.start_ns), sender, from: sender.device_id,
              to: receiver.device_id, receivedMs: Date.now(), late: false };
    state.arrows.set(key, arrow);
    state.items.push(arrow);
    checkSequence(sender);
  }
  arrow.receiver = receiver;
}

function prune() {
  // Bound memory on a long-running tail: forget the oldest spans (Maps keep insertion order).
  for (const map of [state.spans, state.orphans, state.arrows]) {
    while (map.size > MAX_REMEMBERED) map.delete(map.keys().next().value);
  }
}

function checkSequence(sender) {
  // Envelope seq numbers count up per sender → receiver link; a jump is a gap (lost or late).
  const seq = sender.envelope_seq;
  if (typeof seq !== "number" || !sender.peer_device_id) return;
  const link = `${sender.device_id}→${sender.peer_device_id}`;
  const last = state.lastSeqByLink.get(link);
  if (last !== undefined && seq > last + 1) {
    addGap(sender, `${seq - last - 1} message(s) missing on ${link} (seq ${last + 1}–${seq - 1})`);
  }
  if (last === undefined || seq > last) state.lastSeqByLink.set(link, seq);
}

function addGap(row, text) {
  // Just before the message that revealed it; a retention reset goes to the end.
  state.items.push({ type: "gap", time: row ? ms(row.start_ns) - 0.001 : Infinity, row, text });
  scheduleRender();
}

// ------------------------------------------------------------------ rendering

function scheduleRender() {
  if (state.dirty) return;
  state.dirty = true;
  requestAnimationFrame(render);
}
setInterval(scheduleRender, 1000);  // pending arrows turn "lost" with time

function svgEl(name, attrs, parent) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (parent) parent.append(el);
  return el;
}

function render() {
  state.dirty = false;
  const ids = [...state.devices.keys()];
  const x = (id) => ids.indexOf(id) * COLUMN + COLUMN / 2;
  const heads = $("lifeline-heads");
  heads.replaceChildren(...ids.map((id) => {
    const d = state.devices.get(id);
    const head = document.createElement("div");
    head.className = "lifeline-head";
    head.dataset.device = id;
    const offset = clockText(d);
    head.innerHTML = "<div class=name></div><div class=type></div><div class=offset></div>";
    head.title = id;  // ids are long (64 hex digits for a receiver): shortened below
    head.querySelector(".name").textContent = d.name || id;
    head.querySelector(".type").textContent = `${d.type || "device"} · ${id.slice(0, 12)}`;
    head.querySelector(".offset").textContent = offset;
    const reference = d.clock && state.devices.get(d.clock.reference);
    if (reference && reference.id !== id) {
      head.querySelector(".offset").title = `against ${reference.name || reference.id}'s clock, `
        + "measured by the collector from messages both ways";
    }
    return head;
  }));

  state.items.sort((a, b) => a.time - b.time);
  if (state.items.length > MAX_ROWS) state.items.splice(0, state.items.length - MAX_ROWS);
  const svg = $("diagram");
  const height = (state.items.length + 1) * ROW + 10;
  // Room on the right for the latency notes of arrows that end on the last lifeline.
  svg.setAttribute("width", String(Math.max(ids.length, 1) * COLUMN + COLUMN));
  svg.setAttribute("height", String(height));
  svg.replaceChildren();
  const defs = svgEl("defs", {}, svg);
  const marker = svgEl("marker", { id: "head", markerWidth: 8, markerHeight: 8, refX: 8, refY: 4,
                                   orient: "auto" }, defs);
  svgEl("path", { d: "M0,0 L8,4 L0,8 z", fill: "#1b5fb3" }, marker);
  for (const id of ids) svgEl("line", { class: "lifeline", x1: x(id), x2: x(id), y1: 0, y2: height }, svg);
  state.items.forEach((item, i) => {
    const y = (i + 1) * ROW;
    if (item.type === "arrow") drawArrow(svg, item, x, y);
    else if (item.type === "note") drawNote(svg, item, x, y);
    else drawGap(svg, item, ids.length, y);
  });
  const view = $("sequence-view");
  if (!state.paused) view.scrollTop = view.scrollHeight;  // follow the live tail
  view.dataset.rows = String(state.items.length);
}

function drawArrow(svg, arrow, x, y) {
  const latency = arrow.receiver ? (arrow.receiver.start_ns - arrow.sender.start_ns) / 1e6 : null;
  const corrected = correctedLatency(arrow, latency);
  const lost = !arrow.receiver && Date.now() - arrow.receivedMs > LOST_AFTER_MS;
  const cls = ["arrow", arrow.receiver ? "done" : lost ? "lost" : "pending"];
  // Backwards: the message arrived before it was sent, even after the measured offsets (and
  // their uncertainty) are taken out; or, unmeasured, on the raw clocks.
  const backwards = corrected ? corrected.ms < -corrected.within : latency !== null && latency < 0;
  if (backwards) cls.push("skewed");
  const g = svgEl("g", { class: cls.join(" "), "data-from": arrow.from, "data-to": arrow.to }, svg);
  if (latency !== null) g.dataset.latency = latency.toFixed(3);
  if (corrected) g.dataset.corrected = corrected.ms.toFixed(3);
  const x1 = x(arrow.from), x2 = x(arrow.to);
  svgEl("line", { class: "hit", x1, x2, y1: y, y2: y }, g);
  svgEl("line", { x1, x2: x2 + (x2 > x1 ? -2 : 2), y1: y, y2: y, "marker-end": "url(#head)" }, g);
  const label = svgEl("text", { x: (x1 + x2) / 2, y: y - 4, "text-anchor": "middle" }, g);
  label.textContent = arrow.sender.message_kind || arrow.sender.name;
  const note = svgEl("text", { class: "latency", x: Math.max(x1, x2) + 6, y: y + 4 }, g);
  let text = lost ? "lost?" : "…";
  if (corrected) {
    text = `${corrected.ms.toFixed(1)} ms (raw ${latency.toFixed(1)})`
      + (backwards ? " backwards after clock correction" : "");
  } else if (latency !== null) {
    text = `${latency.toFixed(1)} ms${backwards ? " (clock skew?)" : ""}`;
  }
  note.textContent = text + (arrow.late ? " late" : "");
  g.addEventListener("click", () => showDetails(arrow, latency));
}

function drawNote(svg, item, x, y) {
  const g = svgEl("g", { class: "note" }, svg);
  const cx = x(item.row.device_id);
  svgEl("rect", { x: cx - 70, y: y - 14, width: 140, height: 18, rx: 3 }, g);
  const text = svgEl("text", { x: cx, y: y - 1, "text-anchor": "middle" }, g);
  text.textContent = item.row.name + (item.late ? " (late)" : "");
  g.addEventListener("click", () => showDetails({ sender: item.row }, null));
}

function drawGap(svg, item, columns, y) {
  const g = svgEl("g", { class: "gap" }, svg);
  svgEl("line", { x1: 0, x2: Math.max(columns, 1) * COLUMN, y1: y - 4, y2: y - 4 }, g);
  svgEl("text", { x: 4, y: y + 8 }, g).textContent = item.text;
}

function showDetails(arrow, latency) {
  const offsets = (id) => {
    const d = state.devices.get(id);
    return d?.clock ?? (d?.offset === null ? null : { reported_ms: d?.offset });
  };
  $("details-title").textContent = arrow.receiver
    ? `${arrow.sender.device_id} → ${arrow.receiver.device_id}: ${arrow.sender.message_kind || arrow.sender.name}`
    : arrow.sender.name;
  const out = { latency_ms: latency === null ? null : Number(latency.toFixed(3)) };
  if (latency !== null) {
    out.caveat = "receiver start − sender start, read from two clocks: includes their offset";
    const corrected = correctedLatency(arrow, latency);
    if (corrected) {
      out.corrected_latency_ms = Number(corrected.ms.toFixed(3));
      out.corrected_within_ms = Number(corrected.within.toFixed(3));
    }
    out.clock_offsets_ms = { [arrow.sender.device_id]: offsets(arrow.sender.device_id),
                             [arrow.receiver.device_id]: offsets(arrow.receiver.device_id) };
  }
  out.sender = arrow.sender;
  if (arrow.receiver) out.receiver = arrow.receiver;
  $("details-body").textContent = JSON.stringify(out, null, 2);
  $("details").hidden = false;
}
$("close-details").addEventListener("click", () => { $("details").hidden = true; });

// ------------------------------------------------------------------ transfer timeline

$("show-sequence").addEventListener("click", () => {
  $("sequence-view").hidden = false;
  $("timeline-view").hidden = true;
});

$("show-timeline").addEventListener("click", async () => {
  const transfer = $("f-transfer").value.trim();
  $("sequence-view").hidden = true;
  $("timeline-view").hidden = false;
  if (!transfer) {
    $("timeline-caption").textContent = "Type a transfer id in the transfer filter first.";
    $("timeline").replaceChildren();
    return;
  }
  drawTimeline(transfer, await api(`/api/search?transfer=${encodeURIComponent(transfer)}&limit=2000`));
});

function drawTimeline(transfer, rows) {
  const svg = $("timeline");
  svg.replaceChildren();
  if (!rows.length) { $("timeline-caption").textContent = `No records for transfer ${transfer}.`; return; }
  const t0 = Math.min(...rows.map((r) => r.start_ns));
  const t1 = Math.max(...rows.map((r) => r.end_ns));
  const devices = [...new Set(rows.map((r) => r.device_id))];
  const width = 1000, left = 200, lane = 30;
  const scale = (width - left - 120) / Math.max(t1 - t0, 1);  // room for the last label
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(devices.length * lane + 20));
  $("timeline-caption").textContent = `Transfer ${transfer}: ${((t1 - t0) / 1e6).toFixed(1)} ms, `
    + "each device on its own clock (offsets in the sequence view's headers).";
  devices.forEach((id, i) => {
    const label = svgEl("text", { x: 4, y: i * lane + 20 }, svg);
    const device = state.devices.get(id);
    label.textContent = device ? `${device.name || id} (${clockText(device)})` : id;
  });
  for (const r of rows) {
    const y = devices.indexOf(r.device_id) * lane + 6;
    const g = svgEl("g", { class: "bar" }, svg);
    const w = Math.max((r.end_ns - r.start_ns) * scale, 2);
    const x0 = left + (r.start_ns - t0) * scale;
    if (r.kind === "log") g.classList.add("event");
    svgEl("rect", { x: x0, y, width: w, height: 18 }, g);
    svgEl("text", { x: x0 + w + 2, y: y + 13 }, g).textContent = r.message_kind || r.name;
    svgEl("title", {}, g).textContent = `${r.name} ${((r.end_ns - r.start_ns) / 1e6).toFixed(2)} ms`;
    g.addEventListener("click", () => showDetails({ sender: r }, null));
  }
}

start();
