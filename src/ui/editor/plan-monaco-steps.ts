/**
 * Plans the steps of monaco-loader.ts (build side, run in Node): for each step in the loader, the Monaco
 * modules its import evaluates that the steps before it did not, and, where they add more than the budget,
 * modules to import before it so that no step adds more. Sizes are of Monaco's ESM source (comments
 * included), which is what a step's evaluation time follows: on a busy 2-core machine ~0.3 ms per KB.
 *
 *   npx tsx src/ui/editor/plan-monaco-steps.ts [budget KB]
 *
 * prints the plan; its `new` lines go into the loader by hand. plan-monaco-steps.test.ts checks that the
 * loader needs none.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, parse } from 'es-module-lexer';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const MONACO = path.join(ROOT, 'node_modules/monaco-editor/esm/vs/');
const LOADER = path.join(ROOT, 'src/ui/editor/monaco-loader.ts');
export const DEFAULT_BUDGET_KB = 250;

export interface PlannedStep {
  /** The module to import, as the loader names it (`monaco-editor/<module>`). */
  module: string;
  /** Source bytes its import evaluates that earlier steps did not. */
  bytes: number;
  /** Not in the loader yet: to import just before the next step that is. */
  isNew: boolean;
}

/** The loader's steps, split where one adds more than `budgetKb` of source. */
export async function planMonacoSteps(budgetKb = DEFAULT_BUDGET_KB, loaderSource = readFileSync(LOADER, 'utf8')): Promise<PlannedStep[]> {
  await init;
  const budget = budgetKb * 1024;
  // A split-off step smaller than this is not worth a task of its own (each import costs ~5–10 ms).
  const smallest = budget / 6;
  const steps = [...loaderSource.matchAll(/import\('monaco-editor\/([^']+)'\)/g)].map((m) => m[1]);

  const importsOf = new Map<string, string[]>();
  /** The modules `file` imports statically (what evaluating it evaluates first), in its order. */
  const staticImports = (file: string): string[] => {
    let found = importsOf.get(file);
    if (!found) {
      const [imports] = parse(readFileSync(file, 'utf8'));
      found = imports
        .filter((i) => i.d === -1 && i.n?.startsWith('.') && !i.n.endsWith('.css'))
        .map((i) => path.resolve(path.dirname(file), i.n!));
      importsOf.set(file, found);
    }
    return found;
  };
  const evaluated = new Set<string>();
  /** What importing `file` would evaluate now, in evaluation order. */
  const adds = (file: string): string[] => {
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
  };
  const bytes = (files: string[]) => files.reduce((total, f) => total + statSync(f).size, 0);
  const name = (file: string) => path.relative(MONACO, file).replace(/\.js$/, '');

  const plan: PlannedStep[] = [];
  for (const step of steps) {
    const file = path.join(MONACO, `${step}.js`);
    for (let added = adds(file); bytes(added) > budget; added = adds(file)) {
      // The module of this step's graph whose own import adds the most while staying within the budget.
      let best: { file: string; size: number } | null = null;
      for (const candidate of added) {
        const size = bytes(adds(candidate));
        if (candidate !== file && size <= budget && size > (best?.size ?? smallest)) best = { file: candidate, size };
      }
      if (!best) break;
      plan.push({ module: name(best.file), bytes: best.size, isNew: true });
      adds(best.file).forEach((f) => evaluated.add(f));
    }
    const added = adds(file);
    plan.push({ module: step, bytes: bytes(added), isNew: false });
    added.forEach((f) => evaluated.add(f));
  }
  return plan;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const budgetKb = Number(process.argv[2] ?? DEFAULT_BUDGET_KB);
  for (const step of await planMonacoSteps(budgetKb)) {
    console.log(`  () => import('monaco-editor/${step.module}'),  // ${step.isNew ? 'new: ' : ''}+${Math.round(step.bytes / 1024)} KB`);
  }
}
