import { describe, expect, it } from 'vitest';
import { createFakeBackend } from './backend.ts';
import type { BuildLogVM } from '../panels/types.ts';

describe('the fake backend', () => {
  it('builds through the shared BuildLog reducer: BuildKit-style steps, FROM line, CACHED on a rebuild', async () => {
    const backend = createFakeBackend({ fixtures: false, stepMs: 0 });
    const dockerfile = 'FROM busybox\nWORKDIR /app\nRUN echo hi > /greeting.txt\nCMD ["sh"]\n';
    const build = async () => {
      let log: BuildLogVM | undefined;
      const result = await backend.build({ files: [{ path: 'Dockerfile', content: dockerfile }], dockerfile: 'Dockerfile', tag: 'app', signal: new AbortController().signal, onLog: (l) => (log = l) });
      return { result, log: log! };
    };
    const first = await build();
    expect(first.result.ok).toBe(true);
    expect(first.log.state).toBe('succeeded');
    expect(first.log.steps.map((s) => s.name)).toEqual([
      '[internal] load build definition from Dockerfile',
      '[1/4] FROM busybox',
      '[2/4] WORKDIR /app',
      '[3/4] RUN echo hi > /greeting.txt',
      'exporting to image',
    ]);
    expect(first.result.decorations.find((d) => d.line === 4)?.status).toBe('config');
    const second = await build();
    expect(second.log.steps.filter((s) => s.status === 'cached').map((s) => s.line)).toEqual([2, 3]);
    expect(second.result.decorations.find((d) => d.line === 3)?.status).toBe('cached');
  });

  it('a missing COPY source fails its step and lists no later step', async () => {
    const backend = createFakeBackend({ fixtures: false, stepMs: 0 });
    let log: BuildLogVM | undefined;
    const result = await backend.build({ files: [{ path: 'Dockerfile', content: 'FROM busybox\nCOPY nope.txt /\nRUN echo never\n' }], dockerfile: 'Dockerfile', tag: 'app', signal: new AbortController().signal, onLog: (l) => (log = l) });
    expect(result.ok).toBe(false);
    expect(result.decorations).toContainEqual(expect.objectContaining({ line: 2, status: 'failed' }));
    expect(log!.state).toBe('failed');
    expect(log!.steps.map((s) => s.name).join('\n')).not.toMatch(/RUN echo never/);
  });
});
