/**
 * Work done while the learner is idle (the engine's warm-up), never while they wait: each step starts only
 * once nothing the learner started is in flight and they have neither started nor typed anything for a
 * quiet spell, and a step still running when they do is interrupted.
 */
import { sleep } from './containers/record.ts';

/** How long the learner must have neither started nor typed anything before an idle step begins. */
const QUIET_MS = 1500;

export class IdleTime {
  #active = 0;
  /** When the learner last typed or their last piece of work ended (ms since the epoch); 0: never. */
  #lastActive = 0;
  #interrupt: (() => void) | null = null;
  #quietMs: number;

  constructor(options: { quietMs?: number } = {}) {
    this.#quietMs = options.quietMs ?? QUIET_MS;
  }

  /** The learner's work: interrupts the idle step in progress, and idle steps wait until it has ended. */
  async busy<T>(work: () => Promise<T>): Promise<T> {
    const end = this.begin();
    try {
      return await work();
    } finally {
      end();
    }
  }

  /** The learner typed (at the VM's terminal): a command may follow, so idle work gives way. */
  touch(): void {
    this.#lastActive = Date.now();
    this.#interrupt?.();
  }

  /** Like `busy`, for work that ends elsewhere (an interactive session): call the result when it ends. */
  begin(): () => void {
    this.#active++;
    this.#interrupt?.();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#active--;
      this.#lastActive = Date.now();
    };
  }

  /**
   * Runs `work` once the learner has been idle for the quiet spell (at once before they did anything). If
   * they start or type something meanwhile, `interrupt` is called (once) to cut the step short. Resolves
   * true when the step ran to its end uninterrupted.
   */
  async step(work: () => Promise<void>, interrupt: () => void = () => {}): Promise<boolean> {
    while (this.#active > 0 || Date.now() - this.#lastActive < this.#quietMs) await sleep(250);
    let interrupted = false;
    this.#interrupt = () => {
      if (interrupted) return;
      interrupted = true;
      interrupt();
    };
    try {
      await work();
    } finally {
      this.#interrupt = null;
    }
    return !interrupted;
  }
}
