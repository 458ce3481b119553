/**
 * The watchdog: the agent must answer a `hello` every few seconds. After three misses (the guest hung, or
 * v86 threw) the VM is declared hung, and the daemon restarts it from the snapshot.
 */
import type { Machine } from '../machine/machine.ts';

const CHECK_INTERVAL_MS = 5000;
// Generous: the agent answers nothing while it unpacks a big layer (python's takes many seconds under
// emulation on a slow machine), and that is not a hang.
const HELLO_TIMEOUT_MS = 20_000;
const MISSES_BEFORE_RESTART = 3;

export class Watchdog {
  #timer: ReturnType<typeof setTimeout> | null = null;

  /**
   * Watches `machine` for as long as it is `current()`; checks are skipped while `busy()` (a restart is
   * under way), and `hung()` is called once when it stops answering.
   */
  watch(machine: Machine, options: { current: () => Machine | null; busy: () => boolean; hung: () => void }): void {
    if (this.#timer) clearTimeout(this.#timer);
    let misses = 0;
    const check = async () => {
      if (options.current() !== machine) return; // a newer VM has its own watchdog
      if (!options.busy()) {
        const alive = await machine.request('hello', {}, { timeoutMs: HELLO_TIMEOUT_MS }).then(() => true, () => false);
        misses = alive ? 0 : misses + 1;
        if (misses >= MISSES_BEFORE_RESTART) {
          options.hung();
          return;
        }
      }
      this.#timer = setTimeout(check, CHECK_INTERVAL_MS);
    };
    this.#timer = setTimeout(check, CHECK_INTERVAL_MS);
  }
}
