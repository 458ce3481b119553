/**
 * A store in a directory, for Node (CLI, tests, benchmarks). Kept in its own module so the browser bundle
 * never imports node:fs.
 *
 *   <root>/blobs/sha256/<hex>   immutable blobs
 *   <root>/meta.json            all metadata, one JSON object
 *
 * Metadata is one file replaced by write-temp, fsync, rename: rename is atomic on POSIX filesystems, so a
 * reader (or a restart after a crash) sees the old metadata or the new, never half. Metadata is small (tags,
 * image records), so rewriting it per commit is cheap and buys multi-key atomicity for free.
 */
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
} from "node:fs/promises";
import { join } from "node:path";
import { digestHex, isDigest, type Digest } from "../oci/digest.ts";
import type { BlobBackend, BlobWriter, MetaTransaction } from "./backend.ts";

export interface NodeDirBackendOptions {
  /** Directory to keep the store in; created if missing. */
  root: string;
}

export class NodeDirBackend implements BlobBackend {
  readonly root: string;
  #meta: Map<string, unknown> | undefined;
  /** Commits run one at a time so two in-process writers never interleave temp files. */
  #queue: Promise<void> = Promise.resolve();
  #tmpCounter = 0;

  private constructor(root: string) {
    this.root = root;
  }

  static async open(options: NodeDirBackendOptions): Promise<NodeDirBackend> {
    const b = new NodeDirBackend(options.root);
    await mkdir(join(options.root, "blobs", "sha256"), { recursive: true });
    await b.#cleanTemps();
    return b;
  }

  #blobPath(digest: Digest): string {
    if (!isDigest(digest)) throw new Error(`not a digest: ${digest}`);
    return join(this.root, "blobs", "sha256", digestHex(digest));
  }

  async getBlob(digest: Digest) {
    try {
      return new Uint8Array(await readFile(this.#blobPath(digest)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  async putBlob(digest: Digest, data: Uint8Array) {
    const path = this.#blobPath(digest);
    if (await exists(path)) return;
    await writeAtomic(
      path,
      data,
      `${path}.tmp-${process.pid}-${this.#tmpCounter++}`,
    );
  }

  /** A temp file renamed into place on commit; a crash leaves only a `.tmp-` file, removed at the next open. */
  async openBlobWriter(digest: Digest): Promise<BlobWriter> {
    const path = this.#blobPath(digest);
    const tmp = `${path}.tmp-${process.pid}-${this.#tmpCounter++}`;
    const fh = await open(tmp, "w");
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await fh.close();
    };
    return {
      write: async (chunk) => {
        await fh.write(chunk);
      },
      commit: async () => {
        await fh.sync();
        await close();
        await rename(tmp, path);
      },
      abort: async () => {
        await close().catch(() => {});
        await rm(tmp, { force: true });
      },
    };
  }

  async hasBlob(digest: Digest) {
    return exists(this.#blobPath(digest));
  }

  async deleteBlob(digest: Digest) {
    await rm(this.#blobPath(digest), { force: true });
  }

  async listBlobs() {
    const names = await readdir(join(this.root, "blobs", "sha256"));
    return names
      .map((n) => `sha256:${n}`)
      .filter(isDigest)
      .sort();
  }

  async #load(): Promise<Map<string, unknown>> {
    if (!this.#meta) {
      try {
        const text = await readFile(join(this.root, "meta.json"), "utf8");
        this.#meta = new Map(
          Object.entries(JSON.parse(text) as Record<string, unknown>),
        );
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        this.#meta = new Map();
      }
    }
    return this.#meta;
  }

  async getMeta<T>(key: string) {
    const v = (await this.#load()).get(key);
    return v === undefined ? undefined : (structuredClone(v) as T);
  }

  async listMeta<T>(prefix: string) {
    const meta = await this.#load();
    return [...meta.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, structuredClone(v) as T] as [string, T]);
  }

  commit(tx: MetaTransaction): Promise<void> {
    const run = this.#queue.then(async () => {
      const current = await this.#load();
      const next = new Map(current);
      for (const k of tx.delete ?? []) next.delete(k);
      for (const [k, v] of Object.entries(tx.put ?? {}))
        next.set(k, JSON.parse(JSON.stringify(v)));
      const path = join(this.root, "meta.json");
      const text = JSON.stringify(
        Object.fromEntries(
          [...next.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
        ),
      );
      await writeAtomic(
        path,
        new TextEncoder().encode(text),
        `${path}.tmp-${process.pid}-${this.#tmpCounter++}`,
      );
      this.#meta = next; // only after the rename: a failed write leaves memory and disk agreeing
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async close() {
    await this.#queue;
  }

  /** Temp files are leftovers of a crash mid-write; they were never visible, so drop them. */
  async #cleanTemps() {
    for (const dir of [this.root, join(this.root, "blobs", "sha256")]) {
      for (const name of await readdir(dir)) {
        if (name.includes(".tmp-")) await rm(join(dir, name), { force: true });
      }
    }
  }
}

async function writeAtomic(path: string, data: Uint8Array, tmp: string) {
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

async function exists(path: string) {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
