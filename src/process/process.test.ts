import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProgramError, runProgram, runProgramBytes } from './run.ts';
import { listening, RunningServer } from './server.ts';

describe('runProgram', () => {
  it('returns what the program printed on each stream', async () => {
    const result = await runProgram('/bin/sh', ['-c', 'echo out; echo err >&2']);
    expect(result).toEqual({ code: 0, stdout: 'out\n', stderr: 'err\n' });
  });

  it('passes stdin, cwd and the environment', async () => {
    const result = await runProgram('/bin/sh', ['-c', 'cat; pwd; echo "$GREETING"'], { input: 'from stdin\n', cwd: '/tmp', env: { GREETING: 'hello', PATH: '/usr/bin:/bin' } });
    expect(result.stdout).toBe('from stdin\n/tmp\nhello\n');
  });

  it('fails naming the program, its exit code and the end of its stderr', async () => {
    const error = await runProgram('/bin/sh', ['-c', 'echo early >&2; echo "no such image: x" >&2; exit 3']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProgramError);
    expect((error as ProgramError).code).toBe(3);
    expect((error as ProgramError).message).toBe('sh failed (exit 3):\nearly\nno such image: x');
  });

  it('quotes only the last part of a long stderr', async () => {
    const error = (await runProgram('/bin/sh', ['-c', 'seq 1 5000 >&2; echo the-reason >&2; exit 1']).catch((e: unknown) => e)) as ProgramError;
    expect(error.message.startsWith('sh failed (exit 1):\n')).toBe(true);
    expect(error.message.endsWith('5000\nthe-reason')).toBe(true);
    expect(error.message.length).toBeLessThan(2100);
    expect(error.stderr.startsWith('1\n2\n')).toBe(true);
  });

  it('returns a failing exit when asked to', async () => {
    const result = await runProgram('/bin/sh', ['-c', 'echo partial; exit 7'], { allowFailure: true });
    expect(result).toEqual({ code: 7, stdout: 'partial\n', stderr: '' });
  });

  it('keeps all of a large output up to the bound, as bytes', async () => {
    const result = await runProgramBytes('head', ['-c', String(8 << 20), '/dev/zero'], { maxBytes: 8 << 20 });
    expect(result.stdout.length).toBe(8 << 20);
    expect(result.stdout.every((byte) => byte === 0)).toBe(true);
  });

  it('stops a program that prints more than the bound', async () => {
    const error = (await runProgram('/bin/sh', ['-c', 'yes layerlab'], { maxBytes: 1 << 20 }).catch((e: unknown) => e)) as ProgramError;
    expect(error).toBeInstanceOf(ProgramError);
    expect(error.message).toBe(`sh printed more than ${1 << 20} bytes on stdout`);
    expect(error.code).toBeNull();
    expect(error.stdout.length).toBeLessThanOrEqual(1 << 20);
  });

  it('stops a program that takes longer than its timeout', async () => {
    const error = (await runProgram('sleep', ['30'], { timeoutMs: 300 }).catch((e: unknown) => e)) as ProgramError;
    expect(error.message).toBe('sleep did not finish within 0.3 s');
  });

  it('says when the program is not there', async () => {
    const error = (await runProgram('/nonexistent/layerlab-tool', []).catch((e: unknown) => e)) as ProgramError;
    expect(error.message).toBe('layerlab-tool was not found (is it installed?)');
  });

  it('a program that ignores its stdin does not fail for it', async () => {
    const result = await runProgram('true', [], { input: 'x'.repeat(1 << 20) });
    expect(result.code).toBe(0);
  });
});

describe('RunningServer', () => {
  const tempLog = async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'layerlab-process-'));
    return { file: path.join(dir, 'server.log'), done: () => rm(dir, { recursive: true, force: true }) };
  };

  it('waits until the program is ready, and stops it', async () => {
    const log = await tempLog();
    try {
      const script = 'setTimeout(() => console.log("serving"), 300); setInterval(() => {}, 1000);';
      const server = await RunningServer.start(process.execPath, ['-e', script], {
        output: { file: log.file },
        ready: async () => (await readFile(log.file, 'utf8').catch(() => '')).includes('serving'),
        timeoutMs: 20_000,
      });
      expect(server.exited).toBe(false);
      expect(await server.output()).toBe('serving');
      await server.stop();
      expect(server.exited).toBe(true);
    } finally {
      await log.done();
    }
  });

  it('fails with its exit code and output when it exits before it is ready', async () => {
    const error = await RunningServer.start('/bin/sh', ['-c', 'echo "bad config: line 3" >&2; exit 4'], { name: 'the test server', ready: async () => false }).catch((e: Error) => e);
    expect((error as Error).message).toBe('the test server could not start (exit 4):\nbad config: line 3');
  });

  it('stops a program that does not answer in time', async () => {
    const error = await RunningServer.start('/bin/sh', ['-c', 'echo $$; exec sleep 30'], { ready: async () => false, timeoutMs: 500 }).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^sh did not answer within 0.5 s:\n\d+$/);
    const pid = Number((error as Error).message.split('\n')[1]);
    expect(() => process.kill(pid, 0)).toThrow(); // stopped and gone
  });

  it('stops the program when its ready check fails', async () => {
    const error = await RunningServer.start('/bin/sh', ['-c', 'exec sleep 30'], {
      ready: async () => {
        throw new Error('the check broke');
      },
    }).catch((e: Error) => e);
    expect((error as Error).message).toBe('the check broke');
    // no child of this process is still sleeping
    const children = await readFile(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8');
    for (const child of children.split(' ').filter(Boolean)) {
      const cmdline = await readFile(`/proc/${child}/cmdline`, 'utf8').catch(() => '');
      expect(cmdline.startsWith('sleep')).toBe(false);
    }
  });

  it('listening() tells whether a port accepts connections', async () => {
    const socketServer = net.createServer();
    await new Promise<void>((resolve) => socketServer.listen(0, '127.0.0.1', resolve));
    const port = (socketServer.address() as net.AddressInfo).port;
    expect(await listening(port)()).toBe(true);
    await new Promise((resolve) => socketServer.close(resolve));
    expect(await listening(port)()).toBe(false);
  });
});
