import { arrowState, type Arrow, type Note, type SequenceModel } from '../model';

const COLUMN = 200;
const ROW = 24;
const HEAD = 44;
const NAME_CHARS = 32; // a lifeline's name longer than its column is cut (in full on hover)

function fit(name: string): string {
  return name.length > NAME_CHARS ? `${name.slice(0, NAME_CHARS - 1)}…` : name;
}

/** The live sequence diagram: one lifeline per device, by name; an arrow per message. */
export function SequenceDiagram(props: { model: SequenceModel; now: number }) {
  const { model, now } = props;
  const ids = model.lifelines;
  const items = model.items();
  const x = (id: string) => ids.indexOf(id) * COLUMN + COLUMN / 2;
  const width = Math.max(ids.length, 1) * COLUMN + COLUMN;
  const height = HEAD + (items.length + 1) * ROW;
  return (
    <svg
      role="group"
      aria-label={`Live sequence diagram: ${ids.length} devices, ${items.length} messages and events`}
      width={width}
      height={height}
      style={{ font: '11px sans-serif' }}
    >
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
        return 'to' in item ? (
          <ArrowRow key={item.key} model={model} arrow={item} now={now} x={x} y={y} />
        ) : (
          <NoteRow key={item.key} model={model} note={item} x={x} y={y} />
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
}) {
  const { model, arrow, now, x, y } = props;
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
      role="img"
      aria-label={label}
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

function NoteRow(props: { model: SequenceModel; note: Note; x: (id: string) => number; y: number }) {
  const { model, note, x, y } = props;
  const cx = x(note.device);
  return (
    <g className="note" role="img" aria-label={`${note.label} on ${model.label(note.device)}`}>
      <rect x={cx - 70} y={y - 14} width={140} height={18} rx={3} fill="#fff8d6" stroke="#d8c27a" />
      <text x={cx} y={y - 1} textAnchor="middle">
        {note.label}
      </text>
    </g>
  );
}
