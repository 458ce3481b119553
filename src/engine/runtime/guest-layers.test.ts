import { describe, expect, it } from 'vitest';
import type { Guest } from '../guest.ts';
import { GuestLayers } from './guest-layers.ts';

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

  it('prefetches an image into the share once, and the first use only mounts it', async () => {
    const { guest, requests, files } = recordingGuest();
    const layers = new GuestLayers({ guest, readLayerTar: async () => new Uint8Array() });
    let reads = 0;
    layers.addImage(PYTHON, { type: 'squashfs', read: async () => (reads++, new Uint8Array([1])) });

    await layers.prefetchImages();
    await layers.prefetchImages();
    expect(files).toHaveLength(1);
    expect(requests.some((r) => r.op === 'spawn')).toBe(false);

    await layers.ensure([PYTHON]);
    expect(reads).toBe(1);
    expect(files).toHaveLength(1);
    expect(requests.filter((r) => r.op === 'spawn')).toHaveLength(1);
  });

  it('says which layer could not be mounted and why', async () => {
    const { guest } = recordingGuest(255);
    const layers = new GuestLayers({ guest, readLayerTar: async () => new Uint8Array() });
    layers.addImage(PYTHON, { type: 'squashfs', read: async () => new Uint8Array([1]) });
    await expect(layers.ensure([PYTHON])).rejects.toThrow(`could not mount layer ${PYTHON} in the VM: mount: unknown filesystem type`);
    expect(await layers.has(PYTHON)).toBe(false);
  });
});
