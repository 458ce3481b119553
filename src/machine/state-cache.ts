/**
 * The VM snapshot, decompressed, kept in this browser (Cache API) so a reload restores without
 * decompressing ~50 MB of zstd again. Keyed by the snapshot's identity (public/vm/state-inputs.sha256,
 * which vm/build.sh writes with every new snapshot); one version is kept, older ones are deleted.
 * Every step may fail (no Cache API in the context, a refused or full quota, a partitioned third-party
 * iframe that storage is denied to): then the page downloads and decompresses as without a cache.
 */

/** The Cache API cache that holds decompressed snapshots. */
export const STATE_CACHE_NAME = 'layerlab-vm-state';

/** Response header with the byte count the entry must have (a cut-short entry is not used). */
const LENGTH_HEADER = 'x-layerlab-state-bytes';

/** Headroom kept free in the origin's quota besides the entry itself. */
const QUOTA_HEADROOM = 64 * 1024 * 1024;

/** The request URL under which the snapshot with this identity is stored (same origin, never fetched). */
export function stateCacheKey(base: URL | string, snapshotId: string): string {
  return new URL(`vm-state-cache/${encodeURIComponent(snapshotId)}`, base).href;
}

/** Whether the snapshot identity file's text is usable as a key: a hex digest, nothing else. */
export function parseSnapshotId(text: string): string | null {
  const id = text.trim();
  return /^[0-9a-f]{16,128}$/i.test(id) ? id.toLowerCase() : null;
}

/** Whether `bytes` more fit in the origin's storage, by `navigator.storage.estimate()`; unknown: yes. */
export function fitsQuota(estimate: { quota?: number; usage?: number } | null, bytes: number): boolean {
  if (!estimate || typeof estimate.quota !== 'number') return true;
  return estimate.quota - (estimate.usage ?? 0) >= bytes + QUOTA_HEADROOM;
}

/** The entries to delete so only `keep` remains. */
export function staleEntries(urls: readonly string[], keep: string): string[] {
  return urls.filter((url) => url !== keep);
}

type Storage = { caches?: CacheStorage; navigator?: { storage?: { estimate?(): Promise<{ quota?: number; usage?: number }> } } };

async function openCache(scope: Storage): Promise<Cache | null> {
  try {
    return scope.caches ? await scope.caches.open(STATE_CACHE_NAME) : null;
  } catch {
    return null;
  }
}

/** The decompressed snapshot stored under `key`, or null (none, incomplete, or storage unavailable). */
export async function readCachedState(key: string, scope: Storage = globalThis as Storage): Promise<ArrayBuffer | null> {
  const cache = await openCache(scope);
  if (!cache) return null;
  try {
    const response = await cache.match(key);
    if (!response) return null;
    const expected = Number(response.headers.get(LENGTH_HEADER));
    const bytes = await response.arrayBuffer();
    if (!expected || bytes.byteLength !== expected) {
      await cache.delete(key);
      return null;
    }
    return bytes;
  } catch {
    return null;
  }
}

/**
 * The decompressed snapshot stored under `key` once that resolves (null: none wanted), looked up without
 * waiting for it where that saves time: with nothing stored the answer is null at once (a first load starts
 * its download at once), and the one entry stored is read while its identity is still being checked (it
 * usually matches; after a new snapshot the read is dropped).
 */
export async function readCachedStateFor(key: Promise<string | null>, scope: Storage = globalThis as Storage): Promise<ArrayBuffer | null> {
  const cache = await openCache(scope);
  if (!cache) return null;
  let stored: string[];
  try {
    stored = (await cache.keys()).map((request) => request.url);
  } catch {
    return null;
  }
  if (!stored.length) return null;
  const early = stored.length === 1 ? readCachedState(stored[0], scope) : null;
  const wanted = await key;
  if (!wanted || !stored.includes(wanted)) return null;
  return early && stored[0] === wanted ? early : readCachedState(wanted, scope);
}

/**
 * Stores `state` under `key` and deletes every other version. Returns whether it was stored; never
 * throws (a full or refused storage only means the next load decompresses again).
 */
export async function writeCachedState(key: string, state: Uint8Array, scope: Storage = globalThis as Storage): Promise<boolean> {
  const cache = await openCache(scope);
  if (!cache) return false;
  try {
    for (const request of await cache.keys()) {
      if (staleEntries([request.url], key).length) await cache.delete(request);
    }
    const estimate = (await scope.navigator?.storage?.estimate?.().catch(() => null)) ?? null;
    if (!fitsQuota(estimate, state.byteLength)) return false;
    await cache.put(
      key,
      new Response(state as Uint8Array<ArrayBuffer>, {
        headers: { 'content-type': 'application/octet-stream', [LENGTH_HEADER]: String(state.byteLength) },
      }),
    );
    return true;
  } catch {
    await cache.delete(key).catch(() => false);
    return false;
  }
}

/** Forgets the stored snapshot (it did not restore). */
export async function dropCachedState(key: string, scope: Storage = globalThis as Storage): Promise<void> {
  const cache = await openCache(scope);
  await cache?.delete(key).catch(() => false);
}
