import { describe, expect, it } from 'vitest';
import { createEngineContext, type SpawnGuest } from './engine-context.ts';
import type { ChangeEvent, EngineApi } from '../engine/api.ts';
import type { BuildStepInfo } from '../engine/build/events.ts';

const step = (n: number, line: number, instruction: string): BuildStepInfo => ({
  n,
  total: 3,
  stage: '0',
  stageStep: n,
  stageSteps: 3,
  line,
  endLine: line,
  instruction,
  configOnly: instruction.startsWith('CMD'),
});

function fakeEngine() {
  const listeners = new Set<(e: ChangeEvent) => void>();
  const calls: string[] = [];
  const engine = {
    subscribe(l: (e: ChangeEvent) => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    async inspectImage({ ref }: { ref: string }) {
      if (ref !== 'app') throw Object.assign(new Error(`No such image: ${ref}`), { name: 'NotFoundError' });
      return { Id: 'sha256:aaa', RepoTags: ['app:latest'], Config: { Cmd: ['sh'], Entrypoint: null, Env: ['A=1'] }, Size: 30 };
    },
    async imageLayers({ ref }: { ref: string }) {
      calls.push(`layers ${ref}`);
      return {
        id: ref,
        repoTags: ['app:latest'],
        layers: [{ index: 0, diffID: 'sha256:l0', createdBy: 'ADD busybox', size: 30, changes: [{ path: '/bin/sh', kind: 'A', size: 30, type: 'file' }] }],
        history: [
          { createdBy: 'ADD busybox', emptyLayer: false, layerIndex: 0 },
          { createdBy: 'CMD ["sh"]', emptyLayer: true, layerIndex: null },
        ],
        totalBytes: 30,
        wastedBytes: 0,
        wasted: [],
      };
    },
    async ps() {
      return [{ id: 'c1', name: 'web', image: 'app', state: 'exited', exitCode: 0, sizeRw: 5, sizeRootFs: 35 }];
    },
    async diff() {
      return [{ path: '/x', kind: 'A', size: 5, type: 'file' }];
    },
    async exec({ container, command }: { container: string; command: string[] }) {
      if (container !== 'web') throw new Error(`No such container: ${container}`);
      return { exitCode: 0, stdout: command.join(' '), stderr: '' };
    },
  };
  return { engine: engine as unknown as EngineApi, emit: (e: ChangeEvent) => listeners.forEach((l) => l(e)), calls, listeners };
}

const guest: SpawnGuest = {
  async request<T>(op: string, params?: Record<string, unknown>, options?: { onStream?: (s: 'stdout' | 'stderr', d: Uint8Array) => void }) {
    expect(op).toBe('spawn');
    const argv = params!.argv as string[];
    if (argv[0] === 'missing') throw new Error('guest spawn: spawn: missing: exec: No such file or directory');
    options?.onStream?.('stdout', new TextEncoder().encode(argv.slice(1).join(' ')));
    return { exit: 3 } as T;
  },
};

describe('the lesson context over the engine', () => {
  it('shows images with their layers, history and config; unknown refs are null', async () => {
    const { engine, calls } = fakeEngine();
    const ctx = createEngineContext({ engine, guest });
    const img = await ctx.image('app');
    expect(img).toMatchObject({ id: 'sha256:aaa', tags: ['app:latest'], size: 30, config: { Cmd: ['sh'], Env: ['A=1'] } });
    expect(img!.config).not.toHaveProperty('Entrypoint');
    expect(img!.layers).toEqual([{ diffID: 'sha256:l0', createdBy: 'ADD busybox', size: 30, files: [{ path: '/bin/sh', kind: 'A', size: 30 }] }]);
    expect(img!.history).toHaveLength(2);
    await ctx.image('app');
    expect(calls).toEqual(['layers sha256:aaa']); // layers are cached by image id
    expect(await ctx.image('nope')).toBeNull();
  });

  it('lists containers with their writable entries', async () => {
    const ctx = createEngineContext({ engine: fakeEngine().engine, guest });
    const [c] = await ctx.containers();
    expect(c).toEqual({ id: 'c1', name: 'web', image: 'app', state: 'exited', exitCode: 0, writable: [{ path: '/x', kind: 'A', size: 5 }], sizeRw: 5, sizeRootFs: 35 });
  });

  it('records the last finished build from the change feed', () => {
    const fake = fakeEngine();
    const ctx = createEngineContext({ engine: fake.engine, guest });
    expect(ctx.lastBuild()).toBeNull();
    fake.emit({ type: 'build', event: { type: 'start', steps: [], warnings: [] } });
    fake.emit({ type: 'build', event: { type: 'step-done', step: step(1, 1, 'FROM busybox'), cached: true, ms: 0, missReasons: [] } });
    fake.emit({ type: 'build', event: { type: 'step-done', step: step(2, 2, 'RUN echo hi'), cached: false, ms: 5, layer: { diffID: 'sha256:x', size: 12, files: 1 }, missReasons: [] } });
    expect(ctx.lastBuild()).toBeNull(); // not finished yet
    fake.emit({ type: 'build', event: { type: 'done', imageId: 'sha256:i', tags: ['app:latest'], ms: 9, cachedSteps: 1, totalSteps: 2 } });
    expect(ctx.lastBuild()).toEqual({
      tag: 'app:latest',
      steps: [
        { line: 1, instruction: 'FROM busybox', cached: true, layerSize: 0 },
        { line: 2, instruction: 'RUN echo hi', cached: false, layerSize: 12 },
      ],
    });
    fake.emit({ type: 'build', event: { type: 'start', steps: [], warnings: [] } });
    fake.emit({ type: 'build', event: { type: 'error', message: 'boom' } });
    expect(ctx.lastBuild()).toEqual({ tag: null, steps: [] });
    ctx.close();
    expect(fake.listeners.size).toBe(0);
  });

  it('runs programs in the VM and in containers', async () => {
    const ctx = createEngineContext({ engine: fakeEngine().engine, guest });
    expect(await ctx.exec(['echo', 'a', 'b'])).toEqual({ exit: 3, stdout: 'a b', stderr: '' });
    expect((await ctx.exec(['missing'])).exit).toBe(127);
    expect(await ctx.containerExec('web', ['uname', '-r'])).toEqual({ exit: 0, stdout: 'uname -r', stderr: '' });
    expect(await ctx.containerExec('gone', ['ls'])).toMatchObject({ exit: 126, stderr: 'No such container: gone' });
  });
});
