/**
 * The VM snapshot, decompressed, kept in this browser so a reload restores without decompressing ~50 MB of
 * zstd again. It is a file in the origin private file system (OPFS), in the folder STATE_CACHE_DIR, named by
 * the snapshot's identity (public/vm/state-inputs.sha256, which vm/build.sh writes with every new snapshot);
 * one version is kept, older ones are deleted. OPFS rather than the Cache API: its 26 MB read took ~0.1 s
 * less of a reload on a 2-core machine (the read is what a reload waits for first).
 * Every step may fail (no OPFS in the context, a refused or full quota, a partitioned third-party iframe that
 * storage is denied to): then the page downloads and decompresses as without a cache.
 */

/** The OPFS folder that holds the decompressed snapshot. */
export const STATE_CACHE_DIR = 'layerlab-vm-state';

/** Headroom kept free in the origin's quota besides the entry itself. */
const QUOTA_HEADROOM = 64 * 1024 * 1024;

/** The parts of an OPFS folder the cache uses (FileSystemDirectoryHandle has them; the tests fake them). */
export interface SnapshotFolder {
  keys(): AsyncIterable<string>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<SnapshotFile>;
  removeEntry(name: string): Promise<void>;
}
interface SnapshotFile {
  getFile(): Promise<Blob>;
  createWritable(): Promise<{ write(data: Uint8Array<ArrayBuffer>): Promise<void>; close(): Promise<void>; abort(): Promise<void> }>;
}

/** Where snapshots are kept: the folder (null: no storage here) and the origin's quota, where known. */
export interface SnapshotStorage {
  folder(): Promise<SnapshotFolder | null>;
  estimate?(): Promise<{ quota?: number; usage?: number }>;
}

/** This browser context's OPFS. */
export const browserSnapshotStorage: SnapshotStorage = {
  async folder() {
    const storage = globalThis.navigator?.storage;
    if (typeof storage?.getDirectory !== 'function') return null;
    const root = await storage.getDirectory();
    return root.getDirectoryHandle(STATE_CACHE_DIR, { create: true });
  },
  estimate: () => globalThis.navigator.storage.estimate(),
};

/** Whether the snapshot identity file's text is usable as a key (and file name): a hex digest, nothing else. */
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
export function staleEntries(names: readonly string[], keep: string): string[] {
  return names.filter((name) => name !== keep);
}

async function openFolder(storage: SnapshotStorage): Promise<SnapshotFolder | null> {
  try {
    return await storage.folder();
  } catch {
    return null;
  }
}

async function entryNames(folder: SnapshotFolder): Promise<string[]> {
  const names: string[] = [];
  for await (const name of folder.keys()) names.push(name);
  return names;
}

async function readEntry(folder: SnapshotFolder, id: string): Promise<ArrayBuffer | null> {
  try {
    const file = await (await folder.getFileHandle(id)).getFile();
    // An empty file is one whose write never completed (a write is committed whole, on close).
    if (!file.size) {
      await folder.removeEntry(id).catch(() => {});
      return null;
    }
    return await file.arrayBuffer();
  } catch {
    return null;
  }
}

/**
 * The decompressed snapshot with the identity `id` resolves to (null: none wanted), looked up without
 * waiting for it where that saves time: with nothing stored the answer is null at once (a first load starts
 * its download at once), and the one entry stored is read while its identity is still being checked (it
 * usually matches; after a new snapshot the read is dropped).
 */
export async function readCachedStateFor(id: Promise<string | null>, storage: SnapshotStorage = browserSnapshotStorage): Promise<ArrayBuffer | null> {
  const folder = await openFolder(storage);
  if (!folder) return null;
  let stored: string[];
  try {
    stored = await entryNames(folder);
  } catch {
    return null;
  }
  if (!stored.length) return null;
  const early = stored.length === 1 ? readEntry(folder, stored[0]) : null;
  const wanted = await id;
  if (!wanted || !stored.includes(wanted)) return null;
  return early && stored[0] === wanted ? early : readEntry(folder, wanted);
}

/**
 * Stores `state` as the snapshot `id` and deletes every other version. Returns whether it was stored; never
 * throws (a full or refused storage only means the next load decompresses again).
 */
export async function writeCachedState(id: string, state: Uint8Array, storage: SnapshotStorage = browserSnapshotStorage): Promise<boolean> {
  const folder = await openFolder(storage);
  if (!folder) return false;
  try {
    for (const name of staleEntries(await entryNames(folder), id)) await folder.removeEntry(name);
    const estimate = (await storage.estimate?.().catch(() => null)) ?? null;
    if (!fitsQuota(estimate, state.byteLength)) return false;
    const writer = await (await folder.getFileHandle(id, { create: true })).createWritable();
    try {
      await writer.write(state as Uint8Array<ArrayBuffer>);
      await writer.close();
    } catch (error) {
      await writer.abort().catch(() => {});
      throw error;
    }
    return true;
  } catch {
    await folder.removeEntry(id).catch(() => {});
    return false;
  }
}

/** Forgets the stored snapshot (it did not restore). */
export async function dropCachedState(id: string, storage: SnapshotStorage = browserSnapshotStorage): Promise<void> {
  const folder = await openFolder(storage);
  await folder?.removeEntry(id).catch(() => {});
}
