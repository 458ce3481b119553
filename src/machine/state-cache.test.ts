import { describe, expect, it } from 'vitest';
import { fitsQuota, parseSnapshotId, readCachedState, readCachedStateFor, stateCacheKey, staleEntries, writeCachedState } from './state-cache';

/** An in-memory CacheStorage with what state-cache.ts uses (match, put, delete, keys). */
function memoryCaches(options: { refuseOpen?: boolean; refusePut?: boolean } = {}) {
  const entries = new Map<string, Response>();
  const cache = {
    async match(key: string) {
      return entries.get(key)?.clone();
    },
    async put(key: string, response: Response) {
      if (options.refusePut) throw new DOMException('quota', 'QuotaExceededError');
      entries.set(key, response);
    },
    async delete(key: string | Request) {
      return entries.delete(typeof key === 'string' ? key : key.url);
    },
    async keys() {
      return [...entries.keys()].map((url) => new Request(url));
    },
  };
  const caches = {
    async open() {
      if (options.refuseOpen) throw new DOMException('denied', 'SecurityError');
      return cache;
    },
  } as unknown as CacheStorage;
  return { caches, entries };
}

const base = 'https://layerlab.test/vm/';
const state = new Uint8Array([1, 2, 3, 4, 5]);

describe('the snapshot cache', () => {
  it('takes only a hex digest as the snapshot identity', () => {
    expect(parseSnapshotId('10016032fbf91145e53b64e9ad44a1e5\n')).toBe('10016032fbf91145e53b64e9ad44a1e5');
    expect(parseSnapshotId('<html>not found</html>')).toBeNull();
    expect(parseSnapshotId('')).toBeNull();
  });

  it('keys entries by snapshot, next to the assets', () => {
    expect(stateCacheKey(base, 'abc')).toBe('https://layerlab.test/vm/vm-state-cache/abc');
    expect(stateCacheKey(base, 'abc')).not.toBe(stateCacheKey(base, 'abd'));
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
    const { caches } = memoryCaches();
    const scope = { caches };
    const key = stateCacheKey(base, 'aaaa1111aaaa1111');
    expect(await writeCachedState(key, state, scope)).toBe(true);
    expect(new Uint8Array((await readCachedState(key, scope))!)).toEqual(state);
    expect(await readCachedState(stateCacheKey(base, 'bbbb2222bbbb2222'), scope)).toBeNull();
  });

  it('answers at once when nothing is stored, without waiting for the snapshot identity', async () => {
    const { caches } = memoryCaches();
    const never = new Promise<string | null>(() => {});
    expect(await readCachedStateFor(never, { caches })).toBeNull();
  });

  it('reads the stored entry while the identity is checked, and uses it only when it is the one wanted', async () => {
    const { caches, entries } = memoryCaches();
    const key = stateCacheKey(base, 'aaaa1111aaaa1111');
    await writeCachedState(key, state, { caches });
    let answer!: (key: string | null) => void;
    const wanted = new Promise<string | null>((resolve) => (answer = resolve));
    const read = readCachedStateFor(wanted, { caches });
    answer(key);
    expect(new Uint8Array((await read)!)).toEqual(state);
    // A new snapshot: the stored entry is not it.
    expect(await readCachedStateFor(Promise.resolve(stateCacheKey(base, 'bbbb2222bbbb2222')), { caches })).toBeNull();
    // The identity could not be read: no entry can be trusted.
    expect(await readCachedStateFor(Promise.resolve(null), { caches })).toBeNull();
    expect(entries.has(key)).toBe(true);
    expect(await readCachedStateFor(Promise.resolve(key), {})).toBeNull();
  });

  it('evicts the previous version when a new snapshot is stored', async () => {
    const { caches, entries } = memoryCaches();
    const old = stateCacheKey(base, 'aaaa1111aaaa1111');
    const next = stateCacheKey(base, 'bbbb2222bbbb2222');
    await writeCachedState(old, state, { caches });
    await writeCachedState(next, state, { caches });
    expect([...entries.keys()]).toEqual([next]);
  });

  it('does not use an entry cut short, and removes it', async () => {
    const { caches, entries } = memoryCaches();
    const key = stateCacheKey(base, 'aaaa1111aaaa1111');
    entries.set(key, new Response(new Uint8Array([1, 2]), { headers: { 'x-layerlab-state-bytes': '5' } }));
    expect(await readCachedState(key, { caches })).toBeNull();
    expect(entries.has(key)).toBe(false);
  });

  it('falls back quietly where storage is missing, refused or full', async () => {
    const key = stateCacheKey(base, 'aaaa1111aaaa1111');
    expect(await readCachedState(key, {})).toBeNull();
    expect(await writeCachedState(key, state, {})).toBe(false);
    const refused = memoryCaches({ refuseOpen: true });
    expect(await readCachedState(key, { caches: refused.caches })).toBeNull();
    expect(await writeCachedState(key, state, { caches: refused.caches })).toBe(false);
    const full = memoryCaches({ refusePut: true });
    expect(await writeCachedState(key, state, { caches: full.caches })).toBe(false);
    expect(full.entries.size).toBe(0);
    const small = memoryCaches();
    const tinyQuota = { storage: { estimate: async () => ({ quota: 1024, usage: 0 }) } };
    expect(await writeCachedState(key, state, { caches: small.caches, navigator: tinyQuota })).toBe(false);
    expect(small.entries.size).toBe(0);
  });
});
