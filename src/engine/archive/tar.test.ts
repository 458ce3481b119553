import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ArchiveError } from "./errors.ts";
import {
  gunzip,
  gzip,
  readTar,
  resolveArchivePath,
  safeArchivePath,
  writeTar,
} from "./tar.ts";

import { concat, rawHeader, rawTar } from "./testutil.ts";

describe("tar", () => {
  it("round-trips entries, long names, links and metadata", async () => {
    const long = `${"deep/".repeat(60)}file.txt`;
    const tar = await writeTar([
      { name: "etc", type: "directory", mode: 0o755 },
      {
        name: "etc/passwd",
        data: "root:x:0:0\n",
        mode: 0o600,
        uid: 1,
        gid: 2,
        mtime: 1700000000,
      },
      { name: long, data: "x" },
      { name: "bin/sh", type: "symlink", linkname: "/bin/busybox" },
      { name: "bin/ash", type: "link", linkname: "bin/busybox" },
    ]);
    const items = await readTar(tar);
    expect(
      items.map((i) => [i.name, i.type, i.mode, i.linkname ?? null]),
    ).toEqual([
      ["etc/", "directory", 0o755, null],
      ["etc/passwd", "file", 0o600, null],
      [long, "file", 0o644, null],
      ["bin/sh", "symlink", 0o777, "/bin/busybox"],
      ["bin/ash", "link", 0o644, "bin/busybox"],
    ]);
    expect(new TextDecoder().decode(items[1].data)).toBe("root:x:0:0\n");
    expect([items[1].uid, items[1].gid, items[1].mtime]).toEqual([
      1, 2, 1700000000,
    ]);
  });

  it("writes deterministically", async () => {
    const entries = [
      { name: "a", data: "hello" },
      { name: "b/", type: "directory" as const },
    ];
    expect(await writeTar(entries)).toEqual(await writeTar(entries));
  });

  it.each([
    ["empty input", new Uint8Array(0), /empty/],
    ["short input", new Uint8Array(100), /only 100 bytes/],
    ["garbage", new Uint8Array(2048).fill(7), /checksum/],
    [
      "absurd size",
      concat(
        rawHeader({ name: "big", sizeField: "77777777777\0" }),
        new Uint8Array(1024),
      ),
      /big.*|claims/,
    ],
    [
      "non-octal size",
      concat(
        rawHeader({ name: "bad", sizeField: "zzzz\0" }),
        new Uint8Array(1024),
      ),
      /invalid size/,
    ],
  ])("refuses %s", async (_name, bytes, message) => {
    const err = await readTar(bytes).catch((e) => e);
    expect(err).toBeInstanceOf(ArchiveError);
    expect(String(err.message)).toMatch(message);
  });

  it("refuses a truncated archive naming the entry", async () => {
    const tar = await writeTar([{ name: "a.txt", data: "a".repeat(5000) }]);
    const err = await readTar(tar.slice(0, 2048)).catch((e) => e);
    expect(err).toBeInstanceOf(ArchiveError);
    expect(err.entry).toBe("a.txt");
    expect(err.message).toMatch(/truncated/);
  });

  it("normalizes and rejects member paths", () => {
    expect(safeArchivePath("./a//b/")).toBe("a/b");
    expect(safeArchivePath("/etc/passwd")).toBeUndefined();
    expect(safeArchivePath("a/../../b")).toBeUndefined();
    expect(resolveArchivePath("x/../y/layer.tar")).toBe("y/layer.tar");
    expect(resolveArchivePath("x/../../y")).toBeUndefined();
  });

  it("gzip round-trips and caps output", async () => {
    const data = new Uint8Array(100_000).fill(65);
    const gz = await gzip(data);
    expect(await gunzip(gz)).toEqual(data);
    await expect(gunzip(gz, { maxBytes: 1000 })).rejects.toThrow(/exceeds/);
    await expect(
      gunzip(new Uint8Array([0x1f, 0x8b, 1, 2, 3])),
    ).rejects.toBeInstanceOf(ArchiveError);
  });

  it("property: write → read round trip", async () => {
    const name = fc
      .stringMatching(/^[a-zA-Z0-9_.-]{1,20}(\/[a-zA-Z0-9_.-]{1,20}){0,12}$/)
      .filter(
        (n) => !n.split("/").includes(".") && !n.split("/").includes(".."),
      );
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(
          fc.record({
            name,
            data: fc.uint8Array({ maxLength: 2000 }),
            mode: fc.integer({ min: 0, max: 0o7777 }),
          }),
          {
            selector: (e) => e.name,
            maxLength: 8,
          },
        ),
        async (entries) => {
          const items = await readTar(await writeTar(entries));
          expect(
            items.map((i) => ({ name: i.name, data: i.data, mode: i.mode })),
          ).toEqual(entries);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("property: random bytes and mutated tars only ever throw ArchiveError", async () => {
    const base = await writeTar([
      { name: "a", data: "hello world" },
      { name: "d/", type: "directory" },
    ]);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 3000 }),
          fc
            .tuple(
              fc.integer({ min: 0, max: base.length - 1 }),
              fc.integer({ min: 0, max: 255 }),
              fc.integer({ min: 0, max: base.length }),
            )
            .map(([i, v, cut]) => {
              const b = base.slice(0, Math.max(cut, 1));
              if (i < b.length) b[i] = v;
              return b;
            }),
        ),
        async (bytes) => {
          try {
            await readTar(bytes);
          } catch (err) {
            expect(err).toBeInstanceOf(ArchiveError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("tar: host and guest read the same archive the same way", () => {
  const pax = (records: Record<string, string>): string =>
    Object.entries(records)
      .map(([key, value]) => {
        const body = ` ${key}=${value}\n`;
        let length = body.length + 1;
        while (`${length}${body}`.length !== length) length++;
        return `${length}${body}`;
      })
      .join("");

  for (const key of ["path", "linkpath", "size"]) {
    it(`refuses a global pax header that sets ${key}`, async () => {
      const tar = rawTar([
        { name: "pax_global_header", type: "g", data: pax({ [key]: key === "size" ? "5" : "evil" }) },
        { name: "a.txt", data: "hello" },
      ]);
      await expect(readTar(tar)).rejects.toThrow(new RegExp(`global pax header "pax_global_header" at offset 0 sets "${key}"`));
    });
  }

  it("accepts a global pax header with harmless records (comments, mtime)", async () => {
    const tar = rawTar([
      { name: "pax_global_header", type: "g", data: pax({ comment: "made by git", mtime: "1700000000" }) },
      { name: "a.txt", data: "hello" },
    ]);
    const items = await readTar(tar);
    expect(items.map((item) => item.name)).toEqual(["a.txt"]);
  });

  for (const [type, label] of [["1", "hardlink"], ["2", "symlink"], ["3", "char device"], ["4", "block device"], ["5", "directory"], ["6", "fifo"]]) {
    it(`refuses a ${label} entry with a non-zero size`, async () => {
      const tar = rawTar([{ name: "odd", type, linkname: "a.txt", data: "x".repeat(600) }, { name: "a.txt", data: "hi" }]);
      await expect(readTar(tar)).rejects.toThrow(new RegExp(`entry "odd" \\(type '${type}'\\) has no body but a size of 600 bytes`));
    });
  }

  it("refuses a pax size record on a symlink", async () => {
    const tar = rawTar([
      { name: "PaxHeaders/l", type: "x", data: pax({ size: "7" }) },
      { name: "l", type: "2", linkname: "a.txt" },
      { name: "a.txt", data: "hi" },
    ]);
    await expect(readTar(tar)).rejects.toThrow(/"l".*has no body but a size of 7 bytes/);
  });
});
