/**
 * Every lesson in lessons/, played in the real VM (what `layerlab lesson verify` does): for each step,
 * its checks must fail on the state before its commands and pass after. One fresh VM per lesson.
 * The course is split into shards, one test file each, so the VM test project runs them side by side.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { loadLessonsFromDir } from '../lessons/loader.ts';
import { verifyLesson } from '../lessons/verify.ts';
import { createNodeLessonRunner } from './lesson-runner.ts';

export const LESSON_SHARDS = 2;

export async function defineLessonSuite(shard: number): Promise<void> {
  const all = await loadLessonsFromDir(resolve(import.meta.dirname, '../../lessons'));
  const lessons = all.filter((_, i) => i % LESSON_SHARDS === shard);
  const runner = createNodeLessonRunner();
  afterAll(() => runner.close());

  describe(`every lesson works in the VM (shard ${shard + 1} of ${LESSON_SHARDS})`, () => {
    it('finds the course', () => {
      expect(all.length).toBeGreaterThanOrEqual(12);
      expect(lessons.length).toBeGreaterThan(0);
    });

    for (const lesson of lessons) {
      it(`${lesson.id}: each step fails before its commands and passes after`, { timeout: 300_000 }, async () => {
        const report = await verifyLesson(lesson, runner);
        // The problems name the step, the check and what it found; the command outputs help when a command failed.
        const failedCommands = report.steps.flatMap((s) => s.commands.filter((c) => c.exit !== 0).map((c) => `$ ${c.command} → ${c.exit}\n${c.output}`));
        expect({ problems: report.problems, failedCommands }).toEqual({ problems: [], failedCommands: [] });
        expect(report.steps).toHaveLength(lesson.steps.length);
      });
    }
  });
}
