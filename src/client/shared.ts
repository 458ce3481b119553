/**
 * What every docker verb handler gets (the context), the verb shape, and the errors handlers throw.
 * The dispatcher (commands.ts) turns errors into Docker's messages and exit codes.
 */
import type { EngineApi, ContextEntry } from '../engine/index.ts';
import type { FlagSpec, ParsedFlags } from './flags.ts';
import { goJson } from './template.ts';

export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Runs a command attached to the learner's terminal (`run -it`, `exec -it`); resolves with its exit code. */
  exec?(argv: string[], ref: string): Promise<number>;
}

/** What `docker info` / `docker version` show about the machine; optional until the engine reports it. */
export interface EngineInfo {
  kernelVersion?: string;
  operatingSystem?: string;
  architecture?: string;
  cpus?: number;
  memTotal?: number;
  runtimeVersion?: string;
  engineVersion?: string;
}

export type CliEngine = EngineApi & { info?(): Promise<EngineInfo> };

export interface RunDockerOptions {
  engine: CliEngine;
  /** The arguments after `docker`. */
  argv: string[];
  io: CliIO;
  /** Directory relative paths are resolved against (the guest shell's cwd, or process.cwd()). */
  cwd?: string;
  /** A directory as a build context (all files, with modes; symlinks with their target as data). */
  readContext?: (dir: string) => Promise<ContextEntry[]>;
  /** The client's environment variables (`build --secret id=…,env=VAR`); the guest client sends only those. */
  env?: Record<string, string | undefined>;
  /** Reads a file (`load -i`, `build -f` outside the context, `build --secret src=`). */
  readFile?: (path: string) => Promise<Uint8Array>;
  /** Writes a file (`save -o`). */
  writeFile?: (path: string, data: Uint8Array) => Promise<void>;
  /** `docker cp`: a tar of a local path (one entry, named by its last component)… */
  packPath?: (path: string) => Promise<Uint8Array>;
  /** …and the reverse: the tar's entry put at `path` (into it when it is an existing directory). */
  unpackTo?: (path: string, tar: Uint8Array) => Promise<void>;
  /** All of the command's stdin (`docker import -`), when the client can send it. */
  readStdin?: () => Promise<Uint8Array>;
  /** Aborts when the client goes away (Ctrl-C): following verbs (`logs -f`, `stats`, `attach`) stop. */
  signal?: AbortSignal;
  /** stdin and stdout are a terminal (`-it` needs one). */
  tty?: boolean;
  /** Machine-readable output: JSON instead of tables. */
  json?: boolean;
  /** Clock for "2 minutes ago" (tests pin it). */
  now?: () => number;
}

export interface Ctx {
  engine: CliEngine;
  io: CliIO;
  options: RunDockerOptions;
  json: boolean;
  now: number;
  /** The verb as typed, for messages: `run`, `image ls`. */
  verb: string;
  out(text: string): void;
  err(text: string): void;
  /** JSON mode prints `data`; otherwise the text `render` returns. */
  print(data: unknown, render: () => string): void;
}

export type CliFlag = FlagSpec & { type?: string };

export interface Verb {
  /** `docker <usage>`: `run [OPTIONS] IMAGE [COMMAND] [ARG...]` */
  usage: string;
  summary: string;
  flags: CliFlag[];
  args?: { min?: number; max?: number };
  /** Flags after the first argument belong to it (`run IMAGE CMD -l`). */
  stopAtFirstArg?: boolean;
  /** Docker prefixes daemon errors with `docker:` and exits 125 for these (run, create). */
  runLike?: boolean;
  run(ctx: Ctx, flags: ParsedFlags['flags'], args: string[]): Promise<number>;
}

/** An error printed as is, with an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const str = (flags: ParsedFlags['flags'], name: string): string | undefined =>
  typeof flags[name] === 'string' ? (flags[name] as string) : undefined;
export const bool = (flags: ParsedFlags['flags'], name: string): boolean => flags[name] === true;
export const list = (flags: ParsedFlags['flags'], name: string): string[] => (flags[name] as string[] | undefined) ?? [];

/** Docker's `Error response from daemon: …` for every engine error. */
export function daemonMessage(error: unknown): string {
  return `Error response from daemon: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * Runs `fn` for each target the way docker does for `rm a b c`: prints each error and carries on; exit 1
 * if any failed.
 */
export async function eachTarget(
  ctx: Ctx,
  targets: string[],
  fn: (target: string) => Promise<string | void>,
  options: { parallel?: boolean } = {},
): Promise<number> {
  let code = 0;
  const done: unknown[] = [];
  // `docker stop a b` and `docker kill a b` work on all targets at once (the CLI's parallelOperation),
  // reporting in argument order; the other verbs go one after the other.
  const started = options.parallel ? targets.map((target) => fn(target)) : [];
  for (const [index, target] of targets.entries()) {
    try {
      const line = await (options.parallel ? started[index] : fn(target));
      if (line !== undefined) {
        if (ctx.json) done.push(line);
        else ctx.out(`${line}\n`);
      }
    } catch (error) {
      if (ctx.json) ctx.err(`${JSON.stringify({ target, error: (error as Error).message })}\n`);
      else ctx.err(`${daemonMessage(error)}\n`);
      code = 1;
    }
  }
  if (ctx.json) ctx.out(`${JSON.stringify(done, null, 2)}\n`);
  return code;
}

/**
 * `volume inspect a b`, `network inspect a b`: one JSON array of what was found, an error line for each
 * name that was not (`notFound`), exit 1 if any.
 */
export async function inspectEach(ctx: Ctx, names: string[], inspect: (name: string) => Promise<unknown>, notFound: (name: string) => string): Promise<number> {
  const found: unknown[] = [];
  let code = 0;
  for (const name of names) {
    try {
      found.push(await inspect(name));
    } catch {
      ctx.err(`${notFound(name)}\n`);
      code = 1;
    }
  }
  ctx.out(`${goJson(found, 4)}\n`);
  return code;
}

/** go-units RAMInBytes: `64m`, `1g`, `512k`, `1.5GB`, `1024` (binary units). */
export function parseBytes(value: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(value.trim());
  if (!match) throw new CliError(`invalid argument "${value}" for "${flag}" flag: invalid size: '${value}'\nSee 'docker run --help'.`, 125);
  const power = 'bkmgtp'.indexOf((match[2] || 'b').toLowerCase());
  return Math.floor(Number(match[1]) * 1024 ** power);
}

/** Resolves `path` against `cwd` (POSIX, `..` handled lexically). */
export function resolvePath(cwd: string, path: string): string {
  const joined = path.startsWith('/') ? path : `${cwd.replace(/\/$/, '')}/${path}`;
  const parts: string[] = [];
  for (const part of joined.split('/')) {
    if (!part || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return '/' + parts.join('/');
}

/** Asks for confirmation the way `docker … prune` does; the terminal can't answer, so `-f` is required. */
export function confirm(ctx: Ctx, warning: string, force: boolean): boolean {
  if (force) return true;
  ctx.err(`WARNING! ${warning}\nAre you sure you want to continue? [y/N] \n`);
  ctx.err(`Layerlab: this terminal cannot answer the prompt; nothing was removed. Run it again with -f (--force).\n`);
  return false;
}
