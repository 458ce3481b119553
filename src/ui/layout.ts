/**
 * How the app is laid out: which panels show, whether files can be edited, the colour theme. The main
 * app uses `DEFAULT_LAYOUT`; the embed page (src/embed/) passes its own from URL parameters.
 */
import type { WorkspaceFile } from './workspace/files.ts';

export type PanelName = 'editor' | 'layers' | 'terminal';

export interface AppLayout {
  /** Editor = file tree + Monaco; layers = the layer view; terminal = the bottom panel (terminal, build log, images, containers). */
  panels: Record<PanelName, boolean>;
  /** The learner cannot change files (the host page still can, through the embed API). */
  readOnly: boolean;
  theme: 'light' | 'dark';
  /** Inside an iframe on someone else's page: tighter chrome, never a full-window layout. */
  embedded: boolean;
  /** When set, the top bar shows "Reset", which puts these files back. */
  resetFiles: WorkspaceFile[] | null;
}

export const DEFAULT_LAYOUT: AppLayout = {
  panels: { editor: true, layers: true, terminal: true },
  readOnly: false,
  theme: 'light',
  embedded: false,
  resetFiles: null,
};

export function resolveLayout(layout: Partial<AppLayout> = {}): AppLayout {
  return { ...DEFAULT_LAYOUT, ...layout, panels: { ...DEFAULT_LAYOUT.panels, ...layout.panels } };
}
