/**
 * Container verbs: run, create, start, stop, restart, kill, rm, ps, logs, exec, diff, commit, wait,
 * container prune.
 */
import { createTransferRenderer } from './transfer-progress.ts';
import { NotFoundError, type ContainerView, type LogEntry, type RunOptions } from '../engine/index.ts';
import { containerStatus, ellipsis, formatTable, humanSize, timeAgo, type Column } from './format.ts';
import { formatDockerDiff } from './format.ts';
import type { ParsedFlags } from './flags.ts';
import { pruneText } from './images.ts';
import { formatPortsColumn } from './ports.ts';
import { formatRows, goTime } from './template.ts';
import { bool, CliError, confirm, eachTarget, list, parseBytes, str, type CliFlag, type Ctx, type Verb } from './shared.ts';

// ---- run / create

const RUN_FLAGS: CliFlag[] = [
  { name: 'detach', short: 'd', kind: 'bool', description: 'Run container in background and print container ID' },
  { name: 'interactive', short: 'i', kind: 'bool', description: 'Keep STDIN open even if not attached' },
  { name: 'tty', short: 't', kind: 'bool', description: 'Allocate a pseudo-TTY' },
  { name: 'rm', kind: 'bool', description: 'Automatically remove the container when it exits' },
  { name: 'name', kind: 'string', description: 'Assign a name to the container' },
  { name: 'env', short: 'e', kind: 'list', description: 'Set environment variables' },
  { name: 'workdir', short: 'w', kind: 'string', description: 'Working directory inside the container' },
  { name: 'user', short: 'u', kind: 'string', description: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
  { name: 'entrypoint', kind: 'string', description: 'Overwrite the default ENTRYPOINT of the image' },
  { name: 'volume', short: 'v', kind: 'list', description: 'Mount a named volume (NAME:/path)' },
  { name: 'hostname', short: 'h', kind: 'string', description: 'Container host name' },
  { name: 'network', kind: 'string', description: 'Connect a container to a network ("none", "host", "bridge" or a network name)' },
  { name: 'network-alias', kind: 'list', description: 'Add network-scoped alias for the container' },
  { name: 'net', kind: 'string' },
  { name: 'memory', short: 'm', kind: 'string', type: 'bytes', description: 'Memory limit' },
  { name: 'pids-limit', kind: 'string', type: 'int', description: 'Tune container pids limit (set -1 for unlimited)' },
  { name: 'publish', short: 'p', kind: 'list', description: "Publish a container's port(s) to the host" },
  { name: 'publish-all', short: 'P', kind: 'bool', description: 'Publish all exposed ports to random ports' },
];

function runOptions(ctx: Ctx, flags: ParsedFlags['flags'], [image, ...command]: string[]): RunOptions {
  const network = str(flags, 'network') ?? str(flags, 'net');
  const pids = str(flags, 'pids-limit');
  if (pids !== undefined && !/^-?\d+$/.test(pids)) {
    throw new CliError(`invalid argument "${pids}" for "--pids-limit" flag: strconv.ParseInt: parsing "${pids}": invalid syntax\nSee 'docker ${ctx.verb} --help'.`, 125);
  }
  if (network === 'host' && (list(flags, 'publish').length || bool(flags, 'publish-all'))) ctx.err('WARNING: Published ports are discarded when using host network mode\n');
  const memory = str(flags, 'memory');
  const entrypoint = str(flags, 'entrypoint');
  const options: RunOptions = {
    image,
    ...(command.length ? { command } : {}),
    ...(str(flags, 'name') !== undefined ? { name: str(flags, 'name') } : {}),
    ...(entrypoint !== undefined ? { entrypoint: entrypoint === '' ? [] : [entrypoint] } : {}),
    ...(list(flags, 'env').length ? { env: list(flags, 'env') } : {}),
    ...(str(flags, 'workdir') !== undefined ? { workdir: str(flags, 'workdir') } : {}),
    ...(str(flags, 'user') !== undefined ? { user: str(flags, 'user') } : {}),
    ...(str(flags, 'hostname') !== undefined ? { hostname: str(flags, 'hostname') } : {}),
    ...(list(flags, 'volume').length ? { volumes: list(flags, 'volume') } : {}),
    ...(network !== undefined ? { network } : {}),
    ...(list(flags, 'network-alias').length ? { networkAliases: list(flags, 'network-alias') } : {}),
    ...(list(flags, 'publish').length ? { publish: list(flags, 'publish') } : {}),
    ...(bool(flags, 'publish-all') ? { publishAll: true } : {}),
    ...(memory !== undefined ? { memoryBytes: parseBytes(memory, '-m, --memory') } : {}),
    ...(pids !== undefined ? { pidsLimit: Number(pids) } : {}),
    ...(bool(flags, 'rm') ? { autoRemove: true } : {}),
    ...(bool(flags, 'detach') ? { detach: true } : {}),
  };
  return options;
}

/**
 * `run`/`create` of an image the store lacks: like Docker, say so, pull it (Docker's pull lines), then go on.
 * When the pull fails, Docker's error, and what Layerlab has instead.
 */
async function pullMissing(ctx: Ctx, error: NotFoundError): Promise<void> {
  const ref = error.ref;
  ctx.err(`Unable to find image '${ref}' locally\n`);
  try {
    await ctx.engine.pull({ ref, onProgress: createTransferRenderer({ write: (text) => ctx.err(text), tty: Boolean(ctx.options.tty) }) });
  } catch (pullError) {
    const known = (await ctx.engine.images().catch(() => [])).flatMap((i) => i.repoTags);
    const hint = known.length ? `Images here: ${known.join(', ')} (see 'docker images'), or build one with 'docker build'.` : `Build one with 'docker build'.`;
    throw new CliError(`docker: Error response from daemon: ${(pullError as Error).message}\nSee 'docker ${ctx.verb} --help'.\nLayerlab: ${hint}`, 125);
  }
}

async function withImage<T>(ctx: Ctx, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof NotFoundError && error.kind === 'image')) throw error;
    await pullMissing(ctx, error);
    return fn();
  }
}

/** crun's "command not found" et al., in the words Docker wraps them in. */
function runtimeText(text: string, exec: boolean): string {
  return text.replace(/^(?:crun: )?(executable file `[^`]*` not found in \$PATH.*|.*(?:exec format error|Permission denied).*)$/gm, (_all, message: string) =>
    exec
      ? `OCI runtime exec failed: exec failed: ${message.replace(/^crun: /, '')}: unknown`
      : `docker: Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: ${message.replace(/^crun: /, '')}: unknown.`,
  );
}

const onOutput = (ctx: Ctx, exec = false) => (stream: 'stdout' | 'stderr', text: string) =>
  stream === 'stdout' ? ctx.out(text) : ctx.err(runtimeText(text, exec));

/** `-it`: the command runs attached to the learner's terminal (the guest client execs crun). */
async function attached(ctx: Ctx, request: Parameters<Ctx['engine']['attachCommand']>[0]): Promise<number> {
  const { argv, ref } = await ctx.engine.attachCommand(request);
  let exitCode = 255;
  try {
    exitCode = await ctx.io.exec!(argv, ref);
  } finally {
    await ctx.engine.attachEnded({ ref, exitCode });
  }
  return exitCode;
}

/**
 * `-i` without a terminal session: the container's stdin is the client's piped input, read to its end
 * first (`echo hi | docker run -i busybox cat`). `-t` alone allocates no terminal here: said, not hidden.
 */
async function pipedInput(ctx: Ctx, flags: ParsedFlags['flags']): Promise<Uint8Array | undefined> {
  if (bool(flags, 'tty') && !bool(flags, 'interactive') && !ctx.json) ctx.err('Layerlab: -t without -i: no terminal is allocated here (the output is the same, without terminal colours); use -it for an interactive shell.\n');
  // -it without a terminal to attach to has already said so (wantsTerminal): it runs without input.
  if (!bool(flags, 'interactive') || bool(flags, 'tty') || bool(flags, 'detach')) return undefined;
  if (!ctx.options.readStdin) {
    throw new CliError(`Layerlab: -i without -t: your keyboard is not passed to the container here. Pipe the input instead (echo hi | docker ${ctx.verb} -i …), or use -it for an interactive shell.`);
  }
  return ctx.options.readStdin();
}

function wantsTerminal(ctx: Ctx, flags: ParsedFlags['flags']): boolean {
  if (!bool(flags, 'interactive') || !bool(flags, 'tty') || bool(flags, 'detach')) return false;
  if (ctx.options.tty === false) throw new CliError('the input device is not a TTY', 1);
  if (ctx.io.exec && !ctx.json) return true;
  ctx.err('Layerlab: no terminal to attach to here; running without -it (the container gets no input).\n');
  return false;
}

const run: Verb = {
  usage: 'run [OPTIONS] IMAGE [COMMAND] [ARG...]',
  summary: 'Create and run a new container from an image',
  args: { min: 1 },
  stopAtFirstArg: true,
  runLike: true,
  flags: RUN_FLAGS,
  async run(ctx, flags, args) {
    const options = runOptions(ctx, flags, args);
    if (wantsTerminal(ctx, flags)) return withImage(ctx, () => attached(ctx, { kind: 'run', run: options }));
    const stdin = await pipedInput(ctx, flags);
    const view = await withImage(ctx, () => ctx.engine.run({ ...options, ...(stdin ? { stdin } : {}), onOutput: options.detach ? undefined : onOutput(ctx) }));
    if (options.detach) ctx.print(view, () => `${view.id}\n`);
    else if (ctx.json) ctx.out(`${JSON.stringify(view, null, 2)}\n`);
    return options.detach ? 0 : (view.exitCode ?? 0);
  },
};

const create: Verb = {
  usage: 'create [OPTIONS] IMAGE [COMMAND] [ARG...]',
  summary: 'Create a new container',
  args: { min: 1 },
  stopAtFirstArg: true,
  runLike: true,
  flags: RUN_FLAGS.filter((f) => f.name !== 'detach'),
  async run(ctx, flags, args) {
    if (bool(flags, 'interactive') || bool(flags, 'tty')) {
      throw new CliError("Layerlab: create -i/-t keeps a terminal for a later 'docker start -ai', which this engine cannot attach to. Use 'docker run -it IMAGE' for an interactive shell, or create without -i/-t.");
    }
    const view = await withImage(ctx, () => ctx.engine.create(runOptions(ctx, flags, args)));
    ctx.print(view, () => `${view.id}\n`);
    return 0;
  },
};

// ---- start / stop / restart / kill / rm / wait

const start: Verb = {
  usage: 'start [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Start one or more stopped containers',
  args: { min: 1 },
  flags: [
    { name: 'attach', short: 'a', kind: 'bool', description: "Attach STDOUT/STDERR and forward signals" },
    { name: 'interactive', short: 'i', kind: 'bool', description: "Attach container's STDIN" },
  ],
  async run(ctx, flags, containers) {
    if (bool(flags, 'interactive')) throw new CliError("Layerlab: start -i cannot pass your keyboard to the container; 'docker start -a' shows its output, and 'docker exec -it CONTAINER sh' opens a shell in it.");
    if (!bool(flags, 'attach')) return eachTarget(ctx, containers, async (c) => (await ctx.engine.start({ container: c }), c));
    if (containers.length > 1) throw new CliError('you cannot start and attach multiple containers at once');
    await ctx.engine.start({ container: containers[0], onOutput: onOutput(ctx) });
    return (await ctx.engine.wait({ container: containers[0] })).exitCode;
  },
};

const stop: Verb = {
  usage: 'stop [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Stop one or more running containers',
  args: { min: 1 },
  flags: [{ name: 'time', short: 't', kind: 'string', type: 'int', description: 'Seconds to wait before killing the container' }],
  async run(ctx, flags, containers) {
    const time = str(flags, 'time');
    if (time !== undefined && !/^\d+$/.test(time)) throw new CliError(`invalid argument "${time}" for "-t, --time" flag: strconv.ParseInt: parsing "${time}": invalid syntax`, 125);
    return eachTarget(ctx, containers, async (c) => (await ctx.engine.stop({ container: c, ...(time ? { timeoutSeconds: Number(time) } : {}) }), c), { parallel: true });
  },
};

const restart: Verb = {
  usage: 'restart [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Restart one or more containers',
  args: { min: 1 },
  flags: [],
  async run(ctx, _flags, containers) {
    return eachTarget(ctx, containers, async (c) => (await ctx.engine.restart({ container: c }), c));
  },
};

const kill: Verb = {
  usage: 'kill [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Kill one or more running containers',
  args: { min: 1 },
  flags: [{ name: 'signal', short: 's', kind: 'string', description: 'Signal to send to the container' }],
  async run(ctx, flags, containers) {
    const signal = str(flags, 'signal');
    return eachTarget(ctx, containers, async (c) => (await ctx.engine.kill({ container: c, ...(signal ? { signal } : {}) }), c), { parallel: true });
  },
};

const rm: Verb = {
  usage: 'rm [OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Remove one or more containers',
  args: { min: 1 },
  flags: [
    { name: 'force', short: 'f', kind: 'bool', description: 'Force the removal of a running container (uses SIGKILL)' },
    { name: 'volumes', short: 'v', kind: 'bool', description: 'Remove anonymous volumes associated with the container' },
  ],
  async run(ctx, flags, containers) {
    return eachTarget(ctx, containers, async (c) => (await ctx.engine.rm({ container: c, force: bool(flags, 'force'), volumes: bool(flags, 'volumes') }), c));
  },
};

const wait: Verb = {
  usage: 'wait CONTAINER [CONTAINER...]',
  summary: 'Block until one or more containers stop, then print their exit codes',
  args: { min: 1 },
  flags: [],
  async run(ctx, _flags, containers) {
    return eachTarget(ctx, containers, async (c) => String((await ctx.engine.wait({ container: c })).exitCode));
  },
};

// ---- rename

const rename: Verb = {
  usage: 'rename CONTAINER NEW_NAME',
  summary: 'Rename a container',
  args: { min: 2, max: 2 },
  flags: [],
  async run(ctx, _flags, [container, name]) {
    await ctx.engine.rename({ container, name });
    return 0;
  },
};

// ---- ps

/** Docker's COMMAND column: the command line, arguments with spaces in single quotes. */
export function commandLine(command: string[]): string {
  return command.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'"'"'`)}'`)).join(' ');
}

function psFilter(view: ContainerView, filters: string[]): boolean {
  return filters.every((filter) => {
    const [key, value = ''] = filter.split(/=(.*)/s);
    if (key === 'status') return view.state === value;
    if (key === 'name') return view.name.includes(value);
    if (key === 'id') return view.id.startsWith(value);
    if (key === 'ancestor') return view.image === value || view.image === `${value}:latest` || view.imageId.replace(/^sha256:/, '').startsWith(value.replace(/^sha256:/, ''));
    if (key === 'exited') return view.state === 'exited' && String(view.exitCode) === value;
    throw new CliError(`Error response from daemon: invalid filter '${key}'`);
  });
}

/** Column names of `docker ps --format 'table …'`, by field. */
const PS_HEADERS = {
  ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED', Ports: 'PORTS', State: 'STATE',
  Status: 'STATUS', Size: 'SIZE', Names: 'NAMES', Labels: 'LABELS', Mounts: 'MOUNTS', Networks: 'NETWORKS',
};

const ps: Verb = {
  usage: 'ps [OPTIONS]',
  summary: 'List containers',
  args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', kind: 'bool', description: 'Show all containers (default shows just running)' },
    { name: 'quiet', short: 'q', kind: 'bool', description: 'Only display container IDs' },
    { name: 'size', short: 's', kind: 'bool', description: 'Display total file sizes' },
    { name: 'no-trunc', kind: 'bool', description: "Don't truncate output" },
    { name: 'filter', short: 'f', kind: 'list', description: 'Filter output based on conditions provided (status=, name=, id=, ancestor=, exited=)' },
    { name: 'format', kind: 'string', description: "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template" },
  ],
  async run(ctx, flags) {
    const filters = list(flags, 'filter');
    const format = str(flags, 'format');
    // As the docker CLI does: sizes are asked for with --size, or when the format shows them.
    const size = bool(flags, 'size') || format === 'json' || (format?.includes('.Size') ?? false);
    const views = (await ctx.engine.ps({ all: bool(flags, 'all') || filters.length > 0, size })).filter((v) => psFilter(v, filters));
    const noTrunc = bool(flags, 'no-trunc');
    const id = (v: ContainerView) => (noTrunc ? v.id : v.id.slice(0, 12));
    ctx.print(views, () => {
      if (bool(flags, 'quiet')) return views.map((v) => `${id(v)}\n`).join('');
      const formatted =
        format === undefined
          ? undefined
          : formatRows(
          format,
          views.map((v) => ({
            ID: id(v),
            Image: v.image,
            Command: JSON.stringify(noTrunc ? commandLine(v.command) : ellipsis(commandLine(v.command), 20)),
            CreatedAt: goTime(v.created),
            RunningFor: timeAgo({ time: v.created, now: ctx.now }),
            Ports: formatPortsColumn(v.ports ?? [], v.state === 'running' ? (v.exposedPorts ?? []) : []),
            State: v.state,
            Status: containerStatus({ ...v, now: ctx.now }),
            Size: `${humanSize(v.sizeRw)} (virtual ${humanSize(v.sizeRootFs)})`,
            Names: v.name,
            Labels: '',
            Mounts: '',
            Networks: Object.keys(v.networks ?? {}).join(','),
          })),
          PS_HEADERS,
        );
      if (formatted !== undefined) return formatted;
      const columns: Column<ContainerView>[] = [
        { header: 'CONTAINER ID', value: id },
        { header: 'IMAGE', value: (v) => v.image },
        { header: 'COMMAND', value: (v) => JSON.stringify(noTrunc ? commandLine(v.command) : ellipsis(commandLine(v.command), 20)) },
        { header: 'CREATED', value: (v) => timeAgo({ time: v.created, now: ctx.now }) },
        { header: 'STATUS', value: (v) => containerStatus({ ...v, now: ctx.now }) },
        { header: 'PORTS', value: (v) => formatPortsColumn(v.ports ?? [], v.state === 'running' ? (v.exposedPorts ?? []) : []) },
        { header: 'NAMES', value: (v) => v.name },
      ];
      if (bool(flags, 'size')) columns.push({ header: 'SIZE', value: (v) => `${humanSize(v.sizeRw)} (virtual ${humanSize(v.sizeRootFs)})` });
      return formatTable({ columns, rows: views });
    });
    return 0;
  },
};

// ---- logs, exec, diff, commit, prune

/**
 * `--since`/`--until` as Docker reads them: a Go duration before now (`10m`, `1h30m`), a Unix time
 * (`1700000000.5`) or an RFC 3339 date/time (`2024-01-02`, `2024-01-02T15:04:05Z`). Milliseconds since the epoch.
 */
export function parseLogTime(value: string, now: number, flag = 'since'): number {
  const duration = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.exec(value);
  if (duration) {
    const scale: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    let ms = 0;
    for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(n) * scale[unit];
    return now - ms;
  }
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const time = /^\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(value) ? Date.parse(/T\d{2}$/.test(value) ? `${value}:00` : value) : NaN;
  if (Number.isNaN(time)) throw new CliError(`invalid value for "${flag}": failed to parse value as time or duration: "${value}"`);
  return time;
}

/** RFC3339Nano with nine fraction digits, as `docker logs -t` prints: 2024-01-02T15:04:05.123000000Z. */
export function logTimestamp(iso: string): string {
  return iso.replace(/(\.\d+)?Z$/, (_all, fraction?: string) => `.${(fraction?.slice(1) ?? '').padEnd(9, '0')}Z`);
}

const logs: Verb = {
  usage: 'logs [OPTIONS] CONTAINER',
  summary: 'Fetch the logs of a container',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'follow', short: 'f', kind: 'bool', description: 'Follow log output' },
    { name: 'since', kind: 'string', description: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { name: 'until', kind: 'string', description: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { name: 'tail', short: 'n', kind: 'string', description: 'Number of lines to show from the end of the logs (default "all")' },
    { name: 'timestamps', short: 't', kind: 'bool', description: 'Show timestamps' },
  ],
  async run(ctx, flags, [container]) {
    const tail = str(flags, 'tail');
    const count = tail === undefined || tail === 'all' ? -1 : Number(tail);
    if (!Number.isInteger(count)) throw new CliError(`invalid value for "tail": "${tail}"`);
    const since = str(flags, 'since') !== undefined ? parseLogTime(str(flags, 'since')!, ctx.now) : undefined;
    const until = str(flags, 'until') !== undefined ? parseLogTime(str(flags, 'until')!, ctx.now, 'until') : undefined;
    const timestamps = bool(flags, 'timestamps');
    const inRange = (entry: LogEntry) => {
      const time = entry.time ? Date.parse(entry.time) : undefined;
      if (since !== undefined && (time === undefined || time < since)) return false;
      if (until !== undefined && (time === undefined || time > until)) return false;
      return true;
    };
    const lines = (entries: LogEntry[]) =>
      entries.filter(inRange).flatMap((e) => e.text.split(/(?<=\n)/).filter(Boolean).map((text) => ({ stream: e.stream, text, time: e.time })));
    const show = (line: LogEntry) => {
      const text = timestamps ? `${line.time ? logTimestamp(line.time) : '0001-01-01T00:00:00.000000000Z'} ${line.text}` : line.text;
      (line.stream === 'stdout' ? ctx.out : ctx.err)(text);
    };
    const all = lines(await ctx.engine.logs({ container }));
    const shown = count < 0 ? all : all.slice(Math.max(0, all.length - count));
    if (ctx.json) {
      ctx.out(`${JSON.stringify(shown, null, 2)}\n`);
      return 0;
    }
    for (const line of shown) show(line);
    // -f: what comes next, until the container exits (or --until passes, or the client goes away).
    if (bool(flags, 'follow') && (until === undefined || until > Date.now())) {
      let skip = all.length;
      await ctx.engine.logs({
        container,
        follow: true,
        signal: ctx.options.signal,
        onOutput: (entry) => {
          // The entries so far come again first: they were printed above.
          if (skip > 0) {
            skip -= lines([entry]).length;
            return;
          }
          for (const line of lines([entry])) show(line);
        },
      });
    }
    return 0;
  },
};

const exec: Verb = {
  usage: 'exec [OPTIONS] CONTAINER COMMAND [ARG...]',
  summary: 'Execute a command in a running container',
  args: { min: 2 },
  stopAtFirstArg: true,
  flags: [
    { name: 'detach', short: 'd', kind: 'bool', description: 'Detached mode: run command in the background' },
    { name: 'interactive', short: 'i', kind: 'bool', description: 'Keep STDIN open even if not attached' },
    { name: 'tty', short: 't', kind: 'bool', description: 'Allocate a pseudo-TTY' },
    { name: 'env', short: 'e', kind: 'list', description: 'Set environment variables' },
    { name: 'workdir', short: 'w', kind: 'string', description: 'Working directory inside the container' },
    { name: 'user', short: 'u', kind: 'string', description: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
  ],
  async run(ctx, flags, [container, ...command]) {
    const options = {
      container,
      command,
      ...(list(flags, 'env').length ? { env: list(flags, 'env') } : {}),
      ...(str(flags, 'workdir') !== undefined ? { workdir: str(flags, 'workdir') } : {}),
      ...(str(flags, 'user') !== undefined ? { user: str(flags, 'user') } : {}),
    };
    if (wantsTerminal(ctx, flags)) return attached(ctx, { kind: 'exec', ...options });
    if (bool(flags, 'detach')) {
      void ctx.engine.exec(options).catch(() => {});
      return 0;
    }
    const stdin = await pipedInput(ctx, flags);
    const result = await ctx.engine.exec({ ...options, ...(stdin ? { stdin } : {}), onOutput: ctx.json ? undefined : onOutput(ctx, true) });
    if (ctx.json) ctx.out(`${JSON.stringify(result, null, 2)}\n`);
    return result.exitCode;
  },
};

const diff: Verb = {
  usage: 'diff CONTAINER',
  summary: "Inspect changes to files or directories on a container's filesystem",
  args: { min: 1, max: 1 },
  flags: [],
  async run(ctx, _flags, [container]) {
    const entries = await ctx.engine.diff({ container });
    ctx.print(entries, () => formatDockerDiff(entries));
    return 0;
  },
};

const commit: Verb = {
  usage: 'commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  summary: "Create a new image from a container's changes",
  args: { min: 1, max: 2 },
  flags: [
    { name: 'author', short: 'a', kind: 'string', description: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    { name: 'message', short: 'm', kind: 'string', description: 'Commit message' },
    { name: 'change', short: 'c', kind: 'list', description: 'Apply Dockerfile instruction to the created image' },
    { name: 'pause', short: 'p', kind: 'bool', description: 'Pause container during commit (default true)' },
  ],
  async run(ctx, flags, [container, ref]) {
    const result = await ctx.engine.commit({
      container,
      ...(ref ? { ref } : {}),
      ...(str(flags, 'author') !== undefined ? { author: str(flags, 'author') } : {}),
      ...(str(flags, 'message') !== undefined ? { message: str(flags, 'message') } : {}),
      ...(list(flags, 'change').length ? { changes: list(flags, 'change') } : {}),
      ...(flags.pause === false ? { pause: false } : {}),
    });
    ctx.print(result, () => `${result.imageId}\n`);
    return 0;
  },
};

/** `CONTAINER:PATH` → [container, path]; a plain path (or `-`) → null. */
function containerPath(arg: string): [string, string] | null {
  const colon = arg.indexOf(':');
  if (colon <= 0 || arg.startsWith('/') || arg.startsWith('.')) return null;
  return [arg.slice(0, colon), arg.slice(colon + 1) || '/'];
}

const cp: Verb = {
  usage: 'cp CONTAINER:SRC_PATH DEST_PATH | SRC_PATH CONTAINER:DEST_PATH',
  summary: 'Copy files/folders between a container and the local filesystem',
  args: { min: 2, max: 2 },
  flags: [],
  async run(ctx, _flags, [src, dest]) {
    const from = containerPath(src);
    const to = containerPath(dest);
    if (from && to) throw new CliError('copying between containers is not supported', 1);
    if (!from && !to) throw new CliError('must specify at least one container source', 1);
    const { packPath, unpackTo } = ctx.options;
    if (!packPath || !unpackTo) throw new CliError('docker cp is not available here', 1);
    if (from) {
      const tar = await ctx.engine.copyFrom({ container: from[0], path: from[1] });
      await unpackTo(dest, tar);
      ctx.print({ copied: from[1], to: dest, bytes: tar.length }, () => `Successfully copied ${humanSize(tar.length)} to ${dest}\n`);
    } else {
      const tar = await packPath(src);
      await ctx.engine.copyTo({ container: to![0], path: to![1], tar });
      ctx.print({ copied: src, to: dest, bytes: tar.length }, () => `Successfully copied ${humanSize(tar.length)} to ${dest}\n`);
    }
    return 0;
  },
};

const containerPrune: Verb = {
  usage: 'container prune [OPTIONS]',
  summary: 'Remove all stopped containers',
  args: { max: 0 },
  flags: [{ name: 'force', short: 'f', kind: 'bool', description: 'Do not prompt for confirmation' }],
  async run(ctx, flags) {
    if (!confirm(ctx, 'This will remove all stopped containers.', bool(flags, 'force') || ctx.json)) return 1;
    const result = await ctx.engine.pruneContainers();
    ctx.print(result, () => pruneText('Containers', result.deleted, result.reclaimed));
    return 0;
  },
};

export const containerVerbs = { run, create, start, stop, restart, kill, rm, wait, rename, ps, logs, exec, diff, commit, cp, containerPrune };
