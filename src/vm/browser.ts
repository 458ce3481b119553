import { Machine, MachineError, type MachineAssets, type MachineNetwork } from './machine';
import wasmUrl from 'v86/build/v86.wasm?url';
import { concatBytes } from '../engine/util/bytes';

export interface BrowserMachineOptions {
  /** Base URL of the VM assets (the built public/vm/ folder). Default `/vm/` next to the page. */
  assetsUrl?: string;
  onProgress?: (progress: { step: string; value: number }) => void;
  signal?: AbortSignal;
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
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onBytes(loaded, total);
  }
  return concatBytes(chunks).buffer as ArrayBuffer;
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

/** Downloads the BIOS and the saved VM state, then restores it. */
export async function startBrowserMachine(options: BrowserMachineOptions = {}): Promise<Machine> {
  if (typeof WebAssembly !== 'object') {
    throw new MachineError('this browser has no WebAssembly, which the VM needs: use a current Chrome, Firefox or Safari');
  }
  const base = new URL(options.assetsUrl ?? 'vm/', globalThis.location?.href);
  const progress = options.onProgress ?? (() => {});
  const names = ['bios.bin', 'vgabios.bin', 'state.bin.zst'] as const;
  const loaded = new Map<string, number>();
  const totals = new Map<string, number>();
  const report = () => {
    const done = [...loaded.values()].reduce((a, b) => a + b, 0);
    const total = [...totals.values()].reduce((a, b) => a + b, 0);
    progress({
      step: `Downloading the VM (${(done / 1e6).toFixed(1)}${total ? ` / ${(total / 1e6).toFixed(1)}` : ''} MB)`,
      value: total ? (0.7 * done) / total : 0,
    });
  };
  const [bios, vgaBios, state] = await Promise.all(
    names.map((name) =>
      fetchAsset(
        new URL(name, base).href,
        (bytes, total) => {
          loaded.set(name, bytes);
          totals.set(name, total);
          report();
        },
        options.signal,
      ),
    ),
  );
  firmware = { bios, vgaBios };
  const assets: MachineAssets = { bios, vgaBios, state };
  return Machine.start({
    assets,
    wasmPath: wasmUrl,
    network: await pageRelay(),
    onProgress: (p) => progress({ step: p.step, value: 0.7 + 0.3 * p.value }),
  });
}

/** The BIOS images of the first start, kept for restoring checkpoints without downloading again. */
let firmware: { bios: ArrayBuffer; vgaBios: ArrayBuffer } | null = null;

/** A machine from a state saved in this page (a lesson step's checkpoint). */
export async function restoreBrowserMachine(state: ArrayBuffer): Promise<Machine> {
  if (!firmware) throw new MachineError('the VM has not been started yet');
  return Machine.start({ assets: { ...firmware, state: state.slice(0) }, wasmPath: wasmUrl, network: await pageRelay() });
}
