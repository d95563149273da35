// The transfers list (failures first) and one transfer's view: its figures, its timeline on a
// time axis and its sequence diagram.

import { $, api, el, fmtMs, fmtTime } from "./api.js";
import { showDetails } from "./details.js";
import { Sequence } from "./sequence.js";
import { drawTimeline } from "./timeline.js";

const OUTCOMES = { ok: "ok", failed: "failed", rolled_back: "rolled back",
                   unknown: "unknown (controller not traced)" };

export async function showTransfers(devices) {
  const list = await api("/api/transfers");
  const label = names(devices);
  const body = $("transfers-body");
  body.replaceChildren(...list.map((t) => el("tr", { class: `outcome-${t.outcome}` },
    el("td", {}, el("a", { href: `#transfer/${encodeURIComponent(t.id)}`,
                           text: `${label(t.from.id, t.from.name)} → ${label(t.to.id, t.to.name)}`,
                           title: `transfer ${t.id}` })),
    el("td", { class: "outcome", text: OUTCOMES[t.outcome] || t.outcome,
               title: t.error || undefined }),
    el("td", { class: "num", text: fmtMs(t.latency_ms, 0) }),
    el("td", { class: "num", text: gapText(t) }),
    el("td", { class: "num", text: positionText(t) }),
    el("td", { text: t.controller ? label(t.controller.id, t.controller.name) : "not traced" }),
    el("td", { text: fmtTime(t.start_ns) }))));
  $("transfers-empty").hidden = list.length > 0;
}

function gapText(t) {
  if (t.gap_ms === null) return "—";
  const word = t.gap_ms < 0 ? `overlap ${fmtMs(-t.gap_ms)}` : fmtMs(t.gap_ms);
  return t.gap_within_clock_error ? `${word} (within ±${fmtMs(t.clock_error_ms)} clock error)` : word;
}

function positionText(t) {
  if (t.position_error_ms === null) return "—";
  const word = fmtMs(t.position_error_ms, 0);
  return t.position_within_clock_error ? `${word} (within clock error)` : word;
}

export function names(devices) {
  // A device's name as the collector or the stream knows it; its short id otherwise.
  return (id, name) => {
    if (!id) return "?";
    if (name) devices.note(id, { name });
    return devices.label(id);
  };
}

let diagram = null;

export async function showTransfer(devices, id, groups = null) {
  const detail = await api(`/api/transfers/${encodeURIComponent(id)}`);
  for (const [device, name] of Object.entries(detail.names)) devices.note(device, { name, traced: true });
  const t = detail.transfer;
  const label = names(devices);
  $("transfer-title").textContent = `${label(t.from.id, t.from.name)} → ${label(t.to.id, t.to.name)}`;
  $("transfer-title").title = `transfer ${t.id}`;
  const facts = [
    ["outcome", (OUTCOMES[t.outcome] || t.outcome) + (t.error ? ` (${t.error})` : "")],
    ["latency", fmtMs(t.latency_ms, 0)],
    ["gap", gapText(t)],
    ["position error", positionText(t)],
    ["controller", t.controller ? label(t.controller.id, t.controller.name) : "not traced"],
    ["mode", (t.mode || "—") + (t.mode_reason ? ` (${t.mode_reason})` : "")],
    ["transfer id", t.id],
  ];
  $("transfer-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
  const session = $("transfer-session");
  session.hidden = !t.session_id;
  session.href = `#session/${encodeURIComponent(t.session_id)}`;
  drawTimeline($("timeline-host"), detail, label);
  diagram = diagram || new Sequence(devices, {
    heads: $("transfer-heads"), svg: $("transfer-diagram"), scroller: $("transfer-sequence"), groups,
    onSelect: (item) => showDetails(devices, item),
  });
  diagram.clear();
  for (const row of detail.records) diagram.receive(row);
}
