/**
 * The app's Backend (src/ui/backend.ts) on the real engine and VM, which run in a Web Worker (daemon-worker.ts, daemon.ts).
 * This side only adapts: engine data → the UI's view models, UI actions → engine calls.
 */
import * as Comlink from 'comlink';
import type { Backend, BuildRequest, BuildOutcome, EngineView } from '../ui/backend.ts';
import { applyTransfer, newTransfer, type TransferVM } from '../ui/panels/pulls.ts';
import { BootError } from '../ui/boot/boot.ts';
import type { BuildDecoration, LintMarker } from '../ui/editor/types.ts';
import type { ImageVM, MergedNodeVM, WritableLayerVM } from '../ui/layers/model.ts';
import { engineLayerUpTo, filesystemLayers, imageVM, mergedNodes } from '../ui/layers/from-engine.ts';
import type { BuildLogVM, ContainerRowVM, ImageRowVM } from '../ui/panels/types.ts';
import { BuildLog } from '../ui/panels/build-log.ts';
import { keepUnchanged, sameData } from '../ui/panels/unchanged.ts';
import type { TerminalBridge } from '../ui/terminal/port.ts';
import type { WorkspaceFile } from '../ui/workspace/files.ts';
import type { EngineMethod } from './daemon.ts';
import { takeDaemon, vmAssetsUrl } from './daemon-start.ts';
import type { ChangeEvent, ContainerView, EngineApi, ImageSummaryView, PortHttpRequest, WritableEntry } from '../engine/api.ts';
import type { BuildEvent } from '../engine/build/events.ts';
import { containerStatus } from '../client/format.ts';
import type { Step } from '../lessons/schema.ts';

type Call = <M extends EngineMethod>(method: M, options: Parameters<EngineApi[M]>[0]) => Promise<Awaited<ReturnType<EngineApi[M]>>>;

const encoder = new TextEncoder();
const toBytes = (content: string | Uint8Array) => (typeof content === 'string' ? encoder.encode(content) : content);

export interface BrowserBackendOptions {
  /** VM assets folder, relative to the page (default `vm/`). */
  assetsUrl?: string;
  /** Keeps this engine's image store apart from others on the origin (embeds); default: the main app's. */
  storageNamespace?: string;
  /** Keep images and containers in memory only (nothing survives a reload). */
  ephemeral?: boolean;
  /** May pulls reach registries through the server's proxy (default yes; embeds only when their page allows it). */
  registry?: boolean;
}

export function createBrowserBackend(options: BrowserBackendOptions = {}): Backend & { syncWorkspace(files: WorkspaceFile[]): Promise<void> } {
  const assetsUrl = vmAssetsUrl(options.assetsUrl);
  const { daemon } = takeDaemon(assetsUrl);
  const call: Call = (method, opts) => daemon.call(method, opts) as never;
  const listeners = new Set<(view: EngineView) => void>();
  const writable = new Map<string, WritableEntry[]>();
  let view: EngineView = { images: [], containers: [], writable: [] };
  let booted = false;
  /** Said once the app listens: another tab has the store, or storage is unavailable. */
  let bootWarning: string | null = null;
  let refreshTimer: ReturnType<typeof setTimeout> | null = null;
  /** Refreshes run one at a time: one that read the lists earlier must not answer last (its stale image list would drop a new image). */
  let refreshRunning = false;
  let refreshAgain = false;
  /** What the next refresh asks the engine for again; the rest comes from the last answer and the writable feed. */
  const stale = { images: true, containers: true };
  let imageList: ImageSummaryView[] = [];
  let containerList: ContainerView[] = [];
  let buildIds = 0;
  let syncing: Promise<void> = Promise.resolve();

  async function refresh(): Promise<void> {
    const ask = { ...stale };
    stale.images = stale.containers = false;
    // Without sizes (a look into each writable layer in the VM): the rows take theirs from the writable feed.
    // Only the lists events said changed are asked for: a `docker run` changes containers, not images.
    const [images, containers] = await Promise.all([ask.images ? call('images', {}) : imageList, ask.containers ? call('ps', { all: true }) : containerList]).catch((error: unknown) => {
      // Asked again next time.
      stale.images ||= ask.images;
      stale.containers ||= ask.containers;
      throw error;
    });
    imageList = images;
    containerList = containers;
    // Rows and lists equal to the last ones stay the same objects, so the panels redraw only what changed.
    view = {
      images: keepUnchanged(
        view.images,
        images.map((image): ImageRowVM => ({ id: image.id, tags: image.repoTags.length ? image.repoTags : ['<none>:<none>'], size: image.size, created: image.created, layerCount: image.layerCount ?? 0 })),
        (row) => row.id,
      ),
      containers: keepUnchanged(view.containers, containers.map((c) => containerRow(c, writable.get(c.id) ?? [])), (row) => row.id, sameContainerRow),
      writable: keepUnchanged(
        view.writable,
        containers.map(
          (c): WritableLayerVM => ({ containerName: c.name, containerId: c.id, image: c.imageId, state: c.state, entries: (writable.get(c.id) ?? []).map(({ path, kind, size }) => ({ path, kind, size })) }),
        ),
        (row) => row.containerId ?? row.containerName,
      ),
      transfers,
    };
    for (const listener of listeners) listener(view);
    // A container we have no listing for yet (e.g. a stopped one after a reload): ask once.
    for (const c of containers) {
      if (!writable.has(c.id)) {
        writable.set(c.id, []);
        void call('diff', { container: c.id }).then((entries) => {
          writable.set(c.id, entries);
          scheduleRefresh({});
        }, () => {});
      }
    }
  }

  /** Refresh the view soon (events come in bursts); `what` the engine is asked for again (default: everything). */
  function scheduleRefresh(what: { images?: boolean; containers?: boolean } = { images: true, containers: true }): void {
    if (what.images) stale.images = true;
    if (what.containers) stale.containers = true;
    refreshAgain = true;
    if (booted && !refreshRunning) refreshSoon();
  }

  function refreshSoon(): void {
    refreshTimer ??= setTimeout(() => void runRefreshes(), 60);
  }

  /** One refresh, with no other running meanwhile; a failure reaches the caller. */
  async function refreshOnce(): Promise<void> {
    refreshRunning = true;
    refreshAgain = false;
    try {
      await refresh();
    } finally {
      refreshRunning = false;
    }
  }

  /** Refreshes until no event asked for another (those that come during one are answered by the next). */
  async function runRefreshes(): Promise<void> {
    refreshTimer = null;
    if (refreshRunning) return;
    while (refreshAgain) await refreshOnce().catch(() => {});
  }

  /** Recent pulls and pushes, newest last (a few are kept so a finished one stays readable). */
  let transfers: TransferVM[] = [];
  function onTransfer(event: Extract<ChangeEvent, { type: 'transfer' }>): void {
    let index = -1;
    transfers.forEach((t, i) => {
      if (t.ref === event.ref && t.action === event.action && t.state === 'running') index = i;
    });
    if (index < 0) {
      transfers = [...transfers.filter((t) => t.state === 'running' || transfers.indexOf(t) >= transfers.length - 3), newTransfer(event.ref, event.action)];
      index = transfers.length - 1;
    }
    const next = transfers.slice();
    next[index] = applyTransfer(transfers[index], event.event);
    transfers = next;
    view = { ...view, transfers };
    for (const listener of listeners) listener(view);
  }

  /** Builds the app started (their events come back through build()); other builds are the terminal's. */
  let appBuilds = 0;
  let terminalBuild: BuildLog | null = null;
  const terminalBuildListeners = new Set<(update: { log: BuildLogVM; decorations: BuildDecoration[]; finished: boolean; imageId?: string }) => void>();

  function onTerminalBuildEvent(event: BuildEvent): void {
    if (appBuilds > 0 && !terminalBuild) return;
    if (event.type === 'start') terminalBuild = new BuildLog();
    if (!terminalBuild) return;
    terminalBuild.apply(event);
    const finished = event.type === 'done' || event.type === 'error';
    const update = { log: terminalBuild.snapshot(), decorations: terminalBuild.decorations(), finished, ...(event.type === 'done' ? { imageId: event.imageId } : {}) };
    if (finished) terminalBuild = null;
    for (const listener of terminalBuildListeners) listener(update);
  }

  function onChange(event: ChangeEvent): void {
    if (event.type === 'build') onTerminalBuildEvent(event.event);
    if (event.type === 'writable') writable.set(event.id, event.entries);
    if (event.type === 'container' && event.action === 'destroy') writable.delete(event.id);
    if (event.type === 'transfer') {
      onTransfer(event);
      if (event.event.kind !== 'done' && event.event.kind !== 'error') return;
    }
    // A container's events change the container list; its writable feed only its row's files and size.
    // Image events may change how containers name their image: both lists.
    if (event.type === 'container') scheduleRefresh({ containers: true });
    else if (event.type === 'writable' || event.type === 'volume') scheduleRefresh({});
    else if (event.type !== 'build') scheduleRefresh();
  }

  const backend = {
    async boot({ onProgress }: { onProgress(p: { step: string; value: number }): void; signal: AbortSignal }) {
      if (typeof WebAssembly !== 'object') throw new BootError('unsupported-browser', 'This browser has no WebAssembly, which the Linux VM needs.', 'WebAssembly');
      try {
        const { storageWarning } = await daemon.boot(assetsUrl, Comlink.proxy(onProgress), {
          storageNamespace: options.storageNamespace,
          ephemeral: options.ephemeral,
        }, { registry: options.registry !== false });
        bootWarning = storageWarning;
      } catch (error) {
        const message = (error as Error).message ?? String(error);
        if (/VM asset/.test(message)) throw new BootError('asset-failed', message, message.match(/https?:\/\/\S+/)?.[0]);
        throw new BootError('crashed', message);
      }
      booted = true;
      await daemon.subscribe(Comlink.proxy(onChange));
      // The shell does not wait for the panels: they fill in when the first refresh answers.
      refreshAgain = true;
      void runRefreshes();
    },

    connectTerminal(port: TerminalBridge) {
      void daemon.onSerial(Comlink.proxy((bytes: Uint8Array) => port.write(bytes)));
      const offData = port.onData((data) => void daemon.writeSerial(data));
      let resizeTimer: ReturnType<typeof setTimeout> | null = null;
      const offResize = port.onResize((cols, rows) => {
        if (resizeTimer) clearTimeout(resizeTimer);
        resizeTimer = setTimeout(() => void daemon.resizeTerminal(cols, rows).catch(() => {}), 150);
      });
      // The shell's fresh prompt (the daemon asked for it as the VM came up) arrives through onSerial.
      return () => {
        offData();
        offResize();
      };
    },

    /** Resolves when these files (and every earlier sync) are in the guest. */
    syncWorkspace(files: WorkspaceFile[]): Promise<void> {
      if (!booted) return syncing;
      const payload = files.map((f) => ({ path: f.path, data: toBytes(f.content) }));
      syncing = syncing.then(() => daemon.syncWorkspace(payload)).catch(() => {});
      return syncing;
    },

    async build(request: BuildRequest): Promise<BuildOutcome> {
      const id = ++buildIds;
      appBuilds++;
      request.signal.addEventListener('abort', () => void daemon.cancelBuild(id), { once: true });
      const log = new BuildLog();
      request.onLog(log.snapshot());
      // Each event gives the panel a new snapshot: a copy of the log, which stays small because each
      // step keeps only its last STEP_OUTPUT_LINES lines.
      const result = await daemon.build(
        { id, files: request.files.map((f) => ({ path: f.path, data: toBytes(f.content) })), dockerfile: request.dockerfile, tag: request.tag },
        Comlink.proxy((event: BuildEvent) => {
          log.apply(event);
          request.onLog(log.snapshot());
        }),
      ).finally(() => appBuilds--);
      const lints: LintMarker[] = result.lints.map((l) => ({ line: l.line, severity: l.severity as LintMarker['severity'], message: l.message, source: 'layerlab' }));
      if (result.error) {
        if (request.signal.aborted) log.cancel();
        else log.fail(result.error);
        request.onLog(log.snapshot());
        if (result.line) lints.push({ line: result.line, severity: 'error', message: result.error, source: 'build' });
        return { ok: false, error: result.error, decorations: log.decorations(), lints };
      }
      request.onLog(log.snapshot());
      scheduleRefresh();
      return { ok: true, imageId: result.imageId, decorations: log.decorations(), lints };
    },

    onTerminalBuild(listener: (update: { log: BuildLogVM; decorations: BuildDecoration[]; finished: boolean; imageId?: string }) => void) {
      terminalBuildListeners.add(listener);
    },

    fetchPort(request: PortHttpRequest) {
      return call('fetchPort', request);
    },

    async getImageFiles({ image, layer }: { image: ImageVM; layer: number }): Promise<MergedNodeVM[]> {
      const upTo = engineLayerUpTo(image, layer);
      if (upTo < 0) return [];
      return mergedNodes(await call('imageFiles', { ref: image.id, layer: upTo }), filesystemLayers(image).map((l) => l.index));
    },

    async getImage(id: string): Promise<ImageVM | null> {
      try {
        return imageVM(await call('imageLayers', { ref: id }));
      } catch (error) {
        console.error(`layerlab: could not read the layers of ${id}:`, error);
        return null;
      }
    },

    subscribe(listener: (view: EngineView) => void) {
      listeners.add(listener);
      listener(view);
      return () => listeners.delete(listener);
    },

    onVmEvent(listener: (event: { kind: 'restarting' | 'restarted' | 'failed' | 'warning'; message: string }) => void) {
      if (bootWarning) listener({ kind: 'warning', message: bootWarning });
      void daemon.onVmEvent(
        Comlink.proxy((event: { kind: 'restarting' | 'restarted' | 'failed' | 'warning'; message: string }) => {
          listener(event);
          scheduleRefresh();
        }),
      );
    },

    pageLoaded: () => void daemon.pageLoaded(),

    /** Tests only (main.ts exposes it with `?test-hooks`): make the VM stop answering. */
    simulateHang: () => daemon.simulateHang(),

    lessons: {
      evaluate: (step: Step) => daemon.evaluateStep(step),
      reset: () => daemon.resetLesson(),
      checkpoint: (key: string) => daemon.checkpoint(key),
      rewind: async (key: string) => {
        await daemon.rewind(key);
        writable.clear();
        scheduleRefresh();
      },
    },

    actions: {
      async run(image: string, o: { name?: string; detach?: boolean; command?: string[] } = {}) {
        await call('run', { image, name: o.name, command: o.command, detach: true });
      },
      async start(container: string) {
        await call('start', { container });
      },
      async stop(container: string) {
        await call('stop', { container });
      },
      async pause(container: string) {
        await call('pause', { container });
      },
      async unpause(container: string) {
        await call('unpause', { container });
      },
      async rm(container: string, o: { force?: boolean } = {}) {
        await call('rm', { container, force: o.force });
      },
      async commit(container: string, o: { tag?: string; message?: string } = {}) {
        await call('commit', { container, ref: o.tag, message: o.message });
      },
      async rmi(image: string, o: { force?: boolean } = {}) {
        await call('rmi', { ref: image, force: o.force });
      },
      save(image: string, o: { format?: 'docker' | 'oci' } = {}) {
        return call('save', { refs: [image], format: o.format ?? 'docker' });
      },
      load(data: Uint8Array) {
        return call('load', { data });
      },
      async pull(ref: string) {
        await call('pull', { ref });
      },
    },
  };
  return backend;
}

/** Rows equal but for their status text, which is recomputed from the times they carry (statusAt). */
function sameContainerRow(a: ContainerRowVM, b: ContainerRowVM): boolean {
  const comparable = (row: ContainerRowVM) => (row.startedAt === undefined ? row : { ...row, status: '' });
  return sameData(comparable(a), comparable(b));
}

/** A container's row; its size is its writable layer's files, as the writable feed last listed them. */
function containerRow(c: ContainerView, writable: WritableEntry[]): ContainerRowVM {
  const size = writable.reduce((sum, entry) => sum + entry.size, 0);
  return {
    id: c.id,
    name: c.name,
    image: c.image,
    imageId: c.imageId,
    command: c.command.join(' '),
    state: c.state,
    status: containerStatus({ state: c.state, exitCode: c.exitCode, startedAt: c.startedAt, finishedAt: c.finishedAt }),
    startedAt: c.startedAt,
    finishedAt: c.finishedAt,
    size,
    virtualSize: c.sizeRootFs - c.sizeRw + size,
    exitCode: c.exitCode ?? undefined,
    ports: (c.ports ?? []).map((p) => ({ hostIp: p.hostIp, hostPort: p.hostPort, containerPort: p.containerPort })),
  };
}
