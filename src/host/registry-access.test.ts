import { describe, expect, it } from 'vitest';
import { browserRegistryOptions, proxiedFetch, EMBED_NO_REGISTRY_REASON, NO_PROXY_REASON } from './registry-access.ts';

const appRoot = new URL('https://learn.example/layerlab/');

describe('registry access in the browser', () => {
  it('maps registry URLs onto the same-origin proxy path', async () => {
    const seen: string[] = [];
    const fetchImpl = (async (url: string) => (seen.push(url), new Response('{}'))) as unknown as typeof fetch;
    await proxiedFetch(new URL('/registry/', appRoot), fetchImpl)('https://registry-1.docker.io/v2/library/alpine/manifests/3.20?x=1', {});
    await proxiedFetch(new URL('/registry/', appRoot), fetchImpl)('http://127.0.0.1:5000/v2/', {});
    expect(seen).toEqual(['https://learn.example/registry/registry-1.docker.io/v2/library/alpine/manifests/3.20?x=1', 'https://learn.example/registry/127.0.0.1:5000/v2/']);
  });

  it('uses the proxy the server announces; explains when there is none or the embed was not allowed', async () => {
    const json = (body: unknown) => (async () => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } })) as unknown as typeof fetch;
    expect((await browserRegistryOptions({ appRoot, allowed: true, fetchImpl: json({ proxy: '/registry' }) })).fetch).toBeTypeOf('function');
    expect(await browserRegistryOptions({ appRoot, allowed: true, fetchImpl: json({ proxy: null }) })).toEqual({ unavailableReason: NO_PROXY_REASON });
    const spaFallback = (async () => new Response('<!doctype html>', { headers: { 'content-type': 'text/html' } })) as unknown as typeof fetch;
    expect(await browserRegistryOptions({ appRoot, allowed: true, fetchImpl: spaFallback })).toEqual({ unavailableReason: NO_PROXY_REASON });
    const offline = (async () => {
      throw new TypeError('Failed to fetch');
    }) as unknown as typeof fetch;
    expect(await browserRegistryOptions({ appRoot, allowed: true, fetchImpl: offline })).toEqual({ unavailableReason: NO_PROXY_REASON });
    expect(await browserRegistryOptions({ appRoot, allowed: false, fetchImpl: json({ proxy: '/registry' }) })).toEqual({ unavailableReason: EMBED_NO_REGISTRY_REASON });
  });
});
