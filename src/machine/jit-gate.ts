/**
 * When v86 may compile guest code to WebAssembly. v86 compiles a page of guest code once 200 000 of its
 * instructions have been interpreted, and the browser then compiles each such module again on background
 * threads (and once more, optimized, when it runs hot). A container start runs a lot of code a few
 * thousand instructions at a time (crun, the kernel's namespace and mount paths), so for the first dozen
 * `docker run`s after a restore every run compiled 5–15 pages, and that compile work cost more than it
 * saved: on a 2-core machine, in Chromium, a run took 0.7–1.4 s with compiling on and 0.4–0.5 s with it
 * off, and the compiled code caught up only after 15–25 runs. A long computation (a loop, a build step that
 * compresses or compiles) is the opposite: 3–5× faster compiled, repaid within seconds.
 *
 * So compiling is on only while the guest has kept its CPU busy for a while: the share of time it ran,
 * averaged over a few seconds, reaches `openAt`, and it goes off when that share falls below `closeAt`. Code already compiled keeps running either way (v86's switch only
 * stops new compiles). A hold (the engine's warm-up) keeps it off whatever the guest does; a force (the
 * warm-up's hidden container starts in the learner's idle time, which compile exactly the code their own
 * starts run) keeps it on, and outranks a hold.
 */

export interface JitGateOptions {
  /** Time constant of the busy-share average, ms. */
  averageMs: number;
  /** Compiling goes on when the busy share reaches this. */
  openAt: number;
  /** ...and off again when it falls below this. */
  closeAt: number;
}

/**
 * Open after ~6 s of uninterrupted work (2 s × ln 20). Commands back to back with 0.3 s between them (the
 * prompt, the next one typed) average b/(b + 0.3) or so: runs of 2 s stay below 0.95, runs of 3 s open it.
 */
export const JIT_GATE_DEFAULTS: JitGateOptions = { averageMs: 2000, openAt: 0.95, closeAt: 0.5 };

export class JitGate {
  #setCompiling: (on: boolean) => void;
  #options: JitGateOptions;
  /** Busy share (0–1), averaged exponentially over `averageMs`, as of `#at`. */
  #share = 0;
  #at: number | null = null;
  #open = false;
  #holds = 0;
  #forces = 0;

  /** `setCompiling` switches v86's compiler; it is switched off here at once. */
  constructor(setCompiling: (on: boolean) => void, options: JitGateOptions = JIT_GATE_DEFAULTS) {
    this.#setCompiling = setCompiling;
    this.#options = options;
    setCompiling(false);
  }

  /** Whether v86 may compile now. */
  get open(): boolean {
    return this.#open;
  }

  /** The guest ran from `start` to `end` (ms, one clock); since the previous call's end it did not. */
  ran(start: number, end: number): void {
    this.#advance(start, 0);
    this.#advance(end, 1);
    this.#decide();
  }

  /** Keeps compiling off until the result is called (holds nest). */
  hold(): () => void {
    this.#holds++;
    this.#decide();
    return this.#releaser(() => this.#holds--);
  }

  /** Keeps compiling on until the result is called (forces nest, and outrank holds). */
  force(): () => void {
    this.#forces++;
    this.#decide();
    return this.#releaser(() => {
      this.#forces--;
      // The forced work kept the guest busy, but it was hidden work, not the learner's: it does not open
      // the gate for what they run next.
      this.#share = 0;
    });
  }

  /** A release function that undoes a hold or force once, however often it is called. */
  #releaser(undo: () => void): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      undo();
      this.#decide();
    };
  }

  /** Moves the average to `now`, the guest having been busy (1) or not (0) since the last point. */
  #advance(now: number, busy: 0 | 1): void {
    if (this.#at !== null && now > this.#at) {
      this.#share = busy + (this.#share - busy) * Math.exp(-(now - this.#at) / this.#options.averageMs);
    }
    if (this.#at === null || now > this.#at) this.#at = now;
  }

  #decide(): void {
    const open =
      this.#forces > 0 || (this.#holds === 0 && (this.#open ? this.#share >= this.#options.closeAt : this.#share >= this.#options.openAt));
    if (open === this.#open) return;
    this.#open = open;
    this.#setCompiling(open);
  }
}
