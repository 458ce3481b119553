import { describe, expect, it } from 'vitest';
import { IdleTime } from './idle-time.ts';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('IdleTime', () => {
  it('starts a step only once the learner has been quiet, and interrupts it when they start something', async () => {
    const idle = new IdleTime({ quietMs: 50 });
    const log: string[] = [];
    let finishLearner: () => void = () => {};
    const learner = idle.busy(() => new Promise<void>((resolve) => (finishLearner = resolve)).then(() => void log.push('learner done')));
    let finishStep: () => void = () => {};
    const step = idle.step(
      () => (log.push('step started'), new Promise<void>((resolve) => (finishStep = resolve))),
      () => (log.push('interrupted'), finishStep()),
    );
    await tick(400);
    expect(log).toEqual([]);
    finishLearner();
    await learner;
    await tick(20);
    expect(log).toEqual(['learner done']);
    await tick(400);
    expect(log).toEqual(['learner done', 'step started']);
    await idle.busy(async () => void log.push('learner again'));
    expect(await step).toBe(false);
    expect(log).toEqual(['learner done', 'step started', 'interrupted', 'learner again']);
  });

  it('reports a step that ran to its end, and keeps an interactive session busy until it ends', async () => {
    const idle = new IdleTime({ quietMs: 0 });
    expect(await idle.step(async () => {})).toBe(true);
    const end = idle.begin();
    let ran = false;
    const step = idle.step(async () => void (ran = true));
    await tick(400);
    expect(ran).toBe(false);
    end();
    end();
    expect(await step).toBe(true);
    expect(ran).toBe(true);
  });

  it('gives way to typing: the step in progress is interrupted, the next waits for a quiet spell after it', async () => {
    const idle = new IdleTime({ quietMs: 600 });
    let finish: () => void = () => {};
    // nothing happened yet: the first step starts at once
    const first = idle.step(() => new Promise<void>((resolve) => (finish = resolve)), () => finish());
    await tick(20);
    idle.touch();
    expect(await first).toBe(false);
    let ran = false;
    const next = idle.step(async () => void (ran = true), () => {});
    await tick(300);
    expect(ran).toBe(false);
    expect(await next).toBe(true);
  });
});
