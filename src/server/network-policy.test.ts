import { describe, expect, it } from 'vitest';
import { AllowListError, decideConnection, isPublicAddress, parseAllowList, type NetworkPolicy } from './network-policy.ts';

const policy = (allow = '', extra: Partial<NetworkPolicy> = {}): NetworkPolicy => ({
  allow: parseAllowList(allow),
  gateway: '192.168.86.1',
  ownAddresses: ['34.120.1.77'],
  resolve: async (name) => {
    const table: Record<string, string[]> = {
      'example.org': ['93.184.215.14'],
      'intranet.test': ['10.1.2.3'],
    };
    if (!table[name]) throw new Error('ENOTFOUND');
    return table[name];
  },
  ...extra,
});

describe('parseAllowList', () => {
  it('reads host:port entries, IPv6 in brackets', () => {
    expect(parseAllowList(' 127.0.0.1:8000, host.docker.internal:8080 [::1]:9000')).toEqual([
      { host: '127.0.0.1', port: 8000 },
      { host: 'host.docker.internal', port: 8080 },
      { host: '::1', port: 9000 },
    ]);
    expect(parseAllowList(undefined)).toEqual([]);
  });
  it('names a malformed entry', () => {
    expect(() => parseAllowList('127.0.0.1')).toThrow(AllowListError);
    expect(() => parseAllowList('127.0.0.1:0')).toThrow(/"127.0.0.1:0" is not host:port/);
    expect(() => parseAllowList('a:70000')).toThrow(/a:70000/);
  });
});

describe('isPublicAddress', () => {
  it.each([
    ['93.184.215.14', true],
    ['2606:4700::1111', true],
    ['10.0.0.1', false],
    ['172.16.5.4', false],
    ['192.168.1.1', false],
    ['127.0.0.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['::1', false],
    ['fe80::1', false],
    ['fd00::1', false],
    ['::ffff:10.0.0.1', false],
    ['::ffff:93.184.215.14', true],
    ['not-an-ip', false],
  ])('%s → %s', (address, expected) => expect(isPublicAddress(address)).toBe(expected));
});

describe('decideConnection', () => {
  it('lets public addresses through, to the address that was checked', async () => {
    expect(await decideConnection(policy(), '93.184.215.14', 443)).toEqual({
      ok: true,
      address: '93.184.215.14',
      port: 443,
    });
    expect(await decideConnection(policy(), 'example.org', 80)).toEqual({
      ok: true,
      address: '93.184.215.14',
      port: 80,
    });
  });
  it('refuses private, loopback and link-local destinations, saying how to allow them', async () => {
    expect(await decideConnection(policy(), '10.0.0.5', 80)).toEqual({
      ok: false,
      reason: '10.0.0.5:80 is not a public address; allow it with LAYERLAB_NETWORK_ALLOW=10.0.0.5:80',
    });
    expect((await decideConnection(policy(), '127.0.0.1', 22)).ok).toBe(false);
    expect((await decideConnection(policy(), '169.254.169.254', 80)).ok).toBe(false);
  });
  it('checks the resolved address of a name (a public name resolving to a private address is refused)', async () => {
    expect(await decideConnection(policy(), 'intranet.test', 80)).toEqual({
      ok: false,
      reason: 'intranet.test:80 (10.1.2.3) is not a public address; allow it with LAYERLAB_NETWORK_ALLOW=10.1.2.3:80',
    });
    expect(await decideConnection(policy(), 'nowhere.test', 80)).toEqual({
      ok: false,
      reason: 'nowhere.test: no such host',
    });
  });
  it("refuses the relay's own machine even on a public address", async () => {
    expect(await decideConnection(policy(), '34.120.1.77', 80)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("relay's own machine"),
    });
  });
  it('allows exactly the listed host:port', async () => {
    const p = policy('10.0.0.5:8000');
    expect(await decideConnection(p, '10.0.0.5', 8000)).toEqual({
      ok: true,
      address: '10.0.0.5',
      port: 8000,
    });
    expect((await decideConnection(p, '10.0.0.5', 8001)).ok).toBe(false);
    expect(await decideConnection(policy('intranet.test:80'), 'intranet.test', 80)).toEqual({ ok: true, address: '10.1.2.3', port: 80 });
  });
  it('maps the gateway (host.docker.internal) to this machine, only when allowed', async () => {
    expect(await decideConnection(policy(), '192.168.86.1', 8000)).toEqual({
      ok: false,
      reason:
        'host.docker.internal:8000 (the machine running Layerlab) is not allowed; allow it with LAYERLAB_NETWORK_ALLOW=host.docker.internal:8000',
    });
    for (const allow of ['127.0.0.1:8000', 'host.docker.internal:8000', 'localhost:8000']) {
      expect(await decideConnection(policy(allow), '192.168.86.1', 8000)).toEqual({ ok: true, address: '127.0.0.1', port: 8000 });
    }
    expect((await decideConnection(policy('127.0.0.1:8000'), '192.168.86.1', 8001)).ok).toBe(false);
  });
});
