/**
 * What the editor shows beyond the text: build results per line, lint markers, the highlighted line.
 * Plain state (no Monaco), so the app and the layer view can drive it before Monaco has loaded.
 */
import type { BuildDecoration, LintMarker } from './types.ts';

export class EditorState {
  decorations = $state.raw<BuildDecoration[]>([]);
  /** The file and text the decorations were built from: they show only while the editor shows that text. */
  decorationsSource = $state.raw<{ path: string; text: string } | null>(null);
  lints = $state.raw<LintMarker[]>([]);
  /** Line highlighted from elsewhere (layer hover/selection, build log). */
  highlightLine = $state<number | null>(null);
  /** Bumped to ask the editor to scroll to `highlightLine` and focus it. */
  revealSeq = $state(0);
  /** Instruction line under the mouse in the editor (drives the layer view's hover). */
  hoverLine = $state<number | null>(null);
  diagnostics = $state({ errors: 0, warnings: 0 });
  /** Loading progress of the lazy editor bundle. */
  loading = $state<{ step: string; value: number } | null>({ step: 'Loading editor', value: 0 });
  loadError = $state<string | null>(null);

  setBuildDecorations(decorations: BuildDecoration[], source: { path: string; text: string } | null = null): void {
    this.decorations = decorations;
    this.decorationsSource = source;
  }

  setLints(lints: LintMarker[]): void {
    this.lints = lints;
  }

  /** Scroll to a Dockerfile line and highlight it. */
  revealLine(line: number): void {
    this.highlightLine = line;
    this.revealSeq++;
  }
}
