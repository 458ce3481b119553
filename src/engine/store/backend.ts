/**
 * Where the engine persists things. Blobs are immutable and content-addressed, so writing one is safe at any
 * time; what makes data *visible* is metadata (tags, image records, containers, build cache), and metadata
 * changes only through `commit`, which applies all its puts and deletes or none of them. An image is written
 * as: blobs first, then one commit. A crash in between leaves only unreferenced blobs, which prune removes.
 */
import type { Digest } from "../oci/digest.ts";

export interface MetaTransaction {
  /** Keys to set (values are JSON-serializable). */
  put?: Record<string, unknown>;
  /** Keys to remove. */
  delete?: string[];
}

/**
 * A blob written piece by piece (a layer streaming from a registry). Nothing is visible under the digest
 * until `commit`, which the caller calls only after it has verified the bytes; `abort` discards them.
 */
export interface BlobWriter {
  write(chunk: Uint8Array): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface BlobBackend {
  getBlob(digest: Digest): Promise<Uint8Array | undefined>;
  /** Streams a blob in (see BlobWriter). Backends without it get chunks collected in memory by the store. */
  openBlobWriter?(digest: Digest): Promise<BlobWriter>;
  /** Stores bytes under `digest`. The caller has verified the digest; writing an existing blob is a no-op. */
  putBlob(digest: Digest, data: Uint8Array): Promise<void>;
  hasBlob(digest: Digest): Promise<boolean>;
  deleteBlob(digest: Digest): Promise<void>;
  listBlobs(): Promise<Digest[]>;

  getMeta<T = unknown>(key: string): Promise<T | undefined>;
  /** All entries whose key starts with `prefix`, sorted by key. */
  listMeta<T = unknown>(prefix: string): Promise<Array<[string, T]>>;
  /** Apply all puts and deletes atomically. */
  commit(tx: MetaTransaction): Promise<void>;

  close(): Promise<void>;
}

/** Same semantics as the persistent backends, in memory: for tests and throwaway engines. */
export class MemoryBackend implements BlobBackend {
  readonly blobs = new Map<Digest, Uint8Array>();
  readonly meta = new Map<string, string>();

  async getBlob(digest: Digest) {
    const b = this.blobs.get(digest);
    return b ? b.slice() : undefined;
  }
  async putBlob(digest: Digest, data: Uint8Array) {
    if (!this.blobs.has(digest)) this.blobs.set(digest, data.slice());
  }
  async hasBlob(digest: Digest) {
    return this.blobs.has(digest);
  }
  async deleteBlob(digest: Digest) {
    this.blobs.delete(digest);
  }
  async listBlobs() {
    return [...this.blobs.keys()].sort();
  }
  async getMeta<T>(key: string) {
    const v = this.meta.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }
  async listMeta<T>(prefix: string) {
    return [...this.meta.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, JSON.parse(v) as T] as [string, T]);
  }
  async commit(tx: MetaTransaction) {
    // Serialize first so a non-JSON value fails before anything changes.
    const puts = Object.entries(tx.put ?? {}).map(
      ([k, v]) => [k, JSON.stringify(v)] as const,
    );
    for (const k of tx.delete ?? []) this.meta.delete(k);
    for (const [k, v] of puts) this.meta.set(k, v);
  }
  async close() {}
}
