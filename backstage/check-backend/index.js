// A real Backstage backend with only what the baton-traces plugin uses: the guest sign-in
// and the proxy (docs/backstage.md). tests/e2e/backstage/test_plugin.py runs the plugin
// against it when its node_modules are installed (`npm ci` here), as well as against the
// stand-in of tests/e2e/backstage/backend.py.
const { createBackend } = require('@backstage/backend-defaults');

const backend = createBackend();
backend.add(require('@backstage/plugin-auth-backend'));
backend.add(require('@backstage/plugin-auth-backend-module-guest-provider'));
backend.add(require('@backstage/plugin-proxy-backend'));
backend.start();
