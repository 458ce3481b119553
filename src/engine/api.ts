/**
 * The engine's public API: what the docker CLI verbs (cli/commands.ts), the app (through its worker) and
 * lesson checks call. One options object per call; long work takes an AbortSignal. Everything returned
 * is plain JSON-able data, so it crosses the worker boundary and the guest channel unchanged.
 */
import type { BuildEvent } from './build/events.ts';
import type { BuildOptions } from './build/builder.ts';
import type { DockerImageInspect } from './oci/image.ts';
import type { HistoryEntry } from './oci/types.ts';

export type ContainerState = 'created' | 'running' | 'exited';

export interface ImageSummaryView {
  id: string;
  repoTags: string[];
  created: string;
  /** Sum of the uncompressed layers, bytes. */
  size: number;
  layerCount: number;
}

export interface LayerView {
  index: number;
  diffID: string;
  /** The history entry that made it. */
  createdBy: string;
  /** Dockerfile line when the image was built here (from the last build of that tag). */
  line?: number;
  size: number;
  /** This layer's changes against the layers below it. */
  changes: { path: string; kind: 'A' | 'M' | 'D'; size: number; type: string }[];
}

export interface ImageLayersView {
  id: string;
  repoTags: string[];
  layers: LayerView[];
  /** All history entries, config-only steps included, in order (`layerIndex` is null for those). */
  history: { createdBy: string; emptyLayer: boolean; layerIndex: number | null; created?: string; line?: number; instruction?: string }[];
  /* line/instruction: the Dockerfile line and its text, for images built here (from the tag's last build). */
  totalBytes: number;
  wastedBytes: number;
  wasted: { path: string; bytes: number; layers: number[] }[];
}

export interface WritableEntry {
  path: string;
  kind: 'A' | 'C' | 'D';
  size: number;
  type: string;
}

export interface ContainerView {
  id: string;
  name: string;
  /** The reference the container was created with (`busybox`), and the image id. */
  image: string;
  imageId: string;
  command: string[];
  state: ContainerState;
  exitCode: number | null;
  created: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Bytes in the writable layer. */
  sizeRw: number;
  /** sizeRw + the image's size (Docker's "virtual size"). */
  sizeRootFs: number;
  mounts: { type: 'volume' | 'bind'; name?: string; source: string; destination: string }[];
}

export interface RunOptions {
  image: string;
  /** Overrides the image's CMD. */
  command?: string[];
  name?: string;
  entrypoint?: string[];
  env?: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  /** `-v name:/path` or `-v /guest/dir:/path`. */
  volumes?: string[];
  network?: 'none' | 'host' | 'default';
  memoryBytes?: number;
  pidsLimit?: number;
  autoRemove?: boolean;
  detach?: boolean;
  /** For attached runs: the output as it comes. */
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void;
  signal?: AbortSignal;
}

export type ChangeEvent =
  | { type: 'image'; action: 'create' | 'tag' | 'untag' | 'delete' | 'load'; id: string; ref?: string }
  | { type: 'container'; action: 'create' | 'start' | 'die' | 'stop' | 'kill' | 'destroy' | 'rename'; id: string; name: string; state: ContainerState; exitCode?: number | null }
  | { type: 'writable'; id: string; name: string; entries: WritableEntry[] }
  | { type: 'volume'; action: 'create' | 'destroy'; name: string }
  | { type: 'build'; event: BuildEvent };

export interface EngineApi {
  // ---- images
  build(options: BuildOptions): Promise<{ imageId: string; tags: string[] }>;
  images(options?: { all?: boolean }): Promise<ImageSummaryView[]>;
  history(options: { ref: string }): Promise<{ id: string; history: HistoryEntry[]; layerSizes: number[] }>;
  inspectImage(options: { ref: string }): Promise<DockerImageInspect>;
  imageLayers(options: { ref: string }): Promise<ImageLayersView>;
  tag(options: { source: string; target: string }): Promise<void>;
  rmi(options: { ref: string; force?: boolean }): Promise<({ untagged: string } | { deleted: string })[]>;
  save(options: { refs: string[]; format?: 'oci' | 'docker' }): Promise<Uint8Array>;
  load(options: { data: Uint8Array }): Promise<{ images: { id: string; tags: string[] }[]; warnings: string[] }>;
  pruneImages(options?: { all?: boolean }): Promise<{ deleted: string[]; reclaimed: number }>;

  // ---- containers
  create(options: RunOptions): Promise<ContainerView>;
  start(options: { container: string; onOutput?: RunOptions['onOutput'] }): Promise<ContainerView>;
  /** create + start; attached runs resolve when the process exits. */
  run(options: RunOptions): Promise<ContainerView>;
  stop(options: { container: string; timeoutSeconds?: number }): Promise<ContainerView>;
  kill(options: { container: string; signal?: string }): Promise<ContainerView>;
  restart(options: { container: string }): Promise<ContainerView>;
  rm(options: { container: string; force?: boolean; volumes?: boolean }): Promise<void>;
  ps(options?: { all?: boolean }): Promise<ContainerView[]>;
  inspectContainer(options: { container: string }): Promise<Record<string, unknown>>;
  logs(options: { container: string }): Promise<{ stream: 'stdout' | 'stderr'; text: string }[]>;
  /** Runs a process in a running container; resolves with its exit code and output. */
  exec(options: { container: string; command: string[]; env?: string[]; workdir?: string; user?: string; onOutput?: RunOptions['onOutput'] }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  diff(options: { container: string }): Promise<WritableEntry[]>;
  commit(options: { container: string; ref?: string; author?: string; message?: string; changes?: string[] }): Promise<{ imageId: string }>;
  wait(options: { container: string }): Promise<{ exitCode: number }>;
  /** `docker rename OLD NEW`. */
  rename(options: { container: string; name: string }): Promise<void>;
  /** `docker cp`: a tar holding one path of the container's filesystem, named by its last component. */
  copyFrom(options: { container: string; path: string }): Promise<Uint8Array>;
  /** `docker cp`: put the tar's one entry at `path` (into it when it is an existing directory). */
  copyTo(options: { container: string; path: string; tar: Uint8Array }): Promise<void>;
  pruneContainers(): Promise<{ deleted: string[]; reclaimed: number }>;
  /**
   * `run -it` / `exec -it` typed in the guest terminal: prepares the container (or exec) and returns the
   * crun command line the guest's docker client runs attached to its own terminal (vm/agent/PROTOCOL.md,
   * `cli-exec`); `attachEnded` reports how it ended.
   */
  attachCommand(
    options: { kind: 'run'; run: RunOptions } | { kind: 'exec'; container: string; command: string[]; env?: string[]; workdir?: string; user?: string },
  ): Promise<{ argv: string[]; ref: string }>;
  attachEnded(options: { ref: string; exitCode: number }): Promise<void>;

  // ---- volumes
  volumeCreate(options: { name?: string }): Promise<{ name: string }>;
  volumes(): Promise<{ name: string; mountpoint: string; created: string }[]>;
  volumeRm(options: { name: string; force?: boolean }): Promise<void>;
  volumeInspect(options: { name: string }): Promise<Record<string, unknown>>;

  /** Subscribe to the change feed. Returns an unsubscribe function. */
  subscribe(listener: (event: ChangeEvent) => void): () => void;
}
