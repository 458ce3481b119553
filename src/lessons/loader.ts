/**
 * Load and validate the course from a folder (Node: the CLI, `layerlab lesson verify`, tests).
 * The browser uses browser-loader.ts instead.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { buildCourse, type Lesson } from './schema.ts';
import { sourcesFromEntries } from './sources.ts';

async function walk(dir: string, out: string[] = []): Promise<string[]> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) await walk(p, out);
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

/**
 * Read every lesson under `dir` (default `lessons/` of the current directory). Throws
 * `LessonValidationError` listing every problem with its file and field.
 * @param options.only lesson folder names to load (e.g. from `layerlab lesson verify lessons/03-…`)
 */
export async function loadLessonsFromDir(dir = 'lessons', options: { only?: string[] } = {}): Promise<Lesson[]> {
  const root = relative(process.cwd(), dir).split(sep).join('/') || '.';
  const entries: Record<string, string> = {};
  for (const file of await walk(dir)) {
    const rel = relative(dir, file).split(sep).join('/');
    const id = rel.split('/')[0]!;
    if (options.only && !options.only.includes(id)) continue;
    entries[`${root}/${rel}`] = await readFile(file, 'utf8');
  }
  return buildCourse(sourcesFromEntries(entries, root));
}
