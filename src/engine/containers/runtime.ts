/**
 * crun in the guest, for one container: its OCI runtime config, the argv of `crun exec`, pause/resume,
 * its state, and what `docker top` and `docker stats` read from its cgroup.
 */
import { readGuestText, type Guest } from '../guest.ts';
import { toBase64 } from '../util/base64.ts';
import { containerCgroupDir, runtimeSpec } from '../runtime/spec.ts';
import type { SeccompFilters } from '../runtime/seccomp-filters.ts';
import { EngineError } from '../oci/errors.ts';
import { spawnInGuest } from '../guest-spawn.ts';
import { resolveUser } from '../build/users.ts';
import type { ContainerStatsSample } from '../api.ts';
import { parseProcesses, parseStats, type GuestProcess } from './procfs.ts';
import { containerDir, NETWORK_FILES, sleep, volumeDir, type ContainerRecord } from './record.ts';
import type { ContainerNetworking } from './networking.ts';

export interface ExecOptions {
  env?: string[];
  workdir?: string;
  user?: string;
}

export class ContainerRuntime {
  #guest: Guest;
  #networking: ContainerNetworking;
  #seccomp: SeccompFilters;

  constructor(options: { guest: Guest; networking: ContainerNetworking; seccomp: SeccompFilters }) {
    this.#guest = options.guest;
    this.#networking = options.networking;
    this.#seccomp = options.seccomp;
  }

  async crun(command: 'pause' | 'resume', id: string): Promise<void> {
    const { exit, stdout, stderr } = await spawnInGuest(this.#guest, ['/usr/bin/crun', command, id]);
    if (exit !== 0) throw new EngineError(`Cannot ${command === 'resume' ? 'unpause' : 'pause'} container ${id}: ${(stderr + stdout).trim() || `crun ${command} failed (exit ${exit})`}`);
  }

  /**
   * Starts crun detached and answers once crun has written its state (exec and kill need it), or crun has
   * ended. The agent waits in the guest (`waitCreated`): crun writes the state after the createRuntime hooks
   * (the network wiring), which take a while under emulation, and a look from the host would be a round
   * trip taking guest CPU from the starting container. A config without crun's compiled seccomp filter
   * teaches it (`SeccompFilters`) to the containers after this one.
   */
  async startDetached(id: string, bundle: string, config: Record<string, unknown>, options: { stdin?: Uint8Array; running: () => boolean }): Promise<void> {
    const { stdin, running } = options;
    const { created } = await this.#guest.request(
      'run',
      { name: id, bundle, config, detach: true, waitCreated: true, ...(stdin ? { stdin: toBase64(stdin) } : {}) },
      // The agent answers within 30 s of crun's start.
      { timeoutMs: 60_000 },
    );
    // An agent from before waitCreated (a saved state of an earlier build) answers at once: look from here.
    if (created === undefined) await this.#untilStatus(id, running);
    // Not awaited: the learner's container does not wait for the read (short-lived ones are gone before it).
    if (created) void this.#seccomp.learn(this.#guest, id, config);
  }

  async #untilStatus(id: string, running: () => boolean): Promise<void> {
    for (let pause = 20, deadline = Date.now() + 30_000; Date.now() < deadline; pause = Math.min(pause * 2, 250)) {
      const found = await this.#guest.request('read', { path: `/run/crun/${id}/status` }).then(() => true, () => false);
      if (found || !running()) return;
      await sleep(pause);
    }
  }

  /**
   * `crun delete -f`, only when crun holds state for the container: a foreground `crun run` removes its own
   * when the process ends, and starting crun costs up to seconds under emulation.
   */
  async crunDelete(id: string): Promise<void> {
    const held = await this.#guest.request('readdir', { path: '/run/crun' }).then(
      (listing) => listing.names.includes(id),
      (error: Error) => !/No such file/.test(error.message), // no /run/crun yet: nothing ever ran
    );
    if (held) await this.#guest.request('delete', { name: id }).catch(() => {});
  }

  /** The uid/gid a USER names, looked up in the container's own /etc/passwd and /etc/group. */
  async #ids(record: ContainerRecord, user: string) {
    if (!user || user === 'root' || /^\d+(:\d+)?$/.test(user)) return resolveUser(user, {});
    const read = (path: string) => readGuestText(this.#guest, `${containerDir(record.id)}/rootfs${path}`).catch(() => undefined);
    return resolveUser(user, { passwd: await read('/etc/passwd'), group: await read('/etc/group') });
  }

  async execArgv(record: ContainerRecord, command: string[], options: ExecOptions, tty: boolean): Promise<string[]> {
    const ids = await this.#ids(record, options.user ?? record.user);
    return [
      '/usr/bin/crun',
      'exec',
      ...(tty ? ['--tty'] : []),
      ...(options.env ?? []).flatMap((e) => ['--env', e]),
      '--cwd',
      options.workdir ?? (record.workdir || '/'),
      '--user',
      `${ids.uid}:${ids.gid}`,
      record.id,
      ...command,
    ];
  }

  async runtimeConfig(record: ContainerRecord, options: { terminal: boolean }) {
    const ids = await this.#ids(record, record.user);
    const dir = containerDir(record.id);
    const networkFiles = NETWORK_FILES.map((f) => ({ source: `${dir}/${f}`, destination: `/etc/${f}` }));
    return this.#seccomp.annotate(runtimeSpec({
      id: record.id,
      process: { args: record.args, env: record.env, cwd: record.workdir || '/', ...ids, terminal: options.terminal },
      rootfs: `${dir}/rootfs`,
      hostname: record.hostname,
      mounts: [...networkFiles, ...record.volumes.map((v) => ({ source: volumeDir(v.name), destination: v.destination }))],
      memoryBytes: record.memoryBytes,
      pidsLimit: record.pidsLimit,
      hostNetwork: record.network === 'host',
      ...(await this.#networking.wiring(record)),
    }));
  }

  /** The processes of a running container: pid, ppid, uid and the /proc fields `docker top` shows. */
  async processes(record: ContainerRecord): Promise<GuestProcess[]> {
    const script = [
      `for p in $(cat ${containerCgroupDir(record.id)}/cgroup.procs); do`,
      '  s=$(cat /proc/$p/stat 2>/dev/null) || continue',
      '  u=$(awk \'/^Uid:/ {print $2}\' /proc/$p/status 2>/dev/null)',
      '  c=$(tr \'\\0\' \' \' < /proc/$p/cmdline 2>/dev/null)',
      '  printf \'P %s\\t%s\\t%s\\n\' "$u" "$c" "$s"',
      'done',
      `awk '/^btime/ {print "B " $2}' /proc/stat`,
      `awk '{print "U " $1}' /proc/uptime`,
    ].join('\n');
    const { stdout } = await spawnInGuest(this.#guest, ['/bin/sh', '-c', script]);
    return parseProcesses(stdout);
  }

  /** One sample of a running container's cgroup v2 counters and network bytes, for `docker stats`. */
  async statsSample(record: ContainerRecord, read: string): Promise<ContainerStatsSample> {
    const cg = containerCgroupDir(record.id);
    const script = [
      `echo '## cpu'; cat ${cg}/cpu.stat`,
      `echo '## memcur'; cat ${cg}/memory.current`,
      `echo '## memmax'; cat ${cg}/memory.max`,
      `echo '## memstat'; cat ${cg}/memory.stat`,
      `echo '## io'; cat ${cg}/io.stat`,
      `echo '## pids'; cat ${cg}/pids.current`,
      `echo '## proc'; head -1 /proc/stat; grep -c '^processor' /proc/cpuinfo; awk '/^MemTotal/ {print $2}' /proc/meminfo`,
      `echo '## net'; p=$(head -1 ${cg}/cgroup.procs); [ -n "$p" ] && cat /proc/$p/net/dev`,
      'true',
    ].join('\n');
    const { stdout } = await spawnInGuest(this.#guest, ['/bin/sh', '-c', script]);
    return { id: record.id, name: record.name, read, running: true, ...parseStats(stdout, record.network === 'host') };
  }
}
