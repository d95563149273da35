import { BatonTracesClient, BatonTokenRefused, TOKEN_HEADER } from './api';

function storage() {
  const values = new Map<string, unknown>();
  const bucket = {
    snapshot: (key: string) => ({ key, presence: values.has(key) ? 'present' : 'absent', value: values.get(key) }),
    set: async (key: string, value: unknown) => void values.set(key, value),
    remove: async (key: string) => void values.delete(key),
  };
  return { values, api: { forBucket: () => bucket } as never };
}

function client(answer: (url: string, init: RequestInit) => Response) {
  const calls: { url: string; init: RequestInit }[] = [];
  const store = storage();
  const api = new BatonTracesClient({
    discoveryApi: { getBaseUrl: async (id: string) => `http://backstage:7007/api/${id}` },
    fetchApi: {
      fetch: async (url: string, init: RequestInit) => {
        calls.push({ url, init });
        return answer(url, init);
      },
    } as never,
    storageApi: store.api,
    identityApi: { getBackstageIdentity: async () => ({ type: 'user', userEntityRef: 'user:default/ann', ownershipEntityRefs: [] }) } as never,
  });
  return { api, calls, store };
}

describe('BatonTracesClient', () => {
  it("keeps the user's token once the collector accepts it, and sends it in X-Baton-Token through the proxy", async () => {
    const { api, calls, store } = client(() => new Response(JSON.stringify({ name: 'ann', admin: false })));
    expect(await api.token()).toBeUndefined();
    expect(await api.saveToken(' t-1 ')).toEqual({ name: 'ann', admin: false });
    expect(store.values.get('token:user:default/ann')).toBe('t-1');
    await api.transfers();
    expect(calls.map(c => c.url)).toEqual([
      'http://backstage:7007/api/proxy/baton-traces/api/whoami',
      'http://backstage:7007/api/proxy/baton-traces/api/transfers',
    ]);
    expect((calls[1].init.headers as Record<string, string>)[TOKEN_HEADER]).toBe('t-1');
  });

  it('keeps nothing the collector refuses', async () => {
    const { api, store } = client(() => new Response('unknown token', { status: 401 }));
    await expect(api.saveToken('nope')).rejects.toBeInstanceOf(BatonTokenRefused);
    expect(store.values.size).toBe(0);
  });

  it('streams records and reconnects after the last one it saw', async () => {
    const bodies = [
      'event: record\ndata: {"seq": 4}\n\nevent: record\ndata: {"seq": 5}\n\n',
      'event: record\ndata: {"seq": 6}\n\n',
    ];
    const { api, calls, store } = client(() => new Response(bodies.shift() ?? ''));
    store.values.set('token:user:default/ann', 't-1');
    const abort = new AbortController();
    const seen: number[] = [];
    await api.stream(
      record => {
        seen.push(record.seq);
        if (record.seq === 6) abort.abort();
      },
      () => {},
      abort.signal,
    );
    expect(seen).toEqual([4, 5, 6]);
    expect(calls.map(c => c.url.split('/api/stream')[1])).toEqual(['?backlog=200', '?after=5']);
  });
});
