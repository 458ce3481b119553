/**
 * Play a lesson's solution and check that the lesson works: for every step, its checks must NOT all
 * pass before the step's commands run (or the step would complete by itself), and must all pass after.
 * Engine-agnostic: `layerlab lesson verify` and the VM test suite supply a `LessonRunner` over the real
 * engine + VM; the unit tests supply a fake.
 */
import { evaluateStep, type StepResult } from './checks.ts';
import type { LessonContext } from './context.ts';
import type { Lesson, LessonFile } from './schema.ts';

export interface LessonRunner {
  /** Fresh state for the lesson: base images only, no containers/volumes/builds; workspace = `files`. */
  reset(lesson: Lesson, files: LessonFile[]): Promise<void>;
  /** Write files into the workspace (what "show solution" does); other files stay. */
  applyFiles(files: LessonFile[]): Promise<void>;
  /** Run one command line in the learner's shell in the VM, in the workspace folder. */
  shell(command: string, signal?: AbortSignal): Promise<{ exit: number; output: string }>;
  context: LessonContext;
}

export interface StepReport {
  index: number;
  title: string;
  before: StepResult;
  after: StepResult | null;
  commands: { command: string; exit: number; output: string }[];
  problems: string[];
}

export interface VerifyReport {
  lesson: string;
  ok: boolean;
  steps: StepReport[];
  /** One line per problem: `03-copy-on-write step 2 "…": …`. */
  problems: string[];
}

export interface VerifyOptions {
  signal?: AbortSignal;
  onProgress?(text: string): void;
  /** Re-check a failing step this many times after its commands (state can settle a moment later). */
  retries?: number;
  retryDelayMs?: number;
}

export async function verifyLesson(lesson: Lesson, runner: LessonRunner, options: VerifyOptions = {}): Promise<VerifyReport> {
  const { signal, retries = 3, retryDelayMs = 300 } = options;
  const steps: StepReport[] = [];
  await runner.reset(lesson, lesson.files);
  for (const step of lesson.steps) {
    signal?.throwIfAborted();
    const label = `${lesson.id} step ${step.index + 1} "${step.title}"`;
    options.onProgress?.(label);
    const report: StepReport = { index: step.index, title: step.title, before: await evaluateStep(step, runner.context), after: null, commands: [], problems: [] };
    steps.push(report);
    if (report.before.complete) report.problems.push(`${label}: every check already passes before the step's commands run, so the step would complete by itself`);
    if (step.appliesSolution) await runner.applyFiles(lesson.solution);
    for (const command of step.commands) {
      const r = await runner.shell(command, signal);
      report.commands.push({ command, ...r });
      if (r.exit !== 0) report.problems.push(`${label}: \`${command}\` exited with ${r.exit}${r.output.trim() ? `: ${r.output.trim().split('\n').slice(-3).join(' / ')}` : ''} (append \`|| true\` if that is the point)`);
    }
    let after = await evaluateStep(step, runner.context);
    for (let i = 0; i < retries && !after.complete; i++) {
      await new Promise((r) => setTimeout(r, retryDelayMs));
      after = await evaluateStep(step, runner.context);
    }
    report.after = after;
    if (!after.complete) {
      after.checks.forEach((c, i) => {
        if (!c.pass) report.problems.push(`${label}: checks[${i}] (${step.checks[i]!.kind}) fails after the solution: ${c.message}`);
      });
    }
  }
  const problems = steps.flatMap((s) => s.problems);
  return { lesson: lesson.id, ok: problems.length === 0, steps, problems };
}
