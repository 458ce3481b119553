/**
 * The daemon's image store: IndexedDB (one database per embed namespace), held by the first tab that opens
 * it; in memory when asked (ephemeral embeds) or when IndexedDB is unavailable, with a warning that says so.
 */
import { IdbBackend } from '../engine/store/idb.ts';
import { MemoryBackend, type BlobBackend } from '../engine/store/backend.ts';

export const SECOND_TAB_WARNING =
  'Layerlab is open in another tab too. Both share your saved images and containers, but each runs its own VM: what runs in one is not running in the other, and changes show up there after a reload. Close the other tab to avoid surprises.';

type OpenedDaemonStore = { backend: BlobBackend; storageWarning: string | null };

/** Stores this worker has opened, by database: a boot tried again (after a failed restore) takes the same one. */
const opened = new Map<string, Promise<OpenedDaemonStore>>();

export function openDaemonStore(store: { storageNamespace?: string; ephemeral?: boolean }): Promise<OpenedDaemonStore> {
  if (store.ephemeral) return openStore(store);
  // Opened again, the store would find its own lock held and warn of a second tab.
  const name = engineDbName(store.storageNamespace);
  let found = opened.get(name);
  if (!found) opened.set(name, (found = openStore(store)));
  return found;
}

async function openStore(store: { storageNamespace?: string; ephemeral?: boolean }): Promise<OpenedDaemonStore> {
  try {
    const backend = store.ephemeral ? new MemoryBackend() : await IdbBackend.open({ name: engineDbName(store.storageNamespace) });
    const second = !store.ephemeral && !(await holdStoreLock(engineDbName(store.storageNamespace)));
    return { backend, storageWarning: second ? SECOND_TAB_WARNING : null };
  } catch (error) {
    return { backend: new MemoryBackend(), storageWarning: `Images and containers will not survive a reload: ${(error as Error).message}` };
  }
}

/** The engine's IndexedDB name: the main app's is unchanged, each embed gets its own. */
export function engineDbName(namespace?: string): string {
  return namespace ? `layerlab-engine@${namespace}` : 'layerlab-engine';
}

/** The first tab to open a store holds its lock for as long as it lives; later tabs learn they are second. */
async function holdStoreLock(name: string): Promise<boolean> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  if (!locks) return true;
  return new Promise((resolve) => {
    void locks.request(`layerlab-store:${name}`, { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      return lock ? new Promise<void>(() => {}) : undefined; // held until the worker ends
    });
  });
}
