import { describe, expect, it } from 'vitest';
import { fakeContext, fakeImage } from './fake-context.ts';
import { validateLesson, type Lesson, type LessonFile } from './schema.ts';
import { verifyLesson, type LessonRunner } from './verify.ts';

const MD = `---
title: t
summary: s
ideas: [1]
level: beginner
minutes: 2
---
## Step: Build

Build.

\`\`\`check
checks:
  - kind: image-exists
    image: app
\`\`\`

## Step: Run

Run.

\`\`\`check
checks:
  - kind: container
    name: web
    state: exited
\`\`\`
`;

function lesson(sh: string): Lesson {
  const { lesson, problems } = validateLesson({ id: '01-t', dir: 'lessons/01-t', markdown: MD, solutionScript: sh, files: [{ path: 'Dockerfile', content: 'FROM busybox' }], solution: [] });
  expect(problems.map(String)).toEqual([]);
  return lesson!;
}

/** A toy "VM" that understands two commands. */
function runner(): LessonRunner & { log: string[] } {
  const ctx = fakeContext();
  const log: string[] = [];
  return {
    log,
    context: ctx,
    async reset(_l, files: LessonFile[]) {
      ctx.state.images = {};
      ctx.state.containers = [];
      log.push(`reset ${files.map((f) => f.path)}`);
    },
    async applyFiles(files) {
      log.push(`apply ${files.length}`);
    },
    async shell(command) {
      log.push(command);
      if (command === 'docker build -t app .') ctx.state.images['app:latest'] = fakeImage('sha256:abc', ['app:latest'], [['ADD busybox', []]]);
      else if (command.startsWith('docker run --name web')) ctx.state.containers.push({ id: '1', name: 'web', image: 'app', state: 'exited', exitCode: 0, writable: [], sizeRw: 0, sizeRootFs: 0 });
      else return { exit: 1, output: 'unknown command' };
      return { exit: 0, output: '' };
    },
  };
}

describe('verifyLesson', () => {
  it('passes a lesson whose solution completes each step, and only then', async () => {
    const r = runner();
    const report = await verifyLesson(lesson('# step 1\ndocker build -t app .\n# step 2\ndocker run --name web app\n'), r);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(r.log).toEqual(['reset Dockerfile', 'docker build -t app .', 'docker run --name web app']);
  });

  it('fails a lesson whose solution leaves a step incomplete, or whose step completes by itself', async () => {
    const report = await verifyLesson(lesson('# step 1\ndocker build -t app .\ndocker run --name web app\n# step 2\ndocker ps\n'), runner(), { retries: 0 });
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      '01-t step 2 "Run": every check already passes before the step\'s commands run, so the step would complete by itself',
      '01-t step 2 "Run": `docker ps` exited with 1: unknown command (append `|| true` if that is the point)',
    ]);
    const bad = await verifyLesson(lesson('# step 1\ndocker build -t app .\n# step 2\ndocker start web\n'), runner(), { retries: 0 });
    expect(bad.problems.join('\n')).toContain('01-t step 2 "Run": checks[0] (container) fails after the solution: there is no container named `web`');
  });
});
