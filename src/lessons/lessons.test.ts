/** Every real lesson in lessons/ loads and validates, and together they cover the curriculum. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadLessonsFromDir } from './loader.ts';
import { CHECK_KINDS, CURRICULUM_IDEAS } from './schema.ts';
import { stepBuildTag } from './checks.ts';

const dir = fileURLToPath(new URL('../../lessons', import.meta.url));

describe('the course in lessons/', async () => {
  const lessons = await loadLessonsFromDir(dir);

  it('the tag field follows each step: lesson 16 builds site-fat first, then site', () => {
    const multi = lessons.find((l) => l.id === '16-multi-stage')!;
    expect(multi.steps.map((s) => stepBuildTag(s)).slice(0, 2)).toEqual(['site-fat', 'site']);
  });

  it('has at least 12 valid lessons, numbered in order', () => {
    expect(lessons.length).toBeGreaterThanOrEqual(12);
    expect(lessons.map((l) => l.number)).toEqual(lessons.map((_, i) => i + 1));
  });

  it('ends every lesson in a goal-only challenge and asks at least 24 predict-then-run questions', () => {
    expect(lessons.length).toBeGreaterThanOrEqual(24);
    expect(lessons.filter((l) => !l.steps.at(-1)?.challenge).map((l) => l.id)).toEqual([]);
    expect(lessons.reduce((n, l) => n + l.steps.filter((s) => s.predict).length, 0)).toBeGreaterThanOrEqual(24);
  });

  it('puts beginner lessons before intermediate ones, each with a time estimate', () => {
    const levels = lessons.map((l) => l.level);
    expect(levels.lastIndexOf('beginner')).toBeLessThan(levels.indexOf('intermediate'));
    for (const l of lessons) expect(l.minutes, l.id).toBeGreaterThan(0);
  });

  it('covers every CURRICULUM idea', () => {
    const covered = new Set(lessons.flatMap((l) => l.ideas));
    expect([...Array(CURRICULUM_IDEAS)].map((_, i) => i + 1).filter((n) => !covered.has(n))).toEqual([]);
  });

  it('corrects every wrong claim in CURRICULUM.md', () => {
    const corrected = lessons.map((l) => l.corrects ?? '').join('\n');
    for (const claim of ['`docker build` creates a container', 'Containers are smaller than images', 'An image is generated only once', 'own network interfaces', 'best isolation'])
      expect(corrected).toContain(claim);
  });

  it('uses only known check kinds, with commands for every step', () => {
    for (const l of lessons)
      for (const s of l.steps) {
        for (const c of s.checks) expect(CHECK_KINDS).toContain(c.kind);
        expect(s.commands.length + (s.appliesSolution ? 1 : 0), `${l.id} step ${s.index + 1}`).toBeGreaterThan(0);
      }
  });

  it('never relies on the network in the VM', () => {
    for (const l of lessons) {
      const text = [...l.steps.flatMap((s) => s.commands), ...l.files.map((f) => f.content), ...l.solution.map((f) => f.content)].join('\n');
      expect(text, l.id).not.toMatch(/\b(apt-get|apk add|pip install|curl)\b/);
      // registries only inside the sandbox (registry.lab)
      expect(text, l.id).not.toMatch(/\bdocker (pull|push)\b(?! registry\.lab\/)/);
      // wget only to a server in the sandbox itself
      expect(text, l.id).not.toMatch(/\bwget\b[^\n]*https?:\/\/(?!127\.0\.0\.1|localhost)/);
    }
  });
});
