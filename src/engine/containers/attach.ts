/**
 * `run -it` / `exec -it` from the guest terminal: the guest's client runs crun on its own tty, so the engine
 * hands it a command and hears back when it ends.
 */
import { ConflictError } from '../oci/errors.ts';
import { textToBase64 } from '../util/base64.ts';
import { randomId } from './names.ts';
import { containerDir, type ContainerRecord } from './record.ts';
import type { ExecOptions } from './runtime.ts';
import type { ContainerParts } from './parts.ts';

export class ContainerAttachments {
  #parts: ContainerParts;
  #exited: (id: string, exitCode: number) => Promise<void>;
  /** Attachment ref → the container whose main process it runs ('' for an exec). */
  #attachments = new Map<string, string>();

  constructor(parts: ContainerParts, exited: (id: string, exitCode: number) => Promise<void>) {
    this.#parts = parts;
    this.#exited = exited;
  }

  /** The crun command the guest's client runs on its tty: `crun run` of the container, or `crun exec` in it. */
  async command(record: ContainerRecord, exec?: ExecOptions & { command: string[] }): Promise<{ argv: string[]; ref: string }> {
    const { filesystems, runtime, networking, guest, records, emit, feed } = this.#parts;
    const ref = randomId().slice(0, 16);
    if (exec) {
      if (record.state !== 'running') throw new ConflictError(`Container ${record.id} is not running`);
      if (record.paused) throw new ConflictError(`Container ${record.id} is paused, unpause the container before exec`);
      this.#attachments.set(ref, '');
      return { argv: await runtime.execArgv(record, exec.command, exec, true), ref };
    }
    await filesystems.ensureMounted(record);
    await runtime.crunDelete(record.id);
    await networking.prepare(record);
    const config = await runtime.runtimeConfig(record, { terminal: true });
    await guest.request('write', { path: `${containerDir(record.id)}/config.json`, data: textToBase64(JSON.stringify(config)) });
    Object.assign(record, { state: 'running', startedAt: new Date().toISOString(), finishedAt: null, exitCode: null });
    await records.save(record);
    this.#attachments.set(ref, record.id);
    emit({ type: 'container', action: 'start', id: record.id, name: record.name, state: 'running' });
    feed.kick();
    return { argv: ['/usr/bin/crun', 'run', '--bundle', containerDir(record.id), record.id], ref };
  }

  /** The attached command ended; for a container's main process, the container exited with its code. */
  async ended(ref: string, exitCode: number): Promise<void> {
    const id = this.#attachments.get(ref);
    this.#attachments.delete(ref);
    if (id) await this.#exited(id, exitCode);
  }
}
