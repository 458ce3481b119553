/**
 * The course in the browser: Vite inlines every lesson file as text at build time, and a malformed
 * lesson fails `vite build` (the glob is eager, so validation runs when this module loads). The unit
 * test src/lessons/lessons.test.ts validates the same folder with the full list of problems.
 */
import { buildCourse, type Lesson } from './schema.ts';
import { sourcesFromEntries } from './sources.ts';

// The second pattern picks up dotfiles (`.dockerignore`), which `**` skips.
const raw = import.meta.glob(['/lessons/*/**', '/lessons/*/**/.*'], { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

let cached: Lesson[] | null = null;

/** Every lesson, validated, in order. Throws `LessonValidationError` (a bug in lessons/, not the learner's). */
export function loadLessons(): Lesson[] {
  cached ??= buildCourse(sourcesFromEntries(raw, 'lessons'));
  return cached;
}
