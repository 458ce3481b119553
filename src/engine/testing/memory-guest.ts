/**
 * An in-memory `Guest` for unit tests: the agent's contract (guest-protocol.ts, vm/agent/PROTOCOL.md) over
 * maps instead of a VM. Files live in one path → node map (the 9p share is `/mnt/host`); `unpack`/`pack`
 * read and write real OCI layer tars (whiteouts and opaque dirs as the agent makes them); `mount` joins
 * lowers and an upper as overlayfs does for reads and writes below its target. Processes (`run`, `spawn`,
 * `crun exec`) are scripted: a test says what a command prints, exits with and writes.
 */
import { readTar, writeTar, type TarWriteEntry } from '../archive/tar.ts';
import { fromBase64, toBase64 } from '../util/base64.ts';
import { GUEST_PATHS, GuestError, type Guest, type GuestEvent, type GuestOp, type GuestParams, type GuestResult, type RequestOptions } from '../guest.ts';
import type { ListEntry } from '../layers/tree.ts';

interface MemoryNode {
  type: 'f' | 'd' | 'l' | 'w';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  data?: Uint8Array;
  link?: string;
  opaque?: boolean;
}

/** What a scripted process does. */
export interface ProcessScript {
  stdout?: string;
  stderr?: string;
  /** Default 0. */
  exit?: number;
  /** Files it writes, by absolute path in its root filesystem (a container's: its writable layer). */
  writes?: Record<string, string>;
  /** A detached container process that keeps running until it is signalled. */
  keepsRunning?: boolean;
}

/** A process the guest is asked to start: a container's (`run`, `crun exec`) or the VM's own (`spawn`). */
export interface ProcessRequest {
  kind: 'run' | 'exec' | 'spawn';
  argv: string[];
  /** The container's name (its ID, or a build step's) for `run` and `exec`. */
  container?: string;
  /** The root filesystem the process sees (a `run`'s bundle rootfs). */
  rootfs?: string;
  env?: string[];
  stdin?: Uint8Array;
}

export type ProcessHandler = (process: ProcessRequest) => ProcessScript | undefined;

export interface MemoryGuestOptions {
  /** What each process does; unanswered ones exit 0 silently (the VM's own plumbing: mounts, crun, date). */
  processes?: ProcessHandler;
}

const SHARE = GUEST_PATHS.share;
const MISSING = 'No such file or directory';
/** What a detached run's seccomp.bpf holds here: one BPF instruction (`ret ALLOW`), as crun's file is whole instructions. */
export const MEMORY_SECCOMP_BPF = new Uint8Array([6, 0, 0, 0, 0, 0, 0xff, 0x7f]);

export class MemoryGuest implements Guest {
  readonly nodes = new Map<string, MemoryNode>([['/', dir()]]);
  /** Overlay mounts: target → lowers (topmost first) and upper. */
  readonly mounts = new Map<string, { lowers: string[]; upper: string }>();
  /** Every request, in order (op and params), for tests that look at what the engine asked. */
  readonly requests: { op: GuestOp; params: unknown }[] = [];
  /** Detached container processes still running, by container name. */
  readonly running = new Set<string>();
  #listeners = new Set<(event: { event: string; [key: string]: unknown }) => void>();
  #processes: ProcessHandler;

  constructor(options: MemoryGuestOptions = {}) {
    this.#processes = options.processes ?? (() => undefined);
    // What the VM's snapshot has made: the engine's folders and the share.
    for (const path of Object.values(GUEST_PATHS)) this.#mkdirs(path);
  }

  /** Replaces the process script (tests change it between steps). */
  script(processes: ProcessHandler): void {
    this.#processes = processes;
  }

  // ---- files, as a test sets them up and reads them

  writeFile(path: string, data: Uint8Array | string, mode = 0o644): void {
    const target = this.#writeTarget(path);
    this.#mkdirs(parentOf(target));
    this.nodes.set(target, { type: 'f', mode, uid: 0, gid: 0, mtime: 0, data: typeof data === 'string' ? new TextEncoder().encode(data) : data });
  }

  /** A file's bytes as a process would read them (through overlay mounts), or undefined. */
  readFile(path: string): Uint8Array | undefined {
    const node = this.#lookup(path);
    return node?.type === 'f' ? node.data : undefined;
  }

  readText(path: string): string | undefined {
    const data = this.readFile(path);
    return data && new TextDecoder().decode(data);
  }

  // ---- Guest

  async request<Op extends GuestOp>(op: Op, params: GuestParams<Op>, options: RequestOptions = {}): Promise<GuestResult<Op>> {
    this.requests.push({ op, params });
    options.signal?.throwIfAborted();
    await Promise.resolve(); // answers come later, as over the serial line
    const result = await this.#handle(op, params as never, options);
    return result as GuestResult<Op>;
  }

  notify(): void {}

  async putFile(path: string, data: Uint8Array): Promise<void> {
    this.writeFile(`${SHARE}/${path}`, data.slice());
  }

  async getFile(path: string): Promise<Uint8Array> {
    const node = this.nodes.get(normal(`${SHARE}/${path}`));
    if (node?.type !== 'f') throw new GuestError('getFile', `${path}: ${MISSING}`);
    return node.data!.slice();
  }

  onEvent(listener: (event: { event: string; [key: string]: unknown }) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  readonly offlineReason = null;

  /** Sends an agent event to the engine (after the current request has answered, as the agent does). */
  emit(event: GuestEvent): void {
    setTimeout(() => {
      for (const listener of [...this.#listeners]) listener(event);
    }, 0);
  }

  // ---- ops

  async #handle(op: GuestOp, params: any, options: RequestOptions): Promise<object> {
    switch (op) {
      case 'hello':
        return { version: 1 };
      case 'write': {
        this.writeFile(params.path, fromBase64(params.data), params.mode ?? 0o644);
        return {};
      }
      case 'read': {
        const node = this.#lookup(params.path);
        if (!node) throw new GuestError(op, `${params.path}: ${MISSING}`);
        if (node.type !== 'f') throw new GuestError(op, `${params.path}: Is a directory`);
        return { data: toBase64(node.data!) };
      }
      case 'readdir': {
        const path = normal(params.path);
        if (this.nodes.get(path)?.type !== 'd') throw new GuestError(op, `${params.path}: ${MISSING}`);
        return { names: this.#children(path).map((child) => child.slice(path === '/' ? 1 : path.length + 1)) };
      }
      case 'rm': {
        const path = normal(params.path);
        for (const key of this.#subtree(path)) this.nodes.delete(key);
        this.nodes.delete(path);
        return {};
      }
      case 'rename': {
        const from = normal(params.from);
        const to = normal(params.to);
        if (!this.nodes.has(from)) throw new GuestError(op, `${params.from}: ${MISSING}`);
        this.#mkdirs(parentOf(to));
        for (const key of [from, ...this.#subtree(from)]) {
          this.nodes.set(to + key.slice(from.length), this.nodes.get(key)!);
          this.nodes.delete(key);
        }
        return {};
      }
      case 'unpack':
        return this.#unpack(params.tar, params.dest);
      case 'pack':
        return this.#pack(params.dir, params.tar);
      case 'list':
        return { entries: this.#list(normal(params.dir)) };
      case 'mount': {
        this.#mkdirs(normal(params.upper));
        this.#mkdirs(normal(params.target));
        this.mounts.set(normal(params.target), { lowers: params.lowers.map(normal), upper: normal(params.upper) });
        return {};
      }
      case 'umount':
        this.mounts.delete(normal(params.target));
        return {};
      case 'tmpfs':
        // The tmpfs a writable layer gets (GuestLayers.limitSize): its folder.
        this.#mkdirs(normal(params.target));
        return {};
      case 'run':
        return this.#run(params, options);
      case 'signal': {
        if (!this.running.has(params.name)) throw new GuestError(op, `container ${params.name} is not running`);
        this.#ended(params.name, 128 + params.signal);
        return {};
      }
      case 'delete':
        this.nodes.delete(`/run/crun/${params.name}`);
        this.nodes.delete(`/run/crun/${params.name}/status`);
        return {};
      case 'spawn':
        return this.#spawn(params, options);
      default:
        throw new GuestError(op, `unknown op ${op} (the in-memory guest does not implement it)`);
    }
  }

  async #run(params: GuestParams<'run'>, options: RequestOptions): Promise<GuestResult<'run'>> {
    const config = params.config as { process: { args: string[]; env?: string[] }; root: { path: string } };
    const stdin = params.stdin === undefined ? undefined : fromBase64(params.stdin);
    const script = this.#processes({ kind: 'run', argv: config.process.args, container: params.name, rootfs: config.root.path, env: config.process.env, stdin }) ?? {};
    this.#applyWrites(config.root.path, script);
    if (!params.detach) {
      this.#stream(script, options);
      return { exit: script.exit ?? 0 };
    }
    this.running.add(params.name);
    // crun's state: the filter it compiled (when the config has a seccomp section), then its status.
    const linux = (params.config as { linux?: { seccomp?: unknown } }).linux;
    if (linux?.seccomp) this.writeFile(`/run/crun/${params.name}/seccomp.bpf`, MEMORY_SECCOMP_BPF);
    this.writeFile(`/run/crun/${params.name}/status`, 'running');
    for (const stream of ['stdout', 'stderr'] as const) {
      const text = script[stream];
      if (text) this.emit({ event: 'output', name: params.name, stream, data: toBase64(new TextEncoder().encode(text)) });
    }
    // With waitCreated the agent answers before the exit event.
    const end = () => void (script.keepsRunning || this.#ended(params.name, script.exit ?? 0));
    if (!params.waitCreated) {
      end();
      return { pid: 100 };
    }
    queueMicrotask(end);
    return { pid: 100, created: true };
  }

  async #spawn(params: GuestParams<'spawn'>, options: RequestOptions): Promise<GuestResult<'spawn'>> {
    const argv = params.argv;
    const stdin = params.stdin === undefined ? undefined : fromBase64(params.stdin);
    let script: ProcessScript | undefined;
    if (argv[0] === '/usr/bin/crun' && argv[1] === 'exec') {
      // crun exec [--tty] [--env E]… --cwd D --user U <id> <command…>
      const user = argv.indexOf('--user');
      const container = argv[user + 2];
      if (!this.running.has(container)) return this.#fail(options, `crun: container ${container} is not running`);
      const rootfs = `${GUEST_PATHS.containers}/${container}/rootfs`;
      script = this.#processes({ kind: 'exec', argv: argv.slice(user + 3), container, rootfs, stdin });
      if (script) this.#applyWrites(rootfs, script);
    } else {
      script = this.#processes({ kind: 'spawn', argv, stdin });
    }
    this.#stream(script ?? {}, options);
    return { exit: script?.exit ?? 0 };
  }

  #fail(options: RequestOptions, message: string): GuestResult<'spawn'> {
    options.onStream?.('stderr', new TextEncoder().encode(`${message}\n`));
    return { exit: 1 };
  }

  #stream(script: ProcessScript, options: RequestOptions): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const text = script[stream];
      if (text) options.onStream?.(stream, new TextEncoder().encode(text));
    }
  }

  #applyWrites(rootfs: string, script: ProcessScript): void {
    for (const [path, text] of Object.entries(script.writes ?? {})) this.writeFile(`${rootfs}${path}`, text);
  }

  #ended(name: string, code: number): void {
    this.running.delete(name);
    this.nodes.delete(`/run/crun/${name}/status`);
    this.nodes.delete(`/run/crun/${name}/seccomp.bpf`);
    this.emit({ event: 'exit', name, code });
  }

  async #unpack(tar: string, dest: string): Promise<GuestResult<'unpack'>> {
    const data = this.readFile(tar);
    if (!data) throw new GuestError('unpack', `${tar}: ${MISSING}`);
    const items = await readTar(data);
    const root = normal(dest);
    this.#mkdirs(root);
    for (const item of items) {
      const name = item.name.replace(/^\.?\/+/, '').replace(/\/+$/, '');
      if (!name) continue;
      if (name.split('/').includes('..')) throw new GuestError('unpack', `${item.name}: refusing a path with ..`);
      const path = `${root === '/' ? '' : root}/${name}`;
      const base = name.slice(name.lastIndexOf('/') + 1);
      this.#mkdirs(parentOf(path));
      const meta = { mode: item.mode & 0o7777, uid: item.uid, gid: item.gid, mtime: item.mtime };
      if (base === '.wh..wh..opq') {
        const parent = parentOf(path);
        this.nodes.set(parent, { ...(this.nodes.get(parent) ?? dir()), opaque: true });
      } else if (base.startsWith('.wh.')) {
        this.nodes.set(`${parentOf(path) === '/' ? '' : parentOf(path)}/${base.slice(4)}`, { type: 'w', mode: 0, uid: 0, gid: 0, mtime: item.mtime });
      } else if (item.type === 'directory') {
        this.nodes.set(path, { ...dir(), ...meta, opaque: this.nodes.get(path)?.opaque });
      } else if (item.type === 'symlink') {
        this.nodes.set(path, { type: 'l', ...meta, link: item.linkname });
      } else if (item.type === 'file') {
        this.nodes.set(path, { type: 'f', ...meta, data: item.data });
      } else if (item.type === 'link') {
        const target = this.nodes.get(`${root === '/' ? '' : root}/${item.linkname!.replace(/^\.?\/+/, '')}`);
        if (target) this.nodes.set(path, target);
      }
    }
    return { entries: items.length, bytes: data.length };
  }

  async #pack(dirPath: string, tar: string): Promise<GuestResult<'pack'>> {
    const root = normal(dirPath);
    const entries: TarWriteEntry[] = [];
    for (const entry of this.#list(root)) {
      const name = entry.path.slice(1);
      const node = this.nodes.get(`${root === '/' ? '' : root}${entry.path}`)!;
      const slash = name.lastIndexOf('/');
      const meta = { mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime };
      if (node.type === 'w') entries.push({ name: `${name.slice(0, slash + 1)}.wh.${name.slice(slash + 1)}`, mtime: entry.mtime, mode: 0 });
      else if (node.type === 'd') {
        entries.push({ name, type: 'directory', ...meta });
        if (node.opaque) entries.push({ name: `${name}/.wh..wh..opq`, mode: 0 });
      } else if (node.type === 'l') entries.push({ name, type: 'symlink', linkname: node.link, ...meta });
      else entries.push({ name, type: 'file', data: node.data, ...meta });
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const bytes = await writeTar(entries);
    this.writeFile(tar, bytes);
    return { entries: entries.length, bytes: bytes.length };
  }

  /** The agent's `list`: every node below `root`, paths from `/`, sorted. */
  #list(root: string): ListEntry[] {
    if (this.nodes.get(root)?.type !== 'd') throw new GuestError('list', `${root}: ${MISSING}`);
    return this.#subtree(root)
      .sort()
      .map((key) => {
        const node = this.nodes.get(key)!;
        return {
          path: key.slice(root === '/' ? 0 : root.length),
          type: node.type,
          mode: node.mode,
          size: node.type === 'f' ? node.data!.length : 0,
          uid: node.uid,
          gid: node.gid,
          mtime: node.mtime,
          ...(node.link !== undefined ? { link: node.link } : {}),
          ...(node.opaque ? { opaque: true } : {}),
        };
      });
  }

  // ---- paths, through overlay mounts

  #mountOf(path: string): { target: string; lowers: string[]; upper: string } | undefined {
    for (const [target, mount] of this.mounts) if (path === target || path.startsWith(`${target}/`)) return { target, ...mount };
    return undefined;
  }

  /** Where a write to `path` lands: the upper dir of an overlay mounted above it, or the path itself. */
  #writeTarget(path: string): string {
    const p = normal(path);
    const mount = this.#mountOf(p);
    return mount ? mount.upper + p.slice(mount.target.length) : p;
  }

  #lookup(path: string): MemoryNode | undefined {
    const p = normal(path);
    const mount = this.#mountOf(p);
    if (!mount) return this.nodes.get(p);
    const rest = p.slice(mount.target.length);
    for (const layer of [mount.upper, ...mount.lowers]) {
      const node = this.nodes.get(layer + rest);
      if (node) return node.type === 'w' ? undefined : node;
    }
    return undefined;
  }

  #mkdirs(path: string): void {
    const parts = normal(path).split('/').filter(Boolean);
    let current = '';
    for (const part of parts) {
      current += `/${part}`;
      if (!this.nodes.has(current)) this.nodes.set(current, dir());
    }
  }

  #subtree(path: string): string[] {
    const prefix = path === '/' ? '/' : `${path}/`;
    return [...this.nodes.keys()].filter((key) => key !== '/' && key.startsWith(prefix));
  }

  #children(path: string): string[] {
    const prefix = path === '/' ? '/' : `${path}/`;
    return this.#subtree(path).filter((key) => !key.slice(prefix.length).includes('/'));
  }
}

function dir(): MemoryNode {
  return { type: 'd', mode: 0o755, uid: 0, gid: 0, mtime: 0 };
}

function normal(path: string): string {
  const parts = path.split('/').filter((p) => p && p !== '.');
  return `/${parts.join('/')}`;
}

function parentOf(path: string): string {
  const p = normal(path);
  return p.slice(0, p.lastIndexOf('/')) || '/';
}
