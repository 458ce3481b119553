/**
 * Containers: an image's layers + one writable layer (an overlay upperdir in the guest) + a crun process.
 * The engine owns their records (persisted like images); the guest only holds the live parts, which are
 * rebuilt on demand after a VM restart: the mount, and the writable layer restored from its saved tar.
 */
import { TextTail } from '../util/tail.ts';
import type { BlobBackend } from '../store/backend.ts';
import type { ImageStore } from '../store/image-store.ts';
import { GUEST_PATHS, type Guest } from '../guest.ts';
import { GuestLayers } from '../runtime/guest-layers.ts';
import { runtimeSpec } from '../runtime/spec.ts';
import { sha256, type Digest } from '../oci/digest.ts';
import { ConflictError, EngineError, NotFoundError } from '../oci/errors.ts';
import { buildImage } from '../oci/image.ts';
import type { ContainerConfig } from '../oci/types.ts';
import { layerTreeFromUpperdir, dockerDiff, type ListEntry, type LayerTree } from '../layers/index.ts';
import type { LayerFiles } from '../build/layer-files.ts';
import { resolveUser } from '../build/users.ts';
import { fromBase64, textToBase64, toBase64 } from '../util/base64.ts';
import type { ChangeEvent, ContainerState, ContainerStatsSample, ContainerView, LogEntry, RunOptions, WritableEntry } from '../api.ts';
import { parseProcesses, parseStats, type GuestProcess } from './procfs.ts';
import { randomId, randomName } from './names.ts';
import { signalNumber } from './signals.ts';
import { extractToContainerPath, packContainerPath } from './copy.ts';
import { macForIp, NET_ATTACH, NET_TOOL, type Endpoint, type NetworkMember, type Networks } from '../network/networks.ts';
import { EPHEMERAL_PORT_START, exposedTcpPorts, parsePublish } from '../network/ports.ts';
import type { PortBinding } from '../api.ts';

export interface ContainerRecord {
  id: string;
  name: string;
  image: string;
  imageId: Digest;
  diffIDs: Digest[];
  imageSize: number;
  args: string[];
  /** The container's own Entrypoint and Cmd (image's or `--entrypoint`/command), which `commit` keeps. */
  entrypoint?: string[];
  cmd?: string[];
  env: string[];
  workdir: string;
  user: string;
  hostname: string;
  volumes: { name: string; destination: string }[];
  /** NetworkMode: `default` (the bridge network), `host`, `none` or a network name. */
  network: string;
  /** Attached networks by name (bridge driver); the first is eth0 and carries the default route. */
  endpoints?: Record<string, Endpoint>;
  /** Ports asked for with -p/-P (hostPort 0: a free port picked at start). */
  publish?: PortBinding[];
  /** The bindings in effect while running. */
  ports?: PortBinding[];
  exposedPorts?: number[];
  memoryBytes?: number;
  pidsLimit?: number;
  autoRemove: boolean;
  stopSignal?: string;
  state: ContainerState;
  exitCode: number | null;
  created: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** The writable layer saved as a tar blob when the container stopped (restored after a VM restart). */
  savedWritable?: Digest;
  /** Frozen by `docker pause` (cgroup freezer); `state` stays `running` underneath, as in Docker. */
  paused?: boolean;
}

type LogChunk = LogEntry;

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
}

const LOG_LIMIT = 256 * 1024;
/** Generated per container and bind-mounted over /etc, as Docker does. */
const NETWORK_FILES = ['hosts', 'hostname', 'resolv.conf'];
/** Each container's writable layer lives on its own tmpfs of this size (the VM has 256 MiB in all). */
export const WRITABLE_LAYER_LIMIT = 48 * 1024 * 1024;
/** Characters of each stream an exec returns (its tail); streaming callers still see everything. */
export const EXEC_OUTPUT_CHARS = 1024 * 1024;
const FEED_INTERVAL_MS = 250;

export class Containers {
  #store: ImageStore;
  #backend: BlobBackend;
  #guest: Guest;
  #layers: GuestLayers;
  #files: LayerFiles;
  #networks: Networks;
  #emit: (event: ChangeEvent) => void;
  #records = new Map<string, ContainerRecord>();
  /** IDs removed in this session: a late save of one of them must not bring it back. */
  readonly #removed = new Set<string>();
  #logs = new Map<string, LogChunk[]>();
  /** Containers whose overlay is mounted in the guest in this VM session. */
  #mounted = new Set<string>();
  #mounting = new Map<string, Promise<void>>();
  #exitWaiters = new Map<string, ((code: number) => void)[]>();
  #outputListeners = new Map<string, Set<(stream: 'stdout' | 'stderr', text: string) => void>>();
  #decoders = new Map<string, TextDecoder>();
  #feedTimer: ReturnType<typeof setInterval> | null = null;
  #feedWanted = 0;
  #lastWritable = new Map<string, string>();
  #attachments = new Map<string, string>();

  private constructor(options: ContainersOptions) {
    this.#store = options.store;
    this.#backend = options.backend;
    this.#guest = options.guest;
    this.#layers = options.layers;
    this.#files = options.files;
    this.#networks = options.networks;
    this.#emit = options.emit;
    this.#guest.onEvent((event) => this.#onGuestEvent(event));
  }

  static async open(options: ContainersOptions): Promise<Containers> {
    const containers = new Containers(options);
    // A VM restored from a checkpoint of this page still runs its containers, mounted as they were.
    const live = options.checkpoint
      ? new Set((await options.guest.request('readdir', { path: GUEST_PATHS.containers }).catch(() => ({ names: [] }))).names)
      : new Set<string>();
    for (const [, record] of await options.backend.listMeta<ContainerRecord>('container/')) {
      if (live.has(record.id)) containers.#mounted.add(record.id);
      // The VM was restarted from its snapshot: whatever ran before is gone, as after a daemon crash.
      else if (record.state === 'running') Object.assign(record, { state: 'exited', exitCode: 255, finishedAt: new Date().toISOString(), paused: false });
      containers.#records.set(record.id, record);
      const logs = await options.backend.getMeta<LogChunk[]>(`logs/${record.id}`);
      containers.#logs.set(record.id, logs ?? []);
    }
    return containers;
  }

  // ---- lookups

  find(ref: string): ContainerRecord {
    const byName = [...this.#records.values()].find((r) => r.name === ref.replace(/^\//, ''));
    if (byName) return byName;
    const byId = [...this.#records.values()].filter((r) => ref.length >= 1 && r.id.startsWith(ref));
    if (byId.length === 1) return byId[0];
    if (byId.length > 1) throw new EngineError(`multiple IDs found with provided prefix: ${ref}`);
    throw new NotFoundError('container', ref);
  }

  list(): ContainerRecord[] {
    return [...this.#records.values()].sort((a, b) => (a.created < b.created ? 1 : -1));
  }

  logs(ref: string): LogChunk[] {
    return this.#logs.get(this.find(ref).id) ?? [];
  }

  async view(record: ContainerRecord): Promise<ContainerView> {
    const sizeRw = await this.#sizeRw(record).catch(() => 0);
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
      networks: this.#networkViews(record),
    };
  }

  #networkViews(record: ContainerRecord): ContainerView['networks'] {
    const running = record.state === 'running';
    if (record.network === 'host' || record.network === 'none') {
      const network = this.#networks.find(record.network);
      return { [record.network]: { networkId: network.id, ipAddress: '', gateway: '', macAddress: '', aliases: [] } };
    }
    return Object.fromEntries(
      Object.entries(record.endpoints ?? {}).map(([name, e]) => {
        const network = this.#networks.list().find((n) => n.id === e.networkId);
        return [name, { networkId: e.networkId, ipAddress: running ? e.ipAddress : '', gateway: running ? (network?.gateway ?? '') : '', macAddress: running ? e.macAddress : '', aliases: e.aliases }];
      }),
    );
  }

  // ---- lifecycle

  /** `docker pause`: freezes every process of the container (crun pause: the cgroup v2 freezer). */
  async pause(ref: string): Promise<ContainerRecord> {
    const record = this.find(ref);
    if (record.state !== 'running') throw new ConflictError(`Container ${record.id} is not running`);
    if (record.paused) throw new ConflictError(`Container ${record.id} is already paused`);
    await this.#crun('pause', record.id);
    record.paused = true;
    await this.#save(record);
    this.#emit({ type: 'container', action: 'pause', id: record.id, name: record.name, state: 'paused' });
    return record;
  }

  async unpause(ref: string): Promise<ContainerRecord> {
    const record = this.find(ref);
    if (!record.paused || record.state !== 'running') throw new ConflictError(`Container ${record.id} is not paused`);
    await this.#crun('resume', record.id);
    record.paused = false;
    await this.#save(record);
    this.#emit({ type: 'container', action: 'unpause', id: record.id, name: record.name, state: 'running' });
    return record;
  }

  /** After a signal to a paused container: thaw it so the signal is delivered (Docker does the same). */
  async #thawAfterSignal(record: ContainerRecord): Promise<void> {
    if (!record.paused) return;
    await this.#crun('resume', record.id).catch(() => {});
    record.paused = false;
    if (record.state === 'running') this.#emit({ type: 'container', action: 'unpause', id: record.id, name: record.name, state: 'running' });
  }

  async #crun(command: 'pause' | 'resume', id: string): Promise<void> {
    let stderr = '';
    const { exit } = await this.#guest.request('spawn', { argv: ['/usr/bin/crun', command, id] }, {
      onStream: (_stream, data) => (stderr += new TextDecoder().decode(data)),
    });
    if (exit !== 0) throw new EngineError(`Cannot ${command === 'resume' ? 'unpause' : 'pause'} container ${id}: ${stderr.trim() || `crun ${command} failed (exit ${exit})`}`);
  }

  /** The processes of a running container: pid, ppid, uid and the /proc fields `docker top` shows. */
  async processes(ref: string): Promise<GuestProcess[]> {
    const record = this.find(ref);
    if (record.state !== 'running') throw new ConflictError(`Container ${record.id} is not running`);
    const script = [
      `for p in $(cat /sys/fs/cgroup/${record.id}/cgroup.procs); do`,
      '  s=$(cat /proc/$p/stat 2>/dev/null) || continue',
      '  u=$(awk \'/^Uid:/ {print $2}\' /proc/$p/status 2>/dev/null)',
      '  c=$(tr \'\\0\' \' \' < /proc/$p/cmdline 2>/dev/null)',
      '  printf \'P %s\\t%s\\t%s\\n\' "$u" "$c" "$s"',
      'done',
      `awk '/^btime/ {print "B " $2}' /proc/stat`,
      `awk '{print "U " $1}' /proc/uptime`,
    ].join('\n');
    const out = await this.#spawnText(['/bin/sh', '-c', script]);
    return parseProcesses(out);
  }

  /** One sample of the container's cgroup v2 counters and network bytes, for `docker stats`. */
  async statsSample(ref: string): Promise<ContainerStatsSample> {
    const record = this.find(ref);
    const read = new Date().toISOString();
    if (record.state !== 'running') {
      return { id: record.id, name: record.name, read, running: false, cpuUsageNs: 0, systemUsageNs: 0, onlineCpus: 1, memoryUsage: 0, memoryLimit: 0, networkRx: 0, networkTx: 0, blockRead: 0, blockWrite: 0, pids: 0 };
    }
    const cg = `/sys/fs/cgroup/${record.id}`;
    const script = [
      `echo '## cpu'; cat ${cg}/cpu.stat`,
      `echo '## memcur'; cat ${cg}/memory.current`,
      `echo '## memmax'; cat ${cg}/memory.max`,
      `echo '## memstat'; cat ${cg}/memory.stat`,
      `echo '## io'; cat ${cg}/io.stat`,
      `echo '## pids'; cat ${cg}/pids.current`,
      `echo '## proc'; head -1 /proc/stat; grep -c '^processor' /proc/cpuinfo; awk '/^MemTotal/ {print $2}' /proc/meminfo`,
      `echo '## net'; p=$(head -1 ${cg}/cgroup.procs); [ -n "$p" ] && cat /proc/$p/net/dev`,
      'true',
    ].join('\n');
    const out = await this.#spawnText(['/bin/sh', '-c', script]);
    return { id: record.id, name: record.name, read, running: true, ...parseStats(out, record.network === 'host') };
  }

  async #spawnText(argv: string[]): Promise<string> {
    let out = '';
    const decoder = new TextDecoder();
    await this.#guest.request('spawn', { argv }, { onStream: (stream, data) => (stream === 'stdout' ? (out += decoder.decode(data, { stream: true })) : undefined) });
    return out;
  }

  /** `docker export`: the container's whole filesystem (image layers + writable layer, merged) as one tar. */
  async exportFilesystem(ref: string): Promise<Uint8Array> {
    const record = this.find(ref);
    await this.#ensureMounted(record);
    return this.#layers.pack(`${containerDir(record.id)}/rootfs`);
  }

  async rename(ref: string, name: string): Promise<void> {
    const record = this.find(ref);
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new EngineError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if (record.name === name) throw new EngineError(`Renaming a container with the same name as its current name`);
    const other = [...this.#records.values()].find((r) => r.name === name);
    if (other) throw new ConflictError(`Conflict. The container name "/${name}" is already in use by container "${other.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    record.name = name;
    await this.#save(record);
    this.#emit({ type: 'container', action: 'rename', id: record.id, name, state: record.state });
  }

  async create(options: RunOptions, extra: { volumes: { name: string; destination: string }[] }): Promise<ContainerRecord> {
    if (options.name && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(options.name)) {
      throw new EngineError(`Invalid container name (${options.name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    const taken = (name: string) => [...this.#records.values()].some((r) => r.name === name);
    if (options.name && taken(options.name)) {
      const other = this.find(options.name);
      throw new ConflictError(
        `Conflict. The container name "/${options.name}" is already in use by container "${other.id}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    const image = await this.#store.resolve({ ref: options.image });
    const config = (await this.#store.getConfig({ id: image.id })).config ?? {};
    const entrypoint = options.entrypoint ?? config.Entrypoint ?? [];
    const cmd = options.command?.length ? options.command : options.entrypoint ? [] : (config.Cmd ?? []);
    const args = [...(entrypoint ?? []), ...(cmd ?? [])];
    if (args.length === 0) throw new EngineError('No command specified');
    const id = randomId();
    const networkMode = options.network === 'bridge' ? 'default' : (options.network ?? 'default');
    const network = this.#networks.resolveMode(networkMode);
    if (network.name === 'host' && networkMode !== 'host') throw new EngineError('conflicting options: use --network host to share the VM\'s network');
    if (options.networkAliases?.length && (network.name === 'bridge' || network.driver !== 'bridge')) {
      throw new EngineError('network-scoped alias is supported only for containers in user defined networks');
    }
    const exposedPorts = exposedTcpPorts(config.ExposedPorts);
    const publish = [...(options.publish ?? []).map(parsePublish), ...(options.publishAll ? exposedPorts.map((p) => ({ hostIp: '0.0.0.0', hostPort: 0, containerPort: p, protocol: 'tcp' as const })) : [])];
    if (publish.length && network.driver !== 'bridge') {
      // Docker ignores -p with --network host/none (with a warning for host): there is nothing to map.
      publish.length = 0;
    }
    const endpoints: Record<string, Endpoint> = {};
    if (network.driver === 'bridge') {
      const ip = this.#networks.allocateIp(network, this.#members());
      endpoints[network.name] = { networkId: network.id, ipAddress: ip, macAddress: macForIp(ip), aliases: options.networkAliases ?? [] };
    }
    const record: ContainerRecord = {
      id,
      name: options.name ?? randomName(taken),
      image: options.image,
      imageId: image.id,
      diffIDs: (await this.#store.getConfig({ id: image.id })).rootfs.diff_ids,
      imageSize: image.size,
      args,
      entrypoint,
      cmd,
      env: withDefaultPath(mergeEnv(config.Env ?? [], options.env ?? [])),
      workdir: options.workdir ?? (config.WorkingDir || '/'),
      user: options.user ?? config.User ?? '',
      hostname: options.hostname ?? id.slice(0, 12),
      volumes: extra.volumes,
      network: networkMode,
      endpoints,
      publish,
      exposedPorts: [...new Set([...exposedPorts, ...publish.map((p) => p.containerPort)])],
      memoryBytes: options.memoryBytes,
      pidsLimit: options.pidsLimit,
      autoRemove: options.autoRemove ?? false,
      stopSignal: config.StopSignal,
      state: 'created',
      exitCode: null,
      created: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
    };
    await this.#ensureMounted(record, options.signal);
    await this.#save(record);
    await this.#store.refs.add({ image: image.id, container: id });
    this.#records.set(id, record);
    this.#logs.set(id, []);
    this.#emit({ type: 'container', action: 'create', id, name: record.name, state: 'created' });
    return record;
  }

  /** Starts the process (detached in the guest); `onOutput` receives its output as it comes. */
  async start(ref: string, onOutput?: (stream: 'stdout' | 'stderr', text: string) => void, stdin?: Uint8Array): Promise<ContainerRecord> {
    const record = this.find(ref);
    if (record.paused) throw new ConflictError('cannot start a paused container, try unpause instead');
    if (record.state === 'running') return record;
    await this.#ensureMounted(record);
    const bundle = containerDir(record.id);
    // crun keeps its own state per container id; a restart needs the old one gone.
    await this.#crunDelete(record.id);
    await this.#prepareNetwork(record);
    const config = await this.#runtimeConfig(record, { terminal: false });
    if (onOutput) this.#listen(record.id, onOutput);
    // Running before the request: a process that exits at once sends its exit event right after.
    Object.assign(record, { state: 'running', startedAt: new Date().toISOString(), finishedAt: null, exitCode: null });
    this.#emit({ type: 'container', action: 'start', id: record.id, name: record.name, state: 'running' });
    try {
      await this.#guest.request('run', { name: record.id, bundle, config, detach: true, ...(stdin ? { stdin: toBase64(stdin) } : {}) });
    } catch (error) {
      Object.assign(record, { state: 'exited', exitCode: 127, finishedAt: new Date().toISOString() });
      await this.#save(record);
      throw error;
    }
    await this.#untilCreated(record.id);
    await this.#networkChanged({ rules: false });
    await this.#save(record);
    this.#kickFeed();
    return record;
  }

  /**
   * Resolves with the exit code once the container's process has ended. Given the record itself, it also
   * works for a `--rm` container that has already exited and been removed (a process that ends at once).
   */
  wait(ref: string | ContainerRecord): Promise<number> {
    const record = typeof ref === 'string' ? this.find(ref) : ref;
    if (record.state !== 'running') return Promise.resolve(record.exitCode ?? 0);
    return new Promise((resolve) => {
      const waiters = this.#exitWaiters.get(record.id) ?? [];
      waiters.push(resolve);
      this.#exitWaiters.set(record.id, waiters);
    });
  }

  /**
   * `docker logs -f` and `docker attach`: output as it comes until the container exits (resolves with its
   * exit code) or `signal` aborts (resolves with null). A container that is not running resolves at once.
   */
  async follow(ref: string, onOutput: (entry: LogEntry) => void, signal?: AbortSignal): Promise<number | null> {
    const record = this.find(ref);
    if (record.state !== 'running') return record.exitCode;
    if (signal?.aborted) return null;
    const stop = this.#listen(record.id, (stream, text) => onOutput({ stream, text, time: new Date().toISOString() }));
    try {
      return await new Promise<number | null>((resolve) => {
        signal?.addEventListener('abort', () => resolve(null), { once: true });
        void this.wait(record.id).then(resolve);
      });
    } finally {
      stop();
    }
  }

  listen(ref: string, listener: (stream: 'stdout' | 'stderr', text: string) => void): () => void {
    return this.#listen(this.find(ref).id, listener);
  }

  async kill(ref: string, signal?: string): Promise<ContainerRecord> {
    const record = this.find(ref);
    if (record.state !== 'running') throw new ConflictError(`Cannot kill container: ${ref}: Container ${record.id} is not running`);
    await this.#guest.request('signal', { name: record.id, signal: signalNumber(signal, 9) });
    await this.#thawAfterSignal(record);
    this.#emit({ type: 'container', action: 'kill', id: record.id, name: record.name, state: record.state });
    return record;
  }

  /** SIGTERM (or the image's STOPSIGNAL), then SIGKILL after the grace period, as `docker stop` does. */
  async stop(ref: string, timeoutSeconds = 10): Promise<ContainerRecord> {
    const record = this.find(ref);
    if (record.state !== 'running') return record;
    const exited = this.wait(record.id);
    await this.#guest.request('signal', { name: record.id, signal: signalNumber(record.stopSignal, 15) }).catch(() => {});
    await this.#thawAfterSignal(record);
    const timedOut = await Promise.race([exited.then(() => false), sleep(timeoutSeconds * 1000).then(() => true)]);
    if (timedOut) {
      await this.#guest.request('signal', { name: record.id, signal: 9 }).catch(() => {});
      await exited;
    }
    this.#emit({ type: 'container', action: 'stop', id: record.id, name: record.name, state: record.state, exitCode: record.exitCode });
    return record;
  }

  async rm(ref: string, options: { force?: boolean } = {}): Promise<void> {
    const record = this.find(ref);
    if (record.state === 'running') {
      if (record.paused && !options.force) {
        throw new ConflictError(`You cannot remove a paused container ${record.id}. Unpause and then stop the container before attempting removal or force remove`);
      }
      if (!options.force) {
        throw new ConflictError(
          `You cannot remove a running container ${record.id}. Stop the container before attempting removal or force remove`,
        );
      }
      const exited = this.wait(record.id);
      await this.#guest.request('signal', { name: record.id, signal: 9 }).catch(() => {});
      await this.#thawAfterSignal(record);
      await Promise.race([exited, sleep(5000)]);
    }
    await this.#crunDelete(record.id);
    await this.#layers.remove(record.id).catch(() => {});
    this.#mounted.delete(record.id);
    this.#records.delete(record.id);
    this.#removed.add(record.id);
    this.#logs.delete(record.id);
    this.#lastWritable.delete(record.id);
    await this.#backend.commit({ delete: [`container/${record.id}`, `logs/${record.id}`] });
    if (record.savedWritable) await this.#backend.deleteBlob(record.savedWritable).catch(() => {});
    await this.#store.refs.remove({ image: record.imageId, container: record.id });
    this.#emit({ type: 'container', action: 'destroy', id: record.id, name: record.name, state: record.state });
  }

  async exec(
    ref: string,
    command: string[],
    options: { env?: string[]; workdir?: string; user?: string; stdin?: Uint8Array; onOutput?: (stream: 'stdout' | 'stderr', text: string) => void } = {},
  ): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const record = this.find(ref);
    if (record.state !== 'running') throw new ConflictError(`Container ${record.id} is not running`);
    if (record.paused) throw new ConflictError(`Container ${ref} is paused, unpause the container before exec`);
    const argv = await this.#execArgv(record, command, options, false);
    // What the caller gets back is the output's tail: `exec c yes` must not grow memory without bound.
    const kept = { stdout: new TextTail(EXEC_OUTPUT_CHARS), stderr: new TextTail(EXEC_OUTPUT_CHARS) };
    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    const { exit } = await this.#guest.request('spawn', { argv, ...(options.stdin ? { stdin: toBase64(options.stdin) } : {}) }, {
      timeoutMs: 10 * 60_000,
      onStream: (stream, data) => {
        const text = decoders[stream].decode(data, { stream: true });
        kept[stream].append(text);
        options.onOutput?.(stream, text);
      },
    });
    this.#kickFeed();
    return { exitCode: exit, stdout: kept.stdout.toString(), stderr: kept.stderr.toString() };
  }

  /** `run -it` / `exec -it` from the guest terminal: the crun command the guest's client runs on its tty. */
  async attachCommand(record: ContainerRecord, exec?: { command: string[]; env?: string[]; workdir?: string; user?: string }): Promise<{ argv: string[]; ref: string }> {
    const ref = randomId().slice(0, 16);
    if (exec) {
      if (record.state !== 'running') throw new ConflictError(`Container ${record.id} is not running`);
      if (record.paused) throw new ConflictError(`Container ${record.id} is paused, unpause the container before exec`);
      this.#attachments.set(ref, '');
      return { argv: await this.#execArgv(record, exec.command, exec, true), ref };
    }
    await this.#ensureMounted(record);
    await this.#crunDelete(record.id);
    await this.#prepareNetwork(record);
    const config = await this.#runtimeConfig(record, { terminal: true });
    await this.#guest.request('write', { path: `${containerDir(record.id)}/config.json`, data: textToBase64(JSON.stringify(config)) });
    Object.assign(record, { state: 'running', startedAt: new Date().toISOString(), finishedAt: null, exitCode: null });
    await this.#save(record);
    this.#attachments.set(ref, record.id);
    this.#emit({ type: 'container', action: 'start', id: record.id, name: record.name, state: 'running' });
    this.#kickFeed();
    return { argv: ['/usr/bin/crun', 'run', '--bundle', containerDir(record.id), record.id], ref };
  }

  async attachEnded(ref: string, exitCode: number): Promise<void> {
    const id = this.#attachments.get(ref);
    this.#attachments.delete(ref);
    if (id) await this.#exited(id, exitCode);
  }

  // ---- writable layer

  async diff(ref: string): Promise<WritableEntry[]> {
    const record = this.find(ref);
    await this.#ensureMounted(record);
    return this.#writableEntries(record);
  }

  /** A new image: the container's image + its writable layer as one more layer. */
  async commit(ref: string, options: { tag?: string; author?: string; message?: string; changes?: Partial<ContainerConfig>; createdBy?: string; pause?: boolean }): Promise<Digest> {
    const record = this.find(ref);
    await this.#ensureMounted(record);
    // `docker commit -p` (the default): no process writes while the layer is read.
    const freeze = options.pause !== false && record.state === 'running' && !record.paused;
    if (freeze) await this.#crun('pause', record.id);
    let tar: Uint8Array;
    try {
      tar = await this.#layers.pack(`${containerDir(record.id)}/upper`);
    } finally {
      if (freeze) await this.#crun('resume', record.id).catch(() => {});
    }
    const layer = await this.#store.addLayer({ tar, validate: false });
    const base = await this.#store.getConfig({ id: record.imageId });
    const baseLayers = await Promise.all((await this.#store.resolve({ ref: record.imageId })).layers.map((digest) => this.#store.getLayer({ digest })));
    const image = await buildImage({
      layers: [...baseLayers, layer],
      config: mergeConfig(committedConfig(base.config ?? {}, record), options.changes ?? {}),
      history: [
        ...(base.history ?? []),
        { created: new Date().toISOString(), created_by: options.createdBy ?? record.args.join(' '), ...(options.author ? { author: options.author } : {}), ...(options.message ? { comment: options.message } : {}) },
      ],
      author: options.author,
    });
    await this.#store.putImage({ image, tags: options.tag ? [options.tag] : [], parent: record.imageId });
    this.#emit({ type: 'image', action: 'create', id: image.configDigest, ref: options.tag });
    return image.configDigest;
  }

  /** `docker cp CONTAINER:PATH -`: a tar of a path in the container's filesystem (running or stopped). */
  async copyFrom(ref: string, path: string): Promise<Uint8Array> {
    const record = this.find(ref);
    await this.#ensureMounted(record);
    return packContainerPath(this.#guest, `${containerDir(record.id)}/rootfs`, absolute(path));
  }

  /** `docker cp - CONTAINER:PATH`: the tar's one entry lands in the writable layer, like any write. */
  async copyTo(ref: string, path: string, tar: Uint8Array): Promise<void> {
    const record = this.find(ref);
    await this.#ensureMounted(record);
    await extractToContainerPath(this.#guest, tar, `${containerDir(record.id)}/rootfs`, absolute(path));
    if (record.state !== 'running') await this.#persistWritable(record);
    this.#lastWritable.delete(record.id);
    this.#kickFeed();
  }

  /** Subscribe to the live writable-layer feed: polling runs only while someone listens. */
  watchWritable(): () => void {
    this.#feedWanted++;
    this.#kickFeed();
    return () => {
      this.#feedWanted--;
      if (this.#feedWanted <= 0 && this.#feedTimer) {
        clearInterval(this.#feedTimer);
        this.#feedTimer = null;
      }
    };
  }

  volumesInUse(name: string): ContainerRecord[] {
    return [...this.#records.values()].filter((r) => r.volumes.some((v) => v.name === name));
  }

  // ---- internals

  async #writableEntries(record: ContainerRecord): Promise<WritableEntry[]> {
    const { entries } = await this.#guest.request('list', { dir: `${containerDir(record.id)}/upper` });
    const upper = layerTreeFromUpperdir(entries);
    const lowers: LayerTree[] = await Promise.all(record.diffIDs.map((d) => this.#files.tree(d)));
    const sizes = new Map(entries.map((e) => [e.path, e]));
    return dockerDiff({ lowers, upper }).map((change) => {
      const entry = sizes.get(change.path);
      return { path: change.path, kind: change.kind, size: entry?.type === 'f' ? entry.size : 0, type: entry ? typeName(entry.type) : 'whiteout' };
    });
  }

  async #sizeRw(record: ContainerRecord): Promise<number> {
    if (!this.#mounted.has(record.id)) return 0;
    const { entries } = await this.#guest.request('list', { dir: `${containerDir(record.id)}/upper` });
    return entries.reduce((sum, e) => sum + (e.type === 'f' ? e.size : 0), 0);
  }

  #kickFeed(): void {
    if (this.#feedWanted <= 0 || this.#feedTimer) return;
    let busy = false;
    this.#feedTimer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        for (const record of this.#records.values()) {
          if (!this.#mounted.has(record.id)) continue;
          if (record.state !== 'running' && this.#lastWritable.has(record.id)) continue;
          const entries = await this.#writableEntries(record).catch(() => null);
          if (!entries) continue;
          const key = JSON.stringify(entries);
          if (this.#lastWritable.get(record.id) === key) continue;
          this.#lastWritable.set(record.id, key);
          this.#emit({ type: 'writable', id: record.id, name: record.name, entries });
        }
      } finally {
        busy = false;
      }
    }, FEED_INTERVAL_MS);
  }

  /** A detached `crun run` answers before crun has written its state; exec and kill need that state. */
  async #untilCreated(id: string): Promise<void> {
    // crun writes it after the createRuntime hooks (the network wiring), which take a while under emulation.
    // Each look is an agent request that takes guest CPU from the starting container: look soon, then less often.
    let pause = 20;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
      const found = await this.#guest.request('read', { path: `/run/crun/${id}/status` }).then(() => true, () => false);
      if (found || this.#records.get(id)?.state !== 'running') return;
      await sleep(pause);
      pause = Math.min(pause * 2, 250);
    }
  }

  /**
   * `crun delete -f`, only when crun holds state for the container: a foreground `crun run` removes its own
   * when the process ends, and starting crun costs up to seconds under emulation.
   */
  async #crunDelete(id: string): Promise<void> {
    const held = await this.#guest.request('readdir', { path: '/run/crun' }).then(
      (listing) => listing.names.includes(id),
      (error: Error) => !/No such file/.test(error.message), // no /run/crun yet: nothing ever ran
    );
    if (held) await this.#guest.request('delete', { name: id }).catch(() => {});
  }

  /**
   * Mounts a container's filesystem once. Callers that ask at the same time (the writable-layer feed and
   * a `docker diff` right after a reload) share one mount: two would race over the same transfer file.
   */
  async #ensureMounted(record: ContainerRecord, signal?: AbortSignal): Promise<void> {
    if (this.#mounted.has(record.id)) return;
    let pending = this.#mounting.get(record.id);
    if (!pending) {
      pending = this.#mount(record, signal).finally(() => this.#mounting.delete(record.id));
      this.#mounting.set(record.id, pending);
    }
    return pending;
  }

  async #mount(record: ContainerRecord, signal?: AbortSignal): Promise<void> {
    await this.#layers.ensure(record.diffIDs, signal);
    for (const volume of record.volumes) await this.#ensureVolume(volume.name);
    await this.#layers.limitSize(record.id, WRITABLE_LAYER_LIMIT);
    if (record.savedWritable) {
      const tar = await this.#backend.getBlob(record.savedWritable);
      if (tar) {
        const transfer = `xfer-rw-${record.id.slice(0, 12)}.tar`;
        await this.#guest.putFile(transfer, tar);
        await this.#guest.request('unpack', { tar: `${GUEST_PATHS.share}/${transfer}`, dest: `${containerDir(record.id)}/upper` });
        await this.#guest.request('rm', { path: `${GUEST_PATHS.share}/${transfer}` });
      }
    }
    // Docker's init layer: the files the network setup bind-mounts over exist below the writable layer,
    // so they never show in `docker diff` or a commit.
    const init = `${containerDir(record.id)}/init`;
    for (const file of NETWORK_FILES) await this.#guest.request('write', { path: `${init}/etc/${file}`, data: '' });
    await this.#layers.mount(record.id, record.diffIDs, signal, init);
    this.#mounted.add(record.id);
  }

  async #ensureVolume(name: string): Promise<void> {
    await this.#guest.request('write', { path: `${volumeDir(name)}/.layerlab-volume`, data: '' }).catch(() => {});
    await this.#guest.request('rm', { path: `${volumeDir(name)}/.layerlab-volume` }).catch(() => {});
  }

  async #runtimeConfig(record: ContainerRecord, options: { terminal: boolean }) {
    const ids = await this.#ids(record, record.user);
    const dir = containerDir(record.id);
    const networkFiles = NETWORK_FILES.map((f) => ({ source: `${dir}/${f}`, destination: `/etc/${f}` }));
    return runtimeSpec({
      process: { args: record.args, env: record.env, cwd: record.workdir || '/', ...ids, terminal: options.terminal },
      rootfs: `${dir}/rootfs`,
      hostname: record.hostname,
      mounts: [...networkFiles, ...record.volumes.map((v) => ({ source: volumeDir(v.name), destination: v.destination }))],
      memoryBytes: record.memoryBytes,
      pidsLimit: record.pidsLimit,
      hostNetwork: record.network === 'host',
      createRuntimeHooks: Object.values(record.endpoints ?? {}).map((endpoint, index) => this.#attachHook(endpoint, index)),
    });
  }

  // ---- networks

  /** The veth wiring for one endpoint, run by crun once the container's namespaces exist (OCI createRuntime hook). */
  #attachHook(endpoint: Endpoint, index: number): { path: string; args: string[] } {
    const network = this.#networks.list().find((n) => n.id === endpoint.networkId);
    if (!network) throw new EngineError(`network ${endpoint.networkId} not found`);
    const address = `${endpoint.ipAddress}/${this.#networks.prefix(network)}`;
    return { path: NET_ATTACH, args: ['layerlab-net-attach', '-', network.device!, `eth${index}`, address, endpoint.macAddress, ...(index === 0 ? [network.gateway!] : [])] };
  }

  #members(): NetworkMember[] {
    return [...this.#records.values()].map((r) => ({
      id: r.id,
      name: r.name,
      hostname: r.hostname,
      running: r.state === 'running',
      network: r.network,
      endpoints: r.endpoints ?? {},
      ports: r.ports ?? [],
    }));
  }

  /**
   * Idle-time work after the VM is up: the default bridge and its NAT rules, which the first container on it
   * would otherwise set up while the learner waits (two guest programs, seconds under emulation).
   */
  async warmUp(): Promise<void> {
    if (await this.#networks.ensureBridge(this.#networks.find('bridge'))) await this.#networks.applyRules(this.#members());
  }

  /** Before a start: bridges up, host ports chosen, /etc/hosts, /etc/hostname and /etc/resolv.conf written. */
  async #prepareNetwork(record: ContainerRecord): Promise<void> {
    let newBridge = false;
    for (const endpoint of Object.values(record.endpoints ?? {})) {
      const network = this.#networks.list().find((n) => n.id === endpoint.networkId);
      if (!network) throw new EngineError(`network ${endpoint.networkId} not found`);
      newBridge = (await this.#networks.ensureBridge(network)) || newBridge;
    }
    record.ports = this.#bindPorts(record);
    // NAT, isolation between networks and published ports are in place before the process starts.
    const starting = this.#members().map((m) => (m.id === record.id ? { ...m, running: true } : m));
    if (newBridge || record.ports.length) await this.#networks.applyRules(starting).catch((error) => console.warn(`layerlab: ${(error as Error).message}`));
    const dir = containerDir(record.id);
    const resolv = await this.#guest
      .request('read', { path: '/etc/resolv.conf' })
      .then(({ data }) => new TextDecoder().decode(fromBase64(data)))
      .catch(() => '# This VM has no DNS server configured (no outbound network).\n');
    const member = this.#members().find((m) => m.id === record.id)!;
    const files: Record<string, string> = {
      hosts: this.#networks.hostsFile({ ...member, running: true }, this.#members()),
      hostname: `${record.hostname}\n`,
      'resolv.conf': record.network === 'none' ? '' : resolv,
    };
    for (const [name, text] of Object.entries(files)) {
      await this.#guest.request('write', { path: `${dir}/${name}`, data: textToBase64(text) });
    }
  }

  /** Host ports for `-p`: the asked ones (refused if another running container has them), or free ones. */
  #bindPorts(record: ContainerRecord): PortBinding[] {
    const taken = new Map<number, ContainerRecord>();
    for (const other of this.#records.values()) {
      if (other.id !== record.id && other.state === 'running') for (const p of other.ports ?? []) taken.set(p.hostPort, other);
    }
    const bound: PortBinding[] = [];
    for (const wanted of record.publish ?? []) {
      let hostPort = wanted.hostPort;
      if (hostPort === 0) {
        hostPort = EPHEMERAL_PORT_START;
        while (taken.has(hostPort) || bound.some((b) => b.hostPort === hostPort)) hostPort++;
      } else if (taken.has(hostPort) || bound.some((b) => b.hostPort === hostPort)) {
        throw new ConflictError(
          `driver failed programming external connectivity on endpoint ${record.name} (${record.id}): Bind for ${wanted.hostIp}:${hostPort} failed: port is already allocated`,
        );
      }
      bound.push({ ...wanted, hostPort });
    }
    return bound;
  }

  /** After a start, an exit, a connect or a disconnect: NAT/port rules and every running container's /etc/hosts. */
  async #networkChanged(options: { rules: boolean } = { rules: true }): Promise<void> {
    const members = this.#members();
    if (options.rules) {
      await this.#networks.applyRules(members).catch((error) => console.warn(`layerlab: ${(error as Error).message}`));
    }
    for (const member of members) {
      if (!member.running || !Object.keys(member.endpoints).some((name) => name !== 'bridge')) continue;
      const text = this.#networks.hostsFile(member, members);
      await this.#guest.request('write', { path: `${containerDir(member.id)}/hosts`, data: textToBase64(text) }).catch(() => {});
    }
  }

  /** `docker network connect`: a new endpoint; wired at once when the container runs. */
  async connect(ref: string, networkRef: string, options: { aliases?: string[]; ip?: string } = {}): Promise<void> {
    const record = this.find(ref);
    const network = this.#networks.find(networkRef);
    if (network.driver !== 'bridge') throw new EngineError(`container cannot be disconnected from host network or connected to host network`);
    if (record.network === 'host' || record.network === 'none') throw new EngineError(`container sharing network namespace with another container or host cannot be connected to any other network`);
    const endpoints = record.endpoints ?? {};
    if (endpoints[network.name]) throw new ConflictError(`endpoint with name ${record.name} already exists in network ${network.name}`);
    if (options.aliases?.length && network.name === 'bridge') throw new EngineError('network-scoped alias is supported only for containers in user defined networks');
    const ip = this.#networks.allocateIp(network, this.#members(), options.ip);
    const endpoint = { networkId: network.id, ipAddress: ip, macAddress: macForIp(ip), aliases: options.aliases ?? [] };
    if (record.state === 'running') {
      await this.#networks.ensureBridge(network);
      const hook = this.#attachHook(endpoint, Object.keys(endpoints).length);
      const { exit } = await this.#guest.request('spawn', { argv: [NET_TOOL, 'attach', `container:${record.id}`, ...hook.args.slice(2)] });
      if (exit !== 0) throw new EngineError(`could not attach ${record.name} to ${network.name} (the guest's ${NET_TOOL} failed)`);
    }
    record.endpoints = { ...endpoints, [network.name]: endpoint };
    await this.#save(record);
    if (record.state === 'running') await this.#networkChanged();
  }

  async disconnect(ref: string, networkRef: string): Promise<void> {
    const record = this.find(ref);
    const network = this.#networks.find(networkRef);
    const endpoints = { ...(record.endpoints ?? {}) };
    if (!endpoints[network.name]) throw new EngineError(`container ${record.id} is not connected to network ${network.name}`);
    if (record.state === 'running') {
      const index = Object.keys(endpoints).indexOf(network.name);
      await this.#guest.request('spawn', { argv: [NET_TOOL, 'detach', `container:${record.id}`, `eth${index}`] });
    }
    delete endpoints[network.name];
    record.endpoints = endpoints;
    await this.#save(record);
    if (record.state === 'running') await this.#networkChanged();
  }

  networkMembers(): NetworkMember[] {
    return this.#members();
  }

  async #ids(record: ContainerRecord, user: string) {
    if (!user || user === 'root' || /^\d+(:\d+)?$/.test(user)) return resolveUser(user, {});
    const read = async (path: string) => {
      try {
        const { data } = await this.#guest.request('read', { path: `${containerDir(record.id)}/rootfs${path}` });
        return new TextDecoder().decode(fromBase64(data));
      } catch {
        return undefined;
      }
    };
    return resolveUser(user, { passwd: await read('/etc/passwd'), group: await read('/etc/group') });
  }

  async #execArgv(record: ContainerRecord, command: string[], options: { env?: string[]; workdir?: string; user?: string }, tty: boolean): Promise<string[]> {
    const ids = await this.#ids(record, options.user ?? record.user);
    return [
      '/usr/bin/crun',
      'exec',
      ...(tty ? ['--tty'] : []),
      ...(options.env ?? []).flatMap((e) => ['--env', e]),
      '--cwd',
      options.workdir ?? (record.workdir || '/'),
      '--user',
      `${ids.uid}:${ids.gid}`,
      record.id,
      ...command,
    ];
  }

  #listen(id: string, listener: (stream: 'stdout' | 'stderr', text: string) => void): () => void {
    const set = this.#outputListeners.get(id) ?? new Set();
    set.add(listener);
    this.#outputListeners.set(id, set);
    return () => set.delete(listener);
  }

  #onGuestEvent(event: { event: string; [key: string]: unknown }): void {
    const id = String(event.name ?? '');
    if (!this.#records.has(id)) return;
    if (event.event === 'output') {
      const stream = event.stream === 'stderr' ? 'stderr' : 'stdout';
      const decoder = this.#decoders.get(id + stream) ?? new TextDecoder();
      this.#decoders.set(id + stream, decoder);
      const text = decoder.decode(fromBase64(String(event.data ?? '')), { stream: true });
      const logs = this.#logs.get(id) ?? [];
      logs.push({ stream, text, time: new Date().toISOString() });
      while (logs.reduce((n, c) => n + c.text.length, 0) > LOG_LIMIT) logs.shift();
      this.#logs.set(id, logs);
      for (const listener of this.#outputListeners.get(id) ?? []) listener(stream, text);
    } else if (event.event === 'exit') {
      void this.#exited(id, Number(event.code ?? 0));
    }
  }

  async #exited(id: string, code: number): Promise<void> {
    const record = this.#records.get(id);
    if (!record) return;
    const published = (record.ports?.length ?? 0) > 0;
    Object.assign(record, { state: 'exited', exitCode: code, finishedAt: new Date().toISOString(), ports: [], paused: false });
    this.#outputListeners.delete(id);
    await this.#networkChanged({ rules: published });
    this.#emit({ type: 'container', action: 'die', id, name: record.name, state: 'exited', exitCode: code });
    if (record.autoRemove) {
      await this.rm(id, { force: true }).catch(() => {});
    } else {
      await this.#backend.commit({ put: { [`container/${id}`]: record, [`logs/${id}`]: this.#logs.get(id) ?? [] } });
      await this.#persistWritable(record).catch(() => {});
      this.#lastWritable.delete(id);
      this.#kickFeed();
    }
    // Waiters (`docker stop`, `docker run`, `docker wait`) resume once the stopped container is saved, so a
    // reload right after cannot lose its writable layer.
    for (const resolve of this.#exitWaiters.get(id) ?? []) resolve(code);
    this.#exitWaiters.delete(id);
  }

  /** Saves the writable layer as a tar blob, so it survives a VM restart (a page reload). */
  async #persistWritable(record: ContainerRecord): Promise<void> {
    const tar = await this.#layers.pack(`${containerDir(record.id)}/upper`);
    const digest = await sha256(tar);
    if (digest === record.savedWritable) return;
    await this.#backend.putBlob(digest, tar);
    const old = record.savedWritable;
    record.savedWritable = digest;
    await this.#save(record);
    if (old) await this.#backend.deleteBlob(old).catch(() => {});
  }

  async #save(record: ContainerRecord): Promise<void> {
    // A container that exited and was auto-removed while its start was still finishing stays removed.
    if (this.#removed.has(record.id)) return;
    await this.#backend.commit({ put: { [`container/${record.id}`]: record } });
  }
}

/** Docker's State.Status: a frozen running container is `paused`. */
function viewState(record: ContainerRecord): ContainerState {
  return record.state === 'running' && record.paused ? 'paused' : record.state;
}

function absolute(path: string): string {
  return path.startsWith('/') ? path : `/${path}`;
}

export function containerDir(id: string): string {
  return `${GUEST_PATHS.containers}/${id}`;
}

export function volumeDir(name: string): string {
  return `${GUEST_PATHS.volumes}/${name}/_data`;
}

/** `docker commit --change`: ENV adds to the image's Env; other fields replace. */
/** What `docker commit` writes: the image's config with the container's Cmd, Entrypoint, Env, WorkingDir and User. */
function committedConfig(base: ContainerConfig, record: ContainerRecord): ContainerConfig {
  const config: ContainerConfig = { ...base, Env: record.env, User: record.user };
  if (record.workdir !== '/' || base.WorkingDir) config.WorkingDir = record.workdir;
  if (record.entrypoint) config.Entrypoint = record.entrypoint.length ? record.entrypoint : null;
  if (record.cmd) config.Cmd = record.cmd.length ? record.cmd : null;
  return config;
}

function mergeConfig(base: ContainerConfig, changes: Partial<ContainerConfig>): ContainerConfig {
  return {
    ...base,
    ...changes,
    ...(changes.Env ? { Env: mergeEnv(base.Env ?? [], changes.Env) } : {}),
    // EXPOSE, LABEL, VOLUME and ONBUILD add to what the image has, as in a Dockerfile.
    ...(changes.ExposedPorts ? { ExposedPorts: { ...base.ExposedPorts, ...changes.ExposedPorts } } : {}),
    ...(changes.Labels ? { Labels: { ...base.Labels, ...changes.Labels } } : {}),
    ...(changes.Volumes ? { Volumes: { ...base.Volumes, ...changes.Volumes } } : {}),
    ...(changes.OnBuild ? { OnBuild: [...(base.OnBuild ?? []), ...changes.OnBuild] } : {}),
  };
}

/** dockerd gives a container PATH when neither the image nor `-e` sets it (an imported image has no Env). */
function withDefaultPath(env: string[]): string[] {
  return env.some((e) => e.startsWith('PATH=')) ? env : ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...env];
}

function mergeEnv(base: string[], extra: string[]): string[] {
  const env = new Map(base.map((e) => [e.split('=')[0], e]));
  for (const e of extra) env.set(e.split('=')[0], e);
  return [...env.values()];
}

function typeName(type: ListEntry['type']): string {
  return { f: 'file', d: 'dir', l: 'symlink', w: 'whiteout', c: 'char', b: 'block', p: 'fifo', s: 'socket' }[type];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
