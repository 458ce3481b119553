/**
 * `layerlab`: the engine under Node, with docker's verbs.
 *
 *   layerlab [--store DIR] [--json] <docker verb …>     e.g. `layerlab build -t app .`, `layerlab ps -a`
 *   layerlab lesson verify [path]                        play lessons' solutions in the VM (src/cli/lesson.ts)
 *
 * The store defaults to `.layerlab/` in the current directory. Docker verbs run through the same code as
 * the `docker` command in the guest (src/client/commands.ts).
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CliError, type CliEngine, type CliIO } from '../client/commands.ts';
import { secretEnvNames } from '../client/secrets.ts';
import { readProcessStdin, runDockerCommand } from './host-docker.ts';

export interface OpenedEngine {
  engine: CliEngine;
  close(): Promise<void>;
}

export type OpenEngine = (options: { storeDir: string }) => Promise<OpenedEngine>;

export interface MainOptions {
  argv: string[];
  io?: CliIO;
  cwd?: string;
  /** Tests inject an engine; the default opens the Node engine on the store directory. */
  openEngine?: OpenEngine;
  /**
   * Run docker verbs through the store's daemon (src/cli/daemon.ts), starting it if needed. The `layerlab`
   * process does (unless LAYERLAB_DAEMON=off); programmatic callers get a VM of their own by default.
   */
  daemon?: boolean;
}

const defaultOpenEngine: OpenEngine = async (options) => {
  const { openNodeEngine } = await import('../host/node.ts');
  return openNodeEngine(options);
};

const USAGE = `Usage:  layerlab [--store DIR] [--json] COMMAND

Layerlab's engine from the command line: docker's verbs and flags (run 'layerlab --help' for the list)
over a store in DIR (default: .layerlab in the current directory).

Options:
      --store string   Store directory (default ".layerlab")
      --json           Print machine-readable JSON instead of tables

Layerlab commands:
  daemon      The background process that holds the VM and the store (daemon status|stop)
  lesson      Lesson tools (lesson verify [path])
`;

interface Globals {
  storeDir: string;
  json: boolean;
  rest: string[];
}

function parseGlobals(argv: string[], cwd: string): Globals | string {
  let storeDir = resolve(cwd, '.layerlab');
  let json = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') json = true;
    else if (arg === '--store') {
      if (i + 1 >= argv.length) return 'flag needs an argument: --store';
      storeDir = resolve(cwd, argv[++i]);
    } else if (arg.startsWith('--store=')) storeDir = resolve(cwd, arg.slice('--store='.length));
    else break;
  }
  return { storeDir, json, rest: argv.slice(i) };
}

type Subcommand = (options: { args: string[]; globals: Globals; io: CliIO; cwd: string }) => Promise<number>;

/** Layerlab's own commands, next to docker's verbs. */
export const SUBCOMMANDS: Record<string, Subcommand> = {
  /** `daemon status|stop` (and `daemon run`, which the first command starts in the background). */
  async daemon({ args, globals, io }) {
    const { daemonCommand } = await import('./daemon.ts');
    return daemonCommand({ args, storeDir: globals.storeDir, json: globals.json, io, openEngine: defaultOpenEngine });
  },
  /** `lesson verify [path]`: src/cli/lesson.ts (loaded lazily: it boots VMs). */
  async lesson({ args, io, cwd }) {
    const { lessonCommand } = await import('./lesson.ts');
    return lessonCommand({ args, io, cwd });
  },
};

export async function main(options: MainOptions): Promise<number> {
  const cwd = options.cwd ?? process.cwd();
  const io: CliIO = options.io ?? {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
  };
  const globals = parseGlobals(options.argv, cwd);
  if (typeof globals === 'string') {
    io.stderr(`${globals}\n\n${USAGE}`);
    return 125;
  }
  const [first, ...args] = globals.rest;
  if (first === undefined) {
    io.stdout(USAGE);
    return 0;
  }
  const subcommand = Object.hasOwn(SUBCOMMANDS, first) ? SUBCOMMANDS[first] : undefined;
  if (subcommand) return subcommand({ args, globals, io, cwd });
  if (first === '--help' || first === '-h' || (first === 'help' && args.length === 0)) io.stdout(USAGE);

  const help = ['--help', '-h', 'help', '--version', '-v'].includes(first) || args.includes('--help');
  if (options.daemon && !help) {
    const { runThroughDaemon } = await import('./daemon.ts');
    const env = Object.fromEntries(secretEnvNames(globals.rest).flatMap((name) => (process.env[name] !== undefined ? [[name, process.env[name]!]] : [])));
    return runThroughDaemon(globals.storeDir, { argv: globals.rest, cwd, json: globals.json, env }, io, readProcessStdin);
  }

  const engine = lazyEngine(async () => {
    try {
      await mkdir(globals.storeDir, { recursive: true });
      return await (options.openEngine ?? defaultOpenEngine)({ storeDir: globals.storeDir });
    } catch (error) {
      throw new CliError(`layerlab: cannot open the engine with the store in ${globals.storeDir}: ${(error as Error).message}`);
    }
  });
  try {
    return await runDockerCommand({ engine: engine.proxy, argv: globals.rest, io, cwd, json: globals.json });
  } finally {
    await engine.close();
  }
}

/** An engine that is opened (VM booted, store read) on the first call, so `--help` and usage errors are instant. */
function lazyEngine(open: () => Promise<OpenedEngine>): { proxy: CliEngine; close(): Promise<void> } {
  let opened: Promise<OpenedEngine> | undefined;
  const get = () => (opened ??= open());
  const proxy = new Proxy({} as CliEngine, {
    get: (_target, method) =>
      typeof method !== 'string' || method === 'then'
        ? undefined
        : async (...args: unknown[]) => {
            const { engine } = await get();
            const fn = (engine as unknown as Record<string, unknown>)[method];
            if (typeof fn !== 'function') throw new Error(`the engine has no ${method}()`);
            return (fn as (...a: unknown[]) => unknown).apply(engine, args);
          },
  });
  return {
    proxy,
    close: async () => {
      const engine = await opened?.catch(() => undefined);
      await engine?.close();
    },
  };
}

/** Runs `main` for this process and sets its exit code (the bin launcher and `tsx src/cli/main.ts` call it). */
export async function runMain(argv: string[]): Promise<void> {
  let code = 1;
  // `layerlab images | head -1`: a closed pipe ends the command quietly, as it does for docker.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(code);
    throw error;
  });
  try {
    code = await main({ argv, daemon: !/^(off|0|false|no)$/i.test(process.env.LAYERLAB_DAEMON ?? '') });
  } catch (error) {
    process.stderr.write(`layerlab: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    code = 1;
  }
  process.exitCode = code;
  // Don't let a lingering handle (the VM's timers) keep the process alive once the command is done.
  setTimeout(() => process.exit(code), 2000).unref();
}

if (process.argv[1] && resolve(process.argv[1]).endsWith(join('src', 'cli', 'main.ts'))) void runMain(process.argv.slice(2));
