/**
 * The app's Backend (src/ui/backend.ts) on the real engine and VM, which run in a Web Worker (daemon.ts).
 * This side only adapts: engine data → the UI's view models, UI actions → engine calls.
 */
import { LineTail } from '../engine/util/tail.ts';
import * as Comlink from 'comlink';
import type { Backend, BuildRequest, BuildResult, EngineView } from '../ui/backend.ts';
import { applyTransfer, newTransfer, type TransferVM } from '../ui/panels/pulls.ts';
import { BootError } from '../ui/boot/boot.ts';
import type { BuildDecoration, LintMarker } from '../ui/editor/types.ts';
import type { FileNodeVM, ImageVM, LayerVM, WritableLayerVM } from '../ui/layers/model.ts';
import type { BuildLogVM, BuildStepVM, ContainerRowVM, ImageRowVM } from '../ui/panels/types.ts';
import type { TerminalBridge } from '../ui/terminal/port.ts';
import type { WorkspaceFile } from '../ui/workspace/files.ts';
import type { Daemon, EngineMethod } from './daemon.ts';
import type { ChangeEvent, ContainerView, EngineApi, ImageLayersView, PortHttpRequest, WritableEntry } from '../engine/api.ts';
import type { BuildEvent } from '../engine/build/events.ts';
import { containerStatus } from '../engine/format.ts';
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
  const worker = new Worker(new URL('./daemon.ts', import.meta.url), { type: 'module', name: 'layerlab-daemon' });
  const daemon = Comlink.wrap<Daemon>(worker);
  const assetsUrl = new URL(options.assetsUrl ?? 'vm/', location.href).href;
  // The snapshot lookup (and this browser's decompressed copy) starts while the page mounts.
  void daemon.prefetch(assetsUrl);
  const call: Call = (method, opts) => daemon.call(method, opts) as never;
  const listeners = new Set<(view: EngineView) => void>();
  const writable = new Map<string, WritableEntry[]>();
  let view: EngineView = { images: [], containers: [], writable: [] };
  let booted = false;
  /** Said once the app listens: another tab has the store, or storage is unavailable. */
  let bootWarning: string | null = null;
  let refreshTimer: ReturnType<typeof setTimeout> | null = null;
  let buildIds = 0;
  let syncing: Promise<void> = Promise.resolve();

  async function refresh(): Promise<void> {
    refreshTimer = null;
    const [images, containers] = await Promise.all([call('images', {}), call('ps', { all: true })]);
    view = {
      images: images.map(
        (image): ImageRowVM => ({ id: image.id, tags: image.repoTags.length ? image.repoTags : ['<none>:<none>'], size: image.size, created: image.created, layerCount: image.layerCount ?? 0 }),
      ),
      containers: containers.map(containerRow),
      writable: containers.map(
        (c): WritableLayerVM => ({ containerName: c.name, containerId: c.id, image: c.imageId, state: c.state, entries: (writable.get(c.id) ?? []).map(({ path, kind, size }) => ({ path, kind, size })) }),
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
          scheduleRefresh();
        }, () => {});
      }
    }
  }

  function scheduleRefresh(): void {
    if (!booted) return;
    refreshTimer ??= setTimeout(() => void refresh().catch(() => {}), 60);
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
  let workspaceDockerfile = '';
  let terminalBuild: BuildLog | null = null;
  const terminalBuildListeners = new Set<(update: { log: BuildLogVM; decorations: BuildDecoration[]; finished: boolean; imageId?: string }) => void>();

  function onTerminalBuildEvent(event: BuildEvent): void {
    if (appBuilds > 0 && !terminalBuild) return;
    // The workspace's Dockerfile gives the log its `[1/N] FROM` line, when the build is of that file.
    if (event.type === 'start') terminalBuild = new BuildLog(sameDockerfile(workspaceDockerfile, event.steps) ? workspaceDockerfile : undefined);
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
    if (event.type !== 'build') scheduleRefresh();
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
      await refresh();
    },

    connectTerminal(port: TerminalBridge) {
      void daemon.onSerial(Comlink.proxy((bytes: Uint8Array) => port.write(bytes)));
      const offData = port.onData((data) => void daemon.writeSerial(data));
      let resizeTimer: ReturnType<typeof setTimeout> | null = null;
      const offResize = port.onResize((cols, rows) => {
        if (resizeTimer) clearTimeout(resizeTimer);
        resizeTimer = setTimeout(() => void daemon.resizeTerminal(cols, rows).catch(() => {}), 150);
      });
      // The snapshot's prompt was printed before this page existed: ask the shell for a fresh one.
      void daemon.writeSerial('\n');
      return () => {
        offData();
        offResize();
      };
    },

    /** Resolves when these files (and every earlier sync) are in the guest. */
    syncWorkspace(files: WorkspaceFile[]): Promise<void> {
      const dockerfile = files.find((f) => f.path === 'Dockerfile')?.content;
      workspaceDockerfile = typeof dockerfile === 'string' ? dockerfile : '';
      if (!booted) return syncing;
      const payload = files.map((f) => ({ path: f.path, data: toBytes(f.content) }));
      syncing = syncing.then(() => daemon.syncWorkspace(payload)).catch(() => {});
      return syncing;
    },

    async build(request: BuildRequest): Promise<BuildResult> {
      const id = ++buildIds;
      appBuilds++;
      request.signal.addEventListener('abort', () => void daemon.cancelBuild(id), { once: true });
      const dockerfileFile = request.files.find((f) => f.path === request.dockerfile);
      const log = new BuildLog(typeof dockerfileFile?.content === 'string' ? dockerfileFile.content : undefined);
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

function containerRow(c: ContainerView): ContainerRowVM {
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
    size: c.sizeRw,
    virtualSize: c.sizeRootFs,
    exitCode: c.exitCode ?? undefined,
    ports: (c.ports ?? []).map((p) => ({ hostIp: p.hostIp, hostPort: p.hostPort, containerPort: p.containerPort })),
  };
}

/** Engine layers (with config-only history entries between them) → the layer view's model. */
function imageVM(layers: ImageLayersView): ImageVM {
  const result: LayerVM[] = [];
  let index = 0;
  const builtHere = layers.history.some((h) => h.line);
  for (const entry of layers.history) {
    const layer = entry.layerIndex === null ? undefined : layers.layers[entry.layerIndex];
    result.push({
      index: index++,
      digest: layer?.diffID ?? '',
      instruction: entry.instruction ?? instructionOf(entry.createdBy),
      line: entry.line ?? 0,
      size: layer?.size ?? 0,
      changedFiles: layer?.changes.length ?? 0,
      emptyLayer: !layer,
      tree: layer ? fileTree(layer.changes) : [],
      base: builtHere ? !entry.line : false,
    });
  }
  return { id: layers.id, tags: layers.repoTags, layers: result };
}

/** `/bin/sh -c #(nop)  ENV a=b` → `ENV a=b`; `/bin/sh -c echo hi` → `RUN echo hi`. */
function instructionOf(createdBy: string): string {
  const nop = /^\/bin\/sh -c #\(nop\)\s+(.*)$/s.exec(createdBy);
  if (nop) return nop[1].trim();
  if (/^(RUN|COPY|ADD|WORKDIR|ENV|CMD|ENTRYPOINT|LABEL|EXPOSE|USER|VOLUME|ARG|SHELL|STOPSIGNAL|HEALTHCHECK)\b/.test(createdBy)) return createdBy;
  const run = /^(?:\|\d+ (?:\S+=\S* )*)?\/bin\/sh -c (.*)$/s.exec(createdBy);
  return run ? `RUN ${run[1]}` : createdBy;
}

function fileTree(changes: ImageLayersView['layers'][number]['changes']): FileNodeVM[] {
  const root: FileNodeVM = { name: '', path: '/', type: 'dir', size: 0, children: [] };
  const byPath = new Map<string, FileNodeVM>([['/', root]]);
  const ensureDir = (path: string): FileNodeVM => {
    const existing = byPath.get(path);
    if (existing) return existing;
    const parentPath = path.slice(0, path.lastIndexOf('/')) || '/';
    const node: FileNodeVM = { name: path.slice(path.lastIndexOf('/') + 1), path, type: 'dir', size: 0, children: [] };
    ensureDir(parentPath).children!.push(node);
    byPath.set(path, node);
    return node;
  };
  for (const change of [...changes].sort((a, b) => a.path.localeCompare(b.path))) {
    const isDir = change.type === 'dir';
    const node = isDir ? ensureDir(change.path) : undefined;
    if (node) {
      node.mark = change.kind;
      continue;
    }
    const parent = ensureDir(change.path.slice(0, change.path.lastIndexOf('/')) || '/');
    const leaf: FileNodeVM = { name: change.path.slice(change.path.lastIndexOf('/') + 1), path: change.path, type: change.type === 'symlink' ? 'symlink' : 'file', size: change.size, mark: change.kind };
    parent.children!.push(leaf);
    byPath.set(change.path, leaf);
  }
  return root.children!;
}

/**
 * A build's steps came from this Dockerfile text: each step's instruction is on its line. (A build typed in
 * the terminal may be of another folder's Dockerfile; then its log shows no FROM line rather than a wrong one.)
 */
export function sameDockerfile(text: string, steps: { line: number; endLine: number; instruction: string }[]): boolean {
  if (!text || !steps.length) return false;
  const lines = text.split('\n');
  const words = (s: string) => s.replace(/\\\s*$/gm, ' ').split(/\s+/).filter(Boolean).join(' ').toLowerCase();
  return steps.every((step) => {
    const source = words(lines.slice(step.line - 1, step.endLine).join('\n'));
    const instruction = words(step.instruction);
    return source.length > 0 && (source.startsWith(instruction) || instruction.startsWith(source));
  });
}

/** Output lines kept per build step; earlier ones are counted and dropped. */
export const STEP_OUTPUT_LINES = 2000;

/** BuildEvents → the build log panel's model and the editor's per-line decorations. */
export class BuildLog {
  #steps: BuildStepVM[] = [];
  #output = new Map<BuildStepVM, LineTail>();
  #byN = new Map<number, BuildStepVM>();
  #decorations = new Map<number, BuildDecoration>();
  #state: BuildLogVM['state'] = 'running';
  #total = 1;
  #done = 0;
  #imageId?: string;
  #seconds?: number;
  #error?: string;
  #started = performance.now();
  #pulls: TransferVM[] = [];
  #fromLines: { line: number; image: string }[] = [];
  #stagesShown = new Set<string>();

  /** `dockerfile`: its text, for the `[1/N] FROM …` step of each stage (BuildKit shows one). */
  constructor(dockerfile?: string) {
    for (const [i, text] of (dockerfile ?? '').split('\n').entries()) {
      const from = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)/i.exec(text);
      if (from) this.#fromLines.push({ line: i + 1, image: from[1] });
    }
  }

  #showFrom(step: BuildEvent & { type: 'step-start' }): void {
    const key = step.step.stage || '';
    if (this.#stagesShown.has(key)) return;
    this.#stagesShown.add(key);
    const from = [...this.#fromLines].reverse().find((f) => f.line < step.step.line);
    if (!from) return;
    const label = `[${step.step.stage ? step.step.stage + ' ' : ''}1/${step.step.stageSteps}]`;
    const vm: BuildStepVM = { id: 0, name: `${label} FROM ${from.image}`, line: from.line, status: 'done', seconds: 0, output: [] };
    const at = this.#steps.indexOf(this.#byN.get(step.step.n)!);
    this.#steps.splice(at < 0 ? this.#steps.length : at, 0, vm);
    this.#steps.forEach((s, i) => (s.id = i + 1));
  }

  apply(event: BuildEvent): void {
    switch (event.type) {
      case 'start':
        this.#total = event.steps.length || 1;
        this.#steps.push({ id: 1, name: '[internal] load build definition from Dockerfile', line: 0, status: 'done', seconds: 0, output: [] });
        for (const step of event.steps) {
          const vm: BuildStepVM = { id: this.#steps.length + 1, name: `[${step.stage ? step.stage + ' ' : ''}${step.stageStep}/${step.stageSteps}] ${step.instruction}`, line: step.line, status: 'waiting', output: [] };
          this.#byN.set(step.n, vm);
          if (!step.configOnly) this.#steps.push(vm);
        }
        break;
      case 'step-start':
        this.#showFrom(event);
        this.#byN.get(event.step.n)!.status = 'running';
        break;
      case 'step-output': {
        const vm = this.#byN.get(event.step.n)!;
        let tail = this.#output.get(vm);
        if (!tail) this.#output.set(vm, (tail = new LineTail(STEP_OUTPUT_LINES)));
        tail.push(...event.text.replace(/\n$/, '').split('\n'));
        break;
      }
      case 'step-done': {
        const vm = this.#byN.get(event.step.n)!;
        vm.status = event.cached ? 'cached' : 'done';
        vm.seconds = event.ms / 1000;
        this.#done++;
        this.#decorations.set(event.step.line, {
          line: event.step.line,
          status: event.step.configOnly && !event.layer ? 'config' : event.cached ? 'cached' : 'rebuilt',
          size: event.layer?.size,
          why: event.cached ? undefined : event.missReasons.map((r) => `- ${r}`).join('\n') || undefined,
        });
        break;
      }
      case 'step-error': {
        const vm = this.#byN.get(event.step.n)!;
        vm.status = 'error';
        vm.error = event.message;
        this.#decorations.set(event.step.line, { line: event.step.line, status: 'failed', why: event.message });
        break;
      }
      case 'done':
        this.#state = 'succeeded';
        this.#imageId = event.imageId;
        this.#seconds = event.ms / 1000;
        this.#steps.push({ id: this.#steps.length + 1, name: 'exporting to image', line: 0, status: 'done', seconds: 0, output: [`writing image ${event.imageId} done`, ...event.tags.map((t) => `naming to docker.io/library/${t.includes(':') ? t : t + ':latest'} done`)] });
        break;
      case 'error':
        this.fail(event.message);
        break;
      case 'pull': {
        const index = this.#pulls.findIndex((p) => p.ref === event.ref);
        const current = index >= 0 ? this.#pulls[index] : newTransfer(event.ref, 'pull');
        let next = applyTransfer(current, event.event);
        if (event.event.kind === 'status' && event.event.text.startsWith('Status:')) next = applyTransfer(next, { kind: 'done' });
        if (index >= 0) this.#pulls[index] = next;
        else this.#pulls.push(next);
        break;
      }
    }
  }

  fail(message: string): void {
    this.#pulls = this.#pulls.map((p) => (p.state === 'running' ? applyTransfer(p, { kind: 'error', message }) : p));
    // Steps that never started are not shown as if they ran (BuildKit lists only what it started).
    this.#steps = this.#steps.filter((s) => s.status !== 'waiting');
    this.#state = 'failed';
    this.#error = message;
    this.#seconds = (performance.now() - this.#started) / 1000;
  }

  cancel(): void {
    this.#state = 'cancelled';
  }

  snapshot(): BuildLogVM {
    return {
      state: this.#state,
      steps: this.#steps.map((s) => ({ ...s, output: this.#output.get(s)?.lines() ?? [...s.output] })),
      progress: this.#state === 'succeeded' ? 1 : this.#done / this.#total,
      imageId: this.#imageId,
      seconds: this.#seconds,
      error: this.#error,
      ...(this.#pulls.length ? { pulls: [...this.#pulls] } : {}),
    };
  }

  decorations(): BuildDecoration[] {
    return [...this.#decorations.values()];
  }
}
