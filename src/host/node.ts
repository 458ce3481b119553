/**
 * The engine + the VM under Node: what the `layerlab` CLI, the integration tests, lesson verification
 * and the benchmarks run. The store is a directory; the VM restores from the built snapshot.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { Engine } from '../engine/engine.ts';
import { createHash } from 'node:crypto';
import type { HasherFactory } from '../engine/registry/hash.ts';
import type { Digest } from '../engine/oci/digest.ts';
import { NodeDirBackend } from '../engine/store/node-dir.ts';
import { MemoryBackend, type BlobBackend } from '../engine/store/backend.ts';
import { startNodeMachine, DEFAULT_ASSETS_DIR } from '../machine/node.ts';
import type { Machine } from '../machine/machine.ts';
import { readBaseImages } from '../../vm/base-images.ts';
import { serveGuestDocker } from './guest-docker.ts';
import { relayOptionsFromEnv, startLocalRelay, type RelayOptions } from '../server/relay.ts';

export interface NodeEngineOptions {
  /** Store directory; omit for an in-memory store (tests). */
  storeDir?: string;
  /** VM assets folder (default public/vm). */
  assetsDir?: string;
  /**
   * The guest's way out: a relay in this process with these settings (default: from the environment,
   * LAYERLAB_NETWORK_ALLOW / LAYERLAB_RELAY, src/server/relay.ts); null: no network.
   */
  relay?: RelayOptions | null;
}

/** What a failed RUN step adds when the CLI runs without a relay. */
const OFFLINE_IN_CLI = 'no network: the relay is off (LAYERLAB_RELAY=off); unset it to reach the internet';

/** Reads `file:` URLs from disk, so lazily registered base layers work under Node. */
const nodeFetch: typeof fetch = async (input, init) => {
  const url = String(input instanceof Request ? input.url : input);
  if (!url.startsWith('file:')) return fetch(input, init);
  try {
    return new Response(await readFile(fileURLToPath(url)));
  } catch {
    return new Response(null, { status: 404, statusText: `no file ${url}` });
  }
};

/** Node's native sha256: several times faster than WebAssembly for big layers. */
export const nodeSha256: HasherFactory = async () => {
  const hash = createHash('sha256');
  return { update: (chunk) => void hash.update(chunk), digest: () => `sha256:${hash.digest('hex')}` as Digest };
};

export async function openNodeEngine(options: NodeEngineOptions = {}): Promise<{ engine: Engine; machine: Machine; close(): Promise<void> }> {
  const assetsDir = options.assetsDir ?? DEFAULT_ASSETS_DIR;
  const backend = options.storeDir ? await NodeDirBackend.open({ root: resolve(options.storeDir) }) : new MemoryBackend();
  const relayOptions = options.relay === undefined ? relayOptionsFromEnv() : options.relay;
  // Refusals reach the failed build's error (and the relay's own reporter, e.g. the log).
  let machineRef: Machine | null = null;
  const relay = relayOptions
    ? await startLocalRelay({
        ...relayOptions,
        onRefused: (destination, reason) => {
          relayOptions.onRefused?.(destination, reason);
          machineRef?.noteNetworkRefusal(reason);
        },
      })
    : null;
  const machine = await startNodeMachine({
    dir: assetsDir,
    ...(relay ? { network: { relayUrl: relay.url, resolve: relay.resolve } } : { offlineReason: OFFLINE_IN_CLI }),
  }).catch(async (error: unknown) => {
    await relay?.close();
    throw error;
  });
  machineRef = machine;
  const engine = await openEngineOn(machine, backend, assetsDir);
  const stopServing = serveGuestDocker({ engine, guest: machine });
  return {
    engine,
    machine,
    async close() {
      stopServing();
      await machine.destroy();
      await relay?.close();
      await backend.close();
    },
  };
}

/** An engine on a running VM and a store, with the base images of `assetsDir` (another store on the same VM, in tests). */
export async function openEngineOn(machine: Machine, backend: BlobBackend, assetsDir = DEFAULT_ASSETS_DIR): Promise<Engine> {
  return Engine.open({
    backend,
    guest: machine,
    baseImages: await readBaseImages(assetsDir),
    baseLayerUrl: (file) => pathToFileURL(join(assetsDir, 'base', file)).href,
    fetch: nodeFetch,
    // Node talks to registries directly (no CORS, no proxy).
    registry: { fetch: (url, init) => fetch(url, init), createHasher: nodeSha256 },
  });
}
