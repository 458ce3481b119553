/**
 * Everything Monaco, loaded lazily by Editor.svelte through monaco-loader.ts, which loads Monaco's core, its
 * features and the languages first, in steps, then sets it up with `prepareMonaco` (also in steps).
 * The Dockerfile language comes from `dockerfile-language-service`: its completion, hover, signature
 * help, folding and validator are wired into Monaco providers here; highlighting is Monaco's Monarch
 * grammar for Dockerfiles.
 */
import '../../engine/util/buffer-shim.ts';
import * as monaco from 'monaco-editor/editor/editor.api';
import EditorWorker from 'monaco-editor/editor/editor.worker?worker';
import { DockerfileLanguageServiceFactory } from 'dockerfile-language-service';
import { DockerfileParser } from 'dockerfile-ast';
import type * as lsp from 'vscode-languageserver-types';
import type { BuildDecoration, LintMarker, LintSeverity } from './types.ts';
import { formatBytes } from '../layers/tree.ts';
import { CODE_FONT_FAMILY } from '../fonts/fonts.ts';
import { StandaloneServices } from 'monaco-editor/editor/standalone/browser/standaloneServices';
import { getSingletonServiceDescriptors } from 'monaco-editor/platform/instantiation/common/extensions';
import { FontMeasurements } from 'monaco-editor/editor/browser/config/fontMeasurements';
import { createBareFontInfoFromRawSettings } from 'monaco-editor/editor/common/config/fontInfoFromSettings';
import { PixelRatio } from 'monaco-editor/base/browser/pixelRatio';

(self as unknown as { MonacoEnvironment: monaco.Environment }).MonacoEnvironment = {
  getWorker: () => new EditorWorker(),
};

/** The editor's colours in one theme: Dockerfile tokens, then the editor's own parts. */
interface EditorPalette {
  keyword: string;
  comment: string;
  string: string;
  variable: string;
  background: string;
  lineHighlight: string;
  lineNumber: string;
  activeLineNumber: string;
  gutter: string;
}

function defineTheme(name: string, base: monaco.editor.BuiltinTheme, palette: EditorPalette): void {
  monaco.editor.defineTheme(name, {
    base,
    inherit: true,
    rules: [
      { token: 'keyword', foreground: palette.keyword, fontStyle: 'bold' },
      { token: 'comment', foreground: palette.comment, fontStyle: 'italic' },
      { token: 'string', foreground: palette.string },
      { token: 'variable', foreground: palette.variable },
    ],
    colors: {
      'editor.background': palette.background,
      'editor.lineHighlightBackground': palette.lineHighlight,
      'editorLineNumber.foreground': palette.lineNumber,
      'editorLineNumber.activeForeground': palette.activeLineNumber,
      'editorGutter.background': palette.gutter,
    },
  });
}

/** The app's two themes, light and dark. */
function defineThemes(): void {
  defineTheme('layerlab-light', 'vs', {
    keyword: '2f55b8', comment: '7c8594', string: '1d7a55', variable: 'a35b00',
    background: '#ffffff', lineHighlight: '#f4f6fb', lineNumber: '#a4abb8', activeLineNumber: '#4a5568', gutter: '#fbfcfe',
  });
  defineTheme('layerlab-dark', 'vs-dark', {
    keyword: '8fb0ff', comment: '7d8799', string: '7fd1a4', variable: 'f0b36a',
    background: '#171b24', lineHighlight: '#1f2430', lineNumber: '#586175', activeLineNumber: '#aab3c5', gutter: '#171b24',
  });
}

export const service = DockerfileLanguageServiceFactory.createLanguageService();
service.setCapabilities({
  completion: { completionItem: { snippetSupport: true, documentationFormat: ['markdown', 'plaintext'], deprecatedSupport: true } },
  hover: { contentFormat: ['markdown', 'plaintext'] },
  foldingRange: { lineFoldingOnly: true },
});

const toPosition = (p: monaco.IPosition): lsp.Position => ({ line: p.lineNumber - 1, character: p.column - 1 });
const toRange = (r: lsp.Range): monaco.IRange => ({
  startLineNumber: r.start.line + 1,
  startColumn: r.start.character + 1,
  endLineNumber: r.end.line + 1,
  endColumn: r.end.character + 1,
});
const toMarkdown = (doc: string | lsp.MarkupContent | undefined): string | monaco.IMarkdownString | undefined =>
  doc === undefined ? undefined : typeof doc === 'string' ? doc : doc.kind === 'markdown' ? { value: doc.value } : doc.value;

// LSP CompletionItemKind (1-based) → Monaco's enum, for the kinds the service produces.
const kinds = monaco.languages.CompletionItemKind;
const KIND: Record<number, monaco.languages.CompletionItemKind> = {
  1: kinds.Text, 2: kinds.Method, 3: kinds.Function, 6: kinds.Variable, 10: kinds.Property, 12: kinds.Value,
  14: kinds.Keyword, 15: kinds.Snippet, 17: kinds.File, 21: kinds.Constant,
};

function convertCompletion(item: lsp.CompletionItem, fallback: monaco.IRange): monaco.languages.CompletionItem {
  const edit = item.textEdit;
  const range = edit && 'range' in edit ? toRange(edit.range) : edit && 'insert' in edit ? toRange(edit.insert) : fallback;
  return {
    label: item.label,
    kind: KIND[item.kind ?? 1] ?? kinds.Text,
    detail: item.detail,
    documentation: toMarkdown(item.documentation),
    insertText: edit?.newText ?? item.insertText ?? item.label,
    insertTextRules: item.insertTextFormat === 2 ? monaco.languages.CompletionItemInsertTextRule.InsertAsSnippet : undefined,
    range,
    sortText: item.sortText,
    filterText: item.filterText,
    tags: item.deprecated ? [monaco.languages.CompletionItemTag.Deprecated] : undefined,
  };
}

/** Comment toggling for Dockerfiles, and `.dockerignore` / `.gitignore` highlighting. */
function registerLanguageExtras(): void {
  monaco.languages.setLanguageConfiguration('dockerfile', { comments: { lineComment: '#' } });
  monaco.languages.register({ id: 'ignore', filenames: ['.dockerignore', '.gitignore'] });
  monaco.languages.setMonarchTokensProvider('ignore', {
    tokenizer: { root: [[/#.*$/, 'comment'], [/^!.*$/, 'keyword'], [/[*?]/, 'variable']] },
  });
  monaco.languages.setLanguageConfiguration('ignore', { comments: { lineComment: '#' } });
}

/** The Dockerfile language service's completion, hover, signature help and folding as Monaco providers. */
function registerDockerfileProviders(): void {
  monaco.languages.registerCompletionItemProvider('dockerfile', {
    triggerCharacters: [' ', '-', '=', '$', '{', '\\'],
    async provideCompletionItems(model, position) {
      const word = model.getWordUntilPosition(position);
      const fallback = { startLineNumber: position.lineNumber, endLineNumber: position.lineNumber, startColumn: word.startColumn, endColumn: word.endColumn };
      const items = await service.computeCompletionItems(model.getValue(), toPosition(position));
      return { suggestions: items.map((i) => convertCompletion(service.resolveCompletionItem(i), fallback)) };
    },
  });
  monaco.languages.registerHoverProvider('dockerfile', {
    provideHover(model, position) {
      const hover = service.computeHover(model.getValue(), toPosition(position));
      if (!hover) return null;
      const c = hover.contents;
      const contents = (Array.isArray(c) ? c : [c]).map((x) =>
        typeof x === 'string' ? { value: x } : 'kind' in x ? { value: x.value } : { value: '```' + x.language + '\n' + x.value + '\n```' },
      );
      return { contents, range: hover.range ? toRange(hover.range) : undefined };
    },
  });
  monaco.languages.registerSignatureHelpProvider('dockerfile', {
    signatureHelpTriggerCharacters: [' ', '='],
    provideSignatureHelp(model, position) {
      const help = service.computeSignatureHelp(model.getValue(), toPosition(position));
      if (!help || help.signatures.length === 0) return null;
      return {
        value: {
          activeSignature: help.activeSignature ?? 0,
          activeParameter: help.activeParameter ?? 0,
          signatures: help.signatures.map((s) => ({
            label: s.label,
            documentation: toMarkdown(s.documentation),
            parameters: (s.parameters ?? []).map((p) => ({ label: p.label, documentation: toMarkdown(p.documentation) })),
          })),
        },
        dispose() {},
      };
    },
  });
  monaco.languages.registerFoldingRangeProvider('dockerfile', {
    provideFoldingRanges(model) {
      return service.computeFoldingRanges(model.getValue()).map((r) => ({ start: r.startLine + 1, end: r.endLine + 1 }));
    },
  });
}

/** The editor's font, measured ahead of the first editor by `prepareMonaco`. */
const EDITOR_FONT = { fontFamily: CODE_FONT_FAMILY, fontSize: 13.5, lineHeight: 21 };

/** Longest run of service creation in one task before `prepareMonaco` lets the page have the main thread. */
const SLICE_MS = 8;

let prepared: Promise<void> | null = null;

/**
 * Monaco's one-time setup, in steps each in a task of its own (`nextTask` between them), so that creating
 * the first editor is not one long task: its services (created on first use: otherwise all at once with the
 * first editor), the themes (generating a theme's CSS is a step of its own, `theme` first), the languages'
 * extras, the Dockerfile providers, and the measurement of the editor's font (DOM reads that force a layout).
 */
export function prepareMonaco(nextTask: () => Promise<void>, theme: 'light' | 'dark' = 'light'): Promise<void> {
  prepared ??= (async () => {
    StandaloneServices.initialize({});
    await nextTask();
    let sliceStart = performance.now();
    for (const [id] of getSingletonServiceDescriptors()) {
      try {
        StandaloneServices.get(id);
      } catch {
        // Left for the editor to create (and report) if it needs it.
      }
      if (performance.now() - sliceStart > SLICE_MS) {
        await nextTask();
        sliceStart = performance.now();
      }
    }
    const steps = [
      defineThemes,
      () => monaco.editor.setTheme(theme === 'dark' ? 'layerlab-dark' : 'layerlab-light'),
      registerLanguageExtras,
      registerDockerfileProviders,
      () => FontMeasurements.readFontInfo(window, createBareFontInfoFromRawSettings(EDITOR_FONT, PixelRatio.getInstance(window).value)),
    ];
    for (const step of steps) {
      await nextTask();
      step();
    }
  })();
  return prepared;
}

const SEVERITY: Record<LintSeverity, monaco.MarkerSeverity> = {
  error: monaco.MarkerSeverity.Error,
  warning: monaco.MarkerSeverity.Warning,
  info: monaco.MarkerSeverity.Info,
  hint: monaco.MarkerSeverity.Hint,
};
/** Editor markers of one owner (the language service's, or Layerlab's lints): severity, message, where. */
function setMarkers<T extends { severity: LintSeverity; message: string; line: number }>(
  model: monaco.editor.ITextModel,
  owner: string,
  items: T[],
  extent: (item: T) => { source: string; endLineNumber: number; startColumn: number; endColumn: number },
): void {
  monaco.editor.setModelMarkers(
    model,
    owner,
    items.map((item) => ({ severity: SEVERITY[item.severity], message: item.message, startLineNumber: item.line, ...extent(item) })),
  );
}

const LSP_SEVERITY: Record<number, LintSeverity> = { 1: 'error', 2: 'warning', 3: 'info', 4: 'hint' };

/** The language service's diagnostics for a Dockerfile, in the editor-neutral shape. */
export function validateDockerfile(text: string): (LintMarker & { endLine: number })[] {
  return service.validate(text).map((d) => ({
    line: d.range.start.line + 1,
    endLine: d.range.end.line + 1,
    startColumn: d.range.start.character + 1,
    endColumn: d.range.end.character + 1,
    severity: LSP_SEVERITY[d.severity ?? 1],
    message: d.message,
    source: 'dockerfile',
  }));
}

/** Start line (1-based) of the instruction covering `line`, so continuation lines map to their step. */
export function instructionLineAt(text: string, line: number): number | null {
  for (const ins of DockerfileParser.parse(text).getInstructions()) {
    const r = ins.getRange();
    if (line - 1 >= r.start.line && line - 1 <= r.end.line) return r.start.line + 1;
  }
  return null;
}

export interface EditorEvents {
  /** Text changed in the model of `path` (by the learner). */
  change(path: string, text: string): void;
  /** Mouse over a Dockerfile instruction (its first line), or null. */
  hoverLine(line: number | null): void;
  /** Click on a Dockerfile instruction. */
  clickLine(line: number): void;
  /** Diagnostics changed (count per severity), for the status bar. */
  diagnostics(counts: { errors: number; warnings: number }): void;
}

const uriOf = (path: string) => monaco.Uri.from({ scheme: 'inmemory', authority: 'workspace', path: '/' + path });

/**
 * One Monaco editor showing one workspace file at a time (one model per file, so undo history and
 * scroll position survive switching files).
 */
export class EditorController {
  readonly editor: monaco.editor.IStandaloneCodeEditor;
  #path = '';
  #events: EditorEvents;
  #buildDecos: monaco.editor.IEditorDecorationsCollection;
  #highlightDecos: monaco.editor.IEditorDecorationsCollection;
  #lints: LintMarker[] = [];
  #validateTimer: ReturnType<typeof setTimeout> | null = null;
  #disposables: monaco.IDisposable[] = [];
  #viewStates = new Map<string, monaco.editor.ICodeEditorViewState | null>();

  /** Light or dark (Monaco's theme is global: every editor on the page switches). */
  setTheme(theme: 'light' | 'dark'): void {
    monaco.editor.setTheme(theme === 'dark' ? 'layerlab-dark' : 'layerlab-light');
  }

  /** `dimension`: the element's size if known (clientWidth/clientHeight), so Monaco need not read it at once. */
  constructor(element: HTMLElement, events: EditorEvents, options: { readOnly?: boolean; theme?: 'light' | 'dark'; dimension?: monaco.editor.IDimension } = {}) {
    this.#events = events;
    this.editor = monaco.editor.create(element, {
      // No model yet: `show` gives the file's, in a task of its own (Editor.svelte). Without this Monaco
      // makes an empty model and builds the view for it, and the view again for the file's.
      model: null,
      theme: options.theme === 'dark' ? 'layerlab-dark' : 'layerlab-light',
      readOnly: options.readOnly ?? false,
      readOnlyMessage: { value: 'This example is read-only.' },
      automaticLayout: true,
      dimension: options.dimension,
      ...EDITOR_FONT,
      minimap: { enabled: false },
      glyphMargin: true,
      scrollBeyondLastLine: false,
      renderLineHighlight: 'line',
      padding: { top: 10 },
      tabSize: 2,
      fixedOverflowWidgets: true,
      hover: { delay: 250 },
      'semanticHighlighting.enabled': false,
    });
    this.#buildDecos = this.editor.createDecorationsCollection();
    this.#highlightDecos = this.editor.createDecorationsCollection();
    this.#disposables.push(
      this.editor.onDidChangeModelContent(() => {
        const model = this.editor.getModel();
        if (!model) return;
        this.#events.change(this.#path, model.getValue());
        if (this.#buildSource) this.#applyBuildDecorations();
        if (model.getLanguageId() === 'dockerfile') this.#scheduleValidate();
      }),
      this.editor.onMouseMove((e) => this.#events.hoverLine(this.#instructionLine(e.target.position?.lineNumber))),
      this.editor.onMouseLeave(() => this.#events.hoverLine(null)),
      this.editor.onMouseDown((e) => {
        const line = this.#instructionLine(e.target.position?.lineNumber);
        if (line && e.target.type !== monaco.editor.MouseTargetType.CONTENT_WIDGET) this.#events.clickLine(line);
      }),
    );
  }

  #instructionLine(line: number | undefined): number | null {
    const model = this.editor.getModel();
    if (!line || !model || model.getLanguageId() !== 'dockerfile') return null;
    return instructionLineAt(model.getValue(), line);
  }

  get path(): string {
    return this.#path;
  }

  /** The model of `path`, made with `text` if there is none yet (`show` then finds it: making it is a step of its own). */
  model(path: string, text: string, language: string): monaco.editor.ITextModel {
    return monaco.editor.getModel(uriOf(path)) ?? monaco.editor.createModel(text, language, uriOf(path));
  }

  /** Show `path` with `text`; creates its model on first use and keeps it in sync with `text`. */
  show(path: string, text: string, language: string): void {
    const uri = uriOf(path);
    let model = monaco.editor.getModel(uri);
    if (!model) model = this.model(path, text, language);
    else if (model.getValue() !== text) model.pushEditOperations([], [{ range: model.getFullModelRange(), text }], () => null);
    if (this.#path !== path) {
      if (this.#path) this.#viewStates.set(this.#path, this.editor.saveViewState());
      this.#path = path;
      this.editor.setModel(model);
      const state = this.#viewStates.get(path);
      if (state) this.editor.restoreViewState(state);
      this.#applyBuildDecorations();
      // A newly shown file is checked in a task of its own: the service's first run (~40–70 ms on a busy
      // machine) would otherwise add to the task that shows the editor's first view of it.
      if (language === 'dockerfile') this.#scheduleValidate(0);
    } else if (language === 'dockerfile') this.#validate();
  }

  /** Drop models of files that no longer exist (deleted or renamed). */
  retain(paths: string[]): void {
    const keep = new Set(paths.map((p) => uriOf(p).toString()));
    for (const model of monaco.editor.getModels()) {
      if (model.uri.authority === 'workspace' && !keep.has(model.uri.toString()) && model !== this.editor.getModel()) model.dispose();
    }
  }

  #pendingBuild: BuildDecoration[] = [];
  #buildSource: { path: string; text: string } | null = null;

  /**
   * Per-line build results. They belong to one build of one text (`source`): shown only while the editor
   * shows that file with that text, so an edit, a replaced file or another workspace clears them (and an
   * undo back to the built text brings them back).
   */
  setBuildDecorations(decorations: BuildDecoration[], source: { path: string; text: string } | null = null): void {
    this.#pendingBuild = decorations;
    this.#buildSource = source;
    this.#applyBuildDecorations();
  }

  #applyBuildDecorations(): void {
    const model = this.editor.getModel();
    const source = this.#buildSource;
    const current = !source || (source.path === this.#path && model?.getValue() === source.text);
    if (!model || model.getLanguageId() !== 'dockerfile' || !current) {
      this.#buildDecos.clear();
      return;
    }
    const label: Record<BuildDecoration['status'], string> = { cached: 'cached', rebuilt: 'rebuilt', failed: 'failed', config: 'config only' };
    this.#buildDecos.set(
      this.#pendingBuild
        .filter((d) => d.line >= 1 && d.line <= model.getLineCount())
        .map((d) => {
          const size = d.size !== undefined && d.status !== 'failed' ? ` · ${d.status === 'cached' ? '' : '+'}${formatBytes(d.size)}` : '';
          const hover = [`**${label[d.status]}**${size}`, d.why].filter(Boolean).join('\n\n');
          return {
            range: new monaco.Range(d.line, 1, d.line, model.getLineMaxColumn(d.line)),
            options: {
              isWholeLine: true,
              className: `ll-line-${d.status}`,
              glyphMarginClassName: `ll-glyph ll-glyph-${d.status}`,
              glyphMarginHoverMessage: { value: hover },
              hoverMessage: d.why ? { value: hover } : undefined,
              after: { content: `   ${label[d.status]}${size}`, inlineClassName: `ll-after ll-after-${d.status}` },
            },
          };
        }),
    );
  }

  setLints(lints: LintMarker[]): void {
    this.#lints = lints;
    this.#validate();
  }

  /** Scroll to a line and flash it; `line` null clears the highlight. */
  highlight(line: number | null, options: { reveal?: boolean; focus?: boolean } = {}): void {
    const model = this.editor.getModel();
    if (!line || !model || line > model.getLineCount()) {
      this.#highlightDecos.clear();
      return;
    }
    this.#highlightDecos.set([
      { range: new monaco.Range(line, 1, line, 1), options: { isWholeLine: true, className: 'll-line-highlight', linesDecorationsClassName: 'll-line-highlight-bar' } },
    ]);
    if (options.reveal) {
      this.editor.revealLineInCenterIfOutsideViewport(line, monaco.editor.ScrollType.Smooth);
      this.editor.setPosition({ lineNumber: line, column: model.getLineFirstNonWhitespaceColumn(line) || 1 });
    }
    if (options.focus) this.editor.focus();
  }

  #scheduleValidate(delayMs = 150): void {
    if (this.#validateTimer) clearTimeout(this.#validateTimer);
    this.#validateTimer = setTimeout(() => this.#validate(), delayMs);
  }

  #validate(): void {
    const model = this.editor.getModel();
    if (!model || model.getLanguageId() !== 'dockerfile') {
      this.#events.diagnostics({ errors: 0, warnings: 0 });
      return;
    }
    const found = validateDockerfile(model.getValue());
    setMarkers(model, 'dockerfile', found, (d) => ({ source: 'Dockerfile', endLineNumber: d.endLine, startColumn: d.startColumn ?? 1, endColumn: d.endColumn ?? model.getLineMaxColumn(d.endLine) }));
    const lints = this.#lints.filter((l) => l.line >= 1 && l.line <= model.getLineCount());
    setMarkers(model, 'layerlab', lints, (l) => ({
      source: l.source ?? 'Layerlab',
      endLineNumber: l.line,
      startColumn: l.startColumn ?? model.getLineFirstNonWhitespaceColumn(l.line) ?? 1,
      endColumn: l.endColumn ?? model.getLineMaxColumn(l.line),
    }));
    const all = [...found, ...lints];
    this.#events.diagnostics({
      errors: all.filter((d) => d.severity === 'error').length,
      warnings: all.filter((d) => d.severity === 'warning').length,
    });
  }

  dispose(): void {
    if (this.#validateTimer) clearTimeout(this.#validateTimer);
    for (const d of this.#disposables) d.dispose();
    this.editor.dispose();
  }
}
