/**
 * The editor's files mirrored into /workspace in the guest, so `docker build .` typed in the terminal
 * sees them. Only what changed is written.
 */
import type { Machine } from '../machine/machine.ts';
import { toBase64 } from '../engine/util/base64.ts';

/** Where the learner's workspace appears in the guest: `docker build .` there sees the editor's files. */
export const GUEST_WORKSPACE = '/workspace';

export class WorkspaceMirror {
  /** Path → base64 content, as last written to the guest. */
  #written = new Map<string, string>();

  /** A new VM has none of the files. */
  clear(): void {
    this.#written.clear();
  }

  async sync(machine: Machine, files: { path: string; data: Uint8Array }[]): Promise<void> {
    const seen = new Set<string>();
    const requests: Promise<unknown>[] = [];
    // All requests are queued to the agent at once, in this tick: a `docker build .` typed right after an
    // edit reaches the agent behind them, so it packs the new files.
    for (const file of files) {
      seen.add(file.path);
      const encoded = toBase64(file.data);
      if (this.#written.get(file.path) === encoded) continue;
      this.#written.set(file.path, encoded);
      requests.push(
        machine.request('write', { path: `${GUEST_WORKSPACE}/${file.path}`, data: encoded, mode: contextMode(file.path, file.data) & 0o777 }).catch((error) => {
          this.#written.delete(file.path);
          throw error;
        }),
      );
    }
    for (const path of [...this.#written.keys()]) {
      if (seen.has(path)) continue;
      this.#written.delete(path);
      requests.push(machine.request('rm', { path: `${GUEST_WORKSPACE}/${path}` }).catch(() => {}));
    }
    await Promise.all(requests);
  }
}

/** Workspace files have no modes: scripts (`#!`) are executable, everything else 0644. */
export function contextMode(path: string, data: Uint8Array): number {
  const script = data[0] === 0x23 && data[1] === 0x21;
  return 0o100000 | (script || path.endsWith('.sh') ? 0o755 : 0o644);
}
