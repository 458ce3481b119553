/**
 * The sandbox's side of the postMessage API: obeys commands from the allowed parent (see messages.ts),
 * and turns app state changes into events for it. Events go only to the allowed origins
 * (`postMessage(message, origin)` per origin, never `'*'`), so nothing leaks to a page that was not
 * listed, even if the frame ends up somewhere unexpected.
 */
import { untrack } from 'svelte';
import type { AppState, WorkspaceFile } from '../ui/index.ts';
import type { Backend } from '../ui/backend.ts';
import { checkPath } from '../ui/workspace/files.ts';
import { judgeMessage } from './messages.ts';
import { PROTOCOL_VERSION, SOURCE, type Command, type LayerSummary, type PanelName, type SandboxEvent } from './protocol.ts';

export class SandboxBridge {
  #win: Window;
  #origins: readonly string[];
  #handler: ((command: Command) => Promise<void>) | null = null;
  #queue: Command[] = [];

  constructor(win: Window, origins: readonly string[]) {
    this.#win = win;
    this.#origins = origins;
    win.addEventListener('message', (event) => {
      const verdict = judgeMessage(event, { parent: win.parent === win ? null : win.parent, origins: this.#origins });
      if (!verdict.ok) {
        // Unlisted origins and strangers are ignored without an answer (an answer would tell them we exist).
        if (verdict.reason === 'malformed') console.warn(`[layerlab embed] ignored a malformed command: ${verdict.detail}`);
        else if (verdict.reason === 'origin') console.warn(`[layerlab embed] ignored a command from ${verdict.detail}, which is not in origins=`);
        return;
      }
      if (this.#handler) void this.#run(verdict.command);
      else this.#queue.push(verdict.command);
    });
  }

  /** Commands received before the app existed are run now, in order. */
  handle(handler: (command: Command) => Promise<void>): void {
    this.#handler = handler;
    void (async () => {
      for (const command of this.#queue.splice(0)) await this.#run(command);
    })();
  }

  async #run(command: Command): Promise<void> {
    try {
      await this.#handler!(command);
      if (command.id) this.send({ type: 'result', id: command.id, ok: true });
    } catch (e) {
      if (command.id) this.send({ type: 'result', id: command.id, ok: false, error: (e as Error).message });
    }
  }

  send(event: SandboxEvent): void {
    if (this.#win.parent === this.#win) return;
    const message = { source: SOURCE, ...event };
    for (const origin of this.#origins) this.#win.parent.postMessage(message, origin);
  }
}

export interface WireOptions {
  app: AppState;
  backend: Backend;
  bridge: SandboxBridge;
  panels: PanelName[];
  lesson: string | null;
  /** Typed into the terminal once the VM is up. */
  command: string | null;
}

/** Connects the app to the bridge: commands act on the app, app changes become events. */
export function wireApp({ app, backend, bridge, panels, lesson, command }: WireOptions): () => void {
  // Resolves when the VM is up; commands that need it wait here.
  let vmReady!: () => void;
  const booted = new Promise<void>((resolve) => (vmReady = resolve));

  /** The workspace saved and mirrored into the guest (so `docker build .` in the terminal sees it). */
  async function settle(): Promise<void> {
    await app.workspace.flush();
    const sync = (backend as { syncWorkspace?(files: WorkspaceFile[]): unknown }).syncWorkspace;
    await sync?.call(backend, $state.snapshot(app.workspace.files) as WorkspaceFile[]);
  }

  /**
   * The build's last log update can land after `app.build()` returns (the worker's progress callbacks and
   * its return value travel on different message channels), so wait for the log to leave `running`.
   */
  function buildSettled(): Promise<void> {
    return new Promise((resolve) => {
      const stop = $effect.root(() => {
        $effect(() => {
          if (app.buildLog.state === 'running') return;
          resolve();
          queueMicrotask(() => stop());
        });
      });
    });
  }

  function type(text: string): void {
    if (app.layout.panels.terminal) app.bottomTab = 'terminal';
    app.terminal.input(text + '\r');
  }

  bridge.handle(async (cmd) => {
    switch (cmd.type) {
      case 'set-files': {
        const next: WorkspaceFile[] = cmd.replace ? [] : app.workspace.files.filter((f) => !(f.path in cmd.files));
        for (const [raw, content] of Object.entries(cmd.files)) {
          next.push({ path: checkPath(raw, next.map((f) => f.path)), content });
        }
        app.workspace.replace(next, app.workspace.get(app.workspace.active) && next.some((f) => f.path === app.workspace.active) ? app.workspace.active : 'Dockerfile');
        await booted.then(settle);
        return;
      }
      case 'build': {
        await booted;
        if (cmd.tag) app.workspace.setTag(cmd.tag);
        await app.build();
        await buildSettled();
        if (app.buildLog.state !== 'succeeded') throw new Error(app.buildLog.error ?? `the build ended ${app.buildLog.state}`);
        return;
      }
      case 'run':
        await booted;
        await settle();
        type(cmd.command);
        return;
    }
  });

  /**
   * An embed with a lesson follows its steps like the lesson player does: the current step's checks are
   * evaluated (in the engine's worker) whenever engine state changes; each step that passes is announced
   * with `step-completed` and the next one becomes current.
   */
  async function followLesson(id: string, checks: NonNullable<Backend['lessons']>): Promise<void> {
    const { loadLessons } = await import('../lessons/browser-loader.ts');
    const found = loadLessons().find((l) => l.id === id || l.id.startsWith(`${id}-`));
    if (!found) return;
    let step = 0;
    let busy = false;
    let again = false;
    const evaluate = async () => {
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        while (step < found.steps.length) {
          const result = await checks.evaluate(found.steps[step]).catch(() => null);
          if (!result?.complete) break;
          bridge.send({ type: 'step-completed', lesson: found.id, step: step + 1, title: found.steps[step].title });
          step++;
        }
      } finally {
        busy = false;
        if (again) {
          again = false;
          void evaluate();
        }
      }
    };
    app.onEngineChange(() => void evaluate());
  }

  let lastBuild: string = app.buildLog.state;
  const containers = new Map<string, string>();

  const stop = $effect.root(() => {
    let announced = false;
    $effect(() => {
      if (!app.boot.done || announced) return;
      announced = true;
      untrack(() => {
        vmReady();
        bridge.send({ type: 'ready', version: PROTOCOL_VERSION, panels, lesson });
        if (lesson && backend.lessons) void followLesson(lesson, backend.lessons);
        if (command) void settle().then(() => type(command));
      });
    });
    $effect(() => {
      if (app.boot.error) bridge.send({ type: 'error', message: app.boot.error.message });
    });
    $effect(() => {
      const log = app.buildLog;
      const tag = app.workspace.tag.trim() || 'app';
      if (log.state === lastBuild) return;
      const was = lastBuild;
      lastBuild = log.state;
      if (log.state === 'running') bridge.send({ type: 'build-started', tag });
      else if (was === 'running') untrack(() => void finished(tag));
    });
    // Likewise a newly built image with the workspace's tag (built from the terminal, say).
    let tagged: string | null = null;
    $effect(() => {
      const wanted = `${app.workspace.tag.trim() || 'app'}:latest`;
      const image = app.images.find((i) => i.tags.includes(wanted));
      if (!image || image.id === tagged) return;
      const first = tagged === null && app.selectedImageId === image.id;
      tagged = image.id;
      if (!first) untrack(() => void app.selectImage(image.id));
    });
    $effect(() => {
      const seen = new Set<string>();
      for (const c of app.containers) {
        seen.add(c.id);
        const previous = containers.get(c.id) ?? null;
        if (previous === c.state) continue;
        containers.set(c.id, c.state);
        bridge.send({ type: 'container-state', id: c.id, name: c.name, image: c.image, state: c.state, previous });
        // An embed shows what its example does: a new container's writable layer over its image.
        if (previous === null && c.state === 'running' && app.layout.panels.layers) {
          untrack(() => void app.selectImage(c.imageId).then(() => app.selectWritable(c.name)));
        }
      }
      for (const [id, state] of containers) {
        if (seen.has(id)) continue;
        containers.delete(id);
        bridge.send({ type: 'container-state', id, name: '', image: '', state: 'removed', previous: state });
      }
    });
  });

  async function finished(tag: string): Promise<void> {
    const log = $state.snapshot(app.buildLog);
    // Steps that made a layer, in Dockerfile order (config-only steps are not in the log's list).
    // (The log's `[1/N] FROM …` line is the base image, not a step of this build.)
    const steps = log.steps.filter((s) => s.line > 0 && (s.status === 'cached' || s.status === 'done') && !/^\[[^\]]*\] FROM /.test(s.name));
    const image = log.state === 'succeeded' && log.imageId ? await backend.getImage(log.imageId).catch(() => null) : null;
    // This build's layers are the top ones: pair them with its steps, so each knows its line and whether it was cached.
    const filesystem = (image?.layers ?? []).filter((l) => !l.emptyLayer);
    const own = filesystem.slice(Math.max(0, filesystem.length - steps.length));
    const stepOf = new Map(own.map((l, i) => [l.index, steps[steps.length - own.length + i]]));
    const firstOwn = own[0]?.index ?? Infinity;
    const layers: LayerSummary[] = (image?.layers ?? []).map((l) => {
      const step = stepOf.get(l.index);
      return {
        index: l.index,
        instruction: l.instruction,
        line: l.line || step?.line || 0,
        size: l.size,
        changedFiles: l.changedFiles,
        empty: l.emptyLayer,
        base: l.base || l.index < firstOwn,
        cached: step?.status === 'cached',
      };
    });
    const cachedSteps = steps.filter((s) => s.status === 'cached').length;
    bridge.send({
      type: 'build-finished',
      ok: log.state === 'succeeded',
      tag,
      imageId: log.imageId ?? null,
      error: log.state === 'succeeded' ? null : (log.error ?? log.state),
      seconds: log.seconds ?? null,
      layers,
      cachedSteps,
      builtSteps: steps.length - cachedSteps,
    });
  }

  return stop;
}
