// The parts of @mercuryworkshop/wisp-js (no bundled types) that src/server/relay.ts uses.
declare module '@mercuryworkshop/wisp-js/server' {
  import type { IncomingMessage } from 'node:http';
  import type { Duplex } from 'node:stream';
  export const server: {
    options: Record<string, unknown>;
    routeRequest(request: IncomingMessage, socket: Duplex, head: Buffer, options?: { TCPSocket?: unknown; UDPSocket?: unknown }): void;
  };
  export const logging: {
    set_level(level: number): void;
    ERROR: number;
    NONE: number;
  };
}
