/**
 * The docker CLI over the engine: `runDocker({ engine, argv, io })` parses `docker …` arguments, calls the
 * engine and prints what the real docker CLI prints (tables, messages, exit codes). The guest's `docker`
 * command (src/host/guest-docker.ts) and the Node CLI (src/cli/main.ts) both run through it.
 *
 * Verbs live in a table (name → handler); management forms (`docker image ls`, `docker container rm`) map
 * to the same handlers.
 */
import { EngineError } from '../engine/index.ts';
import { parseFlags, UsageError } from './flags.ts';
import { containerVerbs as c } from './containers.ts';
import { imageVerbs as i } from './images.ts';
import { registryVerbs as r } from './registry.ts';
import { LAYERLAB_VERSION, systemVerbs as s } from './system.ts';
import { networkVerbs as n } from './network.ts';
import { runtimeVerbs as rt } from './runtime-verbs.ts';
import { TemplateError } from './template.ts';
import { unimplementedMessage } from './unimplemented.ts';
import { CliError, daemonMessage, type CliFlag, type Ctx, type RunDockerOptions, type Verb } from './shared.ts';

export type { CliIO, CliEngine, EngineInfo, RunDockerOptions, Verb } from './shared.ts';
export { CliError } from './shared.ts';

/** `docker <verb>` */
export const VERBS: Record<string, Verb> = {
  build: i.build,
  images: i.images,
  history: i.history,
  inspect: i.inspect,
  tag: i.tag,
  rmi: i.rmi,
  save: i.save,
  load: i.load,
  pull: r.pull,
  push: r.push,
  login: r.login,
  logout: r.logout,
  run: c.run,
  create: c.create,
  start: c.start,
  stop: c.stop,
  restart: c.restart,
  kill: c.kill,
  rm: c.rm,
  ps: c.ps,
  logs: c.logs,
  exec: c.exec,
  diff: c.diff,
  commit: c.commit,
  cp: c.cp,
  wait: c.wait,
  port: n.port,
  rename: c.rename,
  pause: rt.pause,
  unpause: rt.unpause,
  top: rt.top,
  stats: rt.stats,
  attach: rt.attach,
  export: rt.export,
  import: rt.import,
  version: s.version,
  info: s.info,
};

/** `docker <group> <verb>` */
export const GROUPS: Record<string, { summary: string; verbs: Record<string, Verb> }> = {
  image: {
    summary: 'Manage images',
    verbs: { build: i.build, ls: i.images, list: i.images, history: i.history, inspect: i.inspectImage, tag: i.tag, rm: i.rmi, remove: i.rmi, save: i.save, load: i.load, prune: i.imagePrune, pull: r.pull, push: r.push, import: rt.import },
  },
  container: {
    summary: 'Manage containers',
    verbs: {
      ls: c.ps, list: c.ps, ps: c.ps, run: c.run, create: c.create, start: c.start, stop: c.stop, restart: c.restart, kill: c.kill,
      rm: c.rm, remove: c.rm, logs: c.logs, exec: c.exec, diff: c.diff, commit: c.commit, cp: c.cp, wait: c.wait, rename: c.rename, prune: c.containerPrune,
      inspect: i.inspectContainer, port: n.port,
      pause: rt.pause, unpause: rt.unpause, top: rt.top, stats: rt.stats, attach: rt.attach, export: rt.export,
    },
  },
  volume: {
    summary: 'Manage volumes',
    verbs: { create: s.volumeCreate, ls: s.volumeLs, list: s.volumeLs, rm: s.volumeRm, remove: s.volumeRm, inspect: s.volumeInspect, prune: s.volumePrune },
  },
  network: {
    summary: 'Manage networks',
    verbs: {
      create: n.networkCreate, ls: n.networkLs, list: n.networkLs, inspect: n.networkInspect, rm: n.networkRm, remove: n.networkRm,
      connect: n.networkConnect, disconnect: n.networkDisconnect,
    },
  },
  system: { summary: 'Manage Docker', verbs: { df: s.df, info: s.info } },
  builder: { summary: 'Manage builds', verbs: { build: i.build, prune: s.builderPrune } },
  manifest: { summary: 'Manage Docker image manifests and manifest lists', verbs: { inspect: r.manifestInspect } },
};

const COMMON = ['run', 'exec', 'ps', 'build', 'pull', 'push', 'images', 'login', 'logout', 'version', 'info'];

// ---- help texts

function flagHelp(flags: CliFlag[]): string {
  const shown = flags.filter((f) => f.description);
  const left = shown.map((f) => {
    const value = f.kind === 'bool' ? '' : ` ${f.type ?? (f.kind === 'list' ? 'list' : 'string')}`;
    return `${f.short ? `  -${f.short}, ` : '      '}--${f.name}${value}`;
  });
  const width = Math.max(0, ...left.map((l) => l.length)) + 3;
  return shown.map((f, n) => `${left[n].padEnd(width)}${f.description}\n`).join('');
}

/** `docker <name> [OPTIONS] …`: the verb's usage with the name as typed (`image ls`, `images`). */
function usageLine(name: string, verb: Verb): string {
  return `docker ${name} ${verb.usage.replace(/^([a-z-]+ )+/, '')}`;
}

function verbHelp(name: string, verb: Verb): string {
  let text = `\nUsage:  ${usageLine(name, verb)}\n\n${verb.summary}\n`;
  if (verb.flags.some((f) => f.description)) text += `\nOptions:\n${flagHelp(verb.flags)}`;
  return text;
}

function groupHelp(group: string): string {
  const { summary, verbs } = GROUPS[group];
  const seen = new Set<Verb>();
  const lines = Object.entries(verbs).flatMap(([name, verb]) => {
    if (seen.has(verb)) return [];
    seen.add(verb);
    return [`  ${name.padEnd(12)}${verb.summary}\n`];
  });
  return `\nUsage:  docker ${group} COMMAND\n\n${summary}\n\nCommands:\n${lines.join('')}\nRun 'docker ${group} COMMAND --help' for more information on a command.\n`;
}

export function mainHelp(): string {
  const line = (name: string, summary: string) => `  ${name.padEnd(12)}${summary}\n`;
  const common = COMMON.map((n) => line(n, VERBS[n].summary)).join('');
  const management = Object.entries(GROUPS).map(([n, g]) => line(n, g.summary)).join('');
  const others = Object.keys(VERBS).filter((n) => !COMMON.includes(n)).sort().map((n) => line(n, VERBS[n].summary)).join('');
  return (
    `\nUsage:  docker [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers (here: the Layerlab engine, in your browser)\n\n` +
    `Common Commands:\n${common}\nManagement Commands:\n${management}\nCommands:\n${others}\n` +
    `Run 'docker COMMAND --help' for more information on a command.\n`
  );
}

// ---- dispatch

function argCountError(name: string, verb: Verb, count: number): string | undefined {
  const { min, max } = verb.args ?? {};
  const plural = (n: number) => `${n} argument${n === 1 ? '' : 's'}`;
  let problem: string | undefined;
  if (min !== undefined && min === max && count !== min) problem = `requires exactly ${plural(min)}`;
  else if (min !== undefined && count < min) problem = `requires at least ${plural(min)}`;
  else if (max !== undefined && count > max) problem = max === 0 ? 'accepts no arguments' : `requires at most ${plural(max)}`;
  if (!problem) return undefined;
  return `"docker ${name}" ${problem}.\nSee 'docker ${name} --help'.\n\nUsage:  ${usageLine(name, verb)}\n\n${verb.summary}\n`;
}

/** Resolves `argv` to a verb: `ps`, `container ls`, `image prune`. */
function resolveVerb(argv: string[]): { name: string; verb: Verb; rest: string[] } | { error: string; help?: string } {
  const [first, second, ...rest] = argv;
  if (first in VERBS) return { name: first, verb: VERBS[first], rest: argv.slice(1) };
  const group = GROUPS[first];
  if (group) {
    if (second === undefined || second === '--help' || second === '-h') return { error: '', help: groupHelp(first) };
    const verb = group.verbs[second];
    if (verb) return { name: `${first} ${second}`, verb, rest };
    const missing = unimplementedMessage(`${first} ${second}`);
    if (missing) return { error: missing };
    return { error: `docker: '${first} ${second}' is not a docker command.\nSee 'docker ${first} --help'\n` };
  }
  return { error: unimplementedMessage(first) ?? `docker: '${first}' is not a docker command.\nSee 'docker --help'\n` };
}

/** Runs one docker command line; resolves with its exit code (output goes through `io`). */
export async function runDocker(options: RunDockerOptions): Promise<number> {
  const { io } = options;
  const argv = [...options.argv];
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || (argv[0] === 'help' && argv.length === 1)) {
    io.stdout(mainHelp());
    return 0;
  }
  if (argv[0] === '--version' || argv[0] === '-v') {
    io.stdout(`Docker version ${LAYERLAB_VERSION}, Layerlab engine\n`);
    return 0;
  }
  const found = resolveVerb(argv[0] === 'help' ? [...argv.slice(1), '--help'] : argv);
  if ('error' in found) {
    if (found.help) io.stdout(found.help);
    else io.stderr(found.error);
    return found.help ? 0 : 1;
  }
  const { name, verb, rest } = found;
  const ctx: Ctx = {
    engine: options.engine,
    io,
    options,
    json: options.json ?? false,
    now: options.now?.() ?? Date.now(),
    verb: name,
    out: (text) => io.stdout(text),
    err: (text) => io.stderr(text),
    print: (data, render) => io.stdout(options.json ? `${JSON.stringify(data, null, 2)}\n` : render()),
  };
  try {
    const { flags, args } = parseFlags(rest, [...verb.flags, { name: 'help', kind: 'bool' }], { verb: name, stopAtFirstArg: verb.stopAtFirstArg });
    if (flags.help === true) {
      io.stdout(verbHelp(name, verb));
      return 0;
    }
    const countError = argCountError(name, verb, args.length);
    if (countError) {
      io.stderr(countError);
      return 1;
    }
    return await verb.run(ctx, flags, args);
  } catch (error) {
    return report(ctx, verb, error);
  }
}

function report(ctx: Ctx, verb: Verb, error: unknown): number {
  if (ctx.json) {
    const exitCode = error instanceof CliError ? error.exitCode : error instanceof UsageError ? 125 : verb.runLike ? 125 : 1;
    ctx.err(`${JSON.stringify({ error: (error as Error).message, exitCode })}\n`);
    return exitCode;
  }
  if (error instanceof CliError) {
    ctx.err(`${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof UsageError) {
    // cobra's flag errors: Docker exits 125 for them.
    ctx.err(`${error.message.includes('--help') ? error.message : `${error.message}\nSee 'docker ${ctx.verb} --help'.`}\n`);
    return 125;
  }
  if (error instanceof TemplateError) {
    ctx.err(`${error.message}\n`);
    return 1;
  }
  if (verb.runLike) {
    ctx.err(`docker: ${daemonMessage(error)}\nSee 'docker ${ctx.verb} --help'.\n`);
    return 125;
  }
  ctx.err(`${daemonMessage(error)}\n`);
  if (!(error instanceof EngineError) && error instanceof Error && error.stack && (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.LAYERLAB_DEBUG) ctx.err(`${error.stack}\n`);
  return 1;
}
