import { act, fireEvent, render, screen } from '@testing-library/react';
import { SequenceModel } from '../model';
import { SequenceDiagram } from './SequenceDiagram';
import { TransfersTable } from './TransfersTable';

describe('TransfersTable', () => {
  it('names devices and shows each transfer\'s figures', () => {
    render(
      <TransfersTable
        transfers={[
          { id: 't2', from: { id: 'c', name: 'Car' }, to: { id: 'l', name: 'Living Room' }, controller: null, outcome: 'failed', error: 'TIMEOUT', latency_ms: null, gap_ms: null, position_error_ms: null, clock_error_ms: null, gap_within_clock_error: false, start_ns: 2 },
          { id: 't1', from: { id: 'l', name: 'Living Room' }, to: { id: 'c', name: 'Car' }, controller: { id: 'p', name: "Ann's phone" }, outcome: 'ok', error: '', latency_ms: 262, gap_ms: -0.4, position_error_ms: 2, clock_error_ms: 0.8, gap_within_clock_error: true, start_ns: 1 },
        ]}
      />,
    );
    const rows = screen.getAllByRole('row').slice(1);
    expect(rows[0].textContent).toBe('Car → Living Roomfailed———not traced');
    expect(screen.getByText('failed').getAttribute('title')).toBe('TIMEOUT');
    expect(rows[1].textContent).toContain('Living Room → Car');
    expect(rows[1].textContent).toContain('262 ms');
    expect(rows[1].textContent).toContain('overlap 0.4 ms (within ±0.8 ms clock error)');
    expect(screen.getByRole('table', { name: 'Recent transfers, failures first' })).toBeTruthy();
  });
});

describe('SequenceDiagram', () => {
  it('draws an arrow a screen reader can name', () => {
    const model = new SequenceModel();
    model.name('phone', "Ann's phone");
    model.name('kitchen', 'Kitchen');
    model.receive({ seq: 1, kind: 'span', trace_id: 't', span_id: 'a', parent_id: '', name: 'send Command', start_ns: 0, end_ns: 1, device_id: 'phone', peer_device_id: 'kitchen', message_kind: 'Command', transfer_id: '', data: {} }, 0);
    model.receive({ seq: 2, kind: 'span', trace_id: 't', span_id: 'b', parent_id: 'a', name: 'handle Command', start_ns: 2_000_000, end_ns: 3_000_000, device_id: 'kitchen', peer_device_id: '', message_kind: 'Command', transfer_id: '', data: {} }, 0);
    render(<SequenceDiagram model={model} now={0} />);
    expect(screen.getByRole('img', { name: "Command from Ann's phone to Kitchen: 2.0 ms" })).toBeTruthy();
  });

  it('is one tab stop, the newest message, and the arrow keys move between messages', () => {
    const model = new SequenceModel();
    model.name('phone', "Ann's phone");
    model.name('kitchen', 'Kitchen');
    for (const [n, kind] of [[1, 'Command'], [2, 'Pause']] as const) {
      model.receive({ seq: n, kind: 'span', trace_id: `t${n}`, span_id: `s${n}`, parent_id: '', name: `send ${kind}`, start_ns: n * 10_000_000, end_ns: n * 10_000_000 + 1, device_id: 'phone', peer_device_id: 'kitchen', message_kind: kind, transfer_id: '', data: {} }, 0);
    }
    render(<SequenceDiagram model={model} now={0} />);
    const command = screen.getByRole('img', { name: /^Command from/ });
    const pause = screen.getByRole('img', { name: /^Pause from/ });
    expect([command.getAttribute('tabindex'), pause.getAttribute('tabindex')]).toEqual(['-1', '0']);
    const diagram = screen.getByRole('group', { name: /Live sequence diagram/ });
    act(() => pause.focus());
    fireEvent.keyDown(diagram, { key: 'ArrowUp' });
    expect(document.activeElement).toBe(command);
    expect([command.getAttribute('tabindex'), pause.getAttribute('tabindex')]).toEqual(['0', '-1']);
    fireEvent.keyDown(diagram, { key: 'End' });
    expect(document.activeElement).toBe(pause);
  });

  it('is still a tab stop with nothing in it, to be heard', () => {
    render(<SequenceDiagram model={new SequenceModel()} now={0} />);
    expect(screen.getByRole('group', { name: /0 messages/ }).getAttribute('tabindex')).toBe('0');
  });
});
