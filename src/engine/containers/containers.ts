/**
 * Containers: an image's layers + one writable layer (an overlay upperdir in the guest) + a crun process.
 * The engine owns their records (persisted like images); the guest only holds the live parts, which are
 * rebuilt on demand after a VM restart: the mount, and the writable layer restored from its saved tar.
 *
 * This class is the engine's one entry point; the work is done by its parts: records.ts (lookups and
 * persistence), lifecycle.ts (create … rm, exec), output.ts (logs and followers), filesystem.ts (the
 * overlay and the writable layer), writable-feed.ts (live `writable` events), networking.ts (endpoints,
 * ports, /etc files), runtime.ts (crun), attach.ts (`-it` on the guest terminal), commit.ts and config.ts.
 */
import type { BlobBackend } from '../store/backend.ts';
import type { ImageStore } from '../store/image-store.ts';
import { GUEST_PATHS, type Guest } from '../guest.ts';
import type { GuestLayers } from '../runtime/guest-layers.ts';
import type { SeccompFilters } from '../runtime/seccomp-filters.ts';
import type { Digest } from '../oci/digest.ts';
import { ConflictError } from '../oci/errors.ts';
import type { LayerFiles } from '../build/layer-files.ts';
import type { ChangeEvent, ContainerStatsSample, ContainerView, LogEntry, RunOptions, WritableEntry } from '../api.ts';
import type { NetworkMember, Networks } from '../network/networks.ts';
import type { GuestProcess } from './procfs.ts';
import { extractToContainerPath, packContainerPath } from './copy.ts';
import { commitContainer, type CommitOptions } from './commit.ts';
import { containerDir, viewState, volumeDir, type ContainerRecord } from './record.ts';
import { ContainerRecords } from './records.ts';
import { ContainerOutput, type OutputListener } from './output.ts';
import { ContainerFilesystems } from './filesystem.ts';
import { WritableFeed } from './writable-feed.ts';
import { ContainerNetworking } from './networking.ts';
import { ContainerRuntime, type ExecOptions } from './runtime.ts';
import { ContainerLifecycle } from './lifecycle.ts';
import { ContainerAttachments } from './attach.ts';
import type { ContainerParts } from './parts.ts';

export type { ContainerRecord } from './record.ts';
export { containerDir, volumeDir, WRITABLE_LAYER_LIMIT } from './record.ts';
export { EXEC_OUTPUT_CHARS } from './lifecycle.ts';

export interface ContainersOptions {
  store: ImageStore;
  backend: BlobBackend;
  guest: Guest;
  layers: GuestLayers;
  files: LayerFiles;
  networks: Networks;
  emit: (event: ChangeEvent) => void;
  /** The VM was restored from a checkpoint taken with this store's state (not from the build snapshot). */
  checkpoint?: boolean;
  /** crun's compiled seccomp filters, shared with the builder and the warm-up containers. */
  seccomp: SeccompFilters;
}

export class Containers {
  #parts: ContainerParts;
  #lifecycle: ContainerLifecycle;
  #attachments: ContainerAttachments;

  private constructor(options: ContainersOptions) {
    const { store, backend, guest, layers, files, networks, emit } = options;
    const records = new ContainerRecords(backend);
    const filesystems = new ContainerFilesystems({ guest, backend, layers, files, records });
    const networking = new ContainerNetworking({ guest, networks, records });
    this.#parts = {
      store,
      backend,
      guest,
      records,
      output: new ContainerOutput(),
      filesystems,
      feed: new WritableFeed({ records, filesystems, emit }),
      networking,
      runtime: new ContainerRuntime({ guest, networking, seccomp: options.seccomp }),
      emit,
    };
    this.#lifecycle = new ContainerLifecycle(this.#parts);
    this.#attachments = new ContainerAttachments(this.#parts, (id, code) => this.#lifecycle.exited(id, code));
    guest.onEvent((event) => this.#lifecycle.onGuestEvent(event));
  }

  static async open(options: ContainersOptions): Promise<Containers> {
    const containers = new Containers(options);
    const { records, output, filesystems } = containers.#parts;
    // A VM restored from a checkpoint of this page still runs its containers, mounted as they were.
    const live = options.checkpoint
      ? new Set((await options.guest.request('readdir', { path: GUEST_PATHS.containers }).catch(() => ({ names: [] }))).names)
      : new Set<string>();
    for (const { record, logs } of await records.load()) {
      if (live.has(record.id)) filesystems.markMounted(record.id);
      // The VM was restarted from its snapshot: whatever ran before is gone, as after a daemon crash.
      else if (record.state === 'running') Object.assign(record, { state: 'exited', exitCode: 255, finishedAt: new Date().toISOString(), paused: false });
      records.add(record);
      output.restore(record.id, logs);
    }
    return containers;
  }

  // ---- lookups

  find(ref: string): ContainerRecord {
    return this.#parts.records.find(ref);
  }

  list(): ContainerRecord[] {
    return this.#parts.records.all().sort((a, b) => (a.created < b.created ? 1 : -1));
  }

  logs(ref: string): LogEntry[] {
    return this.#parts.output.logs(this.find(ref).id);
  }

  /** The container as the API shows it; `size: false` leaves sizeRw 0 (no look into the guest). */
  async view(record: ContainerRecord, options: { size?: boolean } = {}): Promise<ContainerView> {
    const sizeRw = options.size === false ? 0 : await this.#parts.filesystems.sizeRw(record).catch(() => 0);
    return {
      id: record.id,
      name: record.name,
      image: record.image,
      imageId: record.imageId,
      command: record.args,
      state: viewState(record),
      exitCode: record.exitCode,
      created: record.created,
      startedAt: record.startedAt,
      finishedAt: record.finishedAt,
      sizeRw,
      sizeRootFs: sizeRw + record.imageSize,
      mounts: record.volumes.map((v) => ({ type: 'volume', name: v.name, source: volumeDir(v.name), destination: v.destination })),
      ports: record.state === 'running' ? (record.ports ?? []) : [],
      exposedPorts: record.exposedPorts ?? [],
      networkMode: record.network,
      networks: this.#parts.networking.views(record),
    };
  }

  volumesInUse(name: string): ContainerRecord[] {
    return this.#parts.records.all().filter((r) => r.volumes.some((v) => v.name === name));
  }

  // ---- lifecycle (lifecycle.ts)

  create(options: RunOptions, extra: { volumes: { name: string; destination: string }[] }): Promise<ContainerRecord> {
    return this.#lifecycle.create(options, extra);
  }

  /** Starts the process (detached in the guest); `onOutput` receives its output as it comes. */
  start(ref: string, onOutput?: OutputListener, stdin?: Uint8Array): Promise<ContainerRecord> {
    return this.#lifecycle.start(ref, onOutput, stdin);
  }

  /** The exit code once the process has ended (given the record, also for a `--rm` container already gone). */
  wait(ref: string | ContainerRecord): Promise<number> {
    return this.#lifecycle.wait(ref);
  }

  /** `docker logs -f` and `docker attach`: output until exit (its code) or abort (null). */
  follow(ref: string, onOutput: (entry: LogEntry) => void, signal?: AbortSignal): Promise<number | null> {
    return this.#lifecycle.follow(ref, onOutput, signal);
  }

  listen(ref: string, listener: OutputListener): () => void {
    return this.#parts.output.listen(this.find(ref).id, listener);
  }

  pause(ref: string): Promise<ContainerRecord> {
    return this.#lifecycle.pause(ref);
  }

  unpause(ref: string): Promise<ContainerRecord> {
    return this.#lifecycle.unpause(ref);
  }

  rename(ref: string, name: string): Promise<void> {
    return this.#lifecycle.rename(ref, name);
  }

  kill(ref: string, signal?: string): Promise<ContainerRecord> {
    return this.#lifecycle.kill(ref, signal);
  }

  stop(ref: string, timeoutSeconds?: number): Promise<ContainerRecord> {
    return this.#lifecycle.stop(ref, timeoutSeconds);
  }

  rm(ref: string, options?: { force?: boolean }): Promise<void> {
    return this.#lifecycle.rm(ref, options);
  }

  exec(ref: string, command: string[], options?: ExecOptions & { stdin?: Uint8Array; onOutput?: OutputListener }): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    return this.#lifecycle.exec(ref, command, options);
  }

  /** `run -it` / `exec -it` from the guest terminal: the crun command the guest's client runs on its tty. */
  attachCommand(record: ContainerRecord, exec?: ExecOptions & { command: string[] }): Promise<{ argv: string[]; ref: string }> {
    return this.#attachments.command(record, exec);
  }

  attachEnded(ref: string, exitCode: number): Promise<void> {
    return this.#attachments.ended(ref, exitCode);
  }

  // ---- processes (runtime.ts)

  /** The processes of a running container: pid, ppid, uid and the /proc fields `docker top` shows. */
  async processes(ref: string): Promise<GuestProcess[]> {
    const record = this.find(ref);
    if (record.state !== 'running') throw new ConflictError(`Container ${record.id} is not running`);
    return this.#parts.runtime.processes(record);
  }

  /** One sample of the container's cgroup v2 counters and network bytes, for `docker stats`. */
  async statsSample(ref: string): Promise<ContainerStatsSample> {
    const record = this.find(ref);
    const read = new Date().toISOString();
    if (record.state !== 'running') {
      return { id: record.id, name: record.name, read, running: false, cpuUsageNs: 0, systemUsageNs: 0, onlineCpus: 1, memoryUsage: 0, memoryLimit: 0, networkRx: 0, networkTx: 0, blockRead: 0, blockWrite: 0, pids: 0 };
    }
    return this.#parts.runtime.statsSample(record, read);
  }

  // ---- networks (networking.ts)

  /** Idle-time work after the VM is up: the default bridge and its NAT rules. */
  warmUp(): Promise<void> {
    return this.#parts.networking.warmUp();
  }

  /**
   * Idle-time work: the next container's network namespace on the default bridge, made ahead
   * (prepared-netns.ts). The warm-up's call (`sweep`) puts this engine in charge of them, and removes
   * those another engine left in the VM.
   */
  async prepareNetwork(options: { sweep?: boolean } = {}): Promise<void> {
    if (options.sweep) await this.#parts.networking.prepared.sweep();
    await this.#parts.networking.prepared.refill();
  }

  /** The network wiring a hidden warm-up container runs with (its OCI createRuntime hook). */
  warmUpHook(): { path: string; args: string[] } {
    return this.#parts.networking.warmUpHook();
  }

  /** `docker network connect`: a new endpoint; wired at once when the container runs. */
  connect(ref: string, networkRef: string, options?: { aliases?: string[]; ip?: string }): Promise<void> {
    return this.#parts.networking.connect(this.find(ref), networkRef, options);
  }

  disconnect(ref: string, networkRef: string): Promise<void> {
    return this.#parts.networking.disconnect(this.find(ref), networkRef);
  }

  networkMembers(): NetworkMember[] {
    return this.#parts.networking.members();
  }

  // ---- writable layer (filesystem.ts, writable-feed.ts)

  async diff(ref: string): Promise<WritableEntry[]> {
    const record = this.find(ref);
    await this.#parts.filesystems.ensureMounted(record);
    return this.#parts.filesystems.writableEntries(record);
  }

  /** Subscribe to the live writable-layer feed: polling runs only while someone listens. */
  watchWritable(): () => void {
    return this.#parts.feed.watch();
  }

  /** `docker export`: the container's whole filesystem (image layers + writable layer, merged) as one tar. */
  exportFilesystem(ref: string): Promise<Uint8Array> {
    return this.#parts.filesystems.packMerged(this.find(ref));
  }

  /** `docker cp CONTAINER:PATH -`: a tar of a path in the container's filesystem (running or stopped). */
  async copyFrom(ref: string, path: string): Promise<Uint8Array> {
    const record = this.find(ref);
    await this.#parts.filesystems.ensureMounted(record);
    return packContainerPath(this.#parts.guest, `${containerDir(record.id)}/rootfs`, absolute(path));
  }

  /** `docker cp - CONTAINER:PATH`: the tar's one entry lands in the writable layer, like any write. */
  async copyTo(ref: string, path: string, tar: Uint8Array): Promise<void> {
    const { filesystems, feed, guest } = this.#parts;
    const record = this.find(ref);
    await filesystems.ensureMounted(record);
    await extractToContainerPath(guest, tar, `${containerDir(record.id)}/rootfs`, absolute(path));
    if (record.state !== 'running') await filesystems.persistWritable(record);
    feed.forget(record.id);
    feed.kick();
  }

  /** `docker commit`: the container's image + its writable layer as one more layer. */
  commit(ref: string, options: CommitOptions): Promise<Digest> {
    return commitContainer(this.#parts, this.find(ref), options);
  }
}

function absolute(path: string): string {
  return path.startsWith('/') ? path : `/${path}`;
}
