/** Learner progress: plain data, saved by the app (IndexedDB) through `ProgressStore`. */
import type { Lesson } from './schema.ts';

export interface LessonProgress {
  /** 0-based indexes of completed steps. */
  completed: number[];
  /** The step the learner is on. */
  step: number;
  /** Predict-then-run answers: step index → the choice the learner made. */
  predicted?: Record<number, number>;
}

export interface Progress {
  version: 1;
  /** Id of the open lesson. */
  current: string | null;
  lessons: Record<string, LessonProgress>;
}

export interface ProgressStore {
  load(): Promise<Progress | null | undefined>;
  save(progress: Progress): Promise<void>;
}

export function emptyProgress(): Progress {
  return { version: 1, current: null, lessons: {} };
}

/** Accept whatever was stored (older, partial, or from a course whose lessons changed). */
export function normalizeProgress(raw: unknown, lessons: Lesson[]): Progress {
  const p = emptyProgress();
  if (!raw || typeof raw !== 'object') return p;
  const r = raw as Partial<Progress>;
  for (const l of lessons) {
    const lp = r.lessons?.[l.id];
    if (!lp) continue;
    const completed = Array.isArray(lp.completed) ? [...new Set(lp.completed.filter((n) => Number.isInteger(n) && n >= 0 && n < l.steps.length))].sort((a, b) => a - b) : [];
    const step = Number.isInteger(lp.step) ? Math.min(Math.max(lp.step, 0), l.steps.length - 1) : 0;
    const predicted: Record<number, number> = {};
    for (const [k, v] of Object.entries(lp.predicted ?? {})) {
      const choices = l.steps[Number(k)]?.predict?.choices.length ?? 0;
      if (Number.isInteger(v) && v >= 0 && v < choices) predicted[Number(k)] = v;
    }
    p.lessons[l.id] = Object.keys(predicted).length ? { completed, step, predicted } : { completed, step };
  }
  p.current = lessons.some((l) => l.id === r.current) ? r.current! : null;
  return p;
}

export function lessonDone(p: Progress, lesson: Lesson): boolean {
  return (p.lessons[lesson.id]?.completed.length ?? 0) === lesson.steps.length;
}

/** The first step not yet completed, or null when all are. */
export function firstIncomplete(p: Progress, lesson: Lesson): number | null {
  const done = new Set(p.lessons[lesson.id]?.completed ?? []);
  const i = lesson.steps.findIndex((s) => !done.has(s.index));
  return i < 0 ? null : i;
}
