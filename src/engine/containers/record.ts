/**
 * A container's record (what the engine persists) and where its live parts sit in the guest.
 */
import { GUEST_PATHS } from '../guest.ts';
import type { Digest } from '../oci/digest.ts';
import type { ContainerState, PortBinding } from '../api.ts';
import type { Endpoint } from '../network/networks.ts';

export interface ContainerRecord {
  id: string;
  name: string;
  image: string;
  imageId: Digest;
  diffIDs: Digest[];
  imageSize: number;
  args: string[];
  /** The container's own Entrypoint and Cmd (image's or `--entrypoint`/command), which `commit` keeps. */
  entrypoint?: string[];
  cmd?: string[];
  env: string[];
  workdir: string;
  user: string;
  hostname: string;
  volumes: { name: string; destination: string }[];
  /** NetworkMode: `default` (the bridge network), `host`, `none` or a network name. */
  network: string;
  /** Attached networks by name (bridge driver); the first is eth0 and carries the default route. */
  endpoints?: Record<string, Endpoint>;
  /** Ports asked for with -p/-P (hostPort 0: a free port picked at start). */
  publish?: PortBinding[];
  /** The bindings in effect while running. */
  ports?: PortBinding[];
  exposedPorts?: number[];
  memoryBytes?: number;
  pidsLimit?: number;
  autoRemove: boolean;
  stopSignal?: string;
  state: ContainerState;
  exitCode: number | null;
  created: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** The writable layer saved as a tar blob when the container stopped (restored after a VM restart). */
  savedWritable?: Digest;
  /** Frozen by `docker pause` (cgroup freezer); `state` stays `running` underneath, as in Docker. */
  paused?: boolean;
}

/** Generated per container and bind-mounted over /etc, as Docker does. */
export const NETWORK_FILES = ['hosts', 'hostname', 'resolv.conf'];

/** Each container's writable layer lives on its own tmpfs of this size (the VM has 256 MiB in all). */
export const WRITABLE_LAYER_LIMIT = 48 * 1024 * 1024;

/** Docker's State.Status: a frozen running container is `paused`. */
export function viewState(record: ContainerRecord): ContainerState {
  return record.state === 'running' && record.paused ? 'paused' : record.state;
}

/** The container's bundle in the guest: rootfs (the overlay), upper (its writable layer), the /etc files. */
export function containerDir(id: string): string {
  return `${GUEST_PATHS.containers}/${id}`;
}

export function volumeDir(name: string): string {
  return `${GUEST_PATHS.volumes}/${name}/_data`;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
