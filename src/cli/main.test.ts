import { mkdtemp, mkdir, symlink, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main, type OpenEngine } from './main.ts';
import { readContextDir } from './host-docker.ts';

function harness(engine: Record<string, unknown> = {}) {
  const out = { stdout: '', stderr: '', opened: 0, closed: 0, storeDir: '' };
  const openEngine: OpenEngine = async ({ storeDir }) => {
    out.opened++;
    out.storeDir = storeDir;
    return { engine: engine as never, close: async () => void out.closed++ };
  };
  const io = { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t) };
  return { out, openEngine, io };
}

describe('layerlab CLI', () => {
  it('help and usage errors do not open the engine', async () => {
    const h = harness();
    expect(await main({ argv: ['--help'], io: h.io, openEngine: h.openEngine, cwd: '/tmp' })).toBe(0);
    expect(h.out.stdout).toContain('Usage:  layerlab [--store DIR] [--json] COMMAND');
    expect(h.out.stdout).toContain('Common Commands:');
    expect(await main({ argv: ['run'], io: h.io, openEngine: h.openEngine, cwd: '/tmp' })).toBe(1);
    expect(h.out.opened).toBe(0);
  });

  it('opens the store, runs the verb with --json, closes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'layerlab-cli-'));
    const h = harness({ images: async () => [{ id: 'sha256:' + 'a'.repeat(64), repoTags: ['busybox:latest'], created: '', size: 1 }] });
    expect(await main({ argv: ['--store', 'st', '--json', 'images'], io: h.io, openEngine: h.openEngine, cwd: dir })).toBe(0);
    expect(h.out).toMatchObject({ opened: 1, closed: 1, storeDir: join(dir, 'st') });
    expect(JSON.parse(h.out.stdout)[0]).toMatchObject({ repository: 'busybox', tag: 'latest' });
  });

  it('save -o writes the file next to cwd', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'layerlab-cli-'));
    const h = harness({ save: async () => new Uint8Array([7, 8]) });
    expect(await main({ argv: ['save', '-o', 'x.tar', 'app'], io: h.io, openEngine: h.openEngine, cwd: dir })).toBe(0);
    expect([...(await readFile(join(dir, 'x.tar')))]).toEqual([7, 8]);
  });

  it('reads a build context with modes and symlinks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'layerlab-ctx-'));
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'app.py'), 'print(1)\n', { mode: 0o755 });
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\n');
    await symlink('src/app.py', join(dir, 'link'));
    const entries = await readContextDir(dir);
    expect(entries.map((e) => [e.path, (e.mode & 0o170000).toString(8), new TextDecoder().decode(e.data)])).toEqual([
      ['Dockerfile', '100000', 'FROM busybox\n'],
      ['link', '120000', 'src/app.py'],
      ['src', '40000', ''],
      ['src/app.py', '100000', 'print(1)\n'],
    ]);
    expect(entries[3].mode & 0o777).toBe(0o755);
  });

  it('`lesson` is layerlab\'s own command (usage errors boot nothing)', async () => {
    const h = harness();
    expect(await main({ argv: ['lesson'], io: h.io, openEngine: h.openEngine })).toBe(2);
    expect(h.out.stderr).toContain('layerlab lesson verify');
    expect(await main({ argv: ['lesson', 'verify', '/no/such/lessons'], io: h.io, openEngine: h.openEngine })).toBe(2);
    expect(h.out.stderr).toContain('no such folder');
    expect(h.out.opened).toBe(0);
  });

  it('`lesson list --json` describes every lesson without booting anything', async () => {
    const h = harness();
    const lessonsDir = join(import.meta.dirname, '../../lessons');
    expect(await main({ argv: ['lesson', 'list', '--json', lessonsDir], io: h.io, openEngine: h.openEngine })).toBe(0);
    const rows = JSON.parse(h.out.stdout) as { id: string; steps: number; challenge: boolean; predictions: number; minutes: number; level: string }[];
    expect(rows[0]).toMatchObject({ id: '01-what-is-an-image', challenge: true, level: 'beginner' });
    for (const r of rows) expect(Object.keys(r).sort()).toEqual(['challenge', 'id', 'level', 'minutes', 'predictions', 'steps', 'title']);
    expect(h.out.opened).toBe(0);
    expect(await main({ argv: ['lesson', 'list', '--yaml'], io: h.io, openEngine: h.openEngine })).toBe(2);
  });
});

describe('stdin through the daemon', () => {
  it('is sent for import - and for -i before the image, not for an -i of the command', async () => {
    const { readsStdin } = await import('./daemon.ts');
    expect(readsStdin(['import', '-', 'flat'])).toBe(true);
    expect(readsStdin(['image', 'import', 'fs.tar'])).toBe(false);
    expect(readsStdin(['run', '--name', 'x', '-i', 'busybox', 'cat'])).toBe(true);
    expect(readsStdin(['container', 'exec', '-i', 'c', 'cat'])).toBe(true);
    expect(readsStdin(['run', '--rm', 'busybox', 'ls', '-i'])).toBe(false);
    expect(readsStdin(['ps'])).toBe(false);
  });
});
