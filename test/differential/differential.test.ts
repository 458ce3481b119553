/**
 * The differential suite (`npm run test:differential`): every fixture in fixtures/ is built by Layerlab
 * (the engine with the real VM under Node) and by Debian's docker.io dockerd with BuildKit, and the two
 * images are compared after normalizing ids and times (image-snapshot.ts): layer count, each layer's
 * entries, config, history; for fixtures with a `container` command, `docker diff` and the container's
 * writable-layer size (`docker ps -s`); for failing builds, the Dockerfile line the failure names.
 *
 * A fixture is a build context with a Dockerfile and, optionally, differential.json:
 *   { "buildArgs": {…}, "target": "stage", "fails": true, "container": ["sh", "-c", "…"],
 *     "secrets": { "id": "value" }, "dockerMountpoints": ["run/secrets"] }
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openNodeEngine } from '../../src/host/node.ts';
import { readContextDir } from '../../src/cli/host-docker.ts';
import { DEFAULT_ASSETS_DIR } from '../../src/machine/node.ts';
import type { Engine } from '../../src/engine/engine.ts';
import { Dockerd, ensureI386 } from './dockerd.ts';
import { readSavedImages, type ImageSnapshot } from './image-snapshot.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

interface FixtureOptions {
  buildArgs?: Record<string, string>;
  target?: string;
  /** The build fails; both must name the same Dockerfile line. */
  fails?: boolean;
  /** Run this command in a container of the image, then compare `docker diff` and the writable layer's size. */
  container?: string[];
  /** `--secret id=…` values (written to files for docker); neither image may contain them. */
  secrets?: Record<string, string>;
  /**
   * Empty directories dockerd 20.10's BuildKit (v0.8) leaves in a RUN layer where it created `--mount`
   * targets; BuildKit since v0.10, and Layerlab, leave them out (README: "Where Layerlab differs").
   */
  dockerMountpoints?: string[];
}

const fixtures = readdirSync(FIXTURES)
  .sort()
  .map((name) => {
    const optionsFile = path.join(FIXTURES, name, 'differential.json');
    const options: FixtureOptions = existsSync(optionsFile) ? JSON.parse(readFileSync(optionsFile, 'utf8')) : {};
    return { name, dir: path.join(FIXTURES, name), options };
  });

let dockerd: Dockerd;
let engine: Engine;
let closeEngine: () => Promise<void>;
let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'layerlab-differential-'));
  const i386 = await ensureI386(path.join(DEFAULT_ASSETS_DIR, 'base', 'busybox-rootfs.tar'));
  console.log(`differential: i386 binaries run ${i386}`);
  const [daemon, opened] = await Promise.all([Dockerd.start(), openNodeEngine({ relay: null })]);
  dockerd = daemon;
  engine = opened.engine;
  closeEngine = opened.close;
  // The same base images in both: Layerlab's bundled ones, saved and loaded into dockerd.
  const base = path.join(work, 'base.tar');
  await writeFile(base, await engine.save({ refs: ['busybox:latest', 'python:3.11'], format: 'docker' }));
  await dockerd.ok(['load', '-i', base]);
}, 300_000);

afterAll(async () => {
  await closeEngine?.();
  await dockerd?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/**
 * The Dockerfile line a failed BuildKit build names. Docker 20.10 reports a parse error's line
 * (`dockerfile parse error line 7`), and for a failed step the step itself (` > [2/3] RUN false:`):
 * that step's text is matched against the Dockerfile's instructions (continuation lines joined, as
 * BuildKit prints them) to find the line the instruction starts on.
 */
function dockerFailureLine(output: string, dockerfile: string): number | undefined {
  const parse = /dockerfile parse error line (\d+)/.exec(output);
  if (parse) return Number(parse[1]);
  const step = /^ > \[[^\]]*\] (.*):$/m.exec(output);
  if (!step) return undefined;
  const squash = (text: string) => text.replace(/\s+/g, ' ').trim();
  const wanted = squash(step[1]);
  const lines = dockerfile.split('\n');
  for (let start = 0; start < lines.length; start++) {
    let text = lines[start];
    let end = start;
    while (/\\\s*$/.test(text) && end + 1 < lines.length) text = text.replace(/\\\s*$/, '') + lines[++end];
    if (squash(text) === wanted) return start + 1;
  }
  return undefined;
}

async function buildWithDocker(fixture: (typeof fixtures)[number], tag: string) {
  const args = ['build', '--network=none', '--progress=plain', '-t', tag];
  for (const [key, value] of Object.entries(fixture.options.buildArgs ?? {})) args.push('--build-arg', `${key}=${value}`);
  if (fixture.options.target) args.push('--target', fixture.options.target);
  for (const [id, value] of Object.entries(fixture.options.secrets ?? {})) {
    const file = path.join(work, `secret-${id}`);
    await writeFile(file, value);
    args.push('--secret', `id=${id},src=${file}`);
  }
  args.push(fixture.dir);
  return dockerd.docker(args, { env: { DOCKER_BUILDKIT: '1' } });
}

async function buildWithLayerlab(fixture: (typeof fixtures)[number], tag: string): Promise<{ ok: true } | { ok: false; line: number | undefined; message: string }> {
  try {
    await engine.build({
      dockerfile: await readFile(path.join(fixture.dir, 'Dockerfile'), 'utf8'),
      context: await readContextDir(fixture.dir),
      tags: [tag],
      buildArgs: fixture.options.buildArgs,
      target: fixture.options.target,
      secrets: Object.fromEntries(Object.entries(fixture.options.secrets ?? {}).map(([id, value]) => [id, new TextEncoder().encode(value)])),
    });
    return { ok: true };
  } catch (error) {
    const line = (error as { line?: number }).line;
    return { ok: false, line, message: (error as Error).message };
  }
}

/**
 * Differences README.md documents ("Where Layerlab differs from Docker, on purpose"), undone on
 * Layerlab's side before comparing. dockerd 20.10's HealthConfig has no StartInterval, so its
 * HEALTHCHECK history shows three durations where today's Docker, and Layerlab, show four.
 */
function withoutDocumentedDifferences(image: ImageSnapshot): ImageSnapshot {
  const history = image.history.map((entry) => entry.replace(/^((?:\(empty\) )?HEALTHCHECK &\{\[.*\] "[^"]*" "[^"]*" "[^"]*") "[^"]*"/, '$1'));
  return { ...image, history };
}

/** Docker's image without the empty `--mount` target directories dockerd 20.10 leaves in RUN layers. */
function withoutDockerMountpoints(image: ImageSnapshot, mountpoints: string[] = []): ImageSnapshot {
  if (!mountpoints.length) return image;
  const isMountpoint = (line: string) => /^directory /.test(line) && mountpoints.includes(line.split(' ').slice(3).join(' '));
  return { ...image, layers: image.layers.map((layer) => ({ ...layer, entries: layer.entries.filter((line) => !isMountpoint(line)) })) };
}

/**
 * What to compare of an image, as one object so a failure shows every difference at once. A layer with
 * the same diff ID on both sides (the base images' layers) is identical and shows as its ID.
 */
function comparable(image: ImageSnapshot, other: ImageSnapshot) {
  return {
    layerCount: image.layers.length,
    config: image.config,
    history: image.history,
    layers: image.layers.map((layer, index) => (layer.diffId === other.layers[index]?.diffId ? `identical ${layer.diffId}` : layer.entries)),
  };
}

async function containerWithDocker(tag: string, command: string[]) {
  const name = `c-${tag.replace(/[^a-z0-9]/g, '-')}`;
  await dockerd.docker(['run', '--network=none', '--name', name, tag, ...command]);
  const diff = (await dockerd.ok(['diff', name])).trim().split('\n').filter(Boolean).sort();
  const [inspected] = JSON.parse(await dockerd.ok(['inspect', '--size', name])) as { SizeRw: number }[];
  await dockerd.ok(['rm', '-f', name]);
  return { diff, sizeRw: inspected.SizeRw };
}

async function containerWithLayerlab(tag: string, command: string[]) {
  const container = await engine.run({ image: tag, command, network: 'none' });
  const diff = (await engine.diff({ container: container.id })).map((e) => `${e.kind} ${e.path}`).sort();
  const view = (await engine.ps({ all: true, size: true })).find((c) => c.id === container.id);
  await engine.rm({ container: container.id, force: true });
  return { diff, sizeRw: view?.sizeRw };
}

describe('Layerlab builds as Docker (BuildKit) does', () => {
  it.each(fixtures)('$name', async (fixture) => {
    const tag = `differential/${fixture.name.toLowerCase()}:latest`;
    const [docker, layerlab] = [await buildWithDocker(fixture, tag), await buildWithLayerlab(fixture, tag)];
    if (fixture.options.fails) {
      expect(docker.code, `docker build should fail:\n${docker.stdout}${docker.stderr}`).not.toBe(0);
      expect(layerlab.ok, 'layerlab build should fail').toBe(false);
      const dockerLine = dockerFailureLine(docker.stderr + docker.stdout, await readFile(path.join(fixture.dir, 'Dockerfile'), 'utf8'));
      expect({ failureLine: layerlab.ok ? undefined : layerlab.line }, `docker: ${docker.stderr.split('\n').slice(-12).join('\n')}\nlayerlab: ${layerlab.ok ? '' : layerlab.message}`).toEqual({ failureLine: dockerLine });
      return;
    }
    expect(docker.code, `docker build failed:\n${docker.stderr}`).toBe(0);
    expect(layerlab.ok ? 'built' : `Dockerfile:${layerlab.line}: ${layerlab.message}`, 'layerlab build').toBe('built');
    const dockerSaved = new Uint8Array(await dockerdSave(tag));
    const layerlabSaved = await engine.save({ refs: [tag], format: 'docker' });
    for (const secret of Object.values(fixture.options.secrets ?? {})) {
      expect(Buffer.from(dockerSaved).includes(secret), 'docker image contains the secret').toBe(false);
      expect(Buffer.from(layerlabSaved).includes(secret), 'layerlab image contains the secret').toBe(false);
    }
    const saved = (await readSavedImages(dockerSaved)).get(tag);
    const dockerImage = saved && withoutDockerMountpoints(saved, fixture.options.dockerMountpoints);
    const layerlabImage = (await readSavedImages(layerlabSaved)).get(tag);
    expect(dockerImage && layerlabImage).toBeTruthy();
    // Soft expectations: every part that differs is reported, each with its own diff.
    const [ours, theirs] = [comparable(withoutDocumentedDifferences(layerlabImage!), dockerImage!), comparable(dockerImage!, layerlabImage!)];
    expect.soft(ours.layerCount, 'layer count').toBe(theirs.layerCount);
    expect.soft(ours.config, 'config').toEqual(theirs.config);
    expect.soft(ours.history, 'history (created_by, empty_layer)').toEqual(theirs.history);
    for (let i = 0; i < Math.max(ours.layers.length, theirs.layers.length); i++) {
      expect.soft(ours.layers[i], `layer ${i} entries`).toEqual(theirs.layers[i]);
    }
    if (fixture.options.container) {
      expect(await containerWithLayerlab(tag, fixture.options.container)).toEqual(await containerWithDocker(tag, fixture.options.container));
    }
  }, 300_000);
});

async function dockerdSave(tag: string): Promise<Buffer> {
  const file = path.join(work, 'image.tar');
  await dockerd.ok(['save', '-o', file, tag]);
  return readFile(file);
}
