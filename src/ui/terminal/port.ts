/**
 * The terminal's contract with the outside, shaped like a terminal's own face: `write` shows output,
 * `onData` gives what the learner types or pastes, `resize` reports the visible size. The app creates one
 * `TerminalBridge` and hands it to `Backend.connectTerminal`; the backend pipes it to the VM's serial
 * console (serial 0). No xterm types leak out of src/ui/terminal/.
 */
export interface TerminalPort {
  /** Show output (from the guest). Accepts raw bytes; UTF-8 is decoded by the terminal. */
  write(data: Uint8Array | string): void;
  /** Keystrokes and pasted text. Returns an unsubscribe function. */
  onData(cb: (data: string) => void): () => void;
  /** The terminal was resized to cols × rows (forward to the guest tty). */
  resize?(cols: number, rows: number): void;
}

/** Shows `data` in the terminal; calls `shown`, when given, once it is drawn on screen. */
export type TerminalSink = (data: Uint8Array | string, shown?: () => void) => void;

/**
 * The app's TerminalPort. Output written before xterm has loaded is buffered (the boot banner is not
 * lost); the Terminal component attaches a sink when ready and feeds keystrokes through `input`.
 */
export class TerminalBridge implements TerminalPort {
  #pending: (Uint8Array | string)[] = [];
  #data = new Set<(data: string) => void>();
  #resize = new Set<(cols: number, rows: number) => void>();
  cols = 80;
  rows = 24;
  #outputShown: (() => void) | undefined;
  /**
   * Resolves once the first output (the shell's prompt) is drawn in the terminal on screen (xterm loaded):
   * work started after it (Monaco's) cannot hold the prompt back.
   */
  readonly firstOutput = new Promise<void>((resolve) => {
    this.#outputShown = () => {
      this.#outputShown = undefined;
      resolve();
    };
  });
  #sink: TerminalSink | null = null;

  write(data: Uint8Array | string): void {
    if (this.#sink) this.#sink(data, this.#outputShown);
    else this.#pending.push(data);
  }

  onData(cb: (data: string) => void): () => void {
    this.#data.add(cb);
    return () => this.#data.delete(cb);
  }

  /** Called by the Terminal component when its panel changes size. */
  resize(cols: number, rows: number): void {
    this.cols = cols;
    this.rows = rows;
    for (const cb of this.#resize) cb(cols, rows);
  }

  /** Size changes, for the backend (`stty rows R cols C` in the guest). Called at once with the current size. */
  onResize(cb: (cols: number, rows: number) => void): () => void {
    this.#resize.add(cb);
    cb(this.cols, this.rows);
    return () => this.#resize.delete(cb);
  }

  /** Component side: the terminal can show output now. Returns a detach function. */
  attach(sink: TerminalSink): () => void {
    this.#sink = sink;
    for (const chunk of this.#pending.splice(0)) sink(chunk, this.#outputShown);
    return () => {
      if (this.#sink === sink) this.#sink = null;
    };
  }

  /** Component side: the learner typed or pasted. */
  input(data: string): void {
    for (const cb of this.#data) cb(data);
  }
}
