/**
 * `layerlab lesson verify [path …]`: play every lesson's solution in the real VM (a fresh VM and an
 * in-memory store per lesson) and check that each step's checks fail before its commands and pass after.
 * `layerlab lesson list [--json] [path]`: the course at a glance, for authors and CI.
 *
 *   layerlab lesson verify                       every lesson in ./lessons
 *   layerlab lesson verify lessons/03-copy-on-write
 *   layerlab lesson verify path/to/lessons -v    (-v: also print every command's output)
 */
import { access } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { CliIO } from '../client/commands.ts';
import type { VerifyReport } from '../lessons/verify.ts';

const USAGE = `Usage:  layerlab lesson verify [-v] [PATH...]
        layerlab lesson list [--json] [PATH]

verify  Plays each lesson's solution.sh in a fresh VM and checks that every step's checks fail before
        the step's commands run and pass after. PATH is a folder of lessons (default ./lessons) or one
        lesson folder.
list    Lists the lessons: id, title, level, steps, challenge, predictions, minutes.

Options:
  -v, --verbose   Print every command and its output (verify)
      --json      One JSON array (list)
`;

/** What `lesson list --json` prints per lesson. */
export interface LessonListing {
  id: string;
  title: string;
  level: string;
  minutes: number;
  steps: number;
  challenge: boolean;
  predictions: number;
}

async function listCommand(args: string[], io: CliIO, cwd: string): Promise<number> {
  let json = false;
  const paths: string[] = [];
  for (const arg of args) {
    if (arg === '--json') json = true;
    else if (arg.startsWith('-')) {
      io.stderr(`layerlab lesson list: unknown flag: ${arg}\n\n${USAGE}`);
      return 2;
    } else paths.push(arg);
  }
  const path = resolve(cwd, paths[0] ?? 'lessons');
  if (!(await exists(path))) {
    io.stderr(`layerlab lesson list: ${paths[0] ?? 'lessons'}: no such folder\n`);
    return 2;
  }
  const { loadLessonsFromDir } = await import('../lessons/loader.ts');
  const { LessonValidationError } = await import('../lessons/schema.ts');
  const { root, only } = await selection(path);
  let lessons;
  try {
    lessons = await loadLessonsFromDir(root, { only });
  } catch (error) {
    if (error instanceof LessonValidationError) {
      io.stderr(`✗ ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const rows: LessonListing[] = lessons.map((l) => ({
    id: l.id,
    title: l.title,
    level: l.level,
    minutes: l.minutes,
    steps: l.steps.length,
    challenge: l.steps.some((s) => s.challenge),
    predictions: l.steps.filter((s) => s.predict).length,
  }));
  if (json) {
    io.stdout(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  const idWidth = Math.max(2, ...rows.map((r) => r.id.length));
  io.stdout(`${'ID'.padEnd(idWidth)}  LEVEL         STEPS  CHALLENGE  PREDICTIONS  MINUTES  TITLE\n`);
  for (const r of rows)
    io.stdout(
      `${r.id.padEnd(idWidth)}  ${r.level.padEnd(12)}  ${String(r.steps).padEnd(5)}  ${(r.challenge ? 'yes' : 'no').padEnd(9)}  ${String(r.predictions).padEnd(11)}  ${String(r.minutes).padEnd(7)}  ${r.title}\n`,
    );
  const total = rows.reduce((n, r) => n + r.minutes, 0);
  io.stdout(`\n${rows.length} lessons, ${rows.filter((r) => r.challenge).length} with a challenge, ${rows.reduce((n, r) => n + r.predictions, 0)} predictions, about ${total} minutes\n`);
  return 0;
}

export interface LessonCommandOptions {
  args: string[];
  io: CliIO;
  cwd: string;
  signal?: AbortSignal;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** `lessons/` → all of them; `lessons/03-copy-on-write` → that one. */
async function selection(path: string): Promise<{ root: string; only?: string[] }> {
  if (await exists(join(path, 'lesson.md'))) return { root: dirname(path), only: [basename(path)] };
  return { root: path };
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export async function lessonCommand(options: LessonCommandOptions): Promise<number> {
  const { io, cwd } = options;
  const [sub, ...rest] = options.args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io[sub === undefined ? 'stderr' : 'stdout'](USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'list') return listCommand(rest, io, cwd);
  if (sub !== 'verify') {
    io.stderr(`layerlab lesson: unknown command "${sub}"\n\n${USAGE}`);
    return 2;
  }
  let verbose = false;
  const paths: string[] = [];
  for (const arg of rest) {
    if (arg === '-v' || arg === '--verbose') verbose = true;
    else if (arg === '-h' || arg === '--help') {
      io.stdout(USAGE);
      return 0;
    } else if (arg.startsWith('-')) {
      io.stderr(`layerlab lesson verify: unknown flag: ${arg}\n\n${USAGE}`);
      return 2;
    } else paths.push(arg);
  }
  if (!paths.length) paths.push('lessons');

  const { loadLessonsFromDir } = await import('../lessons/loader.ts');
  const { LessonValidationError } = await import('../lessons/schema.ts');
  const lessons = [];
  for (const path of paths) {
    const full = resolve(cwd, path);
    if (!(await exists(full))) {
      io.stderr(`layerlab lesson verify: ${path}: no such folder\n`);
      return 2;
    }
    const { root, only } = await selection(full);
    try {
      lessons.push(...(await loadLessonsFromDir(root, { only })));
    } catch (error) {
      if (error instanceof LessonValidationError) {
        io.stderr(`✗ ${error.message}\n`);
        return 1;
      }
      throw error;
    }
  }
  if (!lessons.length) {
    io.stderr(`layerlab lesson verify: no lessons in ${paths.join(', ')}\n`);
    return 1;
  }

  const { verifyLesson } = await import('../lessons/verify.ts');
  const { createNodeLessonRunner } = await import('../host/lesson-runner.ts');
  const runner = createNodeLessonRunner();
  const started = Date.now();
  io.stdout(`Verifying ${lessons.length} lesson${lessons.length === 1 ? '' : 's'} in the VM (a fresh VM for each)\n`);
  const reports: VerifyReport[] = [];
  try {
    for (const lesson of lessons) {
      const t0 = Date.now();
      let report: VerifyReport;
      try {
        report = await verifyLesson(lesson, runner, { signal: options.signal });
      } catch (error) {
        options.signal?.throwIfAborted();
        report = { lesson: lesson.id, ok: false, steps: [], problems: [`${lesson.id}: ${(error as Error)?.message ?? String(error)}`] };
      }
      reports.push(report);
      io.stdout(`${report.ok ? '✓' : '✗'} ${lesson.id}  ${lesson.title}  (${seconds(Date.now() - t0)})\n`);
      for (const step of report.steps) {
        const ok = step.problems.length === 0;
        io.stdout(`    ${ok ? '✓' : '✗'} step ${step.index + 1}  ${step.title}\n`);
        const prefix = `${lesson.id} step ${step.index + 1} "${step.title}": `;
        for (const problem of step.problems) io.stdout(`        ${problem.startsWith(prefix) ? problem.slice(prefix.length) : problem}\n`);
        if (verbose || !ok)
          for (const c of step.commands) {
            if (!verbose && c.exit === 0) continue;
            io.stdout(`        $ ${c.command}   → exit ${c.exit}\n`);
            const out = c.output.trimEnd();
            if (out) io.stdout(out.split('\n').map((l) => `          ${l}`).join('\n') + '\n');
          }
      }
      if (!report.steps.length) for (const problem of report.problems) io.stdout(`    ✗ ${problem}\n`);
    }
  } finally {
    await runner.close();
  }
  const failed = reports.filter((r) => !r.ok);
  io.stdout(
    `\n${reports.length} lesson${reports.length === 1 ? '' : 's'}: ${reports.length - failed.length} passed, ${failed.length} failed (${seconds(Date.now() - started)})\n`,
  );
  if (failed.length) io.stdout(`failed: ${failed.map((r) => r.lesson).join(', ')}\n`);
  return failed.length ? 1 : 0;
}
