/**
 * The image store: layers, images and tags on top of a BlobBackend.
 *
 * Metadata keys (all changed only through backend.commit, so each operation is all-or-nothing):
 *   schema                      data schema version (number)
 *   layer/<digest>              LayerRecord: a layer blob (compressed digest) and its diffID, maybe lazy
 *   diffid/<diffID>             digest of the stored blob for that uncompressed tar (shared layers once)
 *   image/<id>                  ImageRecord (id = config digest, as in Docker)
 *   tag/<name:tag>              image id
 *   ref/<id>/<container>        ImageRef: a container using the image (blocks rmi)
 * Blobs (configs, manifests, layers) are written before the commit that references them; anything a crash
 * leaves unreferenced is removed by prune.
 */
import { readTar, gzip, gunzip, isGzip } from "../archive/tar.ts";
import { isDigest, sha256, shortId, type Digest } from "../oci/digest.ts";
import {
  ConflictError,
  DigestMismatchError,
  EngineError,
  NotFoundError,
  SchemaError,
} from "../oci/errors.ts";
import {
  decodeJson,
  inspectImage,
  type BuiltImage,
  type DockerImageInspect,
} from "../oci/image.ts";
import { parseReference } from "../oci/reference.ts";
import {
  MediaType,
  isGzipLayerMediaType,
  type ImageConfig,
  type Manifest,
} from "../oci/types.ts";
import type { BlobBackend, BlobWriter, MetaTransaction } from "./backend.ts";
import { concatBytes } from "../util/bytes.ts";

export const SCHEMA_VERSION = 1;

export interface LayerRecord {
  /** Digest of the stored (compressed) blob. */
  digest: Digest;
  diffID: Digest;
  /** Bytes of the stored blob. */
  size: number;
  /** Bytes of the uncompressed tar (what `docker images` SIZE adds up). */
  diffSize: number;
  mediaType: string;
  /** Lazy layer: the blob is fetched from here the first time its bytes are needed. */
  url?: string;
}

export interface ImageRecord {
  id: Digest;
  manifestDigest: Digest;
  /** Layer blob digests, bottom first (same order as manifest.layers). */
  layers: Digest[];
  /** The image this one was built FROM (Docker's Parent); blocks deleting the parent. */
  parent?: Digest;
  created: string;
  /** Sum of uncompressed layer sizes. */
  size: number;
  lastTagTime?: string;
  /** `name@sha256:…` for each registry manifest this image was pulled from or pushed as. */
  repoDigests?: string[];
}

export interface ImageRef {
  container: string;
  running: boolean;
}

export interface ImageSummary {
  id: Digest;
  /** `<none>` for dangling images. */
  repository: string;
  tag: string;
  created: string;
  size: number;
}

export type RmiRecord = { untagged: string } | { deleted: Digest };

export interface Migration {
  from: number;
  to: number;
  migrate(backend: BlobBackend): Promise<void>;
}

export interface ImageStoreOptions {
  backend: BlobBackend;
  /** Used for lazy layers. Default globalThis.fetch. */
  fetch?: (
    url: string,
    init?: { signal?: AbortSignal },
  ) => Promise<{
    ok: boolean;
    status: number;
    arrayBuffer(): Promise<ArrayBuffer>;
  }>;
  /** Schema upgrades, applied in order from the stored version. */
  migrations?: Migration[];
  /** Blobs something else keeps in this backend (the sandbox registry): never deleted by garbage collection. */
  heldBlobs?: () => Promise<Set<Digest>>;
}

export class ImageStore {
  readonly backend: BlobBackend;
  readonly #fetch: NonNullable<ImageStoreOptions["fetch"]>;
  readonly #heldBlobs: () => Promise<Set<Digest>>;
  /** Blobs written by in-flight operations that have not committed yet: prune must not take them. */
  readonly #pending = new Map<Digest, number>();
  #lock: Promise<unknown> = Promise.resolve();

  private constructor(options: ImageStoreOptions) {
    this.backend = options.backend;
    this.#fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.#heldBlobs = options.heldBlobs ?? (async () => new Set());
  }

  static async open(options: ImageStoreOptions): Promise<ImageStore> {
    const store = new ImageStore(options);
    await store.#migrate(options.migrations ?? []);
    return store;
  }

  async #migrate(migrations: Migration[]) {
    const target = Math.max(SCHEMA_VERSION, ...migrations.map((m) => m.to));
    const stored = await this.backend.getMeta<number>("schema");
    if (
      stored === undefined &&
      (await this.backend.listMeta("")).length === 0
    ) {
      return this.backend.commit({ put: { schema: target } }); // a new store starts at the newest schema
    }
    // Data without a version predates versioning: schema 0, upgraded by the built-in 0 → 1 no-op.
    let version = stored ?? 0;
    if (version > target) {
      throw new SchemaError(
        `store schema ${version} is newer than this Layerlab understands (${target})`,
      );
    }
    const all: Migration[] = [
      { from: 0, to: 1, migrate: async () => {} },
      ...migrations,
    ];
    while (version < target) {
      const m: Migration | undefined = [...all]
        .reverse()
        .find((x) => x.from === version);
      if (!m)
        throw new SchemaError(`no migration from store schema ${version}`);
      await m.migrate(this.backend);
      await this.backend.commit({ put: { schema: m.to } });
      version = m.to;
    }
  }

  /** Run mutations one at a time so read-check-commit sequences don't interleave. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  #hold(digests: Digest[]): () => void {
    for (const d of digests)
      this.#pending.set(d, (this.#pending.get(d) ?? 0) + 1);
    return () => {
      for (const d of digests) {
        const n = (this.#pending.get(d) ?? 1) - 1;
        if (n <= 0) this.#pending.delete(d);
        else this.#pending.set(d, n);
      }
    };
  }

  // ---- layers ----

  /**
   * Store a layer from its tar bytes: `tar` (uncompressed, gzipped here) or `compressed` (gzip, kept
   * byte-for-byte so its digest survives a load). A layer whose diffID is already stored is not stored again.
   */
  async addLayer(options: {
    tar?: Uint8Array;
    compressed?: Uint8Array;
    validate?: boolean;
  }): Promise<LayerRecord> {
    let tar = options.tar;
    let compressed = options.compressed;
    if (!tar && !compressed)
      throw new EngineError("addLayer needs tar or compressed bytes");
    if (compressed && !isGzip(compressed)) {
      tar = compressed;
      compressed = undefined;
    }
    tar ??= await gunzip(compressed!, { what: "layer" });
    if (options.validate !== false) await readTar(tar);
    const diffID = await sha256(tar);
    const existing = await this.backend.getMeta<Digest>(`diffid/${diffID}`);
    if (existing) {
      const rec = await this.backend.getMeta<LayerRecord>(`layer/${existing}`);
      if (rec && (rec.url || (await this.backend.hasBlob(rec.digest))))
        return rec;
    }
    compressed ??= await gzip(tar);
    const digest = await sha256(compressed);
    const record: LayerRecord = {
      digest,
      diffID,
      size: compressed.length,
      diffSize: tar.length,
      mediaType: MediaType.layerGzip,
    };
    const release = this.#hold([digest]);
    try {
      await this.backend.putBlob(digest, compressed);
      await this.backend.commit({
        put: { [`layer/${digest}`]: record, [`diffid/${diffID}`]: digest },
      });
    } finally {
      release();
    }
    return record;
  }

  /** Register a layer whose blob lives at `url` (e.g. a base image shipped in the VM snapshot). */
  async addLazyLayer(
    options: Omit<LayerRecord, "mediaType"> & {
      mediaType?: string;
      url: string;
    },
  ): Promise<LayerRecord> {
    if (!isDigest(options.digest) || !isDigest(options.diffID))
      throw new EngineError("addLazyLayer: bad digest");
    const record: LayerRecord = {
      ...options,
      mediaType: options.mediaType ?? MediaType.layerGzip,
    };
    await this.backend.commit({
      put: {
        [`layer/${record.digest}`]: record,
        [`diffid/${record.diffID}`]: record.digest,
      },
    });
    return record;
  }

  /**
   * Streams a blob into the backend under `digest`. The caller verifies the bytes while writing and commits
   * only on a match, so a failed or interrupted download leaves nothing under the digest. The blob is held
   * against prune until `release` (after the commit that references it).
   */
  async openBlobWriter(digest: Digest): Promise<BlobWriter & { release(): void }> {
    const release = this.#hold([digest]);
    if (this.backend.openBlobWriter) {
      const writer = await this.backend.openBlobWriter(digest);
      return { ...writer, release };
    }
    const chunks: Uint8Array[] = [];
    return {
      write: async (chunk) => {
        chunks.push(chunk);
      },
      commit: async () => {
        await this.backend.putBlob(digest, concatBytes(chunks));
        chunks.length = 0;
      },
      abort: async () => {
        chunks.length = 0;
      },
      release,
    };
  }

  /** True when the layer's blob is stored (or lazily reachable): a pull need not download it. */
  async hasLayer(digest: Digest): Promise<boolean> {
    const rec = await this.backend.getMeta<LayerRecord>(`layer/${digest}`);
    return Boolean(rec && (rec.url || (await this.backend.hasBlob(digest))));
  }

  /** Register a layer whose verified blob was streamed in with openBlobWriter. */
  async addStreamedLayer(record: LayerRecord): Promise<LayerRecord> {
    if (!(await this.backend.hasBlob(record.digest))) throw new NotFoundError("blob", record.digest);
    await this.backend.commit({
      put: {
        [`layer/${record.digest}`]: record,
        [`diffid/${record.diffID}`]: record.digest,
      },
    });
    return record;
  }

  /** Remember that image `id` is `repoDigest` (`name@sha256:…`) in a registry (after a push). */
  async addRepoDigest(options: { id: Digest; repoDigest: string }): Promise<void> {
    await this.#exclusive(async () => {
      const rec = await this.backend.getMeta<ImageRecord>(`image/${options.id}`);
      if (!rec) throw new NotFoundError("image", options.id);
      const repoDigests = mergeRepoDigests(rec.repoDigests ?? [], [options.repoDigest]);
      await this.backend.commit({ put: { [`image/${rec.id}`]: { ...rec, repoDigests } } });
    });
  }

  /** The manifest bytes of an image as stored (what a push sends). */
  async manifestBytes(options: { id: Digest }): Promise<{ digest: Digest; bytes: Uint8Array }> {
    const rec = await this.backend.getMeta<ImageRecord>(`image/${options.id}`);
    if (!rec) throw new NotFoundError("image", options.id);
    return { digest: rec.manifestDigest, bytes: await this.#blob(rec.manifestDigest) };
  }

  /** Look a layer up by blob digest or diffID. */
  async getLayer(options: {
    digest?: Digest;
    diffID?: Digest;
  }): Promise<LayerRecord> {
    const digest =
      options.digest ??
      (options.diffID &&
        (await this.backend.getMeta<Digest>(`diffid/${options.diffID}`)));
    const rec = digest
      ? await this.backend.getMeta<LayerRecord>(`layer/${digest}`)
      : undefined;
    if (!rec)
      throw new NotFoundError("layer", options.digest ?? options.diffID ?? "?");
    return rec;
  }

  /** The stored blob of a layer, fetching (and verifying, and keeping) it first if it is lazy. */
  async layerBlob(options: {
    digest: Digest;
    signal?: AbortSignal;
  }): Promise<Uint8Array> {
    const local = await this.backend.getBlob(options.digest);
    if (local) return local;
    const rec = await this.getLayer({ digest: options.digest });
    if (!rec.url) throw new NotFoundError("blob", options.digest);
    const res = await this.#fetch(rec.url, { signal: options.signal });
    if (!res.ok)
      throw new EngineError(
        `fetching layer ${shortId(rec.digest)} from ${rec.url}: HTTP ${res.status}`,
      );
    const bytes = new Uint8Array(await res.arrayBuffer());
    const actual = await sha256(bytes);
    if (actual !== rec.digest)
      throw new DigestMismatchError(
        rec.digest,
        actual,
        `layer fetched from ${rec.url}`,
      );
    await this.backend.putBlob(rec.digest, bytes);
    return bytes;
  }

  /** The uncompressed layer tar. */
  async layerTar(options: {
    digest: Digest;
    signal?: AbortSignal;
  }): Promise<Uint8Array> {
    const rec = await this.getLayer({ digest: options.digest });
    const blob = await this.layerBlob(options);
    return isGzipLayerMediaType(rec.mediaType) || isGzip(blob)
      ? gunzip(blob, { what: `layer ${rec.digest}` })
      : blob;
  }

  // ---- images ----

  /**
   * Make an image visible: write its config and manifest blobs, then commit the image record and its tags in
   * one transaction. All layers must already be stored (addLayer / addLazyLayer).
   */
  async putImage(options: {
    image: BuiltImage;
    tags?: string[];
    parent?: Digest;
    /** Registry digests to remember (`name@sha256:…`), merged with those already recorded. */
    repoDigests?: string[];
  }): Promise<ImageRecord> {
    const { image } = options;
    const tags = (options.tags ?? []).map((t) => parseReference(t).full);
    const release = this.#hold([image.configDigest, image.manifestDigest]);
    try {
      const layers: LayerRecord[] = [];
      for (const l of image.manifest.layers)
        layers.push(await this.getLayer({ digest: l.digest }));
      const diffIDs = image.config.rootfs.diff_ids;
      layers.forEach((l, i) => {
        if (l.diffID !== diffIDs[i])
          throw new DigestMismatchError(
            diffIDs[i],
            l.diffID,
            `diffID of layer ${i}`,
          );
      });
      if (diffIDs.length !== layers.length) {
        throw new EngineError(
          `config lists ${diffIDs.length} diff_ids but the manifest has ${layers.length} layers`,
        );
      }
      await this.backend.putBlob(image.configDigest, image.configBytes);
      await this.backend.putBlob(image.manifestDigest, image.manifestBytes);
      return await this.#exclusive(async () => {
        const now = new Date().toISOString();
        const prev = await this.backend.getMeta<ImageRecord>(
          `image/${image.configDigest}`,
        );
        const record: ImageRecord = {
          id: image.configDigest,
          manifestDigest: image.manifestDigest,
          layers: layers.map((l) => l.digest),
          ...((options.parent ?? prev?.parent)
            ? { parent: options.parent ?? prev?.parent }
            : {}),
          created: image.config.created ?? now,
          size: layers.reduce((s, l) => s + l.diffSize, 0),
          ...(tags.length
            ? { lastTagTime: now }
            : prev?.lastTagTime
              ? { lastTagTime: prev.lastTagTime }
              : {}),
        };
        const repoDigests = mergeRepoDigests(prev?.repoDigests ?? [], options.repoDigests ?? []);
        if (repoDigests.length) record.repoDigests = repoDigests;
        const put: Record<string, unknown> = { [`image/${record.id}`]: record };
        for (const t of tags) put[`tag/${t}`] = record.id;
        // If the manifest blob changed (same config, new manifest), drop the old one later via prune.
        await this.backend.commit({ put });
        return record;
      });
    } finally {
      release();
    }
  }

  /** `docker tag SOURCE TARGET`: a tag moves to the new image (the old one may become dangling). */
  async tag(options: { source: string; target: string }): Promise<void> {
    const img = await this.resolve({ ref: options.source });
    const target = parseReference(options.target).full;
    await this.#exclusive(() =>
      this.backend.commit({
        put: {
          [`tag/${target}`]: img.id,
          [`image/${img.id}`]: {
            ...img,
            lastTagTime: new Date().toISOString(),
          },
        },
      }),
    );
  }

  /** Resolve `name[:tag]`, `sha256:<id>`, or an ID prefix, the way `docker` does (names first). */
  async resolve(options: { ref: string }): Promise<ImageRecord> {
    const { ref } = options;
    try {
      const parsed = parseReference(ref);
      if (parsed.digest) {
        // `name@sha256:…`: the image pulled (or pushed) as that registry manifest.
        const repoDigest = `${parsed.name}@${parsed.digest}`;
        const images = await this.backend.listMeta<ImageRecord>("image/");
        const hit = images.find(([, r]) => r.repoDigests?.includes(repoDigest));
        if (hit) return hit[1];
        throw new NotFoundError("image", repoDigest);
      }
      const id = await this.backend.getMeta<Digest>(`tag/${parsed.full}`);
      if (id) {
        const rec = await this.backend.getMeta<ImageRecord>(`image/${id}`);
        if (rec) return rec;
      }
    } catch (error) {
      if (error instanceof NotFoundError) throw error;
      // not a valid name; may still be an ID
    }
    const hex = ref.replace(/^sha256:/, "");
    if (/^[0-9a-f]{1,64}$/.test(hex)) {
      const matches = await this.backend.listMeta<ImageRecord>(
        `image/sha256:${hex}`,
      );
      if (matches.length === 1) return matches[0][1];
      if (matches.length > 1)
        throw new ConflictError(
          `ambiguous image ID prefix ${hex}: matches ${matches.length} images`,
        );
    }
    let shown = ref;
    try {
      shown = parseReference(ref).full;
    } catch {
      /* keep as typed */
    }
    throw new NotFoundError("image", shown);
  }

  async tagsOf(id: Digest): Promise<string[]> {
    return (await this.backend.listMeta<Digest>("tag/"))
      .filter(([, v]) => v === id)
      .map(([k]) => k.slice(4));
  }

  async getConfig(options: { id: Digest }): Promise<ImageConfig> {
    return decodeJson<ImageConfig>(await this.#blob(options.id));
  }

  async getManifest(options: { id: Digest }): Promise<Manifest> {
    const rec = await this.backend.getMeta<ImageRecord>(`image/${options.id}`);
    if (!rec) throw new NotFoundError("image", options.id);
    return decodeJson<Manifest>(await this.#blob(rec.manifestDigest));
  }

  /** Raw bytes of a config or manifest blob (what save writes). */
  async getBlob(digest: Digest): Promise<Uint8Array> {
    return this.#blob(digest);
  }

  async #blob(digest: Digest): Promise<Uint8Array> {
    const b = await this.backend.getBlob(digest);
    if (!b) throw new NotFoundError("blob", digest);
    return b;
  }

  /** Rows for `docker images`: one per tag, `<none>` rows for dangling images; newest first. */
  async listImages(options: { all?: boolean } = {}): Promise<ImageSummary[]> {
    const images = (await this.backend.listMeta<ImageRecord>("image/")).map(
      ([, v]) => v,
    );
    const tags = await this.backend.listMeta<Digest>("tag/");
    const parents = new Set(images.map((i) => i.parent).filter(Boolean));
    const rows: ImageSummary[] = [];
    for (const img of images) {
      const mine = tags
        .filter(([, id]) => id === img.id)
        .map(([k]) => k.slice(4));
      if (mine.length === 0) {
        // Untagged images with children are build intermediates: hidden unless --all, like Docker.
        if (parents.has(img.id) && !options.all) continue;
        rows.push({
          id: img.id,
          repository: "<none>",
          tag: "<none>",
          created: img.created,
          size: img.size,
        });
      }
      for (const t of mine) {
        const i = t.lastIndexOf(":");
        rows.push({
          id: img.id,
          repository: t.slice(0, i),
          tag: t.slice(i + 1),
          created: img.created,
          size: img.size,
        });
      }
    }
    return rows.sort((a, b) =>
      a.created < b.created
        ? 1
        : a.created > b.created
          ? -1
          : a.repository.localeCompare(b.repository) ||
            a.tag.localeCompare(b.tag),
    );
  }

  async inspect(options: { ref: string }): Promise<DockerImageInspect> {
    const rec = await this.resolve(options);
    return inspectImage({
      id: rec.id,
      config: await this.getConfig({ id: rec.id }),
      repoTags: await this.tagsOf(rec.id),
      size: rec.size,
      parent: rec.parent,
      lastTagTime: rec.lastTagTime,
      repoDigests: rec.repoDigests,
    });
  }

  // ---- containers holding images ----

  readonly refs = {
    /** Register (or update) a container using an image. Running containers block even forced rmi. */
    add: (options: { image: Digest; container: string; running?: boolean }) =>
      this.backend.commit({
        put: {
          [`ref/${options.image}/${options.container}`]: {
            container: options.container,
            running: options.running ?? false,
          },
        },
      }),
    remove: (options: { image: Digest; container: string }) =>
      this.backend.commit({
        delete: [`ref/${options.image}/${options.container}`],
      }),
    list: async (options: { image: Digest }): Promise<ImageRef[]> =>
      (await this.backend.listMeta<ImageRef>(`ref/${options.image}/`)).map(
        ([, v]) => v,
      ),
  };

  // ---- removal ----

  /**
   * `docker rmi`, with Docker's rules and messages: a name untags (and deletes the image when that was its
   * last tag); an ID deletes. Child images and running containers always block; stopped containers and
   * multiple tags block unless `force`. Differs from Docker in one way: a forced rmi of an image a stopped
   * container uses only untags it, because the container still needs its layers.
   */
  rmi(options: {
    ref: string;
    force?: boolean;
    noPrune?: boolean;
  }): Promise<RmiRecord[]> {
    return this.#exclusive(async () => {
      const force = options.force ?? false;
      const img = await this.resolve({ ref: options.ref });
      const tags = await this.tagsOf(img.id);
      const records: RmiRecord[] = [];
      const tx: Required<MetaTransaction> = { put: {}, delete: [] };
      const byId = isIdPrefix(img.id, options.ref);
      if (!byId) {
        const name = parseReference(options.ref).full;
        if (!force && tags.length === 1) {
          const users = await this.refs.list({ image: img.id });
          if (users.length > 0) {
            throw new ConflictError(
              `conflict: unable to remove repository reference "${options.ref}" (must force) - container ${shortId(users[0].container)} is using its referenced image ${shortId(img.id)}`,
            );
          }
        }
        tx.delete.push(`tag/${name}`);
        records.push({ untagged: name });
        if (tags.length > 1) {
          await this.backend.commit(tx);
          return records;
        }
      } else if (tags.length > 1 && !force) {
        await this.#conflict(img, { force, checkMultipleTags: true });
      }
      const remaining = tags.filter((t) => !tx.delete.includes(`tag/${t}`));
      const blocker = await this.#conflict(img, {
        force,
        checkMultipleTags: false,
        soft: true,
      });
      if (blocker === "stopped-container") {
        // forced: untag only, keep the image for its container
        for (const t of remaining) {
          tx.delete.push(`tag/${t}`);
          records.push({ untagged: t });
        }
        await this.backend.commit(tx);
        return records;
      }
      const deleted = await this.#deleteImage(
        img,
        remaining,
        tx,
        records,
        options.noPrune ?? false,
      );
      await this.backend.commit(tx);
      await this.#collectBlobs(deleted);
      return records;
    });
  }

  /** Throws Docker's conflict errors; with `soft` and force, returns the forced-over conflict instead. */
  async #conflict(
    img: ImageRecord,
    options: { force: boolean; checkMultipleTags: boolean; soft?: boolean },
  ): Promise<"stopped-container" | undefined> {
    const fail = (hard: boolean, why: string) =>
      new ConflictError(
        `conflict: unable to delete ${shortId(img.id)} (${hard ? "cannot be forced" : "must be forced"}) - ${why}`,
      );
    const images = await this.backend.listMeta<ImageRecord>("image/");
    if (images.some(([, i]) => i.parent === img.id))
      throw fail(true, "image has dependent child images");
    const users = await this.refs.list({ image: img.id });
    const running = users.find((u) => u.running);
    if (running)
      throw fail(
        true,
        `image is being used by running container ${shortId(running.container)}`,
      );
    if (options.checkMultipleTags)
      throw fail(false, "image is referenced in multiple repositories");
    if (users.length > 0) {
      if (!options.force)
        throw fail(
          false,
          `image is being used by stopped container ${shortId(users[0].container)}`,
        );
      return "stopped-container";
    }
    return undefined;
  }

  /** Adds the deletion of `img` (and of untagged, unused parents) to `tx`; returns deleted records. */
  async #deleteImage(
    img: ImageRecord,
    tags: string[],
    tx: Required<MetaTransaction>,
    records: RmiRecord[],
    noPrune: boolean,
  ) {
    const deleted: ImageRecord[] = [];
    let current: ImageRecord | undefined = img;
    let currentTags = tags;
    while (current) {
      for (const t of currentTags) {
        tx.delete.push(`tag/${t}`);
        records.push({ untagged: t });
      }
      tx.delete.push(`image/${current.id}`);
      records.push({ deleted: current.id });
      deleted.push(current);
      // Like Docker, also remove the parent when it is an untagged intermediate nothing else needs.
      if (noPrune || !current.parent) break;
      const parent: ImageRecord | undefined =
        await this.backend.getMeta<ImageRecord>(`image/${current.parent}`);
      if (!parent) break;
      const pTags = await this.tagsOf(parent.id);
      const siblings = (
        await this.backend.listMeta<ImageRecord>("image/")
      ).filter(
        ([, i]) =>
          i.parent === parent.id && !deleted.some((d) => d.id === i.id),
      );
      if (
        pTags.length > 0 ||
        siblings.length > 0 ||
        (await this.refs.list({ image: parent.id })).length > 0
      )
        break;
      current = parent;
      currentTags = [];
    }
    return deleted;
  }

  /** After a committed delete: remove blobs and layer records no remaining image uses. */
  async #collectBlobs(deleted: ImageRecord[]) {
    const live = await this.#liveDigests();
    const tx: Required<MetaTransaction> = { put: {}, delete: [] };
    const drop: Digest[] = [];
    for (const img of deleted) {
      for (const d of [img.id, img.manifestDigest, ...img.layers]) {
        if (live.has(d) || this.#pending.has(d) || drop.includes(d)) continue;
        drop.push(d);
        const rec = await this.backend.getMeta<LayerRecord>(`layer/${d}`);
        if (rec) {
          tx.delete.push(`layer/${d}`);
          if (
            (await this.backend.getMeta<Digest>(`diffid/${rec.diffID}`)) === d
          )
            tx.delete.push(`diffid/${rec.diffID}`);
        }
      }
    }
    await this.backend.commit(tx); // metadata first: a crash here leaves orphan blobs, never dangling records
    const held = await this.#heldBlobs();
    for (const d of drop) if (!held.has(d)) await this.backend.deleteBlob(d);
  }

  async #liveDigests(): Promise<Set<Digest>> {
    const live = new Set<Digest>();
    for (const [, img] of await this.backend.listMeta<ImageRecord>("image/")) {
      live.add(img.id);
      live.add(img.manifestDigest);
      for (const l of img.layers) live.add(l);
    }
    return live;
  }

  /** How many images use a layer (by blob digest). */
  async layerRefCount(options: { digest: Digest }): Promise<number> {
    const images = await this.backend.listMeta<ImageRecord>("image/");
    return images.filter(([, i]) => i.layers.includes(options.digest)).length;
  }

  /**
   * Keep blobs from being collected while an operation (e.g. a build) that wrote them has not committed the
   * image yet. Call the returned function when done.
   */
  hold(options: { digests: Digest[] }): () => void {
    return this.#hold(options.digests);
  }

  /**
   * `docker image prune` plus garbage collection. Deletes dangling images (no tags, no children, no
   * containers); with `all`, every image no container uses (tags included), like `docker image prune -a`.
   * Then deletes every layer record and blob no image references: crash leftovers, layers of deleted
   * images. Blobs of in-flight operations (see `hold`) are kept.
   */
  prune(
    options: { all?: boolean } = {},
  ): Promise<{
    imagesDeleted: Digest[];
    untagged: string[];
    blobsDeleted: Digest[];
    bytesReclaimed: number;
  }> {
    return this.#exclusive(async () => {
      const imagesDeleted: Digest[] = [];
      const untagged: string[] = [];
      for (;;) {
        const images = (await this.backend.listMeta<ImageRecord>("image/")).map(
          ([, v]) => v,
        );
        const tags = await this.backend.listMeta<Digest>("tag/");
        const tagged = new Set(tags.map(([, v]) => v));
        const parents = new Set(images.map((i) => i.parent));
        const victims: ImageRecord[] = [];
        for (const img of images) {
          if (parents.has(img.id) || (!options.all && tagged.has(img.id)))
            continue;
          if ((await this.refs.list({ image: img.id })).length > 0) continue;
          victims.push(img);
        }
        if (victims.length === 0) break;
        const ids = new Set(victims.map((v) => v.id));
        const victimTags = tags.filter(([, id]) => ids.has(id)).map(([k]) => k);
        await this.backend.commit({
          delete: [...victims.map((v) => `image/${v.id}`), ...victimTags],
        });
        imagesDeleted.push(...ids);
        untagged.push(...victimTags.map((k) => k.slice(4)));
        // Removing a child can make its parent prunable; keep going until nothing changes.
      }
      const live = await this.#liveDigests();
      const tx: Required<MetaTransaction> = { put: {}, delete: [] };
      for (const [key, rec] of await this.backend.listMeta<LayerRecord>(
        "layer/",
      )) {
        if (live.has(rec.digest) || this.#pending.has(rec.digest)) continue;
        tx.delete.push(key);
        if (
          (await this.backend.getMeta<Digest>(`diffid/${rec.diffID}`)) ===
          rec.digest
        )
          tx.delete.push(`diffid/${rec.diffID}`);
      }
      await this.backend.commit(tx);
      const blobsDeleted: Digest[] = [];
      let bytesReclaimed = 0;
      const held = await this.#heldBlobs();
      for (const d of await this.backend.listBlobs()) {
        if (live.has(d) || this.#pending.has(d) || held.has(d)) continue;
        bytesReclaimed += (await this.backend.getBlob(d))?.length ?? 0;
        await this.backend.deleteBlob(d);
        blobsDeleted.push(d);
      }
      return { imagesDeleted, untagged, blobsDeleted, bytesReclaimed };
    });
  }
}

/** True when `ref` names the image by ID (full, `sha256:`-prefixed, or a hex prefix) rather than by name. */
function isIdPrefix(id: Digest, ref: string): boolean {
  const hex = ref.replace(/^sha256:/, "");
  return /^[0-9a-f]+$/.test(hex) && id.slice(7).startsWith(hex);
}

/** One digest per repository name (the newest wins), as Docker keeps RepoDigests. */
function mergeRepoDigests(old: string[], added: string[]): string[] {
  const byName = new Map<string, string>();
  for (const d of [...old, ...added]) byName.set(d.slice(0, d.indexOf("@")), d);
  return [...byName.values()];
}
