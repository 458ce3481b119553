/**
 * A long-running program on the host (a registry, dockerd, an HTTP server, the CLI's daemon): started,
 * waited for until it answers, stopped. Its output goes to a file or is kept (the last part) for the
 * error that says why it did not start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { basename } from 'node:path';

export interface ServerOptions {
  /** Names the program in errors (default: the program's file name). */
  name?: string;
  cwd?: string;
  /** The whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Where stdout and stderr go: appended to a file, kept in memory (the last 16 KiB; default), or dropped. */
  output?: { file: string } | 'keep' | 'ignore';
  /** True once the program serves (polled). */
  ready: () => Promise<boolean>;
  /** How long it may take to answer (default 60 s). */
  timeoutMs?: number;
  /** Between two `ready` polls (default 100 ms). */
  pollMs?: number;
  /** Runs in its own process group, which `stop` ends as a whole (`npx vite` runs vite as a child). */
  detached?: boolean;
  /** Outlives this process: not waited for, and left running when it is slow to answer (the CLI's daemon). */
  outlive?: boolean;
  /** How `stop` ends it: the signal, and how long before SIGKILL follows (default SIGTERM, 15 s). */
  stopSignal?: NodeJS.Signals;
  stopGraceMs?: number;
}

const KEPT_CHARS = 16 * 1024;
/** Lines of its output an error quotes. */
const QUOTED_LINES = 20;

export class RunningServer {
  readonly child: ChildProcess;
  readonly name: string;
  #options: ServerOptions;
  #kept = '';
  #spawnError: Error | null = null;

  private constructor(child: ChildProcess, name: string, options: ServerOptions) {
    this.child = child;
    this.name = name;
    this.#options = options;
    for (const stream of [child.stdout, child.stderr]) stream?.on('data', (data: Buffer) => (this.#kept = (this.#kept + data.toString('utf8')).slice(-KEPT_CHARS)));
  }

  /** Starts `program args` and resolves once `ready` says it serves; throws (and stops it) when it exits first or takes too long. */
  static async start(program: string, args: readonly string[], options: ServerOptions): Promise<RunningServer> {
    const name = options.name ?? basename(program);
    const output = options.output ?? 'keep';
    const fd = typeof output === 'object' ? openSync(output.file, 'a') : null;
    const stdio = fd !== null ? (['ignore', fd, fd] as const) : output === 'keep' ? (['ignore', 'pipe', 'pipe'] as const) : ('ignore' as const);
    const child = spawn(program, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: stdio as never, detached: options.detached ?? false });
    if (fd !== null) closeSync(fd);
    const server = new RunningServer(child, name, options);
    child.on('error', (error) => (server.#spawnError = error));
    if (options.outlive) child.unref();
    try {
      await server.#waitUntilReady();
    } catch (error) {
      // One meant to outlive this process may still come up and serve later.
      if (!options.outlive) await server.stop();
      throw error;
    }
    return server;
  }

  async #waitUntilReady(): Promise<void> {
    const options = this.#options;
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await options.ready()) return;
      if (this.#spawnError) throw new Error(`${this.name} could not start: ${this.#spawnError.message}`);
      if (this.exited) {
        // Another copy may have started serving meanwhile (the CLI's daemon): that counts as ready.
        if (await options.ready()) return;
        throw new Error(`${this.name} could not start (exit ${this.child.exitCode ?? this.child.signalCode}):\n${await this.output()}`);
      }
      if (Date.now() > deadline) {
        const log = await this.output();
        const where = typeof options.output === 'object' ? ` (its log: ${options.output.file})` : '';
        throw new Error(`${this.name} did not answer within ${timeoutMs / 1000} s${where}${log ? `:\n${log}` : ''}`);
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100));
    }
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** The last lines of its output (from its log file when it writes to one). */
  async output(): Promise<string> {
    const file = typeof this.#options.output === 'object' ? this.#options.output.file : null;
    const text = file ? await readFile(file, 'utf8').catch(() => '') : this.#kept;
    return text.trim().split('\n').slice(-QUOTED_LINES).join('\n');
  }

  /** Ends it (the stop signal, then SIGKILL after the grace time) and waits until it has exited. */
  async stop(): Promise<void> {
    if (this.exited || this.child.pid === undefined) return;
    const pid = this.child.pid;
    const kill = (signal: NodeJS.Signals) => {
      try {
        if (this.#options.detached) process.kill(-pid, signal);
        else this.child.kill(signal);
      } catch {
        /* already gone */
      }
    };
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    kill(this.#options.stopSignal ?? 'SIGTERM');
    const timer = setTimeout(() => kill('SIGKILL'), this.#options.stopGraceMs ?? 15_000);
    await exited;
    clearTimeout(timer);
  }
}

/** A `ready` check: something accepts TCP connections on the port. */
export function listening(port: number, host = '127.0.0.1'): () => Promise<boolean> {
  return () =>
    new Promise((resolve) => {
      const socket = net.connect(port, host);
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
}

/** A `ready` check: a GET of the URL answers 2xx. */
export function answers(url: string): () => Promise<boolean> {
  return () => fetch(url).then((response) => response.ok, () => false);
}
