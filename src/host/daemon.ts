/**
 * The daemon side of the app: the VM and the engine, together in a Web Worker so the page stays
 * responsive while v86 emulates and the engine hashes and packs layers (like dockerd running apart from
 * the docker CLI). The page talks to it through Comlink; the worker's entry, daemon-worker.ts, starts the
 * VM's restore (early-machine.ts) while this file loads.
 *
 * This file wires the parts together: daemon-store.ts (the store and its tab lock), watchdog.ts,
 * checkpoints.ts (lesson steps' rewind), workspace-mirror.ts (/workspace in the guest) and
 * editor-adapters.ts (the editor's builds, a lesson's reset).
 */
import * as Comlink from 'comlink';
import { restoreBrowserMachine, startBrowserMachine } from '../machine/browser.ts';
import { takeEarlyMachine } from './early-machine.ts';
import type { Machine } from '../machine/machine.ts';
import { Engine, type BaseImage, type EngineOptions, type OpenedStore } from '../engine/engine.ts';
import type { BlobBackend } from '../engine/store/backend.ts';
import { serveGuestDocker } from './guest-docker.ts';
import { browserRegistryOptions } from './registry-access.ts';
import type { RegistryClientOptions } from '../engine/registry/client.ts';
import type { ChangeEvent, EngineApi } from '../engine/api.ts';
import type { BuildEvent } from '../engine/build/events.ts';
import { createEngineContext, type EngineLessonContext } from '../lessons/engine-context.ts';
import { evaluateStep, type StepResult } from '../lessons/checks.ts';
import type { Step } from '../lessons/schema.ts';
import { openDaemonStore } from './daemon-store.ts';
import { Watchdog } from './watchdog.ts';
import { Checkpoints, restoreMeta } from './checkpoints.ts';
import { WorkspaceMirror } from './workspace-mirror.ts';
import { buildFromEditor, resetLesson, type EditorBuild, type EditorBuildResult } from './editor-adapters.ts';

export { GUEST_WORKSPACE } from './workspace-mirror.ts';
export { engineDbName } from './daemon-store.ts';

/** How long after the VM is up before the warm-up starts (the page finishes loading first). */
const WARM_UP_DELAY_MS = 500;

/** Serial output kept for the page until it listens (a prompt is a few dozen bytes). */
const SERIAL_BACKLOG_BYTES = 16 * 1024;

export type EngineMethod = Exclude<keyof EngineApi, 'subscribe' | 'build'>;

export class Daemon {
  #machine: Machine | null = null;
  #engine: Engine | null = null;
  #backend: BlobBackend | null = null;
  #builds = new Map<number, AbortController>();
  #workspace = new WorkspaceMirror();
  #storageWarning: string | null = null;
  #lessons: EngineLessonContext | null = null;
  #vmOptions: { base: URL; baseImages: BaseImage[] } | null = null;
  #registry: RegistryClientOptions = {};
  #serialListeners: ((bytes: Uint8Array) => void)[] = [];
  #changeListeners: ((event: ChangeEvent) => void)[] = [];
  #vmListeners: ((event: { kind: 'restarting' | 'restarted' | 'failed' | 'warning'; message: string }) => void)[] = [];
  #watchdog = new Watchdog();
  #restarting = false;
  #checkpoints = new Checkpoints();

  // Callbacks are separate arguments: Comlink proxies top-level arguments only.
  /**
   * `store.storageNamespace`: embeds pass one so their image store is not the main app's (engineDbName);
   * `store.ephemeral`: keep the store in memory (an embed that cannot tell who embeds it keeps nothing).
   */
  async boot(
    assetsUrl: string,
    onProgress: (progress: { step: string; value: number }) => void,
    store: { storageNamespace?: string; ephemeral?: boolean } = {},
    /** `registry`: may this engine reach registries (through the server's proxy)? Embeds only when their page allows it. */
    access: { registry?: boolean } = {},
  ): Promise<{ storageWarning: string | null }> {
    const base = new URL(assetsUrl, self.location.href);
    // The VM restores while the store opens: neither waits for the other.
    const machine = takeEarlyMachine(assetsUrl, onProgress);
    try {
      // Three independent waits, side by side: the worker's thread is mostly the restore's meanwhile, and
      // each answer waits for a moment between its steps.
      const [baseImages, opened, registry] = await Promise.all([
        fetch(new URL('base/images.json', base)).then((r): Promise<BaseImage[]> => {
          if (!r.ok) throw new Error(`could not download VM asset ${new URL('base/images.json', base)}: HTTP ${r.status}`);
          return r.json();
        }),
        openDaemonStore(store),
        // The app's root is the folder above the VM assets (`vm/`).
        browserRegistryOptions({ appRoot: new URL('../', base), allowed: access.registry !== false }),
      ]);
      ({ backend: this.#backend, storageWarning: this.#storageWarning } = opened);
      this.#vmOptions = { base, baseImages };
      this.#registry = registry;
    } catch (error) {
      void machine.then((m) => m.destroy(), () => {});
      throw error;
    }
    // The image store opens (and takes in the base images) while the VM restores: it needs no guest.
    const opened = Engine.openStore(this.#engineOptions());
    opened.catch(() => {});
    await this.#startVm(() => {}, { machine: await machine, freshPrompt: true, store: opened });
    return { storageWarning: this.#storageWarning };
  }

  /** The engine's options that do not depend on the VM. */
  #engineOptions(): Omit<EngineOptions, 'guest'> {
    const { base, baseImages } = this.#vmOptions!;
    return { backend: this.#backend!, baseImages, baseLayerUrl: (file) => new URL(`base/${file}`, base).href, registry: this.#registry };
  }

  /**
   * Restores the VM (or takes `from.machine`, already started) and opens the engine on it (at boot, and again
   * when the watchdog restarts the VM). `from.freshPrompt`: ask the shell for a prompt at once (the snapshot's
   * was printed before this page existed); what it prints before the page listens is kept for it.
   */
  async #startVm(
    onProgress: (progress: { step: string; value: number }) => void,
    from: { checkpoint?: ArrayBuffer; machine?: Machine; freshPrompt?: boolean; store?: Promise<OpenedStore> } = {},
  ): Promise<void> {
    const { base } = this.#vmOptions!;
    this.#machine = from.machine ?? (from.checkpoint ? await restoreBrowserMachine(from.checkpoint) : await startBrowserMachine({ assetsUrl: base.href, onProgress }));
    if (from.freshPrompt) {
      this.#keepSerialBacklog(this.#machine);
      this.#machine.writeSerial('\n');
    }
    const checkpoint = from.checkpoint;
    this.#engine = await Engine.open({ ...this.#engineOptions(), guest: this.#machine, checkpoint: !!checkpoint, store: from.store });
    // The fresh prompt's newline counts as typing, as it did when the page sent it: idle-time work waits
    // its quiet spell from here, as before.
    if (from.freshPrompt) this.#engine.noteTyping();
    serveGuestDocker({ engine: this.#engine, guest: this.#machine });
    this.#lessons = createEngineContext({ engine: this.#engine, guest: this.#machine });
    this.#workspace.clear();
    for (const listener of this.#serialListeners) this.#attachSerial(listener);
    for (const listener of this.#changeListeners) this.#engine.subscribe(listener);
    this.#watchdog.watch(this.#machine, {
      current: () => this.#machine,
      busy: () => this.#restarting,
      hung: () => void this.restartVm('the VM stopped answering'),
    });
    // Once the shell is usable: the bridge network up and python's layer image in the VM's share, before
    // the learner's first `docker run` needs them; then, in their idle time, a container start compiled.
    const engine = this.#engine;
    setTimeout(() => void engine.warmUp().then(() => engine.compileAhead()), WARM_UP_DELAY_MS);
  }

  /**
   * Replaces the VM with a fresh one restored from the snapshot: the learner's "Restart VM", and the
   * watchdog's when the VM hung (or v86 threw). The engine is reopened on the same store: images, volumes
   * and stopped containers come back; the editor and lessons are on the page, untouched.
   */
  async restartVm(reason = 'restart requested'): Promise<void> {
    if (this.#restarting) return;
    this.#restarting = true;
    const tell = (kind: 'restarting' | 'restarted' | 'failed' | 'warning', message: string) => this.#vmListeners.forEach((l) => l({ kind, message }));
    tell('restarting', `${reason}: restarting it from its snapshot…`);
    try {
      for (const controller of this.#builds.values()) controller.abort();
      await this.#machine?.destroy();
      await this.#startVm(() => {});
      tell('restarted', 'The VM was restarted. Images, volumes and stopped containers are back; running containers were stopped.');
    } catch (error) {
      tell('failed', `The VM could not be restarted: ${(error as Error).message}`);
    } finally {
      this.#restarting = false;
    }
  }

  onVmEvent(listener: (event: { kind: 'restarting' | 'restarted' | 'failed' | 'warning'; message: string }) => void): void {
    this.#vmListeners.push(listener);
  }

  /** For tests of the watchdog: make the guest stop answering, as a hung VM would. */
  simulateHang(): void {
    void this.#machine?.destroy();
  }

  #attachSerial(listener: (bytes: Uint8Array) => void): void {
    this.#machine?.onSerial((bytes) => listener(Comlink.transfer(bytes, [bytes.buffer])));
  }

  #require(): { engine: Engine; machine: Machine } {
    if (!this.#engine || !this.#machine) throw new Error('the VM is not running yet');
    return { engine: this.#engine, machine: this.#machine };
  }

  // ---- terminal (serial 0)

  onSerial(listener: (bytes: Uint8Array) => void): void {
    this.#serialListeners.push(listener);
    for (const bytes of this.#serialBacklog.splice(0)) listener(Comlink.transfer(bytes, [bytes.buffer]));
    this.#attachSerial(listener);
  }

  /** Serial output from before the page listened (the fresh prompt), at most SERIAL_BACKLOG_BYTES of it. */
  #serialBacklog: Uint8Array[] = [];

  #keepSerialBacklog(machine: Machine): void {
    let kept = 0;
    const stop = machine.onSerial((bytes) => {
      if (this.#serialListeners.length) return stop();
      if (kept + bytes.length > SERIAL_BACKLOG_BYTES) return;
      kept += bytes.length;
      this.#serialBacklog.push(bytes.slice());
    });
  }

  writeSerial(data: string): void {
    const { machine, engine } = this.#require();
    engine.noteTyping();
    machine.writeSerial(data);
  }

  async resizeTerminal(cols: number, rows: number): Promise<void> {
    await this.#require().machine.request('spawn', { argv: ['/bin/stty', '-F', '/dev/ttyS0', 'rows', String(rows), 'cols', String(cols)] });
  }

  // ---- workspace mirror in the guest

  /** Mirrors the editor's files into /workspace in the guest (only what changed). */
  async syncWorkspace(files: { path: string; data: Uint8Array }[]): Promise<void> {
    await this.#workspace.sync(this.#require().machine, files);
  }

  // ---- engine

  async build(options: EditorBuild & { id: number }, onEvent: (event: BuildEvent) => void): Promise<EditorBuildResult> {
    const { engine } = this.#require();
    const controller = new AbortController();
    this.#builds.set(options.id, controller);
    try {
      return await buildFromEditor(engine, options, controller.signal, onEvent);
    } finally {
      this.#builds.delete(options.id);
    }
  }

  cancelBuild(id: number): void {
    this.#builds.get(id)?.abort();
  }

  // ---- lessons: checks run here, next to the engine state they query

  async evaluateStep(step: Step): Promise<StepResult> {
    this.#require();
    return evaluateStep(step, this.#lessons!);
  }

  /** A lesson step's checkpoint (checkpoints.ts): the VM's state and the store's metadata, in memory. */
  async checkpoint(key: string): Promise<void> {
    const { machine } = this.#require();
    if (this.#restarting) return;
    await this.#checkpoints.take(key, machine, this.#backend!);
  }

  hasCheckpoint(key: string): boolean {
    return this.#checkpoints.has(key);
  }

  async rewind(key: string): Promise<void> {
    const saved = this.#checkpoints.get(key);
    this.#restarting = true;
    try {
      for (const controller of this.#builds.values()) controller.abort();
      await this.#machine?.destroy();
      await restoreMeta(this.#backend!, saved);
      await this.#startVm(() => {}, { checkpoint: saved.state });
      this.#vmListeners.forEach((l) => l({ kind: 'restarted', message: 'Back at the start of this step: the VM, images and containers are as they were then.' }));
    } finally {
      this.#restarting = false;
    }
  }

  /** A lesson's "reset": no containers, only the base images, no remembered build. */
  async resetLesson(): Promise<void> {
    const { engine } = this.#require();
    await resetLesson(engine, this.#lessons!);
  }

  /** Any other EngineApi method, by name (the page's adapter keeps the types). */
  async call(method: EngineMethod, options: unknown): Promise<unknown> {
    const engine = this.#require().engine as unknown as Record<string, (o: unknown) => Promise<unknown>>;
    return engine[method](options);
  }

  subscribe(listener: (event: ChangeEvent) => void): void {
    this.#changeListeners.push(listener);
    this.#require().engine.subscribe(listener);
  }
}
