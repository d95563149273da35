import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { identityApiRef, useApi } from '@backstage/frontend-plugin-api';
import { batonTracesApiRef, BatonTokenRefused, type StreamStatus, type Transfer, type Viewer } from '../api';
import { SequenceModel } from '../model';
import { SequenceDiagram } from './SequenceDiagram';
import { TransfersTable } from './TransfersTable';

/** The plugin's page: the signed-in user's Baton token once, then their devices, live. */
export function BatonTracesPage() {
  const api = useApi(batonTracesApiRef);
  const identity = useApi(identityApiRef);
  const [user, setUser] = useState('');
  const [viewer, setViewer] = useState<Viewer | null | undefined>(undefined);
  const [problem, setProblem] = useState('');

  useEffect(() => {
    identity.getProfileInfo().then(profile => setUser(profile.displayName ?? ''));
    identity.getBackstageIdentity().then(id => setUser(u => u || id.userEntityRef));
    api
      .token()
      .then(token => (token ? api.whoami() : null))
      .then(setViewer)
      .catch(error => {
        setViewer(null);
        if (!(error instanceof BatonTokenRefused)) setProblem(String(error));
      });
  }, [api, identity]);

  const forget = useCallback(async () => {
    await api.forgetToken();
    setViewer(null);
  }, [api]);

  return (
    <div style={{ padding: 16 }}>
      <p>
        Signed in to Backstage as <strong>{user}</strong>
        {viewer ? (
          <>
            {' '}
            · Baton user <strong>{viewer.name}</strong>{' '}
            <button type="button" onClick={forget}>
              Forget my Baton token
            </button>
          </>
        ) : null}
      </p>
      {problem ? <p role="alert">{problem}</p> : null}
      {viewer === undefined ? <p>Loading…</p> : null}
      {viewer === null ? <TokenForm onSaved={setViewer} /> : null}
      {viewer ? <LiveTraces onUnauthorised={() => setViewer(null)} /> : null}
    </div>
  );
}

function TokenForm(props: { onSaved: (viewer: Viewer) => void }) {
  const api = useApi(batonTracesApiRef);
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      props.onSaved(await api.saveToken(token));
    } catch (e) {
      setError(e instanceof BatonTokenRefused ? 'The collector does not know that token.' : String(e));
    }
  };
  return (
    <form onSubmit={submit} aria-labelledby="baton-token-title">
      <h2 id="baton-token-title">Connect your Baton devices</h2>
      <p>
        Paste your Baton viewer token (<code>baton-traces user add NAME</code> prints it). It is
        kept for your Backstage user only.
      </p>
      <label>
        Baton token{' '}
        <input type="password" value={token} onChange={e => setToken(e.target.value)} required />
      </label>{' '}
      <button type="submit">Connect</button>
      {error ? <p role="alert">{error}</p> : null}
    </form>
  );
}

const STATUS_TEXT: Record<StreamStatus, string> = {
  connecting: 'Connecting to baton-traces…',
  live: 'Live: new messages appear as they arrive',
  reconnecting: 'Connection lost: reconnecting…',
  unauthorised: 'Your Baton token was refused',
};

function LiveTraces(props: { onUnauthorised: () => void }) {
  const api = useApi(batonTracesApiRef);
  const model = useRef(new SequenceModel());
  const [status, setStatus] = useState<StreamStatus>('connecting');
  const [transfers, setTransfers] = useState<Transfer[]>([]);
  const [, setFrame] = useState(0);
  const { onUnauthorised } = props;

  const loadTransfers = useCallback(() => {
    api.transfers().then(setTransfers, () => {});
  }, [api]);

  useEffect(() => {
    const abort = new AbortController();
    let pending = 0;
    const redraw = () => {
      if (!pending) pending = window.requestAnimationFrame(() => {
        pending = 0;
        setFrame(n => n + 1);
      });
    };
    const names = () =>
      api.devices().then(list => {
        for (const d of list) model.current.name(d.device_id, d.name);
        redraw();
      }, () => {});
    names();
    loadTransfers();
    let transferTimer = 0;
    api.stream(
      record => {
        const fresh = !model.current.lifelines.includes(record.peer_device_id || record.device_id);
        if (model.current.receive(record)) {
          // A transfer finished: its line in the list (after its devices' halves arrive).
          window.clearTimeout(transferTimer);
          transferTimer = window.setTimeout(loadTransfers, 300);
        }
        if (fresh) names();
        redraw();
      },
      next => {
        setStatus(next);
        if (next === 'unauthorised') onUnauthorised();
      },
      abort.signal,
    );
    const tick = window.setInterval(redraw, 1000); // pending arrows turn "lost?" with time
    return () => {
      abort.abort();
      window.clearInterval(tick);
      window.clearTimeout(transferTimer);
      if (pending) window.cancelAnimationFrame(pending);
    };
  }, [api, loadTransfers, onUnauthorised]);

  return (
    <>
      <p role="status" aria-live="polite" className="baton-status" data-status={status}>
        {STATUS_TEXT[status]}
      </p>
      <section aria-labelledby="baton-transfers-title">
        <h2 id="baton-transfers-title">Transfers</h2>
        <TransfersTable transfers={transfers} />
      </section>
      <section aria-labelledby="baton-live-title">
        <h2 id="baton-live-title">Live</h2>
        <div style={{ overflow: 'auto', maxHeight: '70vh' }}>
          <SequenceDiagram model={model.current} now={Date.now()} />
        </div>
      </section>
    </>
  );
}
