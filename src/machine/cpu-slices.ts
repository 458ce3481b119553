/**
 * How the emulated CPU's time slices follow each other. v86 runs the guest in slices of about a
 * millisecond (`main_loop` in its wasm) and asks for the next slice through `yield(delayMs, tick)`.
 * In a browser worker its default sends every request on a round trip through a second worker it
 * creates for timing: a thread hop per millisecond of guest time, which on a busy machine cost a
 * third of the guest's speed in the browser. Under Node it uses setImmediate.
 *
 * `chainCpuSlices` replaces that on one emulator: same-thread scheduling (a MessageChannel in browsers,
 * setImmediate under Node), and several slices run back to back until `batchMs` has passed, so the
 * thread's other work (agent bytes, serial input, the engine) still gets a turn every few milliseconds.
 */

/** The part of v86's emulator loop (the `v86` object of a `V86` instance) this module drives. */
export interface V86CpuLoop {
  running: boolean;
  tick_counter: number;
  yield(delayMs: number, tick: number): void;
  yield_callback(tick: number): void;
  next_tick(delayMs: number): void;
  unregister_yield(): void;
}

/** True if `value` has every member of v86's loop that `chainCpuSlices` relies on. */
export function isV86CpuLoop(value: unknown): value is V86CpuLoop {
  if (!value || typeof value !== 'object') return false;
  const loop = value as Record<string, unknown>;
  return (
    typeof loop.running === 'boolean' &&
    typeof loop.tick_counter === 'number' &&
    ['yield', 'yield_callback', 'next_tick', 'unregister_yield'].every((name) => typeof loop[name] === 'function')
  );
}

export interface CpuSliceOptions {
  /** Run slices back to back for up to this long before letting the thread's other tasks run. */
  batchMs: number;
  /** Told after each batch of slices when the guest ran (performance.now() times); see jit-gate.ts. */
  onRan?: (start: number, end: number) => void;
}

/** Default: 4 ms of guest time per turn of the worker's event loop. */
export const CPU_BATCH_MS = 4;

/** A task queue without the 4 ms clamp of nested setTimeout(0): setImmediate, else a MessageChannel. */
export function sameThreadTaskQueue(): { queue: (run: () => void) => void; close: () => void } {
  if (typeof setImmediate === 'function') {
    return { queue: (run) => void setImmediate(run), close: () => {} };
  }
  const channel = new MessageChannel();
  const waiting: (() => void)[] = [];
  channel.port1.onmessage = () => waiting.shift()?.();
  return {
    queue: (run) => {
      waiting.push(run);
      channel.port2.postMessage(null);
    },
    close: () => {
      channel.port1.onmessage = null;
      channel.port1.close();
      waiting.length = 0;
    },
  };
}

/**
 * Makes `loop` schedule its own slices (see the module comment); stops v86's timing worker. Call once,
 * before or while the emulator runs. v86's `destroy()` later closes what this opened.
 */
export function chainCpuSlices(loop: V86CpuLoop, options: CpuSliceOptions = { batchMs: CPU_BATCH_MS }): void {
  const tasks = sameThreadTaskQueue();
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** While slices run back to back: the tick the last slice asked for, run next in the same batch. */
  let nextInBatch: number | null = null;
  let batching = false;
  let closed = false;

  const runFrom = (tick: number) => {
    if (closed) return;
    const start = performance.now();
    batching = true;
    try {
      loop.yield_callback(tick);
      while (nextInBatch !== null && performance.now() - start < options.batchMs) {
        const next = nextInBatch;
        nextInBatch = null;
        loop.yield_callback(next);
      }
    } finally {
      batching = false;
    }
    options.onRan?.(start, performance.now());
    if (nextInBatch !== null) {
      const next = nextInBatch;
      nextInBatch = null;
      tasks.queue(() => runFrom(next));
    }
  };

  // v86 made its timing worker in its constructor; it is not needed any more.
  loop.unregister_yield();
  loop.yield = (delayMs, tick) => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (delayMs < 1) {
      if (batching) nextInBatch = tick;
      else tasks.queue(() => runFrom(tick));
    } else {
      nextInBatch = null;
      timer = setTimeout(() => runFrom(tick), delayMs);
    }
  };
  loop.unregister_yield = () => {
    closed = true;
    if (timer !== undefined) clearTimeout(timer);
    tasks.close();
  };
  // A slice already requested went to the stopped worker: ask again (v86 ignores the older tick).
  if (loop.running) loop.next_tick(0);
}
