/**
 * Plans the steps of src/ui/editor/monaco-loader.ts: for each step in the loader, the Monaco modules its
 * import evaluates that the steps before it did not, and, where they add more than the budget, modules to
 * import before it so that no step adds more. Prints the list; copying its new lines into the loader is by
 * hand. Sizes are of Monaco's ESM source (comments included), which is what a step's evaluation time
 * follows: on a busy 2-core machine ~0.3 ms per KB.
 *
 *   npx tsx scripts/plan-monaco-steps.ts [budget KB, default 250]
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, parse } from 'es-module-lexer';

const root = fileURLToPath(new URL('..', import.meta.url));
const monaco = path.join(root, 'node_modules/monaco-editor/esm/vs/');
const budget = Number(process.argv[2] ?? 250) * 1024;
/** A split-off step smaller than this is not worth a task of its own. */
const smallest = budget / 6;

await init;
const loader = readFileSync(path.join(root, 'src/ui/editor/monaco-loader.ts'), 'utf8');
const steps = [...loader.matchAll(/import\('monaco-editor\/([^']+)'\)/g)].map((m) => m[1]);

const importsOf = new Map<string, string[]>();
/** The modules `file` imports statically (what evaluating it evaluates first), in its order. */
function staticImports(file: string): string[] {
  let found = importsOf.get(file);
  if (!found) {
    const [imports] = parse(readFileSync(file, 'utf8'));
    found = imports
      .filter((i) => i.d === -1 && i.n?.startsWith('.') && !i.n.endsWith('.css'))
      .map((i) => path.resolve(path.dirname(file), i.n!));
    importsOf.set(file, found);
  }
  return found;
}

const evaluated = new Set<string>();
/** What importing `file` would evaluate now, in evaluation order. */
function adds(file: string): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (f: string) => {
    if (seen.has(f) || evaluated.has(f)) return;
    seen.add(f);
    staticImports(f).forEach(visit);
    order.push(f);
  };
  visit(file);
  return order;
}
const bytes = (files: string[]) => files.reduce((total, f) => total + statSync(f).size, 0);
const name = (file: string) => path.relative(monaco, file).replace(/\.js$/, '');
const kb = (n: number) => `${Math.round(n / 1024)} KB`;

for (const step of steps) {
  const file = path.join(monaco, `${step}.js`);
  for (;;) {
    const added = adds(file);
    if (bytes(added) <= budget) break;
    // The module of this step's graph whose own import adds the most while staying within the budget.
    let best: { file: string; size: number } | null = null;
    for (const candidate of added) {
      const size = bytes(adds(candidate));
      if (candidate !== file && size <= budget && size > (best?.size ?? smallest)) best = { file: candidate, size };
    }
    if (!best) break;
    console.log(`  () => import('monaco-editor/${name(best.file)}'),  // new: +${kb(best.size)}`);
    adds(best.file).forEach((f) => evaluated.add(f));
  }
  const added = adds(file);
  console.log(`  () => import('monaco-editor/${step}'),  // +${kb(bytes(added))}`);
  added.forEach((f) => evaluated.add(f));
}
