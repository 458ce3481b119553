/**
 * Decompresses a downloaded snapshot (zstd) and stores it with writeCachedState, in a worker of its own:
 * ~50 MB of zstd takes about a second, which would otherwise stall the VM (or the page) right after boot.
 * Message in: `{ id, zst }` (zst transferred); message out: `{ stored }`.
 */
import { decompress } from 'fzstd';
import { writeCachedState } from './state-cache.ts';

/** The Cache API cache the snapshot was kept in before it moved to OPFS: 26 MB nothing reads any more. */
const FORMER_CACHE = 'layerlab-vm-state';

self.onmessage = async (event: MessageEvent<{ id: string; zst: ArrayBuffer }>) => {
  let stored = false;
  try {
    await globalThis.caches?.delete(FORMER_CACHE).catch(() => false);
    stored = await writeCachedState(event.data.id, decompress(new Uint8Array(event.data.zst)));
  } catch {
    stored = false;
  }
  self.postMessage({ stored });
  self.close();
};
