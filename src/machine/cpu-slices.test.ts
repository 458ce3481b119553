import { afterEach, describe, expect, it, vi } from 'vitest';
import { chainCpuSlices, isV86CpuLoop, type V86CpuLoop } from './cpu-slices';

/**
 * A stand-in for v86's emulator loop with the same contract (libv86's `do_tick`, `next_tick`,
 * `yield_callback`): each slice "runs" for `sliceMs` of busy time and asks for the next one after the
 * delay its script gives (0 = at once; undefined = stop).
 */
class ScriptedLoop implements V86CpuLoop {
  running = true;
  tick_counter = 0;
  slices: number[] = [];
  stoppedWorker = false;
  /** Called after each slice with the number run so far. */
  onSlice: (count: number) => void = () => {};
  constructor(
    private delays: number[],
    private sliceMs = 0,
  ) {}
  do_tick(): void {
    if (!this.running) return;
    const end = performance.now() + this.sliceMs;
    while (performance.now() < end);
    this.slices.push(performance.now());
    this.onSlice(this.slices.length);
    const delay = this.delays.shift();
    if (delay === undefined) {
      this.running = false;
      return;
    }
    this.next_tick(delay);
  }
  next_tick(delayMs: number): void {
    this.yield(delayMs, ++this.tick_counter);
  }
  yield_callback(tick: number): void {
    if (tick === this.tick_counter) this.do_tick();
  }
  yield(_delayMs: number, _tick: number): void {
    throw new Error('v86 default yield called after chainCpuSlices');
  }
  unregister_yield(): void {
    this.stoppedWorker = true;
  }
}

const until = async (condition: () => boolean, ms = 2000) => {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
};

afterEach(() => vi.unstubAllGlobals());

describe('chainCpuSlices', () => {
  it('recognises the loop shape it drives and rejects anything else', () => {
    expect(isV86CpuLoop(new ScriptedLoop([]))).toBe(true);
    expect(isV86CpuLoop({ running: true, tick_counter: 0, yield() {} })).toBe(false);
    expect(isV86CpuLoop(undefined)).toBe(false);
  });

  it('stops v86 timing worker and restarts a running loop with its own scheduling', async () => {
    const loop = new ScriptedLoop([0, 0, 0]);
    chainCpuSlices(loop, { batchMs: 4 });
    expect(loop.stoppedWorker).toBe(true);
    await until(() => !loop.running);
    expect(loop.slices).toHaveLength(4);
  });

  it('honours the delay a halted guest asks for', async () => {
    const loop = new ScriptedLoop([30]);
    const started = performance.now();
    chainCpuSlices(loop, { batchMs: 4 });
    await until(() => !loop.running);
    expect(loop.slices[1]! - started).toBeGreaterThanOrEqual(25);
  });

  it('gives the thread back between batches, so other tasks (agent bytes, serial input) run', async () => {
    const loop = new ScriptedLoop(Array.from({ length: 40 }, () => 0), 1);
    let otherTaskRanAfterSlices = -1;
    // Queued from inside the first slice, so it cannot run before the slices start.
    loop.onSlice = (count) => {
      if (count === 1) setTimeout(() => (otherTaskRanAfterSlices = loop.slices.length), 0);
    };
    chainCpuSlices(loop, { batchMs: 4 });
    await until(() => !loop.running);
    expect(otherTaskRanAfterSlices).toBeGreaterThan(0);
    expect(otherTaskRanAfterSlices).toBeLessThan(41);
  });

  it('tells when the guest ran: one report per batch, in order, covering its slices', async () => {
    const loop = new ScriptedLoop([0, 0, 20, 0], 1);
    const ran: [number, number][] = [];
    chainCpuSlices(loop, { batchMs: 4, onRan: (start, end) => ran.push([start, end]) });
    await until(() => !loop.running);
    // Slices 1–3 back to back in one batch (or two), then the 20 ms halt, then slices 4–5.
    expect(ran.length).toBeGreaterThanOrEqual(2);
    for (const [i, [start, end]] of ran.entries()) {
      expect(end).toBeGreaterThanOrEqual(start + 1);
      if (i > 0) expect(start).toBeGreaterThanOrEqual(ran[i - 1]![1]);
    }
    const last = ran.at(-1)!;
    expect(loop.slices.at(-1)!).toBeLessThanOrEqual(last[1]);
    expect(ran.some(([start], i) => i > 0 && start - ran[i - 1]![1] >= 15)).toBe(true);
  });

  it('runs only the newest requested tick when a wake-up overtakes a pending delay', async () => {
    const loop = new ScriptedLoop([1000, 0]);
    chainCpuSlices(loop, { batchMs: 4 });
    await until(() => loop.slices.length === 1);
    // An interrupt (e.g. serial input) wakes the idle CPU at once, as v86 does with next_tick(0).
    loop.next_tick(0);
    await until(() => !loop.running);
    expect(loop.slices).toHaveLength(3);
  });

  it('stops scheduling once unregistered (v86 destroy)', async () => {
    const loop = new ScriptedLoop([5, 5, 5, 5]);
    chainCpuSlices(loop, { batchMs: 4 });
    await until(() => loop.slices.length >= 1);
    loop.unregister_yield();
    const count = loop.slices.length;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(loop.slices.length).toBe(count);
  });

  it('uses a MessageChannel where there is no setImmediate (browsers)', async () => {
    vi.stubGlobal('setImmediate', undefined);
    const loop = new ScriptedLoop([0, 0, 0, 0, 0]);
    chainCpuSlices(loop, { batchMs: 0 });
    await until(() => !loop.running);
    expect(loop.slices).toHaveLength(6);
    loop.unregister_yield();
  });
});
