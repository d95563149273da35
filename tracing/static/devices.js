// What the viewer knows about devices: names (shown everywhere instead of ids), types, clock
// offsets, and whether a device is traced at all. A device is traced once it has sent a record;
// one known only as the peer of messages (a controller run without tracing) is "not traced".

import { api } from "./api.js";

export function shortId(id) {
  return id.length > 16 ? `${id.slice(0, 12)}…` : id;
}

export class Devices {
  constructor() {
    this.map = new Map();   // id → {id, name, type, offset (reported), clock (measured), traced}
    this.listeners = [];
    this.refreshTimer = 0;
  }

  onChange(listener) { this.listeners.push(listener); }

  changed() { for (const listener of this.listeners) listener(); }

  get(id) { return this.map.get(id); }

  note(id, fields = {}) {
    if (!id) return null;
    let device = this.map.get(id);
    const fresh = !device;
    if (fresh) {
      device = { id, name: "", type: "", offset: null, clock: null, traced: false };
      this.map.set(id, device);
    }
    let changed = fresh;
    if (fields.name && fields.name !== device.name) { device.name = fields.name; changed = true; }
    if (fields.type) device.type = fields.type;
    if (typeof fields.offset === "number") device.offset = fields.offset;
    if (fields.clock) device.clock = fields.clock;
    if (fields.traced && !device.traced) { device.traced = true; changed = true; }
    // Known only as a peer so far: the collector may know its name already.
    if (fresh && !fields.name) this.refreshSoon();
    if (changed) this.changed();
    return device;
  }

  label(id) {
    // A device's name; a device that never said it, by its shortened id (the id on hover).
    const device = this.map.get(id);
    if (device && device.name) return device.name;
    return device && !device.traced ? `${shortId(id)} (not traced)` : shortId(id);
  }

  traced(id) { return Boolean(this.map.get(id)?.traced); }

  refreshSoon() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refresh().catch(() => {}), 500);
  }

  async refresh() {
    // The collector measures clock offsets from the messages it pairs (tracing/_clock.py);
    // they sharpen as messages flow, so they are re-read now and then.
    const devices = await api("/api/devices");
    for (const d of devices) {
      this.note(d.device_id, { name: d.name, type: d.type, offset: d.clock_offset_ms,
                               clock: d.clock, traced: true });
    }
    this.changed();
  }
}

export function clockText(device) {
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
  if (!device.traced) return "not traced";
  return "clock offset unknown";
}

export function corrected(devices, from, to, latency) {
  // Latency with both clocks' measured offsets taken out, how sure that is, and what it says:
  // "backwards" (received before sent, even allowing for the uncertainty), "uncertain" (the
  // corrected value is within the uncertainty: it could as well be 0), or "ok". Null when
  // either clock is unmeasured or they were measured against different references.
  const a = devices.get(from)?.clock, b = devices.get(to)?.clock;
  if (latency === null || !a || !b || a.reference !== b.reference) return null;
  const value = latency - (b.offset_ms - a.offset_ms);
  const within = a.uncertainty_ms + b.uncertainty_ms;
  // Nanosecond times arrive as doubles (beyond 2^53: ±256 ns each), and the estimates are
  // rounded to 1 µs: a latency that differs from the bound by less than that is on it.
  const slack = 0.002;
  const state = value < -within - slack ? "backwards"
    : Math.abs(value) <= within + slack ? "uncertain" : "ok";
  return { ms: value, within, state };
}
