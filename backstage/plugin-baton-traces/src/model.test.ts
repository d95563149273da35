import { arrowState, SequenceModel, type TraceRecord } from './model';

let seq = 0;
function span(fields: Partial<TraceRecord>): TraceRecord {
  seq += 1;
  return {
    seq,
    kind: 'span',
    trace_id: 't1',
    span_id: `s${seq}`,
    parent_id: '',
    name: 'send Command',
    start_ns: 1_000_000_000 + seq * 1_000_000,
    end_ns: 1_000_000_000 + seq * 1_000_000 + 100,
    device_id: 'phone',
    peer_device_id: '',
    message_kind: 'Command',
    transfer_id: '',
    data: {},
    ...fields,
  };
}

describe('SequenceModel', () => {
  it('pairs a sender with a receiver that arrives first, by name', () => {
    const model = new SequenceModel();
    const send = span({ span_id: 'a', peer_device_id: 'kitchen', data: { resource: { 'baton.device.name': "Ann's phone" } } });
    const handle = span({ span_id: 'b', parent_id: 'a', device_id: 'kitchen', start_ns: send.start_ns + 3_000_000, name: 'handle Command' });
    model.receive(handle, 0);
    model.receive(send, 0);
    const items = model.items();
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ from: 'phone', to: 'kitchen', label: 'Command', latencyMs: 3 });
    expect(model.label('phone')).toBe("Ann's phone");
    expect(model.lifelines).toEqual(['kitchen', 'phone']);
  });

  it('says "not traced" for a peer that never sent a record, "lost?" for a traced one', () => {
    const model = new SequenceModel();
    model.receive(span({ device_id: 'kitchen', peer_device_id: 'ctl-untraced' }), 0);
    model.receive(span({ device_id: 'phone', peer_device_id: 'kitchen' }), 0);
    const [toUntraced, toKitchen] = model.items() as never[];
    expect(arrowState(model, toUntraced, 10_000)).toBe('not traced');
    expect(model.label('ctl-untraced')).toBe('ctl-untraced (not traced)');
    expect(arrowState(model, toKitchen, 1_000)).toBe('…');
    expect(arrowState(model, toKitchen, 10_000)).toBe('lost?');
  });

  it('reports a transfer span, so the transfers list can be refreshed', () => {
    const model = new SequenceModel();
    expect(model.receive(span({ name: 'transfer', transfer_id: 'x', message_kind: '' }), 0)).toBe(true);
    expect(model.receive(span({}), 0)).toBe(false);
  });
});
