/** Volume verbs and `system df`, `version`, `info`. */
import { containerStatus, ellipsis, formatTable, humanSize, timeAgo } from './format.ts';
import { commandLine } from './containers.ts';
import { pruneText } from './images.ts';
import { bool, confirm, eachTarget, inspectEach, type Verb } from './shared.ts';

export const LAYERLAB_VERSION = '0.1.0';
/** The Docker Engine API version whose output formats the CLI follows. */
const API_VERSION = '1.43';

// ---- volumes

const volumeCreate: Verb = {
  usage: 'volume create [OPTIONS] [VOLUME]',
  summary: 'Create a volume',
  args: { max: 1 },
  flags: [],
  async run(ctx, _flags, [name]) {
    const result = await ctx.engine.volumeCreate(name ? { name } : {});
    ctx.print(result, () => `${result.name}\n`);
    return 0;
  },
};

const volumeLs: Verb = {
  usage: 'volume ls [OPTIONS]',
  summary: 'List volumes',
  args: { max: 0 },
  flags: [{ name: 'quiet', short: 'q', kind: 'bool', description: 'Only display volume names' }],
  async run(ctx, flags) {
    const volumes = (await ctx.engine.volumes()).sort((a, b) => (a.name < b.name ? -1 : 1));
    ctx.print(volumes, () =>
      bool(flags, 'quiet')
        ? volumes.map((v) => `${v.name}\n`).join('')
        : formatTable({ columns: [{ header: 'DRIVER', value: () => 'local' }, { header: 'VOLUME NAME', value: (v) => v.name }], rows: volumes }),
    );
    return 0;
  },
};

const volumeRm: Verb = {
  usage: 'volume rm [OPTIONS] VOLUME [VOLUME...]',
  summary: 'Remove one or more volumes',
  args: { min: 1 },
  flags: [{ name: 'force', short: 'f', kind: 'bool', description: 'Force the removal of one or more volumes' }],
  async run(ctx, flags, names) {
    return eachTarget(ctx, names, async (name) => (await ctx.engine.volumeRm({ name, force: bool(flags, 'force') }), name));
  },
};

const volumeInspect: Verb = {
  usage: 'volume inspect [OPTIONS] VOLUME [VOLUME...]',
  summary: 'Display detailed information on one or more volumes',
  args: { min: 1 },
  flags: [],
  run: (ctx, _flags, names) => inspectEach(ctx, names, (name) => ctx.engine.volumeInspect({ name }), (name) => `Error: No such volume: ${name}`),
};

/** Removes the volumes no container uses. Layerlab volumes are all named, and Docker (23+) prunes named ones only with -a. */
const volumePrune: Verb = {
  usage: 'volume prune [OPTIONS]',
  summary: 'Remove unused local volumes',
  args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', kind: 'bool', description: 'Remove all unused volumes, not just anonymous ones' },
    { name: 'force', short: 'f', kind: 'bool', description: 'Do not prompt for confirmation' },
  ],
  async run(ctx, flags) {
    const all = bool(flags, 'all');
    const warning = all ? 'This will remove all local volumes not used by at least one container.' : 'This will remove anonymous local volumes not used by at least one container.';
    if (!confirm(ctx, warning, bool(flags, 'force') || ctx.json)) return 1;
    const deleted: string[] = [];
    if (all) {
      const used = new Set((await ctx.engine.ps({ all: true })).flatMap((c) => c.mounts.map((m) => m.name)));
      for (const v of await ctx.engine.volumes()) {
        if (used.has(v.name)) continue;
        await ctx.engine.volumeRm({ name: v.name });
        deleted.push(v.name);
      }
    }
    ctx.print({ deleted }, () => pruneText('Volumes', deleted, 0));
    return 0;
  },
};

// ---- system df, version, info

const df: Verb = {
  usage: 'system df [OPTIONS]',
  summary: 'Show docker disk usage',
  args: { max: 0 },
  flags: [{ name: 'verbose', short: 'v', kind: 'bool', description: 'Show detailed information on space usage' }],
  async run(ctx, flags) {
    const [images, containers, volumes, buildCache] = await Promise.all([
      ctx.engine.images({ all: true }),
      ctx.engine.ps({ all: true, size: true }),
      ctx.engine.volumes({ size: true }),
      ctx.engine.buildCache(),
    ]);
    // Layers shared between images count once, as in Docker.
    const layerSize = new Map<string, number>();
    const layerUsers = new Map<string, number>();
    const imageLayers = new Map<string, string[]>();
    const unusedLayers = new Set<string>();
    const usedImages = new Set(containers.map((c) => c.imageId));
    const usedLayers = new Set<string>();
    for (const image of images) {
      const { layers } = await ctx.engine.imageLayers({ ref: image.id });
      imageLayers.set(image.id, layers.map((l) => l.diffID));
      for (const l of layers) {
        layerSize.set(l.diffID, l.size);
        layerUsers.set(l.diffID, (layerUsers.get(l.diffID) ?? 0) + 1);
        (usedImages.has(image.id) ? usedLayers : unusedLayers).add(l.diffID);
      }
    }
    const sum = (ids: Iterable<string>) => [...ids].reduce((s, id) => s + (layerSize.get(id) ?? 0), 0);
    const imagesSize = sum(layerSize.keys());
    const imagesReclaimable = sum([...unusedLayers].filter((id) => !usedLayers.has(id)));
    // Docker counts running and paused containers as active.
    const active = (c: (typeof containers)[number]) => c.state === 'running' || c.state === 'paused';
    const containersSize = containers.reduce((s, c) => s + c.sizeRw, 0);
    const containersReclaimable = containers.filter((c) => !active(c)).reduce((s, c) => s + c.sizeRw, 0);
    const usedVolumes = new Set(containers.flatMap((c) => c.mounts.map((m) => m.name)));
    // go-units HumanSize (4 significant digits), as `docker system df` prints sizes.
    const size = (bytes: number) => humanSize(bytes, 4);
    const volumesSize = volumes.reduce((s, v) => s + (v.size ?? 0), 0);
    const volumesReclaimable = volumes.filter((v) => !usedVolumes.has(v.name)).reduce((s, v) => s + (v.size ?? 0), 0);
    // The build cache outside images: RUN --mount=type=cache directories, none in use between builds.
    const buildCacheSize = buildCache.reduce((s, c) => s + c.size, 0);
    const reclaim = (part: number, total: number) => (total > 0 ? `${size(part)} (${Math.floor((100 * part) / total)}%)` : size(part));
    if (bool(flags, 'verbose')) {
      const sharedSize = (id: string) => (imageLayers.get(id) ?? []).filter((l) => (layerUsers.get(l) ?? 0) > 1).reduce((s, l) => s + (layerSize.get(l) ?? 0), 0);
      const imageRows = images.flatMap((image) => {
        const tags = image.repoTags.length ? image.repoTags : ['<none>:<none>'];
        return tags.map((repoTag) => {
          const colon = repoTag.lastIndexOf(':');
          const shared = sharedSize(image.id);
          return { repository: repoTag.slice(0, colon), tag: repoTag.slice(colon + 1), id: image.id, created: image.created, size: image.size, shared, unique: image.size - shared, containers: containers.filter((c) => c.imageId === image.id).length };
        });
      });
      const verbose = { images: imageRows, containers, volumes, buildCache };
      ctx.print(verbose, () =>
        [
          'Images space usage:\n\n',
          formatTable({
            columns: [
              { header: 'REPOSITORY', value: (r: (typeof imageRows)[number]) => r.repository },
              { header: 'TAG', value: (r) => r.tag },
              { header: 'IMAGE ID', value: (r) => r.id.replace(/^sha256:/, '').slice(0, 12) },
              { header: 'CREATED', value: (r) => timeAgo({ time: r.created, now: ctx.now }) },
              { header: 'SIZE', value: (r) => size(r.size) },
              { header: 'SHARED SIZE', value: (r) => size(r.shared) },
              { header: 'UNIQUE SIZE', value: (r) => size(r.unique) },
              { header: 'CONTAINERS', value: (r) => String(r.containers) },
            ],
            rows: imageRows,
          }),
          '\nContainers space usage:\n\n',
          formatTable({
            columns: [
              { header: 'CONTAINER ID', value: (c: (typeof containers)[number]) => c.id.slice(0, 12) },
              { header: 'IMAGE', value: (c) => c.image },
              { header: 'COMMAND', value: (c) => JSON.stringify(ellipsis(commandLine(c.command), 20)) },
              { header: 'LOCAL VOLUMES', value: (c) => String(c.mounts.filter((m) => m.type === 'volume').length) },
              { header: 'SIZE', value: (c) => size(c.sizeRw) },
              { header: 'CREATED', value: (c) => timeAgo({ time: c.created, now: ctx.now }) },
              { header: 'STATUS', value: (c) => containerStatus({ ...c, now: ctx.now }) },
              { header: 'NAMES', value: (c) => c.name },
            ],
            rows: containers,
          }),
          '\nLocal Volumes space usage:\n\n',
          formatTable({
            columns: [
              { header: 'VOLUME NAME', value: (v: (typeof volumes)[number]) => v.name },
              { header: 'LINKS', value: (v) => String(containers.filter((c) => c.mounts.some((m) => m.name === v.name)).length) },
              { header: 'SIZE', value: (v) => size(v.size ?? 0) },
            ],
            rows: volumes,
          }),
          `\nBuild cache usage: ${size(buildCacheSize)}\n\n`,
          formatTable({
            columns: [
              { header: 'CACHE ID', value: (c: (typeof buildCache)[number]) => c.id.slice(0, 12) },
              { header: 'CACHE TYPE', value: () => 'exec.cachemount' },
              { header: 'SIZE', value: (c) => size(c.size) },
              { header: 'SHARED', value: () => 'false' },
              { header: 'DESCRIPTION', value: (c) => `cached mount ${c.cacheId}` },
            ],
            rows: buildCache,
          }),
        ].join(''),
      );
      return 0;
    }
    const rows = [
      { type: 'Images', total: images.length, active: images.filter((i) => usedImages.has(i.id)).length, size: imagesSize, reclaimable: reclaim(imagesReclaimable, imagesSize) },
      { type: 'Containers', total: containers.length, active: containers.filter(active).length, size: containersSize, reclaimable: reclaim(containersReclaimable, containersSize) },
      { type: 'Local Volumes', total: volumes.length, active: volumes.filter((v) => usedVolumes.has(v.name)).length, size: volumesSize, reclaimable: reclaim(volumesReclaimable, volumesSize) },
      { type: 'Build Cache', total: buildCache.length, active: 0, size: buildCacheSize, reclaimable: size(buildCacheSize) },
    ];
    ctx.print(rows, () =>
      formatTable({
        columns: [
          { header: 'TYPE', value: (r) => r.type },
          { header: 'TOTAL', value: (r) => String(r.total) },
          { header: 'ACTIVE', value: (r) => String(r.active) },
          { header: 'SIZE', value: (r) => size(r.size) },
          { header: 'RECLAIMABLE', value: (r) => r.reclaimable },
        ],
        rows,
      }),
    );
    return 0;
  },
};

// ---- builder prune

const builderPrune: Verb = {
  usage: 'builder prune',
  summary: 'Remove build cache',
  args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', kind: 'bool', description: 'Remove all unused build cache, not just dangling ones' },
    { name: 'force', short: 'f', kind: 'bool', description: 'Do not prompt for confirmation' },
  ],
  async run(ctx, flags) {
    const warning = bool(flags, 'all') ? 'This will remove all build cache.' : 'This will remove all dangling build cache.';
    if (!confirm(ctx, warning, bool(flags, 'force') || ctx.json)) return 1;
    // The layer cache lives in the images (`docker image prune` removes it with them); what is left is the
    // RUN --mount=type=cache directories, which no image refers to: both forms remove them.
    const result = await ctx.engine.pruneBuildCache();
    ctx.print(result, () => pruneText('build cache objects', result.deleted, result.reclaimed));
    return 0;
  },
};

const version: Verb = {
  usage: 'version [OPTIONS]',
  summary: 'Show the Docker version information',
  args: { max: 0 },
  flags: [],
  async run(ctx) {
    const info = (await ctx.engine.info?.().catch(() => undefined)) ?? {};
    const arch = info.architecture === 'x86_64' ? 'amd64' : '386';
    const data = {
      Client: { Version: LAYERLAB_VERSION, ApiVersion: API_VERSION, Os: 'linux', Arch: arch, Platform: { Name: 'Layerlab docker client' } },
      Server: {
        Platform: { Name: 'Layerlab engine (TypeScript, in your browser)' },
        Version: info.engineVersion ?? LAYERLAB_VERSION,
        ApiVersion: API_VERSION,
        Os: 'linux',
        Arch: arch,
        KernelVersion: info.kernelVersion ?? 'unknown',
        Components: [{ Name: 'crun', Version: info.runtimeVersion ?? 'unknown' }],
      },
    };
    ctx.print(data, () =>
      [
        'Client: Layerlab docker client',
        ` Version:           ${LAYERLAB_VERSION}`,
        ` API version:       ${API_VERSION}`,
        ` OS/Arch:           linux/${arch}`,
        '',
        `Server: ${data.Server.Platform.Name}`,
        ' Engine:',
        `  Version:          ${data.Server.Version}`,
        `  API version:      ${API_VERSION}`,
        `  OS/Arch:          linux/${arch}`,
        `  Kernel:           ${data.Server.KernelVersion}`,
        ' crun:',
        `  Version:          ${data.Server.Components[0].Version}`,
        '',
      ].join('\n'),
    );
    return 0;
  },
};

const info: Verb = {
  usage: 'info [OPTIONS]',
  summary: 'Display system-wide information',
  args: { max: 0 },
  flags: [],
  async run(ctx) {
    const [machine, images, containers] = await Promise.all([ctx.engine.info?.().catch(() => undefined), ctx.engine.images(), ctx.engine.ps({ all: true })]);
    const m = machine ?? {};
    const running = containers.filter((c) => c.state === 'running').length;
    const paused = containers.filter((c) => c.state === 'paused').length;
    const data = {
      Containers: containers.length,
      ContainersRunning: running,
      ContainersPaused: paused,
      ContainersStopped: containers.length - running - paused,
      Images: images.length,
      ServerVersion: `Layerlab engine ${m.engineVersion ?? LAYERLAB_VERSION}`,
      Driver: 'overlay2',
      CgroupVersion: '2',
      DefaultRuntime: 'crun',
      KernelVersion: m.kernelVersion ?? 'unknown',
      OperatingSystem: m.operatingSystem ?? 'Layerlab VM (v86, busybox userland)',
      OSType: 'linux',
      Architecture: m.architecture ?? 'i686',
      NCPU: m.cpus ?? 1,
      MemTotal: m.memTotal ?? 0,
    };
    ctx.print(data, () =>
      [
        'Client: Layerlab docker client',
        ` Version:    ${LAYERLAB_VERSION}`,
        '',
        'Server:',
        ` Containers: ${data.Containers}`,
        `  Running: ${data.ContainersRunning}`,
        `  Paused: ${data.ContainersPaused}`,
        `  Stopped: ${data.ContainersStopped}`,
        ` Images: ${data.Images}`,
        ` Server Version: ${data.ServerVersion}`,
        ` Storage Driver: overlay2`,
        ` Cgroup Version: 2`,
        ` Runtimes: crun`,
        ` Default Runtime: crun`,
        ` Kernel Version: ${data.KernelVersion}`,
        ` Operating System: ${data.OperatingSystem}`,
        ` OSType: linux`,
        ` Architecture: ${data.Architecture}`,
        ` CPUs: ${data.NCPU}`,
        ` Total Memory: ${data.MemTotal ? `${(data.MemTotal / 1024 ** 2).toFixed(1)}MiB` : 'unknown'}`,
        ` Network: none (Layerlab has no network: images come from the bundled set or docker build)`,
        '',
      ].join('\n'),
    );
    return 0;
  },
};

export const systemVerbs = { volumeCreate, volumeLs, volumeRm, volumeInspect, volumePrune, df, builderPrune, version, info };
