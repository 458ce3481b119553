/**
 * Networks, as dockerd's libnetwork keeps them: the predefined `bridge` (docker0, 172.17.0.0/16), `host`
 * and `none`, and user-defined bridge networks (br-<id>, 172.18.0.0/16 upwards). The engine owns the
 * records (persisted like containers); the guest holds the live parts — bridges, veth pairs, nftables
 * rules — made by /usr/libexec/layerlab/net (vm/rootfs), which Containers runs as an OCI hook at start.
 */
import type { BlobBackend } from '../store/backend.ts';
import { readGuestText, type Guest } from '../guest.ts';
import { spawnInGuest } from '../guest-spawn.ts';
import { ConflictError, EngineError, NotFoundError } from '../oci/errors.ts';
import { randomId } from '../containers/names.ts';
import type { PortBinding } from '../api.ts';

/** The guest program that wires networks (vm/rootfs/usr/libexec/layerlab/net). */
export const NET_TOOL = '/usr/libexec/layerlab/net';
/** The OCI hook that wires a container's interface (the agent binary, vm/agent/net.c `net_attach_main`). */
export const NET_ATTACH = '/usr/bin/layerlab-net-attach';

export interface NetworkRecord {
  id: string;
  name: string;
  driver: 'bridge' | 'host' | 'null';
  /** Linux bridge device in the guest (bridge driver only). */
  device?: string;
  subnet?: string;
  gateway?: string;
  internal: boolean;
  created: string;
  labels: Record<string, string>;
}

/** A container's attachment to one network (Docker's NetworkSettings.Networks[name]). */
export interface Endpoint {
  networkId: string;
  ipAddress: string;
  macAddress: string;
  aliases: string[];
}

/** What Networks needs to know about containers, without depending on the container manager. */
export interface NetworkMember {
  id: string;
  name: string;
  hostname: string;
  running: boolean;
  network: string;
  endpoints: Record<string, Endpoint>;
  ports: PortBinding[];
}

export const PREDEFINED = ['bridge', 'host', 'none'] as const;

const DEFAULT_BRIDGE: Omit<NetworkRecord, 'id' | 'created'> = { name: 'bridge', driver: 'bridge', device: 'docker0', subnet: '172.17.0.0/16', gateway: '172.17.0.1', internal: false, labels: {} };
const PREDEFINED_RECORDS: Omit<NetworkRecord, 'id' | 'created'>[] = [
  DEFAULT_BRIDGE,
  { name: 'host', driver: 'host', internal: false, labels: {} },
  { name: 'none', driver: 'null', internal: false, labels: {} },
];

/** The network tool's arguments that bring a bridge network's device up with its gateway address. */
function bridgeArgs(network: Pick<NetworkRecord, 'device' | 'subnet' | 'gateway'>): string[] {
  return ['bridge', network.device!, `${network.gateway}/${parseCidr(network.subnet!)!.prefix}`];
}

/** The NAT rule of a bridge network, as `net rules` takes it. */
function bridgeRule(network: Pick<NetworkRecord, 'device' | 'subnet'>): string {
  return `bridge:${network.device}:${network.subnet}`;
}

/**
 * The guest programs that bring the default bridge up with its NAT rules, as the engine would before the
 * first container on it. The VM snapshot is saved after running them (vm/snapshot.ts), and the engine
 * adopts what it finds in the guest: no learner waits for them (two guest programs, seconds under emulation).
 */
export const DEFAULT_BRIDGE_SETUP: readonly string[][] = [
  [NET_TOOL, ...bridgeArgs(DEFAULT_BRIDGE)],
  [NET_TOOL, 'rules', bridgeRule(DEFAULT_BRIDGE)],
];

/** Where the network tool lists the rules in force (vm/rootfs/usr/libexec/layerlab/net). */
const RULES_IN_FORCE = '/run/layerlab-net.rules';

export class Networks {
  #backend: BlobBackend;
  #guest: Guest;
  #records = new Map<string, NetworkRecord>();
  /** Bridges up in this VM session (brought up by the engine, or found up in the restored guest). */
  #bridgesUp = new Set<string>();
  #bridgesComing = new Map<string, Promise<void>>();
  /** The `net rules` arguments in force in the guest; null until read from it. */
  #rulesInForce: string[] | null = null;

  private constructor(backend: BlobBackend, guest: Guest) {
    this.#backend = backend;
    this.#guest = guest;
  }

  static async open(options: { backend: BlobBackend; guest: Guest }): Promise<Networks> {
    const networks = new Networks(options.backend, options.guest);
    for (const [, record] of await options.backend.listMeta<NetworkRecord>('network/')) networks.#records.set(record.id, record);
    for (const d of PREDEFINED_RECORDS) {
      if ([...networks.#records.values()].some((r) => r.name === d.name)) continue;
      const record = { ...d, labels: { ...d.labels }, id: randomId(), created: new Date().toISOString() };
      networks.#records.set(record.id, record);
      await networks.#save(record);
    }
    return networks;
  }

  list(): NetworkRecord[] {
    return [...this.#records.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** By name, full id or unique id prefix, as Docker resolves networks. */
  find(ref: string): NetworkRecord {
    const all = [...this.#records.values()];
    const byName = all.find((r) => r.name === ref);
    if (byName) return byName;
    const byId = all.filter((r) => ref.length > 0 && r.id.startsWith(ref));
    if (byId.length === 1) return byId[0];
    throw new NetworkNotFoundError(ref);
  }

  /** `--network default` and `bridge` are the same network. */
  resolveMode(mode: string): NetworkRecord {
    return this.find(mode === 'default' ? 'bridge' : mode);
  }

  async create(options: { name: string; driver?: string; subnet?: string; gateway?: string; internal?: boolean; labels?: Record<string, string> }): Promise<NetworkRecord> {
    const driver = options.driver ?? 'bridge';
    if (driver !== 'bridge') throw new EngineError(`plugin "${driver}" not found: Layerlab has the bridge driver only`);
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(options.name)) throw new EngineError(`invalid network name "${options.name}"`);
    if ([...this.#records.values()].some((r) => r.name === options.name)) throw new ConflictError(`network with name ${options.name} already exists`);
    const subnet = options.subnet ?? this.#freeSubnet();
    const parsed = parseCidr(subnet);
    if (!parsed) throw new EngineError(`invalid subnet ${subnet}: expected a.b.c.d/prefix with a prefix of 8-29`);
    for (const other of this.#records.values()) {
      const o = other.subnet ? parseCidr(other.subnet) : null;
      if (o && overlaps(o, parsed)) throw new EngineError(`Pool overlaps with other one on this address space (${other.name}: ${other.subnet})`);
    }
    const gateway = options.gateway ?? intToIp(parsed.base + 1);
    if (!inSubnet(gateway, parsed)) throw new EngineError(`gateway ${gateway} is not in subnet ${subnet}`);
    const id = randomId();
    const record: NetworkRecord = {
      id,
      name: options.name,
      driver: 'bridge',
      device: `br-${id.slice(0, 12)}`,
      subnet: `${intToIp(parsed.base)}/${parsed.prefix}`,
      gateway,
      internal: options.internal ?? false,
      created: new Date().toISOString(),
      labels: options.labels ?? {},
    };
    this.#records.set(id, record);
    await this.#save(record);
    return record;
  }

  async remove(ref: string, members: NetworkMember[]): Promise<NetworkRecord> {
    const record = this.find(ref);
    if ((PREDEFINED as readonly string[]).includes(record.name)) {
      throw new EngineError(`${record.name} is a pre-defined network and cannot be removed`);
    }
    const users = members.filter((m) => record.name in m.endpoints);
    if (users.length) {
      throw new ConflictError(`error while removing network: network ${record.name} id ${record.id} has active endpoints (${users.map((u) => u.name).join(', ')})`);
    }
    this.#records.delete(record.id);
    await this.#backend.commit({ delete: [`network/${record.id}`] });
    if (this.#bridgesUp.delete(record.id) && record.device) await this.#net(['bridge-rm', record.device]).catch(() => {});
    return record;
  }

  /** The subnet's last host address: the one `allocateIp` hands out last. */
  lastHostAddress(network: NetworkRecord): string {
    const cidr = subnetOf(network);
    return intToIp(cidr.base + 2 ** (32 - cidr.prefix) - 2);
  }

  /** A free address in the network for a new endpoint. */
  allocateIp(network: NetworkRecord, members: NetworkMember[], wanted?: string): string {
    const cidr = subnetOf(network);
    const used = new Set([network.gateway, ...members.flatMap((m) => Object.values(m.endpoints).filter((e) => e.networkId === network.id).map((e) => e.ipAddress))]);
    if (wanted) {
      if (!inSubnet(wanted, cidr)) throw new EngineError(`invalid address ${wanted}: it does not belong to any of this network's subnets`);
      if (used.has(wanted)) throw new ConflictError(`Address already in use: ${wanted}`);
      return wanted;
    }
    const size = 2 ** (32 - cidr.prefix);
    for (let n = 2; n < size - 1; n++) {
      const ip = intToIp(cidr.base + n);
      if (!used.has(ip)) return ip;
    }
    throw new EngineError(`no available IPv4 addresses on network ${network.name}`);
  }

  /**
   * Brings the network's bridge up in the guest (once per VM session). A bridge the guest has already (the
   * snapshot's docker0, a checkpoint's networks) is adopted as it is.
   */
  async ensureBridge(network: NetworkRecord): Promise<void> {
    if (network.driver !== 'bridge' || this.#bridgesUp.has(network.id)) return;
    // A container starting while the idle-time warm-up brings the bridge up waits for that one.
    let coming = this.#bridgesComing.get(network.id);
    if (!coming) {
      coming = (async () => {
        if (!(await this.#deviceUp(network.device!))) await this.#net(bridgeArgs(network));
        this.#bridgesUp.add(network.id);
      })().finally(() => this.#bridgesComing.delete(network.id));
      this.#bridgesComing.set(network.id, coming);
    }
    await coming;
  }

  /** Rewrites the guest's NAT and published-port rules from the current state, unless those are in force. */
  async applyRules(members: NetworkMember[]): Promise<void> {
    const rules = [
      ...[...this.#records.values()].filter((n) => n.driver === 'bridge' && this.#bridgesUp.has(n.id)).map(bridgeRule),
      ...members
        .filter((m) => m.running)
        .flatMap((m) => {
          const target = this.targetIp(m);
          return target ? m.ports.map((p) => `port:${p.hostPort}:${target}:${p.containerPort}`) : [];
        }),
    ];
    const inForce = this.#rulesInForce ?? (await this.#readGuestText(RULES_IN_FORCE))?.split('\n').filter(Boolean) ?? [];
    this.#rulesInForce = inForce;
    if (rules.length === inForce.length && rules.every((rule, i) => rule === inForce[i])) return;
    this.#rulesInForce = null; // a failed rewrite leaves the guest's rules unknown
    await this.#net(['rules', ...rules]);
    this.#rulesInForce = rules;
  }

  /** The address a published port of this container is reached at inside the guest. */
  targetIp(member: NetworkMember): string | undefined {
    if (member.network === 'host') return '127.0.0.1';
    return Object.values(member.endpoints)[0]?.ipAddress;
  }

  prefix(network: NetworkRecord): number {
    return parseCidr(network.subnet ?? '')?.prefix ?? 16;
  }

  /** /etc/hosts as Docker writes it; containers on user-defined networks also list their peers there. */
  hostsFile(member: NetworkMember, members: NetworkMember[]): string {
    const lines = [
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      'fe00::\tip6-localnet',
      'ff00::\tip6-mcastprefix',
      'ff02::1\tip6-allnodes',
      'ff02::2\tip6-allrouters',
    ];
    const own = Object.values(member.endpoints)[0];
    if (own) lines.push(`${own.ipAddress}\t${member.hostname}`);
    const peers: string[] = [];
    for (const [name, endpoint] of Object.entries(member.endpoints)) {
      if (name === 'bridge') continue; // the default bridge has no name resolution, as in Docker
      for (const other of members) {
        if (other.id === member.id || !other.running) continue;
        const theirs = other.endpoints[name];
        if (!theirs || theirs.networkId !== endpoint.networkId) continue;
        peers.push(`${theirs.ipAddress}\t${[other.name, ...theirs.aliases, other.id.slice(0, 12)].join(' ')}`);
      }
    }
    if (peers.length) lines.push(`# containers on the same user-defined networks (Docker answers these names from its DNS server at 127.0.0.11)`, ...peers);
    return `${lines.join('\n')}\n`;
  }

  /** Whether the guest has this network device, administratively up (IFF_UP in its sysfs flags). */
  async #deviceUp(device: string): Promise<boolean> {
    const flags = await this.#readGuestText(`/sys/class/net/${device}/flags`);
    return flags !== null && (Number.parseInt(flags, 16) & 1) === 1;
  }

  /** A guest file's text, or null when it cannot be read. */
  #readGuestText(path: string): Promise<string | null> {
    return readGuestText(this.#guest, path).catch(() => null);
  }

  async #net(args: string[]): Promise<void> {
    const { exit, stdout, stderr } = await spawnInGuest(this.#guest, [NET_TOOL, ...args]);
    if (exit !== 0) throw new EngineError(`network setup failed: ${(stderr + stdout).trim() || `${NET_TOOL} ${args[0]} exited with ${exit}`}`);
  }

  #freeSubnet(): string {
    const taken = [...this.#records.values()].map((r) => (r.subnet ? parseCidr(r.subnet) : null)).filter((c) => c !== null);
    for (let second = 18; second < 32; second++) {
      const candidate = parseCidr(`172.${second}.0.0/16`)!;
      if (!taken.some((t) => overlaps(t, candidate))) return `172.${second}.0.0/16`;
    }
    for (let third = 0; third < 256; third++) {
      const candidate = parseCidr(`192.168.${third}.0/24`)!;
      if (!taken.some((t) => overlaps(t, candidate))) return `192.168.${third}.0/24`;
    }
    throw new EngineError('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
  }

  async #save(record: NetworkRecord): Promise<void> {
    await this.#backend.commit({ put: { [`network/${record.id}`]: record } });
  }
}

/** Docker's wording: `network nope not found`. */
export class NetworkNotFoundError extends NotFoundError {
  constructor(ref: string) {
    super('network', ref);
    this.message = `network ${ref} not found`;
  }
}

/** Docker's MAC for an address: 02:42 + the four bytes of the IPv4 address. */
export function macForIp(ip: string): string {
  return ['02', '42', ...ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
}

interface Cidr {
  base: number;
  prefix: number;
}

export function parseCidr(text: string): Cidr | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!m) return null;
  const bytes = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (bytes.some((b) => b > 255) || prefix < 8 || prefix > 29) return null;
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return { base: (ipToInt(bytes.join('.')) & mask) >>> 0, prefix };
}

function subnetOf(network: NetworkRecord): Cidr {
  const cidr = parseCidr(network.subnet ?? '');
  if (!cidr) throw new EngineError(`network ${network.name} has no subnet`);
  return cidr;
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, b) => ((n << 8) | Number(b)) >>> 0, 0);
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function inSubnet(ip: string, cidr: Cidr): boolean {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return false;
  const mask = (~0 << (32 - cidr.prefix)) >>> 0;
  return ((ipToInt(ip) & mask) >>> 0) === cidr.base;
}

function overlaps(a: Cidr, b: Cidr): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  const mask = (~0 << (32 - prefix)) >>> 0;
  return ((a.base & mask) >>> 0) === ((b.base & mask) >>> 0);
}
