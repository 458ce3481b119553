import { describe, expect, it } from 'vitest';
import { dropCachedState, fitsQuota, parseSnapshotId, readCachedStateFor, staleEntries, writeCachedState, type SnapshotFolder, type SnapshotStorage } from './state-cache';

/**
 * An in-memory OPFS folder with what state-cache.ts uses. As in OPFS, a file is created empty and a write
 * becomes visible only when it is closed.
 */
function memoryStorage(options: { noFolder?: boolean; refuseOpen?: boolean; failWrite?: boolean; quota?: number } = {}) {
  const files = new Map<string, Uint8Array>();
  const folder: SnapshotFolder = {
    async *keys() {
      yield* [...files.keys()];
    },
    async getFileHandle(name, { create = false } = {}) {
      if (!files.has(name)) {
        if (!create) throw new DOMException(name, 'NotFoundError');
        files.set(name, new Uint8Array());
      }
      return {
        getFile: async () => new Blob([files.get(name) as Uint8Array<ArrayBuffer>]),
        createWritable: async () => {
          let pending: Uint8Array | null = null;
          return {
            write: async (data) => {
              if (options.failWrite) throw new DOMException('quota', 'QuotaExceededError');
              pending = data.slice();
            },
            close: async () => void (pending && files.set(name, pending)),
            abort: async () => void (pending = null),
          };
        },
      };
    },
    async removeEntry(name) {
      if (!files.delete(name)) throw new DOMException(name, 'NotFoundError');
    },
  };
  const storage: SnapshotStorage = {
    async folder() {
      if (options.refuseOpen) throw new DOMException('denied', 'SecurityError');
      return options.noFolder ? null : folder;
    },
    estimate: async () => ({ quota: options.quota, usage: 0 }),
  };
  return { storage, files };
}

const state = new Uint8Array([1, 2, 3, 4, 5]);
const first = 'aaaa1111aaaa1111';
const next = 'bbbb2222bbbb2222';

describe('the snapshot cache', () => {
  it('takes only a hex digest as the snapshot identity (it names the file)', () => {
    expect(parseSnapshotId('10016032FBF91145e53b64e9ad44a1e5\n')).toBe('10016032fbf91145e53b64e9ad44a1e5');
    expect(parseSnapshotId('<html>not found</html>')).toBeNull();
    expect(parseSnapshotId('../../etc')).toBeNull();
    expect(parseSnapshotId('')).toBeNull();
  });

  it('writes only what fits the quota with headroom; an unknown quota does not stop it', () => {
    expect(fitsQuota({ quota: 1e9, usage: 1e8 }, 5e7)).toBe(true);
    expect(fitsQuota({ quota: 1e8, usage: 0 }, 5e7)).toBe(false);
    expect(fitsQuota(null, 5e7)).toBe(true);
  });

  it('keeps one version: every other entry is stale', () => {
    expect(staleEntries(['a', 'b', 'c'], 'b')).toEqual(['a', 'c']);
  });

  it('reads back what it wrote, and a changed snapshot identity misses', async () => {
    const { storage } = memoryStorage();
    expect(await writeCachedState(first, state, storage)).toBe(true);
    expect(new Uint8Array((await readCachedStateFor(Promise.resolve(first), storage))!)).toEqual(state);
    expect(await readCachedStateFor(Promise.resolve(next), storage)).toBeNull();
  });

  it('answers at once when nothing is stored, without waiting for the snapshot identity', async () => {
    const { storage } = memoryStorage();
    const never = new Promise<string | null>(() => {});
    expect(await readCachedStateFor(never, storage)).toBeNull();
  });

  it('reads the stored entry while the identity is checked, and uses it only when it is the one wanted', async () => {
    const { storage, files } = memoryStorage();
    await writeCachedState(first, state, storage);
    let answer!: (id: string | null) => void;
    const wanted = new Promise<string | null>((resolve) => (answer = resolve));
    const read = readCachedStateFor(wanted, storage);
    answer(first);
    expect(new Uint8Array((await read)!)).toEqual(state);
    // A new snapshot: the stored entry is not it.
    expect(await readCachedStateFor(Promise.resolve(next), storage)).toBeNull();
    // The identity could not be read: no entry can be trusted.
    expect(await readCachedStateFor(Promise.resolve(null), storage)).toBeNull();
    expect(files.has(first)).toBe(true);
  });

  it('finds the wanted entry among several (left by a tab that stored one meanwhile)', async () => {
    const { storage, files } = memoryStorage();
    files.set(first, new Uint8Array([9]));
    files.set(next, state);
    expect(new Uint8Array((await readCachedStateFor(Promise.resolve(next), storage))!)).toEqual(state);
  });

  it('evicts the previous version when a new snapshot is stored, and forgets one that did not restore', async () => {
    const { storage, files } = memoryStorage();
    await writeCachedState(first, state, storage);
    await writeCachedState(next, state, storage);
    expect([...files.keys()]).toEqual([next]);
    await dropCachedState(next, storage);
    expect(files.size).toBe(0);
  });

  it('does not use an empty entry (a write that never completed), and removes it', async () => {
    const { storage, files } = memoryStorage();
    files.set(first, new Uint8Array());
    expect(await readCachedStateFor(Promise.resolve(first), storage)).toBeNull();
    expect(files.has(first)).toBe(false);
  });

  it('falls back quietly where storage is missing, refused or full', async () => {
    for (const options of [{ noFolder: true }, { refuseOpen: true }]) {
      const { storage } = memoryStorage(options);
      expect(await readCachedStateFor(Promise.resolve(first), storage)).toBeNull();
      expect(await writeCachedState(first, state, storage)).toBe(false);
      await dropCachedState(first, storage);
    }
    const full = memoryStorage({ failWrite: true });
    expect(await writeCachedState(first, state, full.storage)).toBe(false);
    expect(full.files.size).toBe(0);
    const small = memoryStorage({ quota: 1024 });
    expect(await writeCachedState(first, state, small.storage)).toBe(false);
    expect(small.files.size).toBe(0);
  });
});
