import { GuestError, GuestTimeoutError, type RequestOptions } from '../engine/guest';
import { concatBytes } from '../engine/util/bytes.ts';
import { fromBase64 } from '../engine/util/base64';

export { fromBase64, toBase64 } from '../engine/util/base64';

/** A byte pipe to the agent: the VM's virtio console, or a child process's stdio in tests. */
export interface ByteChannel {
  send(bytes: Uint8Array): void;
  onBytes(listener: (bytes: Uint8Array) => void): () => void;
}

export type AgentEvent = { event: string; [key: string]: unknown };

interface Pending {
  op: string;
  resolve: (value: Record<string, unknown>) => void;
  reject: (error: Error) => void;
  onStream?: RequestOptions['onStream'];
  cleanup: () => void;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The host side of vm/agent/PROTOCOL.md: newline-delimited JSON with request ids, several requests in
 * flight, stream events routed to the request that asked, unsolicited events to listeners.
 */
export class AgentClient {
  #channel: ByteChannel;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #eventListeners = new Set<(event: AgentEvent) => void>();
  /** The pieces of the line not yet ended by a newline. */
  #partial: Uint8Array[] = [];
  #decoder = new TextDecoder();
  #encoder = new TextEncoder();
  #unsubscribe: () => void;

  constructor(channel: ByteChannel) {
    this.#channel = channel;
    this.#unsubscribe = channel.onBytes((bytes) => this.#receive(bytes));
  }

  request<T = Record<string, unknown>>(
    op: string,
    params: Record<string, unknown> = {},
    options: RequestOptions = {},
  ): Promise<T> {
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise<T>((resolve, reject) => {
      if (options.signal?.aborted) return reject(abortError(op));
      const timer = setTimeout(() => fail(new GuestTimeoutError(op, timeoutMs)), timeoutMs);
      const onAbort = () => fail(abortError(op));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.#pending.delete(id);
      };
      const fail = (error: Error) => {
        cleanup();
        reject(error);
      };
      this.#pending.set(id, {
        op,
        resolve: (value) => resolve(value as T),
        reject,
        onStream: options.onStream,
        cleanup,
      });
      this.#channel.send(this.#encoder.encode(JSON.stringify({ ...params, id, op }) + '\n'));
    });
  }

  /** Sends a notification: a message without an id, which the agent never answers. */
  notify(op: string, params: Record<string, unknown> = {}): void {
    this.#channel.send(this.#encoder.encode(JSON.stringify({ ...params, op }) + '\n'));
  }

  /** Waits for the agent's `ready` event (sent when it starts, and in answer to `hello`). */
  waitReady(timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new GuestTimeoutError('ready', timeoutMs));
      }, timeoutMs);
      const off = this.onEvent((event) => {
        if (event.event === 'ready') {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    });
  }

  onEvent(listener: (event: AgentEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  /** Fails every request in flight, e.g. when the VM is gone. */
  failAll(reason: string): void {
    for (const pending of [...this.#pending.values()]) {
      pending.cleanup();
      pending.reject(new GuestError(pending.op, reason));
    }
  }

  close(): void {
    this.#unsubscribe();
    this.failAll('the VM was shut down');
  }

  /**
   * Splits the byte stream into lines. Only the new bytes are scanned, and the pieces of a line are
   * joined once, when its newline arrives: a long message in many small chunks costs linear time.
   */
  #receive(bytes: Uint8Array): void {
    let start = 0;
    for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, start)) {
      const piece = bytes.subarray(start, i);
      const line = this.#partial.length ? concatBytes([...this.#partial, piece]) : piece;
      this.#partial = [];
      this.#dispatch(this.#decoder.decode(line));
      start = i + 1;
    }
    // Keep a copy: the caller may reuse its buffer.
    if (start < bytes.length) this.#partial.push(bytes.slice(start));
  }

  #dispatch(line: string): void {
    if (!line.trim()) return;
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line);
    } catch {
      // A garbled line (e.g. kernel noise on the console) must not take the channel down.
      return;
    }
    if (typeof message.event === 'string' && message.id === undefined) {
      for (const listener of [...this.#eventListeners]) listener(message as AgentEvent);
      return;
    }
    const pending = typeof message.id === 'number' ? this.#pending.get(message.id) : undefined;
    if (!pending) return;
    if (typeof message.stream === 'string') {
      pending.onStream?.(message.stream as 'stdout' | 'stderr', fromBase64(String(message.data ?? '')));
      return;
    }
    pending.cleanup();
    if (message.ok === true) {
      const { id: _id, ok: _ok, ...result } = message;
      pending.resolve(result);
    } else {
      pending.reject(new GuestError(pending.op, String(message.error ?? 'failed without a message')));
    }
  }
}

function abortError(op: string): Error {
  const error = new Error(`guest ${op}: aborted`);
  error.name = 'AbortError';
  return error;
}
