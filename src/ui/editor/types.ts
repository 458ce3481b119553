/** Editor contract without Monaco types, so state and the app never import Monaco. */

export type BuildLineStatus = 'cached' | 'rebuilt' | 'failed' | 'config';

/** A build result drawn on one Dockerfile line. */
export interface BuildDecoration {
  /** 1-based line. */
  line: number;
  status: BuildLineStatus;
  /** Bytes the step's layer added; omit for config-only steps. */
  size?: number;
  /** Markdown shown on hover, e.g. "Rebuilt because `hello.sh` changed (line 3)". */
  why?: string;
}

export type LintSeverity = 'error' | 'warning' | 'info' | 'hint';

/** A marker on a line: build errors, teaching lints ("deleting in a later RUN does not shrink the image"). */
export interface LintMarker {
  /** 1-based line. */
  line: number;
  severity: LintSeverity;
  message: string;
  /** Optional 1-based columns; the whole line when absent. */
  startColumn?: number;
  endColumn?: number;
  /** Who says so, e.g. `layerlab` or `build`. */
  source?: string;
}
