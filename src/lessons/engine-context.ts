/**
 * `LessonContext` over the real engine (`EngineApi`) and the VM's agent: what lesson checks read in the
 * app's worker and in `layerlab lesson verify`. No DOM, no Node: it only talks to the engine API and to a
 * guest that can `spawn` programs (vm/agent/PROTOCOL.md).
 *
 * Builds are observed through the engine's change feed (`build` events carry BuildEvents), so a build
 * started by `docker build` typed in the guest terminal counts as much as one started by the app.
 */
import type { ChangeEvent, EngineApi } from '../engine/api.ts';
import { spawnInGuest, type SpawnGuest } from '../engine/guest-spawn.ts';
import type { BuildEvent } from '../engine/index.ts';
import type {
  LessonBuildStep,
  BuildSummary,
  LessonContainer,
  ExecResult,
  LessonImageConfig,
  LessonImage,
  LessonLayer,
  LessonContext,
  LessonVolume,
} from './context.ts';

/** The part of the VM the context needs: the agent's `spawn` op. `Machine` (and any engine `Guest`) fits. */
export type { SpawnGuest };

export interface EngineContextOptions {
  engine: EngineApi;
  guest: SpawnGuest;
  /** Where build events come from (default: `engine.subscribe`). Returns an unsubscribe function. */
  subscribe?: (listener: (event: ChangeEvent) => void) => () => void;
  /** Milliseconds a program run by a check may take (default 30 s). */
  execTimeoutMs?: number;
}

export interface EngineLessonContext extends LessonContext {
  /** Forget the last build (a lesson reset). */
  resetBuilds(): void;
  /** Feed a build event by hand (when builds are observed some other way). */
  observeBuild(event: BuildEvent): void;
  /** Stop listening to the engine. */
  close(): void;
}

type Layers = Awaited<ReturnType<EngineApi['imageLayers']>>;

const CONFIG_FIELDS = ['Cmd', 'Entrypoint', 'Env', 'WorkingDir', 'User', 'ExposedPorts', 'Labels'] as const;

function isNotFound(error: unknown): boolean {
  const message = (error as Error)?.message ?? String(error);
  return (error as { name?: string })?.name === 'NotFoundError' || /no such (image|container)|not found|invalid reference/i.test(message);
}

/** The config fields checks read; Docker's `null`s become absent. */
function configView(config: Record<string, unknown> | null | undefined): LessonImageConfig {
  const view: Record<string, unknown> = {};
  for (const field of CONFIG_FIELDS) {
    const value = config?.[field];
    if (value === null || value === undefined || value === '') continue;
    view[field] = value;
  }
  return view as LessonImageConfig;
}

export function createEngineContext(options: EngineContextOptions): EngineLessonContext {
  const { engine, guest } = options;
  const execTimeoutMs = options.execTimeoutMs ?? 30_000;
  // Images are immutable by id: their layers (and the file lists in them) never change.
  const layersById = new Map<string, Promise<Layers>>();

  let last: BuildSummary | null = null;
  let current: { steps: Map<string, LessonBuildStep>; order: string[] } | null = null;

  function observeBuild(event: BuildEvent): void {
    switch (event.type) {
      case 'start':
        current = { steps: new Map(), order: [] };
        return;
      case 'step-done': {
        current ??= { steps: new Map(), order: [] };
        const key = `${event.step.n}`;
        if (!current.steps.has(key)) current.order.push(key);
        current.steps.set(key, { line: event.step.line, instruction: event.step.instruction, cached: event.cached, layerSize: event.layer?.size ?? 0 });
        return;
      }
      case 'done': {
        const steps = current ? current.order.map((k) => current!.steps.get(k)!) : [];
        last = { tag: event.tags[0] ?? null, steps };
        current = null;
        return;
      }
      case 'error': {
        const steps = current ? current.order.map((k) => current!.steps.get(k)!) : [];
        last = { tag: null, steps };
        current = null;
        return;
      }
      default:
        return;
    }
  }

  const unsubscribe = (options.subscribe ?? ((l) => engine.subscribe(l)))((event) => {
    if (event.type === 'build') observeBuild(event.event);
  });

  async function layersOf(id: string): Promise<Layers> {
    let p = layersById.get(id);
    if (!p) {
      p = engine.imageLayers({ ref: id });
      layersById.set(id, p);
      p.catch(() => layersById.delete(id));
    }
    return p;
  }

  async function run(argv: string[]): Promise<ExecResult> {
    try {
      return await spawnInGuest(guest, argv, { timeoutMs: execTimeoutMs });
    } catch (error) {
      // A program that cannot be executed: report it like a shell would.
      return { exit: 127, stdout: '', stderr: (error as Error)?.message ?? String(error) };
    }
  }

  return {
    async image(ref: string): Promise<LessonImage | null> {
      let inspect;
      try {
        inspect = await engine.inspectImage({ ref });
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
      const layers = await layersOf(inspect.Id);
      const views: LessonLayer[] = layers.layers.map((l) => ({
        diffID: l.diffID,
        createdBy: l.createdBy,
        size: l.size,
        files: l.changes.map((c) => ({ path: c.path, kind: c.kind, size: c.size })),
      }));
      return {
        id: inspect.Id,
        tags: inspect.RepoTags ?? [],
        layers: views,
        history: layers.history.map((h) => ({ createdBy: h.createdBy, emptyLayer: h.emptyLayer })),
        config: configView(inspect.Config),
        size: inspect.Size ?? layers.totalBytes,
      };
    },

    async containers(): Promise<LessonContainer[]> {
      const all = await engine.ps({ all: true, size: true });
      return Promise.all(
        all.map(async (c) => ({
          id: c.id,
          name: c.name,
          image: c.image,
          state: c.state,
          exitCode: c.state === 'running' ? null : c.exitCode,
          writable: (await engine.diff({ container: c.id }).catch(() => [])).map((w) => ({ path: w.path, kind: w.kind, size: w.size })),
          sizeRw: c.sizeRw,
          sizeRootFs: c.sizeRootFs,
        })),
      );
    },

    async volumes(): Promise<LessonVolume[]> {
      return (await engine.volumes()).map((v) => ({ name: v.name, mountpoint: v.mountpoint }));
    },

    lastBuild(): BuildSummary | null {
      return last;
    },

    exec: run,

    async containerExec(container: string, argv: string[]): Promise<ExecResult> {
      try {
        const r = await engine.exec({ container, command: argv });
        return { exit: r.exitCode, stdout: r.stdout, stderr: r.stderr };
      } catch (error) {
        return { exit: 126, stdout: '', stderr: (error as Error)?.message ?? String(error) };
      }
    },

    resetBuilds() {
      last = null;
      current = null;
    },
    observeBuild,
    close() {
      unsubscribe();
    },
  };
}
