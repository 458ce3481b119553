/**
 * Build progress as data. The CLI renders it BuildKit-style (progress.ts), the UI as a log with a
 * progress bar and as decorations on Dockerfile lines. Every event is plain JSON (it crosses workers and
 * the guest channel).
 */
import type { TransferEvent } from '../registry/progress.ts';

export interface BuildStepInfo {
  /** 1-based position among all steps of the build (config-only steps included). */
  n: number;
  total: number;
  /** Stage name or index, for `[builder 2/4]`-style labels. */
  stage: string;
  /** Position within its stage as BuildKit counts it (FROM is 1), and that stage's count. */
  stageStep: number;
  stageSteps: number;
  line: number;
  endLine: number;
  instruction: string;
  /** ENV, CMD, LABEL, … (and WORKDIR of an existing dir): they change the config, not the filesystem. */
  configOnly: boolean;
  /** Its stage's FROM line and image as written: BuildKit shows it as the stage's `[1/N] FROM …` step. */
  from?: { line: number; image: string };
}

export type BuildEvent =
  | { type: 'start'; steps: BuildStepInfo[]; warnings: { line: number; message: string }[] }
  | { type: 'step-start'; step: BuildStepInfo }
  | { type: 'step-output'; step: BuildStepInfo; stream: 'stdout' | 'stderr'; text: string; elapsedMs: number }
  | {
      type: 'step-done';
      step: BuildStepInfo;
      cached: boolean;
      ms: number;
      /** The layer the step made (or reused); absent for config-only steps. */
      layer?: { diffID: string; size: number; files: number };
      /** Why the cache could not be used, in words ("app.py changed", "a previous step changed"). */
      missReasons: string[];
    }
  | { type: 'step-error'; step: BuildStepInfo; message: string }
  | { type: 'done'; imageId: string; tags: string[]; ms: number; cachedSteps: number; totalSteps: number }
  | { type: 'error'; message: string; line?: number }
  /** A FROM image the store lacked, pulled before the steps run (Docker's pull progress). */
  | { type: 'pull'; ref: string; event: TransferEvent };

export class BuildError extends Error {
  constructor(
    message: string,
    /** The Dockerfile line to point at, when there is one. */
    readonly line?: number,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'BuildError';
  }
}
