/**
 * Containers on the in-memory guest (no VM): the lifecycle's states and events, logs, the writable layer,
 * and what survives a VM restart (the engine reopened on the same store with a fresh guest).
 */
import { describe, expect, it, vi } from 'vitest';
import { Engine } from '../engine.ts';
import { MemoryBackend } from '../store/backend.ts';
import { MEMORY_SECCOMP_BPF, MemoryGuest, type ProcessHandler } from '../testing/memory-guest.ts';
import { toBase64 } from '../util/base64.ts';
import type { ChangeEvent } from '../api.ts';
import type { GuestOp, GuestParams, RequestOptions } from '../guest.ts';
import type { ContextEntry } from '../dockerfile/index.ts';

const text = (path: string, data: string): ContextEntry => ({ path, mode: 0o100644, data: new TextEncoder().encode(data), mtime: 1_700_000_000 });

/** `server` keeps running until signalled; `hello` prints and exits; `fail` exits 3; `touch` writes a file. */
const PROCESSES: ProcessHandler = ({ argv }) => {
  const command = argv.join(' ');
  if (command === 'server') return { stdout: 'listening\n', keepsRunning: true };
  if (command === 'hello') return { stdout: 'hello\n', stderr: 'warn\n' };
  if (command === 'fail') return { exit: 3 };
  if (command === 'touch /data/x') return { writes: { '/data/x': 'x' } };
  return undefined;
};

async function openEngine(backend = new MemoryBackend()) {
  const guest = new MemoryGuest({ processes: PROCESSES });
  const engine = await Engine.open({ backend, guest });
  const events: ChangeEvent[] = [];
  engine.subscribe((event) => events.push(event));
  return { guest, backend, engine, events };
}

async function withImage() {
  const opened = await openEngine();
  await opened.engine.build({ dockerfile: 'FROM scratch\nCOPY etc/ /etc/\nCMD ["hello"]\n', context: [text('etc/hostname', 'base\n')], tags: ['img:1'] });
  return opened;
}

const actions = (events: ChangeEvent[]) => events.flatMap((e) => (e.type === 'container' ? [`${e.action}:${e.state}`] : []));

describe('containers (in-memory guest)', () => {
  it('goes created → running → exited → removed, with docker events in order', async () => {
    const { engine, events, guest } = await withImage();
    const created = await engine.create({ image: 'img:1', name: 'web', command: ['server'] });
    expect(created).toMatchObject({ name: 'web', state: 'created', exitCode: null, command: ['server'] });

    const started = await engine.start({ container: 'web' });
    expect(started.state).toBe('running');
    expect(guest.running.has(created.id)).toBe(true);

    const stopped = await engine.stop({ container: 'web', timeoutSeconds: 1 });
    expect(stopped).toMatchObject({ state: 'exited', exitCode: 143 }); // SIGTERM
    await engine.rm({ container: 'web' });
    await expect(engine.inspectContainer({ container: 'web' })).rejects.toThrow('No such container: web');
    expect(actions(events)).toEqual(['create:created', 'start:running', 'die:exited', 'stop:exited', 'destroy:exited']);
  });

  it('refuses what Docker refuses: a taken name, rm of a running container, exec in a stopped one', async () => {
    const { engine } = await withImage();
    await engine.run({ image: 'img:1', name: 'a', command: ['server'], detach: true });
    await expect(engine.create({ image: 'img:1', name: 'a' })).rejects.toThrow('Conflict. The container name "/a" is already in use');
    await expect(engine.create({ image: 'img:1', name: '-bad' })).rejects.toThrow('Invalid container name (-bad)');
    await expect(engine.rm({ container: 'a' })).rejects.toThrow('You cannot remove a running container');
    await engine.kill({ container: 'a' });
    expect((await engine.wait({ container: 'a' })).exitCode).toBe(137);
    await expect(engine.exec({ container: 'a', command: ['hello'] })).rejects.toThrow('is not running');
    await engine.rm({ container: 'a' });
    expect(await engine.ps({ all: true })).toEqual([]);
  });

  it('keeps the output of an attached run as logs, by stream, and the exit code', async () => {
    const { engine } = await withImage();
    const output: string[] = [];
    const view = await engine.run({ image: 'img:1', name: 'h', onOutput: (stream, chunk) => output.push(`${stream}:${chunk}`) });
    expect(view).toMatchObject({ state: 'exited', exitCode: 0 });
    expect(output.sort()).toEqual(['stderr:warn\n', 'stdout:hello\n']);
    const logs = await engine.logs({ container: 'h' });
    expect(logs.map((l) => [l.stream, l.text]).sort()).toEqual([['stderr', 'warn\n'], ['stdout', 'hello\n']]);

    const failed = await engine.run({ image: 'img:1', command: ['fail'] });
    expect(failed).toMatchObject({ state: 'exited', exitCode: 3 });
    // `--rm`: gone once it has exited.
    await engine.run({ image: 'img:1', name: 'gone', autoRemove: true });
    expect((await engine.ps({ all: true })).map((c) => c.name)).not.toContain('gone');
  });

  it('shows writes in the writable layer (docker diff), and an exec runs in the running container', async () => {
    const { engine } = await withImage();
    await engine.run({ image: 'img:1', name: 's', command: ['server'], detach: true });
    const exec = await engine.exec({ container: 's', command: ['touch', '/data/x'] });
    expect(exec.exitCode).toBe(0);
    expect(await engine.diff({ container: 's' })).toEqual([
      { path: '/data', kind: 'A', size: 0, type: 'dir' },
      { path: '/data/x', kind: 'A', size: 1, type: 'file' },
    ]);
    const sizes = (await engine.ps({ size: true })).find((c) => c.name === 's')!;
    expect(sizes.sizeRw).toBe(1);
    // Without `size`, as Docker's API: no look into the writable layer.
    expect((await engine.ps()).find((c) => c.name === 's')!.sizeRw).toBe(0);
  });

  it('after a VM restart: a running container is exited (255), a stopped one keeps its writable layer and logs', async () => {
    const first = await withImage();
    await first.engine.run({ image: 'img:1', name: 'kept', command: ['touch', '/data/x'] });
    await first.engine.run({ image: 'img:1', name: 'logs' });
    await first.engine.run({ image: 'img:1', name: 'live', command: ['server'], detach: true });

    const second = await openEngine(first.backend);
    const byName = Object.fromEntries((await second.engine.ps({ all: true })).map((c) => [c.name, c]));
    expect(byName.live).toMatchObject({ state: 'exited', exitCode: 255 });
    expect(byName.kept).toMatchObject({ state: 'exited', exitCode: 0 });
    expect((await second.engine.logs({ container: 'logs' })).map((l) => l.text).sort()).toEqual(['hello\n', 'warn\n']);
    // The new guest has none of it: the writable layer comes back from its saved tar.
    expect(second.guest.readFile(`/var/lib/layerlab/containers/${byName.kept.id}/upper/data/x`)).toBeUndefined();
    expect((await second.engine.diff({ container: 'kept' })).map((e) => e.path)).toEqual(['/data', '/data/x']);
    expect(second.guest.readText(`/var/lib/layerlab/containers/${byName.kept.id}/upper/data/x`)).toBe('x');
    // And it starts again.
    expect((await second.engine.start({ container: 'live' })).state).toBe('running');
  });

  it('pause freezes (crun pause) and refuses exec until unpause', async () => {
    const { engine, guest } = await withImage();
    await engine.run({ image: 'img:1', name: 'p', command: ['server'], detach: true });
    expect((await engine.pause({ container: 'p' })).state).toBe('paused');
    await expect(engine.exec({ container: 'p', command: ['hello'] })).rejects.toThrow('is paused');
    expect((await engine.unpause({ container: 'p' })).state).toBe('running');
    const crun = guest.requests.filter((r) => r.op === 'spawn').map((r) => (r.params as { argv: string[] }).argv).filter((argv) => argv[0] === '/usr/bin/crun');
    expect(crun.map((argv) => argv[1])).toEqual(['pause', 'resume']);
  });

  it('with an agent from before waitCreated (it answers a detached run at once), looks for crun\'s state from the host', async () => {
    class OlderAgent extends MemoryGuest {
      override request<Op extends GuestOp>(op: Op, params: GuestParams<Op>, options?: RequestOptions) {
        if (op !== 'run') return super.request(op, params, options);
        const { waitCreated: _ignored, ...known } = params as GuestParams<'run'>;
        return super.request(op, known as GuestParams<Op>, options);
      }
    }
    const guest = new OlderAgent({ processes: PROCESSES });
    const engine = await Engine.open({ backend: new MemoryBackend(), guest });
    await engine.build({ dockerfile: 'FROM scratch\nCOPY etc/ /etc/\n', context: [text('etc/hostname', 'base\n')], tags: ['img:1'] });
    const view = await engine.run({ image: 'img:1', name: 'web', command: ['server'], detach: true });
    expect(view.state).toBe('running');
    expect(guest.requests).toContainEqual({ op: 'read', params: { path: `/run/crun/${view.id}/status` } });
  });

  it("starts crun detached until its state exists, and gives later starts (and RUN steps) crun's own compiled seccomp filter", async () => {
    const { engine, guest } = await withImage();
    const runs = () =>
      guest.requests.flatMap((r) => (r.op === 'run' ? [r.params as { detach?: boolean; waitCreated?: boolean; config: { annotations?: Record<string, string>; linux: { seccomp?: unknown } } }] : []));
    await engine.run({ image: 'img:1', name: 'first', command: ['server'], detach: true });
    expect(runs()[0]).toMatchObject({ detach: true, waitCreated: true });
    expect(runs()[0]!.config.annotations).toBeUndefined();
    // The first container's crun state taught the filter (read without holding up its start).
    await vi.waitFor(() => expect(guest.requests.some((r) => r.op === 'read' && (r.params as { path: string }).path.endsWith('/seccomp.bpf'))).toBe(true));
    await engine.run({ image: 'img:1', name: 'second', command: ['hello'], detach: true });
    await engine.build({ dockerfile: 'FROM img:1\nRUN touch /data/x\n', context: [], tags: ['img:2'] });
    const bpf = toBase64(MEMORY_SECCOMP_BPF);
    for (const run of runs().slice(1)) {
      expect(run.config.annotations).toEqual({ 'run.oci.seccomp_bpf_data': bpf });
      expect(run.config.linux.seccomp).toEqual(runs()[0]!.config.linux.seccomp);
    }
    expect(runs()).toHaveLength(3);
  });
});
