/**
 * The VM restore the page starts as soon as it creates the daemon worker (`prefetch`), before the daemon's
 * own code has loaded; the daemon's `boot` takes it over (`takeEarlyMachine`).
 */
import { prefetchBrowserMachine, startBrowserMachine } from '../machine/browser.ts';
import type { Machine } from '../machine/machine.ts';

type Progress = { step: string; value: number };

/** Progress reports kept until someone listens: the last one is replayed, later ones are passed on. */
class ProgressRelay {
  #last: Progress | null = null;
  #listener: ((progress: Progress) => void) | null = null;

  report(progress: Progress): void {
    this.#last = progress;
    this.#listener?.(progress);
  }

  listen(listener: (progress: Progress) => void): void {
    this.#listener = listener;
    if (this.#last) listener(this.#last);
  }
}

/**
 * The latest a downloaded snapshot waits before it is decompressed into the browser's cache, for pages that
 * never say they have loaded (`notePageLoaded`): a page without an editor, say.
 */
const STATE_CACHE_LATEST_MS = 15_000;

let pageLoaded: () => void = () => {};
/**
 * Resolves once the page has loaded what it shows (`notePageLoaded`), or STATE_CACHE_LATEST_MS after the
 * first restore began. Filling the snapshot cache waits for it: on a 2-core machine that second of
 * decompressing, beside the VM's worker and the page loading its editor, made the page's tasks longer and
 * the editor later.
 */
let pageLoadedGate: Promise<void> | null = null;
function whenPageLoaded(): Promise<void> {
  pageLoadedGate ??= new Promise<void>((resolve) => {
    pageLoaded = resolve;
    setTimeout(resolve, STATE_CACHE_LATEST_MS);
  });
  return pageLoadedGate;
}

/** The page has loaded what it shows (its editor is up, or failed): background work may take the CPU. */
export function notePageLoaded(): void {
  void whenPageLoaded();
  pageLoaded();
}

/** A restore from the assets at `assetsUrl`, filling the snapshot cache once the page has loaded. */
function startMachine(assetsUrl: string, onProgress: (progress: Progress) => void): Promise<Machine> {
  return startBrowserMachine({ assetsUrl: new URL(assetsUrl, self.location.href).href, onProgress, cacheStateAfter: whenPageLoaded() });
}

let early: { assetsUrl: string; machine: Promise<Machine>; progress: ProgressRelay } | null = null;

/** Starts restoring the VM from the assets at `assetsUrl`; its progress goes to `takeEarlyMachine`'s listener. */
export function prefetchMachine(assetsUrl: string): void {
  prefetchBrowserMachine(assetsUrl);
  const progress = new ProgressRelay();
  const machine = startMachine(assetsUrl, (p) => progress.report(p));
  // Not lost unhandled if boot never comes; boot sees the same rejection.
  machine.catch(() => {});
  early = { assetsUrl, machine, progress };
}

/** The machine `prefetchMachine` started for this URL (once), or a new start. */
export function takeEarlyMachine(assetsUrl: string, onProgress: (progress: Progress) => void): Promise<Machine> {
  const found = early;
  early = null;
  if (found?.assetsUrl === assetsUrl) {
    found.progress.listen(onProgress);
    return found.machine;
  }
  return startMachine(assetsUrl, onProgress);
}
