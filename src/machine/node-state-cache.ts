/**
 * The VM snapshot, decompressed, kept on this machine for Node (the CLI's daemon, tests, the bench), as
 * src/machine/state-cache.ts keeps it in a browser: restoring the raw state skips v86's zstd decoding of
 * ~50 MB (about 0.3 s of a 0.7 s restore). The first restore of a snapshot uses the shipped state.bin.zst
 * and fills the cache in a worker thread; later restores read the raw file. Every step may fail (no home
 * directory, a read-only or full disk): then restores decompress as without a cache.
 *
 * Folder: LAYERLAB_STATE_CACHE (a path, or `off`), else $XDG_CACHE_HOME/layerlab, else ~/.cache/layerlab.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

/** Snapshots kept at once (several checkouts on one machine each have their own). */
const KEPT_STATES = 3;

/** v86's saved-state header: magic, format version, total length, info block length (int32 each). */
const V86_STATE_MAGIC = -2039052682;

/** The cache folder, or null when caching is off. */
export function nodeStateCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const configured = env.LAYERLAB_STATE_CACHE?.trim();
  if (configured) return /^(off|0|false|no)$/i.test(configured) ? null : configured;
  const base = env.XDG_CACHE_HOME?.trim() || join(homedir(), '.cache');
  return join(base, 'layerlab');
}

/**
 * The cache file name of the snapshot at `zstPath`: its build's input hash (state-inputs.sha256 beside it),
 * size and modification time, so a rebuilt snapshot (even from the same inputs) never restores an older one.
 */
export async function stateCacheFile(zstPath: string, inputsPath: string): Promise<string | null> {
  try {
    const [inputs, info] = await Promise.all([readFile(inputsPath, 'utf8'), stat(zstPath)]);
    const id = createHash('sha256').update(`${inputs.trim()}:${info.size}:${info.mtimeMs}`).digest('hex').slice(0, 32);
    return `state-${id}.bin`;
  } catch {
    return null;
  }
}

/** Whether `bytes` is a complete uncompressed v86 state (a cut-short file would fail to restore). */
export function isCompleteRawState(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 16) return false;
  const header = new DataView(bytes.buffer, bytes.byteOffset, 16);
  return header.getInt32(0, true) === V86_STATE_MAGIC && header.getInt32(8, true) === bytes.byteLength;
}

/** The cached raw state, or null (none, incomplete, unreadable). */
export async function readNodeCachedState(cacheDir: string, file: string): Promise<ArrayBuffer | null> {
  const path = join(cacheDir, file);
  try {
    const bytes = await readFile(path);
    if (!isCompleteRawState(bytes)) {
      await rm(path, { force: true });
      return null;
    }
    const now = new Date();
    await utimes(path, now, now).catch(() => {}); // most recently used: kept longest
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  } catch {
    return null;
  }
}

/** Forgets a cached state (it did not restore). */
export async function dropNodeCachedState(cacheDir: string, file: string): Promise<void> {
  await rm(join(cacheDir, file), { force: true }).catch(() => {});
}

/**
 * The worker's code: plain JavaScript (it runs without the TypeScript loader), fzstd loaded by path.
 * In: workerData `{ fzstd, zst, tmp, path }`; decompresses, writes `tmp`, renames it to `path`.
 */
const FILL_WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const { writeFileSync, renameSync, rmSync } = require('node:fs');
const { decompress } = require(workerData.fzstd);
try {
  writeFileSync(workerData.tmp, decompress(new Uint8Array(workerData.zst)));
  renameSync(workerData.tmp, workerData.path);
  parentPort.postMessage(true);
} catch {
  rmSync(workerData.tmp, { force: true });
  parentPort.postMessage(false);
}
`;

const filling = new Map<string, Promise<boolean>>();

/**
 * Decompresses `zst` into the cache as `file`, in a worker thread (about a second of CPU that would
 * otherwise stall the VM), and deletes all but the most recently used snapshots. Resolves to whether it
 * was stored; never rejects. The worker does not keep the process alive: a process that exits first
 * leaves only a temporary file, removed by the next fill.
 */
export function fillNodeStateCache(cacheDir: string, file: string, zst: Uint8Array): Promise<boolean> {
  const key = join(cacheDir, file);
  const running = filling.get(key);
  if (running) return running;
  const fill = (async () => {
    try {
      await mkdir(cacheDir, { recursive: true });
      const tmp = join(cacheDir, `${file}.${process.pid}.tmp`);
      const copy = zst.slice();
      const worker = new Worker(FILL_WORKER, {
        eval: true,
        workerData: { fzstd: createRequire(import.meta.url).resolve('fzstd'), zst: copy.buffer, tmp, path: key },
        transferList: [copy.buffer],
      });
      worker.unref();
      const stored = await new Promise<boolean>((resolve) => {
        worker.once('message', (ok: boolean) => resolve(ok));
        worker.once('error', () => resolve(false));
        worker.once('exit', () => resolve(false));
      });
      if (stored) await pruneNodeStateCache(cacheDir, file);
      return stored;
    } catch {
      return false;
    } finally {
      filling.delete(key);
    }
  })();
  filling.set(key, fill);
  return fill;
}

/** Deletes leftover temporary files and all but the KEPT_STATES most recently used snapshots. */
async function pruneNodeStateCache(cacheDir: string, keep: string): Promise<void> {
  const names = await readdir(cacheDir).catch(() => [] as string[]);
  const states: { name: string; used: number }[] = [];
  for (const name of names) {
    if (!name.startsWith('state-')) continue;
    const path = join(cacheDir, name);
    if (name.endsWith('.tmp')) {
      // another process's fill may still be writing it: only old ones go
      const info = await stat(path).catch(() => null);
      if (info && Date.now() - info.mtimeMs > 10 * 60_000) await rm(path, { force: true }).catch(() => {});
    } else if (name.endsWith('.bin') && name !== keep) {
      const info = await stat(path).catch(() => null);
      if (info) states.push({ name, used: info.mtimeMs });
    }
  }
  states.sort((a, b) => b.used - a.used);
  for (const stale of states.slice(KEPT_STATES - 1)) await rm(join(cacheDir, stale.name), { force: true }).catch(() => {});
}
