import { describe, expect, it } from 'vitest';
import { applyTransfer, newTransfer, transferProgress, transferSummary } from './pulls.ts';

describe('transfer progress', () => {
  it('follows Docker\'s layer statuses to one bar', () => {
    let vm = newTransfer('alpine:3.20', 'pull');
    vm = applyTransfer(vm, { kind: 'status', text: '3.20: Pulling from library/alpine' });
    vm = applyTransfer(vm, { kind: 'layer', id: 'aaaaaaaaaaaa', status: 'Already exists' });
    vm = applyTransfer(vm, { kind: 'layer', id: 'bbbbbbbbbbbb', status: 'Pulling fs layer' });
    expect(transferProgress(vm)).toBe(0.5);
    vm = applyTransfer(vm, { kind: 'layer', id: 'bbbbbbbbbbbb', status: 'Downloading', current: 1_000_000, total: 2_000_000 });
    expect(transferProgress(vm)).toBeCloseTo((1 + 0.475) / 2);
    expect(transferSummary(vm)).toBe('1 of 2 layers · 1.0 MB / 2.0 MB');
    vm = applyTransfer(vm, { kind: 'layer', id: 'bbbbbbbbbbbb', status: 'Pull complete' });
    expect(transferProgress(vm)).toBe(1);
    vm = applyTransfer(vm, { kind: 'status', text: 'Status: Downloaded newer image for alpine:3.20' });
    const done = applyTransfer(vm, { kind: 'done' });
    expect(done.state).toBe('done');
    expect(transferSummary(done)).toBe('Downloaded newer image for alpine:3.20');
    expect(vm.state).toBe('running'); // the old snapshot is unchanged
    const failed = applyTransfer(vm, { kind: 'error', message: 'alpine has no linux/386 image' });
    expect(transferSummary(failed)).toBe('failed: alpine has no linux/386 image');
  });
});
