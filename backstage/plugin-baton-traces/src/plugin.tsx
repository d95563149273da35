import {
  ApiBlueprint,
  createFrontendPlugin,
  discoveryApiRef,
  fetchApiRef,
  identityApiRef,
  PageBlueprint,
  storageApiRef,
} from '@backstage/frontend-plugin-api';
import { BatonTracesClient, batonTracesApiRef } from './api';

/** The client of baton-traces, through Backstage's proxy. */
export const batonTracesApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: batonTracesApiRef,
      deps: {
        discoveryApi: discoveryApiRef,
        fetchApi: fetchApiRef,
        storageApi: storageApiRef,
        identityApi: identityApiRef,
      },
      factory: deps => new BatonTracesClient(deps),
    }),
});

/** The page at /baton-traces: the live sequence diagram and the transfers list. */
export const batonTracesPage = PageBlueprint.make({
  params: {
    path: '/baton-traces',
    title: 'Baton traces',
    loader: () => import('./components/BatonTracesPage').then(m => <m.BatonTracesPage />),
  },
});

/** Baton's trace viewer for Backstage (the new frontend system). */
export default createFrontendPlugin({
  pluginId: 'baton-traces',
  extensions: [batonTracesApi, batonTracesPage],
});
