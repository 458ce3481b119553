import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { Machine, MachineError, type MachineAssets, type MachineNetwork } from './machine';
import { dropNodeCachedState, fillNodeStateCache, nodeStateCacheDir, readNodeCachedState, stateCacheFile } from './node-state-cache';

/** The VM assets folder written by `npm run build:vm` (served to browsers as /vm/). */
export const DEFAULT_ASSETS_DIR = resolve(import.meta.dirname, '../../public/vm');

export function v86WasmPath(): string {
  return createRequire(import.meta.url).resolve('v86/build/v86.wasm');
}

async function readAsset(dir: string, name: string): Promise<ArrayBuffer> {
  try {
    const bytes = await readFile(join(dir, name));
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  } catch (error) {
    throw new MachineError(
      `VM asset ${join(dir, name)} is missing or unreadable (${(error as NodeJS.ErrnoException).code}): run \`npm run build:vm\``,
    );
  }
}

export interface NodeMachineOptions {
  /** Folder with the VM assets. Default: public/vm. */
  dir?: string;
  /** Cold-boot from kernel + initrd instead of restoring the snapshot (the VM build does this). */
  coldBoot?: boolean;
  /** A relay for the guest's network (src/server/relay.ts `startLocalRelay`); none: no way out. */
  network?: MachineNetwork;
  /** Without `network`: what a failed RUN step adds. */
  offlineReason?: string;
  /** Restore from this machine's decompressed copy of the snapshot when there is one (src/machine/node-state-cache.ts). Default: true. */
  stateCache?: boolean;
}

/** Where the decompressed copy of the snapshot in `dir` is cached, or null (caching off, no snapshot identity). */
async function stateCacheEntry(dir: string, enabled: boolean): Promise<{ cacheDir: string; file: string } | null> {
  const cacheDir = enabled ? nodeStateCacheDir() : null;
  const file = cacheDir ? await stateCacheFile(join(dir, 'state.bin.zst'), join(dir, 'state-inputs.sha256')) : null;
  return cacheDir && file ? { cacheDir, file } : null;
}

/**
 * Makes sure this machine holds the decompressed snapshot of `dir` (what the first restore starts in the
 * background), waiting for it; false when caching is off or failed. For the bench and tests that want a
 * known state of the cache.
 */
export async function ensureNodeStateCache(dir = DEFAULT_ASSETS_DIR): Promise<boolean> {
  const entry = await stateCacheEntry(dir, true);
  if (!entry) return false;
  if (await readNodeCachedState(entry.cacheDir, entry.file)) return true;
  return fillNodeStateCache(entry.cacheDir, entry.file, new Uint8Array(await readAsset(dir, 'state.bin.zst')));
}

/** Starts the VM under Node from the built assets. */
export async function startNodeMachine(options: NodeMachineOptions = {}): Promise<Machine> {
  const dir = options.dir ?? DEFAULT_ASSETS_DIR;
  const assets: MachineAssets = {
    bios: await readAsset(dir, 'bios.bin'),
    vgaBios: await readAsset(dir, 'vgabios.bin'),
  };
  const start = (state?: ArrayBuffer) =>
    Machine.start({ assets: state ? { ...assets, state } : assets, wasmPath: v86WasmPath(), network: options.network, offlineReason: options.offlineReason });
  if (options.coldBoot) {
    assets.bzImage = await readAsset(dir, 'bzImage');
    assets.initrd = await readAsset(dir, 'initrd.img');
    assets.cmdline = new TextDecoder().decode(await readAsset(dir, 'cmdline.txt')).trim();
    return start();
  }
  const cache = await stateCacheEntry(dir, options.stateCache ?? true);
  const cached = cache ? await readNodeCachedState(cache.cacheDir, cache.file) : null;
  if (cache && cached) {
    try {
      return await start(cached);
    } catch {
      await dropNodeCachedState(cache.cacheDir, cache.file); // restore from the shipped snapshot instead
    }
  }
  const zst = await readAsset(dir, 'state.bin.zst');
  const machine = await start(zst);
  if (cache) void fillNodeStateCache(cache.cacheDir, cache.file, new Uint8Array(zst));
  return machine;
}
