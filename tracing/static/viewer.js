// Baton trace viewer: the login, the views (live, transfers, one transfer, sessions, one
// session) as addresses (#live, #transfers, #transfer/ID, #sessions, #session/ID: the back
// button and links work), and the live stream feeding the live sequence diagram.
// Plain ES modules with no build step (see index.html).

import { $, Unauthorised, api, el } from "./api.js";
import { closeDetails, showDetails } from "./details.js";
import { Devices, shortId } from "./devices.js";
import { Groups, skewText } from "./groups.js";
import { Sequence } from "./sequence.js";
import { showSession, showSessions } from "./sessions.js";
import { showTransfer, showTransfers } from "./transfers.js";

const CLOCKS_EVERY_MS = 5000; // how often the collector's clock-offset estimates are re-read
const FILTERS = { device: "f-device", kind: "f-kind", session: "f-session",
                  transfer: "f-transfer", q: "f-text" };

const devices = new Devices();
const groups = new Groups();
const live = new Sequence(devices, {
  heads: $("lifeline-heads"), svg: $("diagram"), scroller: $("sequence-view"), groups, live: true,
  onSelect: (item) => showDetails(devices, item),
});
const state = { source: null, started: false };
devices.onChange(() => { live.schedule(); deviceOptions(); });
groups.onChange(() => { live.schedule(); deviceOptions(); });

// ------------------------------------------------------------------ login

function showLogin(message) {
  if (state.source) state.source.close();
  state.started = false;
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  $("token").focus();
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
  try { me = await api("/api/whoami"); } catch { showLogin(""); return; }
  $("login").hidden = true;
  $("app").hidden = false;
  $("who").textContent = me.admin ? `${me.name} (all devices)` : me.name;
  state.started = true;
  await devices.refresh().catch(() => {});
  await groups.refresh().catch(() => {});
  connect(false);
  route();
}

setInterval(() => {
  if (!state.started) return;
  devices.refresh().catch(() => {});
  groups.refresh().catch(() => {});
}, CLOCKS_EVERY_MS);

// ------------------------------------------------------------------ views

const VIEWS = ["live-view", "transfers-view", "transfer-view", "sessions-view", "session-view"];

async function route() {
  if (!state.started) return;
  const [name, ...rest] = location.hash.replace(/^#/, "").split("/");
  const arg = decodeURIComponent(rest.join("/"));
  const view = { transfers: "transfers-view", transfer: "transfer-view", sessions: "sessions-view",
                 session: "session-view" }[name] || "live-view";
  closeDetails();
  for (const id of VIEWS) $(id).hidden = id !== view;
  for (const link of document.querySelectorAll("nav a")) {
    const here = link.dataset.view === view || (link.dataset.view === "transfers-view" && view === "transfer-view")
      || (link.dataset.view === "sessions-view" && view === "session-view");
    if (here) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  try {
    if (view === "transfers-view") await showTransfers(devices);
    else if (view === "transfer-view") await showTransfer(devices, arg, groups);
    else if (view === "sessions-view") await showSessions(devices);
    else if (view === "session-view") await showSession(devices, arg);
    else live.schedule();
    $("view-error").hidden = true;
  } catch (error) {
    if (error instanceof Unauthorised) { showLogin(""); return; }
    $("view-error").textContent = `Could not load this view: ${error.message}`;
    $("view-error").hidden = false;
  }
  const heading = document.querySelector(`#${view} h2`);
  if (heading && document.activeElement !== $("f-device")) heading.focus({ preventScroll: true });
}
window.addEventListener("hashchange", route);

// ------------------------------------------------------------------ the live stream

function filterQuery() {
  const q = new URLSearchParams();
  for (const [name, id] of Object.entries(FILTERS)) {
    const value = $(id).value.trim();
    if (value) q.set(name, value);
  }
  return q;
}

function connect(resume) {
  if (state.source) state.source.close();
  const q = filterQuery();
  if (resume && live.lastSeq) q.set("after", String(live.lastSeq));
  const source = new EventSource(`/api/stream?${q}`);
  state.source = source;
  source.addEventListener("open", () => setStatus("live"));
  source.addEventListener("error", () => {
    setStatus("reconnecting");
    // The browser retries by itself unless the answer was an error (e.g. 401 after the token
    // was replaced): then check the login and start over.
    if (source.readyState === EventSource.CLOSED && state.source === source) setTimeout(start, 2000);
  });
  source.addEventListener("record", (e) => live.receive(JSON.parse(e.data)));
  source.addEventListener("reset", (e) => live.addGap(null, `older records deleted (retention) before #${e.data}`));
  source.addEventListener("overflow", () => connect(true));  // fell behind: replay from SQLite
}

function setStatus(text) {
  const el_ = $("status");
  el_.textContent = live.paused ? "paused" : text;
  el_.className = `status ${live.paused ? "paused" : text === "live" ? "live" : ""}`;
}

$("pause").addEventListener("click", () => {
  live.paused = !live.paused;
  $("pause").textContent = live.paused ? "Resume" : "Pause";
  $("pause").setAttribute("aria-pressed", String(live.paused));
  // Pausing closes the stream; resuming asks the collector for everything after the last seq.
  if (live.paused) { state.source.close(); setStatus("paused"); } else connect(true);
});

let filterTimer = 0;
for (const id of Object.values(FILTERS)) {
  $(id).addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => { live.clear(); if (!live.paused) connect(false); }, 300);
  });
}

function deviceOptions() {
  // The device filter: names, sorted; the id on hover. A group's members are listed under
  // the group (leader first, each with its latest skew). The chosen one stays chosen.
  const select = $("f-device");
  const chosen = select.value;
  const sections = [{ label: "", options: [] }];
  const byGroup = new Map();
  for (const d of devices.map.values()) {
    const group = groups.of(d.id);
    let label = devices.label(d.id);
    let section = sections[0];
    if (group) {
      if (!byGroup.has(group.id)) {
        const leader = group.leader ? devices.label(group.leader) : "unknown";
        byGroup.set(group.id, { label: `group ${shortId(group.id)} (led by ${leader})`, options: [] });
      }
      section = byGroup.get(group.id);
      const skew = group.skews.get(d.id);
      label += (group.leader === d.id ? " (leader)" : "") + (skew ? ` · skew ${skewText(skew.us)}` : "");
    }
    section.options.push({ id: d.id, label, leads: group && group.leader === d.id });
  }
  sections.push(...byGroup.values());
  for (const section of sections) {
    section.options.sort((a, b) => (b.leads - a.leads) || a.label.localeCompare(b.label));
  }
  const signature = JSON.stringify(sections);
  if (select.dataset.signature === signature) return;
  select.dataset.signature = signature;
  const option = (o) => el("option", { value: o.id, text: o.label, title: `${o.label}: ${o.id}` });
  select.replaceChildren(el("option", { value: "", text: "all devices" }),
    ...sections[0].options.map(option),
    ...sections.slice(1).map((s) => el("optgroup", { label: s.label }, ...s.options.map(option))));
  select.value = chosen;
  select.title = chosen ? `${devices.label(chosen)}: ${chosen}` : "all devices";
}
$("f-device").addEventListener("change", () => {
  const id = $("f-device").value;
  $("f-device").title = id ? `${devices.label(id)}: ${shortId(id)}` : "all devices";
});

start();
