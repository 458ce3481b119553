import { describe, expect, it } from 'vitest';
import { firstIncomplete, lessonDone, normalizeProgress } from './progress.ts';
import type { Lesson } from './schema.ts';

const lesson = (id: string, steps: number) => ({ id, steps: [...Array(steps)].map((_, index) => ({ index })) }) as unknown as Lesson;
const course = [lesson('01-a', 2), lesson('02-b', 3)];

describe('progress', () => {
  it('drops unknown lessons, bad steps and a stale current lesson', () => {
    const p = normalizeProgress({ current: '09-gone', lessons: { '01-a': { completed: [1, 1, 5, -1, 0], step: 7 }, '09-gone': { completed: [0], step: 0 } } }, course);
    expect(p).toEqual({ version: 1, current: null, lessons: { '01-a': { completed: [0, 1], step: 1 } } });
    expect(lessonDone(p, course[0]!)).toBe(true);
    expect(firstIncomplete(p, course[1]!)).toBe(0);
  });

  it('survives garbage', () => {
    expect(normalizeProgress('nope', course)).toEqual({ version: 1, current: null, lessons: {} });
  });
});
