/**
 * Running a program on the host (Node): one way for the CLI, the benchmark, the test harnesses and the
 * build scripts to start a program and collect what it prints. Each stream is kept up to a bound (a program
 * printing more is stopped, so memory stays bounded), and a failure names the program, its exit code or
 * signal and the end of what it wrote to stderr. The in-VM counterpart is src/engine/guest-spawn.ts.
 */
import { spawn } from 'node:child_process';
import { basename } from 'node:path';

export interface RunOptions {
  cwd?: string;
  /** The whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Written to the program's stdin, which is then closed; without it stdin is empty. */
  input?: string | Uint8Array;
  /** Stopped with SIGKILL after this long (default: no limit). */
  timeoutMs?: number;
  /** Bytes kept of each stream; a program printing more is stopped and fails (default 64 MiB). */
  maxBytes?: number;
  /** A non-zero exit is returned instead of thrown (a signal, a timeout or too much output still throws). */
  allowFailure?: boolean;
}

export interface RunResult<Output = string> {
  /** The exit code (0 unless `allowFailure`). */
  code: number;
  stdout: Output;
  stderr: string;
}

/** Characters of stderr an error message quotes. */
const QUOTED_CHARS = 2000;
const DEFAULT_MAX_BYTES = 64 << 20;

export class ProgramError extends Error {
  constructor(
    readonly program: string,
    readonly args: readonly string[],
    /** The exit code, or null when it did not exit by itself (signal, timeout, too much output, not found). */
    readonly code: number | null,
    readonly stdout: string,
    readonly stderr: string,
    why: string,
  ) {
    const tail = stderr.trim().slice(-QUOTED_CHARS);
    super(`${basename(program)} ${why}${tail ? `:\n${tail}` : ''}`);
    this.name = 'ProgramError';
  }
}

/** Runs `program args` to its end; stdout as text. Throws a ProgramError when it fails. */
export function runProgram(program: string, args: readonly string[], options?: RunOptions): Promise<RunResult<string>> {
  return runProgramBytes(program, args, options).then((result) => ({ ...result, stdout: Buffer.from(result.stdout).toString('utf8') }));
}

/** As runProgram, with stdout as bytes (archives, compressed data). */
export function runProgramBytes(program: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult<Uint8Array>> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const streams = { stdout: new Bounded(maxBytes), stderr: new Bounded(maxBytes) };
    let stopped: string | null = null; // why this side stopped it
    const stop = (why: string) => {
      if (stopped) return;
      stopped = why;
      child.kill('SIGKILL');
      // A child of the program may still hold the pipes open: stop reading so the run ends now.
      child.stdout.destroy();
      child.stderr.destroy();
    };
    for (const name of ['stdout', 'stderr'] as const) {
      child[name].on('data', (chunk: Buffer) => {
        if (!streams[name].add(chunk)) stop(`printed more than ${maxBytes} bytes on ${name}`);
      });
    }
    const timeoutMs = options.timeoutMs;
    const timer = timeoutMs !== undefined ? setTimeout(() => stop(`did not finish within ${timeoutMs / 1000} s`), timeoutMs) : null;
    const fail = (code: number | null, why: string) =>
      reject(new ProgramError(program, args, code, streams.stdout.text(), streams.stderr.text(), why));
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      fail(null, error.code === 'ENOENT' ? 'was not found (is it installed?)' : `could not run: ${error.message}`);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (stopped) return fail(null, stopped);
      if (code === null) return fail(null, `was killed by ${signal}`);
      if (code !== 0 && !options.allowFailure) return fail(code, `failed (exit ${code})`);
      resolve({ code, stdout: streams.stdout.bytes(), stderr: streams.stderr.text() });
    });
    // A program that does not read its stdin closes the pipe early: that is not its failure.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** One stream's bytes up to a limit. */
class Bounded {
  #chunks: Buffer[] = [];
  #size = 0;
  constructor(readonly limit: number) {}

  /** False when the chunk does not fit (it is not kept). */
  add(chunk: Buffer): boolean {
    if (this.#size + chunk.length > this.limit) return false;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    return true;
  }

  bytes(): Uint8Array {
    const all = Buffer.concat(this.#chunks);
    return new Uint8Array(all.buffer, all.byteOffset, all.length);
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}
