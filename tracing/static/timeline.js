// A transfer's timeline: one time axis in ms from the request (the controller's clock, in
// which all of a transfer's timings are measured), its phases as bars, each on a row of its
// own with its name and length in the left margin, and its messages as marks where the
// controller sent or received them. Mark labels are stacked into as many rows as it takes for
// none to overlap another; the axis ticks are spaced for their labels to fit.

import { el, fmtMs, svgEl } from "./api.js";

const WIDTH = 980;
const GUTTER = 190;    // left margin: lane names
const RIGHT = 30;
const BAR = 18;        // bar height
const ROW = 26;
const LABEL_ROW = 15;  // height of one row of mark labels
const PAD = 6;         // least room between two labels

export function drawTimeline(host, detail, label) {
  const { timeline, transfer } = detail;
  host.replaceChildren();
  if (!timeline.traced) {
    host.append(el("p", { class: "hint", text: "No timeline: the controller that ran this "
      + "transfer was not traced, so its phases were not measured." }));
    return;
  }
  const span = Math.max(timeline.length_ms, 1);
  const svg = svgEl("svg", { id: "timeline", width: WIDTH, role: "img" });
  host.append(svg);
  const scale = (WIDTH - GUTTER - RIGHT) / span;
  const x = (t) => GUTTER + Math.max(0, t) * scale;
  let y = 8;
  const texts = [];

  // Phases: one row each, named in the gutter (names never share a row with another label).
  for (const phase of timeline.phases) {
    const g = svgEl("g", { class: `bar phase ${phase.lane}`, "data-phase": phase.name,
                           "data-start-ms": phase.start_ms, "data-end-ms": phase.end_ms }, svg);
    const length = phase.end_ms - phase.start_ms;
    const who = label(phase.device.id, phase.device.name);
    texts.push(fitted(svgEl("text", { x: 4, y: y + 13, class: "lane" }, g),
                      `${phase.name} ${fmtMs(length)} · ${who}`, GUTTER - 10));
    svgEl("rect", { x: x(phase.start_ms), y, width: Math.max(length * scale, 1), height: BAR }, g);
    svgEl("title", {}, g).textContent = `${phase.name}: ${fmtMs(phase.start_ms)} → `
      + `${fmtMs(phase.end_ms)} (${fmtMs(length)}) on ${who}`;
    y += ROW;
  }

  // Messages: a tick on the controller's row; labels packed into rows below it.
  const controller = transfer.controller ? label(transfer.controller.id, transfer.controller.name) : "controller";
  const marks = svgEl("g", { class: "marks" }, svg);
  texts.push(fitted(svgEl("text", { x: 4, y: y + 13, class: "lane" }, marks),
                    `messages · ${controller}`, GUTTER - 10));
  const tickTop = y;
  const rowsEnd = [];  // per label row, the x where its last label ends
  for (const m of timeline.messages) {
    const mx = x(m.at_ms);
    svgEl("line", { class: "tick", x1: mx, x2: mx, y1: tickTop, y2: tickTop + BAR }, marks);
    const arrow = m.direction === "to" ? "→" : "←";
    const text = svgEl("text", { class: "mark", "data-at-ms": m.at_ms }, marks);
    text.textContent = `${m.label.replace(/^Transfer/, "")} ${arrow} ${label(m.peer.id, m.peer.name)}`;
    const width = text.getComputedTextLength();
    // Start at the mark; pull back left if it would run off the right edge.
    const left = Math.min(mx + 2, WIDTH - RIGHT - width);
    let row = rowsEnd.findIndex((end) => left >= end + PAD);
    if (row < 0) { row = rowsEnd.length; rowsEnd.push(0); }
    rowsEnd[row] = left + width;
    text.setAttribute("x", String(left));
    text.setAttribute("y", String(tickTop + BAR + 12 + row * LABEL_ROW));
    svgEl("title", {}, text).textContent = `${m.label} ${m.direction} ${m.peer.name || m.peer.id} `
      + `at ${fmtMs(m.at_ms)}`;
    texts.push(text);
  }
  y = tickTop + BAR + rowsEnd.length * LABEL_ROW + 10;

  // Request and audible instants, across every row.
  for (const [at, name] of [[0, "request"], [timeline.audible_ms, "audible"]]) {
    if (at === null || at === undefined) continue;
    svgEl("line", { class: `instant ${name}`, x1: x(at), x2: x(at), y1: 0, y2: y }, svg);
  }

  // The axis: ticks at a round step, far enough apart for their labels.
  const axis = svgEl("g", { class: "axis" }, svg);
  svgEl("line", { x1: GUTTER, x2: WIDTH - RIGHT, y1: y, y2: y }, axis);
  const step = niceStep(span, (WIDTH - GUTTER - RIGHT) / 70);
  for (let t = 0; t <= span + 1e-9; t += step) {
    svgEl("line", { x1: x(t), x2: x(t), y1: y, y2: y + 5 }, axis);
    const tick = svgEl("text", { x: x(t), y: y + 17, "text-anchor": "middle", "data-ms": t }, axis);
    tick.textContent = `${Number(t.toFixed(3))} ms`;
    texts.push(tick);
  }
  const caption = svgEl("text", { x: 4, y: y + 17, class: "lane" }, axis);
  caption.textContent = "from the request";
  texts.push(caption);
  svg.setAttribute("height", String(y + 28));
  svg.setAttribute("aria-label", describe(timeline, transfer, label));
  host.append(phaseTable(timeline, label));
}

function fitted(text, full, room) {
  // Shorten a margin label to its room (the full text on hover), so it never reaches a bar.
  text.textContent = full;
  if (text.getComputedTextLength() > room) {
    let cut = full.length;
    while (cut > 1 && text.getComputedTextLength() > room) {
      cut -= 1;
      text.textContent = `${full.slice(0, cut)}…`;
    }
    svgEl("title", {}, text).textContent = full;
  }
  return text;
}

export function niceStep(span, most) {
  // The smallest of 1, 2, 5 × 10^k giving at most `most` intervals over `span`.
  const rough = span / Math.max(1, most);
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((f) => f * power).find((s) => s >= rough);
}

function describe(timeline, transfer, label) {
  const parts = timeline.phases.map((p) => `${p.name} ${fmtMs(p.end_ms - p.start_ms)}`);
  return `Timeline of the transfer from ${label(transfer.from.id, transfer.from.name)} to `
    + `${label(transfer.to.id, transfer.to.name)}: ${parts.join(", ")}; `
    + `audible after ${fmtMs(timeline.audible_ms)}`;
}

function phaseTable(timeline, label) {
  // The same phases as a table: for a screen reader, and to copy figures from.
  const rows = timeline.phases.map((p) => el("tr", {},
    el("th", { scope: "row", text: p.name }),
    el("td", { text: label(p.device.id, p.device.name) }),
    el("td", { text: fmtMs(p.start_ms) }),
    el("td", { text: fmtMs(p.end_ms) }),
    el("td", { text: fmtMs(p.end_ms - p.start_ms) })));
  return el("table", { class: "phases" },
    el("caption", { text: "Phases, in ms from the request (the controller's clock)" }),
    el("thead", {}, el("tr", {}, ...["phase", "device", "from", "to", "length"].map(
      (h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows));
}
