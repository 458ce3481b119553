import { describe, expect, it } from 'vitest';
import type { Guest } from '../guest.ts';
import type { Endpoint, NetworkMember, Networks } from '../network/networks.ts';
import type { ContainerRecord } from './record.ts';
import { PREPARED_NETNS_DIR, PreparedNetns } from './prepared-netns.ts';

const BRIDGE = { id: 'n1', name: 'bridge', driver: 'bridge', device: 'docker0', gateway: '172.17.0.1' };

/** A guest that records its requests; `readdir` of the namespaces' folder lists `left`. */
function setUp(options: { left?: string[] } = {}) {
  const requests: string[] = [];
  const members: NetworkMember[] = [];
  const guest = {
    request: async (op: string, params: Record<string, unknown>) => {
      requests.push(op === 'spawn' ? `spawn ${(params.argv as string[]).slice(1).join(' ')}` : `${op} ${String(params.path ?? params.target)}`);
      if (op === 'spawn') return { exit: 0 };
      if (op === 'readdir') return { names: options.left ?? [] };
      return {};
    },
  } as unknown as Guest;
  // The lowest free host address of 172.17.0.0/16, as Networks.allocateIp hands them out.
  const networks = {
    find: () => BRIDGE,
    ensureBridge: async () => {},
    prefix: () => 16,
    allocateIp: (_network: unknown, list: NetworkMember[]) => {
      const used = new Set(list.flatMap((m) => Object.values(m.endpoints).map((e) => e.ipAddress)));
      for (let n = 2; ; n++) if (!used.has(`172.17.0.${n}`)) return `172.17.0.${n}`;
    },
  } as unknown as Networks;
  const prepared = new PreparedNetns({ guest, networks, members: () => members });
  const container = (id: string, ...ips: string[]) => {
    const endpoints: Record<string, Endpoint> = Object.fromEntries(
      ips.map((ip, i) => [i ? `net${i}` : 'bridge', { networkId: i ? `n${i + 1}` : 'n1', ipAddress: ip, macAddress: `02:42:ac:11:00:${ip.split('.')[3]!.padStart(2, '0')}`, aliases: [] }]),
    );
    members.push({ id, name: id, hostname: id, running: false, network: 'bridge', endpoints, ports: [] });
    return { id, endpoints } as unknown as ContainerRecord;
  };
  return { prepared, requests, container, members };
}

describe('network namespaces made ahead', () => {
  it('makes none until the warm-up puts this engine in charge', async () => {
    const { prepared, requests, container } = setUp();
    await prepared.refill();
    expect(requests).toEqual([]);
    expect(await prepared.take(container('a', '172.17.0.2'))).toBeUndefined();
  });

  it("clears other engines' files, makes one for the next address, and gives it to the container with that address", async () => {
    const { prepared, requests, container } = setUp({ left: ['pold1'] });
    await prepared.sweep();
    await prepared.refill();
    expect(requests[0]).toBe(`readdir ${PREPARED_NETNS_DIR}`);
    expect(requests.slice(1, 3)).toEqual([`umount ${PREPARED_NETNS_DIR}/pold1`, `rm ${PREPARED_NETNS_DIR}/pold1`]);
    const made = requests[3]!;
    expect(made).toMatch(new RegExp(`^spawn --new ${PREPARED_NETNS_DIR}/(\\S+) docker0 eth0 172\\.17\\.0\\.2/16 02:42:ac:11:00:02 172\\.17\\.0\\.1$`));
    const path = made.split(' ')[2]!;
    const a = container('a', '172.17.0.2');
    expect(await prepared.take(a)).toBe(path);
    // Taken: the next start with the same address (there is none) gets nothing; refilling makes .3.
    expect(await prepared.take(a)).toBeUndefined();
    await prepared.refill();
    expect(requests.at(-1)).toContain(' 172.17.0.3/16 ');
    // Its exit lets its namespace go.
    await prepared.release('a');
    expect(requests).toContain(`umount ${path}`);
  });

  it('gives up the one made for an address wired another way (network connect, more than one network)', async () => {
    const { prepared, requests, container } = setUp();
    await prepared.sweep();
    await prepared.refill();
    const path = requests.find((r) => r.startsWith('spawn'))!.split(' ')[2]!;
    await prepared.giveUp('n1', '172.17.0.2');
    expect(requests.slice(-2)).toEqual([`umount ${path}`, `rm ${path}`]);

    await prepared.refill();
    const second = requests.at(-1)!.split(' ')[2]!;
    expect(await prepared.take(container('b', '172.17.0.2', '10.0.0.2'))).toBeUndefined();
    expect(requests.slice(-2)).toEqual([`umount ${second}`, `rm ${second}`]);
  });
});
