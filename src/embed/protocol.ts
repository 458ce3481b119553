/**
 * The postMessage protocol between a host page and an embedded sandbox (embed.html in an iframe).
 * Every message is a plain object `{ source: 'layerlab', type, ... }`; anything else is ignored.
 * Documented for authors in docs/embed.md. Types only, plus two constants, so the loader stays tiny.
 */

export const SOURCE = 'layerlab';
/** Bumped on incompatible changes; sent in `loaded` and `ready`. */
export const PROTOCOL_VERSION = 1;

export type PanelName = 'editor' | 'layers' | 'terminal';

/** Build context files by path: `{ "Dockerfile": "FROM busybox\n…", "app/main.py": "…" }` (text only). */
export type FileMap = Record<string, string>;

// ---- host page → sandbox (commands). Give an `id` to get a `result` event back.

export type Command =
  /** Put files in the workspace; `replace: true` removes the others (default: merge). */
  | { type: 'set-files'; files: FileMap; replace?: boolean; id?: string }
  /** Build the workspace's Dockerfile; `tag` defaults to the workspace's (`app`). */
  | { type: 'build'; tag?: string; id?: string }
  /** Type a command into the sandbox's terminal (as if the learner had) and press Enter. */
  | { type: 'run'; command: string; id?: string };

// ---- sandbox → host page (events)

export interface LayerSummary {
  index: number;
  /** `RUN pip install …`, `COPY app.py .`; base image layers show how they were made. */
  instruction: string;
  /** Dockerfile line that made it (0 for base image layers). */
  line: number;
  /** Bytes of the layer (uncompressed tar). */
  size: number;
  changedFiles: number;
  /** A config-only step (ENV, CMD…): a history entry with no filesystem layer. */
  empty: boolean;
  /** From the base image rather than this Dockerfile. */
  base: boolean;
  /** Reused from the build cache (only for steps of this build). */
  cached: boolean;
}

export type SandboxEvent =
  /** The sandbox page is up and listening (the VM may still be starting). */
  | { type: 'loaded'; version: number }
  /** The VM is running: commands act at once from now on. */
  | { type: 'ready'; version: number; panels: PanelName[]; lesson: string | null }
  /** The page asks for this height in CSS pixels (the `height` parameter). */
  | { type: 'resize'; height: number }
  | { type: 'build-started'; tag: string }
  | {
      type: 'build-finished';
      ok: boolean;
      tag: string;
      imageId: string | null;
      error: string | null;
      seconds: number | null;
      /** Bottom-up, like `docker history` read upwards. Empty when the build failed. */
      layers: LayerSummary[];
      /** Steps that made or reused a layer: how many came from the cache, how many ran. */
      cachedSteps: number;
      builtSteps: number;
    }
  /** A container appeared, changed state, or was removed (`state: 'removed'`). */
  | { type: 'container-state'; id: string; name: string; image: string; state: string; previous: string | null }
  /** A lesson step's checks all passed (embeds with a `lesson`). */
  | { type: 'step-completed'; lesson: string; step: number; title: string }
  /** The answer to a command that carried an `id`. */
  | { type: 'result'; id: string; ok: boolean; error?: string }
  /** Something the host may want to show: the VM did not start, a files URL failed. */
  | { type: 'error'; message: string };

export type Message<T> = T & { source: typeof SOURCE };
