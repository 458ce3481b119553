/**
 * Containers on networks: endpoints (veth wiring run by crun as an OCI hook, or a namespace made ahead with
 * it done: prepared-netns.ts), host ports for `-p`, the generated /etc/hosts, /etc/hostname and
 * /etc/resolv.conf, and `docker network connect`/`disconnect`.
 */
import { readGuestText, type Guest } from '../guest.ts';
import { ConflictError, EngineError } from '../oci/errors.ts';
import { textToBase64 } from '../util/base64.ts';
import { macForIp, NET_ATTACH, NET_TOOL, type Endpoint, type NetworkMember, type NetworkRecord, type Networks } from '../network/networks.ts';
import { EPHEMERAL_PORT_START } from '../network/ports.ts';
import type { ContainerView, PortBinding } from '../api.ts';
import { containerDir, type ContainerRecord } from './record.ts';
import type { ContainerRecords } from './records.ts';
import { PreparedNetns } from './prepared-netns.ts';

export class ContainerNetworking {
  #guest: Guest;
  #networks: Networks;
  #records: ContainerRecords;
  /** Network namespaces made ahead of their containers, on the default bridge. */
  readonly prepared: PreparedNetns;

  constructor(options: { guest: Guest; networks: Networks; records: ContainerRecords }) {
    this.#guest = options.guest;
    this.#networks = options.networks;
    this.#records = options.records;
    this.prepared = new PreparedNetns({ guest: this.#guest, networks: this.#networks, members: () => this.members() });
  }

  /**
   * How a start wires the container's endpoints: joining a namespace made ahead for it, or crun making one and
   * running the veth hook per endpoint.
   */
  async wiring(record: ContainerRecord): Promise<{ networkNamespace?: string; createRuntimeHooks: { path: string; args: string[] }[] }> {
    const networkNamespace = await this.prepared.take(record);
    if (networkNamespace) return { networkNamespace, createRuntimeHooks: [] };
    return { createRuntimeHooks: Object.values(record.endpoints ?? {}).map((endpoint, index) => this.attachHook(endpoint, index)) };
  }

  /** The veth wiring for one endpoint, run by crun once the container's namespaces exist (OCI createRuntime hook). */
  attachHook(endpoint: Endpoint, index: number): { path: string; args: string[] } {
    const network = this.#networks.list().find((n) => n.id === endpoint.networkId);
    if (!network) throw new EngineError(`network ${endpoint.networkId} not found`);
    const address = `${endpoint.ipAddress}/${this.#networks.prefix(network)}`;
    return { path: NET_ATTACH, args: ['layerlab-net-attach', '-', network.device!, `eth${index}`, address, endpoint.macAddress, ...(index === 0 ? [network.gateway!] : [])] };
  }

  /** The network a `--network` mode names (`default`: the bridge network). */
  resolveMode(mode: string): NetworkRecord {
    return this.#networks.resolveMode(mode);
  }

  /** A new endpoint on a bridge network: the next free address, its MAC, the aliases. */
  newEndpoint(network: NetworkRecord, aliases: string[]): Endpoint {
    const ip = this.#networks.allocateIp(network, this.members());
    return { networkId: network.id, ipAddress: ip, macAddress: macForIp(ip), aliases };
  }

  members(): NetworkMember[] {
    return this.#records.all().map((r) => ({
      id: r.id,
      name: r.name,
      hostname: r.hostname,
      running: r.state === 'running',
      network: r.network,
      endpoints: r.endpoints ?? {},
      ports: r.ports ?? [],
    }));
  }

  /** `docker inspect`'s NetworkSettings.Networks: addresses only while the container runs. */
  views(record: ContainerRecord): ContainerView['networks'] {
    const running = record.state === 'running';
    if (record.network === 'host' || record.network === 'none') {
      const network = this.#networks.find(record.network);
      return { [record.network]: { networkId: network.id, ipAddress: '', gateway: '', macAddress: '', aliases: [] } };
    }
    return Object.fromEntries(
      Object.entries(record.endpoints ?? {}).map(([name, e]) => {
        const network = this.#networks.list().find((n) => n.id === e.networkId);
        return [name, { networkId: e.networkId, ipAddress: running ? e.ipAddress : '', gateway: running ? (network?.gateway ?? '') : '', macAddress: running ? e.macAddress : '', aliases: e.aliases }];
      }),
    );
  }

  /**
   * Idle-time work after the VM is up: the default bridge and its NAT rules, which the first container on it
   * would otherwise set up while the learner waits. The VM snapshot has them already (adopted here with two
   * reads); a checkpoint or a VM without them gets them now.
   */
  async warmUp(): Promise<void> {
    await this.#networks.ensureBridge(this.#networks.find('bridge'));
    await this.#networks.applyRules(this.members());
  }

  /**
   * The wiring of the hidden warm-up container (Engine.warmUp), so it starts the way a learner's container
   * does: on the default bridge, at the subnet's last host address (the one handed out last).
   */
  warmUpHook(): { path: string; args: string[] } {
    const network = this.#networks.find('bridge');
    const ip = this.#networks.lastHostAddress(network);
    return this.attachHook({ networkId: network.id, ipAddress: ip, macAddress: macForIp(ip), aliases: [] }, 0);
  }

  /** Before a start: bridges up, host ports chosen, /etc/hosts, /etc/hostname and /etc/resolv.conf written. */
  async prepare(record: ContainerRecord): Promise<void> {
    // The VM's resolver, asked for first: the answer comes while the networks are checked.
    const vmResolv = readGuestText(this.#guest, '/etc/resolv.conf').catch(() => '# This VM has no DNS server configured (no outbound network).\n');
    for (const endpoint of Object.values(record.endpoints ?? {})) {
      const network = this.#networks.list().find((n) => n.id === endpoint.networkId);
      if (!network) throw new EngineError(`network ${endpoint.networkId} not found`);
      await this.#networks.ensureBridge(network);
    }
    record.ports = this.#bindPorts(record);
    // NAT, isolation between networks and published ports are in place before the process starts (no guest
    // work when they already are).
    const starting = this.members().map((m) => (m.id === record.id ? { ...m, running: true } : m));
    await this.#networks.applyRules(starting).catch((error) => console.warn(`layerlab: ${(error as Error).message}`));
    const dir = containerDir(record.id);
    const resolv = await vmResolv;
    const member = this.members().find((m) => m.id === record.id)!;
    const files: Record<string, string> = {
      hosts: this.#networks.hostsFile({ ...member, running: true }, this.members()),
      hostname: `${record.hostname}\n`,
      'resolv.conf': record.network === 'none' ? '' : resolv,
    };
    // Sent together (the agent answers in order): one round trip before the start instead of three.
    await Promise.all(Object.entries(files).map(([name, text]) => this.#guest.request('write', { path: `${dir}/${name}`, data: textToBase64(text) })));
  }

  /** Host ports for `-p`: the asked ones (refused if another running container has them), or free ones. */
  #bindPorts(record: ContainerRecord): PortBinding[] {
    const taken = new Map<number, ContainerRecord>();
    for (const other of this.#records.values()) {
      if (other.id !== record.id && other.state === 'running') for (const p of other.ports ?? []) taken.set(p.hostPort, other);
    }
    const bound: PortBinding[] = [];
    for (const wanted of record.publish ?? []) {
      let hostPort = wanted.hostPort;
      if (hostPort === 0) {
        hostPort = EPHEMERAL_PORT_START;
        while (taken.has(hostPort) || bound.some((b) => b.hostPort === hostPort)) hostPort++;
      } else if (taken.has(hostPort) || bound.some((b) => b.hostPort === hostPort)) {
        throw new ConflictError(
          `driver failed programming external connectivity on endpoint ${record.name} (${record.id}): Bind for ${wanted.hostIp}:${hostPort} failed: port is already allocated`,
        );
      }
      bound.push({ ...wanted, hostPort });
    }
    return bound;
  }

  /** After a start, an exit, a connect or a disconnect: NAT/port rules and every running container's /etc/hosts. */
  async changed(options: { rules: boolean } = { rules: true }): Promise<void> {
    const members = this.members();
    if (options.rules) {
      await this.#networks.applyRules(members).catch((error) => console.warn(`layerlab: ${(error as Error).message}`));
    }
    for (const member of members) {
      if (!member.running || !Object.keys(member.endpoints).some((name) => name !== 'bridge')) continue;
      const text = this.#networks.hostsFile(member, members);
      await this.#guest.request('write', { path: `${containerDir(member.id)}/hosts`, data: textToBase64(text) }).catch(() => {});
    }
  }

  /** `docker network connect`: a new endpoint; wired at once when the container runs. */
  async connect(record: ContainerRecord, networkRef: string, options: { aliases?: string[]; ip?: string } = {}): Promise<void> {
    const network = this.#networks.find(networkRef);
    if (network.driver !== 'bridge') throw new EngineError(`container cannot be disconnected from host network or connected to host network`);
    if (record.network === 'host' || record.network === 'none') throw new EngineError(`container sharing network namespace with another container or host cannot be connected to any other network`);
    const endpoints = record.endpoints ?? {};
    if (endpoints[network.name]) throw new ConflictError(`endpoint with name ${record.name} already exists in network ${network.name}`);
    if (options.aliases?.length && network.name === 'bridge') throw new EngineError('network-scoped alias is supported only for containers in user defined networks');
    const ip = this.#networks.allocateIp(network, this.members(), options.ip);
    await this.prepared.giveUp(network.id, ip);
    const endpoint = { networkId: network.id, ipAddress: ip, macAddress: macForIp(ip), aliases: options.aliases ?? [] };
    if (record.state === 'running') {
      await this.#networks.ensureBridge(network);
      const hook = this.attachHook(endpoint, Object.keys(endpoints).length);
      const { exit } = await this.#guest.request('spawn', { argv: [NET_TOOL, 'attach', `container:${record.id}`, ...hook.args.slice(2)] });
      if (exit !== 0) throw new EngineError(`could not attach ${record.name} to ${network.name} (the guest's ${NET_TOOL} failed)`);
    }
    record.endpoints = { ...endpoints, [network.name]: endpoint };
    await this.#records.save(record);
    if (record.state === 'running') await this.changed();
  }

  async disconnect(record: ContainerRecord, networkRef: string): Promise<void> {
    const network = this.#networks.find(networkRef);
    const endpoints = { ...(record.endpoints ?? {}) };
    if (!endpoints[network.name]) throw new EngineError(`container ${record.id} is not connected to network ${network.name}`);
    if (record.state === 'running') {
      const index = Object.keys(endpoints).indexOf(network.name);
      await this.#guest.request('spawn', { argv: [NET_TOOL, 'detach', `container:${record.id}`, `eth${index}`] });
    }
    delete endpoints[network.name];
    record.endpoints = endpoints;
    await this.#records.save(record);
    if (record.state === 'running') await this.changed();
  }
}
