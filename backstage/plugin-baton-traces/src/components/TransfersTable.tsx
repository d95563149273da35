import type { Transfer } from '../api';

const OUTCOMES: Record<string, string> = {
  ok: 'ok',
  failed: 'failed',
  rolled_back: 'rolled back',
  unknown: 'unknown (controller not traced)',
};

const CELL = { paddingRight: 12 };

function ms(value: number | null, digits = 1): string {
  return value === null ? '—' : `${value.toFixed(digits)} ms`;
}

function gap(t: Transfer): string {
  if (t.gap_ms === null) return '—';
  const text = t.gap_ms < 0 ? `overlap ${ms(-t.gap_ms)}` : ms(t.gap_ms);
  return t.gap_within_clock_error ? `${text} (within ±${ms(t.clock_error_ms)} clock error)` : text;
}

/** Recent transfers as the collector lists them: failures first, devices by name. */
export function TransfersTable(props: { transfers: Transfer[] }) {
  const name = (d: { id: string; name: string } | null) => (d ? d.name || d.id.slice(0, 12) : 'not traced');
  return (
    <table className="baton-transfers" style={{ borderCollapse: 'collapse' }}>
      <caption style={{ textAlign: 'left' }}>Recent transfers, failures first</caption>
      <thead>
        <tr>
          {['From → to', 'Outcome', 'Latency', 'Gap', 'Position error', 'Controller'].map(h => (
            <th key={h} scope="col" style={{ textAlign: 'left', paddingRight: 12 }}>
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.transfers.map(t => (
          <tr key={t.id} data-transfer={t.id} data-outcome={t.outcome}>
            <td style={CELL} title={`transfer ${t.id}`}>{`${name(t.from)} → ${name(t.to)}`}</td>
            <td style={{ ...CELL, color: t.outcome === 'ok' ? undefined : '#b00020' }} title={t.error || undefined}>
              {OUTCOMES[t.outcome] ?? t.outcome}
            </td>
            <td style={CELL}>{ms(t.latency_ms, 0)}</td>
            <td style={CELL}>{gap(t)}</td>
            <td style={CELL}>{ms(t.position_error_ms, 0)}</td>
            <td style={CELL}>{name(t.controller)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
