/**
 * The registry proxy (and any upgrade handlers) inside Vite's dev and preview servers, so `npm start` has
 * the same `/registry/<host>/v2/...` path as `npm run serve`.
 */
import type { Plugin } from 'vite';
import { createRegistryProxy, registryProxyOptionsFromEnv } from './registry-proxy.ts';
import { registryConfigHandler, type RequestHandler, type UpgradeHandler } from './server.ts';
import { createRelayDnsHandler, createRelayUpgradeHandler, relayOptionsFromEnv } from './relay.ts';

export function layerlabServerPlugin(options: { upgradeHandlers?: UpgradeHandler[]; middlewares?: RequestHandler[] } = {}): Plugin {
  const registry = registryProxyOptionsFromEnv();
  // The VM's network relay (src/server/relay.ts), unless LAYERLAB_RELAY=off.
  const relay = relayOptionsFromEnv();
  const install = (server: { middlewares: { use(fn: unknown): void }; httpServer: import('node:http').Server | import('node:http2').Http2SecureServer | null }) => {
    server.middlewares.use(registryConfigHandler(registry));
    if (registry) server.middlewares.use(createRegistryProxy(registry));
    if (relay) server.middlewares.use(createRelayDnsHandler());
    for (const middleware of options.middlewares ?? []) server.middlewares.use(middleware);
    const handlers = [...(relay ? [createRelayUpgradeHandler(relay)] : []), ...(options.upgradeHandlers ?? [])];
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
