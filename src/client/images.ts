/** Image verbs: build, images, history, inspect, tag, rmi, save, load, image prune. */
import { NotFoundError, type ImageSummaryView, type ContextEntry } from '../engine/index.ts';
import { createBuildProgress } from './build-progress.ts';
import { formatHistory, formatImages, formatTable, historyRows, humanSize, timeAgo } from './format.ts';
import { renderTemplate, goJson, formatRows, goTime } from './template.ts';
import { loadSecrets } from './secrets.ts';
import { bool, CliError, confirm, daemonMessage, list, resolvePath, str, type Ctx, type Verb } from './shared.ts';

const ALL = { name: 'all', short: 'a', kind: 'bool' } as const;
const QUIET = { name: 'quiet', short: 'q', kind: 'bool' } as const;
const NO_TRUNC = { name: 'no-trunc', kind: 'bool', description: "Don't truncate output" } as const;
const FORMAT = { name: 'format', short: 'f', kind: 'string', description: 'Format output using a custom template' } as const;

// ---- build

function splitRepoTag(repoTag: string): { repository: string; tag: string } {
  const colon = repoTag.lastIndexOf(':');
  return colon > repoTag.lastIndexOf('/') ? { repository: repoTag.slice(0, colon), tag: repoTag.slice(colon + 1) } : { repository: repoTag, tag: 'latest' };
}

async function loadContext(ctx: Ctx, dir: string): Promise<ContextEntry[]> {
  if (!ctx.options.readContext) throw new CliError('ERROR: this Layerlab terminal cannot read a build context.');
  try {
    return await ctx.options.readContext(dir);
  } catch {
    throw new CliError(`ERROR: unable to prepare context: path "${dir}" not found`);
  }
}

async function readDockerfile(ctx: Ctx, files: ContextEntry[], contextDir: string, file: string | undefined): Promise<{ text: string; name: string }> {
  const decode = (data: Uint8Array) => new TextDecoder().decode(data);
  const name = file ? file.split('/').pop()! : 'Dockerfile';
  const cwd = ctx.options.cwd ?? '/';
  const candidates = file ? [resolvePath(cwd, file)] : ['Dockerfile', 'dockerfile'].map((n) => resolvePath(resolvePath(cwd, contextDir), n));
  const root = resolvePath(cwd, contextDir);
  for (const path of candidates) {
    const relative = path.startsWith(`${root}/`) ? path.slice(root.length + 1) : root === '/' ? path.slice(1) : undefined;
    const entry = relative !== undefined ? files.find((f) => f.path.replace(/^\.?\//, '') === relative) : undefined;
    if (entry) return { text: decode(entry.data), name };
    if (relative === undefined && ctx.options.readFile) {
      const data = await ctx.options.readFile(path).catch(() => undefined);
      if (data) return { text: decode(data), name };
    }
  }
  throw new CliError(`ERROR: failed to solve: failed to read dockerfile: open ${name}: no such file or directory`);
}

const build: Verb = {
  usage: 'build [OPTIONS] PATH',
  summary: 'Build an image from a Dockerfile',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'tag', short: 't', kind: 'list', description: 'Name and optionally a tag (format: "name:tag")' },
    { name: 'file', short: 'f', kind: 'string', description: 'Name of the Dockerfile (default: "PATH/Dockerfile")' },
    { name: 'build-arg', kind: 'list', description: 'Set build-time variables' },
    { name: 'target', kind: 'string', description: 'Set the target build stage to build' },
    { name: 'secret', kind: 'list', description: 'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]")' },
    { name: 'no-cache', kind: 'bool', description: 'Do not use cache when building the image' },
    { name: 'quiet', short: 'q', kind: 'bool', description: 'Suppress the build output and print image ID on success' },
    { name: 'progress', kind: 'string', description: 'Set type of progress output ("auto", "plain", "tty", "quiet"). Layerlab prints "plain"' },
  ],
  async run(ctx, flags, [dir]) {
    const secrets = await loadSecrets(list(flags, 'secret'), { readFile: ctx.options.readFile, env: ctx.options.env });
    const files = await loadContext(ctx, dir);
    const dockerfile = await readDockerfile(ctx, files, dir, str(flags, 'file'));
    const buildArgs: Record<string, string> = {};
    for (const arg of list(flags, 'build-arg')) {
      const eq = arg.indexOf('=');
      if (eq > 0) buildArgs[arg.slice(0, eq)] = arg.slice(eq + 1);
    }
    const quiet = bool(flags, 'quiet') || str(flags, 'progress') === 'quiet' || ctx.json;
    const progress = createBuildProgress({
      write: (text) => ctx.err(text),
      dockerfile: dockerfile.text,
      dockerfileName: dockerfile.name,
      contextBytes: files.reduce((sum, f) => sum + f.data.length, 0),
    });
    try {
      const result = await ctx.engine.build({
        dockerfile: dockerfile.text,
        context: files,
        tags: list(flags, 'tag'),
        buildArgs,
        target: str(flags, 'target'),
        secrets,
        noCache: bool(flags, 'no-cache'),
        onEvent: quiet ? undefined : (event) => progress.onEvent(event),
      });
      if (ctx.json) ctx.out(`${JSON.stringify(result, null, 2)}\n`);
      else if (quiet) ctx.out(`${result.imageId}\n`);
      return 0;
    } catch (error) {
      if (ctx.json) throw error;
      if (!progress.failed) ctx.err(`ERROR: failed to solve: ${(error as Error).message}\n`);
      return 1;
    }
  },
};

// ---- images

/** The registry digest recorded for this repository name, for `images --digests`. */
function digestFor(image: ImageSummaryView, repository: string): string {
  return image.repoDigests?.find((d) => d.slice(0, d.indexOf('@')) === repository)?.split('@')[1] ?? '<none>';
}

function imageRows(images: ImageSummaryView[]) {
  const sorted = [...images].sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
  return sorted.flatMap((image) =>
    image.repoTags.length
      ? image.repoTags.map((rt) => {
          const repoTag = splitRepoTag(rt);
          return { id: image.id, ...repoTag, digest: digestFor(image, repoTag.repository), created: image.created, size: image.size };
        })
      : [{ id: image.id, repository: '<none>', tag: '<none>', digest: image.repoDigests?.[0]?.split('@')[1] ?? '<none>', created: image.created, size: image.size }],
  );
}

function matchesFilter(row: { repository: string; tag: string }, filters: string[]): boolean {
  return filters.every((filter) => {
    const [key, value = ''] = filter.split(/=(.*)/s);
    if (key === 'dangling') return (row.repository === '<none>') === (value !== 'false');
    if (key === 'reference') {
      const pattern = new RegExp(`^${value.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[^/]*').replaceAll('?', '.')}$`);
      return pattern.test(`${row.repository}:${row.tag}`) || pattern.test(row.repository);
    }
    throw new CliError(`Error response from daemon: invalid filter '${key}'`);
  });
}

const images: Verb = {
  usage: 'images [OPTIONS] [REPOSITORY[:TAG]]',
  summary: 'List images',
  args: { max: 1 },
  flags: [
    { ...ALL, description: 'Show all images (default hides intermediate images)' },
    { ...QUIET, description: 'Only show image IDs' },
    NO_TRUNC,
    { name: 'digests', kind: 'bool', description: 'Show digests' },
    { name: 'filter', short: 'f', kind: 'list', description: 'Filter output based on conditions provided' },
    { name: 'format', kind: 'string', description: "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template" },
  ],
  async run(ctx, flags, [ref]) {
    const views = await ctx.engine.images({ all: bool(flags, 'all') });
    const digests = bool(flags, 'digests');
    const filters = [...list(flags, 'filter'), ...(ref ? [`reference=${ref}`] : [])];
    const rows = imageRows(views).filter((row) => matchesFilter(row, filters));
    const noTrunc = bool(flags, 'no-trunc');
    const id = (full: string) => (noTrunc ? full : full.replace(/^sha256:/, '').slice(0, 12));
    const format = str(flags, 'format');
    ctx.print(rows, () => {
      if (bool(flags, 'quiet')) return rows.map((r) => `${id(r.id)}\n`).join('');
      const formatted =
        format === undefined
          ? undefined
          : formatRows(
              format,
              rows.map((r) => ({
                ID: id(r.id),
                Repository: r.repository,
                Tag: r.tag,
                Digest: r.digest,
                CreatedSince: timeAgo({ time: r.created, now: ctx.now }),
                CreatedAt: goTime(r.created),
                Size: humanSize(r.size),
              })),
              { ID: 'IMAGE ID', Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', Size: 'SIZE' },
            );
      if (formatted !== undefined) return formatted;
      if (!noTrunc && !digests) return formatImages({ images: rows, now: ctx.now });
      return formatTable<(typeof rows)[number]>({
        columns: [
          { header: 'REPOSITORY', value: (r) => r.repository },
          { header: 'TAG', value: (r) => r.tag },
          ...(digests ? [{ header: 'DIGEST', value: (r: (typeof rows)[number]) => r.digest }] : []),
          { header: 'IMAGE ID', value: (r) => id(r.id) },
          { header: 'CREATED', value: (r) => timeAgo({ time: r.created, now: ctx.now }) },
          { header: 'SIZE', value: (r) => humanSize(r.size) },
        ],
        rows,
      });
    });
    return 0;
  },
};

// ---- history

const history: Verb = {
  usage: 'history [OPTIONS] IMAGE',
  summary: 'Show the history of an image',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'human', short: 'H', kind: 'bool', description: 'Print sizes and dates in human readable format (default true)' },
    NO_TRUNC,
    { ...QUIET, description: 'Only show image IDs' },
    FORMAT,
  ],
  async run(ctx, flags, [ref]) {
    const result = await ctx.engine.history({ ref });
    const rows = historyRows(result);
    const noTrunc = bool(flags, 'no-trunc');
    const format = str(flags, 'format');
    if (format && !ctx.json) {
      if (/^table\b/.test(format)) throw new CliError('history --format "table …" is not supported by Layerlab: give a template without "table" (e.g. --format "{{.ID}} {{.CreatedBy}}") or json');
      const human = flags.human !== false;
      for (const r of rows) {
        const createdAt = r.created ? new Date(r.created).toISOString().replace(/\.\d+Z$/, 'Z') : '';
        // The fields of docker's history formatter, shaped as it prints them.
        const fields = {
          ID: r.id ? (noTrunc ? r.id : r.id.replace(/^sha256:/, '').slice(0, 12)) : '<missing>',
          CreatedSince: human && r.created ? timeAgo({ time: r.created, now: ctx.now }) : createdAt,
          CreatedAt: createdAt,
          CreatedBy: noTrunc || r.createdBy.length <= 45 ? r.createdBy : `${[...r.createdBy].slice(0, 44).join('')}…`,
          Size: human ? humanSize(r.size) : String(r.size),
          Comment: r.comment,
        };
        ctx.out(`${format === 'json' ? goJson(fields) : renderTemplate(format, fields)}\n`);
      }
      return 0;
    }
    ctx.print(rows, () => {
      if (bool(flags, 'quiet')) return rows.map((r) => `${r.id ? (noTrunc ? r.id : r.id.replace(/^sha256:/, '').slice(0, 12)) : '<missing>'}\n`).join('');
      if (flags.human !== false) return formatHistory({ rows, now: ctx.now, noTrunc });
      return formatTable<(typeof rows)[number]>({
        columns: [
          { header: 'IMAGE', value: (r) => (r.id ? (noTrunc ? r.id : r.id.replace(/^sha256:/, '').slice(0, 12)) : '<missing>') },
          { header: 'CREATED AT', value: (r) => (r.created ? new Date(r.created).toISOString().replace(/\.\d+Z$/, 'Z') : '') },
          { header: 'CREATED BY', value: (r) => (noTrunc ? r.createdBy : r.createdBy.length > 45 ? `${[...r.createdBy].slice(0, 44).join('')}…` : r.createdBy) },
          { header: 'SIZE', value: (r) => String(r.size) },
          { header: 'COMMENT', value: (r) => r.comment },
        ],
        rows,
      });
    });
    return 0;
  },
};

// ---- inspect (images, containers, or whichever matches)

type InspectKind = 'image' | 'container' | 'volume' | 'any';

async function inspectOne(ctx: Ctx, kind: InspectKind, ref: string): Promise<unknown> {
  const notFound = (error: unknown) => error instanceof NotFoundError;
  if (kind === 'container' || kind === 'any') {
    try {
      return await ctx.engine.inspectContainer({ container: ref });
    } catch (error) {
      if (kind === 'container' || !notFound(error)) throw error;
    }
  }
  if (kind === 'image' || kind === 'any') {
    try {
      return await ctx.engine.inspectImage({ ref });
    } catch (error) {
      if (kind === 'image' || !notFound(error)) throw error;
    }
  }
  if (kind === 'volume' || kind === 'any') {
    try {
      return await ctx.engine.volumeInspect({ name: ref });
    } catch (error) {
      if (kind === 'volume' || !notFound(error)) throw error;
    }
  }
  throw new NotFoundError('image', ref);
}

/** `docker inspect`: a JSON array (4-space indent, Go's escaping), or each object through `--format`. */
export function inspectVerb(kind: InspectKind, usage: string, summary: string): Verb {
  return {
    usage,
    summary,
    args: { min: 1 },
    flags: [
      FORMAT,
      ...(kind === 'any' ? [{ name: 'type', kind: 'string' as const, description: 'Return JSON for specified type' }] : []),
      ...(kind === 'any' || kind === 'container' ? [{ name: 'size', short: 's', kind: 'bool' as const, description: 'Display total file sizes if the type is container' }] : []),
    ],
    async run(ctx, flags, refs) {
      const type = (str(flags, 'type') as InspectKind | undefined) ?? kind;
      const found: unknown[] = [];
      const errors: string[] = [];
      for (const ref of refs) {
        try {
          found.push(await inspectOne(ctx, type, ref));
        } catch (error) {
          if (!(error instanceof NotFoundError)) throw error;
          errors.push(`Error: No such ${type === 'any' ? 'object' : type}: ${ref}`);
        }
      }
      // A container's SizeRw/SizeRootFs are shown with --size only, as Docker does (they cost a walk of the layer).
      if (!bool(flags, 'size')) {
        for (const item of found) {
          if (!item || typeof item !== 'object' || !('SizeRw' in item)) continue;
          delete (item as Record<string, unknown>).SizeRw;
          delete (item as Record<string, unknown>).SizeRootFs;
        }
      }
      const format = str(flags, 'format');
      if (format && !ctx.json) {
        for (const item of found) ctx.out(`${format === 'json' ? goJson(item) : renderTemplate(format, item)}\n`);
      } else {
        ctx.out(`${goJson(found, 4)}\n`);
      }
      for (const e of errors) ctx.err(`${e}\n`);
      return errors.length ? 1 : 0;
    },
  };
}

// ---- tag, rmi

const tag: Verb = {
  usage: 'tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  args: { min: 2, max: 2 },
  flags: [],
  async run(ctx, _flags, [source, target]) {
    await ctx.engine.tag({ source, target });
    if (ctx.json) ctx.out(`${JSON.stringify({ source, target })}\n`);
    return 0;
  },
};

const rmi: Verb = {
  usage: 'rmi [OPTIONS] IMAGE [IMAGE...]',
  summary: 'Remove one or more images',
  args: { min: 1 },
  flags: [
    { name: 'force', short: 'f', kind: 'bool', description: 'Force removal of the image' },
    { name: 'no-prune', kind: 'bool', description: 'Do not delete untagged parents (Layerlab never deletes parents: an image here keeps only its layers)' },
  ],
  async run(ctx, flags, refs) {
    let code = 0;
    const all: unknown[] = [];
    for (const ref of refs) {
      try {
        const results = await ctx.engine.rmi({ ref, force: bool(flags, 'force') });
        all.push(...results);
        if (!ctx.json) for (const r of results) ctx.out('untagged' in r ? `Untagged: ${r.untagged}\n` : `Deleted: ${r.deleted}\n`);
      } catch (error) {
        ctx.err(`${daemonMessage(error)}\n`);
        code = 1;
      }
    }
    if (ctx.json) ctx.out(`${JSON.stringify(all, null, 2)}\n`);
    return code;
  },
};

// ---- save, load

const save: Verb = {
  usage: 'save [OPTIONS] IMAGE [IMAGE...]',
  summary: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  args: { min: 1 },
  flags: [
    { name: 'output', short: 'o', kind: 'string', description: 'Write to a file, instead of STDOUT' },
    { name: 'format', kind: 'string', description: 'Archive format: "docker" (docker-archive) or "oci" (OCI image layout). Layerlab only' },
  ],
  async run(ctx, flags, refs) {
    const output = str(flags, 'output');
    if (!output) {
      throw new CliError('cowardly refusing to save to a terminal. Use the -o flag or redirect\nLayerlab: the docker client here cannot stream an archive to STDOUT; use -o FILE.');
    }
    if (!ctx.options.writeFile) throw new CliError('Error: this Layerlab terminal cannot write files (no writeFile); save is not available here.');
    const format = str(flags, 'format');
    if (format && format !== 'docker' && format !== 'oci') throw new CliError(`invalid format "${format}": use "docker" or "oci"`);
    const data = await ctx.engine.save({ refs, format: format as 'docker' | 'oci' | undefined });
    await ctx.options.writeFile(output, data);
    if (ctx.json) ctx.out(`${JSON.stringify({ output, bytes: data.length })}\n`);
    return 0;
  },
};

const load: Verb = {
  usage: 'load [OPTIONS]',
  summary: 'Load an image from a tar archive or STDIN',
  args: { max: 0 },
  flags: [
    { name: 'input', short: 'i', kind: 'string', description: 'Read from tar archive file, instead of STDIN' },
    { ...QUIET, description: 'Suppress the load output' },
  ],
  async run(ctx, flags) {
    const input = str(flags, 'input');
    if (!input) throw new CliError('requested load from stdin, but stdin is empty\nLayerlab: use -i FILE.');
    if (!ctx.options.readFile) throw new CliError('Error: this Layerlab terminal cannot read files (no readFile); load is not available here.');
    let data: Uint8Array;
    try {
      data = await ctx.options.readFile(input);
    } catch {
      throw new CliError(`open ${input}: no such file or directory`);
    }
    const result = await ctx.engine.load({ data });
    ctx.print(result, () => {
      let text = result.warnings.map((w) => `${w}\n`).join('');
      for (const image of result.images) {
        text += image.tags.length ? image.tags.map((t) => `Loaded image: ${t}\n`).join('') : `Loaded image ID: ${image.id}\n`;
      }
      return text;
    });
    return 0;
  },
};

// ---- image prune

const imagePrune: Verb = {
  usage: 'image prune [OPTIONS]',
  summary: 'Remove unused images',
  args: { max: 0 },
  flags: [
    { ...ALL, description: 'Remove all unused images, not just dangling ones' },
    { name: 'force', short: 'f', kind: 'bool', description: 'Do not prompt for confirmation' },
  ],
  async run(ctx, flags) {
    const all = bool(flags, 'all');
    const warning = all ? 'This will remove all images without at least one container associated to them.' : 'This will remove all dangling images.';
    if (!confirm(ctx, warning, bool(flags, 'force') || ctx.json)) return 1;
    const result = await ctx.engine.pruneImages({ all });
    ctx.print(result, () => pruneText('Images', result.deleted.map((id) => `deleted: ${id}`), result.reclaimed));
    return 0;
  },
};

export function pruneText(what: string, lines: string[], reclaimed: number): string {
  const head = lines.length ? `Deleted ${what}:\n${lines.map((l) => `${l}\n`).join('')}\n` : '';
  // go-units HumanSize (4 significant digits), as the docker CLI prints it.
  return `${head}Total reclaimed space: ${humanSize(reclaimed, 4)}\n`;
}

export const imageVerbs = {
  build,
  images,
  history,
  inspectImage: inspectVerb('image', 'image inspect [OPTIONS] IMAGE [IMAGE...]', 'Display detailed information on one or more images'),
  inspectContainer: inspectVerb('container', 'container inspect [OPTIONS] CONTAINER [CONTAINER...]', 'Display detailed information on one or more containers'),
  inspect: inspectVerb('any', 'inspect [OPTIONS] NAME|ID [NAME|ID...]', 'Return low-level information on Docker objects'),
  tag,
  rmi,
  save,
  load,
  imagePrune,
};

