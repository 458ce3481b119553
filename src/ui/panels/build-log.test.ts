import { describe, expect, it } from 'vitest';
import { BuildLog, STEP_OUTPUT_LINES } from './build-log.ts';
import type { BuildEvent } from '../../engine/build/events.ts';

describe('BuildLog', () => {
  it('keeps the tail of a step that prints 3 million lines, and says how many it dropped', () => {
    const log = new BuildLog();
    const step = { n: 1, total: 1, stage: '', stageStep: 2, stageSteps: 2, line: 2, endLine: 2, instruction: 'RUN seq 3000000', configOnly: false };
    log.apply({ type: 'start', steps: [step], warnings: [] } as unknown as BuildEvent);
    log.apply({ type: 'step-start', step } as unknown as BuildEvent);
    for (let chunk = 0; chunk < 3000; chunk++) {
      const text = Array.from({ length: 1000 }, (_, i) => String(chunk * 1000 + i + 1)).join('\n') + '\n';
      log.apply({ type: 'step-output', step, stream: 'stdout', text, elapsedMs: 0 } as unknown as BuildEvent);
    }
    const output = log.snapshot().steps.find((s) => s.line === 2)!.output;
    expect(output).toHaveLength(STEP_OUTPUT_LINES + 1);
    expect(output[0]).toBe(`[… ${3_000_000 - STEP_OUTPUT_LINES} earlier lines not shown]`);
    expect(output.at(-1)).toBe('3000000');
  });

  it('a FROM that fails lists no later step as if it ran (the Build log of the button and of the terminal)', () => {
    const step = (n: number, instruction: string) => ({ n, total: 2, stage: '', stageStep: n + 1, stageSteps: 3, line: n + 1, endLine: n + 1, instruction, configOnly: false });
    const log = new BuildLog();
    log.apply({ type: 'start', steps: [step(1, 'WORKDIR /app'), step(2, 'RUN echo never')], warnings: [] } as unknown as BuildEvent);
    log.apply({ type: 'error', message: 'Could not pull nosuchimage:1: not found' } as unknown as BuildEvent);
    const snapshot = log.snapshot();
    expect(snapshot.state).toBe('failed');
    expect(snapshot.steps.map((s) => s.name).join('\n')).not.toMatch(/WORKDIR|RUN echo never/);
  });

  it("each stage's [1/N] FROM line comes from the engine's steps (any Dockerfile, the terminal's too)", () => {
    const from = { line: 1, image: 'busybox' };
    const steps = [{ n: 1, total: 1, stage: '', stageStep: 2, stageSteps: 2, line: 2, endLine: 3, instruction: 'RUN echo from-terminal > /t.txt', configOnly: false, from }];
    const log = new BuildLog();
    log.apply({ type: 'start', steps, warnings: [] } as unknown as BuildEvent);
    log.apply({ type: 'step-start', step: steps[0] } as unknown as BuildEvent);
    expect(log.snapshot().steps.map((s) => [s.name, s.line])).toContainEqual(['[1/2] FROM busybox', 1]);
    // A step without its FROM (an older engine's event) gets no FROM line rather than a wrong one.
    const bare = new BuildLog();
    bare.apply({ type: 'start', steps: [{ ...steps[0], from: undefined }], warnings: [] } as unknown as BuildEvent);
    bare.apply({ type: 'step-start', step: { ...steps[0], from: undefined } } as unknown as BuildEvent);
    expect(bare.snapshot().steps.map((s) => s.name).join('\n')).not.toMatch(/FROM/);
  });
});
