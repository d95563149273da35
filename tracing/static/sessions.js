// Sessions: the recent ones, and one session's commands, state changes and transfer messages,
// each with the revision it produced.

import { $, api, el, fmtTime } from "./api.js";
import { names } from "./transfers.js";

export async function showSessions(devices) {
  const [groups] = await Promise.all([api("/api/sessions"), devices.refresh().catch(() => {})]);
  const label = names(devices);
  $("sessions-body").replaceChildren(...groups.map((g) => el("tr", {},
    el("td", {}, el("a", { href: `#session/${encodeURIComponent(g.id)}`, text: g.id })),
    el("td", { text: g.devices.split(",").filter(Boolean).map((id) => label(id)).join(", ") }),
    el("td", { class: "num", text: String(g.count) }),
    el("td", { text: fmtTime(g.end_ns) }))));
  $("sessions-empty").hidden = groups.length > 0;
}

export async function showSession(devices, id) {
  const body = await api(`/api/sessions/${encodeURIComponent(id)}`);
  for (const [device, name] of Object.entries(body.names)) devices.note(device, { name, traced: true });
  const label = names(devices);
  $("session-title").textContent = `Session ${id}`;
  $("session-body").replaceChildren(...body.entries.map((e) => el("tr", { class: `entry-${e.kind}` },
    el("td", { text: fmtTime(e.time_ns) }),
    el("td", { text: label(e.device.id, e.device.name), title: e.device.id }),
    el("td", { text: what(e, label) }),
    el("td", { class: "num", text: e.revision === null || e.revision === undefined ? "—" : String(e.revision) }),
    el("td", { text: e.error || (e.kind === "command" ? "ok" : "") }))));
}

function what(entry, label) {
  if (entry.kind === "command") {
    const to = entry.peer || entry.handled_by;
    return `${entry.text} → ${to ? label(to.id, to.name) : "?"}`;
  }
  if (entry.kind === "message") return `${entry.text} → ${label(entry.peer.id, entry.peer.name)}`;
  return entry.text;
}
