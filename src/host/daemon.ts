/**
 * The daemon side of the app: the VM and the engine, together in a Web Worker so the page stays
 * responsive while v86 emulates and the engine hashes and packs layers (like dockerd running apart from
 * the docker CLI). The page talks to it through `DaemonApi` (Comlink).
 */
import * as Comlink from 'comlink';
import { restoreBrowserMachine, startBrowserMachine } from '../vm/browser.ts';
import type { Machine } from '../vm/machine.ts';
import { Engine, type BaseImage } from '../engine/engine.ts';
import { IdbBackend } from '../engine/store/idb.ts';
import { MemoryBackend } from '../engine/store/backend.ts';
import type { BlobBackend } from '../engine/store/backend.ts';
import { serveGuestDocker } from '../engine/cli/guest-bridge.ts';
import { browserRegistryOptions } from './registry-access.ts';
import type { RegistryClientOptions } from '../engine/registry/client.ts';
import { parseDockerfile, lintDockerfile, type ContextEntry } from '../engine/dockerfile/index.ts';
import type { ChangeEvent, EngineApi } from '../engine/api.ts';
import type { BuildEvent } from '../engine/build/events.ts';
import { toBase64 } from '../engine/util/base64.ts';
import { createEngineContext, type EngineLessonContext } from '../lessons/engine-context.ts';
import { evaluateStep, type StepResult } from '../lessons/checks.ts';
import type { Step } from '../lessons/schema.ts';

/** Where the learner's workspace appears in the guest: `docker build .` there sees the editor's files. */
export const GUEST_WORKSPACE = '/workspace';

/** How long after the VM is up before the warm-up starts (the page finishes loading first). */
const WARM_UP_DELAY_MS = 500;

export type EngineMethod = Exclude<keyof EngineApi, 'subscribe' | 'build'>;

export class Daemon {
  #machine: Machine | null = null;
  #engine: Engine | null = null;
  #backend: BlobBackend | null = null;
  #builds = new Map<number, AbortController>();
  #workspace = new Map<string, string>();
  #storageWarning: string | null = null;
  #lessons: EngineLessonContext | null = null;
  #vmOptions: { base: URL; baseImages: BaseImage[] } | null = null;
  #registry: RegistryClientOptions = {};
  #serialListeners: ((bytes: Uint8Array) => void)[] = [];
  #changeListeners: ((event: ChangeEvent) => void)[] = [];
  #vmListeners: ((event: { kind: 'restarting' | 'restarted' | 'failed' | 'warning'; message: string }) => void)[] = [];
  #watchdog: ReturnType<typeof setTimeout> | null = null;
  #restarting = false;
  #checkpoints = new Map<string, { state: ArrayBuffer; meta: [string, unknown][] }>();

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
    const options = { assetsUrl, onProgress };
    const base = new URL(options.assetsUrl, self.location.href);
    const baseImages: BaseImage[] = await fetch(new URL('base/images.json', base)).then((r) => {
      if (!r.ok) throw new Error(`could not download VM asset ${new URL('base/images.json', base)}: HTTP ${r.status}`);
      return r.json();
    });
    options.onProgress({ step: 'Opening the image store', value: 0.02 });
    try {
      this.#backend = store.ephemeral ? new MemoryBackend() : await IdbBackend.open({ name: engineDbName(store.storageNamespace) });
      if (!store.ephemeral && !(await this.#holdStoreLock(engineDbName(store.storageNamespace)))) {
        this.#storageWarning =
          'Layerlab is open in another tab too. Both share your saved images and containers, but each runs its own VM: what runs in one is not running in the other, and changes show up there after a reload. Close the other tab to avoid surprises.';
      }
    } catch (error) {
      this.#backend = new MemoryBackend();
      this.#storageWarning = `Images and containers will not survive a reload: ${(error as Error).message}`;
    }
    this.#vmOptions = { base, baseImages };
    // The app's root is the folder above the VM assets (`vm/`).
    this.#registry = await browserRegistryOptions({ appRoot: new URL('../', base), allowed: access.registry !== false });
    await this.#startVm(options.onProgress);
    return { storageWarning: this.#storageWarning };
  }

  /** The first tab to open a store holds its lock for as long as it lives; later tabs learn they are second. */
  async #holdStoreLock(name: string): Promise<boolean> {
    const locks = (navigator as Navigator & { locks?: LockManager }).locks;
    if (!locks) return true;
    return new Promise((resolve) => {
      void locks.request(`layerlab-store:${name}`, { ifAvailable: true }, (lock) => {
        resolve(lock !== null);
        return lock ? new Promise<void>(() => {}) : undefined; // held until the worker ends
      });
    });
  }

  /** Restores the VM and opens the engine on it (at boot, and again when the watchdog restarts the VM). */
  async #startVm(onProgress: (progress: { step: string; value: number }) => void, checkpoint?: ArrayBuffer): Promise<void> {
    const { base, baseImages } = this.#vmOptions!;
    this.#machine = checkpoint ? await restoreBrowserMachine(checkpoint) : await startBrowserMachine({ assetsUrl: base.href, onProgress });
    this.#engine = await Engine.open({
      backend: this.#backend!,
      guest: this.#machine,
      baseImages,
      baseLayerUrl: (file) => new URL(`base/${file}`, base).href,
      checkpoint: !!checkpoint,
      registry: this.#registry,
    });
    serveGuestDocker({ engine: this.#engine, guest: this.#machine });
    this.#lessons = createEngineContext({ engine: this.#engine, guest: this.#machine });
    this.#workspace.clear();
    for (const listener of this.#serialListeners) this.#attachSerial(listener);
    for (const listener of this.#changeListeners) this.#engine.subscribe(listener);
    this.#startWatchdog();
    // Once the shell is usable: the bridge network up and python's layer image in the VM's share, before
    // the learner's first `docker run` needs them.
    const engine = this.#engine;
    setTimeout(() => void engine.warmUp(), WARM_UP_DELAY_MS);
  }

  /**
   * The watchdog: the agent must answer a `hello` every few seconds. If it doesn't (the guest hung, or
   * v86 threw), the VM is restarted from the snapshot and the engine reopened on the same store: images,
   * volumes and stopped containers come back; the editor and lessons are on the page, untouched.
   */
  #startWatchdog(): void {
    if (this.#watchdog) clearTimeout(this.#watchdog);
    const machine = this.#machine;
    let misses = 0;
    const check = async () => {
      if (this.#machine !== machine) return; // a newer VM has its own watchdog
      if (!this.#restarting) {
        // Generous: the agent answers nothing while it unpacks a big layer (python's takes many seconds
        // under emulation on a slow machine), and that is not a hang.
        const alive = await machine!.request('hello', {}, { timeoutMs: 20_000 }).then(() => true, () => false);
        misses = alive ? 0 : misses + 1;
        if (misses >= 3) {
          void this.restartVm('the VM stopped answering');
          return;
        }
      }
      this.#watchdog = setTimeout(check, 5000);
    };
    this.#watchdog = setTimeout(check, 5000);
  }

  /** Replaces the VM with a fresh one restored from the snapshot (also the learner's "Restart VM"). */
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
    this.#attachSerial(listener);
  }

  writeSerial(data: string): void {
    this.#require().machine.writeSerial(data);
  }

  async resizeTerminal(cols: number, rows: number): Promise<void> {
    await this.#require().machine.request('spawn', { argv: ['/bin/stty', '-F', '/dev/ttyS0', 'rows', String(rows), 'cols', String(cols)] });
  }

  // ---- workspace mirror in the guest

  /** Mirrors the editor's files into /workspace in the guest (only what changed). */
  async syncWorkspace(files: { path: string; data: Uint8Array }[]): Promise<void> {
    const { machine } = this.#require();
    const seen = new Set<string>();
    const requests: Promise<unknown>[] = [];
    // All requests are queued to the agent at once, in this tick: a `docker build .` typed right after an
    // edit reaches the agent behind them, so it packs the new files.
    for (const file of files) {
      seen.add(file.path);
      const encoded = toBase64(file.data);
      if (this.#workspace.get(file.path) === encoded) continue;
      this.#workspace.set(file.path, encoded);
      requests.push(
        machine.request('write', { path: `${GUEST_WORKSPACE}/${file.path}`, data: encoded, mode: contextMode(file.path, file.data) & 0o777 }).catch((error) => {
          this.#workspace.delete(file.path);
          throw error;
        }),
      );
    }
    for (const path of [...this.#workspace.keys()]) {
      if (seen.has(path)) continue;
      this.#workspace.delete(path);
      requests.push(machine.request('rm', { path: `${GUEST_WORKSPACE}/${path}` }).catch(() => {}));
    }
    await Promise.all(requests);
  }

  // ---- engine

  async build(
    options: { id: number; files: { path: string; data: Uint8Array }[]; dockerfile: string; tag: string },
    onEvent: (event: BuildEvent) => void,
  ): Promise<{ imageId?: string; error?: string; line?: number; lints: { line: number; severity: string; message: string }[] }> {
    const { engine } = this.#require();
    const controller = new AbortController();
    this.#builds.set(options.id, controller);
    const context: ContextEntry[] = options.files.map((f) => ({ path: f.path, mode: contextMode(f.path, f.data), data: f.data }));
    const text = new TextDecoder().decode(options.files.find((f) => f.path === options.dockerfile)?.data ?? new Uint8Array());
    const parsed = parseDockerfile({ text });
    const knownTags = (await engine.images()).flatMap((image) => image.repoTags);
    const lints = parsed.errors.length ? [] : lintDockerfile({ dockerfile: parsed, knownTags }).map((l) => ({ line: l.line, severity: l.severity, message: l.message }));
    try {
      const result = await engine.build({ dockerfile: text, context, tags: [options.tag], signal: controller.signal, onEvent });
      return { imageId: result.imageId, lints };
    } catch (error) {
      return { error: (error as Error).message, line: (error as { line?: number }).line, lints };
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

  /**
   * A lesson step's checkpoint: the VM's whole state and the store's metadata, in memory. Rewinding puts
   * both back, so a learner can experiment and return to the start of the step. The last few are kept.
   * (Blobs are content-addressed and stay; an image removed after the checkpoint comes back by metadata,
   * with its layers still unpacked in the restored VM.)
   */
  async checkpoint(key: string): Promise<void> {
    const { machine } = this.#require();
    if (this.#restarting) return;
    const state = await machine.saveState();
    const meta = await this.#backend!.listMeta<unknown>('');
    this.#checkpoints.delete(key);
    this.#checkpoints.set(key, { state, meta });
    while (this.#checkpoints.size > 4) this.#checkpoints.delete(this.#checkpoints.keys().next().value!);
  }

  hasCheckpoint(key: string): boolean {
    return this.#checkpoints.has(key);
  }

  async rewind(key: string): Promise<void> {
    const saved = this.#checkpoints.get(key);
    if (!saved) throw new Error('this step has no checkpoint to go back to (it began before the page was loaded)');
    this.#restarting = true;
    try {
      for (const controller of this.#builds.values()) controller.abort();
      await this.#machine?.destroy();
      const now = await this.#backend!.listMeta<unknown>('');
      const keep = new Set(saved.meta.map(([k]) => k));
      await this.#backend!.commit({ delete: now.map(([k]) => k).filter((k) => !keep.has(k)), put: Object.fromEntries(saved.meta) });
      await this.#startVm(() => {}, saved.state);
      this.#vmListeners.forEach((l) => l({ kind: 'restarted', message: 'Back at the start of this step: the VM, images and containers are as they were then.' }));
    } finally {
      this.#restarting = false;
    }
  }

  /** A lesson's "reset": no containers, only the base images, no remembered build. */
  async resetLesson(): Promise<void> {
    const { engine } = this.#require();
    for (const container of await engine.ps({ all: true })) await engine.rm({ container: container.id, force: true }).catch(() => {});
    for (const image of await engine.images()) {
      if (image.repoTags.some((tag) => /^(busybox|python):/.test(tag))) continue;
      await engine.rmi({ ref: image.id, force: true }).catch(() => {});
    }
    this.#lessons!.resetBuilds();
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

/** The engine's IndexedDB name: the main app's is unchanged, each embed gets its own. */
export function engineDbName(namespace?: string): string {
  return namespace ? `layerlab-engine@${namespace}` : 'layerlab-engine';
}

/** Workspace files have no modes: scripts (`#!`) are executable, everything else 0644. */
function contextMode(path: string, data: Uint8Array): number {
  const script = data[0] === 0x23 && data[1] === 0x21;
  return 0o100000 | (script || path.endsWith('.sh') ? 0o755 : 0o644);
}

Comlink.expose(new Daemon());
