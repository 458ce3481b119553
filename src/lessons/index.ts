/** The lesson system: format + validator, checks over `LessonContext`, solution playback. No DOM. */
export type * from './context.ts';
export {
  buildCourse,
  validateLesson,
  parseSolutionScript,
  LessonProblem,
  LessonValidationError,
  CHECK_KINDS,
  CHECK_SPECS,
  type Check,
  type CheckKind,
  type Focus,
  type Lesson,
  type LessonFile,
  type LessonSource,
  type Step,
} from './schema.ts';
export { evaluateCheck, evaluateStep, hintsFor, stepRunsPrograms, type CheckResult, type StepResult } from './checks.ts';
export { sourcesFromEntries } from './sources.ts';
export { describeCheck } from './describe.ts';
export { createEvaluator, type LessonEvaluator } from './evaluator.ts';
export * from './progress.ts';
export { verifyLesson, type LessonRunner, type VerifyReport } from './verify.ts';
