import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fillNodeStateCache, isCompleteRawState, nodeStateCacheDir, readNodeCachedState, stateCacheFile } from './node-state-cache';

/** A v86-shaped raw state: magic, version, total length, info length, then bytes. */
function fakeState(length: number, fill: number): Uint8Array {
  const bytes = new Uint8Array(length).fill(fill);
  const header = new DataView(bytes.buffer);
  header.setInt32(0, -2039052682, true);
  header.setInt32(4, 6, true);
  header.setInt32(8, length, true);
  header.setInt32(12, 0, true);
  return bytes;
}

const zstd = (bytes: Uint8Array) => new Uint8Array(execFileSync('zstd', ['-q', '-c'], { input: bytes }));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'layerlab-state-cache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('nodeStateCacheDir', () => {
  it('honours LAYERLAB_STATE_CACHE, off, and XDG_CACHE_HOME', () => {
    expect(nodeStateCacheDir({ LAYERLAB_STATE_CACHE: '/somewhere' })).toBe('/somewhere');
    expect(nodeStateCacheDir({ LAYERLAB_STATE_CACHE: 'off' })).toBeNull();
    expect(nodeStateCacheDir({ XDG_CACHE_HOME: '/xdg' })).toBe('/xdg/layerlab');
  });
});

describe('stateCacheFile', () => {
  it('names a snapshot by its inputs, size and time, so a rebuilt one gets a new name', async () => {
    const zst = join(dir, 'state.bin.zst');
    const inputs = join(dir, 'state-inputs.sha256');
    await writeFile(zst, zstd(fakeState(64, 1)));
    await writeFile(inputs, 'ab'.repeat(32));
    const first = await stateCacheFile(zst, inputs);
    expect(first).toMatch(/^state-[0-9a-f]{32}\.bin$/);
    expect(await stateCacheFile(zst, inputs)).toBe(first);
    await utimes(zst, new Date(), new Date(Date.now() + 5_000));
    expect(await stateCacheFile(zst, inputs)).not.toBe(first);
    expect(await stateCacheFile(join(dir, 'missing.zst'), inputs)).toBeNull();
  });
});

describe('the cache', () => {
  it('stores the decompressed state and reads it back', async () => {
    const state = fakeState(200_000, 7);
    expect(await readNodeCachedState(dir, 'state-a.bin')).toBeNull();
    expect(await fillNodeStateCache(dir, 'state-a.bin', zstd(state))).toBe(true);
    const read = await readNodeCachedState(dir, 'state-a.bin');
    expect(new Uint8Array(read!)).toEqual(state);
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses and deletes a cut-short file', async () => {
    const state = fakeState(4096, 3);
    await writeFile(join(dir, 'state-b.bin'), state.subarray(0, 2048));
    expect(isCompleteRawState(state)).toBe(true);
    expect(isCompleteRawState(state.subarray(0, 2048))).toBe(false);
    expect(await readNodeCachedState(dir, 'state-b.bin')).toBeNull();
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports a broken download instead of storing it', async () => {
    expect(await fillNodeStateCache(dir, 'state-c.bin', new Uint8Array([1, 2, 3, 4]))).toBe(false);
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps the three most recently used snapshots', async () => {
    for (const [i, name] of ['state-1.bin', 'state-2.bin', 'state-3.bin'].entries()) {
      await writeFile(join(dir, name), fakeState(64, i));
      await utimes(join(dir, name), new Date(), new Date(Date.now() - (10 - i) * 60_000));
    }
    expect(await fillNodeStateCache(dir, 'state-4.bin', zstd(fakeState(64, 9)))).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['state-2.bin', 'state-3.bin', 'state-4.bin']);
    expect(new Uint8Array(await readFile(join(dir, 'state-4.bin')))).toEqual(fakeState(64, 9));
  });
});
