/**
 * The Dockerfile executor: runs a BuildPlan (dockerfile/plan.ts) against the image store and the VM, with
 * Docker's layer semantics: one layer per RUN/COPY/ADD (and WORKDIR when it creates its directory),
 * config-only steps as history entries, a build cache keyed on the parent chain + instruction + copied
 * files, and nothing stored for a build that fails.
 *
 * RUN steps execute in a temporary container, exactly where the "build creates a container" confusion
 * comes from: an overlay of the parent layers + a fresh upperdir, crun, then the upperdir becomes the new
 * layer. COPY/ADD/WORKDIR layers are written as tars on the host, without the VM.
 */
import type { TransferEvent } from '../registry/progress.ts';
import type { BlobBackend } from '../store/backend.ts';
import type { ImageStore, LayerRecord } from '../store/image-store.ts';
import { GUEST_PATHS, type Guest } from '../guest.ts';
import { shInGuest } from '../guest-spawn.ts';
import { GuestLayers } from '../runtime/guest-layers.ts';
import { runtimeSpec, type RuntimeMount } from '../runtime/spec.ts';
import { SeccompFilters } from '../runtime/seccomp-filters.ts';
import { buildImage } from '../oci/image.ts';
import type { ContainerConfig, HistoryEntry } from '../oci/types.ts';
import { sha256, type Digest } from '../oci/digest.ts';
import { NotFoundError } from '../oci/errors.ts';
import { parseReference } from '../oci/reference.ts';
import { readTar, writeTar, safeArchivePath, type TarWriteEntry } from '../archive/tar.ts';
import { inflate } from '../archive/load.ts';
import { layerTreeFromTar } from '../layers/index.ts';
import { base64ToText, toBase64 } from '../util/base64.ts';
import {
  parseDockerfile,
  planBuild,
  filterContext,
  contextEntryFromTar,
  resolveCopySources,
  computeCacheKey,
  fingerprintItems,
  explainMiss,
  DockerfileError,
  normalizeConfig,
  type BuildPlan,
  type CacheInputs,
  type ContextEntry,
  type RunConfig as PlanConfig,
  type PlannedStage,
  type PlannedRunMount,
  type ParseResult,
  type Step,
} from '../dockerfile/index.ts';
import { LayerFiles } from './layer-files.ts';
import { resolveUser, UserLookupError } from './users.ts';
import { runFailureHint } from './run-hints.ts';
import { BuildError, type BuildEvent, type BuildStepInfo } from './events.ts';

export interface BuildOptions {
  /** The Dockerfile's text. */
  dockerfile: string;
  /** `dockerfile` already parsed by the caller (for its lints, say), so a build parses it once. */
  parsed?: ParseResult;
  /** Its name in messages (default `Dockerfile`). */
  dockerfileName?: string;
  /** The build context: files with paths relative to the context root. */
  context: ContextEntry[];
  /** `-t` values; the image is untagged (dangling) without. */
  tags?: string[];
  buildArgs?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  /**
   * SOURCE_DATE_EPOCH (seconds), as BuildKit honours it: the image's and the history's `created`, and
   * every layer entry's mtime clamped to it, so two builds of the same context give one image ID.
   * Also taken from `--build-arg SOURCE_DATE_EPOCH=…`.
   */
  sourceDateEpoch?: number;
  /**
   * `--secret id=…` values, by id: what `RUN --mount=type=secret` mounts (read-only, on a tmpfs beside
   * the step's layer); never in a layer, the history, the config or the cache key.
   */
  secrets?: Record<string, Uint8Array>;
  signal?: AbortSignal;
  onEvent?: (event: BuildEvent) => void;
}

export interface BuildResult {
  imageId: Digest;
  tags: string[];
  /** The step events in order, for the UI's line decorations. */
  steps: Extract<BuildEvent, { type: 'step-done' }>[];
}

/** A `RUN --mount=type=cache` directory, as `docker system df -v` lists build cache records. */
export interface BuildCacheMount {
  /** Its record id (the directory's name). */
  id: string;
  /** The mount's `id=` (the target by default). */
  cacheId: string;
  size: number;
}

interface CacheRecord {
  /** The layer the step made; null for a config-only step. */
  diffID: Digest | null;
  createdBy: string;
  /** When the step first ran: a cache hit reuses it, so a fully cached rebuild makes the same image (ID). */
  created?: string;
}

/** The filesystem + config of a stage as the build goes. */
interface StageState {
  layers: LayerRecord[];
  history: HistoryEntry[];
  config: PlanConfig;
  /** Cache key of the last step (the "parent" of the next step's key). */
  chain: string;
}


/** The most a RUN step may write: its writable layer has its own tmpfs, of the size containers get. */
export const BUILD_LAYER_LIMIT = 48 * 1024 * 1024;

/** The VM's name resolution files, bind-mounted read-only into RUN steps. */
const RUN_NETWORK_FILES = ['/etc/resolv.conf', '/etc/hosts'];

/** Where `RUN --mount=type=cache` directories live in the guest, one per cache id, across builds. */
export const BUILD_CACHE_DIR = GUEST_PATHS.buildCache;

/** BuildKit refuses secrets over 500 KiB. */
const MAX_SECRET_BYTES = 500 * 1024;

/** A `RUN --mount=type=tmpfs` is as big as the step's writable layer may be. */
const RUN_TMPFS_BYTES = BUILD_LAYER_LIMIT;

let buildCounter = 0;

export type PullBase = (options: { ref: string; signal?: AbortSignal; onProgress: (event: TransferEvent) => void }) => Promise<unknown>;

/** Build-arg leftovers (`${BASE}`) and the like are not references worth asking a registry about. */
function isPullable(ref: string): boolean {
  try {
    parseReference(ref);
    return true;
  } catch {
    return false;
  }
}

export class Builder {
  #store: ImageStore;
  #backend: BlobBackend;
  #guest: Guest;
  #guestLayers: GuestLayers;
  #files: LayerFiles;
  #seccomp: SeccompFilters;
  /** Base images the last build could not pull, and why (reported at their FROM line). */
  #pullFailures = new Map<string, Error>();

  /** Pulls a base image the store lacks (FROM alpine); absent when registries are out of reach. */
  #pullBase?: PullBase;

  constructor(options: { store: ImageStore; backend: BlobBackend; guest: Guest; guestLayers: GuestLayers; layerFiles: LayerFiles; pullBase?: PullBase; seccomp?: SeccompFilters }) {
    // RUN steps start with the filter crun compiled for a container before, when one has (their own are attached
    // runs, over before crun's state could be read).
    this.#seccomp = options.seccomp ?? new SeccompFilters();
    this.#pullBase = options.pullBase;
    this.#store = options.store;
    this.#backend = options.backend;
    this.#guest = options.guest;
    this.#guestLayers = options.guestLayers;
    this.#files = options.layerFiles;
  }

  /** The `RUN --mount=type=cache` directories in the guest: their ids and sizes (`docker system df`). */
  async cacheMounts(): Promise<BuildCacheMount[]> {
    const script = 'cd "$1" 2>/dev/null || exit 0; for d in */; do d=${d%/}; [ -d "$d" ] || continue; printf "%s\\t%s\\t%s\\n" "$d" "$(du -sk "$d" | cut -f1)" "$(cat "$d.id" 2>/dev/null)"; done';
    let listing = '';
    await this.#guest.request('spawn', { argv: ['/bin/sh', '-c', script, 'sh', BUILD_CACHE_DIR] }, { onStream: (stream, data) => { if (stream === 'stdout') listing += new TextDecoder().decode(data); } });
    return listing
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [dir, kib, id] = line.split('\t');
        return { id: dir!, cacheId: id || dir!, size: Number(kib) * 1024 };
      });
  }

  /** `docker builder prune`: empties every cache mount (the layer cache lives in the images and goes with them). */
  async pruneCacheMounts(): Promise<{ deleted: string[]; reclaimed: number }> {
    const mounts = await this.cacheMounts();
    if (mounts.length) await this.#guest.request('rm', { path: BUILD_CACHE_DIR });
    return { deleted: mounts.map((m) => m.id), reclaimed: mounts.reduce((sum, m) => sum + m.size, 0) };
  }

  async build(options: BuildOptions): Promise<BuildResult> {
    const started = performance.now();
    const emit = options.onEvent ?? (() => {});
    try {
      return await this.#build(options, emit, started);
    } catch (error) {
      const failure = toBuildError(error, options.dockerfileName ?? 'Dockerfile');
      emit({ type: 'error', message: failure.message, line: failure.line });
      throw failure;
    }
  }

  async #build(givenOptions: BuildOptions, emit: (event: BuildEvent) => void, started: number): Promise<BuildResult> {
    const options = { ...givenOptions, sourceDateEpoch: sourceDateEpochOf(givenOptions) };
    const parsed = options.parsed ?? parseDockerfile({ text: options.dockerfile });
    if (parsed.errors.length) throw parsed.errors.length === 1 ? parsed.errors[0] : new DockerfileError(parsed.errors[0], parsed.errors);

    // The planner needs base images' configs (Env, WorkingDir) synchronously: look them up first.
    const baseConfigs = new Map<string, PlanConfig>();
    const wanted = new Set<string>();
    planBuild({
      dockerfile: parsed,
      buildArgs: options.buildArgs,
      target: options.target,
      baseImageConfig: (ref) => {
        wanted.add(ref);
        return undefined;
      },
      // COPY --from=<image> names an image too: look it up (or pull it) with the bases.
      isKnownImage: (ref) => {
        wanted.add(ref);
        return true;
      },
    });
    const pullFailures = new Map<string, Error>();
    for (const ref of wanted) {
      let record = await this.#store.resolve({ ref }).catch(() => undefined);
      if (!record && this.#pullBase && isPullable(ref)) {
        try {
          await this.#pullBase({ ref, signal: options.signal, onProgress: (event) => emit({ type: 'pull', ref, event }) });
          record = await this.#store.resolve({ ref });
        } catch (error) {
          if (options.signal?.aborted) throw error;
          pullFailures.set(ref, error as Error);
        }
      }
      if (record) baseConfigs.set(ref, normalizeConfig((await this.#store.getConfig({ id: record.id })).config as Partial<PlanConfig>));
    }
    this.#pullFailures = pullFailures;
    const plan = planBuild({
      dockerfile: parsed,
      buildArgs: options.buildArgs,
      target: options.target,
      baseImageConfig: (ref) => baseConfigs.get(ref),
      isKnownImage: (ref) => baseConfigs.has(ref),
    });

    const infos = stepInfos(plan, parsed);
    emit({ type: 'start', steps: [...infos.values()], warnings: plan.warnings.map((w) => ({ line: w.line, message: w.message })) });
    const context = filterContext({ files: options.context }).files;
    // The last build of the same tag: to explain cache misses, and to link layers to Dockerfile lines.
    const lastBuildKey = `lastbuild/${options.tags?.length ? parseReference(options.tags[0]).full : '<none>'}`;
    const previous = await this.#backend.getMeta<CacheInputs[]>(lastBuildKey);
    const currentInputs: CacheInputs[] = [];
    const stageResults = new Map<number, StageState>();
    const stepResults: BuildResult['steps'] = [];

    for (const stage of plan.stages) {
      const state = await this.#startStage(stage, stageResults, options.signal);
      // Layers made under SOURCE_DATE_EPOCH differ from the same steps' layers without it.
      if (options.sourceDateEpoch !== undefined) state.chain += `@epoch=${options.sourceDateEpoch}`;
      for (const step of stage.steps) {
        options.signal?.throwIfAborted();
        const info = infos.get(step)!;
        emit({ type: 'step-start', step: info });
        const stepStarted = performance.now();
        try {
          const outcome = await this.#step({ step, state, stageResults, context, options, info, emit, inputsOut: currentInputs, previous });
          const done = { type: 'step-done' as const, step: info, ms: performance.now() - stepStarted, ...outcome };
          stepResults.push(done);
          emit(done);
        } catch (error) {
          const failure = toBuildError(error, options.dockerfileName ?? 'Dockerfile', step.lines.start);
          emit({ type: 'step-error', step: info, message: failure.message });
          throw failure;
        }
      }
      stageResults.set(stage.index, state);
    }

    const final = stageResults.get(plan.target)!;
    const image = await buildImage({
      layers: final.layers,
      config: toContainerConfig(final.config),
      history: final.history,
      // As BuildKit's exporter: the image is as old as its newest step (an unchanged rebuild is the same
      // image), or SOURCE_DATE_EPOCH when given.
      created: options.sourceDateEpoch !== undefined ? epochIso(options.sourceDateEpoch) : latestCreated(final.history),
      author: plan.stages.find((s) => s.index === plan.target)?.author,
    });
    const tags = options.tags ?? [];
    await this.#store.putImage({ image, tags });
    await this.#backend.commit({ put: { [lastBuildKey]: finalStageInputs(plan, currentInputs) } });
    const cachedSteps = stepResults.filter((s) => s.cached).length;
    emit({ type: 'done', imageId: image.configDigest, tags, ms: performance.now() - started, cachedSteps, totalSteps: stepResults.length });
    return { imageId: image.configDigest, tags, steps: stepResults };
  }

  async #startStage(stage: PlannedStage, done: Map<number, StageState>, signal?: AbortSignal): Promise<StageState> {
    if (stage.base.kind === 'scratch') return { layers: [], history: [], config: normalizeConfig(undefined), chain: 'scratch' };
    if (stage.base.kind === 'stage') {
      const from = done.get(stage.base.index)!;
      return { layers: [...from.layers], history: [...from.history], config: normalizeConfig(from.config), chain: from.chain };
    }
    signal?.throwIfAborted();
    const ref = stage.base.ref;
    const record = await this.#store.resolve({ ref }).catch((error) => {
      const pullFailure = this.#pullFailures.get(ref);
      if (pullFailure) throw new BuildError(`failed to resolve source metadata for ${ref}: ${pullFailure.message}`, stage.lines.start);
      if (error instanceof NotFoundError) {
        throw new BuildError(
          `${ref}: image not found. Layerlab has no network, so FROM can only use images it already has: busybox, python:3.11, or one you built or loaded (see \`docker images\`)`,
          stage.lines.start,
        );
      }
      throw error;
    });
    const config = await this.#store.getConfig({ id: record.id });
    const layers = await Promise.all(record.layers.map((digest) => this.#store.getLayer({ digest })));
    return {
      layers,
      history: [...(config.history ?? [])],
      config: normalizeConfig(config.config as Partial<PlanConfig>),
      chain: record.id,
    };
  }

  async #step(args: {
    step: Step;
    state: StageState;
    stageResults: Map<number, StageState>;
    context: ContextEntry[];
    options: BuildOptions;
    info: BuildStepInfo;
    emit: (event: BuildEvent) => void;
    inputsOut: CacheInputs[];
    previous: CacheInputs[] | undefined;
  }): Promise<{ cached: boolean; layer?: { diffID: string; size: number; files: number }; missReasons: string[] }> {
    const { step, state, options } = args;
    const diffIDs = () => state.layers.map((layer) => layer.diffID);

    // Work out what the step reads (COPY sources), so the cache key covers their content.
    let copyItems: Awaited<ReturnType<typeof resolveCopySources>> | undefined;
    let fromStage: string | undefined;
    if (step.copy) {
      const origin = step.copy.origin;
      let source: ContextEntry[] = args.context;
      if (origin.kind !== 'context') {
        const stack =
          origin.kind === 'stage'
            ? args.stageResults.get(origin.index)!
            : await this.#startStage({ base: { kind: 'image', ref: origin.ref }, lines: step.lines } as PlannedStage, args.stageResults);
        fromStage = stack.chain;
        source = await this.#stageFilesAsContext(stack.layers.map((l) => l.diffID));
      }
      copyItems = await resolveCopySources({ context: source, copy: { ...step.copy, origin: { kind: 'context' } }, line: step.lines.start });
    }
    const files = copyItems ? await fingerprintItems(copyItems.items) : [];
    // A RUN reads what it bind-mounts: the context files under the source, or the stage or image it names.
    for (const mount of step.run?.mounts ?? []) {
      if (mount.type !== 'bind') continue;
      if (mount.origin.kind === 'context') files.push(...(await fingerprintItems(contextUnder(args.context, mount.source).map((entry) => ({ entry, source: entry.path, target: `${mount.target}:${entry.path}` })))));
      else fromStage = `${fromStage ?? ''}${fromStage ? '+' : ''}${mount.origin.kind === 'stage' ? args.stageResults.get(mount.origin.index)?.chain : mount.origin.ref}`;
    }
    const key = await computeCacheKey({ step, parent: state.chain, files, fromStage });
    args.inputsOut.push(key.inputs);
    const previousInputs = args.previous?.find((inputs) => inputs.lines.start === step.lines.start) ?? args.previous?.[args.inputsOut.length - 1];
    const missReasons = () => explainMiss({ previous: previousInputs, current: key.inputs }).map((reason) => reason.message);

    const cached = options.noCache ? undefined : await this.#backend.getMeta<CacheRecord>(`cache/${key.key}`);
    if (cached) {
      const layer = cached.diffID ? await this.#store.getLayer({ diffID: cached.diffID }).catch(() => undefined) : null;
      if (layer !== undefined) {
        this.#apply(state, step, cached.createdBy, layer, key.key, options.sourceDateEpoch !== undefined ? epochIso(options.sourceDateEpoch) : cached.created);
        return { cached: true, missReasons: [], ...(layer ? { layer: await this.#layerSummary(layer) } : {}) };
      }
    }

    let tar: Uint8Array | null = null;
    const createdBy = step.createdBy;
    if (step.run) {
      tar = await this.#run(step, state, args.info, args.emit, options, { context: args.context, stageResults: args.stageResults });
    } else if (step.copy && copyItems) {
      tar = await this.#copyLayer(step, copyItems, diffIDs(), fileTimes(options.sourceDateEpoch));
    } else if (step.workdir) {
      // As an overlay diff: the new directories and the existing parents they changed; nothing when it exists.
      const merged = await this.#files.merged(diffIDs());
      tar = await writeTar(merged.has(step.workdir) ? [] : missingDirs(step.workdir, merged, fileTimes(options.sourceDateEpoch), true));
    }

    let layer: LayerRecord | null = null;
    if (tar) {
      layer = await this.#store.addLayer({ tar, validate: false });
      this.#files.remember(layer.diffID, layerTreeFromTar(await readTar(tar)));
    }
    const created = options.sourceDateEpoch !== undefined ? epochIso(options.sourceDateEpoch) : new Date().toISOString();
    await this.#backend.commit({ put: { [`cache/${key.key}`]: { diffID: layer?.diffID ?? null, createdBy, created } satisfies CacheRecord } });
    this.#apply(state, step, createdBy, layer, key.key, created);
    return { cached: false, missReasons: missReasons(), ...(layer ? { layer: await this.#layerSummary(layer) } : {}) };
  }

  #apply(state: StageState, step: Step, createdBy: string, layer: LayerRecord | null, key: string, created = new Date().toISOString()): void {
    if (layer) state.layers.push(layer);
    if (step.history !== false) state.history.push({ created, created_by: createdBy, ...(layer ? {} : { empty_layer: true }), comment: 'buildkit.dockerfile.v0' });
    state.config = step.config;
    state.chain = key;
  }

  async #layerSummary(layer: LayerRecord) {
    const tree = await this.#files.tree(layer.diffID);
    // Content bytes, as `docker history` counts a layer's SIZE (not the tar's headers and padding).
    let size = 0;
    for (const node of tree.entries.values()) size += node.size;
    return { diffID: layer.diffID, size, files: tree.entries.size + tree.whiteouts.size };
  }

  /**
   * The runtime creates empty files in the upper dir to bind-mount RUN_NETWORK_FILES over when the image
   * has none; those belong to the build's network, not to the layer (Docker leaves them out too). So do the
   * files and directories it creates for `--mount` targets (`stubs`, deepest first), which BuildKit (since
   * v0.10) removes too: an empty stub goes, one the RUN put something in stays.
   */
  async #dropMountpointStubs(upper: string, stubs: string[]): Promise<void> {
    const script = [
      'u=$1; shift; n=$1; shift',
      'while [ "$n" -gt 0 ]; do f=$u$1; shift; n=$((n-1)); [ -f "$f" ] && [ ! -s "$f" ] && rm -f "$f"; done',
      'for p in "$@"; do f=$u$p; if [ -d "$f" ] && [ ! -L "$f" ]; then rmdir "$f" 2>/dev/null; elif [ -f "$f" ] && [ ! -s "$f" ]; then rm -f "$f"; fi; done',
      'exit 0',
    ].join('\n');
    await this.#guest.request('spawn', { argv: ['/bin/sh', '-c', script, 'sh', upper, String(RUN_NETWORK_FILES.length), ...RUN_NETWORK_FILES, ...stubs] });
  }

  /** The mount targets (and their parents) that do not exist in `rootfs`: the runtime will create them. */
  async #missingPaths(rootfs: string, targets: string[]): Promise<string[]> {
    if (!targets.length) return [];
    const script = 'r=$1; shift; for t in "$@"; do p=$t; while [ "$p" != / ] && [ ! -e "$r$p" ] && [ ! -L "$r$p" ]; do echo "$p"; p=$(dirname "$p"); done; done';
    let listing = '';
    await this.#guest.request('spawn', { argv: ['/bin/sh', '-c', script, 'sh', rootfs, ...targets] }, { onStream: (stream, data) => { if (stream === 'stdout') listing += new TextDecoder().decode(data); } });
    // Deepest first, so a directory is empty by the time it is looked at.
    return [...new Set(listing.split('\n').filter(Boolean))].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? 1 : -1));
  }

  /** `sh -c script` in the guest; fails with its stderr. */
  #sh(what: string, script: string, ...args: string[]): Promise<void> {
    return shInGuest(this.#guest, what, script, ...args);
  }

  /**
   * The runtime mounts for a RUN's `--mount` flags, prepared in the guest: cache directories (kept across
   * builds under BUILD_CACHE_DIR), secrets and context files (in the step's own folder, removed with it),
   * stages and images (an overlay of their layers with a throwaway writable layer: `rw` writes vanish).
   */
  async #prepareMounts(
    id: string,
    dir: string,
    mounts: PlannedRunMount[],
    env: string[],
    from: { context: ContextEntry[]; stageResults: Map<number, StageState>; secrets: Record<string, Uint8Array>; line: number; signal?: AbortSignal },
    cleanups: (() => Promise<void>)[],
  ): Promise<RuntimeMount[]> {
    const result: RuntimeMount[] = [];
    let n = 0;
    for (const mount of mounts) {
      n++;
      if (mount.type === 'tmpfs') {
        result.push({ type: 'tmpfs', destination: mount.target, options: ['nosuid', 'nodev', `size=${RUN_TMPFS_BYTES}`, 'mode=1777'] });
        continue;
      }
      if (mount.type === 'secret') {
        const data = from.secrets[mount.id!];
        if (!data) {
          if (mount.required) throw new BuildError(`secret ${mount.id} not found: not found`, from.line, `Pass it with docker build --secret id=${mount.id},src=<file>`);
          continue; // an optional secret that was not given: no file (as BuildKit)
        }
        if (data.length > MAX_SECRET_BYTES) throw new BuildError(`secret ${mount.id} is larger than 500 KiB`, from.line);
        const file = `${dir}/secrets/${n}`;
        await this.#guest.request('write', { path: file, data: toBase64(data), mode: mount.mode ?? 0o400 });
        await this.#sh(`could not prepare secret ${mount.id}`, 'chown "$2:$3" "$1" && chmod "$4" "$1"', file, String(mount.uid ?? 0), String(mount.gid ?? 0), (mount.mode ?? 0o400).toString(8));
        result.push({ source: file, destination: mount.target, readonly: true });
        if (mount.env) env.push(`${mount.env}=${new TextDecoder().decode(data)}`);
        continue;
      }
      if (mount.type === 'cache') {
        // One directory per id; `sharing` (shared/private/locked) is moot here: this engine runs one RUN at a time.
        // As in BuildKit, an owner, mode or seed (`from`) makes the cache a different one from the plain id's.
        const base = [mount.uid, mount.gid, mount.mode, mount.from, mount.source].some((v) => v !== undefined) ? `\0${JSON.stringify([mount.uid, mount.gid, mount.mode, mount.from, mount.source])}` : '';
        const cacheDir = `${BUILD_CACHE_DIR}/${(await sha256(new TextEncoder().encode(mount.id! + base))).slice(7, 32)}`;
        let seed = '';
        if (mount.from !== undefined) seed = await this.#mountSource(`${id}-m${n}`, mount, from, cleanups);
        await this.#sh(
          `could not prepare cache ${mount.id}`,
          '[ -d "$1" ] && exit 0; mkdir -p "$1" && chown "$2:$3" "$1" && chmod "$4" "$1" && printf %s "$6" > "$1.id" && if [ -n "$5" ]; then cp -a "$5/." "$1/"; fi',
          cacheDir, String(mount.uid ?? 0), String(mount.gid ?? 0), (mount.mode ?? 0o755).toString(8), seed, mount.id!,
        );
        result.push({ source: cacheDir, destination: mount.target, readonly: mount.readonly });
        continue;
      }
      // bind
      if (mount.origin.kind === 'context') {
        const entries = contextUnder(from.context, mount.source);
        if (!entries.length && mount.source && mount.source.replace(/^\/+|\/+$/g, '') !== '' && mount.source !== '.') {
          throw new BuildError(`"/${mount.source.replace(/^\/+/, '')}" not found: not found`, from.line);
        }
        const copyDir = `${dir}/bind-${n}`;
        const prefix = contextPrefix(mount.source);
        const single = entries.length === 1 && entries[0]!.path.replace(/^\.?\//, '') === prefix.replace(/\/$/, '') && (entries[0]!.mode & 0o170000) !== 0o040000;
        const tarEntries: TarWriteEntry[] = entries.map((entry) => {
          const rel = single ? 'file' : entry.path.replace(/^\.?\//, '').slice(prefix.length);
          const type: 'directory' | 'symlink' | 'file' = (entry.mode & 0o170000) === 0o040000 ? 'directory' : (entry.mode & 0o170000) === 0o120000 ? 'symlink' : 'file';
          return { name: rel, type, mode: entry.mode & 0o7777, uid: 0, gid: 0, mtime: entry.mtime ?? 0, ...(type === 'symlink' ? { linkname: new TextDecoder().decode(entry.data) } : type === 'file' ? { data: entry.data } : {}) };
        }).filter((entry) => entry.name !== '');
        const transfer = `bind-${id}-${n}.tar`;
        await this.#guest.putFile(transfer, await writeTar(tarEntries));
        try {
          await this.#guest.request('unpack', { tar: `${GUEST_PATHS.share}/${transfer}`, dest: copyDir }, { timeoutMs: 300_000, signal: from.signal });
        } finally {
          await this.#guest.request('rm', { path: `${GUEST_PATHS.share}/${transfer}` }).catch(() => {});
        }
        result.push({ source: single ? `${copyDir}/file` : copyDir, destination: mount.target, readonly: mount.readonly });
        continue;
      }
      result.push({ source: await this.#mountSource(`${id}-m${n}`, mount, from, cleanups), destination: mount.target, readonly: mount.readonly });
    }
    return result;
  }

  /** A stage's or image's files as a guest path (its `source` inside an overlay of its layers). */
  async #mountSource(
    id: string,
    mount: PlannedRunMount,
    from: { stageResults: Map<number, StageState>; line: number; signal?: AbortSignal },
    cleanups: (() => Promise<void>)[],
  ): Promise<string> {
    const origin = mount.origin;
    if (origin.kind === 'context') throw new BuildError('a cache mount seeds only from a stage or an image (from=)', from.line);
    const stack =
      origin.kind === 'stage' ? from.stageResults.get(origin.index)! : await this.#startStage({ base: { kind: 'image', ref: origin.ref }, lines: { start: from.line, end: from.line } } as PlannedStage, from.stageResults, from.signal);
    const mounted = await this.#guestLayers.mount(id, stack.layers.map((l) => l.diffID), from.signal);
    cleanups.push(() => this.#guestLayers.remove(id));
    const source = `/${(mount.source ?? '').replace(/^\/+/, '')}`.replace(/\/+$/, '');
    const path = `${mounted.rootfs}${source}`;
    const { exit } = await this.#guest.request('spawn', { argv: ['/bin/sh', '-c', '[ -e "$1" ]', 'sh', path] });
    if (exit !== 0) throw new BuildError(`"${source || '/'}" not found: not found`, from.line);
    return path;
  }

  /** RUN: a temporary container over the parent layers (on its own tmpfs); its upperdir becomes the layer. */
  async #run(
    step: Step,
    state: StageState,
    info: BuildStepInfo,
    emit: (event: BuildEvent) => void,
    options: BuildOptions,
    sources: { context: ContextEntry[]; stageResults: Map<number, StageState> },
  ): Promise<Uint8Array> {
    const { signal, sourceDateEpoch } = options;
    const run = step.run!;
    const id = `build-${Date.now().toString(36)}-${buildCounter++}`;
    // The step's writable layer gets its own tmpfs, as containers' do: a RUN that fills the disk fails
    // with "No space left on device" instead of filling the VM's memory.
    await this.#guestLayers.limitSize(id, BUILD_LAYER_LIMIT);
    const mounted = await this.#guestLayers.mount(id, state.layers.map((l) => l.diffID), signal);
    const started = performance.now();
    this.#guest.takeNetworkNotes?.(); // only this step's refusals are its business
    const cleanups: (() => Promise<void>)[] = [];
    try {
      const ids = await this.#user(run.user, mounted.rootfs);
      const env = [...run.env];
      const runMounts = await this.#prepareMounts(id, mounted.dir, run.mounts, env, { ...sources, secrets: options.secrets ?? {}, line: step.lines.start, signal }, cleanups);
      const stubs = await this.#missingPaths(mounted.rootfs, runMounts.map((m) => m.destination));
      const decoder = { stdout: new TextDecoder(), stderr: new TextDecoder() };
      // The output's tail, for a hint when the RUN fails (bounded whatever the RUN prints).
      let tail = '';
      const { exit } = await this.#guest.request(
        'run',
        {
          name: id,
          bundle: mounted.dir,
          config: this.#seccomp.annotate(runtimeSpec({
            id,
            process: { args: run.argv, env, cwd: run.workdir || '/', ...ids },
            rootfs: mounted.rootfs,
            hostname: id.slice(-12),
            // RUN steps reach the network (apk add, pip install, wget) through the VM's own interface,
            // with the VM's resolver and hosts (host.docker.internal), as Docker's builder gives its own.
            // `RUN --network=none`: a network namespace of its own, with nothing in it.
            hostNetwork: run.network !== 'none',
            mounts: [...RUN_NETWORK_FILES.map((path) => ({ source: path, destination: path, readonly: true })), ...runMounts],
          })),
          ...(run.stdin !== undefined ? { stdin: toBase64(new TextEncoder().encode(run.stdin)) } : {}),
        },
        {
          signal,
          timeoutMs: 10 * 60_000,
          onStream: (stream, data) => {
            const text = decoder[stream].decode(data, { stream: true });
            tail = (tail + text).slice(-4096);
            emit({ type: 'step-output', step: info, stream, text, elapsedMs: performance.now() - started });
          },
        },
      );
      if (exit !== 0) {
        const shown = JSON.stringify(run.argv.join(' '));
        const hint = runFailureHint(tail, exit ?? -1);
        const notes = [this.#guest.offlineReason, ...(this.#guest.takeNetworkNotes?.() ?? []).map((note) => `network: refused ${note}`)];
        const offline = notes.filter(Boolean).map((note) => `\n${note}`).join('');
        throw new BuildError(`process ${shown} did not complete successfully: exit code: ${exit}${offline}${hint ? `\nLayerlab: ${hint}` : ''}`, step.lines.start, hint);
      }
      await this.#guest.request('umount', { target: mounted.rootfs });
      await this.#dropMountpointStubs(mounted.upper, stubs);
      const packed = await this.#guestLayers.pack(mounted.upper);
      const tar = sourceDateEpoch !== undefined ? await clampTarTimes(packed, sourceDateEpoch) : packed;
      // The upperdir is on the step's own tmpfs: unpack the layer into the layer store for later steps.
      await this.#guestLayers.install(await sha256(tar), tar, signal);
      return tar;
    } finally {
      await this.#guestLayers.remove(id).catch(() => {});
      for (const cleanup of cleanups) await cleanup().catch(() => {});
    }
  }

  async #user(user: string, rootfs: string): Promise<{ uid: number; gid: number }> {
    if (!user || /^\d+(:\d+)?$/.test(user) || user === 'root') return resolveUser(user, {});
    const read = async (path: string) => {
      try {
        const { data } = await this.#guest.request('read', { path: `${rootfs}${path}` });
        return base64ToText(data);
      } catch {
        return undefined;
      }
    };
    return resolveUser(user, { passwd: await read('/etc/passwd'), group: await read('/etc/group') });
  }

  /** The files of a stack of layers, shaped like a build context (for `COPY --from`). */
  async #stageFilesAsContext(diffIDs: Digest[]): Promise<ContextEntry[]> {
    const entries: ContextEntry[] = [];
    for (const [path, item] of await this.#files.mergedContents(diffIDs)) {
      const entry = contextEntryFromTar({ ...item, name: path });
      if (entry) entries.push(entry);
    }
    return entries;
  }

  /** COPY/ADD: a layer tar with the copied files and the directories leading to them. */
  async #copyLayer(step: Step, resolution: Awaited<ReturnType<typeof resolveCopySources>>, diffIDs: Digest[], time: FileTimes): Promise<Uint8Array> {
    const copy = step.copy!;
    const merged = await this.#files.merged(diffIDs);
    let owner = { uid: 0, gid: 0 };
    if (copy.chown) owner = await this.#chownIds(copy.chown, diffIDs);
    const chmod = copy.chmod ? parseInt(copy.chmod, 8) : undefined;
    const entries = new Map<string, TarWriteEntry>();
    // Directories the copy creates belong to --chown's owner (BuildKit's mkdir -p with the owner).
    const addDirs = (path: string) => {
      for (const dir of missingDirs(path, merged, time, true)) {
        if (!entries.has(dir.name)) entries.set(dir.name, merged.has(`/${dir.name}`) ? dir : { ...dir, ...owner });
      }
    };
    for (const item of resolution.items) {
      let target = item.target;
      if (!resolution.destIsDir && resolution.fileNameIfDestIsDirectory && merged.get(copy.dest)?.type === 'dir') {
        target = `${copy.dest.replace(/\/$/, '')}/${resolution.fileNameIfDestIsDirectory}`;
      }
      const name = target.replace(/^\/+/, '');
      addDirs(parentOf(target));
      if (item.extract) {
        addDirs(target);
        for (const member of await localArchiveMembers(item.entry.data, item.source, step.lines.start)) {
          const under = (path: string) => `${name.replace(/\/$/, '')}/${path}`.replace(/\/+$/, '');
          const memberName = under(member.name);
          // Parents an archive leaves out are created, as extracting it does.
          addDirs(parentOf(`/${memberName}`));
          // A hard link names another member: it moves under the destination with it.
          const linkname = member.type === 'link' ? under(member.linkname!) : member.linkname;
          entries.set(memberName, { name: memberName, type: member.type, mode: member.mode, uid: member.uid, gid: member.gid, mtime: time(member.mtime), linkname, data: member.data });
        }
        continue;
      }
      const mode = item.entry.mode;
      const kind = (mode & 0o170000) === 0o040000 ? 'directory' : (mode & 0o170000) === 0o120000 ? 'symlink' : 'file';
      entries.set(name, {
        name,
        type: kind,
        mode: chmod ?? mode & 0o7777,
        ...owner,
        // Docker, BuildKit and buildah keep the source's mtime (a COPY --from stage's too).
        mtime: time(item.entry.mtime),
        ...(kind === 'symlink' ? { linkname: new TextDecoder().decode(item.entry.data) } : kind === 'file' ? { data: item.entry.data } : {}),
      });
    }
    for (const inline of copy.inlineFiles) {
      const target = copy.destIsDir || merged.get(copy.dest)?.type === 'dir' ? `${copy.dest.replace(/\/$/, '')}/${inline.name}` : copy.dest;
      addDirs(parentOf(target));
      const name = target.replace(/^\/+/, '');
      entries.set(name, { name, type: 'file', mode: chmod ?? 0o644, ...owner, mtime: time(undefined), data: inline.content });
    }
    return writeTar([...entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
  }

  async #chownIds(spec: string, diffIDs: Digest[]): Promise<{ uid: number; gid: number }> {
    if (/^\d+(:\d+)?$/.test(spec)) return resolveUser(spec, {});
    const files = await this.#files.mergedContents(diffIDs);
    const text = (path: string) => {
      const data = files.get(path)?.data;
      return data ? new TextDecoder().decode(data) : undefined;
    };
    return resolveUser(spec, { passwd: text('/etc/passwd'), group: text('/etc/group') });
  }
}

/**
 * The inputs of the steps that made the final image, in order: the target stage and the stages it is
 * built FROM (not stages it only copies from), so they line up with the image's history.
 */
function finalStageInputs(plan: BuildPlan, inputs: CacheInputs[]): CacheInputs[] {
  const byStage = new Map<number, CacheInputs[]>();
  let i = 0;
  for (const stage of plan.stages) byStage.set(stage.index, stage.steps.map(() => inputs[i++]).filter(Boolean));
  const chain: CacheInputs[][] = [];
  let stage = plan.stages.find((s) => s.index === plan.target);
  while (stage) {
    chain.unshift(byStage.get(stage.index) ?? []);
    const base = stage.base;
    stage = base.kind === 'stage' ? plan.stages.find((s) => s.index === base.index) : undefined;
  }
  return chain.flat();
}

/** Biggest local archive ADD unpacks (inflated). */
const MAX_ADD_ARCHIVE_BYTES = 256 << 20;

/**
 * The members of a local archive that `ADD` unpacks, with names made relative and checked: a member
 * that would land outside the destination (`..`), a hard link to outside the archive, or a device node
 * refuses the build, naming the member.
 */
async function localArchiveMembers(data: Uint8Array, source: string, line: number) {
  let tar = data;
  try {
    tar = await inflate(data, source, MAX_ADD_ARCHIVE_BYTES);
  } catch (error) {
    throw new BuildError(`ADD ${source}: ${(error as Error).message}`, line);
  }
  const members = await readTar(tar);
  const refuse = (member: string, why: string) => new BuildError(`ADD ${source}: member ${JSON.stringify(member)} ${why}; refusing the archive`, line);
  return members.map((member) => {
    const name = safeArchivePath(member.name);
    if (name === undefined || name === '') throw refuse(member.name, 'would land outside the destination');
    if (member.type === 'character-device' || member.type === 'block-device' || member.type === 'fifo') throw refuse(member.name, `is a ${member.type.replace('-', ' ')} (Layerlab does not add device nodes)`);
    if (member.type === 'link') {
      const target = safeArchivePath(member.linkname ?? '');
      if (!target) throw refuse(member.name, `is a hard link to ${JSON.stringify(member.linkname)}, outside the archive`);
      return { ...member, name, linkname: target };
    }
    return { ...member, name };
  });
}

/** `source=` of a context bind mount as a path prefix inside the context ('' for its root). */
function contextPrefix(source: string | undefined): string {
  const clean = (source ?? '').replace(/^[./]+(?=\/|$)/, '').replace(/^\/+|\/+$/g, '');
  return clean === '' || clean === '.' ? '' : `${clean}/`;
}

/** The context entries a bind mount of `source` shows (the source itself, when a file, included). */
function contextUnder(context: ContextEntry[], source: string | undefined): ContextEntry[] {
  const prefix = contextPrefix(source);
  if (!prefix) return context;
  return context.filter((entry) => {
    const path = entry.path.replace(/^\.?\//, '');
    return path === prefix.slice(0, -1) || path.startsWith(prefix);
  });
}

function latestCreated(history: readonly { created?: string }[]): string | undefined {
  const times = history.map((h) => h.created).filter((t): t is string => !!t);
  return times.length ? times.reduce((a, b) => (Date.parse(b) > Date.parse(a) ? b : a)) : undefined;
}

/** A layer entry's mtime (seconds): the given one or now, clamped to SOURCE_DATE_EPOCH when set. */
type FileTimes = (mtime: number | undefined) => number;

function fileTimes(sourceDateEpoch: number | undefined): FileTimes {
  const now = Math.floor(Date.now() / 1000);
  return (mtime) => (sourceDateEpoch === undefined ? (mtime ?? now) : Math.min(mtime ?? now, sourceDateEpoch));
}

function epochIso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** SOURCE_DATE_EPOCH from the options or from `--build-arg SOURCE_DATE_EPOCH=…` (BuildKit reads both). */
function sourceDateEpochOf(options: BuildOptions): number | undefined {
  const text = options.sourceDateEpoch !== undefined ? String(options.sourceDateEpoch) : options.buildArgs?.SOURCE_DATE_EPOCH;
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text)) throw new BuildError(`invalid SOURCE_DATE_EPOCH: ${text} (expected whole seconds since 1970-01-01, e.g. $(git log -1 --format=%ct))`);
  return Number(text);
}

/** A RUN layer with every mtime clamped to SOURCE_DATE_EPOCH. */
async function clampTarTimes(tar: Uint8Array, sourceDateEpoch: number): Promise<Uint8Array> {
  const items = await readTar(tar);
  if (items.every((item) => item.mtime <= sourceDateEpoch)) return tar;
  return writeTar(items.map((item) => ({ name: item.name, type: item.type, mode: item.mode, uid: item.uid, gid: item.gid, mtime: Math.min(item.mtime, sourceDateEpoch), linkname: item.linkname, data: item.data })));
}

function parentOf(path: string): string {
  const slash = path.replace(/\/+$/, '').lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

/** Tar entries for `dir` and its ancestors: new ones 0755 root, existing ones as they are (Docker records the parents too). */
function missingDirs(dir: string, merged: Map<string, { type: string; mode: number; uid: number; gid: number }>, time: FileTimes, includeExisting = false): TarWriteEntry[] {
  const result: TarWriteEntry[] = [];
  const parts = dir.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const path = '/' + parts.slice(0, i).join('/');
    const existing = merged.get(path);
    if (existing && !includeExisting) continue;
    result.push({ name: path.slice(1), type: 'directory', mode: existing?.mode ?? 0o755, uid: existing?.uid ?? 0, gid: existing?.gid ?? 0, mtime: time(undefined) });
  }
  return result;
}

function stepInfos(plan: BuildPlan, parsed: ParseResult): Map<Step, BuildStepInfo> {
  const infos = new Map<Step, BuildStepInfo>();
  const total = plan.stages.reduce((sum, stage) => sum + stage.steps.length, 0);
  let n = 0;
  // BuildKit numbers only the steps it shows (FROM, RUN, COPY, ADD, WORKDIR): `[2/3] RUN` in a
  // FROM/ENV/COPY/RUN/CMD file. A config-only step keeps the number of the step before it.
  const shown = (step: Step) => step.layer !== 'none' || /^workdir\s/i.test(step.text);
  for (const stage of plan.stages) {
    const stageSteps = stage.steps.filter(shown).length + 1;
    const fromInstruction = parsed.instructions.find((i) => i.kind === 'FROM' && i.lines.start === stage.lines.start);
    const from = fromInstruction?.kind === 'FROM' ? { line: stage.lines.start, image: fromInstruction.image } : undefined;
    let position = 1;
    stage.steps.forEach((step) => {
      if (shown(step)) position++;
      infos.set(step, {
        n: ++n,
        total,
        stage: stage.name ?? (plan.stages.length > 1 ? `stage-${stage.index}` : ''),
        stageStep: position,
        stageSteps,
        line: step.lines.start,
        endLine: step.lines.end,
        instruction: step.text,
        configOnly: step.layer === 'none',
        ...(from ? { from } : {}),
      });
    });
  }
  return infos;
}

function toContainerConfig(config: PlanConfig): ContainerConfig {
  // Docker's image config leaves empty fields out (Go's omitempty), as BuildKit's images do.
  const out: ContainerConfig = {};
  if (config.User) out.User = config.User;
  if (Object.keys(config.ExposedPorts).length) out.ExposedPorts = config.ExposedPorts;
  out.Env = config.Env;
  if (config.Cmd) out.Cmd = config.Cmd;
  if (config.Entrypoint) out.Entrypoint = config.Entrypoint;
  if (Object.keys(config.Volumes).length) out.Volumes = config.Volumes;
  if (config.WorkingDir) out.WorkingDir = config.WorkingDir;
  if (Object.keys(config.Labels).length) out.Labels = config.Labels;
  if (config.StopSignal) out.StopSignal = config.StopSignal;
  if (config.Shell) out.Shell = config.Shell;
  if (config.Healthcheck) out.Healthcheck = config.Healthcheck as ContainerConfig['Healthcheck'];
  if (config.OnBuild.length) out.OnBuild = config.OnBuild;
  if (config.ArgsEscaped) out.ArgsEscaped = true;
  return out;
}

function toBuildError(error: unknown, file: string, line?: number): BuildError {
  if (error instanceof BuildError) return error;
  if (error instanceof DockerfileError) {
    const all = error.all.map((e) => `${file}:${e.line}: ${e.message}${e.hint ? ` (${e.hint})` : ''}`).join('\n');
    return new BuildError(all, error.line, error.hint);
  }
  if (error instanceof UserLookupError) return new BuildError(error.message, line);
  if ((error as Error)?.name === 'AbortError') return new BuildError('build canceled', line);
  return new BuildError((error as Error)?.message ?? String(error), line);
}

