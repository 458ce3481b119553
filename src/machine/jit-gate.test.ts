import { describe, expect, it } from 'vitest';
import { JitGate } from './jit-gate';

/** A gate fed with runs of `busyMs` separated by `idleMs`, starting at `from`; returns the time reached. */
function feed(gate: JitGate, from: number, runs: number, busyMs: number, idleMs: number): number {
  let t = from;
  for (let i = 0; i < runs; i++) {
    gate.ran(t, t + busyMs);
    t += busyMs + idleMs;
  }
  return t;
}

function gateWithLog() {
  const switched: boolean[] = [];
  const gate = new JitGate((on) => switched.push(on));
  return { gate, switched };
}

describe('JitGate', () => {
  it('switches compiling off at once', () => {
    const { gate, switched } = gateWithLog();
    expect(switched).toEqual([false]);
    expect(gate.open).toBe(false);
  });

  it('keeps it off through commands of a second or two back to back (container starts, python runs)', () => {
    const { gate, switched } = gateWithLog();
    let t = 0;
    for (let i = 0; i < 20; i++) {
      // 2 s of 4 ms batches back to back, then the prompt and the next command typed (0.3 s).
      t = feed(gate, t, 500, 4, 0);
      t = feed(gate, t, 30, 1, 9);
    }
    expect(switched).toEqual([false]);
  });

  it('switches it on after a few seconds of sustained work, and off once the guest mostly waits', () => {
    const { gate, switched } = gateWithLog();
    let t = feed(gate, 0, 1400, 4, 0);
    expect(gate.open).toBe(false);
    t = feed(gate, t, 200, 4, 0);
    expect(gate.open).toBe(true);
    // Short pauses (the engine's own work between batches) do not close it.
    t = feed(gate, t, 500, 4, 0.5);
    expect(switched).toEqual([false, true]);
    // A shell at its prompt: a short slice now and then.
    feed(gate, t + 50, 50, 0.2, 30);
    expect(switched).toEqual([false, true, false]);
  });

  it('stays off while held, however busy the guest, and follows the guest again once released', () => {
    const { gate, switched } = gateWithLog();
    const release = gate.hold();
    const t = feed(gate, 0, 3000, 4, 0);
    expect(gate.open).toBe(false);
    const second = gate.hold();
    release();
    release(); // a second call is a no-op: the other hold still counts
    feed(gate, t, 10, 4, 0);
    expect(gate.open).toBe(false);
    second();
    expect(gate.open).toBe(true);
    expect(switched).toEqual([false, true]);
    // A hold taken while open switches it off at once.
    gate.hold();
    expect(switched).toEqual([false, true, false]);
  });

  it('is on while forced, even held, and closed again once released, whatever the forced work did', () => {
    const { gate, switched } = gateWithLog();
    const held = gate.hold();
    const release = gate.force();
    expect(gate.open).toBe(true);
    // Hidden work keeps the guest busy for seconds while forced.
    const t = feed(gate, 0, 3000, 4, 0);
    release();
    release(); // a no-op
    expect(gate.open).toBe(false);
    held();
    // The busy share of the forced work does not count as the learner's: it stays off.
    feed(gate, t, 5, 4, 0);
    expect(gate.open).toBe(false);
    expect(switched).toEqual([false, true, false]);
  });

  it('ignores time running backwards between calls', () => {
    const { gate } = gateWithLog();
    gate.ran(1000, 8000);
    gate.ran(900, 950);
    expect(gate.open).toBe(true);
  });
});
