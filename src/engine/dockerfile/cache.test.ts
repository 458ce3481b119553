import { describe, expect, it } from 'vitest';
import { computeCacheKey, explainMiss, fingerprintItems, type CacheKey } from './cache.ts';
import { resolveCopySources, type ContextEntry } from './context.ts';
import { parseDockerfile } from './parse.ts';
import { planBuild } from './plan.ts';

const encode = (s: string) => new TextEncoder().encode(s);

/** Keys for every step of a one-stage build, chained like the executor will chain them. */
async function keys(dockerfile: string, context: ContextEntry[] = [], buildArgs: Record<string, string> = {}): Promise<CacheKey[]> {
  const plan = planBuild({ dockerfile: parseDockerfile({ text: dockerfile }), buildArgs });
  let parent = 'sha256:base-image';
  const out: CacheKey[] = [];
  for (const step of plan.stages[0]!.steps) {
    const files = step.copy ? await fingerprintItems((await resolveCopySources({ context, copy: step.copy, line: step.lines.start })).items) : undefined;
    const key = await computeCacheKey({ step, parent, files });
    out.push(key);
    parent = key.key;
  }
  return out;
}

const DOCKERFILE = 'FROM busybox\nARG V=1\nCOPY app.py /app/\nRUN echo $V\nCMD ["sh"]';
const CONTEXT = [{ path: 'app.py', mode: 0o100644, data: encode('print(1)') }];

describe('cache keys', () => {
  it('are stable for the same inputs', async () => {
    const a = await keys(DOCKERFILE, CONTEXT);
    const b = await keys(DOCKERFILE, CONTEXT);
    expect(a.map((k) => k.key)).toEqual(b.map((k) => k.key));
    expect(a[0]!.key).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('do not change when only line numbers or comments change', async () => {
    const a = await keys(DOCKERFILE, CONTEXT);
    const b = await keys('FROM busybox\n# a comment\n\nARG V=1\nCOPY app.py /app/\nRUN echo $V\nCMD ["sh"]', CONTEXT);
    expect(b.map((k) => k.key)).toEqual(a.map((k) => k.key));
  });

  it('a changed file misses from its COPY on, and explainMiss names the file', async () => {
    const a = await keys(DOCKERFILE, CONTEXT);
    const b = await keys(DOCKERFILE, [{ ...CONTEXT[0]!, data: encode('print(2)') }]);
    expect(b.map((k, i) => k.key === a[i]!.key)).toEqual([true, false, false, false]);
    expect(explainMiss({ previous: a[1]!.inputs, current: b[1]!.inputs }).map((r) => r.message)).toEqual(['app.py changed']);
    expect(explainMiss({ previous: a[2]!.inputs, current: b[2]!.inputs }).map((r) => r.message)).toEqual(['a previous step changed']);
  });

  it('a mode change is a change', async () => {
    const a = await keys(DOCKERFILE, CONTEXT);
    const b = await keys(DOCKERFILE, [{ ...CONTEXT[0]!, mode: 0o100755 }]);
    expect(b[1]!.key).not.toBe(a[1]!.key);
    expect(explainMiss({ previous: a[1]!.inputs, current: b[1]!.inputs })[0]!.message).toBe('app.py changed mode (644 → 755)');
  });

  it('a build arg used by RUN misses from that RUN on', async () => {
    const a = await keys(DOCKERFILE, CONTEXT);
    const b = await keys(DOCKERFILE, CONTEXT, { V: '2' });
    // The ARG line itself shows the new value, so it misses too (Docker's history has `ARG V=2`).
    expect(b.map((k, i) => k.key === a[i]!.key)).toEqual([false, false, false, false]);
    // RUN's text is not substituted (the shell expands $V), so the arg is what differs.
    expect(explainMiss({ previous: a[2]!.inputs, current: b[2]!.inputs }).map((r) => r.message)).toEqual([
      'build arg V changed (1 → 2)',
      'a previous step changed',
    ]);
  });

  it('an unrelated build arg changes nothing', async () => {
    const a = await keys('FROM x\nRUN echo hi', []);
    const b = await keys('FROM x\nRUN echo hi', [], { HTTP_PROXY: 'http://proxy' });
    expect(b[0]!.key).toBe(a[0]!.key);
  });

  it('an edited line misses and says which line', async () => {
    const a = await keys('FROM x\nRUN echo a\nRUN echo b');
    const b = await keys('FROM x\nRUN echo A\nRUN echo b');
    expect(explainMiss({ previous: a[0]!.inputs, current: b[0]!.inputs })).toEqual([{ kind: 'instruction', message: 'line 2 changed', before: 'RUN echo a', after: 'RUN echo A' }]);
    expect(explainMiss({ previous: a[1]!.inputs, current: b[1]!.inputs })[0]!.kind).toBe('parent');
    expect(explainMiss({ previous: a[1]!.inputs, current: a[1]!.inputs })).toEqual([]);
    expect(explainMiss({ previous: undefined, current: a[1]!.inputs })[0]!.kind).toBe('no-previous');
  });

  it('added and removed files are named', async () => {
    const ctx = (names: string[]) => names.map((n) => ({ path: `src/${n}`, mode: 0o100644, data: encode(n) }));
    const a = await keys('FROM x\nCOPY src /src', ctx(['a.py', 'b.py']));
    const b = await keys('FROM x\nCOPY src /src', ctx(['a.py', 'c.py']));
    expect(explainMiss({ previous: a[0]!.inputs, current: b[0]!.inputs }).map((r) => r.message)).toEqual(['src/c.py was added', 'src/b.py was removed']);
  });

  it('explains what went into a key', async () => {
    const [, copy] = await keys(DOCKERFILE, CONTEXT);
    expect(copy!.explanation[1]).toBe('instruction (line 3): COPY app.py /app/');
    expect(copy!.explanation[2]).toMatch(/^file app\.py \(644, [0-9a-f]{12}\)$/);
  });
});
