import { describe, expect, it } from 'vitest';
import type { Guest } from '../guest.ts';
import { execFileSync } from 'node:child_process';
import { fetchLayerImage, GuestLayers } from './guest-layers.ts';

const BASE = 'sha256:' + 'b'.repeat(64);
const PYTHON = 'sha256:' + 'p'.repeat(64);

/** A guest that records requests and share writes; `mountExit` is what the mount command exits with. */
function recordingGuest(mountExit = 0) {
  const requests: { op: string; params: Record<string, unknown> }[] = [];
  const files: string[] = [];
  const guest: Guest = {
    request: (async (op: string, params: Record<string, unknown> = {}, options?: { onStream?: (stream: 'stdout' | 'stderr', data: Uint8Array) => void }) => {
      requests.push({ op, params });
      if (op === 'readdir') return { names: ['b'.repeat(64)] };
      if (op === 'spawn') {
        if (mountExit) options?.onStream?.('stderr', new TextEncoder().encode('mount: unknown filesystem type'));
        return { exit: mountExit };
      }
      return {};
    }) as Guest['request'],
    notify: () => {},
    putFile: async (path) => void files.push(path),
    getFile: async () => new Uint8Array(),
    onEvent: () => () => {},
  };
  return { guest, requests, files };
}

describe('GuestLayers with layer images', () => {
  it('mounts a layer that has a filesystem image instead of unpacking its tar', async () => {
    const { guest, requests, files } = recordingGuest();
    const tarsRead: string[] = [];
    const layers = new GuestLayers({ guest, readLayerTar: async (diffID) => (tarsRead.push(diffID), new Uint8Array()) });
    let reads = 0;
    layers.addImage(PYTHON, { type: 'squashfs', read: async () => (reads++, new Uint8Array([1, 2, 3])) });

    await layers.mount('c1', [BASE, PYTHON]);

    expect(tarsRead).toEqual([]);
    expect(requests.some((r) => r.op === 'unpack')).toBe(false);
    expect(files).toEqual([`layer-${'p'.repeat(64)}.squashfs`]);
    const mount = requests.find((r) => r.op === 'spawn')!.params.argv as string[];
    expect(mount.slice(-3)).toEqual([`/mnt/host/layer-${'p'.repeat(64)}.squashfs`, GuestLayers.layerDir(PYTHON), 'squashfs']);
    expect(await layers.has(PYTHON)).toBe(true);
    // A second container mounts nothing again and reads the image no more.
    await layers.mount('c2', [BASE, PYTHON]);
    expect(requests.filter((r) => r.op === 'spawn')).toHaveLength(1);
    expect(reads).toBe(1);
  });

  it('prefetches and mounts an image once, and the first use does neither again', async () => {
    const { guest, requests, files } = recordingGuest();
    const layers = new GuestLayers({ guest, readLayerTar: async () => new Uint8Array() });
    let reads = 0;
    layers.addImage(PYTHON, { type: 'squashfs', read: async () => (reads++, new Uint8Array([1])) });

    await layers.prefetchImages();
    await layers.prefetchImages();
    expect(files).toHaveLength(1);
    expect(requests.filter((r) => r.op === 'spawn')).toHaveLength(1);
    expect(await layers.has(PYTHON)).toBe(true);

    await layers.ensure([PYTHON]);
    expect(reads).toBe(1);
    expect(files).toHaveLength(1);
    expect(requests.filter((r) => r.op === 'spawn')).toHaveLength(1);
  });

  it('mounts once when a container asks for the image while the prefetch is mounting it', async () => {
    const { guest, requests } = recordingGuest();
    const layers = new GuestLayers({ guest, readLayerTar: async () => new Uint8Array() });
    layers.addImage(PYTHON, { type: 'squashfs', read: async () => new Uint8Array([1]) });
    await Promise.all([layers.prefetchImages(), layers.mount('c1', [BASE, PYTHON])]);
    expect(requests.filter((r) => r.op === 'spawn')).toHaveLength(1);
  });

  it('a prefetch whose mount fails leaves the layer to its first use, which says why', async () => {
    const { guest } = recordingGuest(255);
    const layers = new GuestLayers({ guest, readLayerTar: async () => new Uint8Array() });
    layers.addImage(PYTHON, { type: 'squashfs', read: async () => new Uint8Array([1]) });
    await layers.prefetchImages();
    expect(await layers.has(PYTHON)).toBe(false);
    await expect(layers.ensure([PYTHON])).rejects.toThrow(/could not mount layer/);
  });

  it('says which layer could not be mounted and why', async () => {
    const { guest } = recordingGuest(255);
    const layers = new GuestLayers({ guest, readLayerTar: async () => new Uint8Array() });
    layers.addImage(PYTHON, { type: 'squashfs', read: async () => new Uint8Array([1]) });
    await expect(layers.ensure([PYTHON])).rejects.toThrow(`could not mount layer ${PYTHON} in the VM: mount: unknown filesystem type`);
    expect(await layers.has(PYTHON)).toBe(false);
  });
});

describe('fetchLayerImage', () => {
  const image = new Uint8Array(30_000).map((_, i) => (i * 7) % 251);
  const serving = (body: Uint8Array<ArrayBuffer>, status = 200) => (async () => new Response(body, { status })) as unknown as typeof fetch;

  it('decompresses a zstd-compressed image file to the bytes the guest mounts', async () => {
    const compressed: Uint8Array<ArrayBuffer> = new Uint8Array(execFileSync('zstd', ['-19', '-c', '-q'], { input: image }));
    expect(compressed.length).toBeLessThan(image.length / 10);
    expect(await fetchLayerImage(serving(compressed), 'python-3.11.sqfs.zst', image.length)).toEqual(image);
  });

  it('passes an image file as it is when it is not compressed (compression inside, as vm/build.sh makes it)', async () => {
    expect(await fetchLayerImage(serving(image), 'python-3.11.sqfs', image.length)).toEqual(image);
  });

  it('refuses an image larger than its recorded size, and names a failed download', async () => {
    const compressed: Uint8Array<ArrayBuffer> = new Uint8Array(execFileSync('zstd', ['-c', '-q'], { input: image }));
    await expect(fetchLayerImage(serving(compressed), 'x.sqfs.zst', 1000)).rejects.toThrow(/larger than 1000 bytes/);
    await expect(fetchLayerImage(serving(new Uint8Array(), 404), 'missing.sqfs.zst', 10)).rejects.toThrow(/could not download missing\.sqfs\.zst: HTTP 404/);
  });
});

describe('GuestLayers.mount', () => {
  it('names each lower dir once, topmost first: overlayfs refuses one named twice (two empty layers share a diffID)', async () => {
    const { guest, requests } = recordingGuest();
    const EMPTY = 'sha256:' + 'e'.repeat(64);
    await new GuestLayers({ guest, readLayerTar: async () => new Uint8Array() }).mount('c1', [BASE, EMPTY, BASE, EMPTY], undefined, '/init');
    const mount = requests.find((r) => r.op === 'mount')!.params;
    expect(mount.lowers).toEqual(['/init', GuestLayers.layerDir(EMPTY), GuestLayers.layerDir(BASE)]);
  });
});
