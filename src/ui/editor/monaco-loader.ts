/**
 * Loads Monaco in small steps, each in a task of its own, so the page's main thread is never held for
 * long: Monaco's core is ~2 MB of code, and evaluated in one go it blocked the page for seconds on a busy
 * machine. ES modules evaluate once, so importing a module deep in Monaco's graph first evaluates just
 * what it depends on; the next step evaluates only what it adds.
 *
 * The build puts each step's new modules in a chunk of its own and lists those chunks here
 * (vite-monaco-steps.ts); `loadMonaco` asks for all of them at once, so the steps do not wait for the
 * network one after the other.
 *
 * The steps are modules of Monaco's graph in evaluation order, each adding at most ~250 KB of source (a
 * step's task takes ~0.3 ms per KB on a busy 2-core machine; `view` and `standaloneServices` add more, their
 * graphs being many small modules only they import), `editor.api` last among the core.
 * plan-monaco-steps.ts prints modules to add before any step that adds more. If a Monaco upgrade
 * moves one, the build fails on its import: drop it and plan again. A step too few only makes the next one
 * bigger.
 */

import { afterFrame } from '../frames.ts';

type Step = () => Promise<unknown>;

const CORE: Step[] = [
  () => import('monaco-editor/base/common/observableInternal/index'),
  () => import('monaco-editor/base/common/network'),
  () => import('monaco-editor/base/browser/dom'),
  () => import('monaco-editor/editor/common/diff/defaultLinesDiffComputer/defaultLinesDiffComputer'),
  () => import('monaco-editor/editor/common/services/editorBaseApi'),
  () => import('monaco-editor/editor/common/services/editorWebWorker'),
  () => import('monaco-editor/editor/common/config/editorOptions'),
  () => import('monaco-editor/editor/browser/viewParts/viewLines/viewLine'),
  () => import('monaco-editor/editor/browser/controller/mouseTarget'),
  () => import('monaco-editor/editor/common/cursor/cursorTypeOperations'),
  () => import('monaco-editor/editor/browser/editorExtensions'),
  () => import('monaco-editor/editor/browser/coreCommands'),
  () => import('monaco-editor/editor/browser/viewParts/viewLinesGpu/viewLinesGpu'),
  () => import('monaco-editor/editor/browser/viewParts/minimap/minimap'),
  () => import('monaco-editor/editor/browser/controller/editContext/textArea/textAreaEditContext'),
  () => import('monaco-editor/editor/browser/controller/editContext/native/nativeEditContext'),
  () => import('monaco-editor/editor/browser/controller/pointerHandler'),
  () => import('monaco-editor/editor/browser/view'),
  () => import('monaco-editor/editor/common/model/tokens/tokenizationTextModelPart'),
  () => import('monaco-editor/editor/common/model/bracketPairsTextModelPart/bracketPairsImpl'),
  () => import('monaco-editor/editor/common/model/pieceTreeTextBuffer/pieceTreeTextBufferBuilder'),
  () => import('monaco-editor/editor/common/model/textModel'),
  () => import('monaco-editor/editor/common/viewLayout/viewLayout'),
  () => import('monaco-editor/editor/common/viewModel/viewModelImpl'),
  () => import('monaco-editor/editor/browser/widget/codeEditor/codeEditorWidget'),
  () => import('monaco-editor/base/browser/domSanitize'),
  () => import('monaco-editor/platform/hover/browser/hoverWidget'),
  () => import('monaco-editor/platform/hover/browser/hoverService'),
  () => import('monaco-editor/base/browser/ui/actionbar/actionbar'),
  () => import('monaco-editor/base/browser/ui/tree/abstractTree'),
  () => import('monaco-editor/platform/list/browser/listService'),
  () => import('monaco-editor/platform/quickinput/browser/quickInputList'),
  () => import('monaco-editor/platform/quickinput/browser/quickInputController'),
  () => import('monaco-editor/platform/contextview/browser/contextMenuService'),
  () => import('monaco-editor/platform/undoRedo/common/undoRedoService'),
  () => import('monaco-editor/editor/common/services/languageService'),
  () => import('monaco-editor/editor/common/services/semanticTokensStylingService'),
  () => import('monaco-editor/editor/standalone/browser/standaloneServices'),
  () => import('monaco-editor/editor/browser/widget/diffEditor/components/diffEditorDecorations'),
  () => import('monaco-editor/editor/browser/widget/diffEditor/diffEditorWidget'),
  () => import('monaco-editor/editor/browser/widget/multiDiffEditor/multiDiffEditorWidgetImpl'),
  () => import('monaco-editor/editor/editor.api'),
];

/**
 * The editor features the app uses, instead of `monaco-editor/features/register.all` (which adds every
 * contribution: diff editor, inline completions, quick access, sticky scroll, …: 590 KB more code). Completion,
 * hover, signature help and folding back the Dockerfile language service; markers back the linter; the rest
 * is everyday editing (find, comments, multi-cursor, line moves).
 */
const FEATURES: Step[] = [
  () => import('monaco-editor/features/codicon/register'),
  () => import('monaco-editor/features/bracketMatching/register'),
  // Evaluating it asks `document.queryCommandSupported`, which brings the page's style and layout up to date
  // first (60–130 ms while the page is still settling): right after a frame there is nothing left to do.
  () => import('monaco-editor/editor/contrib/dropOrPasteInto/browser/copyPasteController'),
  () => afterFrame().then(() => import('monaco-editor/features/clipboard/register')),
  () => import('monaco-editor/features/comment/register'),
  () => import('monaco-editor/features/contextmenu/register'),
  () => import('monaco-editor/features/cursorUndo/register'),
  () => import('monaco-editor/features/find/register'),
  () => import('monaco-editor/features/folding/register'),
  () => import('monaco-editor/features/gotoError/register'),
  () => import('monaco-editor/editor/contrib/inlayHints/browser/inlayHintsHover'),
  () => import('monaco-editor/editor/contrib/hover/browser/hoverActions'),
  () => import('monaco-editor/features/hover/register'),
  () => import('monaco-editor/features/indentation/register'),
  () => import('monaco-editor/features/linesOperations/register'),
  () => import('monaco-editor/features/multicursor/register'),
  () => import('monaco-editor/features/parameterHints/register'),
  () => import('monaco-editor/features/readOnlyMessage/register'),
  () => import('monaco-editor/features/snippet/register'),
  () => import('monaco-editor/features/suggest/register'),
  () => import('monaco-editor/features/wordHighlighter/register'),
  () => import('monaco-editor/features/wordOperations/register'),
];

/** The languages the workspace's files get highlighting for (see languageOf in workspace/files.ts). */
const LANGUAGES: Step[] = [
  () => import('monaco-editor/languages/definitions/dockerfile/register'),
  () => import('monaco-editor/languages/definitions/shell/register'),
  () => import('monaco-editor/languages/definitions/python/register'),
  () => import('monaco-editor/languages/definitions/javascript/register'),
  () => import('monaco-editor/languages/definitions/markdown/register'),
  () => import('monaco-editor/languages/definitions/yaml/register'),
];

/** The Dockerfile language service and its parser, which monaco.ts wires into Monaco. */
const LANGUAGE_SERVICE: Step[] = [() => import('dockerfile-ast'), () => import('dockerfile-language-service')];

/** The chunks of the steps, in the built app (filled in by vite-monaco-steps.ts; none in development). */
declare const __MONACO_STEP_CHUNKS__: string[] | undefined;

/** Longest run of preload links added in one task (each costs the page a fetch's start). */
const PRELOAD_SLICE_MS = 8;

/**
 * Starts fetching every step's code and styles; the steps then find them loaded. The ~70 links are added
 * a few at a time, each batch in a task of its own: added at once they held the main thread ~90 ms on a
 * busy machine.
 */
async function preloadSteps(): Promise<void> {
  const files = typeof __MONACO_STEP_CHUNKS__ === 'undefined' ? [] : __MONACO_STEP_CHUNKS__;
  let sliceStart = performance.now();
  for (const file of files) {
    const link = document.createElement('link');
    link.href = new URL(file, import.meta.url).href;
    link.crossOrigin = ''; // as Vite's own loading of the same files asks, or the preload is not reused
    if (file.endsWith('.css')) {
      link.rel = 'preload';
      link.as = 'style';
    } else {
      link.rel = 'modulepreload';
    }
    document.head.append(link);
    if (performance.now() - sliceStart > PRELOAD_SLICE_MS) {
      await nextTask();
      sliceStart = performance.now();
    }
  }
}

/**
 * Lets the page have the main thread between steps: input, rendering and the terminal go first.
 * `scheduler.yield` where there is one (its continuation runs before other queued tasks, so the steps
 * are not starved), else a zero-delay timeout.
 */
export function nextTask(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  if (scheduler?.yield) return scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Loads Monaco, its features, languages and the Dockerfile service, then the app's editor module, and sets
 * Monaco up (`prepareMonaco`) for an editor in `theme`; `progress` gets the fraction done (0..1) as it goes.
 */
export async function loadMonaco(progress: (fraction: number) => void, theme: 'light' | 'dark'): Promise<typeof import('./monaco.ts')> {
  await preloadSteps();
  const steps = [...CORE, ...FEATURES, ...LANGUAGES, ...LANGUAGE_SERVICE];
  for (let i = 0; i < steps.length; i++) {
    await steps[i]();
    progress((i + 1) / (steps.length + 2));
    await nextTask();
  }
  const editor = await import('./monaco.ts');
  progress((steps.length + 1) / (steps.length + 2));
  await nextTask();
  await editor.prepareMonaco(nextTask, theme);
  return editor;
}
