import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { sha256 } from "../oci/digest.ts";
import { buildImage, encodeJson } from "../oci/image.ts";
import { MemoryBackend } from "../store/backend.ts";
import { ImageStore } from "../store/image-store.ts";
import { layerTar, makeImage } from "../store/testutil.ts";
import { ArchiveError } from "./errors.ts";
import { loadImages } from "./load.ts";
import { saveImages } from "./save.ts";
import { gzip, readTar, writeTar, type TarWriteEntry } from "./tar.ts";
import { rawTar } from "./testutil.ts";

const tmp: string[] = [];
afterAll(async () => {
  for (const d of tmp) await rm(d, { recursive: true, force: true });
});
const newStore = () => ImageStore.open({ backend: new MemoryBackend() });

async function sample() {
  const store = await newStore();
  const base = await makeImage(store, {
    layers: [{ "bin/": null, "bin/sh": "#!busybox" }],
    tags: ["busybox"],
  });
  const app = await makeImage(store, {
    layers: [
      { "bin/": null, "bin/sh": "#!busybox" },
      { "app/": null, "app/main.py": "print(1)\n" },
    ],
    tags: ["app:v1"],
    parent: base.id,
  });
  return { store, base, app };
}

describe.each(["oci", "docker"] as const)("save → load (%s)", (format) => {
  it("round-trips images, tags and digests", async () => {
    const { store, base, app } = await sample();
    const tar = await saveImages({
      store,
      refs: ["busybox", "app:v1"],
      format,
    });
    const names = (await readTar(tar)).map((i) => i.name);
    expect(names).toContain("oci-layout");
    expect(names).toContain("index.json");
    if (format === "docker") expect(names).toContain("manifest.json");

    const target = await newStore();
    const result = await loadImages({ store: target, data: tar });
    expect(result.format).toBe(format);
    expect(result.warnings).toEqual([]);
    expect(result.images).toEqual([
      { id: base.id, tags: ["busybox:latest"] },
      { id: app.id, tags: ["app:v1"] },
    ]);
    const loaded = await target.resolve({ ref: "app:v1" });
    expect(loaded.id).toBe(app.id); // the image ID (config digest) survives
    expect((await target.getConfig({ id: app.id })).rootfs.diff_ids).toEqual(
      (await store.getConfig({ id: app.id })).rootfs.diff_ids,
    );
    if (format === "oci") {
      expect(loaded.manifestDigest).toBe(app.manifestDigest);
      expect(loaded.layers).toEqual(app.layers);
    }
    // Saved archives are deterministic.
    expect(
      await sha256(
        await saveImages({ store, refs: ["busybox", "app:v1"], format }),
      ),
    ).toBe(await sha256(tar));
    // gzip-wrapped archives load too
    expect(
      (await loadImages({ store: await newStore(), data: await gzip(tar) }))
        .images,
    ).toHaveLength(2);
  });
});

const skopeo = existsSync("/usr/bin/skopeo") ? "/usr/bin/skopeo" : undefined;
describe.skipIf(!skopeo)("real tools accept saved archives (skopeo)", () => {
  it.each(["oci", "docker"] as const)("%s", async (format) => {
    const { store, app } = await sample();
    const dir = await mkdtemp(join(tmpdir(), "layerlab-save-"));
    tmp.push(dir);
    const file = join(dir, `app.${format}.tar`);
    await writeFile(
      file,
      await saveImages({ store, refs: ["app:v1"], format }),
    );
    const transport =
      format === "oci" ? `oci-archive:${file}` : `docker-archive:${file}`;
    const config = JSON.parse(
      execFileSync(skopeo!, ["inspect", "--config", transport]).toString(),
    );
    expect(config.rootfs.diff_ids).toEqual(
      (await store.getConfig({ id: app.id })).rootfs.diff_ids,
    );
    const info = JSON.parse(
      execFileSync(skopeo!, ["inspect", transport]).toString(),
    );
    expect(info.Architecture).toBe("386");
    // copy verifies every blob digest on the way
    execFileSync(skopeo!, ["copy", "-q", transport, `dir:${join(dir, "out")}`]);
    const manifest = JSON.parse(
      await readFile(join(dir, "out", "manifest.json"), "utf8"),
    );
    expect(manifest.config.digest).toBe(app.id);
    if (format === "oci")
      expect(manifest.layers.map((l: { digest: string }) => l.digest)).toEqual(
        app.layers,
      );
  });
});

describe("hostile archives", () => {
  async function validDocker(
    extra: TarWriteEntry[] = [],
    mutate?: (m: any[]) => void,
  ) {
    const tar = await layerTar({ "a.txt": "a" });
    const diffID = await sha256(tar);
    const image = await buildImage({
      layers: [{ digest: diffID, diffID, size: tar.length, mediaType: "x" }],
      created: "2024-01-01T00:00:00Z",
    });
    const manifest = [
      {
        Config: `blobs/sha256/${image.configDigest.slice(7)}`,
        RepoTags: ["evil:1"],
        Layers: [`blobs/sha256/${diffID.slice(7)}`],
      },
    ];
    mutate?.(manifest);
    return writeTar([
      {
        name: `blobs/sha256/${image.configDigest.slice(7)}`,
        data: image.configBytes,
      },
      { name: `blobs/sha256/${diffID.slice(7)}`, data: tar },
      ...extra,
      { name: "manifest.json", data: encodeJson(manifest) },
    ]);
  }

  it("accepts the well-formed baseline", async () => {
    expect(
      (await loadImages({ store: await newStore(), data: await validDocker() }))
        .images[0].tags,
    ).toEqual(["evil:1"]);
  });

  it.each([
    [
      "a .. member",
      rawTar([{ name: "../../etc/passwd", data: "x" }]),
      /dropped archive member "..\/..\/etc\/passwd"/,
    ],
    [
      "an absolute member",
      rawTar([{ name: "/etc/passwd", data: "x" }]),
      /dropped archive member "\/etc\/passwd"/,
    ],
    [
      "a symlink out",
      rawTar([
        { name: "manifest.json", type: "2", linkname: "../../../etc/passwd" },
      ]),
      /points outside the archive/,
    ],
    [
      "a hardlink out",
      rawTar([{ name: "index.json", type: "1", linkname: "/etc/shadow" }]),
      /points outside the archive/,
    ],
    [
      "a device node",
      rawTar([{ name: "dev", type: "3" }]),
      /character-device entries are not allowed/,
    ],
  ])(
    "drops %s with a warning (and then refuses: nothing loadable)",
    async (_n, data, warning) => {
      const warnings: string[] = [];
      const store = await newStore();
      await expect(
        loadImages({ store, data, onWarning: (w) => warnings.push(w) }),
      ).rejects.toThrow(/not an image archive/);
      expect(warnings.join("\n")).toMatch(warning);
      expect(await store.backend.listBlobs()).toEqual([]);
    },
  );

  it("loads a zstd-compressed layer (docker-archive)", async () => {
    const tar = await layerTar({ "z.txt": "zstd" });
    const diffID = await sha256(tar);
    // Debian's zstd makes the fixture; the loader must not depend on the same code to make it.
    const zst = new Uint8Array(execFileSync("zstd", ["-q", "-c"], { input: tar }));
    const image = await buildImage({ layers: [{ digest: diffID, diffID, size: tar.length, mediaType: "x" }], created: "2024-01-01T00:00:00Z" });
    const data = await writeTar([
      { name: "config.json", data: image.configBytes },
      { name: "layer.tar.zst", data: zst },
      { name: "manifest.json", data: encodeJson([{ Config: "config.json", RepoTags: ["zed:1"], Layers: ["layer.tar.zst"] }]) },
    ]);
    const result = await loadImages({ store: await newStore(), data });
    expect(result.images[0].tags).toEqual(["zed:1"]);
  });

  it("refuses a double-gzipped bomb quickly, naming the layer", async () => {
    // A 64 MiB layer of zeros, gzipped twice: a few kB on the wire.
    const bombTar = new Uint8Array(64 << 20);
    const diffID = await sha256(bombTar);
    const twice = await gzip(await gzip(bombTar));
    expect(twice.length).toBeLessThan(200_000);
    const image = await buildImage({ layers: [{ digest: diffID, diffID, size: bombTar.length, mediaType: "x" }], created: "2024-01-01T00:00:00Z" });
    const data = await gzip(await writeTar([
      { name: "config.json", data: image.configBytes },
      { name: "bomb.tar.gz", data: await gzip(bombTar) },
      { name: "manifest.json", data: encodeJson([{ Config: "config.json", RepoTags: ["bomb:1"], Layers: ["bomb.tar.gz"] }]) },
    ]));
    const store = await newStore();
    await expect(loadImages({ store, data, maxBytes: 16 << 20 })).rejects.toThrow(/bomb\.tar\.gz is larger than 16 MiB once decompressed/);
    expect(await store.backend.listBlobs()).toEqual([]);
  });

  it("refuses an index that repeats an entry thousands of times", async () => {
    const m = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${"a".repeat(64)}`, size: 2 };
    const data = await writeTar([
      { name: "oci-layout", data: '{"imageLayoutVersion":"1.0.0"}' },
      { name: "index.json", data: encodeJson({ schemaVersion: 2, manifests: Array.from({ length: 5000 }, () => m) }) },
    ]);
    await expect(loadImages({ store: await newStore(), data })).rejects.toThrow(/more than 256 entries in the image index/);
  });

  it("refuses a layer member under a symlink of the same layer at load, naming it once; says what it normalised", async () => {
    const archive = async (layer: Uint8Array) => {
      const diffID = await sha256(layer);
      const image = await buildImage({ layers: [{ digest: diffID, diffID, size: layer.length, mediaType: "x" }], created: "2024-01-01T00:00:00Z" });
      return writeTar([
        { name: "config.json", data: image.configBytes },
        { name: "layer.tar", data: layer },
        { name: "manifest.json", data: encodeJson([{ Config: "config.json", RepoTags: ["sl:1"], Layers: ["layer.tar"] }]) },
      ]);
    };
    const escape = rawTar([{ name: "etc", type: "2", linkname: "/" }, { name: "etc/shadow", data: "x" }]);
    const error = (await loadImages({ store: await newStore(), data: await archive(escape) }).catch((e: unknown) => e)) as ArchiveError;
    expect(error).toBeInstanceOf(ArchiveError);
    expect(String(error.message)).toBe('layer member "etc/shadow" lies under "etc", a symlink in the same layer: unpacking it would write through the link (entry "layer.tar")');
    const warnings: string[] = [];
    await loadImages({ store: await newStore(), data: await archive(rawTar([{ name: "/abs.txt", data: "a" }, { name: "dev/sda", type: "4" }])), onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([
      'layer.tar: 1 member name began with "/"; read as relative to the layer root',
      "layer.tar: device node dev/sda kept, but containers cannot open them (Docker's default device rules allow only the standard devices)",
    ]);
  });

  it("loads an image despite dropped hostile members", async () => {
    const data = await validDocker([{ name: "x/../../../escape", data: "x" }]);
    // writeTar keeps the raw name; load must drop it and still load the image.
    const res = await loadImages({ store: await newStore(), data });
    expect(res.warnings.join()).toMatch(/escape/);
    expect(res.images).toHaveLength(1);
  });

  it.each([
    [
      "digest mismatch of the config",
      (m: any[]) => (m[0].Config = `blobs/sha256/${"0".repeat(64)}`),
      /missing/,
    ],
    [
      "missing layer",
      (m: any[]) => (m[0].Layers = [`blobs/sha256/${"1".repeat(64)}`]),
      /missing/,
    ],
    [
      "layer count mismatch",
      (m: any[]) => m[0].Layers.push(m[0].Layers[0]),
      /diff_ids/,
    ],
    [
      "bad manifest shape",
      (m: any[]) => (m[0].Layers = "nope"),
      /needs Config/,
    ],
  ])("refuses %s", async (_n, mutate, message) => {
    const store = await newStore();
    await expect(
      loadImages({ store, data: await validDocker([], mutate) }),
    ).rejects.toThrow(message);
    expect(await store.listImages()).toEqual([]);
  });

  it("refuses a config whose bytes do not match its name, and a layer whose diffID is wrong", async () => {
    const tar = await layerTar({ "a.txt": "a" });
    const other = await layerTar({ "b.txt": "b" });
    const diffID = await sha256(tar);
    const image = await buildImage({
      layers: [{ digest: diffID, diffID, size: tar.length, mediaType: "x" }],
      created: "2024-01-01T00:00:00Z",
    });
    const cfg = `blobs/sha256/${image.configDigest.slice(7)}`;
    const lay = `blobs/sha256/${diffID.slice(7)}`;
    const manifest = encodeJson([
      { Config: cfg, RepoTags: null, Layers: [lay] },
    ]);
    const swapped = await writeTar([
      { name: cfg, data: image.configBytes },
      { name: lay, data: other },
      { name: "manifest.json", data: manifest },
    ]);
    await expect(
      loadImages({ store: await newStore(), data: swapped }),
    ).rejects.toThrow(/diffID mismatch/);
    const badCfg = await writeTar([
      { name: cfg, data: '{"rootfs":{"type":"layers","diff_ids":[]}}' },
      { name: "manifest.json", data: manifest },
    ]);
    await expect(
      loadImages({ store: await newStore(), data: badCfg }),
    ).rejects.toThrow(/digest mismatch/);
  });

  it("refuses layers whose members escape the layer root", async () => {
    const evilLayer = rawTar([
      { name: "../../../../etc/cron.d/x", data: "pwn" },
    ]);
    const diffID = await sha256(evilLayer);
    const image = await buildImage({
      layers: [
        { digest: diffID, diffID, size: evilLayer.length, mediaType: "x" },
      ],
      created: "2024-01-01T00:00:00Z",
    });
    const data = await writeTar([
      { name: "c.json", data: image.configBytes },
      { name: "l.tar", data: evilLayer },
      {
        name: "manifest.json",
        data: encodeJson([
          { Config: "c.json", RepoTags: ["x"], Layers: ["l.tar"] },
        ]),
      },
    ]);
    const err = await loadImages({ store: await newStore(), data }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ArchiveError);
    expect(err.message).toMatch(/escapes the layer root.*entry "l.tar"/);
  });

  it("refuses OCI blobs whose digest or size lies", async () => {
    const { store } = await sample();
    const tar = await saveImages({ store, refs: ["busybox"], format: "oci" });
    const items = await readTar(tar);
    const tampered = items.map((i) =>
      i.name.startsWith("blobs/sha256/") && i.data && i.data[0] === 0x1f
        ? {
            ...i,
            data: new Uint8Array([
              ...i.data.slice(0, -1),
              i.data[i.data.length - 1] ^ 0xff,
            ]),
          }
        : i,
    );
    const data = await writeTar(
      tampered.map((i) => ({ name: i.name, type: i.type, data: i.data })),
    );
    await expect(loadImages({ store: await newStore(), data })).rejects.toThrow(
      /digest mismatch/,
    );
  });

  it("refuses truncated archives, naming the entry", async () => {
    const data = await validDocker();
    const err = await loadImages({
      store: await newStore(),
      data: data.slice(0, 1500),
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ArchiveError);
    expect(err.message).toMatch(/truncated/);
  });

  it("property: random bytes never crash load (only ArchiveError)", async () => {
    const good = await validDocker();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 4096 }),
          fc
            .tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 }))
            .map(([i, v]) => {
              const b = good.slice();
              b[i] = v;
              return b;
            }),
        ),
        async (data) => {
          const store = await newStore();
          try {
            await loadImages({ store, data });
          } catch (err) {
            expect(err).toBeInstanceOf(ArchiveError);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
