// The details pane: what one message, event or gap was, by device name, with every id and
// attribute below. Opening it moves focus to its title; Escape or × closes it and returns
// focus to where it came from.

import { $ } from "./api.js";
import { corrected } from "./devices.js";

let returnTo = null;

export function showDetails(devices, item) {
  const sender = item.sender || item.row;
  let title, out;
  if (item.type === "gap") {
    title = "Missing messages";
    out = { gap: item.text, revealed_by: sender || null };
  } else if (item.type === "note") {
    title = `${sender.name} on ${devices.label(sender.device_id)}`;
    out = { device: { id: sender.device_id, name: devices.label(sender.device_id) }, event: sender };
  } else {
    const kind = sender.message_kind || sender.name;
    title = `${devices.label(item.from)} → ${devices.label(item.to)}: ${kind}`;
    out = arrowDetails(devices, item);
  }
  $("details-title").textContent = title;
  $("details-body").textContent = JSON.stringify(out, null, 2);
  returnTo = document.activeElement;
  $("details").hidden = false;
  $("details-title").focus();
}

function arrowDetails(devices, arrow) {
  const latency = arrow.receiver ? (arrow.receiver.start_ns - arrow.sender.start_ns) / 1e6 : null;
  const out = {
    from: { id: arrow.from, name: devices.label(arrow.from) },
    to: { id: arrow.to, name: devices.label(arrow.to), traced: devices.traced(arrow.to) },
    latency_ms: latency === null ? null : Number(latency.toFixed(3)),
  };
  if (latency !== null) {
    out.caveat = "receiver start − sender start, read from two clocks: includes their offset";
    const fixed = corrected(devices, arrow.from, arrow.to, latency);
    if (fixed) {
      out.corrected_latency_ms = Number(fixed.ms.toFixed(3));
      out.corrected_within_ms = Number(fixed.within.toFixed(3));
      if (fixed.state === "uncertain") {
        out.note = "the corrected latency is within the clocks' uncertainty: it may be 0";
      }
    }
    const offsets = (id) => {
      const d = devices.get(id);
      return d?.clock ?? (d?.offset === null ? null : { reported_ms: d?.offset });
    };
    out.clock_offsets_ms = { [arrow.from]: offsets(arrow.from), [arrow.to]: offsets(arrow.to) };
  } else if (!devices.traced(arrow.to)) {
    out.note = "the receiver sends no traces (not traced): its half of the message is unknown";
  }
  out.sender = arrow.sender;
  if (arrow.receiver) out.receiver = arrow.receiver;
  return out;
}

export function closeDetails() {
  if ($("details").hidden) return;
  $("details").hidden = true;
  if (returnTo && document.contains(returnTo)) returnTo.focus();
  returnTo = null;
}

$("close-details").addEventListener("click", closeDetails);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") closeDetails();
});
