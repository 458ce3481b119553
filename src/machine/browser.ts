import { Machine, MachineError, type MachineNetwork } from './machine';
import wasmUrl from 'v86/build/v86.wasm?url';
import { readStreamBytes } from '../engine/util/bytes';
import { dropCachedState, parseSnapshotId, readCachedStateFor } from './state-cache';

export interface BrowserMachineOptions {
  /** Base URL of the VM assets (the built public/vm/ folder). Default `/vm/` next to the page. */
  assetsUrl?: string;
  onProgress?: (progress: { step: string; value: number }) => void;
  signal?: AbortSignal;
  /**
   * When a downloaded snapshot may be decompressed into this browser's cache (a second or more of CPU on
   * a thread of its own, which on a small machine slows whatever else runs then); default: at once.
   */
  cacheStateAfter?: Promise<unknown>;
}

/** Fetches one asset, reporting bytes as they arrive; a missing asset names itself in the error. */
async function fetchAsset(
  url: string,
  onBytes: (loaded: number, total: number) => void,
  signal?: AbortSignal,
): Promise<ArrayBuffer> {
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (error) {
    throw new MachineError(`could not download VM asset ${url}: ${(error as Error).message}`);
  }
  if (!response.ok || !response.body) {
    throw new MachineError(`could not download VM asset ${url}: HTTP ${response.status}`);
  }
  const total = Number(response.headers.get('content-length') ?? 0);
  const bytes = await readStreamBytes(response.body, { onBytes: (loaded) => onBytes(loaded, total) });
  return bytes.buffer as ArrayBuffer;
}

/**
 * The relay of the server that serves this page (`npm start`, `npm run serve`: src/server/relay.ts), if it
 * has one: `GET /wisp/` answers `{"wisp": true}` there; static hosting has none and the guest stays offline.
 */
let relayProbe: Promise<MachineNetwork | undefined> | null = null;
export function pageRelay(): Promise<MachineNetwork | undefined> {
  relayProbe ??= (async () => {
    const origin = globalThis.location?.origin;
    if (!origin || !/^https?:/.test(origin)) return undefined;
    try {
      const response = await fetch(new URL('/wisp/', origin), { cache: 'no-store' });
      const body = response.ok && (response.headers.get('content-type') ?? '').includes('json') ? await response.json() : null;
      if (!body?.wisp) return undefined;
    } catch {
      return undefined;
    }
    return {
      relayUrl: `${origin.replace(/^http/, 'ws')}/wisp/`,
      resolve: async (name: string) => {
        const response = await fetch(new URL(`/wisp/dns?name=${encodeURIComponent(name)}`, origin));
        if (!response.ok) throw new Error(`${name}: no such host`);
        return ((await response.json()) as { addresses: string[] }).addresses;
      },
    };
  })();
  return relayProbe;
}

/** The snapshot's identity (vm/build.sh writes it with each snapshot), revalidated on each load; null: unknown. */
async function snapshotId(base: URL): Promise<string | null> {
  try {
    const response = await fetch(new URL('state-inputs.sha256', base), { cache: 'no-cache' });
    return response.ok ? parseSnapshotId(await response.text()) : null;
  } catch {
    return null;
  }
}

/**
 * Decompresses the downloaded snapshot into this browser's cache, in a worker of its own, so the next load
 * restores without decompressing. Best effort: nothing happens where workers or storage are unavailable.
 */
function fillStateCache(id: string, zst: ArrayBuffer): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      const worker = new Worker(new URL('./state-cache-worker.ts', import.meta.url), { type: 'module', name: 'layerlab-state-cache' });
      worker.onmessage = (event: MessageEvent<{ stored: boolean }>) => resolve(event.data.stored);
      worker.onerror = () => {
        worker.terminate();
        resolve(false);
      };
      const copy = zst.slice(0);
      worker.postMessage({ id, zst: copy }, [copy]);
    } catch {
      resolve(false);
    }
  });
}

/**
 * v86.wasm compiled while it downloads; the browser keeps the compiled code with the cached response, so a
 * reload skips compiling. Null where streaming compilation fails (a server sending another MIME type).
 */
let v86Module: Promise<WebAssembly.Module | null> | null = null;
function compiledV86(): Promise<WebAssembly.Module | null> {
  v86Module ??= typeof WebAssembly.compileStreaming === 'function' ? WebAssembly.compileStreaming(fetch(wasmUrl)).catch(() => null) : Promise.resolve(null);
  return v86Module;
}

/** v86's instance, from the code compiled above, or from the bytes where that failed. */
async function instantiateV86(imports: WebAssembly.Imports): Promise<WebAssembly.Exports> {
  const compiled = await compiledV86();
  if (compiled) return (await WebAssembly.instantiate(compiled, imports)).exports;
  const response = await fetch(wasmUrl);
  if (!response.ok) throw new MachineError(`could not download the emulator ${wasmUrl}: HTTP ${response.status}`);
  return (await WebAssembly.instantiate(await response.arrayBuffer(), imports)).instance.exports;
}

/** A snapshot lookup started before `startBrowserMachine` is called (see `prefetchBrowserMachine`). */
let prefetched: { base: string; id: Promise<string | null>; cached: Promise<ArrayBuffer | null> } | null = null;

function lookUpCachedState(base: URL): { id: Promise<string | null>; cached: Promise<ArrayBuffer | null> } {
  if (prefetched?.base === base.href) {
    const found = prefetched;
    prefetched = null;
    return found;
  }
  const id = snapshotId(base);
  return { id, cached: readCachedStateFor(id) };
}

/**
 * Starts looking up the snapshot (its identity, this browser's decompressed copy) while the page is still
 * setting up, so `startBrowserMachine` finds it ready.
 */
export function prefetchBrowserMachine(assetsUrl: string): void {
  void compiledV86();
  const base = new URL(assetsUrl, globalThis.location?.href);
  prefetched = { base: base.href, ...lookUpCachedState(base) };
}

/**
 * Downloads the BIOS and the saved VM state, then restores it. The state comes decompressed from this
 * browser's cache when it holds this snapshot (src/machine/state-cache.ts); otherwise it is downloaded, and
 * the cache is filled in the background once the VM runs and `cacheStateAfter` has resolved.
 */
export async function startBrowserMachine(options: BrowserMachineOptions = {}): Promise<Machine> {
  if (typeof WebAssembly !== 'object') {
    throw new MachineError('this browser has no WebAssembly, which the VM needs: use a current Chrome, Firefox or Safari');
  }
  const base = new URL(options.assetsUrl ?? 'vm/', globalThis.location?.href);
  const progress = options.onProgress ?? (() => {});
  const lookup = lookUpCachedState(base);
  // Everything that does not depend on the cache's answer starts at once.
  const network = pageRelay();
  const loaded = new Map<string, number>();
  const totals = new Map<string, number>();
  let downloading: readonly string[] = [];
  const report = () => {
    const done = [...loaded.values()].reduce((a, b) => a + b, 0);
    // A server that compresses on the fly sends no length: then there is no total to show, and the bar
    // creeps towards 70 % as bytes arrive instead of standing still.
    const known = downloading.every((name) => (totals.get(name) ?? 0) > 0);
    const total = known ? [...totals.values()].reduce((a, b) => a + b, 0) : 0;
    progress({
      step: `Downloading the VM (${(done / 1e6).toFixed(1)}${total ? ` / ${(total / 1e6).toFixed(1)}` : ''} MB)`,
      value: total ? (0.7 * done) / total : (0.7 * done) / (done + 8e6),
    });
  };
  const download = (name: string) =>
    fetchAsset(
      new URL(name, base).href,
      (bytes, total) => {
        loaded.set(name, bytes);
        totals.set(name, total);
        if (downloading.length) report();
      },
      options.signal,
    );
  const firmwareLoad = Promise.all([download('bios.bin'), download('vgabios.bin')]);
  firmwareLoad.catch(() => {});
  const cached = await lookup.cached;
  if (cached) progress({ step: 'Restoring the VM saved in this browser', value: 0.6 });
  else downloading = ['bios.bin', 'vgabios.bin', 'state.bin.zst'];
  const [[bios, vgaBios], downloaded] = await Promise.all([firmwareLoad, cached ? null : download('state.bin.zst')]);
  firmware = { bios, vgaBios };
  const id = await lookup.id;
  const start = async (state: ArrayBuffer) =>
    Machine.start({
      assets: { bios, vgaBios, state },
      wasmPath: wasmUrl,
      wasmInstantiate: instantiateV86,
      network: await network,
      onProgress: (p) => progress({ step: p.step, value: 0.7 + 0.3 * p.value }),
    });
  if (cached && id) {
    try {
      return await start(cached);
    } catch {
      // A stored state that does not restore (damaged storage): forget it and download.
      await dropCachedState(id);
      return startBrowserMachine(options);
    }
  }
  const zst = downloaded!;
  const machine = await start(zst.slice(0));
  if (id) void (options.cacheStateAfter ?? Promise.resolve()).then(() => fillStateCache(id, zst));
  return machine;
}

/** The BIOS images of the first start, kept for restoring checkpoints without downloading again. */
let firmware: { bios: ArrayBuffer; vgaBios: ArrayBuffer } | null = null;

/** A machine from a state saved in this page (a lesson step's checkpoint). */
export async function restoreBrowserMachine(state: ArrayBuffer): Promise<Machine> {
  if (!firmware) throw new MachineError('the VM has not been started yet');
  return Machine.start({ assets: { ...firmware, state: state.slice(0) }, wasmPath: wasmUrl, wasmInstantiate: instantiateV86, network: await pageRelay() });
}
