/**
 * The live sequence diagram's model: records from the collector's stream in, lifelines and
 * arrows out. The same rule as the collector's own viewer (tracing/static/sequence.js) and
 * exports (tracing/_export.py): a span whose parent, or a span it links to, is on another
 * device makes an arrow from that device; a sender span naming a peer whose half has not
 * arrived is pending; a peer that never sent a record is "not traced", not lost.
 */

export type TraceRecord = {
  seq: number;
  kind: 'span' | 'log';
  trace_id: string;
  span_id: string;
  parent_id: string;
  name: string;
  start_ns: number;
  end_ns: number;
  device_id: string;
  peer_device_id: string;
  message_kind: string;
  transfer_id: string;
  data: {
    attributes?: Record<string, unknown>;
    resource?: Record<string, unknown>;
    links?: { trace_id: string; span_id: string }[];
  };
};

export type Arrow = {
  key: string;
  from: string;
  to: string;
  label: string;
  startNs: number;
  latencyMs: number | null;
  seenAt: number;
};

export type Note = { key: string; device: string; label: string; startNs: number };

const MAX_ITEMS = 300; // rows kept on screen
const MAX_SPANS = 20000; // spans kept for pairing senders with late receivers

export class SequenceModel {
  readonly lifelines: string[] = [];
  readonly names = new Map<string, string>();
  readonly traced = new Set<string>();
  lastSeq = 0;
  private spans = new Map<string, TraceRecord>();
  private orphans = new Map<string, TraceRecord[]>();
  private arrows = new Map<string, Arrow>();
  private notes: Note[] = [];

  /** Takes one record of the stream; returns true when it was a transfer's own span. */
  receive(row: TraceRecord, now: number = Date.now()): boolean {
    this.lastSeq = Math.max(this.lastSeq, row.seq);
    this.traced.add(row.device_id);
    const own = row.data.attributes ?? {};
    const named = own['baton.device.id'] === row.device_id ? own : row.data.resource ?? {};
    const name = named['baton.device.name'];
    if (typeof name === 'string' && name) this.names.set(row.device_id, name);
    this.lifeline(row.device_id);
    if (row.peer_device_id) this.lifeline(row.peer_device_id);
    if (row.kind === 'log') {
      this.notes.push({ key: row.span_id, device: row.device_id, label: row.name, startNs: row.start_ns });
      this.notes.splice(0, Math.max(0, this.notes.length - MAX_ITEMS));
      return false;
    }
    this.span(row, now);
    return row.name === 'transfer' && Boolean(row.transfer_id);
  }

  /** Names a device (from the collector's device list). */
  name(id: string, name: string): void {
    if (name) this.names.set(id, name);
    this.traced.add(id);
  }

  label(id: string): string {
    const name = this.names.get(id);
    if (name) return name;
    const short = id.length > 16 ? `${id.slice(0, 12)}…` : id;
    return this.traced.has(id) ? short : `${short} (not traced)`;
  }

  /** The arrows and notes in time order, the newest `MAX_ITEMS`. */
  items(): (Arrow | Note)[] {
    const all: (Arrow | Note)[] = [...this.arrows.values(), ...this.notes];
    all.sort((a, b) => a.startNs - b.startNs);
    return all.slice(-MAX_ITEMS);
  }

  private lifeline(id: string): void {
    if (!this.lifelines.includes(id)) this.lifelines.push(id);
  }

  private span(row: TraceRecord, now: number): void {
    const key = `${row.trace_id}:${row.span_id}`;
    this.spans.set(key, row);
    const parents = row.parent_id ? [`${row.trace_id}:${row.parent_id}`] : [];
    for (const link of row.data.links ?? []) parents.push(`${link.trace_id}:${link.span_id}`);
    for (const parentKey of parents) {
      const parent = this.spans.get(parentKey);
      if (!parent) {
        this.orphans.set(parentKey, [...(this.orphans.get(parentKey) ?? []), row]);
      } else if (parent.device_id !== row.device_id) {
        this.pair(parent, row, now);
      }
    }
    for (const child of this.orphans.get(key) ?? []) {
      if (child.device_id !== row.device_id) this.pair(row, child, now);
    }
    this.orphans.delete(key);
    const pending = `${key}>${row.peer_device_id}`;
    if (row.peer_device_id && !this.arrows.has(pending)) {
      this.arrows.set(pending, this.arrow(pending, row, row.peer_device_id, now));
    }
    for (const map of [this.spans, this.orphans, this.arrows] as Map<string, unknown>[]) {
      while (map.size > MAX_SPANS) map.delete(map.keys().next().value as string);
    }
  }

  private pair(sender: TraceRecord, receiver: TraceRecord, now: number): void {
    const key = `${sender.trace_id}:${sender.span_id}>${receiver.device_id}`;
    const arrow = this.arrows.get(key) ?? this.arrow(key, sender, receiver.device_id, now);
    arrow.latencyMs = (receiver.start_ns - sender.start_ns) / 1e6;
    this.arrows.set(key, arrow);
  }

  private arrow(key: string, sender: TraceRecord, to: string, now: number): Arrow {
    return {
      key,
      from: sender.device_id,
      to,
      label: sender.message_kind || sender.name,
      startNs: sender.start_ns,
      latencyMs: null,
      seenAt: now,
    };
  }
}

export const LOST_AFTER_MS = 5000;

/** What an arrow's note says: its latency, or why it has none. */
export function arrowState(model: SequenceModel, arrow: Arrow, now: number): string {
  if (arrow.latencyMs !== null) return `${arrow.latencyMs.toFixed(1)} ms`;
  if (!model.traced.has(arrow.to)) return 'not traced';
  return now - arrow.seenAt > LOST_AFTER_MS ? 'lost?' : '…';
}
