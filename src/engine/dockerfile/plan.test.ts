import { describe, expect, it } from 'vitest';
import { DockerfileError } from './errors.ts';
import { parseDockerfile } from './parse.ts';
import { planBuild, type BuildPlan, type PlanOptions } from './plan.ts';

function plan(text: string, options: Omit<PlanOptions, 'dockerfile'> = {}): BuildPlan {
  return planBuild({ dockerfile: parseDockerfile({ text }), ...options });
}
function planError(text: string, options: Omit<PlanOptions, 'dockerfile'> = {}): DockerfileError {
  try {
    plan(text, options);
  } catch (error) {
    expect(error).toBeInstanceOf(DockerfileError);
    return error as DockerfileError;
  }
  throw new Error('expected a DockerfileError');
}

describe('planBuild: steps, layers and history', () => {
  const p = plan(
    [
      'FROM busybox',
      'ENV APP=/app',
      'WORKDIR $APP',
      'COPY app.py .',
      'RUN echo hi > /x',
      'CMD ["python3", "app.py"]',
      'EXPOSE 8080',
      'LABEL a=b',
    ].join('\n'),
    { baseImageConfig: () => ({ Env: ['PATH=/usr/bin:/bin'], Cmd: ['sh'] }) },
  );
  const steps = p.stages[0]!.steps;

  it('marks which steps make layers', () => {
    expect(steps.map((s) => [s.kind, s.layer])).toEqual([
      ['ENV', 'none'],
      ['WORKDIR', 'layer'],
      ['COPY', 'layer'],
      ['RUN', 'layer'],
      ['CMD', 'none'],
      ['EXPOSE', 'none'],
      ['LABEL', 'none'],
    ]);
  });

  it("writes created_by in BuildKit's formats", () => {
    expect(steps.map((s) => s.createdBy)).toEqual([
      'ENV APP=/app',
      'WORKDIR /app',
      'COPY app.py . # buildkit',
      'RUN /bin/sh -c echo hi > /x # buildkit',
      'CMD ["python3" "app.py"]',
      'EXPOSE map[8080/tcp:{}]',
      'LABEL a=b',
    ]);
  });

  it('resolves paths and carries the config', () => {
    expect(steps[1]!.workdir).toBe('/app');
    expect(steps[2]!.copy).toMatchObject({ origin: { kind: 'context' }, sources: ['app.py'], dest: '/app', destIsDir: false });
    expect(steps[3]!.run).toEqual({ argv: ['/bin/sh', '-c', 'echo hi > /x'], env: ['PATH=/usr/bin:/bin', 'APP=/app'], historyArgs: [], user: '', workdir: '/app', mounts: [] });
    expect(p.stages[0]!.config).toMatchObject({
      Env: ['PATH=/usr/bin:/bin', 'APP=/app'],
      WorkingDir: '/app',
      Cmd: ['python3', 'app.py'],
      ExposedPorts: { '8080/tcp': {} },
      Labels: { a: 'b' },
    });
    expect(steps[0]!.configPatch).toEqual({ Env: ['PATH=/usr/bin:/bin', 'APP=/app'] });
  });

  it('WORKDIR is relative to the previous one', () => {
    const s = plan('FROM x\nWORKDIR /a\nWORKDIR b\nWORKDIR ../c/./d\nCOPY f ./\nCOPY g h /abs/').stages[0]!.steps;
    expect(s.map((x) => x.workdir ?? x.copy?.dest)).toEqual(['/a', '/a/b', '/a/c/d', '/a/c/d', '/abs']);
    expect(s[3]!.copy!.destIsDir).toBe(true);
  });

  it('shell form uses SHELL; ENTRYPOINT drops an inherited CMD but not one set in the stage', () => {
    const a = plan('FROM x\nSHELL ["/bin/bash", "-c"]\nRUN echo $0\nENTRYPOINT top -b', { baseImageConfig: () => ({ Cmd: ['sh'] }) }).stages[0]!;
    expect(a.steps[1]!.run!.argv).toEqual(['/bin/bash', '-c', 'echo $0']);
    expect(a.steps[1]!.createdBy).toBe('RUN /bin/bash -c echo $0 # buildkit');
    expect(a.config).toMatchObject({ Entrypoint: ['/bin/bash', '-c', 'top -b'], Cmd: null, Shell: ['/bin/bash', '-c'] });
    const b = plan('FROM x\nCMD ["-b"]\nENTRYPOINT ["top"]', { baseImageConfig: () => ({ Cmd: ['sh'] }) }).stages[0]!;
    expect(b.config).toMatchObject({ Entrypoint: ['top'], Cmd: ['-b'] });
  });

  it('RUN heredocs become the script (and #! scripts run under their interpreter)', () => {
    const s = plan('FROM x\nRUN <<EOF\necho a\nEOF\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\nRUN cat <<A > /f\nhi\nA\n').stages[0]!.steps;
    expect(s[0]!.run!.argv).toEqual(['/bin/sh', '-c', 'echo a\n']);
    expect(s[1]!.run).toMatchObject({ argv: ['/usr/bin/env', 'python3', '/dev/stdin'], stdin: '#!/usr/bin/env python3\nprint(1)\n' });
    expect(s[2]!.run!.argv).toEqual(['/bin/sh', '-c', 'cat <<A > /f\nhi\nA']);
  });

  it('COPY <<EOF makes an inline file, expanded unless the delimiter is quoted', () => {
    const s = plan("FROM x\nENV N=1\nCOPY <<EOF /a\nn=$N\nEOF\nCOPY <<'EOF' /b\nn=$N\nEOF\n").stages[0]!.steps;
    expect(s[1]!.copy!.inlineFiles).toEqual([{ name: 'EOF', content: 'n=1\n' }]);
    expect(s[2]!.copy!.inlineFiles).toEqual([{ name: 'EOF', content: 'n=$N\n' }]);
  });

  it('HEALTHCHECK and VOLUME history', () => {
    const s = plan('FROM x\nHEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD wget -q -O- localhost\nVOLUME /data').stages[0]!.steps;
    expect(s[0]!.config.Healthcheck).toEqual({ Test: ['CMD-SHELL', 'wget -q -O- localhost'], Interval: 30e9, Timeout: 3e9, Retries: 3 });
    expect(s[0]!.createdBy).toBe(`HEALTHCHECK &{["CMD-SHELL" "wget -q -O- localhost"] "30s" "3s" "0s" "0s" '\\x03'}`);
    expect(s[1]!.createdBy).toBe('VOLUME [/data]');
  });
});

describe('planBuild: ENV and ARG semantics', () => {
  it('ENV on one line uses the old values', () => {
    const s = plan('FROM x\nENV a=1\nENV a=2 b=$a\nENV c=$a').stages[0]!;
    expect(s.config.Env).toEqual(['a=2', 'b=1', 'c=2']);
  });

  it('global ARGs are visible in FROM only, unless re-declared', () => {
    const p = plan('ARG TAG=1.36\nARG USER=root\nFROM busybox:$TAG\nUSER ${USER:-nobody}\nARG TAG\nLABEL tag=$TAG', { buildArgs: { TAG: '1.35' } });
    expect(p.stages[0]!.base).toEqual({ kind: 'image', ref: 'busybox:1.35' });
    expect(p.stages[0]!.config.User).toBe('nobody');
    expect(p.stages[0]!.config.Labels).toEqual({ tag: '1.35' });
  });

  it('--build-arg overrides a stage default; args reach RUN env and history as |N', () => {
    const s = plan('FROM x\nARG B=2\nARG A=1\nARG NOVALUE\nRUN make', { buildArgs: { A: 'x' } }).stages[0]!.steps;
    expect(s[3]!.run!.historyArgs).toEqual(['A=x', 'B=2']);
    expect(s[3]!.createdBy).toBe('RUN |2 A=x B=2 /bin/sh -c make # buildkit');
    expect(s[3]!.run!.env).toEqual(['A=x', 'B=2']);
    expect(s[3]!.config.Env).toEqual([]); // ARGs never reach the image config
  });

  it('ENV wins over an ARG of the same name (history lists the ARG with the ENV value, as BuildKit)', () => {
    const s = plan('FROM x\nARG V=arg\nENV V=env\nRUN echo $V\nLABEL v=$V', { buildArgs: { V: 'cli' } }).stages[0]!.steps;
    expect(s[2]!.run!.historyArgs).toEqual(['V=env']);
    expect(s[2]!.run!.env).toEqual(['V=env']);
    expect(s[3]!.config.Labels).toEqual({ v: 'env' });
  });

  it('predefined proxy args reach RUN but not history; unused build args are reported', () => {
    const p = plan('FROM x\nRUN wget x', { buildArgs: { HTTP_PROXY: 'http://p', UNUSED: '1' } });
    const run = p.stages[0]!.steps[0]!.run!;
    expect(run.env).toEqual(['HTTP_PROXY=http://p']);
    expect(run.historyArgs).toEqual([]);
    expect(p.unusedBuildArgs).toEqual(['UNUSED']);
  });

  it('ARGs go out of scope at the next FROM', () => {
    const p = plan('FROM x AS a\nARG V=1\nFROM x\nLABEL v=${V:-unset}');
    expect(p.stages[0]!.config.Labels).toEqual({ v: 'unset' });
  });

  it('automatic platform args', () => {
    expect(plan('FROM x\nARG TARGETARCH\nLABEL arch=$TARGETARCH').stages[0]!.config.Labels).toEqual({ arch: '386' });
  });

  it('a blank base name is an error', () => {
    expect(planError('ARG IMG\nFROM $IMG')).toMatchObject({ line: 2, message: 'Base name ($IMG) should not be blank' });
  });
});

describe('planBuild: multi-stage', () => {
  const text = [
    'FROM busybox AS deps', // 1
    'RUN echo deps', // 2
    'FROM busybox AS build', // 3
    'COPY --from=deps /x /x', // 4
    'FROM busybox AS unused', // 5
    'RUN echo never', // 6
    'FROM build AS final', // 7
    'COPY --from=build /x /y', // 8
  ].join('\n');

  it('runs only the stages the target needs, dependencies first', () => {
    const p = plan(text);
    expect(p.target).toBe(3);
    expect(p.stageCount).toBe(4);
    expect(p.stages.map((s) => s.name)).toEqual(['deps', 'build', 'final']);
    expect(p.stages[2]).toMatchObject({ base: { kind: 'stage', index: 1 }, dependsOn: [1] });
    expect(p.stages[1]!.steps[0]!.copy!.origin).toEqual({ kind: 'stage', index: 0 });
  });

  it('--target picks a stage', () => {
    expect(plan(text, { target: 'deps' }).stages.map((s) => s.name)).toEqual(['deps']);
    expect(plan(text, { target: 'unused' }).stages.map((s) => s.name)).toEqual(['unused']);
    expect(() => plan(text, { target: 'nope' })).toThrow('Target stage "nope" could not be found');
  });

  it('a stage built on another inherits its config', () => {
    const p = plan('FROM x AS base\nENV A=1\nWORKDIR /w\nFROM base\nRUN pwd');
    expect(p.stages[1]!.steps[0]!.run).toMatchObject({ env: ['A=1'], workdir: '/w' });
  });

  it('detects --from cycles with the line', () => {
    const e = planError('FROM x AS a\nCOPY --from=b /f /f\nFROM x AS b\nCOPY --from=a /g /g');
    // Walking from the target b: b needs a (line 4), a needs b (line 2) — the edge that closes the loop.
    expect(e.message).toBe('Circular dependency detected on stage: b');
    expect(e.line).toBe(2);
    expect(planError('FROM x AS a\nCOPY --from=a /f /f').message).toBe('Circular dependency detected on stage: a');
  });

  it('unknown --from names: images by default, an error when the store says no such image', () => {
    expect(plan('FROM x AS build\nFROM x\nCOPY --from=busybox /bin/sh /sh').stages[0]!.steps[0]!.copy!.origin).toEqual({ kind: 'image', ref: 'busybox' });
    const e = planError('FROM x AS build\nFROM x\nCOPY --from=biuld /a /a', { isKnownImage: () => false });
    expect(e).toMatchObject({ line: 3, message: 'COPY --from=biuld: no stage or image is named "biuld"', hint: 'Did you mean --from=build?' });
    expect(planError('FROM x\nCOPY --from=5 /a /a').line).toBe(2);
  });

  it('refuses ADD from a URL and several sources into a non-directory', () => {
    expect(planError('FROM x\nADD https://example.com/a.tgz /a').message).toBe("ADD from a URL needs network access, which Layerlab's sandbox doesn't have; use COPY");
    expect(planError('FROM x\nCOPY a b /dest').message).toContain('must be a directory and end with a /');
  });

  it('throws parse errors with all of them attached', () => {
    const e = planError('FROM x\nRUNN a\nCOPY a');
    expect(e.all.map((x) => x.line)).toEqual([2, 3]);
  });
});

describe('planBuild: runaway substitution', () => {
  it('refuses an ARG whose expansion passes the cap, naming its line', () => {
    // 30 doubling ARGs would expand to 16 GiB. A0 is 16 characters, so A12 is 64 KiB (allowed) and A13
    // (line 15) doubles past the cap.
    const error = planError(DOUBLING_ARGS);
    expect(error.line).toBe(15);
    expect(error.message).toMatch(/expanded value is longer than 65536 characters/);
  });
});

/** A 500-byte Dockerfile whose ARGs double thirty times. */
const DOUBLING_ARGS = [
  'FROM busybox',
  'ARG A0=0123456789abcdef',
  ...Array.from({ length: 30 }, (_, i) => `ARG A${i + 1}=$A${i}$A${i}`),
  'ENV E=$A30',
  'LABEL l=${A30}${A30}',
  'RUN echo $A30',
  '',
].join('\n');

describe('planBuild: ONBUILD triggers of the base image', () => {
  const withTriggers = { baseImageConfig: () => ({ Env: ['PATH=/bin'], OnBuild: ['RUN echo triggered > /t', 'COPY . /src'] }) };

  it('run first, on the FROM line, and are not inherited', () => {
    const stage = plan('FROM parent\nRUN cat /t\n', withTriggers).stages[0]!;
    expect(stage.steps.map((s) => [s.kind, s.lines.start, s.createdBy])).toEqual([
      ['RUN', 1, 'RUN /bin/sh -c echo triggered > /t # buildkit'],
      ['COPY', 1, 'COPY . /src # buildkit'],
      ['RUN', 2, 'RUN /bin/sh -c cat /t # buildkit'],
    ]);
    expect(stage.config.OnBuild).toEqual([]);
  });

  it('a trigger that does not parse is an error on the FROM line', () => {
    const error = planError('FROM busybox\nFROM parent\n', { baseImageConfig: (ref) => (ref === 'parent' ? { OnBuild: ['FROBNICATE x'] } : undefined) });
    expect(error.line).toBe(2);
    expect(error.message).toContain('ONBUILD trigger of the base image');
  });
});
