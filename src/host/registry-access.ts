/**
 * How the app in the browser reaches registries: through the same-origin proxy path the server announces
 * in `registry-config.json` (`npm run serve`, `npm start`). Registries send no CORS headers, so without it
 * (a static deployment) or without the embedding page's consent (an embed) pulls explain why they cannot.
 */
import type { RegistryClientOptions } from '../engine/registry/client.ts';

export const NO_PROXY_REASON =
  'this site serves Layerlab as static files, without its registry proxy, and browsers cannot read registries directly (they send no CORS headers). ' +
  'The images already here (busybox, python:3.11, and what you build or load) still work. To pull, host Layerlab with `npm run serve` (or `npm start` in development): see "Hosting" in the README';

export const EMBED_NO_REGISTRY_REASON =
  'this embedded sandbox has no registry access. The images already here (busybox, python:3.11, and what you build) still work; ' +
  'the page that embeds it can allow pulls with the `registry` attribute (see docs/embed.md)';

/**
 * `https://registry-1.docker.io/v2/…` → `<app>/registry/registry-1.docker.io/v2/…`: the proxy forwards it.
 * Plain-HTTP registries (localhost) map the same way; the proxy knows which hosts are plain HTTP.
 */
export function proxiedFetch(proxyBase: URL, fetchImpl: typeof fetch = fetch): NonNullable<RegistryClientOptions['fetch']> {
  return (url, init) => {
    const target = new URL(url);
    const proxied = new URL(`${proxyBase.pathname.replace(/\/$/, '')}/${target.host}${target.pathname}${target.search}`, proxyBase);
    return fetchImpl(proxied.href, { ...init, credentials: 'omit' });
  };
}

/** Asks the server whether it has the proxy (`appRoot/registry-config.json`); registry options for the engine. */
export async function browserRegistryOptions(options: { appRoot: URL; allowed: boolean; fetchImpl?: typeof fetch }): Promise<RegistryClientOptions> {
  if (!options.allowed) return { unavailableReason: EMBED_NO_REGISTRY_REASON };
  const fetchImpl = options.fetchImpl ?? fetch;
  try {
    const res = await fetchImpl(new URL('registry-config.json', options.appRoot).href, { credentials: 'omit' });
    const type = res.headers.get('content-type') ?? '';
    if (!res.ok || !type.includes('json')) return { unavailableReason: NO_PROXY_REASON };
    const config = (await res.json()) as { proxy?: string | null };
    if (!config.proxy) return { unavailableReason: NO_PROXY_REASON };
    return { fetch: proxiedFetch(new URL(`${config.proxy.replace(/\/$/, '')}/`, options.appRoot), fetchImpl) };
  } catch {
    return { unavailableReason: NO_PROXY_REASON };
  }
}
