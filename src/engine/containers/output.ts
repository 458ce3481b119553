/**
 * Containers' output: the kept logs (`docker logs`, bounded), and the listeners that see it as it comes
 * (`docker run` in the foreground, `logs -f`, `attach`).
 */
import { fromBase64 } from '../util/base64.ts';
import type { LogEntry } from '../api.ts';

export type OutputStream = 'stdout' | 'stderr';
export type OutputListener = (stream: OutputStream, text: string) => void;

/** Characters of logs kept per container; older chunks go first. */
const LOG_LIMIT = 256 * 1024;

export class ContainerOutput {
  #logs = new Map<string, LogEntry[]>();
  #listeners = new Map<string, Set<OutputListener>>();
  #decoders = new Map<string, TextDecoder>();

  logs(id: string): LogEntry[] {
    return this.#logs.get(id) ?? [];
  }

  /** Logs saved by an earlier session, or none for a new container. */
  restore(id: string, logs: LogEntry[]): void {
    this.#logs.set(id, logs);
  }

  forget(id: string): void {
    this.#logs.delete(id);
  }

  /** One chunk of a container's output (base64, as the guest sends it): kept, and passed to the listeners. */
  append(id: string, stream: OutputStream, data: string): void {
    const decoder = this.#decoders.get(id + stream) ?? new TextDecoder();
    this.#decoders.set(id + stream, decoder);
    const text = decoder.decode(fromBase64(data), { stream: true });
    const logs = this.#logs.get(id) ?? [];
    logs.push({ stream, text, time: new Date().toISOString() });
    while (logs.reduce((n, c) => n + c.text.length, 0) > LOG_LIMIT) logs.shift();
    this.#logs.set(id, logs);
    for (const listener of this.#listeners.get(id) ?? []) listener(stream, text);
  }

  listen(id: string, listener: OutputListener): () => void {
    const set = this.#listeners.get(id) ?? new Set();
    set.add(listener);
    this.#listeners.set(id, set);
    return () => set.delete(listener);
  }

  /** The process ended: its listeners are done. */
  ended(id: string): void {
    this.#listeners.delete(id);
  }
}
