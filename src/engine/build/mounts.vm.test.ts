/**
 * RUN --mount against the real VM under Node: a cache directory that outlives the build (and `builder
 * prune`), secrets that the RUN reads and no layer, history or config keeps, bind mounts of the context and
 * of a stage, tmpfs, and the mountpoints the runtime creates left out of the layer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { readFile } from 'node:fs/promises';
import { Engine } from '../engine.ts';
import { MemoryBackend } from '../store/backend.ts';
import { startNodeMachine, DEFAULT_ASSETS_DIR } from '../../machine/node.ts';
import type { Machine } from '../../machine/machine.ts';
import { readBaseImages } from '../../../vm/base-images.ts';
import type { BuildEvent } from './events.ts';
import type { ContextEntry } from '../dockerfile/index.ts';
import { readTar } from '../archive/tar.ts';
import { inflate } from '../archive/load.ts';

let machine: Machine;
let engine: Engine;

const file = (path: string, text: string, mode = 0o100644): ContextEntry => ({ path, mode, data: new TextEncoder().encode(text) });
const text = (value: string) => new TextEncoder().encode(value);

beforeAll(async () => {
  machine = await startNodeMachine();
  engine = await Engine.open({
    backend: new MemoryBackend(),
    guest: machine,
    baseImages: await readBaseImages(DEFAULT_ASSETS_DIR),
    baseLayerUrl: (name) => pathToFileURL(join(DEFAULT_ASSETS_DIR, 'base', name)).href,
    fetch: (async (url: string) => new Response(await readFile(fileURLToPath(url)))) as unknown as typeof fetch,
  });
}, 600_000);

afterAll(() => machine?.destroy());

async function build(dockerfile: string, options: { context?: ContextEntry[]; tag?: string; secrets?: Record<string, Uint8Array>; noCache?: boolean } = {}) {
  const events: BuildEvent[] = [];
  const result = await engine.build({ dockerfile, context: options.context ?? [], tags: [options.tag ?? 'mounts'], secrets: options.secrets, noCache: options.noCache, onEvent: (e) => events.push(e) });
  return { ...result, output: events.filter((e) => e.type === 'step-output').map((e) => (e as { text: string }).text).join('') };
}

/** Every layer's entries (path → content for files) of an image, from `docker save`. */
async function layerFiles(ref: string): Promise<Map<string, string>[]> {
  const saved = await readTar(await engine.save({ refs: [ref], format: 'docker' }));
  const manifest = JSON.parse(new TextDecoder().decode(saved.find((e) => e.name === 'manifest.json')!.data)) as { Layers: string[] }[];
  const layers = [];
  for (const name of manifest[0]!.Layers) {
    const tar = await inflate(saved.find((e) => e.name === name)!.data!, name, 1 << 30);
    layers.push(new Map((await readTar(tar)).map((e) => [e.name.replace(/\/$/, ''), e.data ? new TextDecoder().decode(e.data) : e.type])));
  }
  return layers;
}

describe('RUN --mount', () => {
  it('type=cache: a later build sees what an earlier one left; the layer keeps no cache file; builder prune empties it', { timeout: 600_000 }, async () => {
    const first = await build('FROM busybox\nRUN --mount=type=cache,target=/var/cache/app echo one >> /var/cache/app/log && wc -l < /var/cache/app/log > /count\n', { tag: 'cache:1' });
    expect(first.output).toBe('');
    const again = await build('FROM busybox\nRUN --mount=type=cache,target=/var/cache/app echo two >> /var/cache/app/log && cat /var/cache/app/log\n', { tag: 'cache:2' });
    expect(again.output).toBe('one\ntwo\n');
    const layers = await layerFiles('cache:1');
    const top = layers.at(-1)!;
    expect(top.get('count')).toBe('1\n');
    expect([...top.keys()].filter((p) => p.startsWith('var/cache'))).toEqual([]);
    // A cache id is shared by name, whatever the target; with an owner it is another cache (as in BuildKit).
    const byId = await build('FROM busybox\nRUN --mount=type=cache,id=/var/cache/app,target=/c cat /c/log && ls -ld /c | cut -c1-10\n', { tag: 'cache:3', noCache: true });
    expect(byId.output).toBe('one\ntwo\ndrwxr-xr-x\n');
    const owned = await build('FROM busybox\nRUN --mount=type=cache,id=/var/cache/app,target=/c,uid=1000,mode=0700 ls /c | wc -l && stat -c "%a %u %g" /c\n', { tag: 'cache:5', noCache: true });
    expect(owned.output).toBe('0\n700 1000 0\n');
    await engine.pruneBuildCache();
    const pruned = await build('FROM busybox\nRUN --mount=type=cache,target=/var/cache/app ls /var/cache/app | wc -l\n', { tag: 'cache:4', noCache: true });
    expect(pruned.output.trim()).toBe('0');
  });

  it('type=secret: the RUN reads it; no layer, history entry or config has it; a required one that is missing fails', { timeout: 600_000 }, async () => {
    const secret = 'hunter2-s3cret';
    const dockerfile = 'FROM busybox\nRUN --mount=type=secret,id=token,env=TOKEN wc -c < /run/secrets/token > /len && stat -c %a /run/secrets/token && [ "$TOKEN" = "$(cat /run/secrets/token)" ]\n';
    const built = await build(dockerfile, { tag: 'secret:1', secrets: { token: text(secret) } });
    expect(built.output).toBe('400\n');
    const layers = await layerFiles('secret:1');
    expect(layers.at(-1)!.get('len')).toBe(`${secret.length}\n`);
    // /run exists in busybox: its copy-up stays (as in Docker's layer), the mountpoints the runtime made do not.
    expect([...layers.at(-1)!.keys()].filter((p) => p.startsWith('run'))).toEqual(['run']);
    for (const layer of layers) for (const content of layer.values()) expect(content).not.toContain(secret);
    const history = await engine.history({ ref: 'secret:1' });
    expect(JSON.stringify(history)).not.toContain(secret);
    expect(JSON.stringify(await engine.inspectImage({ ref: 'secret:1' }))).not.toContain(secret);
    // Not given and not required: the RUN sees no file.
    const optional = await build('FROM busybox\nRUN --mount=type=secret,id=absent test ! -e /run/secrets/absent && echo none\n', { tag: 'secret:2' });
    expect(optional.output).toBe('none\n');
    await expect(build('FROM busybox\nRUN --mount=type=secret,id=absent,required cat /run/secrets/absent\n', { tag: 'secret:3' })).rejects.toThrow('secret absent not found: not found');
  });

  it('type=bind: the context (read-only unless rw, writes discarded), a file, and a stage', { timeout: 600_000 }, async () => {
    const context = [file('Dockerfile', ''), file('src/a.txt', 'from the context\n'), file('top.txt', 'top\n')];
    const built = await build(
      [
        'FROM busybox AS tools',
        'RUN echo made in a stage > /made.txt',
        'FROM busybox',
        'RUN --mount=target=/ctx cat /ctx/src/a.txt > /copied && (touch /ctx/new 2>/dev/null || echo read-only)',
        'RUN --mount=type=bind,source=src,target=/s,rw touch /s/scratch && ls /s',
        'RUN --mount=source=top.txt,target=/etc/top.txt cat /etc/top.txt',
        'RUN --mount=from=tools,source=/made.txt,target=/m cat /m >> /copied',
        'RUN --mount=type=tmpfs,target=/scratch echo t > /scratch/t && ls /scratch',
      ].join('\n'),
      { context, tag: 'bind:1' },
    );
    expect(built.output).toBe('read-only\na.txt\nscratch\ntop\nt\n');
    const layers = await layerFiles('bind:1');
    const all = new Map(layers.slice(1).flatMap((layer) => [...layer]));
    expect(all.get('copied')).toBe('from the context\nmade in a stage\n');
    expect([...all.keys()].filter((p) => /^(ctx|s|m|scratch|etc\/top\.txt)$/.test(p))).toEqual([]);
    // A changed context file is a cache miss for the RUN that mounts it.
    const changed = await build('FROM busybox\nRUN --mount=source=top.txt,target=/t cat /t\n', { context: [file('top.txt', 'one\n')], tag: 'bind:2' });
    const changedAgain = await build('FROM busybox\nRUN --mount=source=top.txt,target=/t cat /t\n', { context: [file('top.txt', 'two\n')], tag: 'bind:2' });
    expect([changed.output, changedAgain.output]).toEqual(['one\n', 'two\n']);
    await expect(build('FROM busybox\nRUN --mount=source=nope,target=/x true\n', { context, tag: 'bind:3' })).rejects.toThrow('"/nope" not found: not found');
  });

  it('RUN --network=none: a network namespace with only the loopback interface', { timeout: 600_000 }, async () => {
    const built = await build('FROM busybox\nRUN --network=none ls /sys/class/net\nRUN ls /sys/class/net | grep -vc "^lo$"\n', { tag: 'net:1' });
    expect(built.output.split('\n')[0]).toBe('lo');
    expect(Number(built.output.split('\n')[1])).toBeGreaterThan(0);
  });
});
