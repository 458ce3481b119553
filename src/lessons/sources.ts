/**
 * Group a flat map of lesson files (path → text) into one `LessonSource` per lesson folder. Both
 * loaders use it: Node reads the folder into such a map, the browser gets it from `import.meta.glob`.
 */
import type { LessonFile, LessonSource } from './schema.ts';

/**
 * @param entries paths like `lessons/03-copy-on-write/files/Dockerfile` (a leading `/` is fine)
 * @param root the folder that holds the lessons, as it appears in the paths (default `lessons`)
 */
export function sourcesFromEntries(entries: Record<string, string>, root = 'lessons'): LessonSource[] {
  const prefix = root.replace(/^\/+|\/+$/g, '') + '/';
  const byId = new Map<string, LessonSource>();
  const get = (id: string) => {
    let s = byId.get(id);
    if (!s) {
      s = { id, dir: `${prefix}${id}`, markdown: null, solutionScript: null, files: [], solution: [] };
      byId.set(id, s);
    }
    return s;
  };
  for (const [rawPath, content] of Object.entries(entries)) {
    const path = rawPath.replace(/\\/g, '/').replace(/^\/+/, '');
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash < 0) continue; // README.md and other files beside the lesson folders
    const id = rest.slice(0, slash);
    const inner = rest.slice(slash + 1);
    if (id.startsWith('.') || id.startsWith('_')) continue;
    const src = get(id);
    const file = (p: string): LessonFile => ({ path: p, content });
    if (inner === 'lesson.md') src.markdown = content;
    else if (inner === 'solution.sh') src.solutionScript = content;
    else if (inner.startsWith('files/')) src.files.push(file(inner.slice('files/'.length)));
    else if (inner.startsWith('solution/')) src.solution.push(file(inner.slice('solution/'.length)));
  }
  for (const s of byId.values()) {
    s.files.sort((a, b) => a.path.localeCompare(b.path));
    s.solution.sort((a, b) => a.path.localeCompare(b.path));
  }
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}
