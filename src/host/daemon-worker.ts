/**
 * The daemon worker's entry (daemon-start.ts starts it). A worker compiles its whole script before it
 * runs any of it, and most of the daemon's is the engine: this entry holds only what restores the VM, so
 * the restore (`prefetch`) starts while the rest (daemon.ts) loads and compiles. Every other call is the
 * daemon's, made once it has loaded.
 */
import * as Comlink from 'comlink';
import { notePageLoaded, prefetchMachine } from './early-machine.ts';
import type { Daemon } from './daemon.ts';

/** What the page calls (Comlink). `pageLoaded`: the page has loaded what it shows (early-machine.ts). */
export type DaemonWorkerApi = Daemon & { prefetch: typeof prefetchMachine; pageLoaded: typeof notePageLoaded };

type Methods = Record<string, (...args: unknown[]) => unknown>;

/**
 * The daemon's code, loaded at the first call for it, or just after `prefetch` has sent its requests (its
 * compiling then fills the wait for them rather than delaying them).
 */
let daemon: Promise<Methods> | null = null;
function loadDaemon(): Promise<Methods> {
  daemon ??= import('./daemon.ts').then(({ Daemon }) => new Daemon() as unknown as Methods);
  return daemon;
}

function prefetch(assetsUrl: string): void {
  prefetchMachine(assetsUrl);
  // A failed load is said by every call that needs the daemon.
  setTimeout(() => loadDaemon().catch(() => {}), 0);
}

const own: Partial<Record<keyof DaemonWorkerApi, unknown>> = { prefetch, pageLoaded: notePageLoaded };

Comlink.expose(
  new Proxy(own, {
    get: (target, method: string) => target[method as keyof DaemonWorkerApi] ?? (async (...args: unknown[]) => (await loadDaemon())[method](...args)),
  }),
);
