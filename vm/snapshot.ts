/**
 * Boots the freshly built guest once under Node, unpacks the base images' layers inside it, brings the default
 * bridge up, and saves the v86 state as public/vm/state.bin.zst, so learners never wait for a cold boot.
 * Run by vm/build.sh after the kernel, initramfs and base layers are built.
 */
import { execFileSync } from 'node:child_process';
import { readFile, writeFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { GUEST_PATHS } from '../src/engine/guest';
import { DEFAULT_BRIDGE_SETUP } from '../src/engine/network/networks';
import { containerCgroupDir } from '../src/engine/runtime/spec';
import { spawnInGuest } from '../src/engine/guest-spawn';
import { startNodeMachine, DEFAULT_ASSETS_DIR } from '../src/machine/node';
import { baseLayerFiles } from './base-images';

/**
 * Base images whose layers are unpacked inside the snapshot. python's second layer (29 MB) is left out:
 * it would make the shipped snapshot ~20 MB instead of ~10; it is unpacked on first use instead.
 */
const PRELOADED_IMAGES = ['busybox'];

const dir = process.argv[2] ?? DEFAULT_ASSETS_DIR;
const started = performance.now();
const machine = await startNodeMachine({ dir, coldBoot: true });
const bootMs = performance.now() - started;
console.log(`snapshot: cold boot to agent ready in ${(bootMs / 1000).toFixed(1)} s`);

for (const layer of await baseLayerFiles(dir, PRELOADED_IMAGES)) {
  const bytes = new Uint8Array(await readFile(layer.path));
  const transfer = `base-${layer.diffIdHex}.tar`;
  await machine.putFile(transfer, bytes);
  await machine.request(
    'unpack',
    { tar: `${GUEST_PATHS.share}/${transfer}`, dest: `${GUEST_PATHS.layers}/${layer.diffIdHex}` },
    { timeoutMs: 300_000 },
  );
  await machine.request('rm', { path: `${GUEST_PATHS.share}/${transfer}` });
  console.log(`snapshot: unpacked ${layer.file} (${(bytes.length / 1e6).toFixed(1)} MB) in the guest`);
}

// The default bridge up with its NAT rules, as the engine would make them before the first container on it.
for (const argv of DEFAULT_BRIDGE_SETUP) {
  const { exit, stdout, stderr } = await spawnInGuest(machine, [...argv]);
  if (exit !== 0) throw new Error(`snapshot: ${argv.join(' ')} failed: ${(stderr + stdout).trim()}`);
}
console.log('snapshot: default bridge docker0 up, NAT rules in force');

// Docker's device rules, which rcS attached to the containers' parent cgroup (vm/agent/devices.c): containers
// carry none of their own, so a snapshot without them would let every container open any device. The loop
// device the VM reads must be refused to a process in a cgroup under that parent.
const probe = await spawnInGuest(machine, [
  '/bin/sh',
  '-c',
  `d=${containerCgroupDir('snapshot-check')}; mkdir "$d" && mknod /tmp/blk b 7 0 || exit 1
   read_blk='head -c 1 /tmp/blk >/dev/null 2>&1 && echo read || echo refused'
   sh -c "$read_blk"; sh -c "echo \\$\\$ > $d/cgroup.procs && $read_blk"
   rm -f /tmp/blk; rmdir "$d"`,
]);
if (probe.stdout !== 'read\nrefused\n') throw new Error(`snapshot: containers' device rules not in force (rcS, layerlab-cgroup-devices): ${(probe.stderr + probe.stdout).trim()}`);
console.log("snapshot: containers' device rules in force");

// Freed pages are zeroed (init_on_free=1) and dropping caches frees more: the state compresses far better.
await machine.request('spawn', { argv: ['/bin/sh', '-c', 'sync; echo 3 > /proc/sys/vm/drop_caches'] });
const state = new Uint8Array(await machine.saveState());
machine.destroy();

const raw = join(dir, 'state.bin');
await writeFile(raw, state);
// Long-distance matching finds the repeats far apart in guest memory (a ~7% smaller file); a 128 MiB
// window is what v86's zstd decoder accepts by default, and restoring takes no longer.
execFileSync('zstd', ['-19', '--long=27', '-q', '-f', '--rm', raw, '-o', `${raw}.zst`]);
await rm(raw, { force: true });
const shipped = (await stat(`${raw}.zst`)).size;
await writeFile(
  join(dir, 'snapshot.json'),
  JSON.stringify({ cold_boot_ms: Math.round(bootMs), raw_bytes: state.length, zst_bytes: shipped }, null, 2),
);
console.log(`snapshot: ${(state.length / 1e6).toFixed(1)} MB raw, ${(shipped / 1e6).toFixed(1)} MB zstd`);
process.exit(0);
