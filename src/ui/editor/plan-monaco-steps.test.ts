import { describe, expect, it } from 'vitest';
import { DEFAULT_BUDGET_KB, planMonacoSteps } from './plan-monaco-steps.ts';

describe('the Monaco loader’s steps', () => {
  it('need no new step: none adds more than the budget where a module could take part of it', async () => {
    const plan = await planMonacoSteps();
    const missing = plan.filter((step) => step.isNew).map((step) => step.module);
    // After a Monaco upgrade: `npx tsx src/ui/editor/plan-monaco-steps.ts` prints where they go.
    expect(missing).toEqual([]);
  });

  it('every step adds at most the budget, but for two whose graphs are many small modules only they import', async () => {
    const plan = await planMonacoSteps();
    const over = plan.filter((step) => step.bytes > DEFAULT_BUDGET_KB * 1024).map((step) => step.module);
    expect(over).toEqual(['editor/browser/view', 'editor/standalone/browser/standaloneServices']);
  });

  it('splits a step that adds more than the budget', async () => {
    const plan = await planMonacoSteps(DEFAULT_BUDGET_KB, "const CORE = [() => import('monaco-editor/editor/browser/coreCommands')];");
    expect(plan.length).toBeGreaterThan(2);
    expect(plan.at(-1)).toMatchObject({ module: 'editor/browser/coreCommands', isNew: false });
    expect(plan.filter((step) => step.isNew).every((step) => step.bytes <= DEFAULT_BUDGET_KB * 1024)).toBe(true);
  });
});
