import { describe, expect, it } from 'vitest';
import { CPU_QUOTA, runtimeSpec, SECCOMP_DENIED_SYSCALLS } from './spec.ts';

const spec = runtimeSpec({ process: { args: ['sh'], env: [], cwd: '/', uid: 0, gid: 0 }, rootfs: '/r', hostname: 'h' }) as {
  process: { noNewPrivileges: boolean };
  linux: { resources: { cpu: unknown; devices: { allow: boolean; type?: string; major?: number; minor?: number; access: string }[] }; maskedPaths: string[]; seccomp: { defaultAction: string; syscalls: { names: string[]; action: string }[] } };
};

describe('runtimeSpec: Docker-like confinement', () => {
  it('sets no_new_privs, a CPU quota, masked /proc paths', () => {
    expect(spec.process.noNewPrivileges).toBe(true);
    expect(spec.linux.resources.cpu).toEqual(CPU_QUOTA);
    expect(spec.linux.maskedPaths).toEqual(expect.arrayContaining(['/proc/kcore', '/proc/keys', '/sys/firmware']));
  });
  it('denies devices but the standard ones, first rule deny-all', () => {
    const rules = spec.linux.resources.devices;
    expect(rules[0]).toEqual({ allow: false, access: 'rwm' });
    expect(rules).toContainEqual({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' });
    expect(rules).not.toContainEqual(expect.objectContaining({ allow: true, type: 'c', major: 1, minor: 1, access: 'rwm' }));
  });
  it('filters the syscalls Docker refuses with EPERM', () => {
    expect(spec.linux.seccomp.defaultAction).toBe('SCMP_ACT_ALLOW');
    expect(spec.linux.seccomp.syscalls[0]!.action).toBe('SCMP_ACT_ERRNO');
    expect(spec.linux.seccomp.syscalls[0]!.names).toEqual([...SECCOMP_DENIED_SYSCALLS]);
    expect(SECCOMP_DENIED_SYSCALLS).toEqual(expect.arrayContaining(['mount', 'unshare', 'setns', 'ptrace', 'reboot', 'kexec_load', 'init_module']));
  });
});
