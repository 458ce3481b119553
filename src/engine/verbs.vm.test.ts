/**
 * (v86 is slow on a busy machine: each test gets five minutes.)
 * The runtime verbs against the real VM: pause/unpause (cgroup freezer), top, stats, logs -f/-t/--since,
 * attach, export/import and system df, through the engine and through the docker CLI verbs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from './engine.ts';
import type { Machine } from '../machine/machine.ts';
import { openNodeEngine } from '../host/node.ts';
import { runDocker } from '../client/commands.ts';
import { readTar } from './archive/tar.ts';
import { containerDir } from './containers/containers.ts';
import { fromBase64 } from './util/base64.ts';

let opened: Awaited<ReturnType<typeof openNodeEngine>>;
let machine: Machine;
let engine: Engine;

beforeAll(async () => {
  opened = await openNodeEngine({ relay: null });
  ({ machine, engine } = opened);
}, 300_000);

afterAll(() => opened?.close());

const files = new Map<string, Uint8Array>();

async function docker(argv: string[], options: { signal?: AbortSignal; stdin?: Uint8Array } = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runDocker({
    engine,
    argv,
    io: { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) },
    writeFile: async (path, data) => void files.set(path, data),
    readFile: async (path) => {
      const data = files.get(path);
      if (!data) throw new Error(`open ${path}: no such file or directory`);
      return data;
    },
    ...(options.stdin ? { readStdin: async () => options.stdin! } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { code, stdout, stderr };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function readContainerFile(id: string, path: string): Promise<string> {
  const { data } = await machine.request<{ data: string }>('read', { path: `${containerDir(id)}/rootfs${path}` });
  return new TextDecoder().decode(fromBase64(data));
}

describe('pause and unpause', () => {
  it('freezes the processes, shows Paused, refuses exec and rm, and thaws', async () => {
    const view = await engine.run({ image: 'busybox', name: 'ticker', detach: true, command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /count; sleep 0.2; done'] });
    await sleep(1500);
    expect((await docker(['pause', 'ticker'])).stdout).toBe('ticker\n');
    const frozen = await readContainerFile(view.id, '/count');
    const ps = await docker(['ps']);
    expect(ps.stdout).toMatch(/Up .* \(Paused\)\s+ticker/);
    expect((await engine.inspectContainer({ container: 'ticker' })).State).toMatchObject({ Status: 'paused', Running: true, Paused: true });
    expect((await docker(['ps', '--filter', 'status=paused', '-q'])).stdout).toBe(`${view.id.slice(0, 12)}\n`);
    await sleep(1500);
    expect(await readContainerFile(view.id, '/count')).toBe(frozen);

    const exec = await docker(['exec', 'ticker', 'true']);
    expect(exec.code).toBe(1);
    expect(exec.stderr).toContain('Container ticker is paused, unpause the container before exec');
    expect((await docker(['pause', 'ticker'])).stderr).toContain(`Container ${view.id} is already paused`);
    expect((await docker(['rm', 'ticker'])).stderr).toContain('You cannot remove a paused container');
    expect((await docker(['start', 'ticker'])).stderr).toContain('cannot start a paused container, try unpause instead');

    expect((await docker(['unpause', 'ticker'])).stdout).toBe('ticker\n');
    expect((await docker(['unpause', 'ticker'])).stderr).toContain(`Container ${view.id} is not paused`);
    await sleep(1500);
    expect(Number(await readContainerFile(view.id, '/count'))).toBeGreaterThan(Number(frozen));

    // stop on a paused container delivers the signal (the container is thawed for it), as in Docker.
    await docker(['pause', 'ticker']);
    expect((await docker(['stop', '-t', '1', 'ticker'])).code).toBe(0);
    expect((await engine.inspectContainer({ container: 'ticker' })).State).toMatchObject({ Status: 'exited', Paused: false });
    expect((await docker(['pause', 'ticker'])).stderr).toContain(`Container ${view.id} is not running`);
    await engine.rm({ container: 'ticker' });
  }, 300_000);
});

describe('top and stats', () => {
  it('lists the processes as ps -ef does and samples the cgroup counters', async () => {
    await engine.run({ image: 'busybox', name: 'sleeper', detach: true, memoryBytes: 32 * 1024 * 1024, command: ['sh', '-c', 'sleep 300 & wait'] });
    // The shell forks sleep right after it starts: wait for the child (the VM may be slow).
    let top = await engine.top({ container: 'sleeper' });
    for (let tries = 0; top.processes.length < 2 && tries < 50; tries++) {
      await sleep(200);
      top = await engine.top({ container: 'sleeper' });
    }
    expect(top.titles).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    expect(top.processes.map((p) => p[7])).toEqual(['sh -c sleep 300 & wait', 'sleep 300']);
    const [shell, child] = top.processes;
    expect(child[2]).toBe(shell[1]);
    expect(shell[0]).toBe('root');
    expect(shell[4]).toMatch(/^\d\d:\d\d$/);
    expect(shell[6]).toMatch(/^\d\d:\d\d:\d\d$/);
    const printed = await docker(['top', 'sleeper']);
    expect(printed.stdout.split('\n')[0]).toBe(`UID${' '.repeat(17)}PID${' '.repeat(17)}PPID${' '.repeat(16)}C${' '.repeat(19)}STIME${' '.repeat(15)}TTY${' '.repeat(17)}TIME${' '.repeat(16)}CMD`);
    expect(printed.stdout).toContain('sleep 300\n');

    const [sample] = await engine.stats({ containers: ['sleeper'] });
    expect(sample).toMatchObject({ name: 'sleeper', running: true, pids: 2, memoryLimit: 32 * 1024 * 1024 });
    expect(sample.memoryUsage).toBeGreaterThan(0);
    expect(sample.cpuUsageNs).toBeGreaterThan(0);
    expect(sample.systemUsageNs).toBeGreaterThan(sample.cpuUsageNs);

    const stats = await docker(['stats', '--no-stream']);
    const [header, row] = stats.stdout.split('\n');
    expect(header).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    expect(row).toMatch(/^[0-9a-f]{12}\s+sleeper\s+\d+\.\d\d%\s+[\d.]+[KM]iB \/ 32MiB\s+\d+\.\d\d%\s+\S+ \/ \S+\s+\S+ \/ \S+\s+2$/);
    expect((await docker(['stats', '--no-stream', '--format', '{{.Name}}: {{.PIDs}}', 'sleeper'])).stdout).toBe('sleeper: 2\n');

    // Streaming stats redraw until the client goes away (Ctrl-C): wait for the first frame, then leave.
    const gone = new AbortController();
    let streamed = '';
    const streaming = runDocker({ engine, argv: ['stats', 'sleeper'], signal: gone.signal, io: { stdout: (t) => (streamed += t), stderr: () => {} } });
    for (let tries = 0; !streamed.includes('sleeper') && tries < 600; tries++) await sleep(100);
    gone.abort();
    expect(await streaming).toBe(0);
    expect(streamed.startsWith('\x1b[2J\x1b[H')).toBe(true);
    expect(streamed).toMatch(/CONTAINER ID\s+NAME\s+CPU %.*\n[0-9a-f]{12}\s+sleeper\s/);
    await engine.rm({ container: 'sleeper', force: true });
  }, 300_000);
});

describe('logs and attach', () => {
  it('follows new output until the container exits, with timestamps and --since', async () => {
    await engine.run({ image: 'busybox', name: 'talker', detach: true, command: ['sh', '-c', 'echo one; sleep 2; echo two; sleep 1; echo three >&2; exit 3'] });
    await sleep(500);
    const followed = await docker(['logs', '-f', '-t', 'talker']);
    expect(followed.code).toBe(0);
    expect(followed.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z one\n\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z two\n$/);
    expect(followed.stderr).toMatch(/Z three\n$/);
    expect((await engine.inspectContainer({ container: 'talker' })).State).toMatchObject({ Status: 'exited', ExitCode: 3 });
    expect((await docker(['logs', '--tail', '1', 'talker'])).stderr).toBe('three\n');
    expect((await docker(['logs', '--since', '1h', 'talker'])).stdout).toBe('one\ntwo\n');
    expect((await docker(['logs', '--until', '1h', 'talker'])).stdout).toBe('');
    expect((await docker(['logs', '--since', 'yesterday', 'talker'])).stderr).toContain('invalid value for "since": failed to parse value as time or duration: "yesterday"');
    await engine.rm({ container: 'talker' });
  }, 300_000);

  it('attach shows output from now on and ends with the exit code', async () => {
    await engine.run({ image: 'busybox', name: 'late', detach: true, command: ['sh', '-c', 'echo early; sleep 2; echo late; exit 7'] });
    await sleep(500);
    const attached = await docker(['attach', 'late']);
    expect(attached).toMatchObject({ code: 7, stdout: 'late\n' });
    expect((await docker(['attach', 'late'])).stderr).toContain('You cannot attach to a stopped container, start it first');
    await engine.rm({ container: 'late' });
  }, 300_000);
});

describe('export and import', () => {
  it('exports the merged filesystem as one tar and imports it as a one-layer image', async () => {
    await engine.run({ image: 'busybox', name: 'maker', command: ['sh', '-c', 'echo made here > /made.txt && rm /bin/vi'] });
    expect((await docker(['export', 'maker'])).stderr).toContain('cowardly refusing to save to a terminal');
    expect((await docker(['export', '-o', 'fs.tar', 'maker'])).code).toBe(0);
    const entries = await readTar(files.get('fs.tar')!);
    const names = entries.map((e) => e.name.replace(/\/$/, ''));
    expect(names).toContain('made.txt');
    expect(names).toContain('bin/busybox');
    expect(names).not.toContain('bin/vi');
    expect(names.some((n) => n.includes('.wh.'))).toBe(false);
    // As Docker's: the init layer's empty 0755 files are in the export (not in `docker diff`).
    const init = entries.filter((e) => ['.dockerenv', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf'].includes(e.name.replace(/^\.\//, '')));
    expect(init.map((e) => [e.name.replace(/^\.\//, ''), (e.mode & 0o7777).toString(8), e.data?.length ?? 0]).sort()).toEqual([
      ['.dockerenv', '755', 0],
      ['etc/hostname', '755', 0],
      ['etc/hosts', '755', 0],
      ['etc/resolv.conf', '755', 0],
    ]);
    expect((await engine.diff({ container: 'maker' })).map((e) => e.path)).not.toContain('/.dockerenv');
    let seen = '';
    await engine.run({ image: 'busybox', autoRemove: true, command: ['ls', '-l', '/.dockerenv'], onOutput: (_s, text) => (seen += text) });
    expect(seen).toMatch(/^-rwxr-xr-x .* \/\.dockerenv\n$/);

    const imported = await docker(['import', '-c', 'CMD ["cat", "/made.txt"]', '-m', 'flat copy', 'fs.tar', 'flat:1']);
    expect(imported.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const layers = await engine.imageLayers({ ref: 'flat:1' });
    expect(layers.layers).toHaveLength(1);
    expect((await engine.history({ ref: 'flat:1' })).history).toEqual([expect.objectContaining({ comment: 'flat copy' })]);
    let out = '';
    await engine.run({ image: 'flat:1', autoRemove: true, onOutput: (_s, text) => (out += text) });
    expect(out).toBe('made here\n');

    const fromStdin = await docker(['import', '-', 'flat:2'], { stdin: files.get('fs.tar')! });
    expect(fromStdin.code).toBe(0);
    expect((await engine.history({ ref: 'flat:2' })).history[0].comment).toBe('Imported from -');
    const bad = await docker(['import', '-', 'flat:3'], { stdin: new TextEncoder().encode('not a tar at all') });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('not a readable tar');
    await engine.rm({ container: 'maker' });
  }, 300_000);
});

describe('piped stdin', () => {
  it('run -i and exec -i give the container the piped input', async () => {
    const input = new TextEncoder().encode('line one\nline two\n');
    expect(await docker(['run', '--rm', '-i', 'busybox', 'wc', '-l'], { stdin: input })).toMatchObject({ code: 0, stdout: '2\n' });
    await engine.run({ image: 'busybox', name: 'reader', detach: true, command: ['sleep', '300'] });
    expect(await docker(['exec', '-i', 'reader', 'cat'], { stdin: input })).toMatchObject({ code: 0, stdout: 'line one\nline two\n' });
    // Without a way to pass input, -i is refused rather than ignored.
    expect((await docker(['exec', '-i', 'reader', 'cat'])).stderr).toContain('-i without -t: your keyboard is not passed to the container here');
    await engine.rm({ container: 'reader', force: true });
  }, 300_000);
});

describe('commit pauses, system df counts', () => {
  it('commits a running container and shows disk usage as docker system df does', async () => {
    await engine.run({ image: 'busybox', name: 'busy', detach: true, command: ['sh', '-c', 'echo x > /x; sleep 300'] });
    await sleep(500);
    expect((await docker(['commit', 'busy', 'busy:snap'])).code).toBe(0);
    expect((await engine.inspectContainer({ container: 'busy' })).State).toMatchObject({ Status: 'running' });
    const df = await docker(['system', 'df']);
    const lines = df.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
    expect(lines.map((l) => l.split(/\s{2,}/)[0])).toEqual(['TYPE', 'Images', 'Containers', 'Local Volumes', 'Build Cache']);
    expect(lines[2]).toMatch(/^Containers\s+1\s+1\s+/);
    await engine.rm({ container: 'busy', force: true });
  }, 300_000);
});
