import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isDigest, parseDigest, sha256, shortId } from "./digest.ts";
import { InvalidReferenceError } from "./errors.ts";
import { buildImage } from "./image.ts";
import { fullyQualified, parseReference } from "./reference.ts";

describe("sha256", () => {
  it.each([[""], ["hello\n"], ["x".repeat(100_000)]])(
    "matches sha256sum for %#",
    async (text) => {
      const expected = execFileSync("sha256sum", { input: text })
        .toString()
        .split(" ")[0];
      expect(await sha256(new TextEncoder().encode(text))).toBe(
        `sha256:${expected}`,
      );
    },
  );

  it("matches sha256sum on random bytes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (bytes) => {
        const expected = execFileSync("sha256sum", { input: bytes })
          .toString()
          .split(" ")[0];
        expect(await sha256(bytes)).toBe(`sha256:${expected}`);
      }),
      { numRuns: 20 },
    );
  });

  it("validates digests", () => {
    expect(isDigest(`sha256:${"a".repeat(64)}`)).toBe(true);
    expect(isDigest(`sha256:${"A".repeat(64)}`)).toBe(false);
    expect(isDigest("sha256:abc")).toBe(false);
    expect(() => parseDigest("md5:x")).toThrow(/invalid digest/);
    expect(shortId(`sha256:${"0123456789ab".repeat(5)}abcd`)).toBe(
      "0123456789ab",
    );
  });
});

describe("parseReference", () => {
  it.each([
    ["busybox", "busybox:latest"],
    ["busybox:1.36", "busybox:1.36"],
    ["docker.io/library/busybox", "busybox:latest"],
    ["index.docker.io/library/busybox:musl", "busybox:musl"],
    ["docker.io/me/app:v1", "me/app:v1"],
    ["me/app", "me/app:latest"],
    ["localhost:5000/app", "localhost:5000/app:latest"],
    ["ghcr.io/a/b:c", "ghcr.io/a/b:c"],
    ["my-app_x.y", "my-app_x.y:latest"],
  ])("%s → %s", (ref, full) => {
    expect(parseReference(ref).full).toBe(full);
  });

  it.each([
    ["Busybox", /must be lowercase/],
    ["a:b:c", /invalid/],
    ["", /invalid/],
    ["-x", /invalid/],
    ["a::", /invalid/],
  ])("refuses %s", (ref, msg) => {
    expect(() => parseReference(ref)).toThrow(InvalidReferenceError);
    expect(() => parseReference(ref)).toThrow(msg);
  });

  it("qualifies names", () => {
    expect(fullyQualified(parseReference("busybox"))).toBe(
      "docker.io/library/busybox:latest",
    );
    expect(fullyQualified(parseReference("me/app:1"))).toBe(
      "docker.io/me/app:1",
    );
    expect(fullyQualified(parseReference("localhost:5000/x"))).toBe(
      "localhost:5000/x:latest",
    );
  });
});

describe("buildImage", () => {
  it("is deterministic and lists diff_ids", async () => {
    const layer = {
      digest: await sha256("gz"),
      diffID: await sha256("tar"),
      size: 2,
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
    };
    const opts = {
      layers: [layer],
      created: "2024-01-01T00:00:00Z",
      history: [
        { created_by: "RUN x" },
        { created_by: "CMD", empty_layer: true },
      ],
    };
    const a = await buildImage(opts);
    const b = await buildImage(opts);
    expect(a.configDigest).toBe(b.configDigest);
    expect(a.manifestDigest).toBe(b.manifestDigest);
    expect(a.config.rootfs.diff_ids).toEqual([layer.diffID]);
    expect(a.manifest.config.digest).toBe(a.configDigest);
    expect(a.configDigest).toBe(await sha256(a.configBytes));
    await expect(
      buildImage({
        ...opts,
        history: [{ created_by: "CMD", empty_layer: true }],
      }),
    ).rejects.toThrow(/history/);
  });
});
