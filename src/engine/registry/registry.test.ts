/**
 * The registry client against a real registry: Debian's docker-registry on 127.0.0.1, fixtures pushed with
 * skopeo, results checked with skopeo.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ImageStore } from '../store/image-store.ts';
import { MemoryBackend } from '../store/backend.ts';
import { NodeDirBackend } from '../store/node-dir.ts';
import { RegistryClient, parseChallenge } from './client.ts';
import { PlatformError, RegistryError, RegistryUnavailableError } from './errors.ts';
import { locate } from './location.ts';
import { pullImage, checkPlatform } from './pull.ts';
import { pushImage } from './push.ts';
import type { TransferEvent } from './progress.ts';
import { createTransferRenderer, progressBar } from '../../client/transfer-progress.ts';
import { parseReference } from '../oci/reference.ts';
import { startRegistry, writeOciLayout, skopeoPush, skopeoInspect, freePort, type LocalRegistry } from '../../../test/registry/local-registry.ts';

const nodeFetch = (url: string, init: RequestInit) => fetch(url, init);
let registry: LocalRegistry;
let work: string;

async function memoryStore() {
  return ImageStore.open({ backend: new MemoryBackend() });
}

beforeAll(async () => {
  registry = await startRegistry();
  work = await mkdtemp(path.join(tmpdir(), 'layerlab-registry-test-'));
  // A multi-platform index whose two images differ in one file.
  await writeOciLayout(path.join(work, 'multi'), 'v1', [
    { platform: { os: 'linux', architecture: 'amd64' }, layers: [{ files: [{ name: 'etc/', type: 'directory' }, { name: 'etc/os', data: 'shared base\n' }] }, { files: [{ name: 'arch', data: 'amd64\n' }] }] },
    { platform: { os: 'linux', architecture: '386' }, layers: [{ files: [{ name: 'etc/', type: 'directory' }, { name: 'etc/os', data: 'shared base\n' }] }, { files: [{ name: 'arch', data: '386\n' }] }] },
  ]);
  await skopeoPush(path.join(work, 'multi'), 'v1', `${registry.host}/lab/multi:1`);
  await writeOciLayout(path.join(work, 'amd64'), 'v1', [
    { platform: { os: 'linux', architecture: 'amd64' }, layers: [{ files: [{ name: 'arch', data: 'amd64\n' }] }] },
    { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, layers: [{ files: [{ name: 'arch', data: 'arm64\n' }] }] },
  ]);
  await skopeoPush(path.join(work, 'amd64'), 'v1', `${registry.host}/lab/amd64only:1`);
  await writeOciLayout(path.join(work, 'single-amd64'), 'v1', [{ platform: { os: 'linux', architecture: 'amd64' }, layers: [{ files: [{ name: 'arch', data: 'amd64\n' }] }] }], { single: true });
  await skopeoPush(path.join(work, 'single-amd64'), 'v1', `${registry.host}/lab/single-amd64:1`);
}, 120_000);

afterAll(async () => {
  await registry?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('pull', () => {
  it('resolves a multi-platform index to linux/386, with Docker\'s progress lines', async () => {
    const store = await memoryStore();
    const events: TransferEvent[] = [];
    const client = new RegistryClient({ fetch: nodeFetch });
    const result = await pullImage({ client, store, ref: `${registry.host}/lab/multi:1`, onProgress: (e) => events.push(e) });
    const config = await store.getConfig({ id: result.imageId });
    expect(config.architecture).toBe('386');
    const tar = await store.layerTar({ digest: (await store.resolve({ ref: `${registry.host}/lab/multi:1` })).layers[1] });
    expect(new TextDecoder().decode(tar)).toContain('386\n');
    const inspect = await store.inspect({ ref: `${registry.host}/lab/multi:1` });
    const index = JSON.parse(await skopeoInspect(`${registry.host}/lab/multi:1`, { raw: true }));
    expect(index.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture)).toEqual(['amd64', '386']);
    expect(inspect.RepoDigests).toEqual([`${registry.host}/lab/multi@${result.digest}`]);

    let out = '';
    const render = createTransferRenderer({ write: (t) => (out += t), tty: false });
    events.forEach(render);
    expect(out).toMatch(/^1: Pulling from lab\/multi\n/);
    expect(out).toMatch(/[0-9a-f]{12}: Pulling fs layer\n/);
    expect(out).toMatch(/[0-9a-f]{12}: Pull complete\n/);
    expect(out).toContain(`Digest: ${result.digest}\nStatus: Downloaded newer image for ${registry.host}/lab/multi:1\n`);

    // Again: nothing downloaded.
    const again: TransferEvent[] = [];
    const second = await pullImage({ client, store, ref: `${registry.host}/lab/multi:1`, onProgress: (e) => again.push(e) });
    expect(second.upToDate).toBe(true);
    expect(again.filter((e) => e.kind === 'layer').every((e) => e.kind === 'layer' && e.status === 'Already exists')).toBe(true);
  });

  it('pins by digest: name@sha256 pulls that manifest and resolves in the store', async () => {
    const store = await memoryStore();
    const client = new RegistryClient({ fetch: nodeFetch });
    const first = await pullImage({ client, store: await memoryStore(), ref: `${registry.host}/lab/multi:1` });
    const pinned = `${registry.host}/lab/multi@${first.digest}`;
    const result = await pullImage({ client, store, ref: pinned });
    expect(result.imageId).toBe(first.imageId);
    expect((await store.resolve({ ref: pinned })).id).toBe(first.imageId);
    await expect(pullImage({ client, store, ref: `${registry.host}/lab/multi@sha256:${'0'.repeat(64)}` })).rejects.toThrow(/not found/);
  });

  it('refuses an image without linux/386, saying what it has and what to do', async () => {
    const client = new RegistryClient({ fetch: nodeFetch });
    const store = await memoryStore();
    const error = await pullImage({ client, store, ref: `${registry.host}/lab/amd64only:1` }).catch((e) => e);
    expect(error).toBeInstanceOf(PlatformError);
    expect(error.message).toBe(
      `${registry.host}/lab/amd64only:1 has no linux/386 image (it has linux/amd64, linux/arm64/v8); Layerlab runs 32-bit x86 images; official images that publish linux/386 include busybox, alpine, debian, ubuntu, python, httpd, redis; or build your own FROM one of them`,
    );
    const single = await pullImage({ client, store, ref: `${registry.host}/lab/single-amd64:1` }).catch((e) => e);
    expect(single).toBeInstanceOf(PlatformError);
    expect(single.message).toMatch(/has no linux\/386 image \(it has linux\/amd64\)/);
    expect(await store.listImages()).toEqual([]);
    expect(() => checkPlatform('linux/amd64')).toThrow(/--platform linux\/amd64 is not available: Layerlab runs a 32-bit x86 Linux VM/);
    expect(() => checkPlatform('linux/386')).not.toThrow();
  });

  it('says why it cannot pull when registries are out of reach', async () => {
    const client = new RegistryClient({ unavailableReason: 'this site serves Layerlab without its registry proxy' });
    await expect(pullImage({ client, store: await memoryStore(), ref: 'alpine:3.20' })).rejects.toThrow(RegistryUnavailableError);
  });

  it('zstd layers: verified by digest and diffID like gzip ones', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const layout = path.join(work, 'single-386');
    await writeOciLayout(layout, 'v1', [{ platform: { os: 'linux', architecture: '386' }, layers: [{ files: [{ name: 'z', data: 'zstd layer\n'.repeat(1000) }] }] }], { single: true });
    await promisify(execFile)('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--dest-compress', '--dest-compress-format', 'zstd', `oci:${layout}:v1`, `docker://${registry.host}/lab/zstd:1`]);
    const manifest = JSON.parse(await skopeoInspect(`${registry.host}/lab/zstd:1`, { raw: true }));
    expect(manifest.layers[0].mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    const store = await memoryStore();
    const result = await pullImage({ client: new RegistryClient({ fetch: nodeFetch }), store, ref: `${registry.host}/lab/zstd:1` });
    expect(result.downloaded).toBe(1);
    const layer = await store.getLayer({ digest: manifest.layers[0].digest });
    expect(layer.diffID).toBe((await store.getConfig({ id: result.imageId })).rootfs.diff_ids[0]);
    expect(layer.diffSize).toBeGreaterThan(10_000);
  });

  it('an unknown tag or repository is a clear error', async () => {
    const client = new RegistryClient({ fetch: nodeFetch });
    await expect(pullImage({ client, store: await memoryStore(), ref: `${registry.host}/lab/multi:nope` })).rejects.toThrow(`manifest for ${registry.host}/lab/multi:nope not found`);
  });
});

describe('push', () => {
  it('pushes an image skopeo can read, and a fresh store pulls it back with identical digests', async () => {
    const client = new RegistryClient({ fetch: nodeFetch });
    const store = await memoryStore();
    await pullImage({ client, store, ref: `${registry.host}/lab/multi:1` });
    await store.tag({ source: `${registry.host}/lab/multi:1`, target: `${registry.host}/lab/pushed:1` });
    const events: TransferEvent[] = [];
    const pushed = await pushImage({ client, store, ref: `${registry.host}/lab/pushed:1`, onProgress: (e) => events.push(e) });
    expect(events.at(-1)).toEqual({ kind: 'status', text: `1: digest: ${pushed.digest} size: ${pushed.size}` });
    expect(events[0]).toEqual({ kind: 'status', text: `The push refers to repository [${registry.host}/lab/pushed]` });
    // The layers came from lab/multi on the same registry: mounted, not uploaded again.
    expect(events.filter((e) => e.kind === 'layer' && e.status === 'Mounted from' && e.detail === 'lab/multi')).toHaveLength(2);

    const inspected = JSON.parse(await skopeoInspect(`${registry.host}/lab/pushed:1`));
    expect(inspected.Digest).toBe(pushed.digest);
    expect(inspected.Architecture).toBe('386');
    const original = await store.resolve({ ref: `${registry.host}/lab/pushed:1` });
    expect(inspected.Layers).toEqual(original.layers);
    expect((await store.inspect({ ref: `${registry.host}/lab/pushed:1` })).RepoDigests).toContain(`${registry.host}/lab/pushed@${pushed.digest}`);

    // Pushing again: every layer is already there.
    const again: TransferEvent[] = [];
    await pushImage({ client, store, ref: `${registry.host}/lab/pushed:1`, onProgress: (e) => again.push(e) });
    expect(again.filter((e) => e.kind === 'layer' && e.status === 'Layer already exists')).toHaveLength(2);

    const fresh = await memoryStore();
    const back = await pullImage({ client, store: fresh, ref: `${registry.host}/lab/pushed:1` });
    expect(back.imageId).toBe(original.id);
    expect(back.digest).toBe(pushed.digest);
    expect((await fresh.resolve({ ref: `${registry.host}/lab/pushed:1` })).layers).toEqual(original.layers);
  });
});

describe('interrupted pull', () => {
  it('the registry stopped mid-layer leaves no image, no half blob and no temp file; the next pull works', async () => {
    const layout = path.join(work, 'big');
    await writeOciLayout(layout, 'v1', [{ platform: { os: 'linux', architecture: '386' }, layers: [{ files: [{ name: 'small', data: 'x' }] }, { files: [{ name: 'noise', data: randomBytes(48 * 1024 * 1024) }] }] }], { single: true });
    await skopeoPush(layout, 'v1', `${registry.host}/lab/big:1`);
    const dir = await mkdtemp(path.join(tmpdir(), 'layerlab-store-'));
    try {
      const backend = await NodeDirBackend.open({ root: dir });
      const store = await ImageStore.open({ backend });
      const client = new RegistryClient({ fetch: nodeFetch });
      let stopping: Promise<void> | undefined;
      const error = await pullImage({
        client,
        store,
        ref: `${registry.host}/lab/big:1`,
        onProgress: (event) => {
          if (event.kind === 'layer' && event.status === 'Downloading' && (event.total ?? 0) > 1024 * 1024) stopping ??= registry.stop();
        },
      }).catch((e) => e);
      await stopping;
      expect(error).toBeInstanceOf(Error);
      expect(await store.listImages()).toEqual([]);
      const names = await readdir(path.join(dir, 'blobs', 'sha256'));
      expect(names.filter((n) => n.includes('.tmp-'))).toEqual([]);
      const layers = await backend.listMeta('layer/');
      for (const [, record] of layers as [string, { digest: string; size: number }][]) expect(record.size).toBeLessThan(1024 * 1024);

      await registry.restart();
      const result = await pullImage({ client, store, ref: `${registry.host}/lab/big:1` });
      expect(result.downloaded).toBe(1);
      expect(result.existing).toBe(1);
      expect((await store.listImages()).map((i) => `${i.repository}:${i.tag}`)).toEqual([`${registry.host}/lab/big:1`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(layout, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('auth', () => {
  it('basic auth (htpasswd): refused without login, works with it', async () => {
    const secured = await startRegistry({ auth: { username: 'learner', password: 's3cret' } });
    try {
      await skopeoPush(path.join(work, 'multi'), 'v1', `${secured.host}/lab/multi:1`, secured.credentials);
      const client = new RegistryClient({ fetch: nodeFetch });
      const store = await memoryStore();
      const denied = await pullImage({ client, store, ref: `${secured.host}/lab/multi:1` }).catch((e) => e);
      expect(denied).toBeInstanceOf(RegistryError);
      expect(denied.message).toMatch(/pull access denied for 127\.0\.0\.1:\d+\/lab\/multi, repository does not exist or may require 'docker login'/);
      client.credentials.set(secured.host, { username: 'learner', password: 'wrong' });
      await expect(client.ping(locate(parseReference(`${secured.host}/lab/multi`)))).rejects.toThrow(/unauthorized/);
      client.credentials.set(secured.host, { username: 'learner', password: 's3cret' });
      await client.ping(locate(parseReference(`${secured.host}/lab/multi`)));
      const result = await pullImage({ client, store, ref: `${secured.host}/lab/multi:1` });
      expect((await store.getConfig({ id: result.imageId })).architecture).toBe('386');
      await store.tag({ source: `${secured.host}/lab/multi:1`, target: `${secured.host}/lab/mine:1` });
      const pushed = await pushImage({ client, store, ref: `${secured.host}/lab/mine:1` });
      expect(JSON.parse(await skopeoInspect(`${secured.host}/lab/mine:1`, { credentials: secured.credentials })).Digest).toBe(pushed.digest);
    } finally {
      await secured.close();
    }
  }, 60_000);

  it('bearer tokens: the challenge, the token endpoint (Docker token spec), then the API with the token', async () => {
    // Recorded from the token spec (docs/spec/auth/token.md): a 401 with a Bearer challenge naming realm,
    // service and scope; the token endpoint answers {token, access_token, expires_in, issued_at}. Behind it,
    // the real registry serves the API once the token is right.
    const TOKEN = 'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.recorded.signature';
    const seen: { path: string; auth?: string }[] = [];
    const port = await freePort();
    const realm = `http://127.0.0.1:${port}/token`;
    const server = http.createServer((req, res) => {
      const url = new URL(req.url!, realm);
      seen.push({ path: `${url.pathname}${url.search}`, auth: req.headers.authorization });
      if (url.pathname === '/token') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ token: TOKEN, access_token: TOKEN, expires_in: 300, issued_at: '2026-01-01T00:00:00Z' }));
      }
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        const repo = /^\/v2\/(.+)\/(manifests|blobs)\//.exec(url.pathname)?.[1];
        res.writeHead(401, {
          'content-type': 'application/json',
          'docker-distribution-api-version': 'registry/2.0',
          'www-authenticate': `Bearer realm="${realm}",service="registry.docker.io"${repo ? `,scope="repository:${repo}:pull"` : ''}`,
        });
        return res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: [{ Type: 'repository', Name: repo, Action: 'pull' }] }] }));
      }
      const upstream = http.request(`http://${registry.host}${url.pathname}${url.search}`, { method: req.method, headers: { accept: req.headers.accept ?? '*/*' } }, (up) => {
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
      });
      upstream.end();
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const client = new RegistryClient({ fetch: nodeFetch });
      const result = await pullImage({ client, store: await memoryStore(), ref: `127.0.0.1:${port}/lab/multi:1` });
      expect(result.downloaded).toBe(2);
      const tokenRequests = seen.filter((s) => s.path.startsWith('/token'));
      expect(tokenRequests).toHaveLength(1);
      expect(tokenRequests[0].path).toBe('/token?service=registry.docker.io&scope=repository%3Alab%2Fmulti%3Apull');
      expect(tokenRequests[0].auth).toBeUndefined();
      // After the token: every API call carries it, no more challenges.
      expect(seen.filter((s) => s.path.startsWith('/v2/') && !s.auth)).toHaveLength(1);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('parses challenges', () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({ scheme: 'basic', params: { realm: 'Registry Realm' } });
  });
});

describe('references and output', () => {
  it('maps names to registries as Docker does', () => {
    expect(locate(parseReference('busybox'))).toEqual({ registry: 'docker.io', apiHost: 'registry-1.docker.io', scheme: 'https', repository: 'library/busybox' });
    expect(locate(parseReference('docker.io/me/app:1'))).toMatchObject({ apiHost: 'registry-1.docker.io', repository: 'me/app' });
    expect(locate(parseReference('ghcr.io/org/tool:v1'))).toEqual({ registry: 'ghcr.io', apiHost: 'ghcr.io', scheme: 'https', repository: 'org/tool' });
    expect(locate(parseReference('localhost:5000/app'))).toMatchObject({ scheme: 'http', repository: 'app' });
    expect(locate(parseReference('127.0.0.1:5000/lab/app'))).toMatchObject({ scheme: 'http', apiHost: '127.0.0.1:5000' });
    expect(locate(parseReference('registry.example.com:5000/app'))).toMatchObject({ scheme: 'https' });
  });

  it('draws Docker\'s progress bar', () => {
    expect(progressBar(1_200_000, 3_400_000)).toBe(`[=================>                                ]    1.2MB/3.4MB`);
    expect(progressBar(3_400_000, 3_400_000)).toBe(`[${'='.repeat(50)}]    3.4MB/3.4MB`);
  });
});
