import { execFileSync } from "node:child_process";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decompress, DecompressedTooLargeError, sniffCompression } from "./decompress";

function streamOf(bytes: Uint8Array, chunkSize = 7): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream as ReadableStream<Uint8Array<ArrayBuffer>>).arrayBuffer());
}

function zstd(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(execFileSync("zstd", ["-q", "-c"], { input: bytes }));
}

const text = new TextEncoder().encode("layerlab ".repeat(5000));

describe("decompress", () => {
  it("sniffs gzip, zstd and plain data by magic bytes", () => {
    expect(sniffCompression(gzipSync(text))).toBe("gzip");
    expect(sniffCompression(zstd(text))).toBe("zstd");
    expect(sniffCompression(text)).toBe("none");
    expect(sniffCompression(new Uint8Array([0x1f]))).toBe("none");
  });

  it("inflates gzip, decodes zstd and passes plain data through, in small chunks", async () => {
    for (const input of [gzipSync(text), zstd(text), text]) {
      expect(await collect(decompress(streamOf(input, 64), { maxBytes: 1 << 20 }))).toEqual(text);
    }
  });

  it("handles empty and tiny inputs", async () => {
    expect(await collect(decompress(streamOf(new Uint8Array(0)), { maxBytes: 10 }))).toEqual(new Uint8Array(0));
    expect(await collect(decompress(streamOf(new Uint8Array([1, 2])), { maxBytes: 10 }))).toEqual(new Uint8Array([1, 2]));
  });

  it("stops a gzip bomb at maxBytes with an error naming the data", async () => {
    const bomb = gzipSync(new Uint8Array(64 << 20));
    expect(bomb.length).toBeLessThan(100_000);
    const result = collect(decompress(streamOf(bomb, 4096), { maxBytes: 1 << 20, what: "layer sha256:abc" }));
    await expect(result).rejects.toThrow(DecompressedTooLargeError);
    await expect(result).rejects.toThrow(/layer sha256:abc is larger than 1 MiB once decompressed/);
  });

  it("stops a zstd bomb at maxBytes", async () => {
    const bomb = zstd(new Uint8Array(64 << 20));
    const result = collect(decompress(streamOf(bomb, 4096), { maxBytes: 1 << 20, what: "the archive" }));
    await expect(result).rejects.toThrow(/the archive is larger than 1 MiB/);
  });

  it("caps plain data too", async () => {
    await expect(collect(decompress(streamOf(text, 1000), { maxBytes: 100 }))).rejects.toThrow(/larger than 100 bytes/);
  });

  it("names the data when gzip or zstd is corrupt", async () => {
    const gz = gzipSync(text);
    gz.fill(0x55, 12, 40);
    await expect(collect(decompress(streamOf(gz), { maxBytes: 1 << 20, what: "layer 1" }))).rejects.toThrow(/layer 1 is not valid gzip data/);
    const whole = zstd(text);
    const zs = whole.slice(0, whole.length - 6);
    await expect(collect(decompress(streamOf(zs), { maxBytes: 1 << 20, what: "layer 2" }))).rejects.toThrow(/layer 2 is not valid zstd data/);
  });
});
