import { describe, expect, it } from 'vitest';
import { SECCOMP_BPF_ANNOTATION, SeccompFilters } from './seccomp-filters.ts';
import { runtimeSpec } from './spec.ts';
import { toBase64 } from '../util/base64.ts';
import type { Guest } from '../guest.ts';

const config = () => runtimeSpec({ id: 'c', process: { args: ['true'], env: [], cwd: '/', uid: 0, gid: 0 }, rootfs: '/r', hostname: 'h' });
const withSection = (seccomp: unknown) => ({ ...config(), linux: { seccomp } });
const BPF = toBase64(new Uint8Array(16).fill(7));

/** A guest whose crun state holds these files (path → base64), and the paths read. */
function guestWith(files: Record<string, string>) {
  const reads: string[] = [];
  const guest: Pick<Guest, 'request'> = {
    request: (async (op: string, params: { path: string }) => {
      if (op !== 'read') throw new Error(`unexpected ${op}`);
      reads.push(params.path);
      if (!(params.path in files)) throw new Error(`guest read: ${params.path}: No such file or directory`);
      return { data: files[params.path] };
    }) as Guest['request'],
  };
  return { guest, reads };
}

describe('SeccompFilters', () => {
  it('learns the filter crun compiled from its state dir, then annotates every config with that section', async () => {
    const filters = new SeccompFilters();
    const first = config();
    expect(filters.unlearned(first)).toBe(true);
    expect(filters.annotate(first)).toBe(first);
    const { guest, reads } = guestWith({ '/run/crun/c1/seccomp.bpf': BPF });
    await filters.learn(guest, 'c1', first);
    expect(reads).toEqual(['/run/crun/c1/seccomp.bpf']);

    const next = config();
    const annotated = filters.annotate(next) as typeof next & { annotations: Record<string, string>; linux: { seccomp: unknown } };
    expect(annotated.annotations).toEqual({ [SECCOMP_BPF_ANNOTATION]: BPF });
    // The section stays: it documents the filter, and crun applies the annotation only with one.
    expect(annotated.linux.seccomp).toEqual((next as { linux: { seccomp: unknown } }).linux.seccomp);
    expect(next).not.toHaveProperty('annotations');
    expect(filters.unlearned(next)).toBe(false);
    expect(filters.unlearned(annotated)).toBe(false);
    // Learnt once: another container with the same section reads nothing.
    await filters.learn(guest, 'c2', config());
    expect(reads).toHaveLength(1);
  });

  it('keeps annotations the config already has', async () => {
    const filters = new SeccompFilters();
    await filters.learn(guestWith({ '/run/crun/c/seccomp.bpf': BPF }).guest, 'c', config());
    const annotated = filters.annotate({ ...config(), annotations: { 'org.example': 'x' } });
    expect(annotated.annotations).toEqual({ 'org.example': 'x', [SECCOMP_BPF_ANNOTATION]: BPF });
  });

  it('keys filters by the exact section: another section is not annotated, a config without one never is', async () => {
    const filters = new SeccompFilters();
    await filters.learn(guestWith({ '/run/crun/c/seccomp.bpf': BPF }).guest, 'c', withSection({ defaultAction: 'SCMP_ACT_ALLOW' }));
    expect(filters.annotate(withSection({ defaultAction: 'SCMP_ACT_ALLOW' }))).toHaveProperty('annotations');
    const other = withSection({ defaultAction: 'SCMP_ACT_ERRNO' });
    expect(filters.annotate(other)).toBe(other);
    expect(filters.unlearned(other)).toBe(true);
    const none = { ...config(), linux: {} };
    expect(filters.unlearned(none)).toBe(false);
    expect(filters.annotate(none)).toBe(none);
  });

  it('learns nothing from a container already gone or a file that is not whole BPF instructions', async () => {
    const filters = new SeccompFilters();
    const { guest } = guestWith({ '/run/crun/short/seccomp.bpf': toBase64(new Uint8Array(12)), '/run/crun/empty/seccomp.bpf': '' });
    for (const id of ['gone', 'short', 'empty']) await filters.learn(guest, id, config());
    expect(filters.unlearned(config())).toBe(true);
  });

  it('keeps a bounded number of sections, forgetting the oldest', async () => {
    const filters = new SeccompFilters();
    const sections = Array.from({ length: 9 }, (_, i) => withSection({ defaultAction: 'SCMP_ACT_ALLOW', n: i }));
    for (const [i, section] of sections.entries()) await filters.learn(guestWith({ [`/run/crun/c${i}/seccomp.bpf`]: BPF }).guest, `c${i}`, section);
    expect(sections.map((s) => filters.unlearned(s))).toEqual([true, ...Array(8).fill(false)]);
  });
});
