// A sequence diagram of Connect messages: devices as lifelines (by name), messages as arrows,
// events as notes, gaps in envelope sequence numbers as markers. The live view feeds it the SSE
// stream; a transfer's view feeds it that transfer's records. The span → arrow rule is the one
// documented in tracing/attributes.py and applied to exports by tracing/_export.py.
//
// A group's members (tracing/static/groups.js) stand side by side under one heading, the
// leader marked, each with its latest measured skew; a light band behind their lifelines.
//
// Keyboard: the diagram is one tab stop; ↑/↓ (and Home/End) move between its messages, Enter
// or Space opens the one in focus, as a click does.

import { el, ms, svgEl } from "./api.js";
import { clockText, corrected, shortId } from "./devices.js";
import { skewText } from "./groups.js";

const COLUMN = 180;          // px per lifeline
const ROW = 26;              // px per message row
const MAX_ROWS = 500;        // rows kept on screen; older ones scroll out of memory
const MAX_REMEMBERED = 20000; // spans kept for pairing senders with late receivers
export const LOST_AFTER_MS = 5000;  // a sender span without a receiver this long is "lost"
const LATE_AFTER_MS = 5000;  // a record received this long after it ended is "late"

export class Sequence {
  constructor(devices, { heads, svg, scroller, groups = null, live = false, onSelect = () => {} }) {
    this.devices = devices;
    this.groups = groups;
    this.heads = heads;
    this.svg = svg;
    this.scroller = scroller;
    this.live = live;
    this.onSelect = onSelect;
    this.paused = false;
    this.dirty = false;
    this.focusKey = null;
    this.clear();
    svg.setAttribute("role", "group");
    svg.addEventListener("keydown", (event) => this.key(event));
  }

  clear() {
    this.lifelines = [];      // device ids, in order of appearance
    this.spans = new Map();   // "trace:span" → row
    this.orphans = new Map(); // "trace:parent span" → receiver rows whose sender has not arrived
    this.arrows = new Map();  // "trace:span>device" → arrow
    this.items = [];          // arrows, notes and gaps, in time order
    this.lastSeqByLink = new Map();
    this.lastSeq = 0;
    this.schedule();
  }

  // ---------------------------------------------------------------- records → items

  receive(row) {
    this.lastSeq = Math.max(this.lastSeq, row.seq);
    const res = row.data.resource || {};
    const own = row.data.attributes || {};
    // A second device in one process names itself on its records; else the resource does.
    const named = own["baton.device.id"] === row.device_id ? own : res;
    this.devices.note(row.device_id, { name: named["baton.device.name"],
                                      type: named["baton.device.type"],
                                      offset: res["baton.clock.offset_ms"], traced: true });
    this.lifeline(row.device_id);
    if (this.groups) this.groups.note(row);
    if (row.peer_device_id) {
      this.devices.note(row.peer_device_id);
      this.lifeline(row.peer_device_id);
    }
    const late = (row.received_ns - row.end_ns) / 1e6 > LATE_AFTER_MS;
    if (row.kind === "log") {
      this.items.push({ type: "note", key: row.span_id, time: ms(row.start_ns), row, late });
    } else {
      this.receiveSpan(row, late);
    }
    this.schedule();
  }

  lifeline(id) {
    if (!this.lifelines.includes(id)) this.lifelines.push(id);
  }

  receiveSpan(row, late) {
    const key = `${row.trace_id}:${row.span_id}`;
    this.spans.set(key, row);
    for (const parentKey of remoteParents(row)) {
      const parent = this.spans.get(parentKey);
      if (!parent) {
        // The sender has not arrived yet (another device's batch): pair it when it does.
        const waiting = this.orphans.get(parentKey) || [];
        waiting.push(row);
        this.orphans.set(parentKey, waiting);
      } else if (parent.device_id !== row.device_id) {
        this.complete(parent, row);
      }
    }
    for (const child of this.orphans.get(key) || []) {
      if (child.device_id !== row.device_id) this.complete(row, child);
    }
    this.orphans.delete(key);
    const pendingKey = `${key}>${row.peer_device_id}`;
    if (row.peer_device_id && !this.arrows.has(pendingKey)) {
      this.add(pendingKey, row, row.peer_device_id, late);
    }
    this.prune();
  }

  complete(sender, receiver) {
    // One arrow per (sender span, receiving device).
    const key = `${sender.trace_id}:${sender.span_id}>${receiver.device_id}`;
    const arrow = this.arrows.get(key) || this.add(key, sender, receiver.device_id, false);
    arrow.receiver = receiver;
  }

  add(key, sender, to, late) {
    const arrow = { type: "arrow", key, time: ms(sender.start_ns), sender, receiver: null,
                    from: sender.device_id, to, late,
                    receivedMs: this.live ? Date.now() : -Infinity };
    this.arrows.set(key, arrow);
    this.items.push(arrow);
    this.checkSequence(sender);
    return arrow;
  }

  prune() {
    // Bound memory on a long-running tail: forget the oldest spans (Maps keep insertion order).
    for (const map of [this.spans, this.orphans, this.arrows]) {
      while (map.size > MAX_REMEMBERED) map.delete(map.keys().next().value);
    }
  }

  checkSequence(sender) {
    // Envelope seq numbers count up per sender → receiver link; a jump is a gap (lost or late).
    const seq = sender.envelope_seq;
    if (typeof seq !== "number" || !sender.peer_device_id) return;
    const link = `${sender.device_id}→${sender.peer_device_id}`;
    const last = this.lastSeqByLink.get(link);
    if (last !== undefined && seq > last + 1) {
      const names = `${this.devices.label(sender.device_id)} → ${this.devices.label(sender.peer_device_id)}`;
      this.addGap(sender, `${seq - last - 1} message(s) missing on ${names} (seq ${last + 1}–${seq - 1})`);
    }
    if (last === undefined || seq > last) this.lastSeqByLink.set(link, seq);
  }

  addGap(row, text) {
    // Just before the message that revealed it; a retention reset goes to the end.
    const time = row ? ms(row.start_ns) - 0.001 : Infinity;
    this.items.push({ type: "gap", key: `gap:${this.items.length}`, time, row, text });
    this.schedule();
  }

  // ---------------------------------------------------------------- rendering

  schedule() {
    if (this.dirty) return;
    this.dirty = true;
    requestAnimationFrame(() => this.render());
  }

  render() {
    this.dirty = false;
    const layout = this.groups ? this.groups.layout(this.lifelines)
      : this.lifelines.map((id) => ({ group: null, ids: [id] }));
    const ids = layout.flatMap((part) => part.ids);
    const x = (id) => ids.indexOf(id) * COLUMN + COLUMN / 2;
    this.heads.replaceChildren(...layout.map((part) => (part.group
      ? this.groupHead(part.group, part.ids) : this.head(part.ids[0]))));
    this.items.sort((a, b) => a.time - b.time);
    if (this.items.length > MAX_ROWS) this.items.splice(0, this.items.length - MAX_ROWS);
    const svg = this.svg;
    const height = (this.items.length + 1) * ROW + 10;
    const hadFocus = svg.contains(document.activeElement);
    // Room on the right for the latency notes of arrows that end on the last lifeline.
    svg.setAttribute("width", String(Math.max(ids.length, 1) * COLUMN + COLUMN * 1.5));
    svg.setAttribute("height", String(height));
    svg.replaceChildren();
    // In user units: a head sized by the line's width would triple when an arrow is focused.
    const marker = svgEl("marker", { id: `${svg.id}-head`, markerWidth: 10, markerHeight: 10,
                                     refX: 10, refY: 5, orient: "auto",
                                     markerUnits: "userSpaceOnUse" }, svgEl("defs", {}, svg));
    svgEl("path", { d: "M0,0 L10,5 L0,10 z", fill: "#1b5fb3" }, marker);
    for (const part of layout) {
      if (!part.group) continue;
      svgEl("rect", { class: "group-band", "data-group": part.group.id, y: 0, height,
                      x: ids.indexOf(part.ids[0]) * COLUMN + 2, width: part.ids.length * COLUMN - 4 }, svg);
    }
    for (const id of ids) {
      svgEl("line", { class: "lifeline", x1: x(id), x2: x(id), y1: 0, y2: height }, svg);
    }
    this.nodes = this.items.map((item, i) => {
      const y = (i + 1) * ROW;
      const g = item.type === "arrow" ? this.drawArrow(item, x, y)
        : item.type === "note" ? this.drawNote(item, x, y) : this.drawGap(item, ids.length, y);
      g.dataset.key = item.key;
      g.setAttribute("tabindex", "-1");
      g.addEventListener("click", () => { this.focusKey = item.key; this.onSelect(item); });
      return g;
    });
    // One tab stop: the item last in focus, else the newest.
    const current = this.nodes.find((g) => g.dataset.key === this.focusKey)
      || this.nodes[this.nodes.length - 1];
    if (current) {
      current.setAttribute("tabindex", "0");
      svg.removeAttribute("tabindex");
    } else {
      svg.setAttribute("tabindex", "0");  // empty: still reachable, to hear its label
    }
    if (hadFocus && current) current.focus({ preventScroll: true });
    const grouped = layout.filter((part) => part.group).length;
    svg.setAttribute("aria-label", `Sequence diagram: ${ids.length} devices`
      + (grouped ? ` (${grouped} group${grouped > 1 ? "s" : ""})` : "")
      + `, ${this.items.length} messages and events`);
    if (this.live && !this.paused && !hadFocus) {
      this.scroller.scrollTop = this.scroller.scrollHeight;  // follow the live tail
    }
    this.scroller.dataset.rows = String(this.items.length);
  }

  groupHead(group, ids) {
    // One heading over the group's lifelines; a screen reader hears it as a labelled group.
    const leader = group.leader ? this.devices.label(group.leader) : "unknown";
    const title = `group ${shortId(group.id)}${group.epoch >= 0 ? ` · epoch ${group.epoch}` : ""}`;
    return el("div", { class: "group-heads", role: "group", "data-group": group.id,
                       "aria-label": `Group ${shortId(group.id)}: ${ids.length} members, led by ${leader}` },
      el("div", { class: "group-title", text: title, title: `group ${group.id}` }),
      el("div", { class: "group-members" }, ...ids.map((id) => this.head(id, group))));
  }

  head(id, group = null) {
    const d = this.devices.get(id) || { id, name: "", type: "", offset: null, clock: null };
    const leads = group !== null && group.leader === id;
    const head = el("div", { class: `lifeline-head${d.traced ? "" : " untraced"}${leads ? " leader" : ""}`,
                             "data-device": id, title: id });
    head.append(
      el("div", { class: "name" }, leads ? el("span", { "aria-hidden": "true", text: "★ " }) : null,
         this.devices.label(id)),
      el("div", { class: "type", text: `${d.type || "device"} · ${shortId(id)}` }),
      el("div", { class: "offset", text: clockText(d) }),
    );
    if (group) {
      head.append(el("div", { class: "skew", text: this.groups.memberText(group, id),
                              title: this.groups.skewTitle(group, id) }));
    }
    const reference = d.clock && this.devices.get(d.clock.reference);
    if (reference && reference.id !== id) {
      head.querySelector(".offset").title = `against ${this.devices.label(reference.id)}'s clock, `
        + "measured by the collector from messages both ways";
    }
    return head;
  }

  latencyOf(arrow) {
    return arrow.receiver ? (arrow.receiver.start_ns - arrow.sender.start_ns) / 1e6 : null;
  }

  drawArrow(arrow, x, y) {
    const latency = this.latencyOf(arrow);
    const fixed = corrected(this.devices, arrow.from, arrow.to, latency);
    const untraced = !arrow.receiver && !this.devices.traced(arrow.to);
    const lost = !arrow.receiver && !untraced && Date.now() - arrow.receivedMs > LOST_AFTER_MS;
    const cls = ["arrow", arrow.receiver ? "done" : untraced ? "untraced" : lost ? "lost" : "pending"];
    // Backwards: the message arrived before it was sent, even after the measured offsets (and
    // their uncertainty) are taken out; or, unmeasured, on the raw clocks.
    const backwards = fixed ? fixed.state === "backwards" : latency !== null && latency < 0;
    if (backwards) cls.push("skewed");
    if (fixed && fixed.state === "uncertain") cls.push("uncertain");
    const g = svgEl("g", { class: cls.join(" "), "data-from": arrow.from, "data-to": arrow.to,
                           role: "button" }, this.svg);
    if (latency !== null) g.dataset.latency = latency.toFixed(3);
    if (fixed) g.dataset.corrected = fixed.ms.toFixed(3);
    const x1 = x(arrow.from), x2 = x(arrow.to);
    svgEl("line", { class: "hit", x1, x2, y1: y, y2: y }, g);
    svgEl("line", { x1, x2: x2 + (x2 > x1 ? -2 : 2), y1: y, y2: y,
                    "marker-end": `url(#${this.svg.id}-head)` }, g);
    const kind = arrow.sender.message_kind || arrow.sender.name;
    svgEl("text", { x: (x1 + x2) / 2, y: y - 4, "text-anchor": "middle" }, g).textContent = kind;
    const note = latencyText(latency, fixed, { lost, untraced, backwards }) + (arrow.late ? " late" : "");
    svgEl("text", { class: "latency", x: Math.max(x1, x2) + 6, y: y + 4 }, g).textContent = note;
    const from = this.devices.label(arrow.from), to = this.devices.label(arrow.to);
    g.setAttribute("aria-label", `${kind} from ${from} to ${to}: ${note}`);
    return g;
  }

  drawNote(item, x, y) {
    const g = svgEl("g", { class: "note", role: "button" }, this.svg);
    const cx = x(item.row.device_id);
    svgEl("rect", { x: cx - 70, y: y - 14, width: 140, height: 18, rx: 3 }, g);
    const text = noteText(item.row) + (item.late ? " (late)" : "");
    svgEl("text", { x: cx, y: y - 1, "text-anchor": "middle" }, g).textContent = text;
    g.setAttribute("aria-label", `${text} on ${this.devices.label(item.row.device_id)}`);
    return g;
  }

  drawGap(item, columns, y) {
    const g = svgEl("g", { class: "gap", role: "button", "aria-label": item.text }, this.svg);
    svgEl("line", { x1: 0, x2: Math.max(columns, 1) * COLUMN, y1: y - 4, y2: y - 4 }, g);
    svgEl("text", { x: 4, y: y + 8 }, g).textContent = item.text;
    return g;
  }

  key(event) {
    const nodes = this.nodes || [];
    if (!nodes.length) return;
    const at = nodes.indexOf(document.activeElement);
    let next = null;
    if (event.key === "ArrowDown") next = Math.min(nodes.length - 1, at + 1);
    else if (event.key === "ArrowUp") next = Math.max(0, at < 0 ? nodes.length - 1 : at - 1);
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = nodes.length - 1;
    else if ((event.key === "Enter" || event.key === " ") && at >= 0) {
      event.preventDefault();
      nodes[at].dispatchEvent(new MouseEvent("click"));
      return;
    } else return;
    event.preventDefault();
    for (const node of nodes) node.setAttribute("tabindex", "-1");
    nodes[next].setAttribute("tabindex", "0");
    nodes[next].focus();
    this.focusKey = nodes[next].dataset.key;
  }
}

export function latencyText(latency, fixed, { lost = false, untraced = false, backwards = false } = {}) {
  if (latency === null) return untraced ? "not traced" : lost ? "lost?" : "…";
  if (fixed && fixed.state === "uncertain") {
    return `${fixed.ms.toFixed(1)} ms ±${fixed.within.toFixed(1)} `
      + `(within clock uncertainty; raw ${latency.toFixed(1)})`;
  }
  if (fixed) {
    return `${fixed.ms.toFixed(1)} ms (raw ${latency.toFixed(1)})`
      + (backwards ? " backwards after clock correction" : "");
  }
  return `${latency.toFixed(1)} ms${backwards ? " (clock skew?)" : ""}`;
}

function noteText(row) {
  // An event's name; a group member's skew report says the skew itself.
  const us = (row.data.attributes || {})["baton.group.skew_us"];
  if (row.name === "baton.group.skew" && typeof us === "number") return `group skew ${skewText(us)}`;
  return row.name;
}

function remoteParents(row) {
  // The spans this one may answer: its parent, and any span it links to (fan-out).
  const keys = row.parent_id ? [`${row.trace_id}:${row.parent_id}`] : [];
  for (const link of row.data.links || []) keys.push(`${link.trace_id}:${link.span_id}`);
  return keys;
}
