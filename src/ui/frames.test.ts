import { afterEach, describe, expect, it, vi } from 'vitest';
import { latestPerFrame } from './frames.ts';

describe('latestPerFrame', () => {
  const frames: (() => void)[] = [];
  vi.stubGlobal('requestAnimationFrame', (run: () => void) => frames.push(run));
  afterEach(() => void (frames.length = 0));
  const nextFrame = () => frames.splice(0).forEach((run) => run());

  it('applies only the latest value pushed within a frame, once', () => {
    const applied: number[] = [];
    const log = latestPerFrame<number>((value) => applied.push(value));
    log.push(1);
    log.push(2);
    log.push(3);
    expect(frames).toHaveLength(1);
    nextFrame();
    log.push(4);
    nextFrame();
    nextFrame();
    expect(applied).toEqual([3, 4]);
  });

  it('flush applies a pending value at once, drop forgets it; the frame then has nothing to do', () => {
    const applied: string[] = [];
    const log = latestPerFrame<string>((value) => applied.push(value));
    log.push('a');
    log.flush();
    log.push('b');
    log.drop();
    log.flush();
    nextFrame();
    expect(applied).toEqual(['a']);
  });
});
