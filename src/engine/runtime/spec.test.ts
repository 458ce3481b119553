import { describe, expect, it } from 'vitest';
import { containerCgroupDir, CPU_QUOTA, runtimeSpec, SECCOMP_DENIED_SYSCALLS } from './spec.ts';

const spec = runtimeSpec({ id: 'c1', process: { args: ['sh'], env: [], cwd: '/', uid: 0, gid: 0 }, rootfs: '/r', hostname: 'h' }) as {
  process: { noNewPrivileges: boolean };
  linux: { cgroupsPath: string; resources: { cpu: unknown; devices?: unknown }; maskedPaths: string[]; seccomp: { defaultAction: string; syscalls: { names: string[]; action: string }[] } };
};

describe('runtimeSpec: Docker-like confinement', () => {
  it('sets no_new_privs, a CPU quota, masked /proc paths', () => {
    expect(spec.process.noNewPrivileges).toBe(true);
    expect(spec.linux.resources.cpu).toEqual(CPU_QUOTA);
    expect(spec.linux.maskedPaths).toEqual(expect.arrayContaining(['/proc/kcore', '/proc/keys', '/sys/firmware']));
  });
  it('places the container under the parent cgroup that holds the device rules, listing none itself', () => {
    expect(spec.linux.cgroupsPath).toBe('/docker/c1');
    expect(containerCgroupDir('c1')).toBe('/sys/fs/cgroup/docker/c1');
    // A device list would make crun load a program of its own at each start (hardening.vm.test.ts checks the rules).
    expect(spec.linux.resources.devices).toBeUndefined();
  });
  it('filters the syscalls Docker refuses with EPERM', () => {
    expect(spec.linux.seccomp.defaultAction).toBe('SCMP_ACT_ALLOW');
    expect(spec.linux.seccomp.syscalls[0]!.action).toBe('SCMP_ACT_ERRNO');
    expect(spec.linux.seccomp.syscalls[0]!.names).toEqual([...SECCOMP_DENIED_SYSCALLS]);
    expect(SECCOMP_DENIED_SYSCALLS).toEqual(expect.arrayContaining(['mount', 'unshare', 'setns', 'ptrace', 'reboot', 'kexec_load', 'init_module']));
  });
});
