/** Joins byte chunks (stream reads, tar parts) into one array. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

export interface ReadStreamOptions {
  /** Past this many bytes the stream is cancelled and `tooLarge()` thrown (memory stays bounded). */
  maxBytes?: number;
  tooLarge?: () => Error;
  /** Stop once this many bytes are in and cancel the rest: for reading a header. */
  stopAfter?: number;
  /** Called after each chunk with the bytes read so far (download progress). */
  onBytes?: (read: number) => void;
}

/**
 * Reads a stream into one array: to its end, or to `stopAfter` bytes. Past `maxBytes` it cancels the
 * stream and throws `tooLarge()`, so a hostile or runaway stream never grows memory without bound.
 */
export async function readStreamBytes(stream: ReadableStream<Uint8Array>, options: ReadStreamOptions = {}): Promise<Uint8Array> {
  const { maxBytes = Infinity, stopAfter = Infinity, onBytes } = options;
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total < stopAfter) {
    const { done, value } = await reader.read();
    if (done) return concatBytes(chunks);
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw (options.tooLarge ?? (() => new RangeError(`stream longer than ${maxBytes} bytes`)))();
    }
    chunks.push(value);
    onBytes?.(total);
  }
  void reader.cancel().catch(() => {});
  return concatBytes(chunks);
}
