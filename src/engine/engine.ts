/**
 * The engine: Layerlab's Docker daemon. It owns images (ImageStore), containers and volumes, builds
 * Dockerfiles, and drives the VM through the Guest interface. It implements EngineApi, which the docker
 * CLI verbs, the app and lesson checks use, and it serves the `docker` command typed in the guest.
 */
import type { BlobBackend } from './store/backend.ts';
import { ImageStore } from './store/image-store.ts';
import { GUEST_PATHS, type Guest } from './guest.ts';
import { fetchLayerImage, GuestLayers } from './runtime/guest-layers.ts';
import { runtimeSpec } from './runtime/spec.ts';
import { SeccompFilters } from './runtime/seccomp-filters.ts';
import { fetchListing, LayerFiles } from './build/layer-files.ts';
import { Builder } from './build/builder.ts';
import { Containers, volumeDir } from './containers/containers.ts';
import { withDefaultPath } from './containers/config.ts';
import { analyzeImage, DiffType, mergedUpTo } from './layers/index.ts';
import { saveImages, loadImages } from './archive/index.ts';
import { ConflictError, EngineError, NotFoundError } from './oci/errors.ts';
import { buildImage } from './oci/image.ts';
import type { Digest } from './oci/digest.ts';
import { MediaType } from './oci/types.ts';
import { topTable } from './containers/procfs.ts';
import type { ChangeEvent, ContainerStatsSample, ContainerTop, ContainerView, EngineApi, LogEntry, ImageFileView, ImageLayersView, NetworkView, PortHttpRequest, PortHttpResponse, RunOptions, WritableEntry } from './api.ts';
import { Networks } from './network/networks.ts';
import { TcpRelay, type PortConnection } from './network/tcp.ts';
import { httpExchange } from './network/http.ts';
import type { BuildEvent } from './build/events.ts';
import type { CacheInputs } from './dockerfile/index.ts';
import { NO_REGISTRY_ACCESS, RegistryClient, type RegistryClientOptions } from './registry/client.ts';
import { normalizeRegistry, registryApiHost, isLocalRegistry, locate } from './registry/location.ts';
import { parseReference } from './oci/reference.ts';
import { pullImage } from './registry/pull.ts';
import { pushImage } from './registry/push.ts';
import { SandboxRegistry } from './registry/sandbox.ts';
import type { TransferEvent } from './registry/progress.ts';
import { IdleTime } from './idle-time.ts';
import { sleep } from './containers/record.ts';

/** The longest the warm-up keeps the emulator from compiling (about 5 s when the learner leaves it the CPU). */
const WARM_UP_HOLD_MS = 20_000;

/** Hidden container starts `compileAhead` runs compiling (enough for v86 to compile most of a start's code). */
const COMPILE_AHEAD_RUNS = 20;

/** A base image shipped with the VM (public/vm/base/images.json, see vm/README.md). */
export interface BaseImage {
  name: string;
  tags: string[];
  architecture: string;
  os: string;
  layers: {
    file: string;
    digest: string;
    size: number;
    created_by: string;
    /**
     * The same layer as a read-only filesystem image the guest mounts instead of unpacking the tar; `file`
     * may itself be zstd-compressed, `size` is the image's size as mounted.
     */
    image?: { file: string; type: 'squashfs'; size: number };
    /** The layer's file list in the agent's `list` form (JSON), so its tree is known without walking it in the VM. */
    files?: string;
  }[];
  config: Record<string, unknown>;
}

export interface EngineOptions {
  backend: BlobBackend;
  guest: Guest;
  /** Base images to register (lazily: their tars are fetched only when an export needs the bytes). */
  baseImages?: BaseImage[];
  /** Where a base layer tar can be fetched from (a URL, or a file: path under Node). */
  baseLayerUrl?: (file: string) => string;
  /** How the store fetches lazy layers (default: global fetch). */
  fetch?: typeof fetch;
  /** The VM was restored from a checkpoint matching the store (its containers still run). */
  checkpoint?: boolean;
  /** How registries are reached (pull, push, FROM of images not in the store); none: those say why not. */
  registry?: RegistryClientOptions;
  /** The store `Engine.openStore` opened (or is opening) with these options; default: opened here. */
  store?: Promise<OpenedStore> | OpenedStore;
}

/** What `Engine.openStore` gives `Engine.open`. */
export interface OpenedStore {
  store: ImageStore;
  sandboxRegistry: SandboxRegistry;
}

interface VolumeRecord {
  name: string;
  created: string;
}

/**
 * Base images in the store: manifests and configs are made here; layer bytes stay where the VM build put
 * them. The images are stored side by side, and an image is made only when one of its tags is missing (a
 * reload finds them all).
 */
async function storeBaseImages(store: ImageStore, images: BaseImage[], url: (file: string) => string): Promise<void> {
  await Promise.all(
    images.map(async (base) => {
      const tags = base.tags.map((tag) => `${base.name}:${tag}`);
      const found = await Promise.all(tags.map((tag) => store.resolve({ ref: tag }).catch(() => undefined)));
      const missing = tags.filter((_, i) => !found[i]);
      if (!missing.length) return;
      const layers = [];
      for (const layer of base.layers) {
        const digest = layer.digest as Digest;
        const record = await store.getLayer({ diffID: digest }).catch(() => undefined);
        // Uncompressed tars: blob digest = diffID, so the snapshot's unpacked dirs match by name.
        layers.push(
          record ??
            (await store.addLazyLayer({ digest, diffID: digest, size: layer.size, diffSize: layer.size, mediaType: MediaType.layer, url: url(layer.file) })),
        );
      }
      const image = await buildImage({
        layers,
        config: base.config,
        history: base.layers.map((l) => ({ created: '2025-01-01T00:00:00Z', created_by: l.created_by })),
        created: '2025-01-01T00:00:00Z',
        architecture: base.architecture,
        os: base.os,
      });
      await store.putImage({ image, tags: missing });
    }),
  );
}

export class Engine implements EngineApi {
  readonly store: ImageStore;
  readonly guestLayers: GuestLayers;
  readonly layerFiles: LayerFiles;
  #backend: BlobBackend;
  #guest: Guest;
  /**
   * The bundled base images' layers and environment, by name (for the hidden warm-up containers). Kept
   * apart from the store on purpose: the store's tags are the learner's to remove or point elsewhere
   * (`docker tag app busybox`), while a warm-up must run the layers the VM snapshot has unpacked.
   */
  #baseImages = new Map<string, { diffIDs: string[]; env: string[] }>();
  #builder: Builder;
  #containers!: Containers;
  /** The learner's container starts, execs and builds; the warm-up runs in the time between them. */
  #idle = new IdleTime();
  /** Interactive sessions (`-it`) in progress, by ref: each ends the learner's busy time it began. */
  #sessions = new Map<string, () => void>();
  /** The hidden warm-up container (its name), while it runs. */
  #warming = { id: '', running: false };
  /** Whether the warm-up found the default bridge up (its hidden containers then start on it). */
  #bridgeUp = false;
  /** Resolved when the learner first starts a container (`compileAhead` waits for it). */
  #startedContainer: () => void = () => {};
  #firstContainer = new Promise<void>((resolve) => (this.#startedContainer = resolve));
  /** An idle-time step that makes the next container's network namespace is queued (one at a time). */
  #preparingNetwork = false;
  /** crun's compiled seccomp filters (learned from a container, then given to crun at every start). */
  #seccomp = new SeccompFilters();
  #networks!: Networks;
  #tcp: TcpRelay;
  #listeners = new Set<(event: ChangeEvent) => void>();
  readonly registry: RegistryClient;
  /** `registry.lab`: the registry inside the sandbox (push and pull with no network). */
  readonly sandboxRegistry: SandboxRegistry;

  private constructor(options: EngineOptions, store: ImageStore, sandboxRegistry: SandboxRegistry) {
    this.sandboxRegistry = sandboxRegistry;
    this.registry = new RegistryClient({
      ...options.registry,
      fetch: sandboxRegistry.route(options.registry?.fetch, options.registry?.unavailableReason ?? NO_REGISTRY_ACCESS),
    });
    this.#backend = options.backend;
    this.#guest = options.guest;
    this.store = store;
    this.guestLayers = new GuestLayers({
      guest: options.guest,
      readLayerTar: async (diffID) => store.layerTar({ digest: (await store.getLayer({ diffID: diffID as Digest })).digest }),
    });
    this.layerFiles = new LayerFiles({ store, guest: options.guest, guestLayers: this.guestLayers });
    this.#tcp = new TcpRelay(options.guest);
    this.#builder = new Builder({ store, backend: options.backend, guest: options.guest, guestLayers: this.guestLayers, layerFiles: this.layerFiles,
      seccomp: this.#seccomp,
      pullBase: (pull) => this.#pull({ ref: pull.ref, signal: pull.signal, onProgress: pull.onProgress }),
    });
  }

  /**
   * The part of opening an engine that needs no guest: the image store, with the bundled base images in it.
   * A host may start it while the VM is still restoring and hand it to `open` (`options.store`).
   */
  static async openStore(options: Omit<EngineOptions, 'guest' | 'checkpoint' | 'store'>): Promise<OpenedStore> {
    const sandboxRegistry = new SandboxRegistry({ backend: options.backend, createHasher: options.registry?.createHasher });
    const store = await ImageStore.open({ backend: options.backend, fetch: options.fetch, heldBlobs: () => sandboxRegistry.heldBlobs() });
    if (options.baseImages) await storeBaseImages(store, options.baseImages, options.baseLayerUrl ?? ((file) => file));
    return { store, sandboxRegistry };
  }

  static async open(options: EngineOptions): Promise<Engine> {
    const { store, sandboxRegistry } = await (options.store ?? Engine.openStore(options));
    const engine = new Engine(options, store, sandboxRegistry);
    if (options.baseImages) engine.#addBaseImages(options.baseImages, options.baseLayerUrl ?? ((file) => file), options.fetch ?? fetch);
    engine.#networks = await Networks.open({ backend: options.backend, guest: options.guest });
    engine.#containers = await Containers.open({
      networks: engine.#networks,
      store,
      backend: options.backend,
      guest: options.guest,
      layers: engine.guestLayers,
      files: engine.layerFiles,
      emit: (event) => engine.#emit(event),
      checkpoint: options.checkpoint,
      seccomp: engine.#seccomp,
    });
    return engine;
  }

  /** Base images' layers as the VM build left them: their layer images for the guest, their file listings. */
  #addBaseImages(images: BaseImage[], url: (file: string) => string, fetchFn: typeof fetch): void {
    const fetched = new Map<string, Promise<Uint8Array>>();
    const readImage = ({ file, size }: { file: string; size: number }) => () => {
      let bytes = fetched.get(file);
      if (!bytes) {
        bytes = fetchLayerImage(fetchFn, url(file), size);
        bytes.catch(() => fetched.delete(file));
        fetched.set(file, bytes);
      }
      return bytes;
    };
    for (const base of images) {
      const env = withDefaultPath((base.config as { Env?: string[] }).Env ?? []);
      this.#baseImages.set(base.name, { diffIDs: base.layers.map((layer) => layer.digest), env });
      for (const layer of base.layers) {
        const digest = layer.digest as Digest;
        if (layer.image) this.guestLayers.addImage(digest, { type: layer.image.type, read: readImage(layer.image) });
        const files = layer.files;
        if (files) this.layerFiles.addListing(digest, () => fetchListing(fetchFn, url(files)));
      }
    }
  }

  /**
   * What the first containers would otherwise do while the learner waits: the base layer images downloaded
   * into the VM's share and mounted (at once), the default bridge up, a hidden busybox container on the bridge
   * in their idle time (idle-time.ts: it waits until nothing of theirs runs, and gives way when they start or
   * type something), the network namespace of their first container made ahead, and a hidden python run in
   * the background at the lowest CPU weight. The emulator compiles none of this work's guest code
   * (jit-gate.ts): its compile work would land in the learner's first commands. The hold ends with the
   * warm-up, or after WARM_UP_HOLD_MS if it takes longer: python at the lowest weight can take minutes while
   * the learner's own long build keeps the CPU, and that build should get compiled.
   */
  async warmUp(): Promise<void> {
    const release = this.#guest.holdCompiling?.() ?? (() => {});
    const cap = setTimeout(release, WARM_UP_HOLD_MS);
    try {
      await this.#warmUpSteps();
    } finally {
      clearTimeout(cap);
      release();
    }
  }

  async #warmUpSteps(): Promise<void> {
    const warn = (error: unknown) => console.warn(`layerlab: ${(error as Error).message}`);
    // Downloading the layer images into the VM's share and mounting them is host work and one small guest
    // program each: started first and not gated on idle time, it is done before most learners type, and a
    // learner who never pauses still finds them there.
    const prefetched = this.guestLayers.prefetchImages().catch(() => {});
    const bridgeUp = await this.#containers.warmUp().then(() => true, (error) => (warn(error), false));
    this.#bridgeUp = bridgeUp;
    // The first container after a restore finds the guest's caches cold (crun, the kernel's container
    // paths, busybox's layer). This one sleeps (stopped once read), so that crun's compiled seccomp filter
    // can be read from its state: the learner's containers then start without compiling it.
    await this.#idle.step(
      () => this.#warmContainer('busybox', ['sleep', '1'], { network: bridgeUp }).catch(warn),
      () => void this.#stopWarmContainer(),
    );
    await prefetched;
    // python's first run reads its files from the layer image (~30 million guest instructions more than a
    // later run): a hidden run fills the page cache that serves the learner's. Seconds of guest work, so at
    // the lowest CPU weight (`--cpu-shares 2`): the learner's commands take the guest's CPU whenever they
    // want it and python gets what they leave, so it starts at once instead of waiting for a quiet spell.
    const python = this.#warmContainer('python', ['python3', '-c', 'pass'], { network: bridgeUp, background: true }).catch(warn);
    // The network namespace of the learner's next container on the default bridge, wired ahead in idle time
    // (made while their first container starts, it would take that one's CPU).
    if (bridgeUp) await this.#idle.step(() => this.#containers.prepareNetwork({ sweep: true }).catch(warn));
    await python;
  }

  /**
   * Compiles a container start's guest code ahead, in the learner's idle time: hidden busybox containers on
   * the default bridge, COMPILE_AHEAD_RUNS of them, each started with the emulator compiling (jit-gate.ts)
   * as an idle step that gives way the moment the learner types or starts something. v86 compiles a page of
   * guest code once 200 000 of its instructions have run interpreted, and a start runs much code (crun, the
   * kernel's clone, mount and exec paths) a few thousand instructions at a time: it takes a few dozen starts,
   * each slower while it compiles, which is why the learner's own never compile. After them the learner's
   * `docker run`s run that code compiled: a third to a half less time from Enter to output.
   * It begins once the learner has started a container of their own: someone who only reads the page costs
   * no CPU, and a page closed or reloaded while v86 compiles waits for that compile work to wind down (its
   * worker's shutdown took ~0.4 s instead of a few ms), which a reload soon after load should not.
   */
  async compileAhead(): Promise<void> {
    if (!this.#guest.forceCompiling || !this.#baseImages.has('busybox')) return;
    await this.#firstContainer;
    const network = this.#bridgeUp;
    for (let runs = 0; runs < COMPILE_AHEAD_RUNS; ) {
      let failed = false;
      let compiling = () => {};
      const ran = await this.#idle.step(
        async () => {
          compiling = this.#guest.forceCompiling!();
          try {
            await this.#warmContainer('busybox', ['true'], { network });
          } catch {
            failed = true;
          } finally {
            compiling();
          }
        },
        // Interrupted: compiling stops at once; `true` ends by itself sooner than a kill would end it.
        () => compiling(),
      );
      // A guest that no longer runs containers (a VM restarted under this engine) ends it.
      if (failed) return;
      if (ran) runs++;
    }
  }

  /** The learner typed at the VM's terminal: the idle-time warm-up gives way (a command may follow). */
  noteTyping(): void {
    this.#idle.touch();
  }

  /**
   * A hidden container of a base image (no record, no events, removed at once), wired to the default bridge
   * like the learner's (network namespace, veth hook) when the bridge is up: it warms the guest's caches for
   * the paths their first container takes.
   */
  async #warmContainer(imageName: string, args: string[], options: { network: boolean; background?: boolean }): Promise<void> {
    const base = this.#baseImages.get(imageName);
    if (!base) return;
    const id = `warm-up-${imageName}-${crypto.randomUUID().slice(0, 8)}`;
    // A background one is not the idle step the learner's work interrupts.
    const warming = { id, running: true };
    if (!options.background) this.#warming = warming;
    try {
      const mounted = await this.guestLayers.mount(id, base.diffIDs);
      const config = this.#seccomp.annotate(runtimeSpec({
        id,
        process: { args, env: base.env, cwd: '/', uid: 0, gid: 0 },
        rootfs: mounted.rootfs,
        hostname: id.slice(0, 12),
        createRuntimeHooks: options.network ? [this.#containers.warmUpHook()] : [],
        ...(options.background ? { cpuShares: 2 } : {}),
      }));
      if (this.#seccomp.unlearned(config)) await this.#teachingRun(id, mounted.dir, config);
      // A background one at the lowest priority from crun's start on: the cgroup's CPU weight applies only
      // once the container's process is in it, and crun's setup would take the learner's first command's CPU.
      else await this.#guest.request('run', { name: id, bundle: mounted.dir, config, ...(options.background ? { nice: 19 } : {}) }, { timeoutMs: 300_000 });
    } finally {
      warming.running = false;
      await this.guestLayers.remove(id).catch(() => {});
    }
  }

  /** A hidden container run detached, so that crun's compiled seccomp filter can be read while it exists. */
  async #teachingRun(id: string, bundle: string, config: Record<string, unknown>): Promise<void> {
    let unsubscribe = () => {};
    const exited = new Promise<void>((resolve) => {
      unsubscribe = this.#guest.onEvent((event) => event.event === 'exit' && event.name === id && resolve());
    });
    try {
      const { created } = await this.#guest.request('run', { name: id, bundle, config, detach: true, waitCreated: true }, { timeoutMs: 60_000 });
      if (created) {
        await this.#seccomp.learn(this.#guest, id, config);
        // Learned: the rest of its sleep would only hold up the warm-up steps after it.
        await this.#guest.request('signal', { name: id, signal: 9 }).catch(() => {});
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 300_000)))]);
      clearTimeout(timer);
    } finally {
      unsubscribe();
    }
  }

  /** Kills the hidden container in progress: crun knows it only once it has started, so ask until it ends. */
  async #stopWarmContainer(): Promise<void> {
    const warming = this.#warming;
    while (warming.running) {
      await this.#guest.request('signal', { name: warming.id, signal: 9 }).catch(() => {});
      await sleep(200);
    }
  }

  subscribe(listener: (event: ChangeEvent) => void): () => void {
    this.#listeners.add(listener);
    const unwatch = this.#containers.watchWritable();
    return () => {
      this.#listeners.delete(listener);
      unwatch();
    };
  }

  #emit(event: ChangeEvent): void {
    for (const listener of [...this.#listeners]) listener(event);
  }

  // ---- images

  async build(options: Parameters<EngineApi['build']>[0]) {
    const result = await this.#idle.busy(() =>
      this.#builder.build({
        ...options,
        onEvent: (event: BuildEvent) => {
          options.onEvent?.(event);
          this.#emit({ type: 'build', event });
        },
      }),
    );
    this.#emit({ type: 'image', action: 'create', id: result.imageId, ref: result.tags[0] });
    return { imageId: result.imageId, tags: result.tags };
  }

  async images(options: { all?: boolean } = {}) {
    const rows = await this.store.listImages(options);
    const byId = new Map<string, { id: string; repoTags: string[]; created: string; size: number; layerCount: number; repoDigests: string[] }>();
    for (const row of rows) {
      const record = byId.has(row.id) ? undefined : await this.store.resolve({ ref: row.id });
      const entry = byId.get(row.id) ?? { id: row.id, repoTags: [], created: row.created, size: row.size, layerCount: record!.layers.length, repoDigests: record!.repoDigests ?? [] };
      if (row.repository !== '<none>') entry.repoTags.push(`${row.repository}:${row.tag}`);
      byId.set(row.id, entry);
    }
    return [...byId.values()];
  }

  async history(options: { ref: string }) {
    const record = await this.store.resolve(options);
    const config = await this.store.getConfig({ id: record.id });
    const layerSizes = await Promise.all(record.layers.map(async (digest) => (await this.store.getLayer({ digest })).diffSize));
    return { id: record.id, history: config.history ?? [], layerSizes };
  }

  inspectImage(options: { ref: string }) {
    return this.store.inspect(options);
  }

  async imageLayers(options: { ref: string }): Promise<ImageLayersView> {
    const record = await this.store.resolve(options);
    const config = await this.store.getConfig({ id: record.id });
    const diffIDs = config.rootfs.diff_ids;
    const trees = await Promise.all(diffIDs.map((diffID) => this.layerFiles.tree(diffID)));
    const analysis = analyzeImage({ layers: trees });
    const repoTags = await this.store.tagsOf(record.id);
    const lastBuild = repoTags.length ? await this.#backend.getMeta<CacheInputs[]>(`lastbuild/${repoTags[0]}`) : undefined;
    const history: ImageLayersView['history'] = [];
    let layerIndex = 0;
    const entries = config.history ?? [];
    // The last build of this tag recorded one input per step of its final stage: align them from the end.
    const offset = lastBuild ? entries.length - lastBuild.length : -1;
    entries.forEach((entry, i) => {
      const step = offset >= 0 && i >= offset ? lastBuild![i - offset] : undefined;
      history.push({
        createdBy: entry.created_by ?? '',
        emptyLayer: !!entry.empty_layer,
        layerIndex: entry.empty_layer ? null : layerIndex,
        created: entry.created,
        line: step?.lines.start,
        instruction: step?.instruction,
      });
      if (!entry.empty_layer) layerIndex++;
    });
    const layerHistory = history.filter((h) => !h.emptyLayer);
    const kind = { [DiffType.Added]: 'A', [DiffType.Modified]: 'M', [DiffType.Removed]: 'D' } as Record<string, 'A' | 'M' | 'D'>;
    return {
      id: record.id,
      repoTags,
      layers: analysis.layers.map((layer, index) => ({
        index,
        diffID: diffIDs[index],
        createdBy: layerHistory[index]?.createdBy ?? '',
        line: layerHistory[index]?.line,
        size: layer.size,
        changes: layer.changes
          .filter((change) => change.diff !== DiffType.Unmodified)
          .map((change) => ({
            path: change.path,
            kind: kind[change.diff],
            size: change.size,
            type: change.node.type,
            ...(change.diff !== DiffType.Removed && trees[index].opaqueDirs.has(change.path) ? { opaque: true } : {}),
            ...(change.diff !== DiffType.Removed && change.node.type === 'symlink' && change.node.linkTarget !== undefined ? { linkTarget: change.node.linkTarget } : {}),
          })),
        hidden: layer.hidden,
      })),
      history,
      totalBytes: analysis.totalBytes,
      wastedBytes: analysis.wastedBytes,
      wasted: analysis.wasted.map((w) => ({ path: w.path, bytes: w.wastedBytes, layers: w.layers })),
    };
  }

  async imageFiles(options: { ref: string; layer: number }): Promise<ImageFileView[]> {
    const record = await this.store.resolve(options);
    const diffIDs = (await this.store.getConfig({ id: record.id })).rootfs.diff_ids;
    if (!Number.isInteger(options.layer) || options.layer < 0 || options.layer >= diffIDs.length)
      throw new EngineError(`image ${options.ref} has no layer ${options.layer} (it has ${diffIDs.length})`);
    const trees = await Promise.all(diffIDs.slice(0, options.layer + 1).map((diffID) => this.layerFiles.tree(diffID)));
    return mergedUpTo({ layers: trees, upTo: options.layer });
  }

  async tag(options: { source: string; target: string }) {
    await this.store.tag(options);
    const record = await this.store.resolve({ ref: options.target });
    this.#emit({ type: 'image', action: 'tag', id: record.id, ref: options.target });
  }

  async rmi(options: { ref: string; force?: boolean }) {
    const records = await this.store.rmi(options);
    for (const record of records) {
      if ('deleted' in record) this.#emit({ type: 'image', action: 'delete', id: record.deleted });
      else this.#emit({ type: 'image', action: 'untag', id: '', ref: record.untagged });
    }
    return records;
  }

  save(options: { refs: string[]; format?: 'oci' | 'docker' }) {
    return saveImages({ store: this.store, refs: options.refs, format: options.format ?? 'docker' });
  }

  async importImage(options: Parameters<EngineApi['importImage']>[0]): Promise<{ imageId: string }> {
    if (options.platform && options.platform !== 'linux/386') throw new EngineError(`image with platform ${options.platform} cannot run here: this engine runs linux/386 images only`);
    if (options.data.length === 0) throw new EngineError('the imported archive is empty: expected a tar (plain or gzip) of a filesystem');
    const changes = parseChanges(options.changes ?? []);
    let layer;
    try {
      layer = await this.store.addLayer({ compressed: options.data });
    } catch (error) {
      throw new EngineError(`the imported archive is not a readable tar (plain or gzip): ${(error as Error).message}`);
    }
    const created = new Date().toISOString();
    const image = await buildImage({
      layers: [layer],
      config: changes,
      created,
      history: [{ created, comment: options.message || 'Imported from -' }],
    });
    await this.store.putImage({ image, tags: options.ref ? [options.ref] : [] });
    this.#emit({ type: 'image', action: 'create', id: image.configDigest, ref: options.ref });
    return { imageId: image.configDigest };
  }

  async load(options: { data: Uint8Array }) {
    const result = await loadImages({ store: this.store, data: options.data });
    for (const image of result.images) this.#emit({ type: 'image', action: 'load', id: image.id, ref: image.tags[0] });
    return { images: result.images, warnings: result.warnings };
  }

  // ---- registries

  async #pull(options: Parameters<EngineApi['pull']>[0]) {
    const emitTransfer = (event: Extract<ChangeEvent, { type: 'transfer' }>['event']) => this.#emit({ type: 'transfer', action: 'pull', ref: options.ref, event });
    try {
      const result = await pullImage({
        client: this.registry,
        store: this.store,
        ref: options.ref,
        platform: options.platform,
        signal: options.signal,
        onProgress: (event: TransferEvent) => {
          options.onProgress?.(event);
          emitTransfer(event);
        },
      });
      emitTransfer({ kind: 'done' });
      this.#emit({ type: 'image', action: 'create', id: result.imageId, ref: result.ref });
      return result;
    } catch (error) {
      emitTransfer({ kind: 'error', message: (error as Error).message });
      throw error;
    }
  }

  pull(options: Parameters<EngineApi['pull']>[0]) {
    return this.#pull(options);
  }

  async manifestInspect(options: Parameters<EngineApi['manifestInspect']>[0]) {
    const ref = parseReference(options.ref);
    const fetched = await this.registry.getManifest(locate(ref), ref.digest ?? ref.tag, options.signal);
    return { digest: fetched.digest, mediaType: fetched.mediaType, text: new TextDecoder().decode(fetched.bytes) };
  }

  async push(options: Parameters<EngineApi['push']>[0]) {
    const emitTransfer = (event: Extract<ChangeEvent, { type: 'transfer' }>['event']) => this.#emit({ type: 'transfer', action: 'push', ref: options.ref, event });
    try {
      const result = await pushImage({
        client: this.registry,
        store: this.store,
        ref: options.ref,
        signal: options.signal,
        onProgress: (event) => {
          options.onProgress?.(event);
          emitTransfer(event);
        },
      });
      emitTransfer({ kind: 'done' });
      return result;
    } catch (error) {
      emitTransfer({ kind: 'error', message: (error as Error).message });
      throw error;
    }
  }

  async login(options: Parameters<EngineApi['login']>[0]) {
    const registry = normalizeRegistry(options.server);
    const previous = this.registry.credentials.get(registry);
    this.registry.credentials.set(registry, { username: options.username, password: options.password });
    const host = registryApiHost(registry);
    try {
      await this.registry.ping({ registry, apiHost: host, scheme: isLocalRegistry(host) ? 'http' : 'https', repository: '' });
    } catch (error) {
      if (previous) this.registry.credentials.set(registry, previous);
      else this.registry.credentials.delete(registry);
      throw error;
    }
    return { registry };
  }

  async logout(options: Parameters<EngineApi['logout']>[0]) {
    const registry = normalizeRegistry(options.server);
    return { registry, wasLoggedIn: this.registry.credentials.delete(registry) };
  }

  async buildCache() {
    return this.#builder.cacheMounts();
  }

  async pruneBuildCache() {
    return this.#builder.pruneCacheMounts();
  }

  async pruneImages(options: { all?: boolean } = {}) {
    const result = await this.store.prune(options);
    return { deleted: result.imagesDeleted, reclaimed: result.bytesReclaimed };
  }

  // ---- containers

  async #parseVolumes(specs: string[] = []) {
    const volumes: { name: string; destination: string }[] = [];
    for (const spec of specs) {
      const [name, destination, extra] = spec.split(':');
      if (!name || !destination?.startsWith('/') || extra !== undefined && extra !== 'rw') {
        throw new EngineError(`invalid volume specification: '${spec}' (Layerlab supports named volumes: -v NAME:/path)`);
      }
      if (name.startsWith('/')) throw new EngineError(`bind mounts of VM paths are not supported in Layerlab ('${spec}'): use a named volume, -v NAME:${destination}`);
      if (!(await this.#backend.getMeta(`volume/${name}`))) await this.volumeCreate({ name });
      volumes.push({ name, destination });
    }
    return volumes;
  }

  async create(options: RunOptions): Promise<ContainerView> {
    return this.#idle.busy(async () => {
      const record = await this.#containers.create(options, { volumes: await this.#parseVolumes(options.volumes) });
      return this.#containers.view(record);
    });
  }

  async start(options: { container: string; onOutput?: RunOptions['onOutput'] }) {
    this.#startedContainer();
    return this.#idle.busy(async () => this.#containers.view(await this.#containers.start(options.container, options.onOutput))).finally(() => this.#prepareNetworkWhenIdle());
  }

  run(options: RunOptions): Promise<ContainerView> {
    this.#startedContainer();
    return this.#idle.busy(() => this.#run(options)).finally(() => this.#prepareNetworkWhenIdle());
  }

  /**
   * A start may have taken the network namespace made ahead (prepared-netns.ts): the next one is made in idle
   * time (a container's exit makes one at once).
   */
  #prepareNetworkWhenIdle(): void {
    if (this.#preparingNetwork) return;
    this.#preparingNetwork = true;
    void this.#idle
      .step(() => this.#containers.prepareNetwork().catch((error: Error) => console.warn(`layerlab: ${error.message}`)))
      .finally(() => (this.#preparingNetwork = false));
  }

  async #run(options: RunOptions): Promise<ContainerView> {
    const record = await this.#containers.create(options, { volumes: await this.#parseVolumes(options.volumes) });
    await this.#containers.start(record.id, options.detach ? undefined : options.onOutput, options.detach ? undefined : options.stdin);
    if (options.detach) return this.#containers.view(record);
    const abort = () => void this.#containers.kill(record.id, 'KILL').catch(() => {});
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      await this.#containers.wait(record);
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
    return this.#containers.view(record);
  }

  async stop(options: { container: string; timeoutSeconds?: number }) {
    return this.#containers.view(await this.#containers.stop(options.container, options.timeoutSeconds));
  }

  async kill(options: { container: string; signal?: string }) {
    return this.#containers.view(await this.#containers.kill(options.container, options.signal));
  }

  async restart(options: { container: string }) {
    await this.#containers.stop(options.container);
    return this.#containers.view(await this.#containers.start(options.container));
  }

  async rm(options: { container: string; force?: boolean }) {
    await this.#containers.rm(options.container, options);
  }

  async ps(options: { all?: boolean; size?: boolean } = {}) {
    const records = this.#containers.list().filter((r) => options.all || r.state === 'running');
    return Promise.all(records.map((r) => this.#containers.view(r, { size: options.size ?? false })));
  }

  async inspectContainer(options: { container: string }) {
    const record = this.#containers.find(options.container);
    const view = await this.#containers.view(record);
    return {
      Id: record.id,
      Created: record.created,
      Path: record.args[0],
      Args: record.args.slice(1),
      State: {
        Status: view.state,
        Running: record.state === 'running',
        Paused: view.state === 'paused',
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: 0,
        ExitCode: record.exitCode ?? 0,
        Error: '',
        StartedAt: record.startedAt ?? '0001-01-01T00:00:00Z',
        FinishedAt: record.finishedAt ?? '0001-01-01T00:00:00Z',
      },
      Image: record.imageId,
      Name: `/${record.name}`,
      Driver: 'overlay2',
      Platform: 'linux',
      SizeRw: view.sizeRw,
      SizeRootFs: view.sizeRootFs,
      Mounts: view.mounts.map((m) => ({ Type: m.type, Name: m.name, Source: m.source, Destination: m.destination, Driver: 'local', Mode: 'z', RW: true, Propagation: '' })),
      Config: {
        Hostname: record.hostname,
        User: record.user,
        Env: record.env,
        Cmd: record.args,
        Image: record.image,
        WorkingDir: record.workdir,
      },
      GraphDriver: {
        Name: 'overlay2',
        Data: {
          UpperDir: `${GUEST_PATHS.containers}/${record.id}/upper`,
          WorkDir: `${GUEST_PATHS.containers}/${record.id}/work`,
          MergedDir: `${GUEST_PATHS.containers}/${record.id}/rootfs`,
          LowerDir: [...record.diffIDs].reverse().map((d) => GuestLayers.layerDir(d)).join(':'),
        },
      },
      HostConfig: {
        AutoRemove: record.autoRemove,
        NetworkMode: record.network,
        Memory: record.memoryBytes ?? 0,
        PidsLimit: record.pidsLimit ?? 0,
        PortBindings: portMap(record.publish ?? [], view.exposedPorts, true),
        PublishAllPorts: false,
      },
      NetworkSettings: this.#networkSettings(view),
    };
  }

  async logs(options: Parameters<EngineApi['logs']>[0]): Promise<LogEntry[]> {
    const entries = [...this.#containers.logs(options.container)];
    if (options.follow) {
      for (const entry of entries) options.onOutput?.(entry);
      await this.#containers.follow(options.container, (entry) => options.onOutput?.(entry), options.signal);
    }
    return entries;
  }

  async attach(options: Parameters<EngineApi['attach']>[0]): Promise<{ exitCode: number | null }> {
    const record = this.#containers.find(options.container);
    if (record.state !== 'running') throw new ConflictError('You cannot attach to a stopped container, start it first');
    const exitCode = await this.#containers.follow(record.id, options.onOutput, options.signal);
    // The client went away (Ctrl-C): with --sig-proxy (the default) the container gets the SIGINT.
    if (exitCode === null && options.sigProxy !== false && record.state === 'running') await this.#containers.kill(record.id, 'INT').catch(() => {});
    return { exitCode };
  }

  async pause(options: { container: string }) {
    return this.#containers.view(await this.#containers.pause(options.container));
  }

  async unpause(options: { container: string }) {
    return this.#containers.view(await this.#containers.unpause(options.container));
  }

  async top(options: { container: string }): Promise<ContainerTop> {
    return topTable(await this.#containers.processes(options.container));
  }

  async stats(options: { containers?: string[]; all?: boolean }): Promise<ContainerStatsSample[]> {
    const records = options.containers?.length
      ? options.containers.map((ref) => this.#containers.find(ref))
      : this.#containers.list().filter((r) => options.all || r.state === 'running');
    const samples: ContainerStatsSample[] = [];
    for (const record of records) samples.push(await this.#containers.statsSample(record.id));
    return samples;
  }

  exportContainer(options: { container: string }): Promise<Uint8Array> {
    return this.#containers.exportFilesystem(options.container);
  }

  exec(options: Parameters<EngineApi['exec']>[0]) {
    return this.#idle.busy(() => this.#containers.exec(options.container, options.command, options));
  }

  diff(options: { container: string }): Promise<WritableEntry[]> {
    return this.#containers.diff(options.container);
  }

  async commit(options: Parameters<EngineApi['commit']>[0]) {
    const changes = parseChanges(options.changes ?? []);
    const imageId = await this.#containers.commit(options.container, { tag: options.ref, author: options.author, message: options.message, changes, pause: options.pause });
    return { imageId };
  }

  rename(options: { container: string; name: string }) {
    return this.#containers.rename(options.container, options.name);
  }

  async wait(options: { container: string }) {
    return { exitCode: await this.#containers.wait(options.container) };
  }

  copyFrom(options: { container: string; path: string }) {
    return this.#containers.copyFrom(options.container, options.path);
  }

  copyTo(options: { container: string; path: string; tar: Uint8Array }) {
    return this.#containers.copyTo(options.container, options.path, options.tar);
  }

  async pruneContainers() {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const record of this.#containers.list()) {
      if (record.state === 'running') continue;
      reclaimed += (await this.#containers.view(record)).sizeRw;
      await this.#containers.rm(record.id);
      deleted.push(record.id);
    }
    return { deleted, reclaimed };
  }

  async attachCommand(options: Parameters<EngineApi['attachCommand']>[0]) {
    // An interactive session keeps the idle-time work away until it ends.
    const end = this.#idle.begin();
    try {
      const command =
        options.kind === 'exec'
          ? await this.#containers.attachCommand(this.#containers.find(options.container), options)
          : await this.#containers.attachCommand(await this.#containers.create(options.run, { volumes: await this.#parseVolumes(options.run.volumes) }));
      this.#sessions.set(command.ref, end);
      return command;
    } catch (error) {
      end();
      throw error;
    }
  }

  attachEnded(options: { ref: string; exitCode: number }) {
    this.#sessions.get(options.ref)?.();
    this.#sessions.delete(options.ref);
    return this.#containers.attachEnded(options.ref, options.exitCode);
  }

  // ---- volumes

  async volumeCreate(options: { name?: string }) {
    const name = options.name ?? crypto.getRandomValues(new Uint8Array(32)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '');
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) {
      throw new EngineError(`create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`);
    }
    if (!(await this.#backend.getMeta(`volume/${name}`))) {
      await this.#backend.commit({ put: { [`volume/${name}`]: { name, created: new Date().toISOString() } satisfies VolumeRecord } });
      this.#emit({ type: 'volume', action: 'create', name });
    }
    return { name };
  }

  async volumes(options: { size?: boolean } = {}) {
    const volumes = (await this.#backend.listMeta<VolumeRecord>('volume/')).map(([, v]) => ({ name: v.name, mountpoint: volumeDir(v.name), created: v.created }));
    if (!options.size) return volumes;
    const sized = [];
    for (const volume of volumes) {
      const entries = await this.#guest
        .request('list', { dir: volume.mountpoint })
        .then((r) => r.entries, () => []);
      sized.push({ ...volume, size: entries.reduce((sum, e) => sum + (e.type === 'f' ? e.size : 0), 0) });
    }
    return sized;
  }

  async volumeRm(options: { name: string; force?: boolean }) {
    if (!(await this.#backend.getMeta(`volume/${options.name}`))) throw new NotFoundError('volume', options.name);
    const users = this.#containers.volumesInUse(options.name);
    if (users.length && !options.force) {
      throw new ConflictError(`remove ${options.name}: volume is in use - [${users.map((u) => u.id).join(', ')}]`);
    }
    await this.#guest.request('rm', { path: volumeDir(options.name).replace(/\/_data$/, '') }).catch(() => {});
    await this.#backend.commit({ delete: [`volume/${options.name}`] });
    this.#emit({ type: 'volume', action: 'destroy', name: options.name });
  }

  // ---- networks

  #networkSettings(view: ContainerView) {
    const defaultBridge = view.networks.bridge;
    return {
      Bridge: '',
      SandboxID: '',
      Ports: portMap(view.ports, view.state === 'running' ? view.exposedPorts : [], false),
      // Top-level addresses describe the default bridge network only, as in Docker.
      Gateway: defaultBridge?.gateway ?? '',
      IPAddress: defaultBridge?.ipAddress ?? '',
      IPPrefixLen: defaultBridge?.ipAddress ? 16 : 0,
      MacAddress: defaultBridge?.macAddress ?? '',
      Networks: Object.fromEntries(
        Object.entries(view.networks).map(([name, n]) => {
          const network = this.#networks.list().find((r) => r.id === n.networkId);
          const prefix = network?.subnet ? Number(network.subnet.split('/')[1]) : 0;
          return [
            name,
            {
              IPAMConfig: null,
              Links: null,
              Aliases: n.aliases.length ? n.aliases : null,
              NetworkID: n.networkId,
              EndpointID: n.ipAddress ? n.networkId.slice(0, 32) + view.id.slice(0, 32) : '',
              Gateway: n.gateway,
              IPAddress: n.ipAddress,
              IPPrefixLen: n.ipAddress ? prefix : 0,
              MacAddress: n.macAddress,
              DNSNames: name === 'bridge' || !n.ipAddress ? null : [view.name, ...n.aliases, view.id.slice(0, 12)],
            },
          ];
        }),
      ),
    };
  }

  async networkCreate(options: Parameters<EngineApi['networkCreate']>[0]) {
    const record = await this.#networks.create(options);
    return { id: record.id };
  }

  async networks(): Promise<NetworkView[]> {
    const members = this.#containers.networkMembers();
    return this.#networks.list().map((n) => ({
      id: n.id,
      name: n.name,
      driver: n.driver,
      scope: 'local' as const,
      created: n.created,
      subnet: n.subnet,
      gateway: n.gateway,
      internal: n.internal,
      labels: n.labels,
      containers: members
        .filter((m) => m.running && (n.driver === 'bridge' ? m.endpoints[n.name]?.networkId === n.id : m.network === n.name))
        .map((m) => {
          const e = m.endpoints[n.name];
          return { id: m.id, name: m.name, ipv4Address: e ? `${e.ipAddress}/${n.subnet?.split('/')[1]}` : '', macAddress: e?.macAddress ?? '' };
        }),
    }));
  }

  async networkInspect(options: { network: string }) {
    const record = this.#networks.find(options.network);
    const view = (await this.networks()).find((n) => n.id === record.id)!;
    return {
      Name: view.name,
      Id: view.id,
      Created: view.created,
      Scope: 'local',
      Driver: view.driver,
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: null, Config: view.subnet ? [{ Subnet: view.subnet, Gateway: view.gateway }] : [] },
      Internal: view.internal,
      Attachable: false,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: Object.fromEntries(
        view.containers.map((c) => [c.id, { Name: c.name, EndpointID: view.id.slice(0, 32) + c.id.slice(0, 32), MacAddress: c.macAddress, IPv4Address: c.ipv4Address, IPv6Address: '' }]),
      ),
      Options: record.name === 'bridge' ? { 'com.docker.network.bridge.name': 'docker0', 'com.docker.network.bridge.default_bridge': 'true' } : {},
      Labels: view.labels,
    };
  }

  async networkRm(options: { network: string }) {
    const record = await this.#networks.remove(options.network, this.#containers.networkMembers());
    return { name: record.name };
  }

  networkConnect(options: Parameters<EngineApi['networkConnect']>[0]) {
    return this.#containers.connect(options.container, options.network, options);
  }

  networkDisconnect(options: Parameters<EngineApi['networkDisconnect']>[0]) {
    return this.#containers.disconnect(options.container, options.network);
  }

  async port(options: { container: string }) {
    return (await this.#containers.view(this.#containers.find(options.container))).ports;
  }

  /**
   * A byte stream to a container port inside the VM: by published host port (`{ port: 8080 }`, what a
   * listener on the host forwards), or straight to a container's port (`{ container, containerPort }`).
   */
  async connectPort(target: { port: number } | { container: string; containerPort: number }): Promise<PortConnection> {
    const members = this.#containers.networkMembers().filter((m) => m.running);
    let member;
    let containerPort;
    if ('port' in target) {
      member = members.find((m) => m.ports.some((p) => p.hostPort === target.port));
      if (!member) throw new NotFoundError('container', `publishing port ${target.port} (see 'docker ps')`);
      containerPort = member.ports.find((p) => p.hostPort === target.port)!.containerPort;
    } else {
      const record = this.#containers.find(target.container);
      member = members.find((m) => m.id === record.id);
      if (!member) throw new ConflictError(`Container ${record.id} is not running`);
      containerPort = target.containerPort;
    }
    const ip = this.#networks.targetIp(member);
    if (!ip) throw new EngineError(`container ${member.name} has no network (--network none): its ports cannot be reached`);
    return this.#tcp.connect(ip, containerPort);
  }

  async fetchPort(options: PortHttpRequest): Promise<PortHttpResponse> {
    const connection = await this.connectPort({ port: options.port });
    return httpExchange(connection, options);
  }

  async volumeInspect(options: { name: string }) {
    const volume = await this.#backend.getMeta<VolumeRecord>(`volume/${options.name}`);
    if (!volume) throw new NotFoundError('volume', options.name);
    return { CreatedAt: volume.created, Driver: 'local', Labels: null, Mountpoint: volumeDir(volume.name), Name: volume.name, Options: null, Scope: 'local' };
  }
}

/** `docker commit -c 'CMD ["sh"]'`: the few instructions commit accepts, as config changes. */
function parseChanges(changes: string[]): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const change of changes) {
    const match = /^\s*(\w+)\s+(.*)$/s.exec(change);
    if (!match) throw new EngineError(`invalid change: ${change}`);
    const [, keyword, rest] = match;
    const list = () => {
      try {
        const parsed = JSON.parse(rest);
        if (Array.isArray(parsed)) return parsed.map(String);
      } catch {
        /* shell form below */
      }
      return ['/bin/sh', '-c', rest];
    };
    switch (keyword.toUpperCase()) {
      case 'CMD':
        config.Cmd = list();
        break;
      case 'ENTRYPOINT':
        config.Entrypoint = list();
        break;
      case 'WORKDIR':
        config.WorkingDir = rest.trim();
        break;
      case 'USER':
        config.User = rest.trim();
        break;
      case 'ENV':
        config.Env = [...((config.Env as string[]) ?? []), rest.includes('=') ? rest.trim() : rest.trim().replace(/\s+/, '=')];
        break;
      case 'EXPOSE':
        config.ExposedPorts = { ...((config.ExposedPorts as object) ?? {}) };
        for (const port of rest.trim().split(/\s+/)) {
          if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(port)) throw new EngineError(`invalid containerPort: ${port}`);
          (config.ExposedPorts as Record<string, object>)[port.includes('/') ? port.toLowerCase() : `${port}/tcp`] = {};
        }
        break;
      case 'LABEL': {
        const labels: Record<string, string> = { ...((config.Labels as Record<string, string>) ?? {}) };
        for (const [, key, quoted, bare] of rest.matchAll(/([^\s=]+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/g)) labels[key] = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : bare;
        config.Labels = labels;
        break;
      }
      case 'VOLUME':
        config.Volumes = { ...((config.Volumes as object) ?? {}) };
        for (const path of list()[0] === '/bin/sh' ? rest.trim().split(/\s+/) : list()) (config.Volumes as Record<string, object>)[path] = {};
        break;
      case 'ONBUILD':
        config.OnBuild = [...((config.OnBuild as string[]) ?? []), rest.trim()];
        break;
      default:
        throw new EngineError(`${keyword} is not a valid change command`);
    }
  }
  return config;
}

/** Docker's port maps: `{"8000/tcp": [{HostIp, HostPort}]}`; exposed ports without a binding map to null. */
function portMap(bindings: { hostIp: string; hostPort: number; containerPort: number; protocol: string }[], exposed: number[], asked: boolean) {
  const map: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const port of exposed) map[`${port}/tcp`] = null;
  for (const b of bindings) {
    const key = `${b.containerPort}/${b.protocol}`;
    (map[key] ??= []).push({ HostIp: asked && b.hostIp === '0.0.0.0' ? '' : b.hostIp, HostPort: b.hostPort ? String(b.hostPort) : '' });
  }
  return map;
}
