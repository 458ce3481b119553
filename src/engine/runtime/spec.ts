/**
 * OCI runtime configs (config.json for crun), generated from data. The defaults mirror what Docker gives a
 * container: its own PID, IPC, UTS, mount and network namespaces, Docker's default capability set, a
 * read-write rootfs, /proc, /dev, /dev/pts, /dev/shm, /sys (read-only), Docker's masked and read-only
 * paths, device rules (held by the containers' parent cgroup) and (as a deny list) seccomp filter, no new
 * privileges, and cgroup limits (memory, processes, CPU) so a runaway container cannot take the VM down.
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

/** A bind mount (guest source dir or file → container path), or a fresh tmpfs (RUN --mount=type=tmpfs). */
export type RuntimeMount = { type?: 'bind'; source: string; destination: string; readonly?: boolean } | { type: 'tmpfs'; destination: string; options: string[] };

export interface RuntimeSpecOptions {
  /** The container's id (crun's name for it): its cgroup is CONTAINERS_CGROUP/id. */
  id: string;
  process: ProcessSpec;
  /** Guest path of the container's merged overlay mount. */
  rootfs: string;
  hostname: string;
  /** Bind mounts (volumes): guest source dir → container path. */
  mounts?: RuntimeMount[];
  /** Memory limit in bytes. Default 64 MiB: a memory hog is OOM-killed, not the VM. */
  memoryBytes?: number;
  /** Process limit. Default 128: a fork bomb hits it, the VM keeps answering. */
  pidsLimit?: number;
  /**
   * CPU weight relative to other containers, as `docker run --cpu-shares` (default 1024). 2, the lowest,
   * gives the container only the CPU time everything else leaves (cgroup v2 cpu.weight 1).
   */
  cpuShares?: number;
  /** Share the VM's network namespace (`--network host`) instead of an isolated one. */
  hostNetwork?: boolean;
  /** Join this network namespace (a file bound to it, made ahead and already wired) instead of a new one. */
  networkNamespace?: string;
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

/**
 * Syscalls a container may not make. Docker's default seccomp profile allows a long list and denies the
 * rest; its effect for a container without extra capabilities is to refuse these (kernel modules,
 * keyrings, clocks, reboot, mounts and namespaces, tracing and other processes' memory, NUMA and
 * i386's vm86). Written as a deny list so that every ordinary program runs unchanged; each call fails
 * with EPERM, as under Docker.
 */
export const SECCOMP_DENIED_SYSCALLS = [
  'acct', 'add_key', 'bpf', 'clock_adjtime', 'clock_settime', 'create_module', 'delete_module', 'finit_module',
  'get_kernel_syms', 'get_mempolicy', 'init_module', 'ioperm', 'iopl', 'kcmp', 'kexec_load', 'keyctl',
  'lookup_dcookie', 'mbind', 'mount', 'move_pages', 'name_to_handle_at', 'nfsservctl', 'open_by_handle_at',
  'perf_event_open', 'pivot_root', 'process_vm_readv', 'process_vm_writev', 'ptrace', 'query_module', 'quotactl',
  'reboot', 'request_key', 'set_mempolicy', 'setns', 'settimeofday', 'stime', 'swapon', 'swapoff', 'sysfs',
  '_sysctl', 'umount', 'umount2', 'unshare', 'uselib', 'userfaultfd', 'ustat', 'vm86', 'vm86old',
] as const;

// Docker's masked and read-only paths (moby/oci/defaults.go).
const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/**
 * Parent of every container's cgroup (as under Docker's cgroupfs driver). It holds Docker's default device
 * rules — deny every device, allow creating nodes (mknod) but opening only the standard ones (null, zero,
 * full, random, urandom, tty, console, ptmx, ptys) — as one BPF program attached at boot
 * (vm/agent/devices.c), which applies to each cgroup below it. The configs list no devices, so crun loads
 * no program of its own at each start (a fifth of its work); vm/snapshot.ts checks the rules hold.
 */
export const CONTAINERS_CGROUP = '/docker';

/** The container's cgroup v2 directory in the guest. */
export function containerCgroupDir(id: string): string {
  return `/sys/fs/cgroup${CONTAINERS_CGROUP}/${id}`;
}

/** CPU quota per container: 90% of the one vCPU, so the agent and the learner's shell always get a turn. */
export const CPU_QUOTA = { quota: 90_000, period: 100_000 };

export function runtimeSpec(options: RuntimeSpecOptions): Record<string, unknown> {
  const { process: proc } = options;
  const namespaces: { type: string; path?: string }[] = ['pid', 'ipc', 'uts', 'mount'].map((type) => ({ type }));
  if (!options.hostNetwork) namespaces.push({ type: 'network', ...(options.networkNamespace ? { path: options.networkNamespace } : {}) });
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
      noNewPrivileges: true,
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
      ...(options.mounts ?? []).map((mount) =>
        mount.type === 'tmpfs'
          ? { destination: mount.destination, type: 'tmpfs', source: 'tmpfs', options: mount.options }
          : { destination: mount.destination, type: 'bind', source: mount.source, options: ['rbind', mount.readonly ? 'ro' : 'rw'] },
      ),
    ],
    linux: {
      namespaces,
      cgroupsPath: `${CONTAINERS_CGROUP}/${options.id}`,
      resources: {
        memory: { limit: options.memoryBytes ?? DEFAULT_MEMORY_BYTES, swap: options.memoryBytes ?? DEFAULT_MEMORY_BYTES },
        pids: { limit: options.pidsLimit ?? DEFAULT_PIDS_LIMIT },
        cpu: options.cpuShares === undefined ? CPU_QUOTA : { ...CPU_QUOTA, shares: options.cpuShares },
      },
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
      seccomp: {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86'],
        syscalls: [{ names: [...SECCOMP_DENIED_SYSCALLS], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
      },
    },
  };
}
