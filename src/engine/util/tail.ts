/**
 * Keeps the end of a stream of output, within a fixed budget, and counts what it dropped. Output of
 * a container or a build step can be endless (`yes`, `seq 3000000`); whoever shows or checks it keeps the
 * tail and says how much came before.
 */

/** The last `maxChars` characters of a text stream. */
export class TextTail {
  #chunks: string[] = [];
  #length = 0;
  #dropped = 0;
  constructor(readonly maxChars: number) {}

  append(text: string): void {
    this.#chunks.push(text);
    this.#length += text.length;
    // Trim in batches, so appending stays linear in the output's size.
    if (this.#length > this.maxChars * 2) this.#trim();
  }

  /** Characters dropped from the front so far. */
  get dropped(): number {
    if (this.#length > this.maxChars) this.#trim();
    return this.#dropped;
  }

  /** The kept text, preceded by a note when something was dropped. */
  toString(): string {
    const text = this.text();
    return this.#dropped ? `[… ${this.#dropped} earlier characters not shown]\n${text}` : text;
  }

  /** The kept text only. */
  text(): string {
    this.#trim();
    return this.#chunks.join('');
  }

  #trim(): void {
    let all = this.#chunks.join('');
    if (all.length > this.maxChars) {
      this.#dropped += all.length - this.maxChars;
      all = all.slice(all.length - this.maxChars);
    }
    this.#chunks = [all];
    this.#length = all.length;
  }
}

/** The last `maxLines` lines of a stream of lines. */
export class LineTail {
  #lines: string[] = [];
  #dropped = 0;
  constructor(readonly maxLines: number) {}

  push(...lines: string[]): void {
    for (const line of lines) this.#lines.push(line);
    if (this.#lines.length > this.maxLines * 2) this.#trim();
  }

  /** Lines dropped from the front so far. */
  get dropped(): number {
    this.#trim();
    return this.#dropped;
  }

  /** The kept lines, preceded by a note line when some were dropped. */
  lines(): string[] {
    this.#trim();
    return this.#dropped ? [`[… ${this.#dropped} earlier lines not shown]`, ...this.#lines] : [...this.#lines];
  }

  #trim(): void {
    const extra = this.#lines.length - this.maxLines;
    if (extra > 0) {
      this.#lines.splice(0, extra);
      this.#dropped += extra;
    }
  }
}
