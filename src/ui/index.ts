/**
 * Entry for the app UI. The lead calls `mountApp` with a real `Backend`; src/main.ts uses the fake
 * until then.
 */
import { mount, unmount } from 'svelte';
import App from './App.svelte';
import { AppState } from './app.svelte.ts';
import type { Backend } from './backend.ts';
import { openWorkspaceStore, type WorkspaceStore } from './persist/store.ts';
import './theme.css';

export type { Backend, BuildRequest, BuildResult, EngineView } from './backend.ts';
export type { BootProgress } from './boot/boot.ts';
export { BootError } from './boot/boot.ts';
export type { BuildDecoration, LintMarker } from './editor/types.ts';
export type { ImageVM, LayerVM, FileNodeVM, WritableLayerVM } from './layers/model.ts';
export type { Actions, BuildLogVM, BuildStepVM, ContainerRowVM, ImageRowVM } from './panels/types.ts';
export type { TerminalPort, TerminalBridge } from './terminal/port.ts';
export type { WorkspaceFile } from './workspace/files.ts';
export { AppState };

export interface MountOptions {
  backend: Backend;
  /** Defaults to IndexedDB (falling back to localStorage, then memory). */
  store?: WorkspaceStore;
}

export async function mountApp(target: HTMLElement, options: MountOptions): Promise<{ app: AppState; destroy(): void }> {
  const app = new AppState(options.backend);
  const store = options.store ?? (await openWorkspaceStore());
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
