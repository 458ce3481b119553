/**
 * Decompresses a downloaded snapshot (zstd) and stores it with writeCachedState, in a worker of its own:
 * ~50 MB of zstd takes about a second, which would otherwise stall the VM (or the page) right after boot.
 * Message in: `{ key, zst }` (zst transferred); message out: `{ stored }`.
 */
import { decompress } from 'fzstd';
import { writeCachedState } from './state-cache.ts';

self.onmessage = async (event: MessageEvent<{ key: string; zst: ArrayBuffer }>) => {
  let stored = false;
  try {
    stored = await writeCachedState(event.data.key, decompress(new Uint8Array(event.data.zst)));
  } catch {
    stored = false;
  }
  self.postMessage({ stored });
  self.close();
};
