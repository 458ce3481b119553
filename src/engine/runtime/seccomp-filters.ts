/**
 * crun's compiled seccomp filters, learned from crun itself and handed back to it. Debian's crun is built
 * without libgcrypt, so its own filter cache (keyed by a sha256) is off and every container start compiles the
 * same `linux.seccomp` section with libseccomp again (~2 M guest instructions). crun writes the filter it
 * compiled to `/run/crun/<id>/seccomp.bpf` (its state dir, there while the container exists) and, given the
 * annotation `run.oci.seccomp_bpf_data` (that file's bytes, base64), loads those bytes instead of compiling
 * (crun(1), "run.oci.seccomp_bpf_data"). The filter depends only on the section (and crun's libseccomp): one
 * entry per distinct section, read once from a container started without the annotation. The config keeps its
 * `linux.seccomp` section, which documents the filter and which crun needs for the annotation to apply.
 */
import type { Guest } from '../guest.ts';
import { fromBase64 } from '../util/base64.ts';

export const SECCOMP_BPF_ANNOTATION = 'run.oci.seccomp_bpf_data';

/** Distinct seccomp sections kept; the engine makes one today, so this only bounds a misuse. */
const MAX_FILTERS = 8;

/** The subset of a runtime config (runtimeSpec's result) these filters look at and annotate. */
type RuntimeConfig = Record<string, unknown> & { linux?: { seccomp?: unknown }; annotations?: Record<string, string> };

export class SeccompFilters {
  /** JSON of a `linux.seccomp` section → crun's compiled filter for it (base64). */
  #filters = new Map<string, string>();

  #key(config: RuntimeConfig): string | undefined {
    const section = config.linux?.seccomp;
    return section ? JSON.stringify(section) : undefined;
  }

  /** The config with the learned filter as crun's annotation, when its section has one; else as it was. */
  annotate<T extends RuntimeConfig>(config: T): T {
    const key = this.#key(config);
    const bpf = key === undefined ? undefined : this.#filters.get(key);
    if (bpf === undefined) return config;
    return { ...config, annotations: { ...config.annotations, [SECCOMP_BPF_ANNOTATION]: bpf } };
  }

  /** The config has a seccomp section whose filter is not known yet (a container started with it can teach it). */
  unlearned(config: RuntimeConfig): boolean {
    const key = this.#key(config);
    return key !== undefined && !this.#filters.has(key) && !config.annotations?.[SECCOMP_BPF_ANNOTATION];
  }

  /**
   * Reads the filter crun compiled for container `id`, started with `config` (no annotation) and created (its
   * state written). A container already gone, or an empty file, teaches nothing: a later one tries again.
   */
  async learn(guest: Pick<Guest, 'request'>, id: string, config: RuntimeConfig): Promise<void> {
    if (!this.unlearned(config)) return;
    const key = this.#key(config)!;
    const { data } = await guest.request('read', { path: `/run/crun/${id}/seccomp.bpf` }).catch(() => ({ data: '' }));
    // A BPF program is whole 8-byte instructions: anything else is not crun's finished file.
    const length = fromBase64(data).length;
    if (length === 0 || length % 8 !== 0) return;
    if (this.#filters.size >= MAX_FILTERS) this.#filters.delete(this.#filters.keys().next().value!);
    this.#filters.set(key, data);
  }
}
