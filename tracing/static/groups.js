// Groups (protocol 1.2) as the viewer draws them: a group's members as lifelines side by side
// under one heading, the leader marked, each with its latest measured skew. What a group is
// comes from its steps' roster attributes (the newest epoch wins) and its members' skew events
// (tracing/attributes.py, "groups"), read from the live records and from /api/groups, which
// tells what the collector knew before the page opened (tracing/_groups.py: the same rules).

import { api } from "./api.js";

const SKEW_EVENT = "baton.group.skew";
const LEFT = "LEFT";

export class Groups {
  constructor() {
    this.map = new Map();  // group id → {id, epoch, leader, members: [{id, phase}], skews, last}
    this.listeners = [];
  }

  onChange(listener) { this.listeners.push(listener); }

  changed() { for (const listener of this.listeners) listener(); }

  group(id) {
    let group = this.map.get(id);
    if (!group) {
      // done: device → {epoch, phase} its own latest answer says (tracing/_groups.py's rule)
      group = { id, epoch: -1, leader: "", members: [], skews: new Map(), done: new Map(), last: 0 };
      this.map.set(id, group);
    }
    return group;
  }

  // One stored record (the stream's, a view's): a step with its roster, a leave done, a skew.
  note(row) {
    const attrs = row.data.attributes || {};
    const id = attrs["baton.group.id"];
    if (!id) return;
    const group = this.group(id);
    group.last = Math.max(group.last, row.start_ns);
    let changed;
    if (row.kind === "log" && row.name === SKEW_EVENT) {
      changed = this.skew(group, row.device_id, { us: attrs["baton.group.skew_us"],
        measured: attrs["baton.group.skew_from"] || "", at: row.start_ns });
    } else {
      changed = this.roster(group, attrs["baton.group.epoch"], attrs["baton.group.leader"],
        attrs["baton.group.members"], attrs["baton.group.phases"]);
      // A member's own answer (the sender's half) moves it on: a join done, it plays; a leave
      // done, it has left (until a newer roster says otherwise).
      const phase = { JOIN: "PLAYING", LEAVE: LEFT }[attrs["baton.group.step"]];
      const epoch = attrs["baton.group.epoch"];
      if (row.message_kind === "GroupDone" && row.peer_device_id && phase) {
        group.done.set(row.device_id, { epoch: typeof epoch === "number" ? epoch : group.epoch, phase });
        changed = true;
      }
    }
    if (changed) this.changed();
  }

  roster(group, epoch, leader, members, phases) {
    if (!Array.isArray(members) || typeof epoch !== "number" || epoch < group.epoch) return false;
    const same = epoch === group.epoch && leader === group.leader
      && members.length === group.members.length
      && members.every((m, i) => group.members[i].id === m && group.members[i].phase === (phases?.[i] || ""));
    group.epoch = epoch;
    for (const [device, done] of group.done) if (done.epoch < epoch) group.done.delete(device);
    group.leader = leader || "";
    group.members = members.map((m, i) => ({ id: m, phase: (phases && phases[i]) || "" }));
    return !same;
  }

  skew(group, device, skew) {
    if (typeof skew.us !== "number") return false;
    const old = group.skews.get(device);
    if (old && old.at > skew.at) return false;
    group.skews.set(device, skew);
    // No roster traced at all: the members are who reported a skew (tracing/_groups.py).
    if (group.epoch < 0 && !group.members.some((m) => m.id === device)) {
      group.members.push({ id: device, phase: "" });
    }
    return true;
  }

  async refresh() {
    for (const g of await api("/api/groups")) {
      const group = this.group(g.id);
      group.last = Math.max(group.last, g.last_ns);
      if (g.epoch !== null) {
        this.roster(group, g.epoch, g.leader.id, g.members.map((m) => m.id), g.members.map((m) => m.phase));
      }
      for (const m of g.members) {
        if (m.skew_us !== null) this.skew(group, m.id, { us: m.skew_us, measured: m.skew_measured, at: m.skew_at_ns });
      }
    }
    this.changed();
  }

  // A member's phase: its own answer's, at this roster's epoch or later, else the roster's.
  phaseOf(group, id) {
    const done = group.done.get(id);
    if (done && done.epoch >= group.epoch) return done.phase;
    return group.members.find((m) => m.id === id)?.phase || "";
  }

  // The group a device plays in now (not one it left), the most recently active.
  of(id) {
    let found = null;
    for (const group of this.map.values()) {
      const isMember = group.members.some((m) => m.id === id);
      if (isMember && this.phaseOf(group, id) !== LEFT && (!found || group.last > found.last)) found = group;
    }
    return found;
  }

  // Lifelines in order of appearance, each group's members together (in rank order) where the
  // first of them appeared: [{group, ids}], group null for a device in none.
  layout(ids) {
    const out = [];
    const placed = new Set();
    for (const id of ids) {
      if (placed.has(id)) continue;
      const group = this.of(id);
      if (!group) { out.push({ group: null, ids: [id] }); placed.add(id); continue; }
      const members = group.members.map((m) => m.id)
        .filter((m) => ids.includes(m) && !placed.has(m) && this.of(m) === group);
      for (const m of members) placed.add(m);
      out.push({ group, ids: members });
    }
    return out;
  }

  // What a member's head says: "leader", its phase unless playing, its latest skew.
  memberText(group, id) {
    const phase = this.phaseOf(group, id);
    const words = [];
    if (id === group.leader) words.push("leader");
    if (phase && phase !== "PLAYING") words.push(phase.toLowerCase());
    const skew = group.skews.get(id);
    words.push(skew ? `skew ${skewText(skew.us)}` : "skew not measured yet");
    return words.join(" · ");
  }

  skewTitle(group, id) {
    const skew = group.skews.get(id);
    if (!skew) return "no skew report from this member yet";
    const what = skew.measured === "output" ? "its output (the drift stage's reading)"
      : "its player's clock (the output reports no timing)";
    return `how late ${what} is on the group's timeline (+ late, − early), measured by the member`;
  }
}

export function skewText(us) {
  const sign = us > 0 ? "+" : us < 0 ? "−" : "";
  return `${sign}${Math.abs(Math.round(us))} µs`;
}
