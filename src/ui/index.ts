/**
 * Entry for the app UI. src/main.ts calls `mountApp` with the real `Backend` (src/host/browser-backend.ts)
 * or, with `?backend=fake`, the fixtures backend (src/ui/fake/).
 */
import { mount, unmount } from 'svelte';
import App from './App.svelte';
import { AppState } from './app.svelte.ts';
import type { Backend } from './backend.ts';
import type { AppLayout } from './layout.ts';
import { openWorkspaceStore, type WorkspaceStore } from './persist/store.ts';
import type { WorkspaceFile } from './workspace/files.ts';
import './theme.css';
import { loadFonts } from './fonts/fonts.ts';

export type { Backend, BuildRequest, BuildOutcome, EngineView } from './backend.ts';
export type { BootProgress } from './boot/boot.ts';
export { BootError } from './boot/boot.ts';
export type { BuildDecoration, LintMarker } from './editor/types.ts';
export type { ImageVM, LayerVM, FileNodeVM, WritableLayerVM } from './layers/model.ts';
export type { Actions, BuildLogVM, BuildStepVM, ContainerRowVM, ImageRowVM } from './panels/types.ts';
export type { TerminalPort, TerminalBridge } from './terminal/port.ts';
export type { WorkspaceFile } from './workspace/files.ts';
export type { AppLayout, PanelName } from './layout.ts';
export { DEFAULT_LAYOUT } from './layout.ts';
export { AppState };

export interface MountOptions {
  backend: Backend;
  /** Defaults to IndexedDB (falling back to localStorage, then memory). */
  store?: WorkspaceStore;
  /** Keeps this app's saved workspace apart from others on the origin (embeds); default: the main app's. Ignored with `store`. */
  storageNamespace?: string;
  /** Panels, read-only, theme; default: the full app. */
  layout?: Partial<AppLayout>;
  /** Files to start with when nothing is saved yet; default: the built-in example. */
  initialFiles?: WorkspaceFile[];
}

export async function mountApp(target: HTMLElement, options: MountOptions): Promise<{ app: AppState; destroy(): void }> {
  const app = new AppState(options.backend, options.layout);
  if (options.initialFiles?.length) app.workspace.replaceDefaults(options.initialFiles);
  // The page's first layout in the bundled fonts: no lookups of installed fonts it would then not use.
  const [store] = await Promise.all([options.store ?? openWorkspaceStore({ namespace: options.storageNamespace }), loadFonts()]);
  const component = mount(App, { target, props: { app } });
  await app.start(store);
  return {
    app,
    destroy() {
      app.destroy();
      void unmount(component);
    },
  };
}
