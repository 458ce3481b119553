/**
 * The live writable-layer feed: while someone listens, each mounted container's changes are polled and a
 * `writable` event is emitted when they differ from the last ones sent.
 */
import type { ChangeEvent } from '../api.ts';
import type { ContainerFilesystems } from './filesystem.ts';
import type { ContainerRecords } from './records.ts';

const FEED_INTERVAL_MS = 250;

export class WritableFeed {
  #records: ContainerRecords;
  #filesystems: ContainerFilesystems;
  #emit: (event: ChangeEvent) => void;
  #timer: ReturnType<typeof setInterval> | null = null;
  #wanted = 0;
  /** The entries last sent per container; a stopped container is polled once more after each change. */
  #last = new Map<string, string>();
  /** Containers crun is still creating: their layer cannot change yet, and each look takes the guest's time. */
  #creating = new Set<string>();

  constructor(options: { records: ContainerRecords; filesystems: ContainerFilesystems; emit: (event: ChangeEvent) => void }) {
    this.#records = options.records;
    this.#filesystems = options.filesystems;
    this.#emit = options.emit;
  }

  /** Subscribe to the feed: polling runs only while someone listens. */
  watch(): () => void {
    this.#wanted++;
    this.kick();
    return () => {
      this.#wanted--;
      if (this.#wanted <= 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    };
  }

  /** The container is being created (until `created`): not polled meanwhile. */
  creating(id: string): void {
    this.#creating.add(id);
  }

  created(id: string): void {
    this.#creating.delete(id);
  }

  /** The container's layer may have changed while it was not running: look at it again. */
  forget(id: string): void {
    this.#last.delete(id);
  }

  /** Something may have changed: poll, if someone listens and polling is not on already. */
  kick(): void {
    if (this.#wanted <= 0 || this.#timer) return;
    let busy = false;
    this.#timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        for (const record of this.#records.values()) {
          if (!this.#filesystems.isMounted(record.id) || this.#creating.has(record.id)) continue;
          if (record.state !== 'running' && this.#last.has(record.id)) continue;
          const entries = await this.#filesystems.writableEntries(record).catch(() => null);
          if (!entries) continue;
          const key = JSON.stringify(entries);
          if (this.#last.get(record.id) === key) continue;
          this.#last.set(record.id, key);
          this.#emit({ type: 'writable', id: record.id, name: record.name, entries });
        }
      } finally {
        busy = false;
      }
    }, FEED_INTERVAL_MS);
  }
}
