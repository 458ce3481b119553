/**
 * Starting the daemon worker (daemon-worker.ts: the VM and the engine). The app's page starts it before its
 * UI code is even evaluated (main.ts imports `startDaemonEarly` first and calls it at once), so the VM's
 * restore begins while the page sets up; createBrowserBackend then takes that worker.
 */
import * as Comlink from 'comlink';
import type { DaemonWorkerApi } from './daemon-worker.ts';

export interface StartedDaemon {
  worker: Worker;
  daemon: Comlink.Remote<DaemonWorkerApi>;
  assetsUrl: string;
}

/** A new daemon worker, already restoring the VM from the assets at `assetsUrl`. */
function startDaemon(assetsUrl: string): StartedDaemon {
  const worker = new Worker(new URL('./daemon-worker.ts', import.meta.url), { type: 'module', name: 'layerlab-daemon' });
  const daemon = Comlink.wrap<DaemonWorkerApi>(worker);
  // The VM starts restoring at once (the daemon's boot picks it up).
  void daemon.prefetch(assetsUrl);
  return { worker, daemon, assetsUrl };
}

/** The VM assets' URL for a page: `assetsUrl` (default `vm/` next to the page), made absolute. */
export function vmAssetsUrl(assetsUrl = 'vm/'): string {
  return new URL(assetsUrl, location.href).href;
}

let early: StartedDaemon | null = null;

/** Starts the daemon for a backend that will be created later with these assets. */
export function startDaemonEarly(assetsUrl: string): void {
  early ??= startDaemon(assetsUrl);
}

/** The daemon started early for these assets (once), or a new one. */
export function takeDaemon(assetsUrl: string): StartedDaemon {
  const found = early;
  early = null;
  if (found?.assetsUrl === assetsUrl) return found;
  found?.worker.terminate();
  return startDaemon(assetsUrl);
}
