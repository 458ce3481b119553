/**
 * The Node CLI against a real registry (Debian's docker-registry on 127.0.0.1): push the bundled busybox,
 * pull it into a fresh store and run it in the VM; a multi-platform image resolves to linux/386 and runs;
 * an amd64-only image is refused with a platform error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main.ts';
import { DEFAULT_ASSETS_DIR } from '../../src/machine/node.ts';
import { gzip } from '../../src/engine/archive/tar.ts';
import { startRegistry, writeOciLayout, skopeoPush, skopeoInspect, type LocalRegistry } from './local-registry.ts';

let registry: LocalRegistry;
let work: string;

async function layerlab(store: string, ...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main({ argv: ['--store', path.join(work, store), ...argv], io: { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) }, cwd: work });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  registry = await startRegistry();
  work = await mkdtemp(path.join(tmpdir(), 'layerlab-cli-registry-'));
  const busybox = await gzip(new Uint8Array(await readFile(path.join(DEFAULT_ASSETS_DIR, 'base', 'busybox-rootfs.tar'))));
  await writeOciLayout(path.join(work, 'multi'), 'v1', [
    { platform: { os: 'linux', architecture: 'amd64' }, layers: [{ gzipped: busybox }, { files: [{ name: 'arch', data: 'amd64\n' }] }], cmd: ['cat', '/arch'] },
    { platform: { os: 'linux', architecture: '386' }, layers: [{ gzipped: busybox }, { files: [{ name: 'arch', data: '386\n' }] }], cmd: ['cat', '/arch'] },
  ]);
  await skopeoPush(path.join(work, 'multi'), 'v1', `${registry.host}/lab/multi:1`);
  await writeOciLayout(path.join(work, 'amd64'), 'v1', [{ platform: { os: 'linux', architecture: 'amd64' }, layers: [{ files: [{ name: 'arch', data: 'amd64\n' }] }] }]);
  await skopeoPush(path.join(work, 'amd64'), 'v1', `${registry.host}/lab/amd64only:1`);
}, 120_000);

afterAll(async () => {
  await registry?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('layerlab push / pull / run', () => {
  it('pushes busybox, then a fresh store pulls and runs it', async () => {
    const ref = `${registry.host}/lab/busybox:1`;
    expect((await layerlab('a', 'tag', 'busybox', ref)).code).toBe(0);
    const pushed = await layerlab('a', 'push', ref);
    expect(pushed.stderr).toBe('');
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toMatch(new RegExp(`^The push refers to repository \\[${registry.host}/lab/busybox\\]\n`));
    expect(pushed.stdout).toMatch(/[0-9a-f]{12}: Pushed\n/);
    const digest = /1: digest: (sha256:[0-9a-f]{64}) size: \d+\n$/.exec(pushed.stdout)?.[1];
    expect(digest).toBeDefined();
    expect(JSON.parse(await skopeoInspect(ref)).Digest).toBe(digest);

    const pulled = await layerlab('b', 'pull', ref);
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toContain(`Digest: ${digest}\n`);
    expect(pulled.stdout.trim().split('\n').at(-1)).toBe(ref);
    const inspect = JSON.parse((await layerlab('b', 'inspect', ref)).stdout);
    expect(inspect[0].RepoDigests).toEqual([`${registry.host}/lab/busybox@${digest}`]);
    const ran = await layerlab('b', 'run', '--rm', ref, 'echo', 'hello from the registry');
    expect(ran.stdout).toBe('hello from the registry\n');
    expect(ran.code).toBe(0);
  }, 600_000);

  it('a multi-platform image resolves to linux/386 and runs; amd64-only is refused', async () => {
    const pulled = await layerlab('c', 'pull', `${registry.host}/lab/multi:1`);
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toMatch(/[0-9a-f]{12}: Pull complete\n/);
    const ran = await layerlab('c', 'run', '--rm', `${registry.host}/lab/multi:1`);
    expect(ran.stdout).toBe('386\n');

    // FROM an image the store lacks: the build pulls it first (progress in the build output).
    const { mkdir, writeFile } = await import('node:fs/promises');
    const context = path.join(work, 'ctx');
    await mkdir(context, { recursive: true });
    await writeFile(path.join(context, 'Dockerfile'), `FROM ${registry.host}/lab/multi:1\nRUN cat /arch > /copied\nCMD ["cat", "/copied"]\n`);
    const built = await layerlab('d', 'build', '-t', 'from-registry', 'ctx');
    expect(built.stderr).toContain(`[pull ${registry.host}/lab/multi:1] Status: Downloaded newer image for ${registry.host}/lab/multi:1`);
    expect(built.code).toBe(0);
    expect((await layerlab('d', 'run', '--rm', 'from-registry')).stdout).toBe('386\n');

    // `run` of an image the store lacks pulls it first, as Docker does.
    const autoPulled = await layerlab('e', 'run', '--rm', `${registry.host}/lab/multi:1`);
    expect(autoPulled.stderr).toContain(`Unable to find image '${registry.host}/lab/multi:1' locally\n1: Pulling from lab/multi\n`);
    expect(autoPulled.stdout).toBe('386\n');

    const refused = await layerlab('c', 'pull', `${registry.host}/lab/amd64only:1`);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${registry.host}/lab/amd64only:1 has no linux/386 image (it has linux/amd64); Layerlab runs 32-bit x86 images`);
  }, 600_000);
});
