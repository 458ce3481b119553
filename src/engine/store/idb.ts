/**
 * A store in IndexedDB (the browser). The only importer of `idb`. Blobs and metadata are separate object
 * stores; `commit` is a single readwrite transaction on the metadata store, which IndexedDB applies
 * atomically even if the tab closes mid-way.
 */
import { openDB, type IDBPDatabase } from "idb";
import type { Digest } from "../oci/digest.ts";
import { EngineError } from "../oci/errors.ts";
import type { BlobBackend, MetaTransaction } from "./backend.ts";

export interface IdbBackendOptions {
  /** Database name. Default `layerlab`. (Tests use fake-indexeddb/auto, which provides the globals.) */
  name?: string;
}

const BLOBS = "blobs";
const META = "meta";

export class IdbBackend implements BlobBackend {
  private constructor(private readonly db: IDBPDatabase) {}

  static async open(options: IdbBackendOptions = {}): Promise<IdbBackend> {
    if (!globalThis.indexedDB)
      throw new Error("IndexedDB is not available in this environment");
    const db = await openDB(options.name ?? "layerlab", 1, {
      upgrade(db) {
        // Schema of the *object stores*; the data schema version lives in metadata (see ImageStore).
        if (!db.objectStoreNames.contains(BLOBS)) db.createObjectStore(BLOBS);
        if (!db.objectStoreNames.contains(META)) db.createObjectStore(META);
      },
    });
    return new IdbBackend(db);
  }

  async getBlob(digest: Digest) {
    const v = (await this.db.get(BLOBS, digest)) as Uint8Array | undefined;
    return v ? new Uint8Array(v) : undefined;
  }
  async putBlob(digest: Digest, data: Uint8Array) {
    await quotaChecked(async () => {
      const tx = this.db.transaction(BLOBS, "readwrite");
      if ((await tx.store.getKey(digest)) === undefined)
        await tx.store.put(data.slice(), digest);
      await tx.done;
    });
  }
  async hasBlob(digest: Digest) {
    return (await this.db.getKey(BLOBS, digest)) !== undefined;
  }
  async deleteBlob(digest: Digest) {
    await this.db.delete(BLOBS, digest);
  }
  async listBlobs() {
    return ((await this.db.getAllKeys(BLOBS)) as Digest[]).sort();
  }
  async getMeta<T>(key: string) {
    return (await this.db.get(META, key)) as T | undefined;
  }
  async listMeta<T>(prefix: string) {
    // '\uffff' sorts after any character we use in keys, so this is "everything starting with prefix".
    const range = IDBKeyRange.bound(prefix, `${prefix}\uffff`);
    const tx = this.db.transaction(META, "readonly");
    const out: Array<[string, T]> = [];
    for await (const cursor of tx.store.iterate(range))
      out.push([cursor.key as string, cursor.value as T]);
    await tx.done;
    return out;
  }
  async commit(t: MetaTransaction) {
    await quotaChecked(async () => {
      const tx = this.db.transaction(META, "readwrite");
      const ops: Promise<unknown>[] = [];
      for (const k of t.delete ?? []) ops.push(tx.store.delete(k));
      for (const [k, v] of Object.entries(t.put ?? {}))
        ops.push(tx.store.put(JSON.parse(JSON.stringify(v)), k));
      await Promise.all([...ops, tx.done]);
    });
  }
  async close() {
    this.db.close();
  }
}

/** The browser's storage for this site is full: say so, and how to make room (the write did not happen). */
export class StorageFullError extends EngineError {
  constructor() {
    super(
      "the browser's storage for Layerlab is full: remove images or containers you no longer need (docker image prune -a, docker container prune), then try again",
    );
    this.name = "StorageFullError";
  }
}

async function quotaChecked(write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (error) {
    if ((error as { name?: string })?.name === "QuotaExceededError") throw new StorageFullError();
    throw error;
  }
}
