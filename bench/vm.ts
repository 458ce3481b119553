/** VM figures: restore, cold boot, snapshot size, container start, 9p transfer, native crun. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUEST_PATHS } from '../src/engine/guest';
import { GuestLayers } from '../src/engine/runtime/guest-layers';
import { runtimeSpec } from '../src/engine/runtime/spec';
import { DEFAULT_ASSETS_DIR, ensureNodeStateCache, startNodeMachine } from '../src/machine/node';
import { readBaseImages } from '../vm/base-images';
import { median, round, time } from './stats';

export async function benchVm(): Promise<Record<string, number | null | string>> {
  const results: Record<string, number | null | string> = {};

  // Restore: a new emulator from the snapshot until the agent answers, as every VM start under Node does it:
  // from this machine's decompressed copy (src/machine/node-state-cache.ts), which the first restore of a
  // snapshot makes. First one in the process pays for compiling the wasm, so report the median of the later
  // ones too; vm.restore_uncached_ms is the very first restore of a new snapshot (decompressing state.bin.zst).
  const cached = await ensureNodeStateCache();
  results['vm.restore_state_cache'] = cached ? 'used' : 'unavailable (LAYERLAB_STATE_CACHE=off or not writable)';
  const restores: number[] = [];
  for (let i = 0; i < 5; i++) {
    const [ms, machine] = await time(() => startNodeMachine());
    restores.push(ms);
    machine.destroy();
  }
  results['vm.restore_first_ms'] = round(restores[0]);
  results['vm.restore_ms'] = round(median(restores.slice(1)));
  const uncached: number[] = [];
  for (let i = 0; i < 3; i++) {
    const [ms, machine] = await time(() => startNodeMachine({ stateCache: false }));
    uncached.push(ms);
    machine.destroy();
  }
  results['vm.restore_uncached_ms'] = round(median(uncached));

  const snapshot = JSON.parse(readFileSync(join(DEFAULT_ASSETS_DIR, 'snapshot.json'), 'utf8'));
  results['vm.cold_boot_ms'] = snapshot.cold_boot_ms; // measured by vm/snapshot.ts when it booted the build
  results['vm.snapshot_bytes'] = statSync(join(DEFAULT_ASSETS_DIR, 'state.bin.zst')).size;
  results['vm.snapshot_raw_bytes'] = snapshot.raw_bytes;

  const machine = await startNodeMachine();
  const layers = new GuestLayers({ guest: machine, readLayerTar: () => Promise.reject(new Error('unused')) });
  const busybox = (await readBaseImages(DEFAULT_ASSETS_DIR)).find((image) => image.name === 'busybox')!;
  const diffIDs = busybox.layers.map((layer) => layer.digest);
  let n = 0;
  const runEcho = async () => {
    const id = `bench-${n++}`;
    const mounted = await layers.mount(id, diffIDs);
    await machine.request('run', {
      name: id,
      bundle: mounted.dir,
      config: runtimeSpec({
        id,
        process: { args: ['echo', 'hi'], env: ['PATH=/bin'], cwd: '/', uid: 0, gid: 0 },
        rootfs: mounted.rootfs,
        hostname: id,
      }),
    });
    await layers.remove(id);
  };
  const echoes: number[] = [];
  for (let i = 0; i < 15; i++) echoes.push((await time(runEcho))[0]);
  results['run.echo_first_ms'] = round(echoes[0]);
  results['run.echo_warm_ms'] = round(median(echoes.slice(5))); // median of 10 after 5 warm-up runs

  const size = 8 * 1024 * 1024;
  const data = new Uint8Array(size).map((_, i) => i & 0xff);
  const toGuest: number[] = [];
  const fromGuest: number[] = [];
  for (let i = 0; i < 3; i++) {
    toGuest.push(
      (
        await time(async () => {
          await machine.putFile(`bench-in-${i}.bin`, data);
          await machine.request('spawn', { argv: ['/bin/cp', `${GUEST_PATHS.share}/bench-in-${i}.bin`, `/tmp/bench-${i}.bin`] });
        })
      )[0],
    );
    fromGuest.push(
      (
        await time(async () => {
          await machine.request('spawn', { argv: ['/bin/cp', `/tmp/bench-${i}.bin`, `${GUEST_PATHS.share}/bench-out-${i}.bin`] });
          await machine.getFile(`bench-out-${i}.bin`);
        })
      )[0],
    );
    await machine.request('spawn', { argv: ['/bin/sh', '-c', `rm -f /tmp/bench-${i}.bin ${GUEST_PATHS.share}/bench-*`] });
  }
  results['transfer.to_guest_MBps'] = round(size / 1e6 / (median(toGuest) / 1000));
  results['transfer.from_guest_MBps'] = round(size / 1e6 / (median(fromGuest) / 1000));
  machine.destroy();

  Object.assign(results, nativeCrunEcho());
  return results;
}

/** The same i386 crun and busybox layer, natively on the host: what emulation costs. */
function nativeCrunEcho(): Record<string, number | null | string> {
  const root = join(import.meta.dirname, '../vm/.cache/native');
  const loader = join(root, 'lib/ld-linux.so.2');
  if (!existsSync(loader)) return { 'native.crun_echo_ms': null, 'native.crun_echo_reason': 'vm/.cache/native missing (vm/build.sh makes it)' };
  // The comparison needs the host kernel to run i386 programs itself (qemu-user would measure emulation
  // again, and crun's memfd re-exec escapes it); probe with the static busybox before trying.
  const probe = spawnSync(join(root, 'bin/busybox'), ['true'], { stdio: 'ignore' });
  if (probe.status !== 0)
    return {
      'native.crun_echo_ms': null,
      'native.crun_echo_reason': `this kernel cannot execute i386 programs (no IA32 emulation: ${probe.error?.message ?? `exit ${probe.status}`})`,
    };
  try {
    const bundle = mkdtempSync(join(tmpdir(), 'layerlab-native-'));
    execFileSync('sh', ['-c', `mkdir -p ${bundle}/rootfs && tar -xf ${DEFAULT_ASSETS_DIR}/base/busybox-rootfs.tar -C ${bundle}/rootfs`]);
    const config = runtimeSpec({
      id: 'native',
      process: { args: ['echo', 'hi'], env: ['PATH=/bin'], cwd: '/', uid: 0, gid: 0 },
      rootfs: `${bundle}/rootfs`,
      hostname: 'native',
    });
    execFileSync('sh', ['-c', `cat > ${bundle}/config.json`], { input: JSON.stringify(config) });
    const crun = [loader, '--library-path', `${root}/lib:${root}/usr/lib/i386-linux-gnu:${root}/lib/i386-linux-gnu`, `${root}/usr/bin/crun`];
    const times: number[] = [];
    for (let i = 0; i < 12; i++) {
      const start = performance.now();
      execFileSync(crun[0], [...crun.slice(1), 'run', '--bundle', bundle, `native-${process.pid}-${i}`], { stdio: 'pipe' });
      times.push(performance.now() - start);
    }
    return { 'native.crun_echo_ms': round(median(times.slice(2)), 2) };
  } catch (error) {
    const message = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim().split('\n')[0];
    return { 'native.crun_echo_ms': null, 'native.crun_echo_reason': `crun could not run natively here: ${message}` };
  }
}
