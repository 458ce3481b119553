/**
 * A container's life: create, start, pause, kill, stop, exit, remove — each change saved and announced
 * with a `container` event, as dockerd does.
 */
import { TextTail } from '../util/tail.ts';
import { ConflictError, EngineError } from '../oci/errors.ts';
import { toBase64 } from '../util/base64.ts';
import type { LogEntry, RunOptions } from '../api.ts';
import { exposedTcpPorts, parsePublish } from '../network/ports.ts';
import type { Endpoint } from '../network/networks.ts';
import { randomId, randomName } from './names.ts';
import { signalNumber } from './signals.ts';
import { mergeEnv, withDefaultPath } from './config.ts';
import { containerDir, sleep, type ContainerRecord } from './record.ts';
import type { OutputListener } from './output.ts';
import type { ExecOptions } from './runtime.ts';
import type { ContainerParts } from './parts.ts';

/** Characters of each stream an exec returns (its tail); streaming callers still see everything. */
export const EXEC_OUTPUT_CHARS = 1024 * 1024;

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export class ContainerLifecycle {
  #parts: ContainerParts;
  #exitWaiters = new Map<string, ((code: number) => void)[]>();

  constructor(parts: ContainerParts) {
    this.#parts = parts;
  }

  async create(options: RunOptions, extra: { volumes: { name: string; destination: string }[] }): Promise<ContainerRecord> {
    const { store, records, networking } = this.#parts;
    if (options.name && !NAME.test(options.name)) {
      throw new EngineError(`Invalid container name (${options.name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    const taken = (name: string) => records.named(name) !== undefined;
    if (options.name && taken(options.name)) {
      const other = records.find(options.name);
      throw new ConflictError(
        `Conflict. The container name "/${options.name}" is already in use by container "${other.id}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    const image = await store.resolve({ ref: options.image });
    const config = (await store.getConfig({ id: image.id })).config ?? {};
    const entrypoint = options.entrypoint ?? config.Entrypoint ?? [];
    const cmd = options.command?.length ? options.command : options.entrypoint ? [] : (config.Cmd ?? []);
    const args = [...(entrypoint ?? []), ...(cmd ?? [])];
    if (args.length === 0) throw new EngineError('No command specified');
    const id = randomId();
    const networkMode = options.network === 'bridge' ? 'default' : (options.network ?? 'default');
    const network = networking.resolveMode(networkMode);
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
    if (network.driver === 'bridge') endpoints[network.name] = networking.newEndpoint(network, options.networkAliases ?? []);
    const record: ContainerRecord = {
      id,
      name: options.name ?? randomName(taken),
      image: options.image,
      imageId: image.id,
      diffIDs: (await store.getConfig({ id: image.id })).rootfs.diff_ids,
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
    await this.#parts.filesystems.ensureMounted(record, options.signal);
    await records.save(record);
    await store.refs.add({ image: image.id, container: id });
    records.add(record);
    this.#parts.output.restore(id, []);
    this.#parts.emit({ type: 'container', action: 'create', id, name: record.name, state: 'created' });
    return record;
  }

  /** Starts the process (detached in the guest); `onOutput` receives its output as it comes. */
  async start(ref: string, onOutput?: OutputListener, stdin?: Uint8Array): Promise<ContainerRecord> {
    const { records, filesystems, networking, runtime, output, emit, feed } = this.#parts;
    const record = records.find(ref);
    if (record.paused) throw new ConflictError('cannot start a paused container, try unpause instead');
    if (record.state === 'running') return record;
    await filesystems.ensureMounted(record);
    const bundle = containerDir(record.id);
    // crun keeps its own state per container id; a restart needs the old one gone (a new id has none).
    if (record.startedAt) await runtime.crunDelete(record.id);
    await networking.prepare(record);
    const config = await runtime.runtimeConfig(record, { terminal: false });
    if (onOutput) output.listen(record.id, onOutput);
    // Running before the request: a process that exits at once sends its exit event right after.
    Object.assign(record, { state: 'running', startedAt: new Date().toISOString(), finishedAt: null, exitCode: null });
    emit({ type: 'container', action: 'start', id: record.id, name: record.name, state: 'running' });
    feed.creating(record.id);
    try {
      await runtime.startDetached(record.id, bundle, config, { stdin, running: () => records.get(record.id)?.state === 'running' });
    } catch (error) {
      Object.assign(record, { state: 'exited', exitCode: 127, finishedAt: new Date().toISOString() });
      void networking.prepared.release(record.id).catch(() => {});
      await records.save(record);
      throw error;
    } finally {
      feed.created(record.id);
    }
    await networking.changed({ rules: false });
    await records.save(record);
    feed.kick();
    return record;
  }

  /**
   * Resolves with the exit code once the container's process has ended. Given the record itself, it also
   * works for a `--rm` container that has already exited and been removed (a process that ends at once).
   */
  wait(ref: string | ContainerRecord): Promise<number> {
    const record = typeof ref === 'string' ? this.#parts.records.find(ref) : ref;
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
    const record = this.#parts.records.find(ref);
    if (record.state !== 'running') return record.exitCode;
    if (signal?.aborted) return null;
    const stop = this.#parts.output.listen(record.id, (stream, text) => onOutput({ stream, text, time: new Date().toISOString() }));
    try {
      return await new Promise<number | null>((resolve) => {
        signal?.addEventListener('abort', () => resolve(null), { once: true });
        void this.wait(record.id).then(resolve);
      });
    } finally {
      stop();
    }
  }

  /** `docker pause`: freezes every process of the container (crun pause: the cgroup v2 freezer). */
  async pause(ref: string): Promise<ContainerRecord> {
    const record = this.#parts.records.find(ref);
    if (record.state !== 'running') throw new ConflictError(`Container ${record.id} is not running`);
    if (record.paused) throw new ConflictError(`Container ${record.id} is already paused`);
    await this.#parts.runtime.crun('pause', record.id);
    record.paused = true;
    await this.#parts.records.save(record);
    this.#parts.emit({ type: 'container', action: 'pause', id: record.id, name: record.name, state: 'paused' });
    return record;
  }

  async unpause(ref: string): Promise<ContainerRecord> {
    const record = this.#parts.records.find(ref);
    if (!record.paused || record.state !== 'running') throw new ConflictError(`Container ${record.id} is not paused`);
    await this.#parts.runtime.crun('resume', record.id);
    record.paused = false;
    await this.#parts.records.save(record);
    this.#parts.emit({ type: 'container', action: 'unpause', id: record.id, name: record.name, state: 'running' });
    return record;
  }

  /** After a signal to a paused container: thaw it so the signal is delivered (Docker does the same). */
  async #thawAfterSignal(record: ContainerRecord): Promise<void> {
    if (!record.paused) return;
    await this.#parts.runtime.crun('resume', record.id).catch(() => {});
    record.paused = false;
    if (record.state === 'running') this.#parts.emit({ type: 'container', action: 'unpause', id: record.id, name: record.name, state: 'running' });
  }

  async rename(ref: string, name: string): Promise<void> {
    const { records } = this.#parts;
    const record = records.find(ref);
    if (!NAME.test(name)) throw new EngineError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if (record.name === name) throw new EngineError(`Renaming a container with the same name as its current name`);
    const other = records.named(name);
    if (other) throw new ConflictError(`Conflict. The container name "/${name}" is already in use by container "${other.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    record.name = name;
    await records.save(record);
    this.#parts.emit({ type: 'container', action: 'rename', id: record.id, name, state: record.state });
  }

  async kill(ref: string, signal?: string): Promise<ContainerRecord> {
    const record = this.#parts.records.find(ref);
    if (record.state !== 'running') throw new ConflictError(`Cannot kill container: ${ref}: Container ${record.id} is not running`);
    await this.#parts.guest.request('signal', { name: record.id, signal: signalNumber(signal, 9) });
    await this.#thawAfterSignal(record);
    this.#parts.emit({ type: 'container', action: 'kill', id: record.id, name: record.name, state: record.state });
    return record;
  }

  /** SIGTERM (or the image's STOPSIGNAL), then SIGKILL after the grace period, as `docker stop` does. */
  async stop(ref: string, timeoutSeconds = 10): Promise<ContainerRecord> {
    const { records, guest } = this.#parts;
    const record = records.find(ref);
    if (record.state !== 'running') return record;
    const exited = this.wait(record.id);
    await guest.request('signal', { name: record.id, signal: signalNumber(record.stopSignal, 15) }).catch(() => {});
    await this.#thawAfterSignal(record);
    const timedOut = await Promise.race([exited.then(() => false), sleep(timeoutSeconds * 1000).then(() => true)]);
    if (timedOut) {
      await guest.request('signal', { name: record.id, signal: 9 }).catch(() => {});
      await exited;
    }
    this.#parts.emit({ type: 'container', action: 'stop', id: record.id, name: record.name, state: record.state, exitCode: record.exitCode });
    return record;
  }

  async rm(ref: string, options: { force?: boolean } = {}): Promise<void> {
    const { records, backend, store } = this.#parts;
    const record = records.find(ref);
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
      await this.#parts.guest.request('signal', { name: record.id, signal: 9 }).catch(() => {});
      await this.#thawAfterSignal(record);
      await Promise.race([exited, sleep(5000)]);
    }
    await this.#parts.runtime.crunDelete(record.id);
    await this.#parts.filesystems.remove(record.id);
    this.#parts.output.forget(record.id);
    this.#parts.feed.forget(record.id);
    await records.remove(record);
    if (record.savedWritable) await backend.deleteBlob(record.savedWritable).catch(() => {});
    await store.refs.remove({ image: record.imageId, container: record.id });
    this.#parts.emit({ type: 'container', action: 'destroy', id: record.id, name: record.name, state: record.state });
  }

  async exec(
    ref: string,
    command: string[],
    options: ExecOptions & { stdin?: Uint8Array; onOutput?: OutputListener } = {},
  ): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const record = this.#parts.records.find(ref);
    if (record.state !== 'running') throw new ConflictError(`Container ${record.id} is not running`);
    if (record.paused) throw new ConflictError(`Container ${ref} is paused, unpause the container before exec`);
    const argv = await this.#parts.runtime.execArgv(record, command, options, false);
    // What the caller gets back is the output's tail: `exec c yes` must not grow memory without bound.
    const kept = { stdout: new TextTail(EXEC_OUTPUT_CHARS), stderr: new TextTail(EXEC_OUTPUT_CHARS) };
    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    const { exit } = await this.#parts.guest.request('spawn', { argv, ...(options.stdin ? { stdin: toBase64(options.stdin) } : {}) }, {
      timeoutMs: 10 * 60_000,
      onStream: (stream, data) => {
        const text = decoders[stream].decode(data, { stream: true });
        kept[stream].append(text);
        options.onOutput?.(stream, text);
      },
    });
    this.#parts.feed.kick();
    return { exitCode: exit, stdout: kept.stdout.toString(), stderr: kept.stderr.toString() };
  }

  /** The guest's events about a container's process: its output, and its end. */
  onGuestEvent(event: { event: string; [key: string]: unknown }): void {
    const id = String(event.name ?? '');
    if (!this.#parts.records.has(id)) return;
    if (event.event === 'output') {
      this.#parts.output.append(id, event.stream === 'stderr' ? 'stderr' : 'stdout', String(event.data ?? ''));
    } else if (event.event === 'exit') {
      void this.exited(id, Number(event.code ?? 0));
    }
  }

  /** The container's process ended: the record, its writable layer and the networks catch up, then waiters resume. */
  async exited(id: string, code: number): Promise<void> {
    const { records, output, networking, filesystems, feed } = this.#parts;
    const record = records.get(id);
    if (!record) return;
    const published = (record.ports?.length ?? 0) > 0;
    Object.assign(record, { state: 'exited', exitCode: code, finishedAt: new Date().toISOString(), ports: [], paused: false });
    output.ended(id);
    await networking.changed({ rules: published });
    this.#parts.emit({ type: 'container', action: 'die', id, name: record.name, state: 'exited', exitCode: code });
    if (record.autoRemove) {
      await this.rm(id, { force: true }).catch(() => {});
    } else {
      await records.saveWithLogs(record, output.logs(id));
      await filesystems.persistWritable(record).catch(() => {});
      feed.forget(id);
      feed.kick();
    }
    // Once its address is free (a removed container's): the namespace made ahead for the next container is
    // guest work the learner need not wait for.
    void networking.prepared.release(id).catch((error: Error) => console.warn(`layerlab: ${error.message}`));
    // Waiters (`docker stop`, `docker run`, `docker wait`) resume once the stopped container is saved, so a
    // reload right after cannot lose its writable layer.
    for (const resolve of this.#exitWaiters.get(id) ?? []) resolve(code);
    this.#exitWaiters.delete(id);
  }
}
