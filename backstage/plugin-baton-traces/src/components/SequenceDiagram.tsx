import { useState, type KeyboardEvent } from 'react';
import { arrowState, type Arrow, type Note, type SequenceModel } from '../model';

const COLUMN = 200;
const ROW = 24;
const HEAD = 44;
const NAME_CHARS = 32; // a lifeline's name longer than its column is cut (in full on hover)

// Focus is drawn as in baton-traces' own viewer (tracing/static/viewer.css).
const FOCUS_STYLE =
  '.baton-sequence g:focus { outline: none; } .baton-sequence g:focus text { font-weight: bold; } ' +
  '.baton-sequence g:focus line { stroke-width: 3; } .baton-sequence g:focus rect { stroke-width: 3; }';

function fit(name: string): string {
  return name.length > NAME_CHARS ? `${name.slice(0, NAME_CHARS - 1)}…` : name;
}

/** The live sequence diagram: one lifeline per device, by name; an arrow per message.
 *
 * Keyboard, as in baton-traces' own viewer: the diagram is one tab stop (the message last in
 * focus, else the newest); ↑/↓, Home and End move between its messages and events. */
export function SequenceDiagram(props: { model: SequenceModel; now: number }) {
  const { model, now } = props;
  const [focusKey, setFocusKey] = useState<string | null>(null);
  const ids = model.lifelines;
  const items = model.items();
  const x = (id: string) => ids.indexOf(id) * COLUMN + COLUMN / 2;
  const width = Math.max(ids.length, 1) * COLUMN + COLUMN;
  const height = HEAD + (items.length + 1) * ROW;
  const keys = items.map(item => item.key);
  const stop = focusKey !== null && keys.includes(focusKey) ? focusKey : keys[keys.length - 1];
  const onKeyDown = (event: KeyboardEvent<SVGSVGElement>) => {
    const nodes = Array.from(event.currentTarget.querySelectorAll<SVGGElement>('g[data-key]'));
    if (!nodes.length) return;
    const at = nodes.indexOf(document.activeElement as SVGGElement);
    let next: number;
    if (event.key === 'ArrowDown') next = Math.min(nodes.length - 1, at + 1);
    else if (event.key === 'ArrowUp') next = Math.max(0, at < 0 ? nodes.length - 1 : at - 1);
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = nodes.length - 1;
    else return;
    event.preventDefault();
    nodes[next].focus();
    setFocusKey(nodes[next].dataset.key ?? null);
  };
  return (
    <svg
      className="baton-sequence"
      role="group"
      aria-label={`Live sequence diagram: ${ids.length} devices, ${items.length} messages and events`}
      width={width}
      height={height}
      style={{ font: '11px sans-serif' }}
      tabIndex={items.length ? undefined : 0}
      onKeyDown={onKeyDown}
    >
      <style>{FOCUS_STYLE}</style>
      <defs>
        <marker id="baton-head" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto">
          <path d="M0,0 L8,4 L0,8 z" fill="#1b5fb3" />
        </marker>
      </defs>
      {ids.map(id => (
        <g key={id} className="lifeline" data-device={id}>
          <title>{`${model.label(id)}: ${id}`}</title>
          <text x={x(id)} y={16} textAnchor="middle" fontWeight="bold">
            {fit(model.label(id))}
          </text>
          <line x1={x(id)} x2={x(id)} y1={HEAD - 20} y2={height} stroke="#bbb" strokeDasharray="4 3" />
        </g>
      ))}
      {items.map((item, i) => {
        const y = HEAD + (i + 1) * ROW;
        const tabIndex = item.key === stop ? 0 : -1;
        return 'to' in item ? (
          <ArrowRow key={item.key} model={model} arrow={item} now={now} x={x} y={y} tabIndex={tabIndex} />
        ) : (
          <NoteRow key={item.key} model={model} note={item} x={x} y={y} tabIndex={tabIndex} />
        );
      })}
    </svg>
  );
}

function ArrowRow(props: {
  model: SequenceModel;
  arrow: Arrow;
  now: number;
  x: (id: string) => number;
  y: number;
  tabIndex: number;
}) {
  const { model, arrow, now, x, y, tabIndex } = props;
  const state = arrowState(model, arrow, now);
  const done = arrow.latencyMs !== null;
  let kind = 'pending';
  if (done) kind = 'done';
  else if (state === 'not traced') kind = 'untraced';
  const x1 = x(arrow.from);
  const x2 = x(arrow.to);
  const label = `${arrow.label} from ${model.label(arrow.from)} to ${model.label(arrow.to)}: ${state}`;
  return (
    <g
      className={`arrow ${kind}`}
      data-from={arrow.from}
      data-to={arrow.to}
      data-label={arrow.label}
      data-key={arrow.key}
      role="img"
      aria-label={label}
      tabIndex={tabIndex}
    >
      <line
        x1={x1}
        x2={x2 + (x2 > x1 ? -2 : 2)}
        y1={y}
        y2={y}
        stroke={done ? '#1b5fb3' : '#999'}
        strokeDasharray={done || state === 'not traced' ? undefined : '5 3'}
        markerEnd="url(#baton-head)"
      />
      <text x={(x1 + x2) / 2} y={y - 4} textAnchor="middle">
        {arrow.label}
      </text>
      <text x={Math.max(x1, x2) + 6} y={y + 4} fill={done ? '#333' : '#777'}>
        {state}
      </text>
    </g>
  );
}

function NoteRow(props: {
  model: SequenceModel;
  note: Note;
  x: (id: string) => number;
  y: number;
  tabIndex: number;
}) {
  const { model, note, x, y, tabIndex } = props;
  const cx = x(note.device);
  return (
    <g
      className="note"
      data-key={note.key}
      role="img"
      aria-label={`${note.label} on ${model.label(note.device)}`}
      tabIndex={tabIndex}
    >
      <rect x={cx - 70} y={y - 14} width={140} height={18} rx={3} fill="#fff8d6" stroke="#d8c27a" />
      <text x={cx} y={y - 1} textAnchor="middle">
        {note.label}
      </text>
    </g>
  );
}
