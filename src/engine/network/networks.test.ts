import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../store/backend.ts';
import type { Guest } from '../guest.ts';
import { DEFAULT_BRIDGE_SETUP, macForIp, Networks, parseCidr, type NetworkMember } from './networks.ts';

/** A guest that records the network tool's invocations and succeeds; `files` are what it can read. */
function fakeGuest(calls: string[][], files: Record<string, string> = {}): Guest {
  return {
    request: (async (op: string, params: Record<string, unknown> = {}) => {
      if (op === 'spawn') calls.push(params.argv as string[]);
      if (op === 'read') {
        const text = files[params.path as string];
        if (text === undefined) throw new Error(`${params.path as string}: No such file or directory`);
        return { data: Buffer.from(text).toString('base64') };
      }
      return { exit: 0 };
    }) as Guest['request'],
    notify: () => {},
    putFile: async () => {},
    getFile: async () => new Uint8Array(),
    onEvent: () => () => {},
  };
}

const member = (over: Partial<NetworkMember>): NetworkMember => ({ id: 'f'.repeat(64), name: 'c', hostname: 'h', running: true, network: 'default', endpoints: {}, ports: [], ...over });

describe('networks', () => {
  it('has the predefined networks, persisted, and creates user networks on free subnets', async () => {
    const backend = new MemoryBackend();
    const networks = await Networks.open({ backend, guest: fakeGuest([]) });
    expect(networks.list().map((n) => [n.name, n.driver, n.subnet ?? ''])).toEqual([
      ['bridge', 'bridge', '172.17.0.0/16'],
      ['host', 'host', ''],
      ['none', 'null', ''],
    ]);
    const app = await networks.create({ name: 'app' });
    expect(app).toMatchObject({ subnet: '172.18.0.0/16', gateway: '172.18.0.1', device: `br-${app.id.slice(0, 12)}` });
    expect((await networks.create({ name: 'db', subnet: '10.9.0.0/24' })).gateway).toBe('10.9.0.1');
    await expect(networks.create({ name: 'app' })).rejects.toThrow('network with name app already exists');
    await expect(networks.create({ name: 'x', subnet: '172.18.5.0/24' })).rejects.toThrow('Pool overlaps');
    await expect(networks.create({ name: 'y', subnet: 'nonsense' })).rejects.toThrow('invalid subnet nonsense');
    await expect(networks.create({ name: 'z', driver: 'overlay' })).rejects.toThrow('plugin "overlay" not found');
    const reopened = await Networks.open({ backend, guest: fakeGuest([]) });
    expect(reopened.find('app').id).toBe(app.id);
    expect(() => reopened.find('nope')).toThrow('network nope not found');
    await expect(reopened.remove('bridge', [])).rejects.toThrow('pre-defined network');
  });

  it('allocates addresses, refuses a network in use, writes /etc/hosts with peers on user networks only', async () => {
    const calls: string[][] = [];
    const networks = await Networks.open({ backend: new MemoryBackend(), guest: fakeGuest(calls) });
    const app = await networks.create({ name: 'app' });
    const bridge = networks.find('bridge');
    const web = member({ id: 'a'.repeat(64), name: 'web', hostname: 'aaaaaaaaaaaa', endpoints: { app: { networkId: app.id, ipAddress: '172.18.0.2', macAddress: macForIp('172.18.0.2'), aliases: ['www'] } } });
    expect(networks.allocateIp(app, [web])).toBe('172.18.0.3');
    expect(networks.allocateIp(bridge, [web])).toBe('172.17.0.2');
    expect(() => networks.allocateIp(app, [web], '172.18.0.2')).toThrow('Address already in use');
    expect(() => networks.allocateIp(app, [web], '10.0.0.2')).toThrow('does not belong');
    const client = member({ id: 'b'.repeat(64), name: 'client', hostname: 'bbbbbbbbbbbb', endpoints: { app: { networkId: app.id, ipAddress: '172.18.0.3', macAddress: '', aliases: [] } } });
    const hosts = networks.hostsFile(client, [web, client]);
    expect(hosts).toContain('172.18.0.3\tbbbbbbbbbbbb\n');
    expect(hosts).toContain(`172.18.0.2\tweb www aaaaaaaaaaaa\n`);
    const onDefault = member({ endpoints: { bridge: { networkId: bridge.id, ipAddress: '172.17.0.2', macAddress: '', aliases: [] } } });
    const other = member({ id: 'c'.repeat(64), name: 'other', endpoints: { bridge: { networkId: bridge.id, ipAddress: '172.17.0.3', macAddress: '', aliases: [] } } });
    expect(networks.hostsFile(onDefault, [onDefault, other])).not.toContain('other');
    await expect(networks.remove('app', [web])).rejects.toThrow('has active endpoints (web)');
    await networks.ensureBridge(app);
    await networks.applyRules([{ ...web, ports: [{ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }]);
    expect(calls).toEqual([
      ['/usr/libexec/layerlab/net', 'bridge', app.device, '172.18.0.1/16'],
      ['/usr/libexec/layerlab/net', 'rules', `bridge:${app.device}:172.18.0.0/16`, 'port:8080:172.18.0.2:80'],
    ]);
    expect(macForIp('172.17.0.2')).toBe('02:42:ac:11:00:02');
    expect(parseCidr('10.1.2.3/8')).toEqual({ base: 10 * 2 ** 24, prefix: 8 });
  });

  it('adopts the bridge and rules the guest has (the snapshot\'s) and rewrites rules only when they change', async () => {
    const calls: string[][] = [];
    // The guest as the VM snapshot leaves it: DEFAULT_BRIDGE_SETUP has run.
    const files = { '/sys/class/net/docker0/flags': '0x1003\n', '/run/layerlab-net.rules': `${DEFAULT_BRIDGE_SETUP[1].slice(2).join('\n')}\n` };
    const networks = await Networks.open({ backend: new MemoryBackend(), guest: fakeGuest(calls, files) });
    const bridge = networks.find('bridge');
    expect(DEFAULT_BRIDGE_SETUP).toEqual([
      ['/usr/libexec/layerlab/net', 'bridge', 'docker0', '172.17.0.1/16'],
      ['/usr/libexec/layerlab/net', 'rules', 'bridge:docker0:172.17.0.0/16'],
    ]);
    await networks.ensureBridge(bridge);
    const web = member({ endpoints: { bridge: { networkId: bridge.id, ipAddress: '172.17.0.2', macAddress: '', aliases: [] } } });
    await networks.applyRules([web]);
    expect(calls).toEqual([]);
    const published = { ...web, ports: [{ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' as const }] };
    await networks.applyRules([published]);
    await networks.applyRules([published]);
    await networks.applyRules([web]);
    expect(calls).toEqual([
      ['/usr/libexec/layerlab/net', 'rules', 'bridge:docker0:172.17.0.0/16', 'port:8080:172.17.0.2:80'],
      ['/usr/libexec/layerlab/net', 'rules', 'bridge:docker0:172.17.0.0/16'],
    ]);
    // A guest without the bridge (a VM booted cold): brought up, and its rule added.
    const cold: string[][] = [];
    const fresh = await Networks.open({ backend: new MemoryBackend(), guest: fakeGuest(cold, { '/sys/class/net/docker0/flags': '0x1002\n' }) });
    await fresh.ensureBridge(fresh.find('bridge'));
    await fresh.applyRules([]);
    expect(cold).toEqual(DEFAULT_BRIDGE_SETUP);
  });
});
