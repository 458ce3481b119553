/**
 * The CLI's daemon, as dockerd is docker's: one background process per store holds the VM and the engine,
 * so containers started by `layerlab run -d` keep running and later commands skip the VM restore.
 *
 * - The first docker verb starts it (`layerlab daemon run` in the background, log in STORE/daemon.log)
 *   and waits for its socket, STORE/daemon.sock; every command is a client of it.
 * - Protocol: newline-delimited JSON on the unix socket. The client sends one request line,
 *   `{"argv": [...], "cwd": "...", "json": bool}` or `{"control": "status" | "stop"}`; the daemon streams
 *   `{"stdout": text}` / `{"stderr": text}` lines and ends with `{"exit": code}` (or a status object).
 * - It exits after LAYERLAB_DAEMON_IDLE seconds without a command (default 600), on `layerlab daemon stop`,
 *   or on SIGTERM. A socket file nobody answers on (a crashed daemon) is removed and a new daemon started.
 * - LAYERLAB_DAEMON=off runs each command in its own process with its own VM, as before.
 */
import { PublishedPorts, type PortSource } from '../host/published-ports.ts';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunningServer } from '../process/server.ts';
import type { CliEngine, CliIO } from '../client/commands.ts';
import { fromBase64, toBase64 } from '../engine/util/base64.ts';
import { runDockerCommand } from './host-docker.ts';

export const SOCKET_NAME = 'daemon.sock';
export const LOG_NAME = 'daemon.log';
const PID_NAME = 'daemon.pid';

export interface DaemonCommand {
  argv: string[];
  cwd: string;
  json: boolean;
  /** The client's stdin (base64), sent for commands that read it (`import -`). */
  stdin?: string;
  /** The client's environment variables that `build --secret` names (only those). */
  env?: Record<string, string>;
}

/** Flags of run/exec that take a value (so the word after them is not the image or container). */
const VALUE_FLAGS = new Set(['--name', '-e', '--env', '-w', '--workdir', '-u', '--user', '-v', '--volume', '-p', '--publish', '--network', '--net', '--network-alias', '-h', '--hostname', '--entrypoint', '-m', '--memory', '--pids-limit']);

/** Whether a docker command line reads its stdin (`import -`, `run -i`, `exec -i`): the client sends it along. */
export function readsStdin(argv: string[]): boolean {
  const grouped = argv[0] === 'image' || argv[0] === 'container';
  const verb = grouped ? argv[1] : argv[0];
  const rest = argv.slice(grouped ? 2 : 1);
  if (verb === 'import') return rest.includes('-');
  if (verb !== 'run' && verb !== 'exec') return false;
  // Only the flags before the image/container count (`run busybox ls -i` does not read stdin).
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (!arg.startsWith('-')) return false;
    if (arg === '-i' || arg === '--interactive' || /^-[a-zA-Z]*i[a-zA-Z]*$/.test(arg)) return true;
    if (VALUE_FLAGS.has(arg)) i++;
  }
  return false;
}

export type DaemonRequest = DaemonCommand | { control: 'status' | 'stop' };

export interface DaemonStatus {
  pid: number;
  store: string;
  startedAt: string;
  commands: number;
  running: number;
  idleExitSeconds: number;
}

export class DaemonUnavailable extends Error {}

export const socketPath = (storeDir: string) => join(storeDir, SOCKET_NAME);

/** Sends one request; streams output to `io`; resolves with the final line. */
export function requestDaemon(
  storeDir: string,
  request: DaemonRequest,
  io?: CliIO,
): Promise<{ exit?: number; status?: DaemonStatus; stopping?: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath(storeDir));
    let buffer = '';
    let settled = false;
    let connected = false;
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify(request)}\n`);
    });
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const message = JSON.parse(line) as {
          stdout?: string;
          stderr?: string;
          exit?: number;
          status?: DaemonStatus;
          stopping?: boolean;
        };
        if (message.stdout !== undefined) io?.stdout(message.stdout);
        else if (message.stderr !== undefined) io?.stderr(message.stderr);
        else {
          settled = true;
          socket.end();
          resolve(message);
        }
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      reject(connected ? error : new DaemonUnavailable(error.code ?? error.message));
    });
    socket.on('close', () => {
      if (settled) return;
      settled = true;
      reject(new Error(`the layerlab daemon ended in the middle of the command (its log: ${join(storeDir, LOG_NAME)})`));
    });
  });
}

/** The running daemon's status, or null when none answers. */
export async function daemonStatus(storeDir: string): Promise<DaemonStatus | null> {
  try {
    return (await requestDaemon(storeDir, { control: 'status' })).status ?? null;
  } catch (error) {
    if (error instanceof DaemonUnavailable) return null;
    throw error;
  }
}

/**
 * Connects to the store's daemon, starting one when none answers (a stale socket is replaced).
 * `timeoutMs` bounds the wait for a new daemon's socket (it restores the VM before listening).
 */
export async function ensureDaemon(storeDir: string, timeoutMs = 120_000): Promise<void> {
  if (await daemonStatus(storeDir)) return;
  await mkdir(storeDir, { recursive: true });
  const launcher = fileURLToPath(new URL('../../bin/layerlab.mjs', import.meta.url));
  await RunningServer.start(process.execPath, [launcher, '--store', storeDir, 'daemon', 'run'], {
    name: 'the layerlab daemon',
    detached: true,
    outlive: true,
    output: { file: join(storeDir, LOG_NAME) },
    // Another client's daemon may win the race for the socket: it answers just as well.
    ready: async () => (await daemonStatus(storeDir)) !== null,
    timeoutMs,
    pollMs: 50,
  });
}

export interface ServeOptions {
  storeDir: string;
  /** Runs one docker command with the daemon's engine. */
  run(command: DaemonCommand, io: CliIO, signal: AbortSignal): Promise<number>;
  idleExitSeconds?: number;
  /** Called once the daemon stops taking commands (close the engine, the VM). */
  onStop?: () => Promise<void>;
}

/** Listens on the store's socket until stopped or idle. Resolves when it has stopped. */
export async function serveDaemon(options: ServeOptions): Promise<void> {
  const path = socketPath(options.storeDir);
  const idleSeconds = options.idleExitSeconds ?? (Number(process.env.LAYERLAB_DAEMON_IDLE) || 600);
  const started = new Date();
  let commands = 0;
  let running = 0;
  let idle: ReturnType<typeof setTimeout> | null = null;
  let stopping = false;
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));

  const server = net.createServer((socket) => {
    let buffer = '';
    socket.setEncoding('utf8');
    const send = (message: unknown) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
    };
    socket.on('error', () => {});
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      socket.removeAllListeners('data');
      let request: DaemonRequest;
      try {
        request = JSON.parse(buffer.slice(0, newline)) as DaemonRequest;
      } catch {
        send({ stderr: 'layerlab daemon: malformed request\n' });
        send({ exit: 125 });
        return;
      }
      if ('control' in request) {
        const status: DaemonStatus = {
          pid: process.pid,
          store: options.storeDir,
          startedAt: started.toISOString(),
          commands,
          running,
          idleExitSeconds: idleSeconds,
        };
        if (request.control === 'stop') {
          send({ stopping: true, status });
          void stop();
        } else send({ status });
        return;
      }
      if (stopping) {
        send({ stderr: 'layerlab daemon: stopping; run the command again\n' });
        send({ exit: 125 });
        return;
      }
      commands++;
      running++;
      if (idle) clearTimeout(idle);
      // The client went away (Ctrl-C): following commands (`logs -f`, `stats`, `attach`) stop.
      const gone = new AbortController();
      socket.on('close', () => gone.abort());
      options
        .run(request, {
          stdout: (text) => send({ stdout: text }),
          stderr: (text) => send({ stderr: text }),
        }, gone.signal)
        .catch((error: unknown) => {
          send({
            stderr: `layerlab: ${error instanceof Error ? error.message : String(error)}\n`,
          });
          return 1;
        })
        .then((exit) => {
          send({ exit });
          running--;
          armIdle();
        });
    });
  });

  const armIdle = () => {
    if (idle) clearTimeout(idle);
    if (running === 0) idle = setTimeout(() => void stop(), idleSeconds * 1000);
  };

  const stop = async () => {
    if (stopping) return;
    stopping = true;
    if (idle) clearTimeout(idle);
    server.close();
    await rm(path, { force: true });
    await rm(join(options.storeDir, PID_NAME), { force: true });
    await options.onStop?.();
    stopped();
  };

  await listenReplacingStale(server, path, options.storeDir);
  await writeFile(join(options.storeDir, PID_NAME), `${process.pid}\n`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop());
  armIdle();
  await done;
}

/** Binds the socket; a socket file left by a dead daemon is removed, a live daemon's is an error. */
async function listenReplacingStale(server: net.Server, path: string, storeDir: string): Promise<void> {
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  try {
    await listen();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    if (await daemonStatus(storeDir)) throw new Error(`a layerlab daemon already serves ${storeDir}`);
    await rm(path, { force: true });
    await listen();
  }
}

/** A client command: through the store's daemon, started first when none answers. */
export async function runThroughDaemon(storeDir: string, command: DaemonCommand, io: CliIO, readStdin?: () => Promise<Uint8Array>): Promise<number> {
  try {
    if (readStdin && readsStdin(command.argv)) command = { ...command, stdin: toBase64(await readStdin()) };
    await ensureDaemon(storeDir);
    const { exit } = await requestDaemon(storeDir, command, io);
    return exit ?? 1;
  } catch (error) {
    io.stderr(`layerlab: ${(error as Error).message}\n`);
    return 125;
  }
}

/** `layerlab daemon status|stop|run`. */
export async function daemonCommand(options: {
  args: string[];
  storeDir: string;
  json: boolean;
  io: CliIO;
  openEngine: (options: { storeDir: string }) => Promise<{ engine: CliEngine; close(): Promise<void> }>;
}): Promise<number> {
  const { args, storeDir, io } = options;
  switch (args[0]) {
    case 'status': {
      const status = await daemonStatus(storeDir);
      if (!status) {
        io.stdout(`daemon: not running (store ${storeDir})\n`);
        return 1;
      }
      if (options.json) io.stdout(`${JSON.stringify(status)}\n`);
      else {
        io.stdout(
          `daemon: running, pid ${status.pid}, store ${status.store}, since ${status.startedAt}, ` +
            `${status.commands} commands (${status.running} running), exits after ${status.idleExitSeconds} s idle\n`,
        );
      }
      return 0;
    }
    case 'stop':
      try {
        await requestDaemon(storeDir, { control: 'stop' });
        io.stdout('daemon: stopped\n');
      } catch (error) {
        if (!(error instanceof DaemonUnavailable)) throw error;
        io.stdout('daemon: not running\n');
      }
      return 0;
    case 'run': {
      await mkdir(storeDir, { recursive: true });
      const opened = await options.openEngine({ storeDir });
      // Published ports listen on this machine while the daemon runs, as dockerd's do.
      const engine = opened.engine as unknown as Partial<PortSource>;
      const ports =
        engine.ps && engine.subscribe && engine.connectPort
          ? await PublishedPorts.start(engine as PortSource, { onError: (message) => console.log(`daemon: ${message}`) })
          : null;
      console.log(`daemon: pid ${process.pid}, store ${storeDir}, VM ready`);
      await serveDaemon({
        storeDir,
        run: (command, commandIo, signal) =>
          runDockerCommand({
            engine: opened.engine,
            argv: command.argv,
            io: commandIo,
            cwd: command.cwd,
            json: command.json,
            env: command.env ?? {},
            signal,
            // Only what the client sent: the daemon's own stdin is not the learner's.
            readStdin: async () => fromBase64(command.stdin ?? ''),
          }),
        onStop: async () => {
          await ports?.close();
          await opened.close();
        },
      });
      console.log('daemon: stopped');
      return 0;
    }
    default:
      (args.length === 0 ? io.stdout : io.stderr)(
        `Usage:  layerlab daemon status|stop\n\nThe daemon starts with the first command and exits after LAYERLAB_DAEMON_IDLE seconds idle (default 600).\n`,
      );
      return args.length === 0 ? 0 : 125;
  }
}
