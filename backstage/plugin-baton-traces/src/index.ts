/**
 * Baton's trace viewer as a Backstage frontend plugin: the live sequence diagram and the
 * transfers list of the signed-in user's devices, read from `baton-traces` through
 * Backstage's proxy with the user's Baton token (docs/backstage.md in Baton's repository).
 */

export { default, batonTracesApi, batonTracesPage } from './plugin';
export { BatonTracesClient, batonTracesApiRef, TOKEN_HEADER } from './api';
export type { BatonTracesApi, Transfer, Device, Viewer } from './api';
