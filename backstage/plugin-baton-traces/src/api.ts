/**
 * The client of `baton-traces` as a Backstage plugin reaches it: through Backstage's proxy
 * (`/api/proxy/baton-traces` by default), with the signed-in user's Backstage token (added
 * by Backstage's fetch API) and the user's own Baton viewer token in `X-Baton-Token`, the
 * header the proxy is configured to let through (docs/backstage.md). The Baton token is kept
 * in Backstage's storage, per Backstage user: each user sees their own devices.
 */

import {
  createApiRef,
  type DiscoveryApi,
  type FetchApi,
  type IdentityApi,
  type StorageApi,
} from '@backstage/frontend-plugin-api';
import { SseParser } from './sse';
import type { TraceRecord } from './model';

export const TOKEN_HEADER = 'X-Baton-Token';
export const DEFAULT_PROXY_PATH = '/baton-traces';
const BUCKET = 'baton-traces';
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 15000;

export type Device = { device_id: string; name: string; type: string };
export type DeviceRef = { id: string; name: string };
export type Transfer = {
  id: string;
  from: DeviceRef;
  to: DeviceRef;
  controller: DeviceRef | null;
  outcome: 'ok' | 'failed' | 'rolled_back' | 'unknown';
  error: string;
  latency_ms: number | null;
  gap_ms: number | null;
  position_error_ms: number | null;
  clock_error_ms: number | null;
  gap_within_clock_error: boolean;
  start_ns: number;
};
export type Viewer = { name: string; admin: boolean };
export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'unauthorised';

/** A Baton token refused by the collector: unknown, replaced, or its user removed. */
export class BatonTokenRefused extends Error {}

export interface BatonTracesApi {
  /** The Baton token kept for the signed-in Backstage user, or undefined. */
  token(): Promise<string | undefined>;
  /** Keeps *token* for the signed-in user once the collector accepts it; returns who it is. */
  saveToken(token: string): Promise<Viewer>;
  forgetToken(): Promise<void>;
  whoami(): Promise<Viewer>;
  devices(): Promise<Device[]>;
  transfers(): Promise<Transfer[]>;
  /** Streams records until *signal* aborts, reconnecting from the last one seen. */
  stream(
    onRecord: (record: TraceRecord) => void,
    onStatus: (status: StreamStatus) => void,
    signal: AbortSignal,
  ): Promise<void>;
}

export const batonTracesApiRef = createApiRef<BatonTracesApi>().with({
  id: 'plugin.baton-traces.api',
  pluginId: 'baton-traces',
});

type Options = {
  discoveryApi: DiscoveryApi;
  fetchApi: FetchApi;
  storageApi: StorageApi;
  identityApi: IdentityApi;
  proxyPath?: string;
};

export class BatonTracesClient implements BatonTracesApi {
  private readonly options: Options;

  constructor(options: Options) {
    this.options = options;
  }

  private async key(): Promise<string> {
    const identity = await this.options.identityApi.getBackstageIdentity();
    return `token:${identity.userEntityRef}`;
  }

  async token(): Promise<string | undefined> {
    const bucket = this.options.storageApi.forBucket(BUCKET);
    const value = bucket.snapshot<string>(await this.key()).value;
    return typeof value === 'string' && value ? value : undefined;
  }

  async saveToken(token: string): Promise<Viewer> {
    const viewer = await this.json<Viewer>('/api/whoami', token.trim());
    await this.options.storageApi.forBucket(BUCKET).set(await this.key(), token.trim());
    return viewer;
  }

  async forgetToken(): Promise<void> {
    await this.options.storageApi.forBucket(BUCKET).remove(await this.key());
  }

  whoami(): Promise<Viewer> {
    return this.json<Viewer>('/api/whoami');
  }

  devices(): Promise<Device[]> {
    return this.json<Device[]>('/api/devices');
  }

  transfers(): Promise<Transfer[]> {
    return this.json<Transfer[]>('/api/transfers');
  }

  async stream(
    onRecord: (record: TraceRecord) => void,
    onStatus: (status: StreamStatus) => void,
    signal: AbortSignal,
  ): Promise<void> {
    let after = 0;
    let wait = RETRY_FIRST_MS;
    while (!signal.aborted) {
      onStatus(after ? 'reconnecting' : 'connecting');
      try {
        const query = after ? `?after=${after}` : '?backlog=200';
        const response = await this.fetch(`/api/stream${query}`, undefined, signal, {
          Accept: 'text/event-stream',
        });
        onStatus('live');
        wait = RETRY_FIRST_MS;
        const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
        const parser = new SseParser();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const event of parser.feed(value)) {
            if (event.event === 'record') {
              const record = JSON.parse(event.data) as TraceRecord;
              after = Math.max(after, record.seq);
              onRecord(record);
            } else if (event.event === 'overflow') {
              break; // fell behind: reconnect, the collector replays from `after`
            }
          }
        }
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof BatonTokenRefused) {
          onStatus('unauthorised');
          return;
        }
      }
      await sleep(wait, signal);
      wait = Math.min(RETRY_MAX_MS, wait * 2);
    }
  }

  private async json<T>(path: string, token?: string): Promise<T> {
    const response = await this.fetch(path, token);
    return (await response.json()) as T;
  }

  private async fetch(
    path: string,
    token?: string,
    signal?: AbortSignal,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const baton = token ?? (await this.token());
    if (!baton) throw new BatonTokenRefused('no Baton token for this user');
    const base = await this.options.discoveryApi.getBaseUrl('proxy');
    const response = await this.options.fetchApi.fetch(
      `${base}${this.options.proxyPath ?? DEFAULT_PROXY_PATH}${path}`,
      { headers: { ...headers, [TOKEN_HEADER]: baton }, signal },
    );
    if (response.status === 401) {
      throw new BatonTokenRefused(await response.text());
    }
    if (!response.ok) {
      throw new Error(`baton-traces ${path}: ${response.status} ${await response.text()}`);
    }
    return response;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
