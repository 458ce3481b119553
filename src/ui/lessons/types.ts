import type { Focus, Lesson, LessonFile, Step } from '../../lessons/schema.ts';
export type { LessonEvaluator } from '../../lessons/evaluator.ts';
export type { Progress, ProgressStore } from '../../lessons/progress.ts';

/** "Show solution": load these files into the workspace; the commands are shown in the panel. */
export interface SolutionEvent {
  lesson: Lesson;
  step: Step;
  /** solution/ files (only those that change); empty when the step needs no file changes. */
  files: LessonFile[];
  /** What a learner would type for this step. */
  commands: string[];
}

/** "Reset lesson": put back the starting files and a clean engine (base images only). */
export interface ResetEvent {
  lesson: Lesson;
  files: LessonFile[];
}

export interface FocusEvent {
  lesson: Lesson;
  step: Step;
  /** What the app should highlight; null = nothing in particular. */
  focus: Focus | null;
  /** The image the lesson builds (the layer view can select it). */
  image: string | null;
}
