/**
 * The engine against the real VM under Node: Dockerfile builds (layers, cache, multi-stage, whiteouts,
 * .dockerignore, heredocs) and containers (run, diff, commit, volumes, limits).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from './engine.ts';
import { openEngineOn, openNodeEngine } from '../host/node.ts';
import { MemoryBackend } from './store/backend.ts';
import type { Machine } from '../machine/machine.ts';
import type { BuildEvent } from './build/events.ts';
import type { ContextEntry } from './dockerfile/index.ts';
import { readTar, writeTar } from './archive/tar.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_ASSETS_DIR } from '../machine/node.ts';
import { readBaseImages } from '../../vm/base-images.ts';
import { GuestLayers } from './runtime/guest-layers.ts';

let machine: Machine;
let engine: Engine;

const file = (path: string, text: string, mode = 0o100644): ContextEntry => ({ path, mode, data: new TextEncoder().encode(text) });

let opened: Awaited<ReturnType<typeof openNodeEngine>>;

beforeAll(async () => {
  opened = await openNodeEngine({ relay: null });
  ({ machine, engine } = opened);
});

afterAll(() => opened?.close());

async function build(dockerfile: string, context: ContextEntry[] = [], tag = 'app') {
  const events: BuildEvent[] = [];
  const result = await engine.build({ dockerfile, context, tags: [tag], onEvent: (e) => events.push(e) });
  const done = events.filter((e): e is Extract<BuildEvent, { type: 'step-done' }> => e.type === 'step-done');
  return { ...result, events, done, output: events.filter((e) => e.type === 'step-output').map((e) => (e as { text: string }).text).join('') };
}

async function runOutput(image: string, command: string[]) {
  let out = '';
  const view = await engine.run({ image, command, autoRemove: true, onOutput: (_s, text) => (out += text) });
  return { out, exitCode: view.exitCode };
}

describe('building images', () => {
  const dockerfile = [
    'FROM busybox',
    'ENV GREETING=hello',
    'WORKDIR /app',
    'COPY hello.sh .',
    'RUN chmod +x hello.sh && echo built > /app/built.txt',
    'CMD ["./hello.sh"]',
  ].join('\n');
  const context = [file('hello.sh', '#!/bin/sh\necho "$GREETING from $(cat /app/built.txt)"\n', 0o100755), file('notes.txt', 'ignored')];

  it('makes one layer per filesystem step and records config-only steps in history', async () => {
    const result = await build(dockerfile, context);
    expect(result.done.map((s) => [s.step.instruction.split(' ')[0], s.cached, !!s.layer])).toEqual([
      ['ENV', false, false],
      ['WORKDIR', false, true],
      ['COPY', false, true],
      ['RUN', false, true],
      ['CMD', false, false],
    ]);
    const layers = await engine.imageLayers({ ref: 'app' });
    expect(layers.layers).toHaveLength(4); // busybox + WORKDIR + COPY + RUN
    // Each layer built here links back to its Dockerfile line; config-only steps are in history too.
    expect(layers.layers.map((l) => l.line)).toEqual([undefined, 3, 4, 5]);
    expect(layers.history.filter((h) => h.line).map((h) => [h.line, h.emptyLayer, h.instruction?.split(' ')[0]])).toEqual([
      [2, true, 'ENV'],
      [3, false, 'WORKDIR'],
      [4, false, 'COPY'],
      [5, false, 'RUN'],
      [6, true, 'CMD'],
    ]);
    expect(layers.layers[2].changes.map((c) => `${c.kind} ${c.path}`)).toContain('A /app/hello.sh');
    expect(layers.layers[3].changes.map((c) => `${c.kind} ${c.path}`)).toContain('A /app/built.txt');
    const history = await engine.history({ ref: 'app' });
    expect(history.history.filter((h) => h.empty_layer).length).toBe(2);
    expect(await runOutput('app', [])).toEqual({ out: 'hello from built\n', exitCode: 0 });
  });

  it('rebuilds from the cache, and from the changed COPY on when a file changes, saying why', async () => {
    const again = await build(dockerfile, context);
    expect(again.done.every((s) => s.cached)).toBe(true);
    // As Docker: a fully cached rebuild is the same image, so no `<none>` image is left behind.
    const imagesBefore = (await engine.images({ all: true })).length;
    const third = await build(dockerfile, context);
    expect(third.imageId).toBe(again.imageId);
    expect((await engine.images({ all: true })).length).toBe(imagesBefore);
    const changed = await build(dockerfile, [file('hello.sh', '#!/bin/sh\necho changed\n', 0o100755)]);
    expect(changed.done.map((s) => s.cached)).toEqual([true, true, false, false, false]);
    expect(changed.done[2].missReasons.join(' ')).toMatch(/hello\.sh changed/);
    expect(changed.done[3].missReasons.join(' ')).toMatch(/previous step changed/);
  });

  it('turns a deleted lower file into a whiteout, and keeps its bytes in the lower layer', async () => {
    await build(['FROM busybox', 'RUN head -c 100000 /dev/zero > /big', 'RUN rm /big'].join('\n'), [], 'wasteful');
    const view = await engine.imageLayers({ ref: 'wasteful' });
    expect(view.layers[2].changes).toEqual([expect.objectContaining({ path: '/big', kind: 'D' })]);
    expect(view.wastedBytes).toBeGreaterThanOrEqual(100000);
    expect((await runOutput('wasteful', ['sh', '-c', 'test -e /big; echo $?'])).out).toBe('1\n');
  });

  it('builds multi-stage, copying only the artifact into the final image, with .dockerignore and heredocs', async () => {
    const multi = [
      'FROM busybox AS builder',
      'RUN <<EOF',
      'mkdir -p /out',
      'echo artifact > /out/app.txt',
      'EOF',
      'FROM busybox',
      'COPY --from=builder /out/app.txt /app.txt',
      'COPY . /ctx/',
    ].join('\n');
    await build(multi, [file('keep.txt', 'k'), file('secret.env', 's'), file('.dockerignore', 'secret.env\n')], 'multi');
    const out = await runOutput('multi', ['sh', '-c', 'cat /app.txt; ls /ctx; test -e /out && echo leaked || echo clean']);
    expect(out.out).toBe('artifact\nkeep.txt\nclean\n');
  });

  it('keeps file modes and symlinks, and records a replaced directory as opaque', async () => {
    const dockerfile = [
      'FROM busybox',
      'RUN mkdir -p /data/old && touch /data/old/a /data/keep && echo secret > /secret && chmod 600 /secret && ln -s /secret /link',
      'RUN rm -rf /data && mkdir /data && touch /data/new',
    ].join('\n');
    await build(dockerfile, [], 'modes');
    const { id } = await engine.store.resolve({ ref: 'modes' });
    const manifest = await engine.store.getManifest({ id });
    const [, first, second] = await Promise.all(manifest.layers.map(async (l) => readTar(await engine.store.layerTar({ digest: l.digest }))));
    const secret = first.find((e) => e.name === 'secret')!;
    expect(secret.mode & 0o777).toBe(0o600);
    expect(first.find((e) => e.name === 'link')).toMatchObject({ type: 'symlink', linkname: '/secret' });
    // The whole /data was replaced in one layer: overlayfs made it opaque; the OCI tar says so.
    expect(second.map((e) => e.name)).toEqual(expect.arrayContaining(['data/', 'data/.wh..wh..opq', 'data/new']));
    const out = await runOutput('modes', ['sh', '-c', 'ls /data; stat -c %a /secret; cat /link']);
    expect(out.out).toBe('new\n600\nsecret\n');
  });

  it('fails a build with the line and Docker\'s message, and stores no image', async () => {
    const before = (await engine.images()).length;
    await expect(build(['FROM busybox', 'RUN echo ok', 'RUN exit 3'].join('\n'), [], 'broken')).rejects.toMatchObject({
      line: 3,
      message: expect.stringContaining('did not complete successfully: exit code: 3'),
    });
    await expect(build('FROM busybox\nCOPY missing.txt /\n', [], 'broken')).rejects.toMatchObject({ line: 2 });
    await expect(build('FROM nosuchimage\n', [], 'broken')).rejects.toMatchObject({ line: 1, message: expect.stringContaining('nosuchimage') });
    await expect(build('FROM busybox\nRUNN echo\n', [], 'broken')).rejects.toMatchObject({ line: 2 });
    expect((await engine.images()).length).toBe(before);
  });
});

describe('containers', () => {
  it('keeps writes in the writable layer: docker diff shows A/C/D', async () => {
    const view = await engine.run({ image: 'busybox', name: 'cow', command: ['sh', '-c', 'echo x > /tmp/new && echo y >> /etc/motd; rm /bin/vi'] });
    expect(view.exitCode).toBe(0);
    const diff = (await engine.diff({ container: 'cow' })).map((e) => `${e.kind} ${e.path}`);
    expect(diff).toEqual(expect.arrayContaining(['C /tmp', 'A /tmp/new', 'A /etc/motd', 'C /bin', 'D /bin/vi']));
    const image = await engine.commit({ container: 'cow', ref: 'cow-image' });
    expect(image.imageId).toMatch(/^sha256:/);
    expect((await runOutput('cow-image', ['cat', '/tmp/new'])).out).toBe('x\n');
    await engine.rm({ container: 'cow' });
    expect((await runOutput('busybox', ['sh', '-c', 'test -e /tmp/new; echo $?'])).out).toBe('1\n');
  });

  it('runs three containers from one image with separate writable layers and reports sizes', async () => {
    for (const name of ['one', 'two', 'three']) {
      await engine.run({ image: 'busybox', name, command: ['sh', '-c', `head -c ${name.length * 1000} /dev/zero > /data-${name}`] });
    }
    const ps = await engine.ps({ all: true, size: true });
    const sizes = Object.fromEntries(ps.filter((c) => ['one', 'two', 'three'].includes(c.name)).map((c) => [c.name, c.sizeRw]));
    expect(sizes).toEqual({ one: 3000, two: 3000, three: 5000 });
    const diffTwo = (await engine.diff({ container: 'two' })).map((e) => e.path);
    expect(diffTwo).toContain('/data-two');
    expect(diffTwo).not.toContain('/data-one');
    for (const name of ['one', 'two', 'three']) await engine.rm({ container: name });
  });

  it('keeps volume data after the container is removed', async () => {
    await engine.run({ image: 'busybox', name: 'writer', volumes: ['data:/data'], command: ['sh', '-c', 'echo kept > /data/file'] });
    await engine.rm({ container: 'writer' });
    // Without the volume the file is not there: it never was in a writable layer.
    expect((await runOutput('busybox', ['cat', '/data/file'])).exitCode).not.toBe(0);
    let read = '';
    await engine.run({ image: 'busybox', autoRemove: true, volumes: ['data:/data'], command: ['cat', '/data/file'], onOutput: (_s, t) => (read += t) });
    expect(read).toBe('kept\n');
  });

  it('runs detached, execs into it, stops it, and refuses to rm a running container', async () => {
    const view = await engine.run({ image: 'busybox', name: 'web', detach: true, command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done'] });
    expect(view.state).toBe('running');
    const exec = await engine.exec({ container: 'web', command: ['sh', '-c', 'echo $$; hostname'] });
    expect(exec.exitCode).toBe(0);
    await expect(engine.rm({ container: 'web' })).rejects.toThrow(/cannot remove a running container/);
    const stopped = await engine.stop({ container: 'web', timeoutSeconds: 5 });
    expect(stopped).toMatchObject({ state: 'exited', exitCode: 0 });
    await engine.rm({ container: 'web' });
  });

  it('docker cp: copies into a stopped container (its writable layer) and back out', async () => {
    await engine.run({ image: 'busybox', name: 'cp-target', command: ['true'] });
    await engine.copyTo({ container: 'cp-target', path: '/root', tar: await writeTar([{ name: 'note.txt', data: 'copied in\n' }]) });
    expect((await engine.diff({ container: 'cp-target' })).map((e) => `${e.kind} ${e.path}`)).toContain('A /root/note.txt');
    const out = await readTar(await engine.copyFrom({ container: 'cp-target', path: '/root/note.txt' }));
    expect(out.map((e) => [e.name, new TextDecoder().decode(e.data)])).toEqual([['note.txt', 'copied in\n']]);
    await expect(engine.copyFrom({ container: 'cp-target', path: '/nope' })).rejects.toThrow(/Could not find the file \/nope/);
    await engine.rm({ container: 'cp-target' });
  });

  it('docker cp resolves paths inside the container: no reading the VM through "..", no writing through a symlink', async () => {
    // the VM's own /etc/shadow-like file, and an image whose /app is a symlink to /usr/bin
    await build(['FROM busybox', 'RUN ln -s /usr/bin /app && echo in-container > /etc/marker'].join('\n'), [], 'cp-escape');
    await engine.run({ image: 'cp-escape', name: 'cp-escape', command: ['true'] });
    const vmOnly = `/tmp/vm-only-${Date.now()}`;
    await machine.request('write', { path: vmOnly, data: btoa('vm secret\n') });
    const up = '/../../../../../..';
    await expect(engine.copyFrom({ container: 'cp-escape', path: `${up}${vmOnly}` })).rejects.toThrow(/Could not find the file/);
    const marker = await readTar(await engine.copyFrom({ container: 'cp-escape', path: `${up}/etc/marker` }));
    expect(marker.map((e) => [e.name, new TextDecoder().decode(e.data)])).toEqual([['marker', 'in-container\n']]);
    // into /app/: lands in the container's /usr/bin (its writable layer), not in the VM's
    await engine.copyTo({ container: 'cp-escape', path: '/app/', tar: await writeTar([{ name: 'planted', data: 'x\n' }]) });
    const vm = await machine.request('spawn', { argv: ['/bin/sh', '-c', 'test -e /usr/bin/planted'] });
    expect(vm.exit).toBe(1);
    expect((await engine.diff({ container: 'cp-escape' })).map((e) => `${e.kind} ${e.path}`)).toContain('A /usr/bin/planted');
    await engine.rm({ container: 'cp-escape' });
    await machine.request('rm', { path: vmOnly });
  });

  it('base images as on Docker Hub: busybox has adduser, python ships pip, both carry their version tags', async () => {
    const built = await build(['FROM busybox', 'RUN adduser -D app', 'USER app', 'CMD ["id"]'].join('\n'), [], 'with-user');
    expect(built.output).not.toMatch(/applet not found/);
    const id = await runOutput('with-user', ['id']);
    expect(id.exitCode).toBe(0);
    expect(id.out).toMatch(/^uid=1000\(app\) gid=1000\(app\)/);
    const pip = await runOutput('python:3.11', ['pip', '--version']);
    expect(pip.exitCode).toBe(0);
    expect(pip.out).toMatch(/^pip 23\.\d+(\.\d+)? from \/usr\/lib\/python3\/dist-packages\/pip \(python 3\.11\)\n$/);
    const tags = (await engine.images()).flatMap((i) => i.repoTags);
    expect(tags).toEqual(expect.arrayContaining(['busybox:latest', 'busybox:1.35', 'busybox:1.35.0', 'python:3.11', 'python:3.11.2']));
    expect((await runOutput('busybox:1.35', ['sh', '-c', 'busybox | head -1'])).out).toMatch(/^BusyBox v1\.35\.0/);
  }, 600_000);

  it('survives an output flood and stops an endless loop; a normal container runs after', async () => {
    let bytes = 0;
    const flood = await engine.run({ image: 'busybox', name: 'flood', command: ['sh', '-c', 'yes flood | head -c 3000000'], onOutput: (_s, t) => (bytes += t.length) });
    expect(flood.exitCode).toBe(0);
    expect(bytes).toBe(3_000_000);
    // Logs keep the recent part, bounded, not all of it.
    const logged = (await engine.logs({ container: 'flood' })).reduce((n, c) => n + c.text.length, 0);
    expect(logged).toBeLessThanOrEqual(256 * 1024);
    await engine.rm({ container: 'flood' });
    await engine.run({ image: 'busybox', name: 'spin', detach: true, command: ['sh', '-c', 'while :; do :; done'] });
    expect(await engine.kill({ container: 'spin' })).toBeTruthy();
    expect(await engine.wait({ container: 'spin' })).toEqual({ exitCode: 137 });
    await engine.rm({ container: 'spin' });
    expect((await runOutput('busybox', ['echo', 'alive'])).out).toBe('alive\n');
  });

  it('a container filling its disk fills only its own writable layer; the VM and other containers go on', async () => {
    let err = '';
    const filler = await engine.run({ image: 'busybox', name: 'filler', command: ['sh', '-c', 'dd if=/dev/zero of=/fill bs=1M count=200'], onOutput: (s, t) => (s === 'stderr' ? (err += t) : 0) });
    expect(filler.exitCode).not.toBe(0);
    expect(err).toMatch(/No space left on device/);
    expect((await runOutput('busybox', ['sh', '-c', 'head -c 1000000 /dev/zero > /ok && echo wrote'])).out).toBe('wrote\n');
    await engine.rm({ container: 'filler' });
  });

  it('contains a fork bomb and a memory hog; the VM keeps answering', async () => {
    const bomb = await engine.run({ image: 'busybox', autoRemove: true, pidsLimit: 32, command: ['sh', '-c', 'for i in $(seq 200); do sleep 5 & done; echo spawned'] });
    expect(bomb.exitCode).not.toBeNull();
    const hog = await engine.run({ image: 'busybox', autoRemove: true, memoryBytes: 16 * 1024 * 1024, command: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'] });
    expect(hog.exitCode).toBe(137); // OOM-killed inside its cgroup
    expect((await runOutput('busybox', ['echo', 'alive'])).out).toBe('alive\n');
  });
});

describe('fidelity to Docker: clock, mtimes, reproducible builds, history', () => {
  const dated = (path: string, text: string, mtime: number): ContextEntry => ({ ...file(path, text), mtime });

  it("a container's clock is the host's", async () => {
    const before = Date.now() / 1000;
    const { out } = await runOutput('busybox', ['date', '+%s']);
    const after = Date.now() / 1000;
    // `date` ran somewhere between the two host readings (a busy host makes that window wide).
    expect(Number(out.trim())).toBeGreaterThanOrEqual(Math.floor(before) - 2);
    expect(Number(out.trim())).toBeLessThanOrEqual(after + 2);
  });

  it("COPY keeps the source's mtime, and COPY --from the build stage's", async () => {
    const dockerfile = ['FROM busybox AS stage', 'RUN touch -d @1500000000 /made', 'FROM busybox', 'COPY old.txt /old.txt', 'COPY --from=stage /made /made'].join('\n');
    await build(dockerfile, [dated('old.txt', 'old', 1_600_000_000)], 'mtimes');
    expect((await runOutput('mtimes', ['stat', '-c', '%Y', '/old.txt', '/made'])).out).toBe('1600000000\n1500000000\n');
  });

  it('SOURCE_DATE_EPOCH: two builds in fresh stores give one image ID, with created and mtimes clamped', async () => {
    const dockerfile = ['FROM busybox', 'WORKDIR /app', 'COPY new.txt .', 'RUN echo made > /app/made.txt', 'CMD ["cat", "/app/made.txt"]'].join('\n');
    const context = [dated('new.txt', 'new', 2_000_000_000)];
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const fresh = await openEngineOn(machine, new MemoryBackend());
      ids.push((await fresh.build({ dockerfile, context, tags: ['repro'], buildArgs: { SOURCE_DATE_EPOCH: '1700000000' } })).imageId);
      if (i === 0) {
        const inspect = await fresh.inspectImage({ ref: 'repro' });
        expect(inspect.Created).toBe('2023-11-14T22:13:20Z');
        let out = '';
        await fresh.run({ image: 'repro', command: ['stat', '-c', '%Y', '/app/new.txt', '/app/made.txt'], autoRemove: true, onOutput: (_s, text) => (out += text) });
        expect(out).toBe('1700000000\n1700000000\n');
      }
    }
    expect(ids[0]).toBe(ids[1]);
  });

  it('writes history as BuildKit does', async () => {
    const dockerfile = ['FROM busybox', 'ENV A=1', 'WORKDIR /app', 'COPY hello.txt /app/', 'RUN echo hi', 'EXPOSE 8080', 'CMD ["sh"]'].join('\n');
    await build(dockerfile, [file('hello.txt', 'hi')], 'hist');
    const { history } = await engine.history({ ref: 'hist' });
    expect(history.slice(-6).map((h) => [h.created_by, !!h.empty_layer, h.comment])).toEqual([
      ['ENV A=1', true, 'buildkit.dockerfile.v0'],
      ['WORKDIR /app', false, 'buildkit.dockerfile.v0'],
      ['COPY hello.txt /app/ # buildkit', false, 'buildkit.dockerfile.v0'],
      ['RUN /bin/sh -c echo hi # buildkit', false, 'buildkit.dockerfile.v0'],
      ['EXPOSE map[8080/tcp:{}]', true, 'buildkit.dockerfile.v0'],
      ['CMD ["sh"]', true, 'buildkit.dockerfile.v0'],
    ]);
  });

  it("runs a base image's ONBUILD triggers in the child build, which does not inherit them; COPY --chmod sets modes", async () => {
    await build('FROM busybox\nONBUILD COPY note.txt /note.txt\nONBUILD RUN echo triggered > /t\n', [], 'onbuild-parent');
    const parent = await engine.inspectImage({ ref: 'onbuild-parent' });
    expect(parent.Config.OnBuild).toEqual(['COPY note.txt /note.txt', 'RUN echo triggered > /t']);
    const child = await build('FROM onbuild-parent\nCOPY --chmod=0750 run.sh /run.sh\n', [file('note.txt', 'note\n'), file('run.sh', 'echo run\n')], 'onbuild-child');
    expect(child.done.map((s) => s.step.line)).toEqual([1, 1, 2]);
    expect(await runOutput('onbuild-child', ['sh', '-c', 'cat /note.txt /t; stat -c %a /run.sh'])).toEqual({ out: 'note\ntriggered\n750\n', exitCode: 0 });
    expect((await engine.inspectImage({ ref: 'onbuild-child' })).Config.OnBuild ?? null).toBeNull();
  });
});

describe('docker commit', () => {
  it("carries the container's Cmd, Env, WorkingDir and User into the image, then applies -c", async () => {
    await engine.run({ image: 'busybox', name: 'committed', command: ['sh', '-c', 'echo hi > /tmp/x'], env: ['MODE=dev'], workdir: '/tmp', user: 'nobody' });
    await engine.commit({ container: 'committed', ref: 'committed-image', changes: ['ENV EXTRA=1', 'EXPOSE 80'] });
    const { Config } = await engine.inspectImage({ ref: 'committed-image' });
    expect(Config).toMatchObject({ Cmd: ['sh', '-c', 'echo hi > /tmp/x'], WorkingDir: '/tmp', User: 'nobody', ExposedPorts: { '80/tcp': {} } });
    expect(Config.Env).toEqual(expect.arrayContaining(['MODE=dev', 'EXTRA=1']));
    await engine.rm({ container: 'committed' });
  });
});

describe('docker rename', () => {
  it('renames a container; the old name is free, a taken name is refused', async () => {
    await engine.create({ image: 'busybox', name: 'before', command: ['true'] });
    await engine.create({ image: 'busybox', name: 'taken', command: ['true'] });
    await engine.rename({ container: 'before', name: 'after' });
    expect((await engine.ps({ all: true })).map((c) => c.name)).toEqual(expect.arrayContaining(['after', 'taken']));
    await expect(engine.rename({ container: 'after', name: 'taken' })).rejects.toThrow(/already in use/);
    await engine.rm({ container: 'after' });
    await engine.rm({ container: 'taken' });
  });
});

describe("base layers' file lists (vm/layer-files.ts)", () => {
  it("equal the agent's `list` of each layer in the VM", async () => {
    const layers = new Map((await readBaseImages(DEFAULT_ASSETS_DIR)).flatMap((image) => image.layers.map((layer) => [layer.digest, layer])));
    expect(layers.size).toBe(2);
    for (const layer of layers.values()) {
      expect(layer.files).toBeDefined();
      await engine.guestLayers.ensure([layer.digest]); // python's: the image mounted
      const shipped = JSON.parse(await readFile(join(DEFAULT_ASSETS_DIR, 'base', layer.files!), 'utf8'));
      const { entries } = await machine.request<{ entries: unknown[] }>('list', { dir: GuestLayers.layerDir(layer.digest) }, { timeoutMs: 120_000 });
      expect(shipped.length).toBeGreaterThan(300);
      expect(shipped).toEqual(entries);
    }
  }, 300_000);

  it('give the layer view its trees without walking the layers in the VM', async () => {
    const fresh = await openEngineOn(machine, new MemoryBackend());
    const request = machine.request.bind(machine);
    const ops: string[] = [];
    machine.request = ((op: string, ...rest: unknown[]) => (ops.push(op), (request as (...a: unknown[]) => unknown)(op, ...rest))) as typeof machine.request;
    try {
      const view = await fresh.imageLayers({ ref: 'python:3.11' });
      expect(view.layers.map((layer) => layer.changes.length > 300)).toEqual([true, true]);
      expect(view.layers[1]!.changes).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/usr/bin/python3.11', kind: 'A', type: 'file' })]));
    } finally {
      machine.request = request;
    }
    expect(ops).not.toContain('list');
  });
});

describe('warm-up', () => {
  it('runs hidden containers on the default bridge, python in the background at the lowest CPU weight, compiles none of it, leaves nothing behind', async () => {
    const before = (await engine.ps({ all: true })).map((c) => c.id);
    type HiddenRun = { name: string; config: { hooks?: { createRuntime?: { args: string[] }[] }; linux: { resources: { cpu: { shares?: number } } } }; exit?: number };
    const hidden: HiddenRun[] = [];
    let pythonStarted: () => void = () => {};
    const python = new Promise<void>((resolve) => (pythonStarted = resolve));
    const request = machine.request.bind(machine);
    machine.request = (async (op: string, params: Record<string, unknown>, options?: object) => {
      if (op !== 'run' || !String(params.name).startsWith('warm-up-')) return request(op, params, options);
      const run: HiddenRun = { name: String(params.name), config: params.config as HiddenRun['config'] };
      hidden.push(run);
      if (run.name.startsWith('warm-up-python-')) pythonStarted();
      const result = await request<{ exit: number }>(op, params, options);
      run.exit = result.exit;
      return result;
    }) as typeof machine.request;
    const holdCompiling = machine.holdCompiling.bind(machine);
    let holds = 0;
    machine.holdCompiling = () => {
      holds++;
      const release = holdCompiling();
      return () => (holds--, release());
    };
    try {
      const warming = engine.warmUp();
      await python;
      expect([holds, machine.compiling]).toEqual([1, false]);
      // The learner's container while python runs: it does not stop python (an idle-time busybox, yes).
      await engine.run({ image: 'busybox', command: ['true'], autoRemove: true });
      await warming;
      for (const run of hidden) expect(run.config.hooks?.createRuntime?.[0]?.args).toEqual(expect.arrayContaining(['docker0', 'eth0']));
      const pythons = hidden.filter((run) => run.name.startsWith('warm-up-python-'));
      expect(pythons.map((run) => [run.exit, run.config.linux.resources.cpu.shares])).toEqual([[0, 2]]);
      const busyboxes = hidden.filter((run) => run.name.startsWith('warm-up-busybox-'));
      expect(busyboxes).toHaveLength(1);
      expect(busyboxes[0]!.config.linux.resources.cpu.shares).toBeUndefined();
      expect(holds).toBe(0);
    } finally {
      machine.request = request;
      machine.holdCompiling = holdCompiling;
    }
    // No container record, crun state or container folder of a hidden container.
    expect((await engine.ps({ all: true })).map((c) => c.id)).toEqual(before);
    const folders = await machine.request<{ names: string[] }>('readdir', { path: '/var/lib/layerlab/containers' });
    expect(folders.names.filter((name) => name.startsWith('warm-up-'))).toEqual([]);
    const crunState = await machine.request<{ names: string[] }>('readdir', { path: '/run/crun' }).catch(() => ({ names: [] as string[] }));
    expect(crunState.names.filter((name) => name.startsWith('warm-up-'))).toEqual([]);
  }, 300_000); // a python run and two busybox ones under emulation

  it('compiles ahead in idle time: hidden container starts run compiling, the learner\'s typing stops it at once, and it is off after', async () => {
    const compilingAtRuns: (boolean | null)[] = [];
    let firstRun: () => void = () => {};
    const started = new Promise<void>((resolve) => (firstRun = resolve));
    const request = machine.request.bind(machine);
    machine.request = (async (op: string, params: Record<string, unknown>, options?: object) => {
      if (op === 'run' && String(params.name).startsWith('warm-up-busybox-')) {
        compilingAtRuns.push(machine.compiling);
        firstRun();
      }
      return request(op, params, options);
    }) as typeof machine.request;
    // An engine whose learner has not started a container yet.
    const fresh = await openEngineOn(machine, new MemoryBackend());
    try {
      const compiling = fresh.compileAhead();
      // Not before the learner has started a container of their own.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(compilingAtRuns).toEqual([]);
      await fresh.run({ image: 'busybox', command: ['true'], autoRemove: true });
      await started;
      expect(machine.compiling).toBe(true);
      fresh.noteTyping();
      expect(machine.compiling).toBe(false);
      await compiling;
      expect(machine.compiling).toBe(false);
    } finally {
      machine.request = request;
    }
    // Every start it made ran compiling (the interrupted one too, and it was made again).
    expect(compilingAtRuns.length).toBeGreaterThanOrEqual(20);
    expect(new Set(compilingAtRuns)).toEqual(new Set([true]));
    const crunState = await machine.request<{ names: string[] }>('readdir', { path: '/run/crun' }).catch(() => ({ names: [] as string[] }));
    expect(crunState.names.filter((name) => name.startsWith('warm-up-'))).toEqual([]);
    // The learner's container after it.
    expect((await runOutput('busybox', ['echo', 'compiled'])).out).toBe('compiled\n');
  }, 300_000);
});
