import { describe, expect, it } from 'vitest';
import { TerminalBridge } from './port.ts';

/** Whether `promise` has settled by the time already-queued microtasks have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
}

describe('TerminalBridge.firstOutput', () => {
  it('waits while output is only buffered, and resolves when the terminal has drawn it', async () => {
    const bridge = new TerminalBridge();
    bridge.write('root@layerlab:/workspace# ');
    expect(await settled(bridge.firstOutput)).toBe(false);
    const written: (string | Uint8Array)[] = [];
    const draws: (() => void)[] = [];
    bridge.attach((data, shown) => {
      written.push(data);
      if (shown) draws.push(shown);
    });
    expect(written).toEqual(['root@layerlab:/workspace# ']);
    expect(await settled(bridge.firstOutput)).toBe(false);
    draws[0]();
    expect(await settled(bridge.firstOutput)).toBe(true);
  });

  it('resolves at the first output drawn once a terminal is attached, not at the attach', async () => {
    const bridge = new TerminalBridge();
    bridge.attach((_data, shown) => shown?.());
    expect(await settled(bridge.firstOutput)).toBe(false);
    bridge.write(new Uint8Array([0x24, 0x20]));
    expect(await settled(bridge.firstOutput)).toBe(true);
  });
});
