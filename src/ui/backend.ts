/**
 * The contract between the UI and the engine + VM. src/host/browser-backend.ts implements `Backend` on the real engine
 * (src/engine, src/machine); src/ui/fake/ implements it with fixtures for development and UI tests.
 * One options object per call, AbortSignal for long work, whole view-model snapshots for updates.
 */
import type { BootProgress } from './boot/boot.ts';
import type { BuildDecoration, LintMarker } from './editor/types.ts';
import type { ImageVM, MergedNodeVM, WritableLayerVM } from './layers/model.ts';
import type { Actions, BuildLogVM, ContainerRowVM, ImageRowVM, TransferVM } from './panels/types.ts';
import type { TerminalBridge } from './terminal/port.ts';
import type { WorkspaceFile } from './workspace/files.ts';
import type { Step } from '../lessons/schema.ts';
import type { StepResult } from '../lessons/checks.ts';
import type { PortHttpRequest, PortHttpResponse } from '../engine/api.ts';

export interface BuildRequest {
  /** The build context: every workspace file (the Dockerfile among them). */
  files: WorkspaceFile[];
  /** Path of the Dockerfile in `files`. */
  dockerfile: string;
  /** `app` → tagged `app:latest`. */
  tag: string;
  signal: AbortSignal;
  /** Called with the whole log whenever it changes (cheap to call often; the UI renders per frame). */
  onLog(log: BuildLogVM): void;
}

/** What the editor shows after a build (the engine's own BuildResult is the image and its steps). */
export interface BuildOutcome {
  ok: boolean;
  /** Image id (`sha256:…`) when ok. */
  imageId?: string;
  /** Per-line results for the editor: cached / rebuilt / failed, size, why the cache missed. */
  decorations: BuildDecoration[];
  /** Build errors (on the offending line) and teaching lints. */
  lints: LintMarker[];
  /** Short message when not ok. */
  error?: string;
}

/** What the engine's change feed gives the UI: everything the panels and the layer view draw. */
export interface EngineView {
  images: ImageRowVM[];
  containers: ContainerRowVM[];
  /** One per container that still exists (running or stopped), entries filling in live. */
  writable: WritableLayerVM[];
  /** Recent pulls and pushes (terminal, Images panel), newest last, with their progress. */
  transfers?: TransferVM[];
}

export interface Backend {
  /**
   * Restore the VM and get the shell ready, reporting named steps. Throw `BootError` (src/ui/boot/boot.ts)
   * with a specific kind for a clear message; any other error shows as "crashed" with its message.
   */
  boot(options: { onProgress(progress: BootProgress): void; signal: AbortSignal }): Promise<void>;
  /**
   * The page has loaded what it shows (the editor is up, or could not load): background work kept from
   * competing with that loading may begin (caching the VM snapshot in this browser).
   */
  pageLoaded?(): void;
  /** Pipe the terminal to the guest's serial console. Returns a disconnect function. */
  connectTerminal(port: TerminalBridge): () => void;
  build(request: BuildRequest): Promise<BuildOutcome>;
  /** Layers of one image for the layer view; null when it no longer exists. */
  getImage(id: string): Promise<ImageVM | null>;
  /**
   * The merged view "up to here": the files a container would see with the image's layers up to `layer`
   * (a view index) stacked, each with the layer its version comes from. Asked for one layer at a time.
   */
  getImageFiles(options: { image: ImageVM; layer: number }): Promise<MergedNodeVM[]>;
  /** Subscribe to engine state; called at once with the current view, then on every change. */
  subscribe(listener: (view: EngineView) => void): () => void;
  actions: Actions;
  /** Lesson checks, evaluated against the engine's real state (absent: no lessons, e.g. in some embeds). */
  lessons?: {
    evaluate(step: Step): Promise<StepResult>;
    /** Back to a clean engine: no containers, base images only. */
    reset(): Promise<void>;
    /** Remember the VM and engine state now (a step begins), under `key`. */
    checkpoint?(key: string): Promise<void>;
    /** Go back to the state remembered under `key`. */
    rewind?(key: string): Promise<void>;
  };
  /** The VM's health: the watchdog restarting a VM that stopped answering. */
  onVmEvent?(listener: (event: { kind: 'restarting' | 'restarted' | 'failed' | 'warning'; message: string }) => void): void;
  /**
   * Builds started elsewhere (`docker build` typed in the terminal): their log as it grows, and when they
   * end, the per-line results, so the Build log and the editor show them as they do the button's builds.
   */
  onTerminalBuild?(listener: (update: { log: BuildLogVM; decorations: BuildDecoration[]; finished: boolean; imageId?: string }) => void): void;
  /** One HTTP request to a published port (the Ports panel's preview, via src/preview/sw.ts). */
  fetchPort?(request: PortHttpRequest): Promise<PortHttpResponse>;
  /** Mirror the workspace into the VM (so `docker build .` in the terminal sees it). Called after each save. */
  syncWorkspace?(files: WorkspaceFile[]): void;
}
