import { describe, expect, it } from 'vitest';
import { buildCourse, didYouMean, LessonValidationError, parseSolutionScript, validateLesson, type LessonSource } from './schema.ts';
import { sourcesFromEntries } from './sources.ts';

const GOOD_MD = `---
title: Copy-on-write
summary: Writes land in the writable layer.
ideas: [3]
image: app
level: beginner
minutes: 5
---

Intro text.

## Step: Build

Build it.

\`\`\`sh
docker build -t app .
\`\`\`

\`\`\`check
focus: layers
hints:
  - Build from the terminal.
checks:
  - kind: layers
    image: app
    count: 2
\`\`\`

## Step: Run

Run it.

\`\`\`check
checks:
  - kind: container
    name: web
    state: exited
    exitCode: 0
  - kind: container-command
    container: web
    argv: [cat, /x]
    stdout: '/^hi$/m'
\`\`\`

## Recap

Done.
`;
const GOOD_SH = `# step 1
docker build -t app .
# step 2
#> apply solution
docker run --name web app \\
  cat /x
`;

function src(over: Partial<LessonSource> = {}): LessonSource {
  return {
    id: '03-copy-on-write',
    dir: 'lessons/03-copy-on-write',
    markdown: GOOD_MD,
    solutionScript: GOOD_SH,
    files: [{ path: 'Dockerfile', content: 'FROM busybox\n' }],
    solution: [{ path: 'Dockerfile', content: 'FROM busybox\nCOPY x /x\n' }],
    ...over,
  };
}

/** Replace `from` in the good lesson.md (must occur). */
function md(from: string, to: string): Partial<LessonSource> {
  expect(GOOD_MD).toContain(from);
  return { markdown: GOOD_MD.replace(from, to) };
}

describe('a good lesson', () => {
  it('validates and parses steps, checks, hints, commands', () => {
    const { lesson, problems } = validateLesson(src());
    expect(problems.map(String)).toEqual([]);
    expect(lesson).toMatchObject({
      id: '03-copy-on-write',
      number: 3,
      title: 'Copy-on-write',
      ideas: [3],
      image: 'app',
      intro: 'Intro text.',
      recap: 'Done.',
    });
    expect(lesson!.steps).toHaveLength(2);
    expect(lesson!.steps[0]).toMatchObject({ title: 'Build', focus: 'layers', hints: ['Build from the terminal.'], commands: ['docker build -t app .'] });
    expect(lesson!.steps[0]!.body).toContain('docker build -t app .');
    expect(lesson!.steps[0]!.body).not.toContain('kind: layers');
    expect(lesson!.steps[1]!.checks[1]).toEqual({ kind: 'container-command', container: 'web', argv: ['cat', '/x'], stdout: '/^hi$/m' });
    expect(lesson!.steps[1]).toMatchObject({ appliesSolution: true, commands: ['docker run --name web app \\\n  cat /x'] });
  });

  it('does not split steps on a heading inside a code fence', () => {
    const { lesson } = validateLesson(src(md('Intro text.', 'Intro text.\n\n````md\n## Step: not a step\n````')));
    expect(lesson!.steps).toHaveLength(2);
  });
});

describe('malformed lessons name the file and field', () => {
  const F = 'lessons/03-copy-on-write/lesson.md';
  const S = 'lessons/03-copy-on-write/solution.sh';
  const table: [string, Partial<LessonSource>, string][] = [
    ['unknown check kind', md('kind: layers', 'kind: layer-count'), `${F}: steps[0].checks[0].kind: unknown check "layer-count" (did you mean "layers"?)`],
    ['unknown field in a check', md('    count: 2', '    cont: 2'), `${F}: steps[0].checks[0].cont: unknown field for a "layers" check (did you mean "count"?)`],
    ['wrong type', md('    count: 2', '    count: two'), `${F}: steps[0].checks[0].count: expected a whole number ≥ 0, got string "two"`],
    ['missing required field', md('    image: app\n    count: 2', '    count: 2'), `${F}: steps[0].checks[0].image: required for a "layers" check`],
    ['bad enum', md('state: exited', 'state: stopped'), `${F}: steps[1].checks[0].state: expected one of created, running, exited, paused, got string "stopped"`],
    ['bad regex', md(`'/^hi$/m'`, `'/(/'`), `${F}: steps[1].checks[1].stdout: bad regular expression /(/`],
    ['argv not a list', md('argv: [cat, /x]', 'argv: cat /x'), `${F}: steps[1].checks[1].argv: expected a list of strings`],
    ['check without its condition', md('    image: app\n    count: 2', '    image: app'), `${F}: steps[0].checks[0]: a layers check needs count, min, max or where`],
    ['no check block', md('```check\nchecks:\n  - kind: container', '```yaml\nchecks:\n  - kind: container'), `${F}: steps[1]: step "Run" has no \`\`\`check block`],
    ['empty checks', md('checks:\n  - kind: layers\n    image: app\n    count: 2', 'checks: []'), `${F}: steps[0].checks: expected a non-empty list of checks`],
    ['unknown step field', md('focus: layers', 'focuss: layers'), `${F}: steps[0].focuss: unknown field for a \`\`\`check block (did you mean "focus"?)`],
    ['bad focus', md('focus: layers', 'focus: layer'), `${F}: steps[0].focus: expected one of`],
    ['invalid check YAML', md('    count: 2', '    count: [2'), `${F}: steps[0].check: not valid YAML`],
    ['missing title', md('title: Copy-on-write\n', ''), `${F}: title: required for frontmatter`],
    ['bad ideas', md('ideas: [3]', 'ideas: [16]'), `${F}: ideas: expected a non-empty list of CURRICULUM idea numbers 1–15`],
    ['unknown frontmatter field', md('image: app', 'imgae: app'), `${F}: imgae: unknown field for frontmatter (did you mean "image"?)`],
    ['no frontmatter', { markdown: '# hi\n' }, `${F}: frontmatter: missing`],
    ['no steps', { markdown: '---\ntitle: a\nsummary: b\nideas: [1]\nlevel: beginner\nminutes: 3\n---\ntext\n' }, `${F}: steps: no steps`],
    ['empty step prose', md('Run it.\n', ''), `${F}: steps[1].body: step "Run" has no prose`],
    ['hint not a string', md('  - Build from the terminal.', '  - {a: 1}'), `${F}: steps[0].hints[0]: expected a non-empty string, got a mapping`],
    ['bad lesson folder name', { id: '3-Copy' , dir: 'lessons/3-Copy' }, `lessons/3-Copy: folder name must be NN-slug`],
    ['missing solution.sh', { solutionScript: null }, `${S}: missing`],
    ['solution.sh step count', { solutionScript: '# step 1\ndocker build -t app .\n' }, `${S}: steps: has 1 "# step N" blocks; lesson.md has 2 steps`],
    ['solution.sh out of order', { solutionScript: '# step 1\nx\n# step 3\ny\n' }, `${S}: line 3: "# step 3" out of order: expected "# step 2"`],
    ['solution.sh command before step', { solutionScript: 'docker ps\n# step 1\nx\n# step 2\ny\n' }, `${S}: line 1: command before the first "# step 1" comment`],
    ['solution.sh unknown directive', { solutionScript: '# step 1\n#> apply solutions\nx\n# step 2\ny\n' }, `${S}: line 2: unknown directive`],
    ['solution/ without apply', { solutionScript: '# step 1\nx\n# step 2\ny\n' }, `${S}: solution/ has files but no step says "#> apply solution"`],
    ['apply without solution/', { solution: [] }, `lessons/03-copy-on-write/solution: solution.sh says "#> apply solution" but solution/ is empty`],
    ['no starting files', { files: [] }, `lessons/03-copy-on-write/files: missing or empty`],
    ['missing lesson.md', { markdown: null }, `${F}: missing`],
  ];
  it.each(table)('%s', (_name, over, expected) => {
    const { lesson, problems } = validateLesson(src(over));
    expect(lesson).toBeNull();
    expect(problems.map(String).join('\n')).toContain(expected);
  });

  it('reports every problem of a course at once, with duplicate numbers', () => {
    const a = src();
    const b = src({ id: '03-other', dir: 'lessons/03-other', markdown: GOOD_MD.replace('kind: layers', 'kind: layrs') });
    try {
      buildCourse([a, b]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LessonValidationError);
      const text = (e as Error).message;
      expect(text).toContain('lessons/03-other: number 03 is already used by 03-copy-on-write');
      expect(text).toContain('lessons/03-other/lesson.md: steps[0].checks[0].kind: unknown check "layrs" (did you mean "layers"?)');
    }
  });
});

describe('helpers', () => {
  it('suggests close names only', () => {
    expect(didYouMean('layer-count', ['layers', 'config'])).toBe(' (did you mean "layers"?)');
    expect(didYouMean('writable-have', ['writable-has', 'writable-lacks'])).toBe(' (did you mean "writable-has"?)');
    expect(didYouMean('zzzzzz', ['layers', 'config'])).toBe('');
  });

  it('parses solution scripts', () => {
    expect(parseSolutionScript(null, 'x', '#!/bin/sh\n# step 1: build\n\ndocker build -t a .  \n# a comment\n# step 2\n#> apply solution\n').steps).toEqual([
      { commands: ['docker build -t a .'], appliesSolution: false },
      { commands: [], appliesSolution: true },
    ]);
  });

  it('groups glob entries into lesson sources, skipping README and _template', () => {
    const sources = sourcesFromEntries({
      '/lessons/README.md': '#',
      '/lessons/_template/lesson.md': 'x',
      '/lessons/01-a/lesson.md': 'md',
      '/lessons/01-a/solution.sh': 'sh',
      '/lessons/01-a/files/Dockerfile': 'FROM busybox',
      '/lessons/01-a/files/app/main.py': 'print()',
      '/lessons/01-a/solution/Dockerfile': 'FROM python',
    });
    expect(sources).toEqual([
      {
        id: '01-a',
        dir: 'lessons/01-a',
        markdown: 'md',
        solutionScript: 'sh',
        files: [
          { path: 'app/main.py', content: 'print()' },
          { path: 'Dockerfile', content: 'FROM busybox' },
        ],
        solution: [{ path: 'Dockerfile', content: 'FROM python' }],
      },
    ]);
  });
});

describe('challenges and predictions', () => {
  const lesson = (steps: string, script: string) =>
    validateLesson({
      id: '05-x',
      dir: 'lessons/05-x',
      markdown: `---\ntitle: x\nsummary: y\nideas: [1]\nlevel: intermediate\nminutes: 7\n---\n${steps}`,
      solutionScript: script,
      files: [{ path: 'Dockerfile', content: 'FROM busybox\n' }],
      solution: [],
    });
  const check = (extra = '') => `\`\`\`check\n${extra}checks:\n  - kind: image-exists\n    image: app\n\`\`\``;
  const PREDICT = `predict:\n  question: How many layers?\n  choices: ['1', '2']\n  answer: 1\n  why: COPY adds one.\n`;

  it('parses a prediction and a final challenge', () => {
    const { lesson: l, problems } = lesson(
      `## Step: Build\n\nBuild.\n\n${check(PREDICT)}\n\n## Challenge: Make it smaller\n\nGoal: fewer bytes. The catch: deleting does not shrink.\n\n${check('hints:\n  - Think multi-stage.\n  - Or one RUN.\n')}\n`,
      '# step 1\ndocker build -t app .\n# step 2\ndocker build -t app .\n',
    );
    expect(problems.map(String)).toEqual([]);
    expect(l).toMatchObject({ level: 'intermediate', minutes: 7 });
    expect(l!.steps[0]).toMatchObject({ challenge: false, predict: { question: 'How many layers?', choices: ['1', '2'], answer: 1, why: 'COPY adds one.' } });
    expect(l!.steps[1]).toMatchObject({ challenge: true, title: 'Make it smaller', hints: ['Think multi-stage.', 'Or one RUN.'] });
  });

  it.each([
    ['a challenge that is not last', `## Challenge: c\n\nGoal.\n\n${check('hints: [h]\n')}\n\n## Step: s\n\nDo.\n\n${check()}\n`, 'steps[0]: challenge "c" must be the last step'],
    ['a challenge that shows commands', `## Challenge: c\n\nGoal.\n\n\`\`\`sh\ndocker build .\n\`\`\`\n\n${check('hints: [h]\n')}\n`, 'steps[0].body: challenge "c" shows commands'],
    ['a challenge without hints', `## Challenge: c\n\nGoal.\n\n${check()}\n`, 'steps[0].hints: challenge "c" needs hints'],
    ['an answer out of range', `## Step: s\n\nDo.\n\n${check("predict:\n  question: q\n  choices: [a, b]\n  answer: 2\n  why: w\n")}\n`, 'steps[0].predict.answer: is 2, but there are only 2 choices'],
    ['one choice', `## Step: s\n\nDo.\n\n${check("predict:\n  question: q\n  choices: [a]\n  answer: 0\n  why: w\n")}\n`, 'steps[0].predict.choices: expected a list of at least two answers'],
    ['a prediction without why', `## Step: s\n\nDo.\n\n${check("predict:\n  question: q\n  choices: [a, b]\n  answer: 0\n")}\n`, 'steps[0].predict.why: required'],
  ])('%s is refused', (_name, steps, expected) => {
    const script = steps.includes('## Step: s') && steps.includes('## Challenge') ? '# step 1\nx\n# step 2\ny\n' : '# step 1\nx\n';
    const { problems } = lesson(steps, script);
    expect(problems.map(String).join('\n')).toContain(expected);
  });

  it('refuses a lesson without level or minutes', () => {
    const { problems } = validateLesson({ id: '05-x', dir: 'lessons/05-x', markdown: `---\ntitle: x\nsummary: y\nideas: [1]\n---\n## Step: s\n\nDo.\n\n${check()}\n`, solutionScript: '# step 1\nx\n', files: [{ path: 'a', content: '' }], solution: [] });
    expect(problems.map(String)).toEqual(expect.arrayContaining(['lessons/05-x/lesson.md: level: required for frontmatter', 'lessons/05-x/lesson.md: minutes: required for frontmatter']));
  });
});
