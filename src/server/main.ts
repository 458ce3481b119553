/**
 * `npm run serve`: serve the built app and the registry proxy.
 *
 * Environment:
 *   PORT / HOST                 where to listen (default 8080 on 0.0.0.0)
 *   LAYERLAB_DIST               the built app (default ./dist)
 *   LAYERLAB_REGISTRIES         allow-listed registry hosts, comma separated (default: Docker Hub, ghcr.io,
 *                               quay.io, ...; `none` turns the proxy off)
 *   LAYERLAB_REGISTRIES_EXTRA   hosts added to the default list (e.g. `127.0.0.1:5000` for a local registry)
 *   LAYERLAB_REGISTRY_MAX_BYTES largest body forwarded (default 1 GiB)
 *   LAYERLAB_NETWORK_ALLOW      non-public host:port destinations the VM may reach (e.g. 127.0.0.1:8000,
 *                               host.docker.internal:8080); public addresses are always reachable
 *   LAYERLAB_RELAY              `off`: no VM network relay (the guest has no way out)
 *   LAYERLAB_FRAME_ANCESTORS    origins allowed to frame the app pages (embed.html may always be framed)
 */
import path from 'node:path';
import fs from 'node:fs';
import { createLayerlabServer } from './server.ts';
import { registryProxyOptionsFromEnv } from './registry-proxy.ts';
import { createRelayDnsHandler, createRelayUpgradeHandler, relayOptionsFromEnv } from './relay.ts';

const distDir = path.resolve(process.env.LAYERLAB_DIST ?? 'dist');
if (!fs.existsSync(path.join(distDir, 'index.html'))) {
  console.error(`serve: no built app in ${distDir}; run \`npm run build\` first`);
  process.exit(1);
}
const registry = registryProxyOptionsFromEnv();
const relay = relayOptionsFromEnv();
const server = createLayerlabServer({
  distDir,
  registry,
  ...(relay ? { upgradeHandlers: [createRelayUpgradeHandler(relay)], middlewares: [createRelayDnsHandler()] } : {}),
  frameAncestors: process.env.LAYERLAB_FRAME_ANCESTORS?.split(/[\s,]+/).filter(Boolean) ?? [],
});
const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '0.0.0.0';
server.listen(port, host, () => {
  console.log(`serve: http://${host === '0.0.0.0' ? 'localhost' : host}:${port}/`);
  console.log(relay ? `serve: VM network relay at /wisp/ (allowed beyond public addresses: ${process.env.LAYERLAB_NETWORK_ALLOW || 'none'})` : 'serve: VM network relay off');
  console.log(registry ? `serve: registry proxy at /registry/ for ${registry.allowedHosts.join(', ')}` : 'serve: registry proxy off');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => server.close(() => process.exit(0)));
