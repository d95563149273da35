/**
 * The plugin in Backstage's dev app (the new frontend system's @backstage/frontend-dev-utils),
 * with Backstage's own guest sign-in page, which the dev app leaves out. The backend it talks
 * to (auth and proxy) is `backend.baseUrl` in the config given to `backstage-cli package start`.
 */

import { createDevApp } from '@backstage/frontend-dev-utils';
import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { SignInPageBlueprint } from '@backstage/plugin-app-react';
import plugin from '../src';

const signIn = createFrontendModule({
  pluginId: 'app',
  extensions: [
    // The app's own sign-in page extension, enabled again (the dev app disables it) with the
    // guest provider: the same id, so this module's version replaces it.
    SignInPageBlueprint.make({
      params: {
        loader: async () => {
          const { SignInPage } = await import('@backstage/core-components');
          return props => <SignInPage {...props} providers={['guest']} />;
        },
      },
    }),
  ],
});

createDevApp({ features: [signIn, plugin] });
