/**
 * The sandbox registry (`registry.lab`) beside a real one (Debian's docker-registry): the same image pushed
 * to both gets the same digest and the same progress lines; it pulls back after `docker rmi`, by tag and by
 * digest; bad uploads and manifests are refused as the distribution API refuses them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ImageStore } from '../store/image-store.ts';
import { MemoryBackend } from '../store/backend.ts';
import { sha256 } from '../oci/digest.ts';
import { RegistryClient } from './client.ts';
import { RegistryUnavailableError } from './errors.ts';
import { pullImage } from './pull.ts';
import { pushImage } from './push.ts';
import { SandboxRegistry, SANDBOX_REGISTRY } from './sandbox.ts';
import type { TransferEvent } from './progress.ts';
import { startRegistry, writeOciLayout, skopeoPush, type LocalRegistry } from '../../../test/registry/local-registry.ts';

let real: LocalRegistry;
let work: string;

beforeAll(async () => {
  real = await startRegistry();
  work = await mkdtemp(path.join(tmpdir(), 'layerlab-sandbox-registry-'));
  await writeOciLayout(path.join(work, 'app'), 'v1', [
    { platform: { os: 'linux', architecture: '386' }, layers: [{ files: [{ name: 'etc/', type: 'directory' }, { name: 'etc/os', data: 'base\n' }] }, { files: [{ name: 'app', data: 'v1\n' }] }] },
  ], { single: true });
  await skopeoPush(path.join(work, 'app'), 'v1', `${real.host}/lab/app:1`);
}, 120_000);

afterAll(async () => {
  await real?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** A store with the sandbox registry in its backend, as the engine wires them. */
async function sandboxed() {
  const backend = new MemoryBackend();
  const registry = new SandboxRegistry({ backend });
  const store = await ImageStore.open({ backend, heldBlobs: () => registry.heldBlobs() });
  const client = new RegistryClient({ fetch: registry.route((url, init) => fetch(url, init), 'offline') });
  await pullImage({ client, store, ref: `${real.host}/lab/app:1` });
  return { backend, registry, store, client };
}

const lines = (events: TransferEvent[]) => events.map((e) => (e.kind === 'status' ? e.text : `${e.status}${e.detail ? ` ${e.detail}` : ''}`));

describe('the sandbox registry', () => {
  it('takes a push as a real registry does: same digest, same progress, layers already there the second time', async () => {
    const { store, client } = await sandboxed();
    const ref = `${SANDBOX_REGISTRY}/me/app:1`;
    await store.tag({ source: `${real.host}/lab/app:1`, target: ref });
    await store.tag({ source: `${real.host}/lab/app:1`, target: `${real.host}/lab/copy:1` });
    const events: TransferEvent[] = [];
    const pushed = await pushImage({ client, store, ref, onProgress: (e) => events.push(e) });
    const toReal = await pushImage({ client, store, ref: `${real.host}/lab/copy:1` });
    expect(pushed.digest).toBe(toReal.digest);
    expect(lines(events)[0]).toBe(`The push refers to repository [${SANDBOX_REGISTRY}/me/app]`);
    expect(lines(events).at(-1)).toBe(`1: digest: ${pushed.digest} size: ${pushed.size}`);
    expect(events.filter((e) => e.kind === 'layer' && e.status === 'Pushed')).toHaveLength(2);

    const again: TransferEvent[] = [];
    await pushImage({ client, store, ref, onProgress: (e) => again.push(e) });
    expect(again.filter((e) => e.kind === 'layer' && e.status === 'Layer already exists')).toHaveLength(2);

    // Another repository of the same registry mounts the layers instead of uploading them.
    await store.tag({ source: ref, target: `${SANDBOX_REGISTRY}/team/app:1` });
    const mounted: TransferEvent[] = [];
    await pushImage({ client, store, ref: `${SANDBOX_REGISTRY}/team/app:1`, onProgress: (e) => mounted.push(e) });
    expect(mounted.filter((e) => e.kind === 'layer' && e.status === 'Mounted from' && e.detail === 'me/app')).toHaveLength(2);

    const catalog = await (await client.request({ registry: SANDBOX_REGISTRY, apiHost: SANDBOX_REGISTRY, scheme: 'https', repository: 'me/app' }, 'GET', '/v2/_catalog')).json();
    expect(catalog).toEqual({ repositories: ['me/app', 'team/app'] });
  });

  it('keeps what was pushed when the local image is removed: the pull downloads it again, by tag and by digest', async () => {
    const { store, client } = await sandboxed();
    const ref = `${SANDBOX_REGISTRY}/me/app:1`;
    await store.tag({ source: `${real.host}/lab/app:1`, target: ref });
    const original = await store.resolve({ ref });
    const pushed = await pushImage({ client, store, ref });
    await store.rmi({ ref });
    await store.rmi({ ref: `${real.host}/lab/app:1` });
    await store.prune({ all: true });
    await expect(store.resolve({ ref })).rejects.toThrow();

    const events: TransferEvent[] = [];
    const back = await pullImage({ client, store, ref, onProgress: (e) => events.push(e) });
    expect(back.imageId).toBe(original.id);
    expect(back.digest).toBe(pushed.digest);
    expect(events.filter((e) => e.kind === 'layer' && e.status === 'Pull complete')).toHaveLength(2);
    const byDigest = await pullImage({ client, store, ref: `${SANDBOX_REGISTRY}/me/app@${pushed.digest}` });
    expect(byDigest.imageId).toBe(original.id);

    await expect(pullImage({ client, store, ref: `${SANDBOX_REGISTRY}/me/app:nope` })).rejects.toThrow(`manifest for ${SANDBOX_REGISTRY}/me/app:nope not found`);
  });

  it('refuses an upload whose bytes are not its digest, and a manifest naming blobs it lacks', async () => {
    const registry = new SandboxRegistry({ backend: new MemoryBackend() });
    const base = `https://${SANDBOX_REGISTRY}/v2/me/app`;
    const start = await registry.fetch(`${base}/blobs/uploads/`, { method: 'POST' });
    expect(start.status).toBe(202);
    const bytes = new TextEncoder().encode('layer bytes');
    const wrong = await registry.fetch(`https://${SANDBOX_REGISTRY}${start.headers.get('location')}?digest=${await sha256('other')}`, { method: 'PUT', body: bytes });
    expect(wrong.status).toBe(400);
    expect(JSON.stringify(await wrong.json())).toContain('DIGEST_INVALID');

    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { digest: await sha256('config') }, layers: [] });
    const put = await registry.fetch(`${base}/manifests/1`, { method: 'PUT', body: manifest });
    expect(put.status).toBe(400);
    expect(JSON.stringify(await put.json())).toContain('MANIFEST_BLOB_UNKNOWN');
    expect((await registry.fetch(`${base}/manifests/1`)).status).toBe(404);
    expect((await registry.fetch(`https://${SANDBOX_REGISTRY}/v2/Bad..Name/manifests/1`)).status).toBe(400);
  });

  it('works without any network, and says so for other registries', async () => {
    const registry = new SandboxRegistry({ backend: new MemoryBackend() });
    const client = new RegistryClient({ fetch: registry.route(undefined, 'no network here') });
    const store = await ImageStore.open({ backend: new MemoryBackend() });
    const error = await pullImage({ client, store, ref: 'busybox' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect((error as Error).message).toContain(`no network here (the sandbox's own registry, ${SANDBOX_REGISTRY}, works offline)`);
  });
});
