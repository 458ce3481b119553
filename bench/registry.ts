/**
 * Registry throughput: `registry.pull_MBps` is Layerlab's pull (the engine's client, layers streamed into a
 * directory store and verified) from a local docker-registry; `registry.skopeo_MBps` is `skopeo copy` of
 * the same image to an OCI layout on the same machine in the same run. Their ratio is the figure to watch.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { runProgram } from '../src/process/run.ts';
import { ImageStore } from '../src/engine/store/image-store.ts';
import { NodeDirBackend } from '../src/engine/store/node-dir.ts';
import { RegistryClient } from '../src/engine/registry/client.ts';
import { pullImage } from '../src/engine/registry/pull.ts';
import { nodeSha256 } from '../src/host/node.ts';
import { startRegistry, writeOciLayout, skopeoPush } from '../test/registry/local-registry.ts';

const RUNS = 3;
const LAYER_MB = 48;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export async function benchRegistry(): Promise<Record<string, number | null | string>> {
  const registry = await startRegistry();
  const work = await mkdtemp(path.join(tmpdir(), 'layerlab-bench-registry-'));
  try {
    // Incompressible layers, so the figure is about moving and hashing bytes, not gzip ratios.
    const layers = [0, 1, 2].map(() => ({ files: [{ name: 'data', data: randomBytes((LAYER_MB / 3) * 1024 * 1024) }] }));
    await writeOciLayout(path.join(work, 'layout'), 'v1', [{ platform: { os: 'linux', architecture: '386' }, layers }], { single: true });
    const ref = `${registry.host}/bench/big:1`;
    await skopeoPush(path.join(work, 'layout'), 'v1', ref);

    const pullTimes: number[] = [];
    let bytes = 0;
    for (let i = 0; i < RUNS; i++) {
      const dir = path.join(work, `store-${i}`);
      const store = await ImageStore.open({ backend: await NodeDirBackend.open({ root: dir }) });
      const started = performance.now();
      const result = await pullImage({ client: new RegistryClient({ fetch: (url, init) => fetch(url, init), createHasher: nodeSha256 }), store, ref });
      pullTimes.push((performance.now() - started) / 1000);
      bytes = result.bytes;
      await rm(dir, { recursive: true, force: true });
    }
    const skopeoTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const dir = path.join(work, `skopeo-${i}`);
      const started = performance.now();
      await runProgram('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir}:v1`]);
      skopeoTimes.push((performance.now() - started) / 1000);
      await rm(dir, { recursive: true, force: true });
    }
    const mb = bytes / 1e6;
    const pull = mb / median(pullTimes);
    const skopeo = mb / median(skopeoTimes);
    return {
      'registry.pull_MBps': Number(pull.toFixed(1)),
      'registry.skopeo_MBps': Number(skopeo.toFixed(1)),
      'registry.pull_vs_skopeo': Number((pull / skopeo).toFixed(2)),
    };
  } finally {
    await registry.close();
    await rm(work, { recursive: true, force: true });
  }
}
