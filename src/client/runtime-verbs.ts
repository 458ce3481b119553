/**
 * Verbs about running containers and flat filesystems: pause, unpause, top, stats, attach, export, import.
 * Following verbs (`stats`, `attach`) run until the container exits or the client goes away (ctx.options.signal).
 */
import type { ContainerStatsSample, LogEntry } from '../engine/index.ts';
import { formatTable } from './format.ts';
import { STATS_COLUMNS, statsRow, type StatsRow } from './stats.ts';
import { formatRows } from './template.ts';
import { bool, CliError, eachTarget, list, str, type Ctx, type Verb } from './shared.ts';

const pause: Verb = {
  usage: 'pause CONTAINER [CONTAINER...]',
  summary: 'Pause all processes within one or more containers',
  args: { min: 1 },
  flags: [],
  async run(ctx, _flags, containers) {
    return eachTarget(ctx, containers, async (c) => (await ctx.engine.pause({ container: c }), c));
  },
};

const unpause: Verb = {
  usage: 'unpause CONTAINER [CONTAINER...]',
  summary: 'Unpause all processes within one or more containers',
  args: { min: 1 },
  flags: [],
  async run(ctx, _flags, containers) {
    return eachTarget(ctx, containers, async (c) => (await ctx.engine.unpause({ container: c }), c));
  },
};

/** `docker top` prints ps's table through a tabwriter with minwidth 20 and padding 3. */
export function formatTop(top: { titles: string[]; processes: string[][] }): string {
  return formatTable({ columns: top.titles.map((header, i) => ({ header, value: (row: string[]) => row[i] ?? '' })), rows: top.processes, minWidth: 20 });
}

const top: Verb = {
  usage: 'top CONTAINER [ps OPTIONS]',
  summary: 'Display the running processes of a container',
  args: { min: 1 },
  stopAtFirstArg: true,
  flags: [],
  async run(ctx, _flags, [container, ...psOptions]) {
    if (psOptions.length) throw new CliError(`Layerlab: 'docker top' shows ps -ef's columns only; ps options (${psOptions.join(' ')}) are not supported. Try 'docker exec ${container} ps ${psOptions.join(' ')}'.`);
    const result = await ctx.engine.top({ container });
    ctx.print(result, () => formatTop(result));
    return 0;
  },
};

/** The fields `docker stats --format` templates see. */
function templateFields(row: StatsRow, sample: ContainerStatsSample) {
  return { ID: row.id, Container: row.id, Name: row.name, CPUPerc: row.cpu, MemUsage: row.memUsage, MemPerc: row.memPercent, NetIO: row.netIO, BlockIO: row.blockIO, PIDs: row.pids, Full: sample.id };
}

export function formatStats(rows: { row: StatsRow; sample: ContainerStatsSample }[], options: { format?: string; noTrunc?: boolean }): string {
  const shown = rows.map(({ row, sample }) => ({ row: options.noTrunc ? { ...row, id: sample.id } : row, sample }));
  if (options.format) {
    const text = formatRows(options.format, shown.map(({ row, sample }) => templateFields(row, sample)), STATS_HEADERS);
    if (text !== undefined) return text;
  }
  return formatTable({ columns: STATS_COLUMNS, rows: shown.map((r) => r.row) });
}

/** Column names of `docker stats --format "table {{.Name}}\t…"`. */
const STATS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID', Container: 'CONTAINER', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS', Full: 'CONTAINER',
};

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

const stats: Verb = {
  usage: 'stats [OPTIONS] [CONTAINER...]',
  summary: 'Display a live stream of container(s) resource usage statistics',
  flags: [
    { name: 'all', short: 'a', kind: 'bool', description: 'Show all containers (default shows just running)' },
    { name: 'no-stream', kind: 'bool', description: 'Disable streaming stats and only pull the first result' },
    { name: 'no-trunc', kind: 'bool', description: "Don't truncate output" },
    { name: 'format', kind: 'string', description: "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template" },
  ],
  async run(ctx, flags, containers) {
    const format = str(flags, 'format');
    const request = { containers, all: bool(flags, 'all') };
    const signal = ctx.options.signal;
    // CPU % is a rate: Docker's daemon answers with two samples a second apart, and so does this.
    let previous = new Map((await ctx.engine.stats(request)).map((s) => [s.id, s]));
    const stream = !bool(flags, 'no-stream') && !ctx.json;
    for (;;) {
      await sleep(1000, signal);
      if (signal?.aborted) return 0;
      const samples = await ctx.engine.stats(request);
      const rows = samples.map((sample) => ({ row: statsRow(sample, previous.get(sample.id)), sample }));
      previous = new Map(samples.map((s) => [s.id, s]));
      if (!stream) {
        ctx.print(
          rows.map((r) => templateFields(r.row, r.sample)),
          () => formatStats(rows, { format, noTrunc: bool(flags, 'no-trunc') }),
        );
        return 0;
      }
      // Docker redraws the table in place: clear the screen, cursor home.
      ctx.out(`\x1b[2J\x1b[H${formatStats(rows, { format, noTrunc: bool(flags, 'no-trunc') })}`);
      if (containers.length && samples.every((s) => !s.running) && !bool(flags, 'all')) return 0;
    }
  },
};

const attach: Verb = {
  usage: 'attach [OPTIONS] CONTAINER',
  summary: "Attach local standard input, output, and error streams to a running container",
  args: { min: 1, max: 1 },
  flags: [
    { name: 'no-stdin', kind: 'bool', description: 'Do not attach STDIN (Layerlab never attaches it)' },
    { name: 'sig-proxy', kind: 'bool', description: 'Proxy all received signals to the process (default true): Ctrl-C sends SIGINT' },
    { name: 'detach-keys', kind: 'string', description: 'Override the key sequence for detaching a container (not available in Layerlab)' },
  ],
  async run(ctx, flags, [container]) {
    if (str(flags, 'detach-keys') !== undefined) {
      throw new CliError("Layerlab: 'docker attach' here shows the container's output but does not forward your keyboard, so there are no detach keys: Ctrl-C stops attaching.");
    }
    const write = (entry: LogEntry) => (entry.stream === 'stdout' ? ctx.out(entry.text) : ctx.err(entry.text));
    const { exitCode } = await ctx.engine.attach({ container, onOutput: write, signal: ctx.options.signal, sigProxy: flags['sig-proxy'] !== false });
    return exitCode ?? 0;
  },
};

const exportVerb: Verb = {
  usage: 'export [OPTIONS] CONTAINER',
  summary: "Export a container's filesystem as a tar archive",
  args: { min: 1, max: 1 },
  flags: [{ name: 'output', short: 'o', kind: 'string', description: 'Write to a file, instead of STDOUT' }],
  async run(ctx, flags, [container]) {
    const output = str(flags, 'output');
    if (!output) {
      throw new CliError('cowardly refusing to save to a terminal. Use the -o flag or redirect\nLayerlab: the docker client here cannot stream an archive to STDOUT; use -o FILE.');
    }
    if (!ctx.options.writeFile) throw new CliError('docker export -o is not available here', 1);
    const tar = await ctx.engine.exportContainer({ container });
    await ctx.options.writeFile(output, tar);
    if (ctx.json) ctx.out(`${JSON.stringify({ container, output, bytes: tar.length })}\n`);
    return 0;
  },
};

const importVerb: Verb = {
  usage: 'import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
  summary: 'Import the contents from a tarball to create a filesystem image',
  args: { min: 1, max: 2 },
  flags: [
    { name: 'change', short: 'c', kind: 'list', description: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', kind: 'string', description: 'Set commit message for imported image' },
    { name: 'platform', kind: 'string', description: 'Set platform if server is multi-platform capable' },
  ],
  async run(ctx, flags, [source, ref]) {
    const data = await readSource(ctx, source);
    const message = str(flags, 'message');
    const platform = str(flags, 'platform');
    const result = await ctx.engine.importImage({
      data,
      ...(ref ? { ref } : {}),
      ...(list(flags, 'change').length ? { changes: list(flags, 'change') } : {}),
      ...(message !== undefined ? { message } : {}),
      ...(platform !== undefined ? { platform } : {}),
    });
    ctx.print(result, () => `${result.imageId}\n`);
    return 0;
  },
};

async function readSource(ctx: Ctx, source: string): Promise<Uint8Array> {
  if (source === '-') {
    if (!ctx.options.readStdin) throw new CliError("Layerlab: this docker client cannot send its stdin to the engine; give the tar's path instead of '-' (docker import FILE.tar).");
    return ctx.options.readStdin();
  }
  if (/^https?:\/\//.test(source)) throw new CliError(`Layerlab: 'docker import' reads a local tar here, not a URL (${source}); download it first or give a path.`);
  if (!ctx.options.readFile) throw new CliError('docker import is not available here', 1);
  try {
    return await ctx.options.readFile(source);
  } catch (error) {
    throw new CliError(`open ${source}: no such file or directory${(error as Error).message.includes('no such file') ? '' : ` (${(error as Error).message})`}`);
  }
}

export const runtimeVerbs = { pause, unpause, top, stats, attach, export: exportVerb, import: importVerb };
