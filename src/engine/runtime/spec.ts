/**
 * OCI runtime configs (config.json for crun), generated from data. The defaults mirror what Docker gives a
 * container: its own PID, IPC, UTS, mount and network namespaces, Docker's default capability set, a
 * read-write rootfs, /proc, /dev, /dev/pts, /dev/shm, /sys (read-only), and cgroup limits so a runaway
 * container cannot take the VM down.
 */

export interface ProcessSpec {
  args: string[];
  env: string[];
  /** Absolute working directory inside the container. */
  cwd: string;
  uid: number;
  gid: number;
  additionalGids?: number[];
  terminal?: boolean;
}

export interface RuntimeSpecOptions {
  process: ProcessSpec;
  /** Guest path of the container's merged overlay mount. */
  rootfs: string;
  hostname: string;
  /** Bind mounts (volumes): guest source dir → container path. */
  mounts?: { source: string; destination: string; readonly?: boolean }[];
  /** Memory limit in bytes. Default 64 MiB: a memory hog is OOM-killed, not the VM. */
  memoryBytes?: number;
  /** Process limit. Default 128: a fork bomb hits it, the VM keeps answering. */
  pidsLimit?: number;
  /** Share the VM's network namespace (`--network host`) instead of an isolated one. */
  hostNetwork?: boolean;
  /** OCI createRuntime hooks: run in the VM once the namespaces exist, before the process starts (network wiring). */
  createRuntimeHooks?: { path: string; args: string[] }[];
}

export const DEFAULT_MEMORY_BYTES = 64 * 1024 * 1024;
export const DEFAULT_PIDS_LIMIT = 128;

// Docker's default capability set (moby/oci/caps/defaults.go).
const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

export function runtimeSpec(options: RuntimeSpecOptions): Record<string, unknown> {
  const { process: proc } = options;
  const namespaces = ['pid', 'ipc', 'uts', 'mount', ...(options.hostNetwork ? [] : ['network'])];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: proc.terminal ?? false,
      user: { uid: proc.uid, gid: proc.gid, additionalGids: proc.additionalGids ?? [] },
      args: proc.args,
      env: proc.env,
      cwd: proc.cwd,
      capabilities: {
        bounding: DEFAULT_CAPABILITIES,
        effective: DEFAULT_CAPABILITIES,
        permitted: DEFAULT_CAPABILITIES,
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: false,
    },
    root: { path: options.rootfs, readonly: false },
    ...(options.createRuntimeHooks?.length
      ? { hooks: { createRuntime: options.createRuntimeHooks.map((hook) => ({ ...hook, env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], timeout: 30 })) } }
      : {}),
    hostname: options.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      ...(options.mounts ?? []).map((mount) => ({
        destination: mount.destination,
        type: 'bind',
        source: mount.source,
        options: ['rbind', mount.readonly ? 'ro' : 'rw'],
      })),
    ],
    linux: {
      namespaces: namespaces.map((type) => ({ type })),
      resources: {
        memory: { limit: options.memoryBytes ?? DEFAULT_MEMORY_BYTES, swap: options.memoryBytes ?? DEFAULT_MEMORY_BYTES },
        pids: { limit: options.pidsLimit ?? DEFAULT_PIDS_LIMIT },
      },
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}
