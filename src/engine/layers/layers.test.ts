import { describe, expect, it } from "vitest";
import { readTar, writeTar, type TarWriteEntry } from "../archive/tar.ts";
import { analyzeImage, diffLayer, DiffType, mergedUpTo } from "./analysis.ts";
import { dockerDiff } from "./docker-diff.ts";
import { formatDockerDiff } from "../../client/format.ts";
import {
  layerTreeFromTar,
  layerTreeFromUpperdir,
  listEntriesFromTar,
  mergeLayers,
  type LayerTree,
  type ListEntry,
} from "./tree.ts";

async function tree(entries: TarWriteEntry[]): Promise<LayerTree> {
  return layerTreeFromTar(await readTar(await writeTar(entries)));
}
const dir = (name: string, mtime = 0): TarWriteEntry => ({
  name,
  type: "directory",
  mtime,
});
const file = (name: string, size: number): TarWriteEntry => ({
  name,
  data: "x".repeat(size),
});

describe("a base layer's listing from its tar (what the agent's list shows of it unpacked)", () => {
  it("lists files, dirs and symlinks with their metadata, depth first, siblings by bytes", async () => {
    const items = await readTar(
      await writeTar([
        { name: "./", type: "directory" },
        { name: "a-c", data: "abc", mode: 0o4755, uid: 5, gid: 6, mtime: 7 },
        dir("a/"),
        { name: "a/b", type: "symlink", linkname: "../a-c" },
        dir("Z"),
        { name: "dev", type: "directory", mode: 0o1777 },
      ]),
    );
    const entries = listEntriesFromTar(items);
    expect(entries.map((e) => e.path)).toEqual(["/Z", "/a", "/a/b", "/a-c", "/dev"]);
    expect(entries.find((e) => e.path === "/a-c")).toEqual({ path: "/a-c", type: "f", mode: 0o4755, size: 3, uid: 5, gid: 6, mtime: 7 });
    expect(entries.find((e) => e.path === "/a/b")).toMatchObject({ type: "l", link: "../a-c", size: 0 });
    expect(entries.find((e) => e.path === "/dev")).toMatchObject({ type: "d", mode: 0o1777 });
    // The same tree either way.
    expect(layerTreeFromUpperdir(entries).entries).toEqual(layerTreeFromTar(items).entries);
  });

  it("refuses what has no single listed form: whiteouts and hardlinks", async () => {
    const list = async (entries: TarWriteEntry[]) => listEntriesFromTar(await readTar(await writeTar(entries)));
    await expect(list([file(".wh.gone", 0)])).rejects.toThrow(/\.wh\.gone/);
    await expect(list([file("a", 1), { name: "b", type: "link", linkname: "a" }])).rejects.toThrow(/b: a link entry/);
  });
});

describe("layer trees", () => {
  it("reads whiteouts and opaque markers", async () => {
    const t = await tree([
      dir("etc"),
      { name: "etc/.wh.motd" },
      dir("var/cache"),
      { name: "var/cache/.wh..wh..opq" },
      file("etc/new", 3),
    ]);
    expect([...t.whiteouts]).toEqual(["/etc/motd"]);
    expect([...t.opaqueDirs]).toEqual(["/var/cache"]);
    expect([...t.entries.keys()]).toEqual(["/etc", "/var/cache", "/etc/new"]);
  });

  it("skips entries that escape, reporting them", async () => {
    const problems: { path: string; problem: string }[] = [];
    const t = layerTreeFromTar(
      [
        {
          name: "../evil",
          type: "file",
          mode: 0o644,
          uid: 0,
          gid: 0,
          size: 1,
          mtime: 0,
        },
        {
          name: "ok",
          type: "link",
          linkname: "../../etc/shadow",
          mode: 0o644,
          uid: 0,
          gid: 0,
          size: 0,
          mtime: 0,
        },
      ],
      problems,
    );
    expect(t.entries.size).toBe(0);
    expect(problems.map((p) => p.path)).toEqual(["../evil", "ok"]);
  });
});

describe("diffLayer and analyzeImage", () => {
  it.each([
    {
      name: "add",
      lower: [[dir("etc"), file("etc/a", 1)]],
      layer: [dir("etc"), file("etc/b", 2)],
      want: [
        ["/etc", DiffType.Unmodified],
        ["/etc/b", DiffType.Added],
      ],
    },
    {
      name: "modify",
      lower: [[dir("etc"), file("etc/a", 1)]],
      layer: [dir("etc"), file("etc/a", 5)],
      want: [
        ["/etc", DiffType.Unmodified],
        ["/etc/a", DiffType.Modified],
      ],
    },
    {
      name: "chmod dir",
      lower: [[dir("srv")]],
      layer: [{ name: "srv", type: "directory" as const, mode: 0o700 }],
      want: [["/srv", DiffType.Modified]],
    },
    {
      name: "delete",
      lower: [[dir("etc"), file("etc/a", 1), dir("tmp"), file("tmp/x", 4)]],
      layer: [dir("etc"), { name: "etc/.wh.a" }, { name: ".wh.tmp" }],
      want: [
        ["/etc", DiffType.Unmodified],
        ["/etc/a", DiffType.Removed],
        ["/tmp", DiffType.Removed],
      ],
    },
    {
      name: "opaque",
      lower: [[dir("d"), file("d/old", 1), file("d/keep", 1)]],
      layer: [dir("d"), { name: "d/.wh..wh..opq" }, file("d/keep", 2)],
      want: [
        // Same metadata, but its lower contents are replaced: a change.
        ["/d", DiffType.Modified],
        ["/d/keep", DiffType.Modified],
        ["/d/old", DiffType.Removed],
      ],
    },
  ])("$name", async ({ lower, layer, want }) => {
    const lowerTrees = await Promise.all(lower.map(tree));
    const changes = diffLayer({
      lower: mergeLayers(lowerTrees),
      layer: await tree(layer),
    });
    expect(changes.map((c) => [c.path, c.diff])).toEqual(want);
  });

  it("counts wasted bytes for overwritten and deleted files", async () => {
    const layers = await Promise.all([
      tree([dir("app"), file("app/big", 1000), file("app/keep", 100)]),
      tree([dir("app"), file("app/big", 10)]), // overwrite: 1000 wasted
      tree([dir("app"), { name: "app/.wh.big" }, file("tmp", 50)]), // delete: 10 wasted
      tree([{ name: ".wh.tmp" }]), // delete: 50 wasted
    ]);
    const a = analyzeImage({ layers });
    expect(a.totalBytes).toBe(1160);
    expect(a.wastedBytes).toBe(1060);
    expect(a.efficiency).toBeCloseTo(100 / 1160);
    expect(a.wasted.map((w) => [w.path, w.count, w.wastedBytes, w.layers])).toEqual([
      ["/app/big", 3, 1010, [0, 1, 2]],
      ["/tmp", 2, 50, [2, 3]],
    ]);
    expect([...a.merged.keys()].sort()).toEqual(["/app", "/app/keep"]);
    expect(analyzeImage({ layers: [] }).efficiency).toBe(1);
  });

  it("says per layer which lower files it hides, and from which layer", async () => {
    const layers = await Promise.all([
      tree([dir("app"), file("app/big", 1000), file("app/keep", 100), dir("opt"), file("opt/a", 7), file("opt/b", 3)]),
      tree([dir("app"), file("app/big", 10)]),
      tree([dir("app"), { name: "app/.wh.big" }, dir("opt"), { name: "opt/.wh..wh..opq" }, file("opt/b", 1)]),
    ]);
    const a = analyzeImage({ layers });
    expect(a.layers.map((l) => l.hidden)).toEqual([
      [],
      [{ path: "/app/big", bytes: 1000, layer: 0, reason: "overwritten" }],
      [
        { path: "/app/big", bytes: 10, layer: 1, reason: "deleted" },
        { path: "/opt/a", bytes: 7, layer: 0, reason: "deleted" },
        { path: "/opt/b", bytes: 3, layer: 0, reason: "overwritten" },
      ],
    ]);
    // The per-layer lists add up to the image's total.
    expect(a.layers.flatMap((l) => l.hidden).reduce((s, h) => s + h.bytes, 0)).toBe(a.wastedBytes);
  });
});

describe("mergedUpTo", () => {
  const stack = () =>
    Promise.all([
      tree([dir("bin"), file("bin/sh", 5), { name: "bin/ls", type: "symlink", linkname: "sh" }, dir("opt"), file("opt/old", 4), dir("tmp"), file("tmp/x", 9)]),
      tree([dir("opt"), { name: "opt/.wh..wh..opq" }, file("opt/new", 2), { name: ".wh.tmp" }]),
      tree([dir("bin"), file("bin/sh", 6)]),
    ]);

  it("shows the filesystem up to a layer, each path with the layer its version comes from", async () => {
    const layers = await stack();
    const view = (upTo: number) =>
      mergedUpTo({ layers, upTo }).map((f) => [f.path, f.layer, f.kind, f.linkTarget]);
    expect(view(0)).toEqual([
      ["/bin", 0, "A", undefined],
      ["/bin/ls", 0, "A", "sh"],
      ["/bin/sh", 0, "A", undefined],
      ["/opt", 0, "A", undefined],
      ["/opt/old", 0, "A", undefined],
      ["/tmp", 0, "A", undefined],
      ["/tmp/x", 0, "A", undefined],
    ]);
    // The opaque /opt hides /opt/old and is itself a change of layer 1; the whiteout removes /tmp.
    expect(view(1)).toEqual([
      ["/bin", 0, "A", undefined],
      ["/bin/ls", 0, "A", "sh"],
      ["/bin/sh", 0, "A", undefined],
      ["/opt", 1, "M", undefined],
      ["/opt/new", 1, "A", undefined],
    ]);
    // An unchanged directory keeps the layer that made it; the replaced file comes from layer 2.
    expect(view(2).filter(([path]) => String(path).startsWith("/bin"))).toEqual([
      ["/bin", 0, "A", undefined],
      ["/bin/ls", 0, "A", "sh"],
      ["/bin/sh", 2, "M", undefined],
    ]);
  });
});

describe("docker diff", () => {
  const lowers = () =>
    Promise.all([
      tree([
        dir("etc", 100),
        file("etc/passwd", 10),
        file("etc/motd", 5),
        dir("var", 100),
        dir("var/cache", 100),
        file("var/cache/a", 1),
        dir("tmp", 100),
      ]),
    ]);
  const listEntry = (
    path: string,
    type: ListEntry["type"],
    extra: Partial<ListEntry> = {},
  ): ListEntry => ({
    path,
    type,
    mode: type === "d" ? 0o755 : 0o644,
    size: type === "f" ? 1 : 0,
    uid: 0,
    gid: 0,
    mtime: 100,
    ...extra,
  });

  it("follows Docker rules and order; tar and upperdir agree", async () => {
    // The container: edited /etc/passwd (dir mtime unchanged), removed /etc/motd, created /tmp/new/x,
    // rm -rf /var/cache && mkdir /var/cache (opaque), created /a-b.
    const upperList: ListEntry[] = [
      listEntry("/a-b", "f"),
      listEntry("/etc", "d"),
      listEntry("/etc/motd", "w"),
      listEntry("/etc/passwd", "f"),
      listEntry("/tmp", "d", { mtime: 200 }),
      listEntry("/tmp/new", "d"),
      listEntry("/tmp/new/x", "f"),
      listEntry("/var", "d", { mtime: 200 }),
      listEntry("/var/cache", "d", { opaque: true }),
      listEntry("/var/cache/b", "f"),
    ];
    const upperTar: TarWriteEntry[] = [
      { name: "a-b", data: "x", mtime: 100 },
      dir("etc", 100),
      { name: "etc/.wh.motd" },
      { name: "etc/passwd", data: "x", mtime: 100 },
      dir("tmp", 200),
      dir("tmp/new", 100),
      { name: "tmp/new/x", data: "x", mtime: 100 },
      dir("var", 200),
      dir("var/cache", 100),
      { name: "var/cache/.wh..wh..opq" },
      { name: "var/cache/b", data: "x", mtime: 100 },
    ];
    const fromList = dockerDiff({
      lowers: await lowers(),
      upper: layerTreeFromUpperdir(upperList),
    });
    const fromTar = dockerDiff({
      lowers: await lowers(),
      upper: await tree(upperTar),
    });
    expect(fromTar).toEqual(fromList);
    expect(formatDockerDiff(fromList)).toBe(
      [
        "A /a-b",
        "C /etc",
        "D /etc/motd",
        "C /etc/passwd",
        "C /tmp",
        "A /tmp/new",
        "A /tmp/new/x",
        "C /var",
        "D /var/cache",
        "A /var/cache/b",
        "",
      ].join("\n"),
    );
  });

  it("lists an unchanged parent as C only for adds and deletes", async () => {
    const upper = layerTreeFromUpperdir([
      listEntry("/etc", "d"),
      listEntry("/etc/passwd", "f"),
    ]);
    expect(
      formatDockerDiff(dockerDiff({ lowers: await lowers(), upper })),
    ).toBe("C /etc/passwd\n");
  });
});
