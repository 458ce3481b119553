/**
 * The build side of monaco-loader.ts, which imports Monaco in steps (each evaluating only what the earlier
 * ones did not). Two things for the built app:
 * - each step's new Monaco modules go in one chunk of their own. Left to itself the bundler makes one chunk
 *   per combination of steps that share a module: ~160 small files, each fetched when its step starts.
 * - the loader gets the list of the files its steps need (`__MONACO_STEP_CHUNKS__`), so it can ask for them
 *   all at once instead of one network round trip per step.
 */
import type { Plugin, Rolldown } from 'vite';

const LOADER = /[\\/]src[\\/]ui[\\/]editor[\\/]monaco-loader\.ts$/;
const MONACO = /[\\/]node_modules[\\/]monaco-editor[\\/]/;
const GRAMMAR = /[\\/]monaco-editor[\\/]esm[\\/]vs[\\/]languages[\\/]definitions[\\/]/;

type ModuleInfoOf = (id: string) => Rolldown.ModuleInfo | null;

/** Monaco module id → the index of the first step (in the loader's import order) whose import evaluates it. */
function firstStepOfModules(getModuleInfo: ModuleInfoOf, loaderId: string): Map<string, number> {
  const steps = getModuleInfo(loaderId)?.dynamicallyImportedIds ?? [];
  const firstStep = new Map<string, number>();
  steps.forEach((stepId, step) => {
    const pending = [stepId];
    while (pending.length) {
      const id = pending.pop()!;
      if (firstStep.has(id)) continue;
      firstStep.set(id, step);
      pending.push(...(getModuleInfo(id)?.importedIds ?? []));
    }
  });
  return firstStep;
}

export function monacoSteps(): Plugin {
  let loaderId: string | null = null;
  let firstStep: Map<string, number> | null = null;
  return {
    name: 'layerlab-monaco-steps',
    apply: 'build',
    buildStart() {
      loaderId = null;
      firstStep = null;
    },
    transform(_code, id) {
      if (LOADER.test(id)) loaderId = id;
      return null;
    },
    outputOptions(options) {
      const splitting = typeof options.codeSplitting === 'object' ? options.codeSplitting : {};
      const stepGroup: Rolldown.CodeSplittingGroup = {
        debugName: 'monaco-steps',
        name(id, ctx) {
          if (!MONACO.test(id) || !loaderId) return null;
          firstStep ??= firstStepOfModules((m) => ctx.getModuleInfo(m), loaderId);
          const step = firstStep.get(id);
          return step === undefined ? null : `monaco-${String(step).padStart(2, '0')}`;
        },
      };
      // A step's chunk takes in what its modules import; Vite's preload helper, which the page uses too, must
      // stay in a chunk of its own or the page would load that step's chunk with itself.
      const preloadHelper: Rolldown.CodeSplittingGroup = { name: 'preload-helper', test: /vite[\\/]preload-helper/, priority: 1 };
      return { ...options, codeSplitting: { ...splitting, groups: [...(splitting.groups ?? []), preloadHelper, stepGroup] } };
    },
    generateBundle(_options, bundle) {
      if (!loaderId) return;
      const chunks = Object.values(bundle).filter((file): file is Rolldown.OutputChunk => file.type === 'chunk');
      const byName = new Map(chunks.map((chunk) => [chunk.fileName, chunk]));
      const chunkOf = new Map(chunks.flatMap((chunk) => chunk.moduleIds.map((id) => [id, chunk] as const)));
      const loader = chunkOf.get(loaderId);
      if (!loader) return;
      // What the page has loaded with the loader's chunk, then what the steps add.
      const loaded = new Set<string>();
      const load = (fileName: string) => {
        if (loaded.has(fileName)) return;
        loaded.add(fileName);
        byName.get(fileName)?.imports.forEach(load);
      };
      load(loader.fileName);
      for (const fileName of loaded) {
        if (/(^|\/)monaco-\d+-/.test(fileName)) this.warn(`${fileName}, a Monaco step, is loaded with the page: check the chunk groups`);
      }
      const needed = new Set<string>();
      const visit = (fileName: string) => {
        if (loaded.has(fileName) || needed.has(fileName)) return;
        const chunk = byName.get(fileName);
        if (!chunk) return;
        needed.add(fileName);
        for (const css of chunk.viteMetadata?.importedCss ?? []) needed.add(css);
        chunk.imports.forEach(visit);
        // A registered language loads its grammar when a file of it is first shown: that file is open at once.
        chunk.dynamicImports.filter((target) => byName.get(target)?.moduleIds.every((id) => GRAMMAR.test(id))).forEach(visit);
      };
      for (const step of this.getModuleInfo(loaderId)?.dynamicallyImportedIds ?? []) {
        const chunk = chunkOf.get(step);
        if (chunk) visit(chunk.fileName);
      }
      // Chunk and asset files sit in one folder: the loader finds them next to itself.
      const list = JSON.stringify([...needed].map((file) => './' + file.slice(file.lastIndexOf('/') + 1)));
      loader.code = loader.code.replaceAll('__MONACO_STEP_CHUNKS__', list);
    },
  };
}
