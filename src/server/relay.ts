/**
 * The VM's way out: a wisp relay (https://github.com/MercuryWorkshop/wisp-protocol, server from
 * @mercuryworkshop/wisp-js) that v86's virtio-net device sends the guest's TCP connections through, plus
 * the guest's DNS (answered here, see src/machine/guest-dns.ts). Every destination passes `decideConnection`
 * (src/server/network-policy.ts) on the resolved address, and the connection goes to that address.
 *
 * Wiring:
 * - `npm run serve` / `npm start`: `createRelayUpgradeHandler()` as an upgrade handler of the Layerlab
 *   server and `createRelayDnsHandler()` as a middleware; the page uses `ws(s)://<origin>/wisp/`.
 * - the Node CLI: `startLocalRelay()` (a listener on 127.0.0.1, in the same process as the VM).
 *
 * Environment: LAYERLAB_NETWORK_ALLOW=host:port,... (non-public destinations an operator allows),
 * LAYERLAB_RELAY=off (no relay: the guest has no way out).
 */
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { server as wisp, logging as wispLogging } from '@mercuryworkshop/wisp-js/server';
import { WebSocket as NodeWebSocket } from 'ws';
import { decideConnection, parseAllowList, type NetworkPolicy } from './network-policy.ts';

export const RELAY_PATH = '/wisp/';
/** v86's virtual router, as the guest sees it (src/machine/machine.ts GUEST_GATEWAY). */
export const DEFAULT_GATEWAY = '192.168.86.1';

export interface RelayOptions {
  policy: NetworkPolicy;
  /** URL path of the WebSocket (must end with `/`). Default `/wisp/`. */
  path?: string;
  /** Told about each refused destination (the CLI prints it; tests assert it). */
  onRefused?: (destination: string, reason: string) => void;
}

/** Relay settings from the environment; null when LAYERLAB_RELAY=off. Throws on a malformed allow-list. */
export function relayOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): RelayOptions | null {
  if (/^(off|none|0|false)$/i.test(env.LAYERLAB_RELAY ?? '')) return null;
  return {
    policy: {
      allow: parseAllowList(env.LAYERLAB_NETWORK_ALLOW),
      gateway: DEFAULT_GATEWAY,
    },
    onRefused: (destination, reason) => console.error(`relay: refused ${destination}: ${reason}`),
  };
}

let wispConfigured = false;
function configureWisp(): void {
  if (wispConfigured) return;
  wispConfigured = true;
  // Destinations are checked by RelaySocket (on resolved addresses, with the gateway mapping), so the
  // library's own filter lets addresses through; UDP is off (the guest's DNS is answered separately).
  Object.assign(wisp.options, {
    allow_private_ips: true,
    allow_loopback_ips: true,
    allow_udp_streams: false,
    wisp_version: 1,
  });
  wispLogging.set_level(wispLogging.ERROR);
}

/** A TCP connection for one wisp stream: checked by the policy, then connected to the decided address. */
function relaySocketClass(options: RelayOptions) {
  return class RelaySocket {
    hostname: string;
    port: number;
    socket: net.Socket | null = null;
    #queue: (Buffer | null)[] = [];
    #waiting: ((data: Buffer | null) => void) | null = null;
    #closed = false;

    constructor(hostname: string, port: number) {
      this.hostname = hostname;
      this.port = port;
    }

    async connect(): Promise<void> {
      const decision = await decideConnection(options.policy, this.hostname, this.port);
      if (!decision.ok) {
        options.onRefused?.(`${this.hostname}:${this.port}`, decision.reason);
        throw new Error(decision.reason);
      }
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect({
          host: decision.address,
          port: decision.port,
        });
        this.socket = socket;
        socket.setNoDelay(true);
        socket.once('connect', () => resolve());
        socket.once('error', (error) => reject(error));
        socket.on('data', (data: Buffer) => {
          this.#push(data);
          if (this.#queue.length > 64) socket.pause();
        });
        socket.on('close', () => this.#push(null));
      });
    }

    #push(data: Buffer | null): void {
      if (this.#closed) return;
      if (data === null) this.#closed = true;
      if (this.#waiting) {
        const waiting = this.#waiting;
        this.#waiting = null;
        waiting(data);
      } else this.#queue.push(data);
    }

    async recv(): Promise<Buffer | null> {
      if (this.#queue.length > 0) {
        const data = this.#queue.shift()!;
        if (this.#queue.length < 16) this.socket?.resume();
        return data;
      }
      if (this.#closed) return null;
      return new Promise((resolve) => (this.#waiting = resolve));
    }

    async send(data: Uint8Array): Promise<void> {
      const socket = this.socket;
      if (!socket || socket.destroyed) return;
      await new Promise<void>((resolve) => socket.write(data, () => resolve()));
    }

    async close(): Promise<void> {
      this.socket?.end();
    }

    pause(): void {}
    resume(): void {}
  };
}

/** Takes WebSocket upgrades on the relay path (for the Layerlab server's `upgradeHandlers`). */
export function createRelayUpgradeHandler(options: RelayOptions): (req: http.IncomingMessage, socket: Duplex, head: Buffer) => boolean {
  configureWisp();
  const path = options.path ?? RELAY_PATH;
  const TCPSocket = relaySocketClass(options);
  return (req, socket, head) => {
    if ((req.url ?? '').split('?')[0] !== path) return false;
    wisp.routeRequest(req, socket, head, { TCPSocket });
    return true;
  };
}

/** Resolves a name for the guest's DNS, on this side (IPv4 addresses; the guest asks for A records). */
export async function resolveForGuest(name: string): Promise<string[]> {
  const { lookup } = await import('node:dns/promises');
  return (await lookup(name, { all: true, family: 4 })).map((a) => a.address);
}

/** `GET <path>dns?name=example.org` → `{"addresses": [...]}` for the page's guest DNS; `GET <path>` → `{"wisp": true}`. */
export function createRelayDnsHandler(
  options: { path?: string } = {},
): (req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => void {
  const path = `${options.path ?? RELAY_PATH}dns`;
  return (req, res, next) => {
    const url = new URL(req.url ?? '/', 'http://relay');
    if (url.pathname === (options.path ?? RELAY_PATH) && req.method === 'GET') {
      // the page's probe: this server has a relay
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ wisp: true }));
      return;
    }
    if (url.pathname !== path) return next();
    const name = url.searchParams.get('name') ?? '';
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
      });
      res.end(JSON.stringify(body));
    };
    if (!/^[a-z0-9.-]{1,253}$/i.test(name)) return reply(400, { error: 'name: expected a host name' });
    resolveForGuest(name).then(
      (addresses) => reply(200, { addresses }),
      () => reply(404, { addresses: [] }),
    );
  };
}

export interface LocalRelay {
  /** `ws://127.0.0.1:PORT/wisp/` */
  url: string;
  resolve(name: string): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * `ws`'s WebSocket as a browser's behaves on a failed connect: an error event, then close. Without a
 * listener, `ws` throws the error instead, and v86's network adapter (which sets no onerror) would
 * turn a relay that has gone (a VM outliving it by a reconnect) into an uncaught exception.
 */
class BrowserLikeWebSocket extends NodeWebSocket {
  constructor(...args: ConstructorParameters<typeof NodeWebSocket>) {
    super(...args);
    this.on('error', () => {});
  }
}

/**
 * A relay on a loopback port of this process, for the VM under Node (the CLI, tests). v86's network
 * adapter needs a global WebSocket; Node 20 has none, so `ws`'s stands in.
 */
export async function startLocalRelay(options: RelayOptions): Promise<LocalRelay> {
  const global = globalThis as { WebSocket?: unknown };
  global.WebSocket ??= BrowserLikeWebSocket;
  const handler = createRelayUpgradeHandler(options);
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const sockets = new Set<Duplex>();
  server.on('upgrade', (req, socket, head) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (!handler(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.unref();
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}${options.path ?? RELAY_PATH}`,
    resolve: resolveForGuest,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
