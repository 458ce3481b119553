/**
 * The container records the engine owns: lookups by name or ID prefix, and their persistence (records
 * under `container/`, logs under `logs/` in the blob backend's metadata).
 */
import type { BlobBackend } from '../store/backend.ts';
import { EngineError, NotFoundError } from '../oci/errors.ts';
import type { LogEntry } from '../api.ts';
import type { ContainerRecord } from './record.ts';

export class ContainerRecords {
  #backend: BlobBackend;
  #records = new Map<string, ContainerRecord>();
  /** IDs removed in this session: a late save of one of them must not bring it back. */
  readonly #removed = new Set<string>();

  constructor(backend: BlobBackend) {
    this.#backend = backend;
  }

  /** The saved records, each with its saved logs. */
  async load(): Promise<{ record: ContainerRecord; logs: LogEntry[] }[]> {
    const loaded = [];
    for (const [, record] of await this.#backend.listMeta<ContainerRecord>('container/')) {
      loaded.push({ record, logs: (await this.#backend.getMeta<LogEntry[]>(`logs/${record.id}`)) ?? [] });
    }
    return loaded;
  }

  find(ref: string): ContainerRecord {
    const byName = [...this.#records.values()].find((r) => r.name === ref.replace(/^\//, ''));
    if (byName) return byName;
    const byId = [...this.#records.values()].filter((r) => ref.length >= 1 && r.id.startsWith(ref));
    if (byId.length === 1) return byId[0];
    if (byId.length > 1) throw new EngineError(`multiple IDs found with provided prefix: ${ref}`);
    throw new NotFoundError('container', ref);
  }

  get(id: string): ContainerRecord | undefined {
    return this.#records.get(id);
  }

  has(id: string): boolean {
    return this.#records.has(id);
  }

  all(): ContainerRecord[] {
    return [...this.#records.values()];
  }

  /** A live view: records removed while it is being walked are skipped. */
  values(): IterableIterator<ContainerRecord> {
    return this.#records.values();
  }

  named(name: string): ContainerRecord | undefined {
    return [...this.#records.values()].find((r) => r.name === name);
  }

  add(record: ContainerRecord): void {
    this.#records.set(record.id, record);
  }

  async save(record: ContainerRecord): Promise<void> {
    // A container that exited and was auto-removed while its start was still finishing stays removed.
    if (this.#removed.has(record.id)) return;
    await this.#backend.commit({ put: { [`container/${record.id}`]: record } });
  }

  /** A stopped container: its record and its logs in one commit. */
  async saveWithLogs(record: ContainerRecord, logs: LogEntry[]): Promise<void> {
    await this.#backend.commit({ put: { [`container/${record.id}`]: record, [`logs/${record.id}`]: logs } });
  }

  /** Forgets the record for good (this session's late saves included) and deletes what was saved of it. */
  async remove(record: ContainerRecord): Promise<void> {
    this.#records.delete(record.id);
    this.#removed.add(record.id);
    await this.#backend.commit({ delete: [`container/${record.id}`, `logs/${record.id}`] });
  }
}
