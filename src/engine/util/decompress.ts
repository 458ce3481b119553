import { Decompress as ZstdDecompress } from "fzstd";

/** How a byte stream is compressed, judged by its first bytes. */
export type Compression = "gzip" | "zstd" | "none";

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** Names the compression of a stream from its first bytes (at least 4 when the stream has them). */
export function sniffCompression(head: Uint8Array): Compression {
  if (startsWith(head, GZIP_MAGIC)) return "gzip";
  if (startsWith(head, ZSTD_MAGIC)) return "zstd";
  return "none";
}

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((byte, i) => bytes[i] === byte);
}

/** The output of a decompression grew past its cap (a decompression bomb or simply too big). */
export class DecompressedTooLargeError extends Error {
  constructor(
    readonly what: string,
    readonly maxBytes: number,
  ) {
    super(`${what} is larger than ${formatBytes(maxBytes)} once decompressed; refusing to unpack more of it`);
    this.name = "DecompressedTooLargeError";
  }
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

export interface DecompressOptions {
  /** The most bytes the output may have; more is an error. */
  maxBytes: number;
  /** What the stream is, for error messages ("layer sha256:…", "image archive"). */
  what?: string;
}

/**
 * Decompresses a gzip or zstd stream, or passes a plain one through, chosen by its magic bytes.
 * The output is streamed (nothing is buffered whole) and errors once it exceeds `maxBytes`.
 */
export function decompress(input: ReadableStream<Uint8Array>, opts: DecompressOptions): ReadableStream<Uint8Array> {
  const what = opts.what ?? "the data";
  let source: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let produced = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        source ??= (await openDecoded(input, what)).getReader();
        const { done, value } = await source.read();
        if (done) {
          controller.close();
          return;
        }
        produced += value.length;
        if (produced > opts.maxBytes) {
          const error = new DecompressedTooLargeError(what, opts.maxBytes);
          void source.cancel(error).catch(() => undefined);
          controller.error(error);
          return;
        }
        controller.enqueue(value);
      },
      async cancel(reason) {
        await (source ? source.cancel(reason) : input.cancel(reason));
      },
    },
    { highWaterMark: 0 },
  );
}

/** Reads enough of `input` to sniff it, then returns the decoded stream of all of it. */
async function openDecoded(input: ReadableStream<Uint8Array>, what: string): Promise<ReadableStream<Uint8Array>> {
  const reader = input.getReader();
  const head: Uint8Array[] = [];
  let headLength = 0;
  let ended = false;
  while (headLength < ZSTD_MAGIC.length) {
    const { done, value } = await reader.read();
    if (done) {
      ended = true;
      break;
    }
    head.push(value);
    headLength += value.length;
  }
  const first = new Uint8Array(Math.min(headLength, ZSTD_MAGIC.length));
  let offset = 0;
  for (const chunk of head) {
    if (offset >= first.length) break;
    const part = chunk.subarray(0, first.length - offset);
    first.set(part, offset);
    offset += part.length;
  }
  const raw = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        for (const chunk of head) controller.enqueue(chunk);
        if (ended) controller.close();
      },
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel(reason) {
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  switch (sniffCompression(first)) {
    case "gzip":
      return raw.pipeThrough(gunzipStream(what));
    case "zstd":
      return raw.pipeThrough(unzstdStream(what));
    case "none":
      return raw;
  }
}

function gunzipStream(what: string): TransformStream<Uint8Array, Uint8Array> {
  const inflate = new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>;
  return withClearErrors(inflate, what, "gzip");
}

function unzstdStream(what: string): TransformStream<Uint8Array, Uint8Array> {
  let decoder: ZstdDecompress | undefined;
  let sink: TransformStreamDefaultController<Uint8Array> | undefined;
  let finished = false;
  const fail = (error: unknown): Error =>
    new Error(`${what} is not valid zstd data (${error instanceof Error ? error.message : String(error)})`);
  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      sink = controller;
      decoder = new ZstdDecompress((data, final) => {
        if (data.length) sink?.enqueue(data);
        if (final) finished = true;
      });
    },
    transform(chunk) {
      try {
        decoder?.push(chunk);
      } catch (error) {
        throw fail(error);
      }
    },
    flush() {
      try {
        decoder?.push(new Uint8Array(0), true);
      } catch (error) {
        throw fail(error);
      }
      if (!finished) throw fail(new Error("unexpected end of data"));
    },
  });
}

/** Rewords a DecompressionStream's terse errors ("incorrect header check") to name the data. */
function withClearErrors(inner: TransformStream<Uint8Array, Uint8Array>, what: string, format: string): TransformStream<Uint8Array, Uint8Array> {
  const reword = (error: unknown): Error =>
    new Error(`${what} is not valid ${format} data (${error instanceof Error ? error.message : String(error)})`);
  const writer = inner.writable.getWriter();
  const reader = inner.readable.getReader();
  const readable = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          controller.error(reword(error));
        }
      },
      async cancel(reason) {
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      await writer.ready;
      writer.write(chunk).catch(() => undefined);
    },
    async close() {
      await writer.close().catch(() => undefined);
    },
    async abort(reason) {
      await writer.abort(reason).catch(() => undefined);
    },
  });
  return { readable, writable } as TransformStream<Uint8Array, Uint8Array>;
}
