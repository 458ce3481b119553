import "fake-indexeddb/auto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sha256, type Digest } from "../oci/digest.ts";
import {
  DigestMismatchError,
  NotFoundError,
  SchemaError,
} from "../oci/errors.ts";
import { buildImage } from "../oci/image.ts";
import { gzip } from "../archive/tar.ts";
import { MemoryBackend, type BlobBackend } from "./backend.ts";
import { IdbBackend } from "./idb.ts";
import { ImageStore } from "./image-store.ts";
import { NodeDirBackend } from "./node-dir.ts";
import { layerTar, makeImage } from "./testutil.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
let dbCounter = 0;

const backends: Array<[string, () => Promise<BlobBackend>]> = [
  ["memory", async () => new MemoryBackend()],
  [
    "node-dir",
    async () => {
      const root = await mkdtemp(join(tmpdir(), "layerlab-store-"));
      dirs.push(root);
      return NodeDirBackend.open({ root });
    },
  ],
  ["idb", async () => IdbBackend.open({ name: `test-${dbCounter++}` })],
];

describe.each(backends)("ImageStore on %s", (_name, makeBackend) => {
  it("round-trips an image: layers, config, manifest, tags, inspect", async () => {
    const store = await ImageStore.open({ backend: await makeBackend() });
    const img = await makeImage(store, {
      layers: [{ "etc/": null, "etc/hostname": "box\n" }, { "app.txt": "hi" }],
      tags: ["app"],
    });
    expect((await store.resolve({ ref: "app" })).id).toBe(img.id);
    expect((await store.resolve({ ref: "app:latest" })).id).toBe(img.id);
    expect((await store.resolve({ ref: "docker.io/library/app" })).id).toBe(
      img.id,
    );
    expect((await store.resolve({ ref: img.id.slice(7, 19) })).id).toBe(img.id);
    expect((await store.resolve({ ref: img.id })).id).toBe(img.id);
    const config = await store.getConfig({ id: img.id });
    expect(config.rootfs.diff_ids).toHaveLength(2);
    const manifest = await store.getManifest({ id: img.id });
    for (const [i, l] of manifest.layers.entries()) {
      const tar = await store.layerTar({ digest: l.digest });
      expect(await sha256(tar)).toBe(config.rootfs.diff_ids[i]);
      expect(await sha256(await store.layerBlob({ digest: l.digest }))).toBe(
        l.digest,
      );
    }
    const inspect = await store.inspect({ ref: "app" });
    expect(inspect).toMatchObject({
      Id: img.id,
      RepoTags: ["app:latest"],
      Os: "linux",
      Architecture: "386",
      Config: { Cmd: ["sh"] },
    });
    expect(inspect.Size).toBe(img.size);
    await expect(store.resolve({ ref: "nope" })).rejects.toThrow(
      new NotFoundError("image", "nope:latest"),
    );
    expect((await store.resolve({ ref: "nope" }).catch((e) => e)).message).toBe(
      "No such image: nope:latest",
    );
    await store.backend.close();
  });

  it("stores a shared layer once and keeps it until its last image goes", async () => {
    const store = await ImageStore.open({ backend: await makeBackend() });
    const base = { "bin/": null, "bin/sh": "busybox" };
    const a = await makeImage(store, {
      layers: [base, { a: "1" }],
      tags: ["a"],
    });
    const b = await makeImage(store, {
      layers: [base, { b: "2" }],
      tags: ["b"],
    });
    expect(a.layers[0]).toBe(b.layers[0]);
    expect(await store.layerRefCount({ digest: a.layers[0] })).toBe(2);
    const blobs = await store.backend.listBlobs();
    expect(blobs.length).toBe(3 + 2 + 2); // 3 distinct layers, 2 configs, 2 manifests
    await store.rmi({ ref: "a" });
    expect(await store.backend.hasBlob(a.layers[0])).toBe(true);
    expect(await store.backend.hasBlob(a.layers[1])).toBe(false);
    await store.rmi({ ref: "b" });
    expect(await store.backend.listBlobs()).toEqual([]);
    expect(await store.backend.listMeta("layer/")).toEqual([]);
    await store.backend.close();
  });

  it("rmi follows Docker: untag, conflicts, force", async () => {
    const store = await ImageStore.open({ backend: await makeBackend() });
    const img = await makeImage(store, {
      layers: [{ x: "1" }],
      tags: ["one", "two"],
    });
    const short = img.id.slice(7, 19);
    await expect(store.rmi({ ref: short })).rejects.toThrow(
      `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`,
    );
    expect(await store.rmi({ ref: "two" })).toEqual([
      { untagged: "two:latest" },
    ]);

    await store.refs.add({ image: img.id, container: "c0ffee00c0ffee00" });
    await expect(store.rmi({ ref: "one" })).rejects.toThrow(
      `conflict: unable to remove repository reference "one" (must force) - container c0ffee00c0ff is using its referenced image ${short}`,
    );
    await expect(store.rmi({ ref: img.id })).rejects.toThrow(
      `(must be forced) - image is being used by stopped container c0ffee00c0ff`,
    );
    await store.refs.add({
      image: img.id,
      container: "c0ffee00c0ffee00",
      running: true,
    });
    await expect(store.rmi({ ref: img.id, force: true })).rejects.toThrow(
      `conflict: unable to delete ${short} (cannot be forced) - image is being used by running container c0ffee00c0ff`,
    );
    await store.refs.add({
      image: img.id,
      container: "c0ffee00c0ffee00",
      running: false,
    });
    // Forced while a stopped container uses it: untagged, kept for the container.
    expect(await store.rmi({ ref: "one", force: true })).toEqual([
      { untagged: "one:latest" },
    ]);
    expect((await store.listImages()).map((r) => r.repository)).toEqual([
      "<none>",
    ]);
    await store.refs.remove({ image: img.id, container: "c0ffee00c0ffee00" });
    expect(await store.rmi({ ref: short })).toEqual([{ deleted: img.id }]);
    await expect(store.rmi({ ref: short })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await store.backend.close();
  });

  it("rmi refuses to delete a parent, and deletes an untagged parent with its child", async () => {
    const store = await ImageStore.open({ backend: await makeBackend() });
    const parent = await makeImage(store, { layers: [{ p: "1" }] });
    const child = await makeImage(store, {
      layers: [{ p: "1" }, { c: "2" }],
      tags: ["child"],
      parent: parent.id,
    });
    await expect(store.rmi({ ref: parent.id, force: true })).rejects.toThrow(
      /\(cannot be forced\) - image has dependent child images/,
    );
    expect((await store.listImages()).length).toBe(1); // the intermediate parent is hidden
    expect((await store.listImages({ all: true })).length).toBe(2);
    expect(await store.rmi({ ref: "child" })).toEqual([
      { untagged: "child:latest" },
      { deleted: child.id },
      { deleted: parent.id },
    ]);
    expect(await store.backend.listBlobs()).toEqual([]);
    await store.backend.close();
  });

  it("tags move between images; prune removes dangling images", async () => {
    const store = await ImageStore.open({ backend: await makeBackend() });
    const v1 = await makeImage(store, {
      layers: [{ v: "1" }],
      tags: ["app"],
      created: "2024-01-01T00:00:00Z",
    });
    const v2 = await makeImage(store, {
      layers: [{ v: "2" }],
      tags: ["app"],
      created: "2024-02-01T00:00:00Z",
    });
    await store.tag({ source: "app", target: "app:v2" });
    const rows = await store.listImages();
    expect(rows.map((r) => [r.repository, r.tag, r.id])).toEqual([
      ["app", "latest", v2.id],
      ["app", "v2", v2.id],
      ["<none>", "<none>", v1.id],
    ]);
    const pruned = await store.prune();
    expect(pruned.imagesDeleted).toEqual([v1.id]);
    expect(pruned.blobsDeleted).toHaveLength(3);
    expect((await store.prune({ all: true })).untagged).toEqual([
      "app:latest",
      "app:v2",
    ]);
    await store.backend.close();
  });

  it("a crash between blob writes and the commit leaves no image; prune cleans the orphans", async () => {
    const backend = await makeBackend();
    const store = await ImageStore.open({ backend });
    const layer = await store.addLayer({ tar: await layerTar({ f: "x" }) });
    const image = await buildImage({
      layers: [layer],
      created: "2024-01-01T00:00:00Z",
    });
    // Simulate the crash: the commit never happens.
    const commit = backend.commit.bind(backend);
    backend.commit = async (tx) => {
      if (Object.keys(tx.put ?? {}).some((k) => k.startsWith("image/")))
        throw new Error("power cut");
      return commit(tx);
    };
    await expect(store.putImage({ image, tags: ["half"] })).rejects.toThrow(
      "power cut",
    );
    backend.commit = commit;
    const reopened = await ImageStore.open({ backend });
    await expect(reopened.resolve({ ref: "half" })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(await reopened.listImages()).toEqual([]);
    expect((await backend.listBlobs()).length).toBe(3);
    const pruned = await reopened.prune();
    expect(pruned.blobsDeleted.sort()).toEqual(
      [image.configDigest, image.manifestDigest, layer.digest].sort(),
    );
    expect(await backend.listBlobs()).toEqual([]);
    expect(await backend.listMeta("layer/")).toEqual([]);
    await backend.close();
  });

  it("keeps held blobs through prune", async () => {
    const store = await ImageStore.open({ backend: await makeBackend() });
    const layer = await store.addLayer({ tar: await layerTar({ f: "y" }) });
    const release = store.hold({ digests: [layer.digest] });
    expect((await store.prune()).blobsDeleted).toEqual([]);
    release();
    expect((await store.prune()).blobsDeleted).toEqual([layer.digest]);
    await store.backend.close();
  });

  it("lazy layers are fetched once, verified, and kept", async () => {
    const tar = await layerTar({ "bin/": null, "bin/busybox": "elf" });
    const compressed = await gzip(tar);
    let fetches = 0;
    const store = await ImageStore.open({
      backend: await makeBackend(),
      fetch: async (url) => {
        fetches++;
        const body = url.endsWith("bad")
          ? new Uint8Array([1, 2, 3])
          : compressed;
        return {
          ok: true,
          status: 200,
          arrayBuffer: async () => body.slice().buffer,
        };
      },
    });
    const rec = await store.addLazyLayer({
      digest: await sha256(compressed),
      diffID: await sha256(tar),
      size: compressed.length,
      diffSize: tar.length,
      url: "https://x/base",
    });
    expect(await store.backend.hasBlob(rec.digest)).toBe(false);
    const image = await buildImage({
      layers: [rec],
      created: "2024-01-01T00:00:00Z",
    });
    await store.putImage({ image, tags: ["busybox"] });
    expect((await store.listImages())[0].size).toBe(tar.length);
    expect(await store.layerTar({ digest: rec.digest })).toEqual(tar);
    expect(await store.layerTar({ digest: rec.digest })).toEqual(tar);
    expect(fetches).toBe(1);
    const bad = await store.addLazyLayer({
      digest: await sha256("other"),
      diffID: await sha256("other-tar"),
      size: 3,
      diffSize: 3,
      url: "https://x/bad",
    });
    await expect(
      store.layerBlob({ digest: bad.digest }),
    ).rejects.toBeInstanceOf(DigestMismatchError);
    await store.backend.close();
  });

  it("schema: new stores get the current version; migrations run in order; newer data is refused", async () => {
    const backend = await makeBackend();
    await ImageStore.open({ backend });
    expect(await backend.getMeta("schema")).toBe(1);
    await backend.commit({ put: { "legacy/x": "busybox:latest" } });
    await ImageStore.open({
      backend,
      migrations: [
        {
          from: 1,
          to: 2,
          async migrate(b) {
            const old = await b.listMeta<string>("legacy/");
            await b.commit({
              delete: old.map(([k]) => k),
              put: Object.fromEntries(
                old.map(([k, v]) => [`renamed/${k.slice(7)}`, v]),
              ),
            });
          },
        },
      ],
    });
    expect(await backend.getMeta("schema")).toBe(2);
    expect(await backend.getMeta("renamed/x")).toBe("busybox:latest");
    await expect(ImageStore.open({ backend })).rejects.toBeInstanceOf(
      SchemaError,
    );
    await backend.close();
  });
});

describe("NodeDirBackend", () => {
  it("lays blobs out as blobs/sha256/<hex> and leaves no temp files", async () => {
    const root = await mkdtemp(join(tmpdir(), "layerlab-store-"));
    dirs.push(root);
    const backend = await NodeDirBackend.open({ root });
    const store = await ImageStore.open({ backend });
    const img = await makeImage(store, { layers: [{ a: "b" }], tags: ["x"] });
    expect(await readdir(join(root, "blobs", "sha256"))).toContain(
      img.id.slice(7),
    );
    expect((await readdir(root)).sort()).toEqual(["blobs", "meta.json"]);
    // A second process view of the same dir sees the committed image.
    const again = await ImageStore.open({
      backend: await NodeDirBackend.open({ root }),
    });
    expect((await again.resolve({ ref: "x" })).id).toBe(img.id);
  });

  it("a failed commit leaves the previous metadata intact", async () => {
    const backend = new MemoryBackend();
    await backend.commit({ put: { a: 1 } });
    await expect(
      backend.commit({ put: { b: 2, c: 10n as unknown as number } }),
    ).rejects.toThrow();
    expect(await backend.listMeta("")).toEqual([["a", 1]]);
  });
});

export type { Digest };

describe("IdbBackend when the browser's storage is full", () => {
  it("says so and how to make room, instead of failing obscurely", async () => {
    const { IdbBackend, StorageFullError } = await import("./idb.ts");
    const backend = await IdbBackend.open({ name: `quota-${Math.random()}` });
    const proto = globalThis.IDBObjectStore.prototype;
    const put = proto.put;
    proto.put = function () {
      throw new DOMException("quota", "QuotaExceededError");
    };
    try {
      await expect(backend.putBlob("sha256:" + "0".repeat(64) as never, new Uint8Array([1]))).rejects.toBeInstanceOf(StorageFullError);
      await expect(backend.commit({ put: { a: 1 } })).rejects.toThrow(/storage for Layerlab is full: remove images or containers/);
    } finally {
      proto.put = put;
    }
    await backend.commit({ put: { a: 1 } });
    expect(await backend.getMeta("a")).toBe(1);
    await backend.close();
  });
});
