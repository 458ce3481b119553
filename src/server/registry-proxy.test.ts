import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLayerlabServer } from './server.ts';
import { isPrivateAddress } from './registry-proxy.ts';
import { startRegistry, writeOciLayout, skopeoPush, freePort, type LocalRegistry } from '../../test/registry/local-registry.ts';

let registry: LocalRegistry;
let server: http.Server;
let base: string;
let layout: string;

beforeAll(async () => {
  registry = await startRegistry();
  layout = await mkdtemp(path.join(tmpdir(), 'layerlab-layout-'));
  await writeOciLayout(layout, 'v1', [{ platform: { os: 'linux', architecture: '386' }, layers: [{ files: [{ name: 'hello.txt', data: 'hello' }] }] }], { single: true });
  await skopeoPush(layout, 'v1', `${registry.host}/lab/hello:1`);
  const distDir = await mkdtemp(path.join(tmpdir(), 'layerlab-dist-'));
  server = createLayerlabServer({
    distDir,
    registry: { allowedHosts: [registry.host, 'registry-1.docker.io'], maxBytes: 4096 },
    upgradeHandlers: [
      (req, socket) => {
        if (req.url !== '/relay') return false;
        socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n');
        return true;
      },
    ],
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  base = `http://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await registry?.close();
  await rm(layout, { recursive: true, force: true });
});

describe('registry proxy', () => {
  it('forwards the v2 API of an allow-listed registry', async () => {
    const res = await fetch(`${base}/registry/${registry.host}/v2/lab/hello/manifests/1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toMatch(/^sha256:/);
    const manifest = await res.json();
    expect(manifest.layers).toHaveLength(1);
    const blob = await fetch(`${base}/registry/${registry.host}/v2/lab/hello/blobs/${manifest.layers[0].digest}`);
    expect(blob.status).toBe(200);
    expect(new Uint8Array(await blob.arrayBuffer())[0]).toBe(0x1f);
  });

  it('refuses hosts off the allow-list, other paths and other methods', async () => {
    const other = await fetch(`${base}/registry/example.com/v2/`);
    expect(other.status).toBe(403);
    expect(await other.text()).toContain('allow-list');
    const notApi = await fetch(`${base}/registry/${registry.host}/debug/vars`);
    expect(notApi.status).toBe(403);
    const options = await fetch(`${base}/registry/${registry.host}/v2/`, { method: 'OPTIONS' });
    expect(options.status).toBe(405);
  });

  it('refuses bodies over the size cap', async () => {
    const res = await fetch(`${base}/registry/${registry.host}/v2/lab/hello/blobs/uploads/`, { method: 'POST', body: new Uint8Array(10_000) });
    expect(res.status).toBe(413);
  });

  it('strips cookies from responses', async () => {
    const res = await fetch(`${base}/registry/${registry.host}/v2/`);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  it('tells the app where the proxy is', async () => {
    const res = await fetch(`${base}/registry-config.json`);
    expect(await res.json()).toMatchObject({ proxy: '/registry' });
  });

  it('hands upgrade requests to the registered handlers, 404 to the rest', async () => {
    const statusOf = (url: string) =>
      new Promise<number>((resolve) => {
        const req = http.request(`${base}${url}`, { headers: { connection: 'Upgrade', upgrade: 'test' } });
        req.on('upgrade', (res, socket) => (socket.destroy(), resolve(res.statusCode!)));
        req.on('response', (res) => resolve(res.statusCode!));
        req.end();
      });
    expect(await statusOf('/relay')).toBe(101);
    expect(await statusOf('/elsewhere')).toBe(404);
  });

  it('follows blob redirects itself, re-checking each target', async () => {
    const storage = http.createServer((_req, res) => res.end('blob bytes'));
    const storagePort = await freePort();
    await new Promise<void>((r) => storage.listen(storagePort, '127.0.0.1', r));
    const origin = http.createServer((req, res) => {
      const to = req.url!.includes('allowed') ? `http://127.0.0.1:${storagePort}/data` : req.url!.includes('plain') ? 'http://cdn.example/data' : `https://10.1.2.3/data`;
      res.writeHead(307, { location: to, 'set-cookie': 'tracking=1' });
      res.end();
    });
    const originPort = await freePort();
    await new Promise<void>((r) => origin.listen(originPort, '127.0.0.1', r));
    const proxy = createLayerlabServer({ distDir: layout, registry: { allowedHosts: [`127.0.0.1:${originPort}`, `127.0.0.1:${storagePort}`] } });
    const proxyPort = await freePort();
    await new Promise<void>((r) => proxy.listen(proxyPort, '127.0.0.1', r));
    try {
      const blob = (name: string) => fetch(`http://127.0.0.1:${proxyPort}/registry/127.0.0.1:${originPort}/v2/${name}/blobs/sha256:${'a'.repeat(64)}`);
      const followed = await blob('allowed');
      expect(followed.status).toBe(200);
      expect(await followed.text()).toBe('blob bytes');
      const plain = await blob('plain');
      expect(plain.status).toBe(502);
      expect(await plain.text()).toContain('only https');
      const internal = await blob('internal');
      expect(internal.status).toBe(502);
      expect(await internal.text()).toContain('private address');
    } finally {
      await Promise.all([proxy, origin, storage].map((s) => new Promise((r) => s.close(r))));
    }
  });

  it('knows private addresses', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '192.168.0.1', '172.20.0.1', '169.254.169.254', '::1', 'fd00::1', '::ffff:10.0.0.1', '0.0.0.0']) expect(isPrivateAddress(a), a).toBe(true);
    for (const a of ['8.8.8.8', '104.16.1.1', '2606:4700::1']) expect(isPrivateAddress(a), a).toBe(false);
  });
});
