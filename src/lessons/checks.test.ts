import { describe, expect, it } from 'vitest';
import { evaluateCheck, evaluateStep } from './checks.ts';
import type { LessonContainer } from './context.ts';
import { fakeContext, fakeImage } from './fake-context.ts';
import type { Check, Step } from './schema.ts';

const BUSYBOX: [string, { path: string; size?: number }[]] = ['ADD busybox-rootfs.tar /', [{ path: '/bin/busybox', size: 2000000 }, { path: '/etc/group' }]];

function state() {
  const app = fakeImage(
    'sha256:aaa111',
    ['app:latest'],
    [BUSYBOX, ['COPY greeting.txt /app/greeting.txt', [{ path: '/app/greeting.txt', size: 33 }]], ['RUN yes | head -c 1000000 > /cache.bin', [{ path: '/cache.bin', size: 1000000 }]], ['RUN rm /cache.bin', [{ path: '/cache.bin', kind: 'D', size: 0 }]]],
    { Cmd: ['cat', '/app/greeting.txt'], Env: ['PATH=/bin', 'GREETING=hello'], ExposedPorts: { '8000/tcp': {} }, Labels: { course: 'layerlab' }, WorkingDir: '/app' },
  );
  const busybox = fakeImage('sha256:bbb222', ['busybox:latest'], [BUSYBOX]);
  const container = (over: Partial<LessonContainer>): LessonContainer => ({ id: 'c0ffee' + over.name, name: 'x', image: 'app', state: 'exited', exitCode: 0, writable: [], sizeRw: 40, sizeRootFs: 3000040, ...over });
  return fakeContext({
    images: { 'app:latest': app, 'app:1.0': app, 'busybox:latest': busybox },
    containers: [
      container({ name: 'cow', writable: [{ path: '/app', kind: 'C', size: 0 }, { path: '/app/greeting.txt', kind: 'C', size: 60 }] }),
      container({ name: 'web', state: 'running', exitCode: null }),
      container({ name: 'oops', exitCode: 3, image: 'busybox' }),
    ],
    volumes: [{ name: 'notes', mountpoint: '/var/lib/layerlab/volumes/notes' }],
    files: { '/var/lib/layerlab/volumes/notes/note.txt': 'kept in a volume\n' },
    build: {
      tag: 'app',
      steps: [
        { line: 1, instruction: 'FROM busybox', cached: false, layerSize: 0 },
        { line: 2, instruction: 'COPY greeting.txt /app/greeting.txt', cached: true, layerSize: 33 },
        { line: 3, instruction: 'RUN yes | head -c 1000000 > /cache.bin', cached: false, layerSize: 1000000 },
        { line: 4, instruction: 'RUN rm /cache.bin', cached: false, layerSize: 0 },
      ],
    },
    vm: { 'uname -r': { exit: 0, stdout: '6.1.0-28-686\n', stderr: '' }, 'hostname': { exit: 0, stdout: 'layerlab\n', stderr: '' } },
    inContainer: {
      'web: uname -r': { exit: 0, stdout: '6.1.0-28-686\n', stderr: '' },
      'web: hostname': { exit: 0, stdout: 'sandbox\n', stderr: '' },
      'web: test -e /notes.txt': { exit: 1, stdout: '', stderr: '' },
      'web: cat /app/greeting.txt': { exit: 0, stdout: 'Hello\n', stderr: '' },
    },
  });
}

// [name, check, pass, message (substring)]
const table: [string, Check, boolean, string][] = [
  ['image exists', { kind: 'image-exists', image: 'app' }, true, 'image `app` exists (aaa111, 4 layers)'],
  ['image missing', { kind: 'image-exists', image: 'site' }, false, 'there is no image `site` yet (build it with `docker build -t site .`'],
  ['same id', { kind: 'image-exists', image: 'app:1.0', sameIdAs: 'app' }, true, 'are the same image'],
  ['not same id', { kind: 'image-exists', image: 'app:1.0', notSameIdAs: 'app' }, false, '`app:1.0` and `app` are still the same image (aaa111)'],
  ['image absent fails', { kind: 'image-absent', image: 'app:1.0' }, false, 'image `app:1.0` still exists (aaa111); this step wants it removed (`docker rmi app:1.0`)'],
  ['layer count', { kind: 'layers', image: 'app', count: 4 }, true, 'has 4 layers'],
  ['layer count wrong, with want', { kind: 'layers', image: 'app', count: 3, want: 'the two RUNs merged into one (3 layers)' }, false, 'image `app` has 4 layers; this step wants the two RUNs merged into one (3 layers)'],
  ['layer count wrong', { kind: 'layers', image: 'app', count: 3 }, false, 'image `app` has 4 layers; this step wants 3'],
  ['layer max', { kind: 'layers', image: 'app', max: 2 }, false, 'has 4 layers; this step wants at most 2'],
  ['createdBy', { kind: 'layers', image: 'app', where: [{ layer: 1, createdBy: 'COPY' }, { layer: -1, createdBy: '/^RUN rm/' }] }, true, 'as wanted'],
  ['createdBy wrong', { kind: 'layers', image: 'app', where: [{ layer: 2, createdBy: 'COPY' }] }, false, 'layer 2 (RUN yes | head -c 1000000 > /cache.bin) of `app` was made by `RUN yes | head -c 1000000 > /cache.bin`; this step wants it made by "COPY"'],
  ['shared layer', { kind: 'layers', image: 'app', where: [{ layer: 0, sharedWith: { image: 'busybox', layer: 0 } }] }, true, 'has 4 layers'],
  ['not shared', { kind: 'layers', image: 'app', where: [{ layer: 1, sharedWith: { image: 'busybox', layer: 0 } }] }, false, 'this step wants them to be the same layer'],
  ['file in layer', { kind: 'layer-has-file', image: 'app', layer: 1, path: 'app/greeting.txt', change: 'A' }, true, 'layer 1 (COPY greeting.txt /app/greeting.txt) of `app` has `/app/greeting.txt` (A, 33 B)'],
  ['whiteout', { kind: 'layer-has-file', image: 'app', layer: -1, path: '/cache.bin', change: 'D' }, true, 'whiteout'],
  ['whiteout missing', { kind: 'layer-has-file', image: 'app', layer: 2, path: '/cache.bin', change: 'D' }, false, 'layer 2 (RUN yes | head -c 1000000 > /cache.bin) of `app` has `/cache.bin` as A; this step wants a whiteout (deletion) of `/cache.bin`'],
  ['file min size', { kind: 'layer-has-file', image: 'app', path: '/app/greeting.txt', minSize: 1000 }, false, '`/app/greeting.txt` in layer 1 (COPY greeting.txt /app/greeting.txt) is 33 B; this step wants at least 1.0 kB'],
  ['file absent', { kind: 'layer-has-file', image: 'app', path: '/www/index.html' }, false, 'any layer of `app` has no `/www/index.html`'],
  ['lacks file fails', { kind: 'layer-lacks-file', image: 'app', path: '/cache.bin' }, false, '`/cache.bin` is in layer 2 (RUN yes | head -c 1000000 > /cache.bin) of `app` (A, 1.0 MB); this step wants no trace of it in the image'],
  ['config equals', { kind: 'config', image: 'app', field: 'Cmd', equals: ['cat', '/app/greeting.txt'] }, true, 'Cmd of `app` is `["cat","/app/greeting.txt"]`'],
  ['config env contains', { kind: 'config', image: 'app', field: 'Env', contains: 'GREETING=hello' }, true, 'Env'],
  ['config env lacks', { kind: 'config', image: 'app', field: 'Env', contains: 'MODE=prod' }, false, 'this step wants it to contain "MODE=prod"'],
  ['config notContains', { kind: 'config', image: 'app', field: 'Env', notContains: '/^GREETING=/' }, false, 'this step wants no /^GREETING=/ in it'],
  ['config ports as list', { kind: 'config', image: 'app', field: 'ExposedPorts', equals: ['8000/tcp'] }, true, 'ExposedPorts'],
  ['config label k=v', { kind: 'config', image: 'app', field: 'Labels', contains: 'course=layerlab' }, true, 'Labels'],
  ['config absent', { kind: 'config', image: 'app', field: 'User', absent: true }, true, 'User of `app` is not set'],
  ['config WorkingDir wrong', { kind: 'config', image: 'app', field: 'WorkingDir', equals: '/srv' }, false, 'WorkingDir of `app` is `"/app"`; this step wants `"/srv"`'],
  ['container state', { kind: 'container', name: 'web', state: 'running' }, true, 'container `web`: running'],
  ['container wrong state', { kind: 'container', name: 'cow', state: 'running' }, false, 'container `cow` is exited (exit code 0); this step wants it running (`docker start cow`)'],
  ['exit code', { kind: 'container', name: 'oops', exitCode: 0 }, false, 'container `oops` exited with code 3; this step wants exit code 0'],
  ['no such container', { kind: 'container', name: 'box', state: 'created' }, false, 'there is no container named `box` (containers: cow (exited 0), web (running), oops (exited 3))'],
  ['removed', { kind: 'container', name: 'cow', count: 0 }, false, 'container `cow` still exists (exited); this step wants it removed (`docker rm cow`)'],
  ['removed ok', { kind: 'container', name: 'gone', count: 0 }, true, 'there is no container `gone`'],
  ['count by image', { kind: 'container', image: 'app', count: 2 }, true, '2 containers of image `app`'],
  ['count by image:tag and state', { kind: 'container', image: 'app:latest', state: 'running', count: 3 }, false, 'there is 1 running container of image `app:latest` (cow (exited 0), web (running)); this step wants 3 containers'],
  ['count by image id', { kind: 'container', image: 'sha256:aaa111', count: 2 }, true, '2 containers'],
  ['writable entries', { kind: 'container', name: 'cow', writableEntries: 0 }, false, 'the writable layer of `cow` has 2 entries; this step wants 0'],
  ['size', { kind: 'container', name: 'cow', sizeRwMax: 100 }, true, 'writable layer 40 B (virtual 3.0 MB)'],
  ['writable has', { kind: 'writable-has', container: 'cow', path: '/app/greeting.txt', change: 'C' }, true, 'the writable layer of `cow` has C `/app/greeting.txt`'],
  ['writable wrong kind', { kind: 'writable-has', container: 'cow', path: '/app/greeting.txt', change: 'D' }, false, 'has `/app/greeting.txt` as C; this step wants D (deleted)'],
  ['writable missing', { kind: 'writable-has', container: 'web', path: '/tmp/x' }, false, 'the writable layer of `web` has no `/tmp/x` (it is empty)'],
  ['writable lacks fails', { kind: 'writable-lacks', container: 'cow', path: '/app/greeting.txt' }, false, 'the writable layer of `cow` has `/app/greeting.txt` (C); this step wants it absent'],
  ['volume', { kind: 'volume-exists', name: 'notes', hasFile: '/note.txt', fileContains: 'kept' }, true, 'volume `notes` holds `/note.txt`'],
  ['volume file missing', { kind: 'volume-exists', name: 'notes', hasFile: '/other.txt' }, false, 'volume `notes` has no `/other.txt`'],
  ['no volume', { kind: 'volume-exists', name: 'data' }, false, 'there is no volume `data` (volumes: notes); this step wants one (`docker volume create data`)'],
  ['cache all', { kind: 'build-cached', image: 'app', all: true }, false, 'the last build reused 1 of 3 steps from the cache (rebuilt: line 3 `RUN yes | head -c 1000000 > /cache.bin`, line 4 `RUN rm /cache.bin`); this step wants every step CACHED'],
  ['cache line', { kind: 'build-cached', steps: [{ line: 2, cached: true }, { instruction: 'RUN rm', cached: false }] }, true, 'reused 1 of 3'],
  ['cache line wrong', { kind: 'build-cached', steps: [{ instruction: 'RUN yes', cached: true }] }, false, 'in the last build, line 3 `RUN yes | head -c 1000000 > /cache.bin` was rebuilt; this step wants it CACHED'],
  ['cache other tag', { kind: 'build-cached', image: 'site', all: true }, false, 'the last build was `app`; this step wants a build of `site`'],
  ['command', { kind: 'command', argv: ['uname', '-r'], stdout: '/^6\\.1/' }, true, '`uname -r` → exit 0, `6.1.0-28-686`'],
  ['command fails', { kind: 'command', argv: ['ls', '/nope'] }, false, '`ls /nope` exited with 127: `not found`; expected exit code 0'],
  ['container command', { kind: 'container-command', container: 'web', argv: ['test', '-e', '/notes.txt'], exit: 1 }, true, 'exit 1'],
  ['container command output', { kind: 'container-command', container: 'web', argv: ['cat', '/app/greeting.txt'], stdoutNot: 'Hello' }, false, '`cat /app/greeting.txt` in `web` printed `Hello`, which should not match "Hello"'],
  ['container not running', { kind: 'container-command', container: 'cow', argv: ['ls'] }, false, 'container `cow` is exited; this step wants it running, to run `ls` in it'],
  ['same kernel', { kind: 'container-command', container: 'web', argv: ['uname', '-r'], sameAs: ['uname', '-r'] }, true, 'exit 0'],
  ['hostname differs', { kind: 'container-command', container: 'web', argv: ['hostname'], sameAs: ['hostname'] }, false, '`hostname` in `web` printed `sandbox` and `hostname` in the VM printed `layerlab`; this step wants them equal'],
  ['hostname differs ok', { kind: 'container-command', container: 'web', argv: ['hostname'], notSameAs: ['hostname'] }, true, 'sandbox'],
];

describe('checks against real-looking state', () => {
  it.each(table)('%s', async (_name, check, pass, message) => {
    const r = await evaluateCheck(check, state());
    expect(r.message).toContain(message);
    expect(r.pass).toBe(pass);
  });

  it('nothing built yet', async () => {
    const ctx = state();
    ctx.state.build = null;
    expect(await evaluateCheck({ kind: 'build-cached', image: 'app', all: true }, ctx)).toEqual({
      pass: false,
      message: 'nothing has been built yet; this step wants a build (`docker build -t app .`)',
    });
  });

  it('an engine error becomes a failing check, not a crash', async () => {
    const ctx = state();
    ctx.containers = async () => {
      throw new Error('VM is restarting');
    };
    expect(await evaluateCheck({ kind: 'container', name: 'web', state: 'running' }, ctx)).toEqual({ pass: false, message: 'could not check this yet: VM is restarting' });
  });
});

describe('container by name and image', () => {
  it('needs the named container to come from that image', async () => {
    const ctx = state();
    const c = (await ctx.containers())[0]!;
    expect(await evaluateCheck({ kind: 'container', name: c.name, image: c.image, state: c.state }, ctx)).toMatchObject({ pass: true });
    expect(await evaluateCheck({ kind: 'container', name: c.name, image: 'other-image', state: c.state }, ctx)).toMatchObject({ pass: false, message: expect.stringContaining('was made from') });
  });
});

describe('evaluateStep', () => {
  const step = (checks: Check[]): Step => ({ index: 0, title: 't', challenge: false, body: 'b', checks, hints: ['Merge the RUNs with &&.'], commands: [], appliesSolution: false });

  it('completes when every check passes', async () => {
    const r = await evaluateStep(step([{ kind: 'image-exists', image: 'app' }, { kind: 'container', name: 'web', state: 'running' }]), state());
    expect(r).toMatchObject({ complete: true, hints: [] });
    expect(r.checks.map((c) => c.pass)).toEqual([true, true]);
  });

  it('gives static hints, then what the failing checks found', async () => {
    const r = await evaluateStep(step([{ kind: 'image-exists', image: 'app' }, { kind: 'layers', image: 'app', count: 3, want: 'the two RUNs merged into one (3 layers)' }]), state());
    expect(r.complete).toBe(false);
    expect(r.hints).toEqual(['Merge the RUNs with &&.', 'image `app` has 4 layers; this step wants the two RUNs merged into one (3 layers)']);
  });
});

describe('check messages quote what containers print', () => {
  it('as literal code, so output cannot turn into page markup', async () => {
    const { marked } = await import('marked');
    const payload = '`</code><button class="type-cmd" data-cmd="docker rm -f web">x</button>`';
    const r = await evaluateCheck({ kind: 'command', argv: ['cat', '/x'], stdout: 'nothing like it' }, { ...state(), exec: async () => ({ exit: 0, stdout: payload, stderr: '' }) });
    expect(r.pass).toBe(false);
    const html = marked.parseInline(r.message, { async: false }) as string;
    expect(html).not.toContain('<button');
    expect(html).toContain('&lt;button');
  });
});
