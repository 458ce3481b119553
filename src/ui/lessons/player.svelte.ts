/**
 * Lesson player state: which lesson and step are open, live check results, progress. Checks re-run
 * when the engine reports a change (debounced, one evaluation at a time), when the learner asks, and
 * every few seconds while the step has checks that run programs (their results change without events).
 */
import type { CheckResult, StepResult } from '../../lessons/checks.ts';
import { stepRunsPrograms } from '../../lessons/checks.ts';
import type { LessonEvaluator } from '../../lessons/evaluator.ts';
import { emptyProgress, firstIncomplete, lessonDone, normalizeProgress, type Progress, type ProgressStore } from '../../lessons/progress.ts';
import type { Lesson } from '../../lessons/schema.ts';
import type { FocusEvent, ResetEvent, SolutionEvent } from './types.ts';

export interface PlayerOptions {
  lessons: Lesson[];
  evaluator: LessonEvaluator;
  persist: ProgressStore;
  onreset?(event: ResetEvent): void | Promise<void>;
  onsolution?(event: SolutionEvent): void;
  onfocus?(event: FocusEvent): void;
  /** Debounce for engine change events (ms). */
  debounceMs?: number;
  /** Poll interval while a step has command checks (ms); 0 = never. */
  pollMs?: number;
}

export type CheckStatus = { state: 'pending' } | ({ state: 'done' } & CheckResult);

export class LessonPlayer {
  /** Set once in the constructor (a field so the deriveds below can read it). */
  lessons = $state.raw<Lesson[]>([]);
  progress = $state<Progress>(emptyProgress());
  loaded = $state(false);
  lessonId = $state<string>('');
  stepIndex = $state(0);
  result = $state.raw<StepResult | null>(null);
  checking = $state(false);
  /** How many of the step's hints are revealed. */
  hintsShown = $state(0);
  solutionShown = $state(false);
  listOpen = $state(false);
  saveError = $state<string | null>(null);

  lesson = $derived(this.lessons.find((l) => l.id === this.lessonId) ?? this.lessons[0]!);
  step = $derived(this.lesson.steps[Math.min(this.stepIndex, this.lesson.steps.length - 1)]!);
  lessonProgress = $derived(this.progress.lessons[this.lesson.id] ?? { completed: [], step: 0 });
  stepDone = $derived(this.lessonProgress.completed.includes(this.step.index));
  /** The learner's answer to this step's prediction, if it has one and they answered. */
  predicted = $derived<number | null>(this.lessonProgress.predicted?.[this.step.index] ?? null);
  lessonComplete = $derived(this.lessonProgress.completed.length === this.lesson.steps.length);
  /** Per check: pending until evaluated; a completed step shows all passed. */
  statuses = $derived<CheckStatus[]>(
    this.step.checks.map((_, i) => {
      const r = this.result?.checks[i];
      if (r) return { state: 'done', ...r };
      return this.stepDone ? { state: 'done', pass: true, message: 'done' } : { state: 'pending' };
    }),
  );
  /** An earlier step the learner skipped (shown as a hint: this step builds on it). */
  skipped = $derived.by(() => {
    const first = firstIncomplete(this.progress, this.lesson);
    return first !== null && first < this.step.index ? first : null;
  });
  lessonIndex = $derived(this.lessons.indexOf(this.lesson));
  hasPrev = $derived(this.step.index > 0 || this.lessonIndex > 0);
  hasNext = $derived(this.step.index < this.lesson.steps.length - 1 || this.lessonIndex < this.lessons.length - 1);

  #opts: PlayerOptions;
  #unsubscribe: (() => void) | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #poll: ReturnType<typeof setInterval> | null = null;
  #running = false;
  #again = false;
  /** Bumped on every navigation so a slow evaluation of an old step is ignored. */
  #generation = 0;

  constructor(options: PlayerOptions) {
    if (options.lessons.length === 0) throw new Error('LessonPlayer needs at least one lesson');
    this.#opts = options;
    this.lessons = options.lessons;
    this.lessonId = options.lessons[0]!.id;
  }

  async start() {
    let raw: unknown = null;
    try {
      raw = await this.#opts.persist.load();
    } catch (e) {
      this.saveError = `Could not load your progress: ${(e as Error).message}`;
    }
    this.progress = normalizeProgress(raw, this.lessons);
    const id = this.progress.current ?? this.lessons.find((l) => !lessonDone(this.progress, l))?.id ?? this.lessons[0]!.id;
    this.loaded = true;
    this.#open(id, this.progress.lessons[id]?.step ?? 0);
    this.#unsubscribe = this.#opts.evaluator.subscribe(() => this.schedule());
  }

  destroy() {
    this.#unsubscribe?.();
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#poll) clearInterval(this.#poll);
    this.#generation++;
  }

  isDone(lesson: Lesson) {
    return lessonDone(this.progress, lesson);
  }
  doneCount(lesson: Lesson) {
    return this.progress.lessons[lesson.id]?.completed.length ?? 0;
  }

  selectLesson(id: string) {
    const step = this.progress.lessons[id]?.step ?? 0;
    this.listOpen = false;
    this.#open(id, step);
  }

  goToStep(index: number) {
    this.#open(this.lesson.id, index);
  }

  next() {
    if (this.step.index < this.lesson.steps.length - 1) this.#open(this.lesson.id, this.step.index + 1);
    else if (this.lessonIndex < this.lessons.length - 1) this.selectLesson(this.lessons[this.lessonIndex + 1]!.id);
  }

  prev() {
    if (this.step.index > 0) this.#open(this.lesson.id, this.step.index - 1);
    else if (this.lessonIndex > 0) {
      const l = this.lessons[this.lessonIndex - 1]!;
      this.#open(l.id, l.steps.length - 1);
    }
  }

  showHint() {
    this.hintsShown = Math.min(this.hintsShown + 1, this.step.hints.length);
  }

  /** Record the learner's prediction for the current step (one answer; the reason shows after). */
  predict(choice: number) {
    const step = this.step;
    if (!step.predict || choice < 0 || choice >= step.predict.choices.length) return;
    const lp = (this.progress.lessons[this.lesson.id] ??= { completed: [], step: step.index });
    if (lp.predicted?.[step.index] !== undefined) return;
    lp.predicted = { ...lp.predicted, [step.index]: choice };
    this.#persist();
  }

  showSolution() {
    this.solutionShown = true;
    this.#opts.onsolution?.({ lesson: this.lesson, step: this.step, files: this.step.appliesSolution || this.#solutionStepIsPast() ? this.lesson.solution : [], commands: this.step.commands });
  }

  async reset() {
    const lesson = this.lesson;
    this.progress.lessons[lesson.id] = { completed: [], step: 0, predicted: this.progress.lessons[lesson.id]?.predicted };
    this.#persist();
    await this.#opts.onreset?.({ lesson, files: lesson.files });
    this.#open(lesson.id, 0);
  }

  /** Evaluate now (the "Check" button). */
  recheck() {
    this.schedule(0);
  }

  /** Evaluate soon; coalesces bursts of engine events. */
  schedule(delay = this.#opts.debounceMs ?? 250) {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#evaluate();
    }, delay);
  }

  #solutionStepIsPast() {
    // Files from solution/ also help any step after the one that applies them.
    const applyAt = this.lesson.steps.findIndex((s) => s.appliesSolution);
    return applyAt >= 0 && this.step.index >= applyAt;
  }

  #open(lessonId: string, stepIndex: number) {
    const lesson = this.lessons.find((l) => l.id === lessonId) ?? this.lessons[0]!;
    this.#generation++;
    this.lessonId = lesson.id;
    this.stepIndex = Math.max(0, Math.min(stepIndex, lesson.steps.length - 1));
    this.result = null;
    this.hintsShown = 0;
    this.solutionShown = false;
    this.progress.current = lesson.id;
    this.progress.lessons[lesson.id] ??= { completed: [], step: 0 };
    this.progress.lessons[lesson.id]!.step = this.stepIndex;
    this.#persist();
    const step = lesson.steps[this.stepIndex]!;
    this.#opts.onfocus?.({ lesson, step, focus: step.focus ?? null, image: lesson.image ?? null });
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = null;
    const pollMs = this.#opts.pollMs ?? 3000;
    if (pollMs > 0 && stepRunsPrograms(step)) this.#poll = setInterval(() => this.schedule(0), pollMs);
    if (this.loaded) this.schedule(0);
  }

  async #evaluate() {
    if (this.#running) {
      this.#again = true;
      return;
    }
    const step = this.step;
    const lesson = this.lesson;
    if (this.lessonProgress.completed.includes(step.index)) return; // completed steps stay completed
    const generation = this.#generation;
    this.#running = true;
    this.checking = true;
    try {
      const result = await this.#opts.evaluator.evaluate(step);
      if (generation !== this.#generation) return;
      this.result = result;
      if (result.complete) {
        const lp = (this.progress.lessons[lesson.id] ??= { completed: [], step: step.index });
        if (!lp.completed.includes(step.index)) {
          lp.completed = [...lp.completed, step.index].sort((a, b) => a - b);
          this.#persist();
        }
        if (this.#poll) clearInterval(this.#poll);
        this.#poll = null;
      }
    } catch (e) {
      if (generation === this.#generation) this.result = { complete: false, checks: step.checks.map(() => ({ pass: false, message: `could not check: ${(e as Error).message}` })), hints: [] };
    } finally {
      this.#running = false;
      this.checking = false;
      if (this.#again) {
        this.#again = false;
        this.schedule(0);
      }
    }
  }

  #persist() {
    const snapshot = $state.snapshot(this.progress) as Progress;
    this.#opts.persist.save(snapshot).then(
      () => (this.saveError = null),
      (e: Error) => (this.saveError = `Progress not saved: ${e.message}`),
    );
  }
}
