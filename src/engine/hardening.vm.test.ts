/**
 * Containers are confined as Docker confines them (masked and read-only /proc paths, device rules,
 * seccomp, no new privileges, a CPU quota), builds' RUN steps get a bounded writable layer, and ordinary
 * programs and builds still work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from './engine.ts';
import { openNodeEngine } from '../host/node.ts';
import { rawTar } from './archive/testutil.ts';
import { containerDir } from './containers/containers.ts';
import { runtimeSpec } from './runtime/spec.ts';
import { spawnInGuest } from './guest-spawn.ts';
import { SECCOMP_BPF_ANNOTATION } from './runtime/seccomp-filters.ts';

let engine: Engine;

/** Any device node may be made (mknod); only the standard devices open, wherever their node is. */
const DEVICE_PROBE = [['mem', 'c 1 1'], ['loop', 'b 7 0'], ['urandom', 'c 1 9']]
  .map(([name, device]) => `rm -f /tmp/${name}; mknod /tmp/${name} ${device} && (head -c 1 /tmp/${name} >/dev/null 2>&1 && echo ${name}-read || echo ${name}-refused)`)
  .join('; ');

let opened: Awaited<ReturnType<typeof openNodeEngine>>;

beforeAll(async () => {
  opened = await openNodeEngine({ relay: null });
  ({ engine } = opened);
});

afterAll(() => opened?.close());

async function sh(script: string) {
  let out = '';
  const view = await engine.run({ image: 'busybox', autoRemove: true, command: ['sh', '-c', script], onOutput: (_s, text) => (out += text) });
  return { out, exitCode: view.exitCode };
}

describe('a container is confined like a Docker container', () => {
  it('cannot mount, unshare, or reach devices other than the standard ones', async () => {
    const r = await sh(
      [
        'mount -t tmpfs none /mnt 2>/dev/null && echo mounted || echo mount-refused',
        'unshare -n true 2>/dev/null && echo unshared || echo unshare-refused',
        DEVICE_PROBE,
        'head -c 1 /dev/zero | wc -c',
        'echo ok > /dev/null && echo null-ok',
      ].join('; '),
    );
    expect(r.out.split('\n')).toEqual(['mount-refused', 'unshare-refused', 'mem-refused', 'loop-refused', 'urandom-read', '1', 'null-ok', '']);
    // The control: the VM's own processes (outside the containers' cgroup, whose program refuses) read the loop device.
    const { stdout } = await spawnInGuest(opened.machine, ['/bin/sh', '-c', DEVICE_PROBE]);
    expect(stdout).toMatch(/^mem-\w+\nloop-read\nurandom-read\n$/);
  });

  it("gets crun's own compiled seccomp filter back (run.oci.seccomp_bpf_data) and still refuses what the filter refuses", async () => {
    const { machine } = opened;
    const read = async (path: string) => (await machine.request<{ data: string }>('read', { path })).data;
    // unshare(CLONE_NEWUSER) needs no capability: only the filter refuses it, as Docker's profile does.
    const probe = [
      'unshare -U true 2>/dev/null && echo userns || echo userns-refused',
      'mount -t tmpfs none /mnt 2>/dev/null && echo mounted || echo mount-refused',
      "grep -E '^Seccomp(_filters)?:' /proc/self/status",
      'sleep 4',
    ].join('; ');
    const started = async () => {
      const view = await engine.run({ image: 'busybox', command: ['sh', '-c', probe], detach: true });
      // Created (the run answers once crun's state exists) and asleep: its crun state is there to read.
      const state = { config: JSON.parse(new TextDecoder().decode(Buffer.from(await read(`${containerDir(view.id)}/config.json`), 'base64'))), bpf: await read(`/run/crun/${view.id}/seccomp.bpf`) };
      expect((await engine.wait({ container: view.id })).exitCode).toBe(0);
      const out = (await engine.logs({ container: view.id })).map((entry) => entry.text).join('');
      await engine.rm({ container: view.id });
      return { ...state, out };
    };
    const expected = /^userns-refused\nmount-refused\nSeccomp:\s+2\nSeccomp_filters:\s+1\n$/;
    // A long-lived container teaches the engine the filter (if an earlier one has not); the next one carries it.
    const first = await started();
    expect(first.out).toMatch(expected);
    const second = await started();
    expect(second.config.annotations).toEqual({ [SECCOMP_BPF_ANNOTATION]: first.bpf });
    expect(second.config.linux.seccomp).toEqual(first.config.linux.seccomp);
    // crun loaded the annotation's bytes (its state holds what it applied) and the container refuses as before.
    expect(second.bpf).toBe(first.bpf);
    expect(second.out).toMatch(expected);

    // The control: the same container without the filter may make a user namespace (so the refusal above is the filter's).
    const diffIDs = (await engine.inspectImage({ ref: 'busybox' })).RootFS.Layers;
    const id = 'seccomp-control';
    const mounted = await engine.guestLayers.mount(id, diffIDs);
    try {
      const config = runtimeSpec({ id, process: { args: ['sh', '-c', probe.replace('sleep 4', 'true')], env: ['PATH=/bin'], cwd: '/', uid: 0, gid: 0 }, rootfs: mounted.rootfs, hostname: 'control' }) as { linux: { seccomp?: unknown } };
      delete config.linux.seccomp;
      let out = '';
      await machine.request('run', { name: id, bundle: mounted.dir, config }, { onStream: (_s, data) => (out += new TextDecoder().decode(data)) });
      expect(out).toMatch(/^userns\nmount-refused\nSeccomp:\s+0\n/);
    } finally {
      await engine.guestLayers.remove(id);
    }
  });

  it("masks /proc/kcore, keeps /proc/sys read-only, and sets no_new_privs", async () => {
    const r = await sh('wc -c < /proc/kcore; (echo 1 > /proc/sys/kernel/domainname) 2>/dev/null && echo sys-written || echo sys-read-only; grep NoNewPrivs /proc/self/status');
    expect(r.out).toMatch(/^0\nsys-read-only\nNoNewPrivs:\s+1\n$/);
  });

});

describe('builds', () => {
  it('a RUN step that fills its layer fails with "No space left on device"; the next build works', async () => {
    const events: string[] = [];
    await expect(
      engine.build({
        dockerfile: 'FROM busybox\nRUN dd if=/dev/zero of=/fill bs=1M count=60\n',
        context: [],
        tags: ['filler'],
        onEvent: (e) => void events.push(JSON.stringify(e)),
      }),
    ).rejects.toThrow(/did not complete successfully/);
    expect(events.join('\n')).toMatch(/No space left on device/);
    const ok = await engine.build({ dockerfile: 'FROM busybox\nRUN echo fine > /fine\n', context: [], tags: ['fine'] });
    expect(ok.imageId).toMatch(/^sha256:/);
    let out = '';
    await engine.run({ image: 'fine', autoRemove: true, command: ['cat', '/fine'], onOutput: (_s, t) => (out += t) });
    expect(out).toBe('fine\n');
  });

  it('ADD of a local archive refuses members that escape, hard links out and devices; re-roots hard links', async () => {
    const add = (tar: Uint8Array) =>
      engine.build({ dockerfile: 'FROM busybox\nADD app.tar /dest/\n', context: [{ path: 'app.tar', mode: 0o100644, data: tar }], tags: ['added'] });
    await expect(add(rawTar([{ name: '../../etc/evil', data: 'x' }]))).rejects.toThrow(/ADD app\.tar: member "\.\.\/\.\.\/etc\/evil" would land outside the destination/);
    await expect(add(rawTar([{ name: 'a', data: 'x' }, { name: 'b', type: '1', linkname: '../../etc/shadow' }]))).rejects.toThrow(/hard link to "..\/..\/etc\/shadow", outside the archive/);
    await expect(add(rawTar([{ name: 'sda', type: '4' }]))).rejects.toThrow(/member "sda" is a block device/);
    await add(rawTar([{ name: 'a', data: 'same' }, { name: 'b', type: '1', linkname: 'a' }]));
    let out = '';
    await engine.run({ image: 'added', autoRemove: true, command: ['sh', '-c', 'cat /dest/b; stat -c %h /dest/a'], onOutput: (_s, t) => (out += t) });
    // b is a hard link to a under /dest: the same file, with two names.
    expect(out).toBe('same2\n');
  });
});
