/**
 * Container networks in the real VM under Node: the default bridge, user-defined networks with name
 * resolution, --network none, published ports reached from the host (the agent's TCP relay) and from
 * inside the VM (localhost), network connect/disconnect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../engine.ts';
import { openNodeEngine } from '../../host/node.ts';
import type { Machine } from '../../machine/machine.ts';
import { runDocker } from '../../client/commands.ts';
import { PublishedPorts } from '../../host/published-ports.ts';
import { NET_TOOL } from './networks.ts';
import { spawnInGuest } from '../guest-spawn.ts';
import { containerDir } from '../containers/record.ts';
import { PREPARED_NETNS_DIR } from '../containers/prepared-netns.ts';

let machine: Machine;
let engine: Engine;

let opened: Awaited<ReturnType<typeof openNodeEngine>>;

beforeAll(async () => {
  opened = await openNodeEngine({ relay: null });
  ({ machine, engine } = opened);
}, 300_000);

afterAll(() => opened?.close());

async function docker(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runDocker({ engine, argv, io: { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) } });
  return { code, stdout, stderr };
}

/** A shell loop that fetches a URL, retrying while the server starts (emulation is slow). */
// (busybox wget's own -T option crashes in this busybox build: `timeout` bounds it instead)
const fetchLoop = (url: string) => `for i in $(seq 60); do timeout 5 wget -q -O - ${url} && exit 0; sleep 0.5; done; exit 1`;

async function untilPublished(port: number) {
  for (let i = 0; ; i++) {
    try {
      return await engine.fetchPort({ port, method: 'GET', path: '/', headers: [] });
    } catch (error) {
      if (i > 60) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** A busybox httpd serving one page on port 8000. */
async function webServer(name: string, extra: string[] = []) {
  const script = `mkdir -p /www && echo "hello from ${name}" > /www/index.html && exec httpd -f -p 8000 -h /www`;
  const started = await docker('run', '-d', '--name', name, ...extra, 'busybox', 'sh', '-c', script);
  expect(started.stderr).toBe('');
  expect(started.code).toBe(0);
}

describe('container networks', () => {
  it('gives a container on the default bridge an address, a route and Docker-like /etc files', async () => {
    // The snapshot has docker0 up with its NAT rules (vm/snapshot.ts): the first container uses them as they are.
    const netToolRuns: string[][] = [];
    let natRules = '';
    const request = machine.request.bind(machine);
    machine.request = ((op, params, options) => {
      if (op === 'spawn' && (params as { argv: string[] }).argv[0] === NET_TOOL) netToolRuns.push((params as { argv: string[] }).argv);
      return request(op, params, options);
    }) as Machine['request'];
    const run = await docker('run', '--rm', '--name', 'probe', '--hostname', 'probe-host', 'busybox', 'sh', '-c', 'ip -o -4 addr show eth0; ip route; cat /etc/hostname; cat /etc/hosts');
    machine.request = request;
    expect(netToolRuns).toEqual([]);
    const nat = await machine.request('spawn', { argv: ['/usr/sbin/nft', 'list', 'chain', 'ip', 'layerlab', 'postrouting'] }, {
      onStream: (_stream, data) => (natRules += new TextDecoder().decode(data)),
    });
    expect(nat.exit).toBe(0);
    expect(natRules).toContain('ip saddr 172.17.0.0/16 oifname != "docker0" masquerade');
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/eth0\s+inet 172\.17\.0\.\d+\/16/);
    expect(run.stdout).toMatch(/default via 172\.17\.0\.1 dev eth0/);
    expect(run.stdout).toContain('probe-host\n');
    expect(run.stdout).toMatch(/127\.0\.0\.1\tlocalhost/);
    expect(run.stdout).toMatch(/172\.17\.0\.\d+\tprobe-host/);
  }, 120_000);

  it('--network none has only loopback and no route', async () => {
    const run = await docker('run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ip -o link; echo routes:; ip route');
    expect(run.stdout).toContain('lo:');
    expect(run.stdout).not.toContain('eth0');
    expect(run.stdout.split('routes:')[1].trim()).toBe('');
  }, 120_000);

  it('resolves containers by name and alias on a user-defined network, not across networks', async () => {
    expect((await docker('network', 'create', 'appnet')).code).toBe(0);
    expect((await docker('network', 'create', 'othernet')).code).toBe(0);
    await webServer('web', ['--network', 'appnet', '--network-alias', 'frontend']);
    const byName = await docker('run', '--rm', '--network', 'appnet', 'busybox', 'sh', '-c', fetchLoop('http://web:8000/'));
    expect(byName).toMatchObject({ code: 0, stdout: 'hello from web\n' });
    const byAlias = await docker('run', '--rm', '--network', 'appnet', 'busybox', 'timeout', '5', 'wget', '-q', '-O', '-', 'http://frontend:8000/');
    expect(byAlias).toMatchObject({ code: 0, stdout: 'hello from web\n' });
    // Another network neither resolves the name nor routes to the address.
    const inspect = JSON.parse((await docker('inspect', 'web')).stdout)[0];
    const ip = inspect.NetworkSettings.Networks.appnet.IPAddress;
    expect(ip).toMatch(/^172\.\d+\.0\.\d+$/);
    const other = await docker('run', '--rm', '--network', 'othernet', 'busybox', 'sh', '-c', `timeout 3 wget -q -O - http://web:8000/ || echo no-name; timeout 3 wget -q -O - http://${ip}:8000/ || echo no-route`);
    expect(other.stdout).toContain('no-name');
    expect(other.stdout).toContain('no-route');
    // network connect makes it reachable; disconnect takes it away again.
    const probe = await docker('run', '-d', '--name', 'probe2', '--network', 'othernet', 'busybox', 'sleep', '300');
    expect(probe.code).toBe(0);
    expect((await docker('network', 'connect', 'appnet', 'probe2')).code).toBe(0);
    const connected = await docker('exec', 'probe2', 'timeout', '5', 'wget', '-q', '-O', '-', 'http://web:8000/');
    expect(connected.stdout).toBe('hello from web\n');
    expect((await docker('network', 'disconnect', 'appnet', 'probe2')).code).toBe(0);
    const after = await docker('exec', 'probe2', 'sh', '-c', 'ip -o link | grep -c eth');
    expect(after.stdout.trim()).toBe('1');
    const rmBusy = await docker('network', 'rm', 'appnet');
    expect(rmBusy.code).toBe(1);
    expect(rmBusy.stderr).toContain('has active endpoints');
    await docker('rm', '-f', 'web', 'probe2');
    expect((await docker('network', 'rm', 'appnet', 'othernet')).stdout).toBe('appnet\nothernet\n');
  }, 300_000);

  it('publishes ports: ps, port, the host-side relay and localhost in the VM', async () => {
    await webServer('site', ['-p', '8080:8000']);
    const ps = await docker('ps');
    expect(ps.stdout).toContain('0.0.0.0:8080->8000/tcp');
    expect((await docker('port', 'site')).stdout).toBe('8000/tcp -> 0.0.0.0:8080\n');
    // /etc/hosts & co. are bind mounts over an init layer: not changes of the container's writable layer.
    expect((await docker('diff', 'site')).stdout.split('\n').filter((l) => l.includes('/etc'))).toEqual([]);
    const response = await untilPublished(8080);
    expect(response.status).toBe(200);
    expect(new TextDecoder().decode(response.body)).toBe('hello from site\n');
    // Inside the VM, the published port answers on localhost (nftables DNAT), as on a Docker host.
    let local = '';
    const { exit } = await machine.request('spawn', { argv: ['timeout', '5', 'wget', '-q', '-O', '-', 'http://localhost:8080/'] }, { onStream: (_s, d) => (local += new TextDecoder().decode(d)) });
    expect({ exit, local }).toEqual({ exit: 0, local: 'hello from site\n' });
    const conflict = await docker('run', '-d', '-p', '8080:9000', 'busybox', 'sleep', '5');
    expect(conflict.code).toBe(125);
    expect(conflict.stderr).toContain('Bind for 0.0.0.0:8080 failed: port is already allocated');
    await docker('rm', '-f', 'site');
    await expect(engine.fetchPort({ port: 8080, method: 'GET', path: '/', headers: [] })).rejects.toThrow(/publishing port 8080/);
  }, 300_000);

  it('listens on the host for published ports (the Node CLI daemon), and stops when the container does', async () => {
    const hostPort = 15321; // in this checkout's port range
    await webServer('hosted', ['-p', `127.0.0.1:${hostPort}:8000`]);
    await untilPublished(hostPort);
    const errors: string[] = [];
    const ports = await PublishedPorts.start(engine, { onError: (message) => errors.push(message) });
    try {
      expect(ports.listening).toEqual([`127.0.0.1:${hostPort}`]);
      const response = await fetch(`http://127.0.0.1:${hostPort}/`);
      expect(await response.text()).toBe('hello from hosted\n');
      await docker('rm', '-f', 'hosted');
      await ports.sync();
      expect(ports.listening).toEqual([]);
      await expect(fetch(`http://127.0.0.1:${hostPort}/`)).rejects.toThrow();
      expect(errors).toEqual([]);
    } finally {
      await ports.close();
    }
  }, 300_000);

  it('starts a container on the default bridge in the network namespace made ahead for it, wired as the hook wires one', async () => {
    // The warm-up puts this engine in charge of prepared namespaces and makes the first (prepared-netns.ts).
    await engine.warmUp();
    const guestText = async (argv: string[]) => (await spawnInGuest(machine, argv)).stdout;
    const prepared = async () => (await guestText(['ls', PREPARED_NETNS_DIR])).split('\n').filter(Boolean);
    expect(await prepared()).toHaveLength(1);
    await webServer('ahead');
    const id = (await engine.inspectContainer({ container: 'ahead' })).Id;
    const config = JSON.parse(await guestText(['cat', `${containerDir(id)}/config.json`])) as { hooks?: unknown; linux: { namespaces: { type: string; path?: string }[] } };
    const network = config.linux.namespaces.find((n) => n.type === 'network');
    expect(network?.path).toMatch(new RegExp(`^${PREPARED_NETNS_DIR}/`));
    expect(config.hooks).toBeUndefined();
    // What Docker gives it: the lowest free address, its MAC, the gateway's route; and peers reach it.
    const ip = (await engine.inspectContainer({ container: 'ahead' })).NetworkSettings.Networks.bridge!.IPAddress;
    const inside = await docker('exec', 'ahead', 'sh', '-c', 'ip -o -4 addr show eth0; ip route; cat /sys/class/net/eth0/address');
    expect(inside.stdout).toContain(`inet ${ip}/16`);
    expect(inside.stdout).toContain('default via 172.17.0.1 dev eth0');
    expect(inside.stdout).toContain(`02:42:${ip.split('.').map((n) => Number(n).toString(16).padStart(2, '0')).join(':')}`);
    const peer = await docker('run', '--rm', 'busybox', 'sh', '-c', fetchLoop(`http://${ip}:8000/`));
    expect(peer.stdout).toBe('hello from ahead\n');
    // Gone with the container: its namespace (no veth of it left) and its file; one is ready for the next.
    await docker('rm', '-f', 'ahead');
    await expect.poll(prepared, { timeout: 30_000 }).toHaveLength(1);
    expect(await prepared()).not.toContain(network!.path!.split('/').pop());
    await expect.poll(async () => (await guestText(['ip', '-o', 'link'])).match(/veth\S*@/g)?.length ?? 0, { timeout: 30_000 }).toBe(1);
  }, 300_000);
});

