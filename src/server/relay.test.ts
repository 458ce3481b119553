import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { DEFAULT_GATEWAY, startLocalRelay } from './relay.ts';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('startLocalRelay', () => {
  it('gives Node a WebSocket whose failed connect is an error event, not an uncaught exception', async () => {
    const relay = await startLocalRelay({ policy: { allow: [], gateway: DEFAULT_GATEWAY } });
    try {
      const Socket = (globalThis as unknown as { WebSocket: typeof WebSocket }).WebSocket;
      const socket = new Socket(`ws://127.0.0.1:${await closedPort()}/wisp/`);
      const events: string[] = [];
      await new Promise<void>((resolve) => {
        socket.onerror = () => void events.push('error');
        socket.onclose = () => (events.push('close'), resolve());
      });
      expect(events).toEqual(['error', 'close']);
      // v86's wisp adapter sets only onclose: that too must end quietly.
      const bare = new Socket(`ws://127.0.0.1:${await closedPort()}/wisp/`);
      await new Promise<void>((resolve) => (bare.onclose = () => resolve()));
    } finally {
      await relay.close();
    }
  });
});
