/**
 * The registry proxy (and any upgrade handlers) inside Vite's dev and preview servers, so `npm start` has
 * the same `/registry/<host>/v2/...` path as `npm run serve`.
 */
import type { Plugin } from 'vite';
import { createRegistryProxy, registryProxyOptionsFromEnv } from './registry-proxy.ts';
import { registryConfigHandler, type UpgradeHandler } from './server.ts';

export function layerlabServerPlugin(options: { upgradeHandlers?: UpgradeHandler[] } = {}): Plugin {
  const registry = registryProxyOptionsFromEnv();
  const install = (server: { middlewares: { use(fn: unknown): void }; httpServer: import('node:http').Server | import('node:http2').Http2SecureServer | null }) => {
    server.middlewares.use(registryConfigHandler(registry));
    if (registry) server.middlewares.use(createRegistryProxy(registry));
    const handlers = options.upgradeHandlers ?? [];
    if (handlers.length > 0) {
      // Vite's own HMR socket keeps its upgrade listener; ours take only the requests they claim.
      server.httpServer?.on('upgrade', (req, socket, head) => {
        for (const handler of handlers) if (handler(req, socket, head)) return;
      });
    }
  };
  return {
    name: 'layerlab-server',
    configureServer: install,
    configurePreviewServer: install,
  };
}
