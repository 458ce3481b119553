import { V86, type V86Options } from 'v86';
import { isUnknownOp, type Guest, type RequestOptions } from '../engine/guest';
import { AgentClient, type AgentEvent } from './agent-client';
import { answerGuestDns } from './guest-dns';
import { CPU_BATCH_MS, chainCpuSlices, isV86CpuLoop } from './cpu-slices';
import { JitGate } from './jit-gate';

/**
 * The guest VM: the only module that imports v86. It boots (or restores) the emulator, and exposes the
 * agent channel (virtio console), the learner's terminal (serial 0) and the 9p share. It implements the
 * engine's `Guest` interface.
 */

/** Guest RAM. A saved state only restores into an emulator with the same size. */
export const MEMORY_SIZE = 256 * 1024 * 1024;

/** A request after this long without a clock sync resyncs the guest's clock first. */
const CLOCK_RESYNC_MS = 60_000;

export interface MachineAssets {
  bios: ArrayBuffer;
  vgaBios: ArrayBuffer;
  /** Restore from this saved state (raw or zstd-compressed; v86 detects which). */
  state?: ArrayBuffer;
  /** Cold boot (only the VM build does this): kernel, initramfs and kernel command line. */
  bzImage?: ArrayBuffer;
  initrd?: ArrayBuffer;
  cmdline?: string;
}

export interface MachineOptions {
  assets: MachineAssets;
  /** Where v86.wasm is: a file path under Node, a URL in the browser. */
  wasmPath: string;
  /**
   * Instantiates v86.wasm instead of v86 fetching and compiling `wasmPath` (the browser compiles it while it
   * reads the snapshot, and keeps the compiled code in its cache).
   */
  wasmInstantiate?: V86Options['wasm_fn'];
  /** Called for each progress step while the machine starts. */
  onProgress?: (progress: { step: string; value: number }) => void;
  /** Milliseconds to wait for the agent after start. Default: 5 s after a restore, 600 s for a cold boot (a busy host slows v86 a lot). */
  readyTimeoutMs?: number;
  /**
   * The VM's way out: a wisp relay (`ws://host/wisp/`, src/server/relay.ts) that v86's virtio-net device
   * sends TCP through, and where DNS questions go (`resolve`). Without one the guest's eth0 is taken down,
   * so downloads fail at once ("Network is unreachable") instead of timing out.
   */
  network?: MachineNetwork;
  /** Without `network`: what a failed RUN step adds (default: the browser's wording). */
  offlineReason?: string;
}

export interface MachineNetwork {
  relayUrl: string;
  /** Resolves a name for the guest's DNS (on the relay's side, so what connects is what was checked). */
  resolve(name: string): Promise<string[]>;
}

export const OFFLINE_IN_BROWSER =
  'no network: this page has no relay; run Layerlab with `npm start` or `npm run serve` to reach the internet';

/** v86's virtual router in front of the guest (v86's defaults; vm/rootfs/etc/init.d/rcS uses them). */
export const GUEST_GATEWAY = '192.168.86.1';

type V86WithBus = { bus: { send(name: string, data: unknown): void } };

/** v86 internals used for flow control on the agent channel (see `Machine.#sendAgent`). */
interface VirtioRxChain {
  length_writable: number;
}
interface VirtioConsoleDevice {
  virtio: { queues: { has_request(): boolean; pop_request(): VirtioRxChain }[] };
  Send(queue: number, chain: VirtioRxChain, data: Uint8Array): void;
}

/** v86 internals used while restoring (see `restoreState`). */
interface V86MemoryOps {
  zero_memory(addr: number, length: number): void;
  is_memory_zeroed(addr: number, length: number): boolean;
}

/** Guest RAM is checked in chunks of this size before v86 zeroes it. */
const ZERO_CHECK_CHUNK = 64 * 1024;
/** RAM a new emulator may have written before the restore (the BIOS images and their set-up, below 1 MiB). */
const FRESH_RAM_DIRTY_BELOW = 2 * 1024 * 1024;
const PAGE = 4096;
const SAMPLE_STRIDE = 1024 * 1024;

/**
 * Restores a saved state into an initialised, not yet running emulator. v86 first zeroes all guest RAM
 * (MEMORY_SIZE) and then copies the saved pages in. A new emulator's RAM is zero already except what its
 * BIOS set-up wrote (below 1 MiB), and zeroing it again makes the process write all 256 MiB. Checking each
 * chunk before zeroing it still touched every page: reading memory never touched faults a page in, as
 * writing does (65 536 faults, 0.7 s of a 1.2 s restore on a host whose page faults are slow). So only the
 * low FRESH_RAM_DIRTY_BELOW is checked chunk by chunk; above it a sample of pages (one per MiB) stands for
 * the rest, and if any is not zero the whole range is checked. The memory ends up the same.
 */
async function restoreState(emulator: V86, state: ArrayBuffer): Promise<void> {
  const cpu = (emulator as unknown as { v86?: { cpu?: Partial<V86MemoryOps> } }).v86?.cpu;
  const zero = cpu?.zero_memory;
  const isZero = cpu?.is_memory_zeroed;
  if (cpu && typeof zero === 'function' && typeof isZero === 'function') {
    const zeroWhereDirty = (from: number, to: number) => {
      for (let at = from; at < to; at += ZERO_CHECK_CHUNK) {
        const chunk = Math.min(ZERO_CHECK_CHUNK, to - at);
        if (!isZero(at, chunk)) zero(at, chunk);
      }
    };
    cpu.zero_memory = (addr, length) => {
      const end = addr + length;
      const split = Math.min(Math.max(addr, FRESH_RAM_DIRTY_BELOW), end);
      zeroWhereDirty(addr, split);
      let fresh = true;
      for (let at = split; at < end && fresh; at += SAMPLE_STRIDE) fresh = isZero(at, Math.min(PAGE, end - at));
      if (!fresh) zeroWhereDirty(split, end);
    };
  }
  try {
    await emulator.restore_state(state);
  } finally {
    if (cpu && zero) cpu.zero_memory = zero;
  }
}

export class MachineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MachineError';
  }
}

export class Machine implements Guest {
  readonly agent: AgentClient;
  #emulator: V86;
  #serialListeners = new Set<(bytes: Uint8Array) => void>();
  #serialPending: number[] = [];
  #serialFlush: ReturnType<typeof setTimeout> | null = null;
  #stopped = false;
  /** Set when the guest has no way out (no relay): failed builds say so. */
  offlineReason: string | null = null;
  #networkNotes: string[] = [];

  /**
   * Guest instructions executed so far, modulo 2^32 (v86's counter; subtract with `>>> 0`): guest work
   * measured without the host's timing noise, for the benchmark.
   */
  get instructionCounter(): number {
    return (this.#emulator as unknown as { get_instruction_counter(): number }).get_instruction_counter();
  }

  /** Records a destination the relay refused (the host that runs the relay calls this). */
  noteNetworkRefusal(note: string): void {
    this.#networkNotes.push(note);
    if (this.#networkNotes.length > 20) this.#networkNotes.shift();
  }

  takeNetworkNotes(): string[] {
    return this.#networkNotes.splice(0);
  }

  /** Host time (ms) of the last clock sync; 0 = never synced (a cold boot keeps the kernel's own clock). */
  #clockSyncedAt = 0;
  #clockSync: Promise<void> | null = null;

  /**
   * How the CPU's slices are scheduled: 'chained' (src/machine/cpu-slices.ts) or, if this v86 no longer has the
   * loop members that module drives, v86's own 'default' (slower in browsers; a VM test checks for 'chained').
   */
  cpuSlices: 'chained' | 'default' | 'not started' = 'not started';

  /** v86's compiler switch (its `set_jit_config` export), once the emulator runs; null before or if absent. */
  #jitSwitch: ((on: boolean) => void) | null = null;
  /** When v86 compiles guest code (jit-gate.ts); declared after the switch its constructor sets. */
  #jitGate = new JitGate((on) => this.#jitSwitch?.(on));

  /** Whether v86 may compile guest code now (jit-gate.ts); null: this v86 has no switch, it always may. */
  get compiling(): boolean | null {
    return this.#jitSwitch ? this.#jitGate.open : null;
  }

  /**
   * Keeps v86 from compiling guest code until the result is called: for hidden work (the engine's warm-up),
   * whose compile work would otherwise land in the learner's first commands.
   */
  holdCompiling(): () => void {
    return this.#jitGate.hold();
  }

  /**
   * Keeps v86 compiling guest code until the result is called: for hidden work in the learner's idle time
   * that runs the code their next commands run (the warm-up's container starts), compiled ahead for them.
   */
  forceCompiling(): () => void {
    return this.#jitGate.force();
  }

  private constructor(emulator: V86) {
    this.#emulator = emulator;
    // Fires inside v86's run(), before its first slice is scheduled.
    emulator.add_listener('emulator-started', () => {
      if (this.cpuSlices !== 'not started') return;
      const loop = (emulator as unknown as { v86?: unknown }).v86;
      if (isV86CpuLoop(loop)) {
        const exports = (loop as { cpu?: { wm?: { exports?: { set_jit_config?: unknown } } } }).cpu?.wm?.exports;
        const setJitConfig = exports?.set_jit_config;
        if (typeof setJitConfig === 'function') {
          // Config 0 is v86's JIT_DISABLED.
          this.#jitSwitch = (on) => setJitConfig.call(exports, 0, on ? 0 : 1);
          this.#jitSwitch(this.#jitGate.open);
        } else {
          console.warn('v86 changed: it has no set_jit_config; guest code is compiled whenever v86 decides (src/machine/jit-gate.ts)');
        }
        chainCpuSlices(loop, { batchMs: CPU_BATCH_MS, onRan: (start, end) => this.#jitGate.ran(start, end) });
        this.cpuSlices = 'chained';
      } else {
        this.cpuSlices = 'default';
        console.warn('v86 changed: its CPU loop lacks the members src/machine/cpu-slices.ts drives; using its own scheduling');
      }
    });
    this.agent = new AgentClient({
      // v86's typings omit the bus; the virtio console only takes input through it.
      send: (bytes) => this.#sendAgent(bytes),
      onBytes: (listener) => {
        const handler = (bytes: Uint8Array) => listener(bytes);
        emulator.add_listener('virtio-console0-output-bytes', handler);
        return () => emulator.remove_listener('virtio-console0-output-bytes', handler);
      },
    });
    // Serial output arrives one byte per event; batch it so the terminal gets chunks, not bytes.
    emulator.add_listener('serial0-output-byte', (byte: number) => {
      this.#serialPending.push(byte);
      this.#serialFlush ??= setTimeout(() => this.#flushSerial(), 0);
    });
  }

  #agentOut: Uint8Array[] = [];
  #agentPump: ReturnType<typeof setTimeout> | null = null;

  /**
   * Host → agent bytes. v86's virtio console copies input into ONE receive buffer the guest posted
   * (4 KiB) and silently drops it when none is free, or cuts what does not fit. So a message over
   * 4 KiB, or a burst of messages while the guest is busy, used to vanish (its request never
   * answered). Here bytes are queued and fed buffer by buffer, waiting while the guest has none free.
   */
  #sendAgent(bytes: Uint8Array): void {
    const device = (this.#emulator as unknown as { v86?: { cpu?: { devices?: { virtio_console?: VirtioConsoleDevice } } } }).v86?.cpu?.devices?.virtio_console;
    if (!device?.virtio?.queues?.[0] || typeof device.Send !== 'function') {
      (this.#emulator as unknown as V86WithBus).bus.send('virtio-console0-input-bytes', bytes);
      return;
    }
    this.#agentOut.push(bytes);
    this.#pumpAgent(device);
  }

  #pumpAgent(device: VirtioConsoleDevice): void {
    if (this.#stopped) {
      this.#agentOut = [];
      return;
    }
    const rx = device.virtio.queues[0]!;
    while (this.#agentOut.length && rx.has_request()) {
      const chain = rx.pop_request();
      const room = Math.max(1, chain.length_writable);
      const head = this.#agentOut[0]!;
      if (head.length <= room) {
        this.#agentOut.shift();
        device.Send(0, chain, head);
      } else {
        this.#agentOut[0] = head.subarray(room);
        device.Send(0, chain, head.subarray(0, room));
      }
    }
    if (this.#agentOut.length && !this.#agentPump) {
      this.#agentPump = setTimeout(() => {
        this.#agentPump = null;
        this.#pumpAgent(device);
      }, 1);
    }
  }

  /** Creates the emulator, restores the state (or cold-boots) and waits until the agent answers. */
  static async start(options: MachineOptions): Promise<Machine> {
    const { assets } = options;
    const progress = options.onProgress ?? (() => {});
    if (!assets.state && !(assets.bzImage && assets.initrd)) {
      throw new MachineError('no VM state and no kernel/initrd given: run `npm run build:vm`');
    }
    progress({ step: assets.state ? 'Restoring the VM snapshot' : 'Booting Linux', value: 0 });
    let emulator: V86;
    try {
      emulator = new V86({
        wasm_path: options.wasmPath,
        ...(options.wasmInstantiate ? { wasm_fn: options.wasmInstantiate } : {}),
        memory_size: MEMORY_SIZE,
        vga_memory_size: 2 * 1024 * 1024,
        bios: { buffer: assets.bios },
        vga_bios: { buffer: assets.vgaBios },
        // A saved state is restored below, once v86 is initialised (as its own initial_state does).
        ...(assets.state
          ? {}
          : {
              bzimage: { buffer: assets.bzImage! },
              initrd: { buffer: assets.initrd! },
              cmdline: assets.cmdline ?? 'console=ttyS0',
            }),
        filesystem: {},
        // The device is always there (the snapshot's kernel knows it); only the relay behind it varies.
        net_device: { type: 'virtio', ...(options.network ? { relay_url: options.network.relayUrl.replace(/^ws/, 'wisp') } : {}) },
        preserve_mac_from_state_image: true,
        virtio_console: { type: 'none' },
        autostart: !assets.state,
        disable_keyboard: true,
        disable_mouse: true,
        disable_speaker: true,
      });
    } catch (error) {
      throw new MachineError(`v86 could not start: ${(error as Error).message}`);
    }
    const machine = new Machine(emulator);
    const started = new Promise<void>((resolve) => emulator.add_listener('emulator-started', () => resolve()));
    if (assets.state) {
      const state = assets.state;
      await new Promise<void>((resolve) => emulator.add_listener('emulator-loaded', () => resolve()));
      try {
        await restoreState(emulator, state);
      } catch (error) {
        void machine.destroy();
        throw new MachineError(`the VM snapshot could not be restored (${(error as Error).message}): run \`npm run build:vm -- --force\``);
      }
      void emulator.run();
    }
    await started;
    progress({ step: 'Waiting for the guest agent', value: 0.8 });
    const timeout = options.readyTimeoutMs ?? (assets.state ? 5_000 : 600_000);
    // A restored guest wakes up at the time the snapshot was taken: `date` in a container and the mtimes
    // RUN writes would lag the host (and COPY'd files) by the snapshot's age. The clock is set in the same
    // round trip as the agent's hello.
    const clock = assets.state ? machine.syncClock() : null;
    clock?.catch(() => {});
    try {
      if (assets.state) {
        // The agent is already running inside the restored state: ask it to say it is ready.
        await machine.agent.request('hello', {}, { timeoutMs: timeout });
      } else {
        await machine.agent.waitReady(timeout);
      }
    } catch (error) {
      void machine.destroy();
      throw new MachineError(
        `the guest agent did not answer within ${timeout} ms after ${assets.state ? 'restoring the snapshot' : 'booting'} (${(error as Error).message}); the VM assets may be stale: run \`npm run build:vm -- --force\``,
      );
    }
    await clock;
    if (options.network) {
      answerGuestDns(emulator, options.network.resolve, GUEST_GATEWAY);
    } else if (assets.state) {
      await machine.agent
        .request('link', { name: 'eth0', up: false })
        .catch((error: Error) => (isUnknownOp(error) ? machine.request('spawn', { argv: ['ip', 'link', 'set', 'eth0', 'down'] }) : undefined))
        .catch(() => {});
    }
    machine.offlineReason = options.network ? null : (options.offlineReason ?? OFFLINE_IN_BROWSER);
    progress({ step: 'Ready', value: 1 });
    return machine;
  }

  /**
   * Sets the guest's clock to the host's (the agent's `clock` op: no program start; an agent from an older
   * saved state falls back to busybox `date -s @<seconds>`). Called after a restore and again before a
   * request when the last sync is older than CLOCK_RESYNC_MS: a hidden browser tab or a suspended laptop
   * slows or stops the emulator, and the guest's clock falls behind by as much.
   */
  syncClock(): Promise<void> {
    this.#clockSync ??= (async () => {
      try {
        const set = await this.agent.request('clock', { ms: Date.now() }, { timeoutMs: 10_000 }).then(
          () => true,
          (error: Error) => {
            if (isUnknownOp(error)) return false;
            throw new MachineError(`setting the guest clock failed (${error.message})`);
          },
        );
        if (!set) {
          const seconds = Math.round(Date.now() / 1000);
          const { exit } = await this.agent.request<{ exit: number }>('spawn', { argv: ['/bin/date', '-u', '-s', `@${seconds}`] }, { timeoutMs: 10_000 });
          if (exit !== 0) throw new MachineError(`setting the guest clock failed (date exited ${exit})`);
        }
        this.#clockSyncedAt = Date.now();
      } finally {
        this.#clockSync = null;
      }
    })();
    return this.#clockSync;
  }

  async request<T = Record<string, unknown>>(
    op: string,
    params?: Record<string, unknown>,
    options?: RequestOptions,
  ): Promise<T> {
    if (this.#stopped) throw new MachineError(`the VM is stopped (request ${op})`);
    if (this.#clockSyncedAt && Date.now() - this.#clockSyncedAt > CLOCK_RESYNC_MS) {
      await this.syncClock().catch(() => {});
    }
    return this.agent.request<T>(op, params, options);
  }

  notify(op: string, params?: Record<string, unknown>): void {
    if (!this.#stopped) this.agent.notify(op, params);
  }

  onEvent(listener: (event: AgentEvent) => void): () => void {
    return this.agent.onEvent(listener);
  }

  /** Files at the top of the 9p share; the guest sees them under /mnt/host. */
  async putFile(path: string, data: Uint8Array): Promise<void> {
    await this.#emulator.create_file(path, data);
  }

  async getFile(path: string): Promise<Uint8Array> {
    try {
      return await this.#emulator.read_file(path);
    } catch {
      throw new MachineError(`no file ${path} in the 9p share (/mnt/host/${path} in the guest)`);
    }
  }

  /** The learner's terminal: bytes to the guest's serial console. */
  writeSerial(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    this.#emulator.serial_send_bytes(0, bytes);
  }

  /** The learner's terminal: bytes from the guest's serial console. */
  onSerial(listener: (bytes: Uint8Array) => void): () => void {
    this.#serialListeners.add(listener);
    return () => this.#serialListeners.delete(listener);
  }

  async saveState(): Promise<ArrayBuffer> {
    return this.#emulator.save_state();
  }

  /** Stops the VM; resolves once v86 has also closed its network adapter (before a relay may go). */
  async destroy(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.agent.close();
    await this.#emulator.destroy();
  }

  #flushSerial(): void {
    this.#serialFlush = null;
    const bytes = Uint8Array.from(this.#serialPending);
    this.#serialPending = [];
    for (const listener of this.#serialListeners) listener(bytes);
  }
}
