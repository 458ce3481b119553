/**
 * Lesson steps' checkpoints: the VM's whole state and the store's metadata, in memory. Rewinding puts
 * both back, so a learner can experiment and return to the start of the step. The last few are kept.
 * (Blobs are content-addressed and stay; an image removed after the checkpoint comes back by metadata,
 * with its layers still unpacked in the restored VM.)
 */
import type { Machine } from '../machine/machine.ts';
import type { BlobBackend } from '../engine/store/backend.ts';

const KEPT = 4;

export interface Checkpoint {
  state: ArrayBuffer;
  meta: [string, unknown][];
}

export class Checkpoints {
  #saved = new Map<string, Checkpoint>();

  async take(key: string, machine: Machine, backend: BlobBackend): Promise<void> {
    const state = await machine.saveState();
    const meta = await backend.listMeta<unknown>('');
    this.#saved.delete(key);
    this.#saved.set(key, { state, meta });
    while (this.#saved.size > KEPT) this.#saved.delete(this.#saved.keys().next().value!);
  }

  has(key: string): boolean {
    return this.#saved.has(key);
  }

  get(key: string): Checkpoint {
    const saved = this.#saved.get(key);
    if (!saved) throw new Error('this step has no checkpoint to go back to (it began before the page was loaded)');
    return saved;
  }
}

/** Puts the store's metadata back as it was at the checkpoint (the VM state is restored by the daemon). */
export async function restoreMeta(backend: BlobBackend, saved: Checkpoint): Promise<void> {
  const now = await backend.listMeta<unknown>('');
  const keep = new Set(saved.meta.map(([k]) => k));
  await backend.commit({ delete: now.map(([k]) => k).filter((k) => !keep.has(k)), put: Object.fromEntries(saved.meta) });
}
