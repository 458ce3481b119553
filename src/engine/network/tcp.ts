/**
 * TCP connections into the guest (vm/agent/PROTOCOL.md, `tcp-connect`/`tcp-send`/`tcp-close`): how a
 * published port is reached from outside the VM. The agent opens the connection inside the guest and
 * relays bytes over the control channel, so no network device is needed between host and guest.
 */
import type { Guest } from '../guest.ts';
import { fromBase64, toBase64 } from '../util/base64.ts';

/** A duplex byte stream to a port inside the guest. */
export interface PortConnection {
  /** Sends bytes; resolves when the agent took them (so awaiting each write keeps memory bounded). */
  write(bytes: Uint8Array): Promise<void>;
  /** No more bytes from this side (TCP half-close); the other side can still answer. */
  end(): Promise<void>;
  /** Closes both directions at once. */
  close(): void;
  /** Bytes from the guest side, in order. Data that came before a listener was set is delivered to it. */
  onData(listener: (bytes: Uint8Array) => void): void;
  /** The guest side closed (or failed, with its error). Called once. */
  onEnd(listener: (error?: string) => void): void;
}

const SEND_CHUNK = 48 * 1024;

/** Routes the agent's tcp-data / tcp-end events to their connections. One per guest. */
export class TcpRelay {
  #guest: Guest;
  #connections = new Map<number, Connection>();

  constructor(guest: Guest) {
    this.#guest = guest;
    guest.onEvent((event) => {
      if (event.event !== 'tcp-data' && event.event !== 'tcp-end') return;
      const connection = this.#connections.get(Number(event.conn));
      if (!connection) return;
      if (event.event === 'tcp-data') connection.receive(fromBase64(String(event.data ?? '')));
      else {
        this.#connections.delete(connection.id);
        connection.finish(typeof event.error === 'string' ? event.error : undefined);
      }
    });
  }

  async connect(ip: string, port: number): Promise<PortConnection> {
    const { conn } = await this.#guest.request('tcp-connect', { ip, port });
    const connection = new Connection(conn, this.#guest, () => this.#connections.delete(conn));
    this.#connections.set(conn, connection);
    return connection;
  }
}

class Connection implements PortConnection {
  #queue: Uint8Array[] = [];
  #ended: { error?: string } | null = null;
  #dataListener: ((bytes: Uint8Array) => void) | null = null;
  #endListener: ((error?: string) => void) | null = null;
  #closed = false;

  constructor(
    readonly id: number,
    private guest: Guest,
    private forget: () => void,
  ) {}

  receive(bytes: Uint8Array): void {
    if (this.#dataListener) this.#dataListener(bytes);
    else this.#queue.push(bytes);
  }

  finish(error?: string): void {
    this.#ended = { error };
    if (this.#endListener && !this.#queue.length) this.#endListener(error);
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#closed) throw new Error('write on a closed connection');
    for (let offset = 0; offset < bytes.length; offset += SEND_CHUNK) {
      await this.guest.request('tcp-send', { conn: this.id, data: toBase64(bytes.subarray(offset, offset + SEND_CHUNK)) });
    }
  }

  async end(): Promise<void> {
    if (this.#closed) return;
    await this.guest.request('tcp-close', { conn: this.id, how: 'write' });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.forget();
    void this.guest.request('tcp-close', { conn: this.id, how: 'both' }).catch(() => {});
  }

  onData(listener: (bytes: Uint8Array) => void): void {
    this.#dataListener = listener;
    for (const bytes of this.#queue.splice(0)) listener(bytes);
    if (this.#ended && this.#endListener) this.#endListener(this.#ended.error);
  }

  onEnd(listener: (error?: string) => void): void {
    this.#endListener = listener;
    if (this.#ended && !this.#queue.length) listener(this.#ended.error);
  }
}
