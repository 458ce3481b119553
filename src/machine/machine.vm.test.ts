/**
 * The real guest under Node: restore the snapshot, then exercise the agent's primitives the engine is
 * built on (containers with crun, overlay writable layers, layer tars, 9p transfer).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unpackTar, packTar } from 'modern-tar';
import { startNodeMachine, DEFAULT_ASSETS_DIR } from './node';
import type { Machine } from './machine';
import { GuestLayers } from '../engine/runtime/guest-layers';
import { runtimeSpec } from '../engine/runtime/spec';
import { GUEST_PATHS } from '../engine/guest';
import { readBaseImages } from '../../vm/base-images';

let machine: Machine;
let layers: GuestLayers;
/** Layer tars the tests make up, by diffID (base layers are already unpacked in the snapshot). */
const extraLayers = new Map<string, Uint8Array>();
let busyboxLayers: string[];
const decoder = new TextDecoder();

beforeAll(async () => {
  machine = await startNodeMachine();
  layers = new GuestLayers({
    guest: machine,
    readLayerTar: async (diffID) => extraLayers.get(diffID) ?? Promise.reject(new Error(`no tar for ${diffID}`)),
  });
  const images = await readBaseImages(DEFAULT_ASSETS_DIR);
  busyboxLayers = images.find((image) => image.name === 'busybox')!.layers.map((layer) => layer.digest);
});

afterAll(() => machine?.destroy());

/** Runs `args` in a fresh busybox container; returns its output and exit code. */
async function runInContainer(id: string, args: string[], diffIDs = busyboxLayers) {
  const mounted = await layers.mount(id, diffIDs);
  let stdout = '';
  let stderr = '';
  const { exit } = await machine.request<{ exit: number }>(
    'run',
    {
      name: id,
      bundle: mounted.dir,
      config: runtimeSpec({
        id,
        process: { args, env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], cwd: '/', uid: 0, gid: 0 },
        rootfs: mounted.rootfs,
        hostname: id.slice(0, 12),
      }),
    },
    {
      onStream: (stream, data) => {
        if (stream === 'stdout') stdout += decoder.decode(data);
        else stderr += decoder.decode(data);
      },
    },
  );
  return { exit, stdout, stderr, mounted };
}

describe('the guest VM', () => {
  it('schedules the CPU slices itself (src/machine/cpu-slices.ts): fails when v86 renames the loop it drives', () => {
    expect(machine.cpuSlices).toBe('chained');
  });

  it('compiles guest code only in sustained work (jit-gate.ts): not for a container start, yes in a long loop, never while held', async () => {
    expect(machine.compiling).toBe(false);
    await runInContainer('jit-short', ['true']);
    expect(machine.compiling).toBe(false);
    /** Keeps the guest's CPU busy for `seconds`; true if compiling was on at some point meanwhile. */
    const busyFor = async (seconds: number) => {
      let opened = false;
      const poll = setInterval(() => (opened ||= machine.compiling === true), 50);
      try {
        const loop = `end=$(( $(date +%s) + ${seconds} )); while [ $(date +%s) -lt $end ]; do :; done`;
        await machine.request('spawn', { argv: ['/bin/sh', '-c', loop] }, { timeoutMs: 120_000 });
      } finally {
        clearInterval(poll);
      }
      return opened;
    };
    const release = machine.holdCompiling();
    expect(await busyFor(9)).toBe(false);
    release();
    expect(await busyFor(9)).toBe(true);
    // The guest idle for a few seconds: the next command finds compiling off again.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await machine.request('spawn', { argv: ['/bin/true'] });
    expect(machine.compiling).toBe(false);
  }, 120_000);

  it('counts the guest instructions a program takes (the benchmark\'s noise-free measure)', async () => {
    const count = async (script: string) => {
      const before = machine.instructionCounter;
      await machine.request('spawn', { argv: ['/bin/sh', '-c', script] });
      return (machine.instructionCounter - before) >>> 0;
    };
    const idle = await count('true');
    const busy = await count('i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done');
    expect(idle).toBeGreaterThan(0);
    expect(busy).toBeGreaterThan(idle + 10_000_000);
  });

  it('runs echo in a busybox container, in its own namespaces', async () => {
    const result = await runInContainer('t-echo', ['sh', '-c', 'echo hello from $(hostname); echo pid $$']);
    expect(result).toMatchObject({ exit: 0, stdout: 'hello from t-echo\npid 1\n' });
    await layers.remove('t-echo');
  });

  it("loads crun once per command: its binary is read-only, so crun does not re-execute a sealed copy of itself", async () => {
    let out = '';
    const script = [
      // one dynamic-loader start per process image; crun's self-copy would add a second
      'LD_DEBUG=statistics /usr/bin/crun --version 2>&1 | grep -c "total startup time"',
      '{ echo tampered >>/usr/bin/crun; } 2>/dev/null && echo writable || echo read-only',
    ].join('\n');
    await machine.request('spawn', { argv: ['/bin/sh', '-c', script] }, { onStream: (_stream, chunk) => void (out += decoder.decode(chunk)) });
    expect(out).toBe('1\nread-only\n');
  });

  it('reports a failing command and a missing program with their exit codes', async () => {
    expect((await runInContainer('t-fail', ['sh', '-c', 'exit 3'])).exit).toBe(3);
    await layers.remove('t-fail');
    const missing = await runInContainer('t-missing', ['/no/such/program']);
    expect(missing.exit).not.toBe(0);
    expect(missing.stderr).toMatch(/no\/such\/program/);
    await layers.remove('t-missing');
  });

  it('keeps writes in the writable layer: added, modified and deleted (whiteout) files', async () => {
    const { exit, mounted } = await runInContainer('t-cow', [
      'sh',
      '-c',
      'echo new > /tmp/added.txt && echo changed >> /etc/passwd && rm /bin/vi',
    ]);
    expect(exit).toBe(0);
    const { entries } = await machine.request<{ entries: { path: string; type: string }[] }>('list', {
      dir: mounted.upper,
    });
    const byPath = Object.fromEntries(entries.map((entry) => [entry.path, entry.type]));
    expect(byPath).toMatchObject({ '/tmp/added.txt': 'f', '/etc/passwd': 'f', '/bin/vi': 'w' });

    // Packed as an OCI layer: the whiteout becomes .wh.vi, and the digest is the sha256 of the bytes.
    const tar = await layers.pack(mounted.upper);
    const names = (await unpackTar(tar)).map((entry) => entry.header.name);
    expect(names).toEqual(expect.arrayContaining(['bin/.wh.vi', 'etc/passwd', 'tmp/added.txt']));
    expect(names.some((name) => name.startsWith('bin/vi'))).toBe(false);

    // The image layer underneath is untouched.
    const lower = GuestLayers.layerDir(busyboxLayers[0]);
    const check = await machine.request<{ exit: number }>('spawn', { argv: ['/bin/sh', '-c', `test -e ${lower}/bin/vi && ! grep -q changed ${lower}/etc/passwd`] });
    expect(check.exit).toBe(0);
    await layers.remove('t-cow');
  });

  it('unpacks a layer with a whiteout and an opaque dir, and the merged view honours both', async () => {
    const layerTar = await packTar([
      { header: { name: 'etc/.wh.group', size: 0 }, body: new Uint8Array() },
      { header: { name: 'home/', type: 'directory', size: 0 } },
      { header: { name: 'home/.wh..wh..opq', size: 0 }, body: new Uint8Array() },
      { header: { name: 'home/only.txt', size: 2 }, body: 'hi' },
    ]);
    const diffID = 'sha256:' + 'ab'.repeat(32);
    extraLayers.set(diffID, layerTar);
    // Put something into /home in a lower layer first, so the opaque dir has something to hide.
    const setup = await runInContainer('t-home', ['sh', '-c', 'mkdir -p /home/old && touch /home/old/file']);
    expect(setup.exit).toBe(0);
    const homeTar = await layers.pack(setup.mounted.upper);
    await layers.remove('t-home');
    const homeDiffID = 'sha256:' + 'cd'.repeat(32);
    extraLayers.set(homeDiffID, homeTar);

    const result = await runInContainer('t-merged', ['sh', '-c', 'ls /home; test -e /etc/group && echo group-visible || echo group-hidden'], [
      ...busyboxLayers,
      homeDiffID,
      diffID,
    ]);
    expect(result.stdout).toBe('only.txt\ngroup-hidden\n');
    await layers.remove('t-merged');
    await machine.request('rm', { path: GuestLayers.layerDir(diffID) });
    await machine.request('rm', { path: GuestLayers.layerDir(homeDiffID) });
    layers.reset();
  });

  it('transfers a 5 MB file both ways intact through 9p', async () => {
    const data = Uint8Array.from({ length: 5 * 1024 * 1024 }, (_, i) => (i * 31 + (i >> 11)) & 0xff);
    await machine.putFile('big-in.bin', data);
    const copy = await machine.request<{ exit: number }>('spawn', {
      argv: ['/bin/cp', `${GUEST_PATHS.share}/big-in.bin`, `${GUEST_PATHS.share}/big-out.bin`],
    });
    expect(copy.exit).toBe(0);
    const back = await machine.getFile('big-out.bin');
    expect(back.length).toBe(data.length);
    expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
    await machine.request('rm', { path: `${GUEST_PATHS.share}/big-in.bin` });
    await machine.request('rm', { path: `${GUEST_PATHS.share}/big-out.bin` });
  });

  it('runs two containers at once', async () => {
    const [a, b] = await Promise.all([
      runInContainer('t-two-a', ['sh', '-c', 'sleep 1; echo a']),
      runInContainer('t-two-b', ['sh', '-c', 'echo b']),
    ]);
    expect([a.stdout, b.stdout]).toEqual(['a\n', 'b\n']);
    await layers.remove('t-two-a');
    await layers.remove('t-two-b');
  });

  it("keeps the guest clock on the host's after the restore (date in a container)", async () => {
    const { exit, stdout } = await runInContainer('clock1', ['date', '+%s']);
    expect(exit).toBe(0);
    expect(Math.abs(Number(stdout.trim()) - Date.now() / 1000)).toBeLessThanOrEqual(2);
  });

  it('sets the guest clock and takes a link up or down through the agent (no program started)', async () => {
    const guestSeconds = async () => {
      let out = '';
      await machine.request('spawn', { argv: ['date', '+%s'] }, { onStream: (_stream, chunk) => void (out += decoder.decode(chunk)) });
      return Number(out.trim());
    };
    await machine.request('clock', { ms: Date.now() - 3_600_000 });
    expect(Math.abs((await guestSeconds()) - (Date.now() / 1000 - 3600))).toBeLessThanOrEqual(2);
    await machine.syncClock();
    expect(Math.abs((await guestSeconds()) - Date.now() / 1000)).toBeLessThanOrEqual(2);

    const up = async () => Number.parseInt(atob((await machine.request<{ data: string }>('read', { path: '/sys/class/net/eth0/flags' })).data).trim(), 16) & 1;
    expect(await up()).toBe(0); // restored without a relay: eth0 is down
    await machine.request('link', { name: 'eth0', up: true });
    expect(await up()).toBe(1);
    await machine.request('link', { name: 'eth0', up: false });
    expect(await up()).toBe(0);
    await expect(machine.request('link', { name: 'nosuch0', up: true })).rejects.toThrow(/nosuch0/);
    await expect(machine.request('clock', {})).rejects.toThrow(/ms/);
  });

  it('answers a bad request with an error naming it, and keeps serving', async () => {
    await expect(machine.request('unpack', { tar: '/mnt/host/missing.tar', dest: '/tmp/x' })).rejects.toThrow(/missing\.tar/);
    await expect(machine.request('frobnicate')).rejects.toThrow(/frobnicate/);
    await expect(machine.request('hello')).resolves.toMatchObject({ version: 1 });
  });

  it("the VM's own shell has the image's busybox: `wget -T` on a refused port fails cleanly (Debian's build segfaults)", async () => {
    let stderr = '';
    const { exit } = await machine.request<{ exit: number }>(
      'spawn',
      { argv: ['wget', '-T', '2', '-qO-', 'http://127.0.0.1:9/'] },
      { onStream: (stream, data) => void (stream === 'stderr' && (stderr += decoder.decode(data))) },
    );
    expect(stderr).toContain('Connection refused');
    expect(exit).toBe(1);
    const image = await runInContainer('t-busybox-same', ['busybox']);
    const vm = await machine.request<{ exit: number }>('spawn', { argv: ['sh', '-c', 'busybox | head -1 > /tmp/bb-version'] });
    expect(vm.exit).toBe(0);
    const { data } = await machine.request<{ data: string }>('read', { path: '/tmp/bb-version' });
    expect(image.stdout.split('\n')[0]).toBe(atob(data).trim());
    await layers.remove('t-busybox-same');
  });
});
