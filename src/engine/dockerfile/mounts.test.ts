import { describe, expect, it } from 'vitest';
import { parseRunMount, runMountSyntaxError, mountFromField } from './mounts.ts';
import { planBuild } from './plan.ts';
import { parseDockerfile } from './parse.ts';

describe('RUN --mount parsing (BuildKit\'s rules)', () => {
  it('defaults: bind, read-only; cache and tmpfs writable; cache id = target', () => {
    expect(parseRunMount('target=/src')).toEqual({ type: 'bind', target: '/src', readonly: true, required: false });
    expect(parseRunMount('type=cache,target=/root/.cache')).toEqual({ type: 'cache', target: '/root/.cache', id: '/root/.cache', readonly: false, required: false });
    expect(parseRunMount('type=tmpfs,dst=/tmp/x/')).toMatchObject({ type: 'tmpfs', target: '/tmp/x', readonly: false });
    expect(parseRunMount('type=bind,source=app,target=src,rw', { workdir: '/work' })).toMatchObject({ source: 'app', target: '/work/src', readonly: false });
  });

  it('cache options: id, sharing, mode, uid, gid, from', () => {
    expect(parseRunMount('type=cache,id=pip,target=/c,sharing=locked,mode=0700,uid=1000,gid=1000,from=base,source=/seed')).toEqual({
      type: 'cache', id: 'pip', target: '/c', sharing: 'locked', mode: 0o700, uid: 1000, gid: 1000, from: 'base', source: '/seed', readonly: false, required: false,
    });
  });

  it('secrets: id from the target, target from the id, required, env', () => {
    expect(parseRunMount('type=secret,id=tok')).toMatchObject({ type: 'secret', id: 'tok', target: '/run/secrets/tok', readonly: true, required: false });
    expect(parseRunMount('type=secret,target=/etc/api.key,required')).toMatchObject({ id: 'api.key', target: '/etc/api.key', required: true });
    expect(parseRunMount('type=secret,id=tok,required=false,env=TOKEN')).toMatchObject({ required: false, env: 'TOKEN' });
    expect(parseRunMount('type=secret,source=tok')).toMatchObject({ id: 'tok', target: '/run/secrets/tok' });
  });

  it('substitutes values, but never from=', () => {
    const expand = (word: string) => word.replace('$DIR', '/cache');
    expect(parseRunMount('type=cache,target=$DIR', { expand }).target).toBe('/cache');
    expect(() => parseRunMount('type=bind,from=$STAGE,target=/x', { expand })).toThrow("'from' doesn't support variable expansion, define alias stage instead");
  });

  it.each([
    ['type=foo,target=/x', 'unsupported mount type "foo"'],
    ['type=cache,target=/x,bogus=1', "unexpected key 'bogus' in 'bogus=1'"],
    ['type=bind,target=/x,mode=0700', 'mode not allowed for "bind" type mounts'],
    ['type=tmpfs,target=/x,uid=1', 'uid not allowed for "tmpfs" type mounts'],
    ['type=cache', 'invalid mount target "/"'],
    ['type=secret', 'invalid secret mount. one of source, target required'],
    ['type=cache,target=/x,sharing=weird', 'unsupported sharing value "weird"'],
    ['type=bind,target=/x,sharing=shared', 'invalid cache sharing set for bind mount'],
    ['type=bind,target=/x,required', "unexpected key 'required' for mount type 'bind'"],
    ['type=cache,target=/x,ro=maybe', 'invalid value for ro: maybe'],
    ['type=secret,id=a,from=x', 'secret mount should not have a from'],
    ['type=secret,id=a,source=b', "both source and id can't be set"],
    ['target=/x,foo', "invalid field 'foo' must be a key=value pair"],
    ['type=cache,target=/x,uid=abc', 'invalid value abc for uid'],
    ['type=cache,target=/x,mode=9', 'invalid value 9 for mode'],
    ['type=ssh', 'mount type "ssh" is not supported by Layerlab'],
  ])('%s → %s', (value, message) => {
    expect(runMountSyntaxError(value)).toContain(message);
  });

  it('reads quoted CSV fields', () => {
    expect(parseRunMount('type=bind,"source=a,b",target=/x').source).toBe('a,b');
    expect(mountFromField('type=bind,from=build,target=/x')).toBe('build');
  });
});

describe('RUN --mount in the plan', () => {
  const plan = (text: string, buildArgs?: Record<string, string>) => planBuild({ dockerfile: parseDockerfile({ text }), buildArgs });

  it('resolves from= to a stage, which becomes a dependency', () => {
    const p = plan('FROM busybox AS build\nRUN echo > /out\nFROM busybox\nRUN --mount=from=build,source=/out,target=/in cat /in\n');
    const run = p.stages[1]!.steps[0]!.run!;
    expect(run.mounts).toEqual([{ type: 'bind', from: 'build', source: '/out', target: '/in', readonly: true, required: false, origin: { kind: 'stage', index: 0 } }]);
    expect(p.stages[1]!.dependsOn).toEqual([0]);
  });

  it('substitutes build args and resolves relative targets against WORKDIR', () => {
    const p = plan('FROM busybox\nARG CACHE=pip\nWORKDIR /app\nRUN --mount=type=cache,id=$CACHE,target=cache true\n', { CACHE: 'npm' });
    expect(p.stages[0]!.steps[2]!.run!.mounts[0]).toMatchObject({ id: 'npm', target: '/app/cache', origin: { kind: 'context' } });
  });

  it('a substituted value that is wrong fails with the line', () => {
    expect(() => plan('FROM busybox\nARG T=weird\nRUN --mount=type=$T,target=/x true\n')).toThrow(/unsupported mount type "weird"/);
  });

  it('the mount flags stay out of the history, as BuildKit writes it', () => {
    const p = plan('FROM busybox\nRUN --mount=type=secret,id=tok cat /run/secrets/tok\n');
    expect(p.stages[0]!.steps[0]!.createdBy).toBe('RUN /bin/sh -c cat /run/secrets/tok # buildkit');
  });
});
