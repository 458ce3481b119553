/**
 * The engine's public API: what the docker CLI verbs (cli/commands.ts), the app (through its worker) and
 * lesson checks call. One options object per call; long work takes an AbortSignal. Everything returned
 * is plain JSON-able data, so it crosses the worker boundary and the guest channel unchanged.
 */
import type { BuildEvent } from './build/events.ts';
import type { BuildCacheMount, BuildOptions } from './build/builder.ts';
import type { DockerImageInspect } from './oci/image.ts';
import type { HistoryEntry } from './oci/types.ts';
import type { TransferEvent } from './registry/progress.ts';
import type { PullResult } from './registry/pull.ts';
import type { PushResult } from './registry/push.ts';

export type { TransferEvent, PullResult, PushResult };

/** `paused`: running, but frozen by `docker pause` (Docker's State.Status). */
/** A container's lifecycle state, as `docker ps` and `docker inspect` name it. The one definition: lessons
 * and the UI import it. */
export type ContainerState = 'created' | 'running' | 'paused' | 'exited';

/** A path's change in an image layer against the layers below it: added, modified, deleted (a whiteout). */
export type LayerChangeKind = 'A' | 'M' | 'D';

/** An entry of `docker diff` (a container's writable layer): added, changed (copied up), deleted (a whiteout). */
export type WritableChangeKind = 'A' | 'C' | 'D';

/** One piece of a container's output, with when the engine received it (`docker logs -t`). */
export interface LogEntry {
  stream: 'stdout' | 'stderr';
  text: string;
  /** ISO 8601; absent for output kept from before timestamps were recorded. */
  time?: string;
}

/** `docker top`: ps's column titles and one row of cells per process (Docker's ContainerTopOKBody). */
export interface ContainerTop {
  titles: string[];
  processes: string[][];
}

/**
 * One sample of a container's counters for `docker stats` (cgroup v2 and /proc in the guest). CPU % is the
 * change of `cpuUsageNs` over the change of `systemUsageNs` between two samples, times `onlineCpus`.
 */
export interface ContainerStatsSample {
  id: string;
  name: string;
  /** When it was read (ISO 8601). */
  read: string;
  /** False for a container that is not running (every counter 0). */
  running: boolean;
  cpuUsageNs: number;
  /** The whole VM's CPU time (all CPUs), nanoseconds. */
  systemUsageNs: number;
  onlineCpus: number;
  /** memory.current without the inactive page cache, as Docker's CLI counts it; bytes. */
  memoryUsage: number;
  /** memory.max, or the VM's memory when unlimited. */
  memoryLimit: number;
  networkRx: number;
  networkTx: number;
  blockRead: number;
  blockWrite: number;
  pids: number;
}

export interface ImageSummaryView {
  id: string;
  repoTags: string[];
  created: string;
  /** Sum of the uncompressed layers, bytes. */
  size: number;
  layerCount: number;
  /** `name@sha256:…` for the registry manifests this image was pulled from or pushed as. */
  repoDigests: string[];
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
  changes: LayerChangeView[];
  /** Bytes of lower layers this layer hides (deletes or overwrites), biggest first: wasted from here up. */
  hidden: HiddenFileView[];
}

export interface LayerChangeView {
  path: string;
  kind: LayerChangeKind;
  size: number;
  type: string;
  /** An opaque directory (`.wh..wh..opq`): the layer hides everything the layers below had in it. */
  opaque?: boolean;
  /** A symlink's target as written. */
  linkTarget?: string;
}

/** A file a lower layer still ships although a later layer hides it. */
export interface HiddenFileView {
  path: string;
  bytes: number;
  /** Index (in `ImageLayersView.layers`) of the layer whose copy is hidden. */
  layer: number;
  reason: 'deleted' | 'overwritten';
}

/** One path of the merged filesystem of an image's layers up to one of them (the view "up to here"). */
export interface ImageFileView {
  path: string;
  type: string;
  size: number;
  linkTarget?: string;
  /** Index of the layer the visible version comes from, and whether that layer added or modified it. */
  layer: number;
  kind: Exclude<LayerChangeKind, 'D'>;
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
  kind: WritableChangeKind;
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
  /** Published ports, with the host ports actually bound (empty unless running, as in `docker ps`). */
  ports: PortBinding[];
  /** Ports the image EXPOSEs (shown as `8000/tcp` in `docker ps` when not published). */
  exposedPorts: number[];
  /** `--network` as given: `default` (the bridge network), `host`, `none` or a network name. */
  networkMode: string;
  /** Attached networks by name; addresses are empty while the container is not running. */
  networks: Record<string, { networkId: string; ipAddress: string; gateway: string; macAddress: string; aliases: string[] }>;
}

/** One published port: `-p 127.0.0.1:8080:8000/tcp`. `hostIp` `0.0.0.0` = every address. */
export interface PortBinding {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp';
}

export interface NetworkView {
  id: string;
  name: string;
  driver: 'bridge' | 'host' | 'null';
  scope: 'local';
  created: string;
  subnet?: string;
  gateway?: string;
  internal: boolean;
  labels: Record<string, string>;
  /** Running containers attached to it. */
  containers: { id: string; name: string; ipv4Address: string; macAddress: string }[];
}

/** One HTTP exchange with a published port (the app's preview, relayed by its Service Worker). */
export interface PortHttpRequest {
  /** The published host port (`8080` of `-p 8080:8000`). */
  port: number;
  method: string;
  /** Path and query: `/index.html?x=1`. */
  path: string;
  headers: [string, string][];
  body?: Uint8Array;
}

export interface PortHttpResponse {
  status: number;
  statusText: string;
  headers: [string, string][];
  body: Uint8Array;
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
  /** `none`, `host`, `bridge`/`default` (the default bridge network) or a user-defined network's name. */
  network?: string;
  /** `--network-alias`: more names for the container on a user-defined network. */
  networkAliases?: string[];
  /** `-p` values: `8080:8000`, `127.0.0.1:8080:8000/tcp`, `8000` (a free host port). */
  publish?: string[];
  /** `-P`: publish every port the image EXPOSEs on a free host port. */
  publishAll?: boolean;
  memoryBytes?: number;
  pidsLimit?: number;
  autoRemove?: boolean;
  detach?: boolean;
  /** `run -i` with piped input: the container's whole stdin (attached runs only; else /dev/null). */
  stdin?: Uint8Array;
  /** For attached runs: the output as it comes. */
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void;
  signal?: AbortSignal;
}

export type ChangeEvent =
  | { type: 'image'; action: 'create' | 'tag' | 'untag' | 'delete' | 'load'; id: string; ref?: string }
  | { type: 'container'; action: 'create' | 'start' | 'die' | 'stop' | 'kill' | 'destroy' | 'rename' | 'pause' | 'unpause'; id: string; name: string; state: ContainerState; exitCode?: number | null }
  | { type: 'writable'; id: string; name: string; entries: WritableEntry[] }
  | { type: 'volume'; action: 'create' | 'destroy'; name: string }
  | { type: 'build'; event: BuildEvent }
  /** Pull or push progress (also for a build's FROM pulls), for progress bars. */
  | { type: 'transfer'; action: 'pull' | 'push'; ref: string; event: TransferEvent | { kind: 'done' } | { kind: 'error'; message: string } };

export interface EngineApi {
  // ---- images
  build(options: BuildOptions): Promise<{ imageId: string; tags: string[] }>;
  images(options?: { all?: boolean }): Promise<ImageSummaryView[]>;
  history(options: { ref: string }): Promise<{ id: string; history: HistoryEntry[]; layerSizes: number[] }>;
  inspectImage(options: { ref: string }): Promise<DockerImageInspect>;
  imageLayers(options: { ref: string }): Promise<ImageLayersView>;
  /** The filesystem a container would see with the image's layers 0..`layer` stacked (one layer's worth on request). */
  imageFiles(options: { ref: string; layer: number }): Promise<ImageFileView[]>;
  tag(options: { source: string; target: string }): Promise<void>;
  rmi(options: { ref: string; force?: boolean }): Promise<({ untagged: string } | { deleted: string })[]>;
  save(options: { refs: string[]; format?: 'oci' | 'docker' }): Promise<Uint8Array>;
  load(options: { data: Uint8Array }): Promise<{ images: { id: string; tags: string[] }[]; warnings: string[] }>;
  pruneImages(options?: { all?: boolean }): Promise<{ deleted: string[]; reclaimed: number }>;
  /** The build cache that is not in images: `RUN --mount=type=cache` directories (`docker system df`). */
  buildCache(): Promise<BuildCacheMount[]>;
  /** `docker builder prune`: removes the `RUN --mount=type=cache` directories. */
  pruneBuildCache(): Promise<{ deleted: string[]; reclaimed: number }>;
  /** `docker pull`: only linux/386 images (`platform` other than that is refused). */
  /**
   * `docker import`: a filesystem tar (plain or gzip) as a one-layer image; `changes` are `--change`
   * Dockerfile instructions (CMD, ENV, …), `message` the history comment (default `Imported from -`).
   */
  importImage(options: { data: Uint8Array; ref?: string; changes?: string[]; message?: string; platform?: string }): Promise<{ imageId: string }>;
  pull(options: { ref: string; platform?: string; onProgress?: (event: TransferEvent) => void; signal?: AbortSignal }): Promise<PullResult>;
  push(options: { ref: string; onProgress?: (event: TransferEvent) => void; signal?: AbortSignal }): Promise<PushResult>;
  /** `docker manifest inspect`: the manifest (or index) as the registry stores it, and its digest. */
  manifestInspect(options: { ref: string; signal?: AbortSignal }): Promise<{ digest: string; mediaType: string; text: string }>;
  /** `docker login`: checks the credentials against the registry and keeps them in memory for this session only. */
  login(options: { server?: string; username: string; password: string }): Promise<{ registry: string }>;
  logout(options: { server?: string }): Promise<{ registry: string; wasLoggedIn: boolean }>;

  // ---- containers
  create(options: RunOptions): Promise<ContainerView>;
  start(options: { container: string; onOutput?: RunOptions['onOutput'] }): Promise<ContainerView>;
  /** create + start; attached runs resolve when the process exits. */
  run(options: RunOptions): Promise<ContainerView>;
  stop(options: { container: string; timeoutSeconds?: number }): Promise<ContainerView>;
  kill(options: { container: string; signal?: string }): Promise<ContainerView>;
  restart(options: { container: string }): Promise<ContainerView>;
  rm(options: { container: string; force?: boolean; volumes?: boolean }): Promise<void>;
  /**
   * With `size`, each container's `sizeRw` (and `sizeRootFs`) counts its writable layer, a look into the
   * guest per container (`docker ps --size`); without, `sizeRw` is 0, as Docker's API leaves SizeRw out.
   */
  ps(options?: { all?: boolean; size?: boolean }): Promise<ContainerView[]>;
  inspectContainer(options: { container: string }): Promise<Record<string, unknown>>;
  /**
   * The container's output so far. With `follow`, every entry (those so far first) also goes to `onOutput`
   * and the call resolves once the container has exited or `signal` aborts (`docker logs -f`).
   */
  logs(options: { container: string; follow?: boolean; onOutput?: (entry: LogEntry) => void; signal?: AbortSignal }): Promise<LogEntry[]>;
  /**
   * `docker attach` to a running container: its output from now on goes to `onOutput`; resolves with the
   * exit code when it exits, or with null when `signal` aborts (then, with `sigProxy`, the container gets SIGINT).
   */
  attach(options: { container: string; onOutput: (entry: LogEntry) => void; signal?: AbortSignal; sigProxy?: boolean }): Promise<{ exitCode: number | null }>;
  /** `docker pause` / `docker unpause`: freeze and thaw every process of the container (cgroup freezer). */
  pause(options: { container: string }): Promise<ContainerView>;
  unpause(options: { container: string }): Promise<ContainerView>;
  /** `docker top`: the container's processes as `ps -ef` shows them. */
  top(options: { container: string }): Promise<ContainerTop>;
  /** `docker stats`: one sample per container (all running ones when `containers` is empty). */
  stats(options: { containers?: string[]; all?: boolean }): Promise<ContainerStatsSample[]>;
  /** `docker export`: the container's filesystem as one flat tar (no layers, no image config). */
  exportContainer(options: { container: string }): Promise<Uint8Array>;
  /** Runs a process in a running container; resolves with its exit code and output. */
  exec(options: { container: string; command: string[]; env?: string[]; workdir?: string; user?: string; stdin?: Uint8Array; onOutput?: RunOptions['onOutput'] }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  diff(options: { container: string }): Promise<WritableEntry[]>;
  /** `pause` (default true, as `docker commit -p`) freezes a running container while its layer is read. */
  commit(options: { container: string; ref?: string; author?: string; message?: string; changes?: string[]; pause?: boolean }): Promise<{ imageId: string }>;
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

  // ---- networks
  networkCreate(options: { name: string; driver?: string; subnet?: string; gateway?: string; internal?: boolean; labels?: Record<string, string> }): Promise<{ id: string }>;
  networks(): Promise<NetworkView[]>;
  networkInspect(options: { network: string }): Promise<Record<string, unknown>>;
  networkRm(options: { network: string }): Promise<{ name: string }>;
  networkConnect(options: { network: string; container: string; aliases?: string[]; ip?: string }): Promise<void>;
  networkDisconnect(options: { network: string; container: string; force?: boolean }): Promise<void>;
  /** `docker port`: the container's published ports (empty unless running). */
  port(options: { container: string }): Promise<PortBinding[]>;
  /** One HTTP request to a published port, answered in whole (the preview's transport; bodies up to 32 MiB). */
  fetchPort(options: PortHttpRequest): Promise<PortHttpResponse>;

  // ---- volumes
  volumeCreate(options: { name?: string }): Promise<{ name: string }>;
  /** `size`: also each volume's bytes (regular files), as `docker system df` shows them. */
  volumes(options?: { size?: boolean }): Promise<{ name: string; mountpoint: string; created: string; size?: number }[]>;
  volumeRm(options: { name: string; force?: boolean }): Promise<void>;
  volumeInspect(options: { name: string }): Promise<Record<string, unknown>>;

  /** Subscribe to the change feed. Returns an unsubscribe function. */
  subscribe(listener: (event: ChangeEvent) => void): () => void;
}
