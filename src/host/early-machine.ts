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

let early: { assetsUrl: string; machine: Promise<Machine>; progress: ProgressRelay } | null = null;

/** Starts restoring the VM from the assets at `assetsUrl`; its progress goes to `takeEarlyMachine`'s listener. */
export function prefetchMachine(assetsUrl: string): void {
  prefetchBrowserMachine(assetsUrl);
  const progress = new ProgressRelay();
  const machine = startBrowserMachine({ assetsUrl: new URL(assetsUrl, self.location.href).href, onProgress: (p) => progress.report(p) });
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
  return startBrowserMachine({ assetsUrl: new URL(assetsUrl, self.location.href).href, onProgress });
}
