/** What the lesson player needs from the app: evaluate a step, and know when state changed. */
import { evaluateStep, type StepResult } from './checks.ts';
import type { LessonContext } from './context.ts';
import type { Step } from './schema.ts';

export interface LessonEvaluator {
  evaluate(step: Step): Promise<StepResult>;
  /** Call `listener` whenever engine state changes (images, containers, writable layers, builds, volumes). */
  subscribe(listener: () => void): () => void;
}

/** The evaluator over a `LessonContext` and the engine's change feed. */
export function createEvaluator(ctx: LessonContext, onChange: (listener: () => void) => () => void): LessonEvaluator {
  return { evaluate: (step) => evaluateStep(step, ctx), subscribe: onChange };
}
