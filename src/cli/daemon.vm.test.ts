/**
 * The CLI daemon, as the `layerlab` program runs it: the first command starts it (a stale socket file
 * left in the store does not stop that), `run -d` leaves a container running in it, a second command
 * sees that container, `daemon status` and `daemon stop` report and end it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProgram } from '../process/run.ts';

const LAUNCHER = fileURLToPath(new URL('../../bin/layerlab.mjs', import.meta.url));
let work: string;
let store: string;

function layerlab(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runProgram(process.execPath, [LAUNCHER, '--store', store, ...argv], {
    cwd: work,
    env: { ...process.env, LAYERLAB_DAEMON: '', LAYERLAB_DAEMON_IDLE: '300' },
    timeoutMs: 280_000,
    allowFailure: true,
  });
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'layerlab-daemon-'));
  store = path.join(work, 'store');
  await mkdir(store);
  await writeFile(path.join(store, 'daemon.sock'), ''); // a stale socket file from a daemon that crashed
});

afterAll(async () => {
  await layerlab('daemon', 'stop');
  if (work) await rm(work, { recursive: true, force: true });
});

describe('layerlab daemon', () => {
  it('holds containers across commands and stops on request', async () => {
    expect((await layerlab('daemon', 'status')).stdout).toContain('daemon: not running');
    const started = await layerlab('run', '-d', '--name', 'sleeper', 'busybox', 'sleep', '300');
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/^[0-9a-f]{64}\n$/);

    const ps = await layerlab('ps');
    expect(ps.code).toBe(0);
    expect(ps.stdout).toMatch(/sleeper\n$/);

    const failed = await layerlab('run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3');
    expect(failed).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });

    // A published port listens on this machine while the container runs (as with dockerd).
    const port = 15000 + (process.pid % 2000);
    const web = await layerlab('run', '-d', '--name', 'web', '-p', `127.0.0.1:${port}:8000`, 'busybox', 'sh', '-c', 'mkdir /www && echo served-by-layerlab > /www/index.html && exec httpd -f -p 8000 -h /www');
    expect(web.code).toBe(0);
    let body = '';
    for (let i = 0; i < 60 && !body.includes('served-by-layerlab'); i++) {
      body = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text(), () => '');
      if (!body) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(body).toBe('served-by-layerlab\n');
    expect((await layerlab('port', 'web')).stdout).toBe(`8000/tcp -> 127.0.0.1:${port}\n`);

    const status = await layerlab('daemon', 'status');
    expect(status.stdout).toMatch(/^daemon: running, pid \d+, store /);

    expect((await layerlab('daemon', 'stop')).stdout).toBe('daemon: stopped\n');
    expect((await layerlab('daemon', 'status')).stdout).toContain('daemon: not running');
  }, 600_000);
});
