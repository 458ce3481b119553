/**
 * Published ports on the host, for the Node CLI's daemon: for each port a running container publishes
 * (`-p 127.0.0.1:8080:8000`), a TCP listener on this machine whose connections are relayed into the VM
 * (Engine.connectPort → the agent's tcp-* ops). Kept in step with the engine's change feed, as dockerd
 * opens and closes its port listeners when containers start and stop.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { ChangeEvent, ContainerView, PortBinding } from '../engine/api.ts';
import type { PortConnection } from '../engine/network/tcp.ts';

export interface PortSource {
  ps(options?: { all?: boolean }): Promise<ContainerView[]>;
  subscribe(listener: (event: ChangeEvent) => void): () => void;
  connectPort(target: { port: number }): Promise<PortConnection>;
}

export interface PublishedPortsOptions {
  /**
   * Where `-p 8080:8000` (no address, Docker's 0.0.0.0) listens. Default 127.0.0.1: a learner's container
   * is not offered to the whole network unless they ask for an address explicitly.
   */
  defaultAddress?: string;
  /** A listener could not be opened (port taken on the host…): reported, the container keeps running. */
  onError?: (message: string) => void;
}

export class PublishedPorts {
  #engine: PortSource;
  #options: PublishedPortsOptions;
  #servers = new Map<string, Server>();
  #unsubscribe: () => void;
  #syncing: Promise<void> = Promise.resolve();

  private constructor(engine: PortSource, options: PublishedPortsOptions) {
    this.#engine = engine;
    this.#options = options;
    this.#unsubscribe = engine.subscribe((event) => {
      if (event.type === 'container') void this.sync();
    });
  }

  static async start(engine: PortSource, options: PublishedPortsOptions = {}): Promise<PublishedPorts> {
    const ports = new PublishedPorts(engine, options);
    await ports.sync();
    return ports;
  }

  /** The listeners now open: `127.0.0.1:8080`. */
  get listening(): string[] {
    return [...this.#servers.keys()].sort();
  }

  /** Opens listeners for new bindings and closes those of stopped containers. */
  sync(): Promise<void> {
    this.#syncing = this.#syncing.then(() => this.#sync()).catch((error: Error) => this.#options.onError?.(error.message));
    return this.#syncing;
  }

  async close(): Promise<void> {
    this.#unsubscribe();
    await this.#syncing;
    await Promise.all([...this.#servers.values()].map((server) => closeServer(server)));
    this.#servers.clear();
  }

  async #sync(): Promise<void> {
    const wanted = new Map<string, PortBinding>();
    for (const view of await this.#engine.ps()) {
      for (const binding of view.ports) wanted.set(this.#key(binding), binding);
    }
    for (const [key, server] of this.#servers) {
      if (!wanted.has(key)) {
        this.#servers.delete(key);
        await closeServer(server);
      }
    }
    for (const [key, binding] of wanted) {
      if (this.#servers.has(key)) continue;
      try {
        this.#servers.set(key, await this.#listen(binding));
      } catch (error) {
        this.#options.onError?.(`cannot listen on ${key} for the published port ${binding.hostPort}->${binding.containerPort}/tcp: ${(error as Error).message}`);
      }
    }
  }

  #key(binding: PortBinding): string {
    const address = binding.hostIp === '0.0.0.0' ? (this.#options.defaultAddress ?? '127.0.0.1') : binding.hostIp;
    return `${address}:${binding.hostPort}`;
  }

  #listen(binding: PortBinding): Promise<Server> {
    const [address] = this.#key(binding).split(/:(?=\d+$)/);
    const server = createServer((socket) => void this.#relay(socket, binding.hostPort));
    // Closing a listener also ends its open connections, as when Docker stops a container.
    const sockets = new Set<Socket>();
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    server.on('close', () => sockets.forEach((socket) => socket.destroy()));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(binding.hostPort, address, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  /** One host connection ↔ one connection inside the VM, with backpressure both ways. */
  async #relay(socket: Socket, port: number): Promise<void> {
    let connection: PortConnection;
    socket.pause();
    try {
      connection = await this.#engine.connectPort({ port });
    } catch {
      socket.destroy();
      return;
    }
    connection.onData((bytes) => socket.write(bytes));
    connection.onEnd(() => socket.end());
    socket.on('data', (chunk: Buffer) => {
      socket.pause();
      connection.write(new Uint8Array(chunk)).then(
        () => socket.resume(),
        () => socket.destroy(),
      );
    });
    socket.on('end', () => void connection.end().catch(() => {}));
    socket.on('close', () => connection.close());
    socket.on('error', () => connection.close());
    socket.resume();
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.emit('close');
  });
}
