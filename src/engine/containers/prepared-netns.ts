/**
 * A network namespace made ahead of its container (`layerlab-net-attach --new`): for the default bridge's next
 * address, its veth already on the bridge with that address, bound at a file in the guest. The container
 * whose one endpoint has that address joins it (`linux.namespaces` path) instead of crun making a namespace
 * and running the wiring hook: about 2 M of the ~11 M guest instructions from `docker run` to its output.
 * The work moves to after the learner's: the warm-up, and each exit (the address a container frees is
 * usually the next one handed out). The container is what Docker would make: same address, MAC and routes.
 * Only the engine whose warm-up ran makes them (`sweep`).
 */
import type { Guest } from '../guest.ts';
import { spawnInGuest } from '../guest-spawn.ts';
import { EngineError } from '../oci/errors.ts';
import { macForIp, NET_ATTACH, type NetworkMember, type Networks } from '../network/networks.ts';
import type { ContainerRecord } from './record.ts';

/** Where the guest's prepared namespaces are bound (one file each). */
export const PREPARED_NETNS_DIR = '/var/lib/layerlab/netns';

interface Prepared {
  networkId: string;
  ipAddress: string;
  path: string;
}

export class PreparedNetns {
  #guest: Guest;
  #networks: Networks;
  #members: () => NetworkMember[];
  /** The one made and not taken yet. */
  #ready: Prepared | null = null;
  /** Making (or giving up) one: one at a time; a start waits for it, as it may be that container's. */
  #work: Promise<void> = Promise.resolve();
  /** Container id → the file of the namespace it took (unmounted when its process ends). */
  #held = new Map<string, string>();
  #made = 0;
  /** Makes namespaces only once in charge (`sweep`). */
  #owner = false;
  readonly #prefix = `p${Math.floor(Math.random() * 36 ** 3).toString(36)}`;

  constructor(options: { guest: Guest; networks: Networks; members: () => NetworkMember[] }) {
    this.#guest = options.guest;
    this.#networks = options.networks;
    this.#members = options.members;
  }

  /** Makes one for the default bridge's next free address, unless that one is ready; after the work in flight. */
  refill(): Promise<void> {
    return this.#queue(() => this.#refill());
  }

  async #refill(): Promise<void> {
    const network = this.#networks.find('bridge');
    if (!this.#owner || !network.device || !network.gateway) return;
    await this.#networks.ensureBridge(network);
    const ipAddress = this.#networks.allocateIp(network, this.#members());
    if (this.#ready?.networkId === network.id && this.#ready.ipAddress === ipAddress) return;
    await this.#discard();
    // The name makes the host end's (veth<name>0, at most 15 characters); unique per engine and VM.
    const path = `${PREPARED_NETNS_DIR}/${this.#prefix}${++this.#made}`;
    const address = `${ipAddress}/${this.#networks.prefix(network)}`;
    const { exit, stdout, stderr } = await spawnInGuest(this.#guest, [NET_ATTACH, '--new', path, network.device, 'eth0', address, macForIp(ipAddress), network.gateway]);
    if (exit !== 0) throw new EngineError(`preparing a network namespace failed: ${(stderr + stdout).trim() || `exit ${exit}`}`);
    // A container created meanwhile with this address takes it at its start (`take` waits for this work);
    // `docker network connect` gives it up first (`giveUp`): never two interfaces with one address.
    this.#ready = { networkId: network.id, ipAddress, path };
  }

  /**
   * The namespace file for the container's start, when one was made for its one endpoint (now the
   * container's until `release`); undefined: crun makes the namespace and the hook wires it.
   */
  async take(record: ContainerRecord): Promise<string | undefined> {
    await this.#work;
    const ready = this.#ready;
    const endpoints = Object.values(record.endpoints ?? {});
    const mine = ready && endpoints.find((e) => e.networkId === ready.networkId && e.ipAddress === ready.ipAddress);
    if (!ready || !mine) return undefined;
    if (endpoints.length !== 1 || mine.macAddress !== macForIp(mine.ipAddress)) {
      // Its address, wired by the hook with the container's other networks: the one made for it goes first.
      await this.giveUp(ready.networkId, ready.ipAddress);
      return undefined;
    }
    this.#ready = null;
    this.#held.set(record.id, ready.path);
    return ready.path;
  }

  /** The address is about to be given to an endpoint wired another way: the one made for it goes. */
  async giveUp(networkId: string, ipAddress: string): Promise<void> {
    await this.#queue(async () => {
      if (this.#ready?.networkId === networkId && this.#ready.ipAddress === ipAddress) await this.#discard();
    });
  }

  /**
   * A container's process has ended (or never started): the namespace it took goes, and one is made for
   * the next container (the address it freed is usually the next one handed out).
   */
  async release(id: string): Promise<void> {
    const path = this.#held.get(id);
    this.#held.delete(id);
    if (path !== undefined) await this.#unbind(path);
    await this.refill();
  }

  /**
   * This engine takes charge of the VM's prepared namespaces (its warm-up does; another engine over the
   * same VM, as in tests, makes none): the files of engines before (a VM restored from a lesson's
   * checkpoint holds those of the engine that saved it) are unbound, each going once no process is in it,
   * so that none claims an address again.
   */
  sweep(): Promise<void> {
    this.#owner = true;
    return this.#queue(async () => {
      const { names } = await this.#guest.request('readdir', { path: PREPARED_NETNS_DIR }).catch(() => ({ names: [] as string[] }));
      for (const name of names as string[]) if (!name.startsWith(this.#prefix)) await this.#unbind(`${PREPARED_NETNS_DIR}/${name}`);
    });
  }

  async #discard(): Promise<void> {
    const ready = this.#ready;
    this.#ready = null;
    if (ready) await this.#unbind(ready.path);
  }

  /** Unmounting the file lets the namespace go once no process is in it (its veth pair goes with it). */
  async #unbind(path: string): Promise<void> {
    await this.#guest.request('umount', { target: path }).catch(() => {});
    await this.#guest.request('rm', { path }).catch(() => {});
  }

  #queue(work: () => Promise<void>): Promise<void> {
    const next = this.#work.then(work);
    // A failure is reported to the caller; the queue goes on.
    this.#work = next.catch(() => {});
    return next;
  }
}
