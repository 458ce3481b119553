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

/**
 * Reads a stream to its end into one array. Past `maxBytes` it cancels the stream and throws `tooLarge()`,
 * so a hostile or runaway stream never grows memory without bound.
 */
export async function readStreamBytes(
  stream: ReadableStream<Uint8Array>,
  maxBytes = Infinity,
  tooLarge: () => Error = () => new RangeError(`stream longer than ${maxBytes} bytes`),
): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return concatBytes(chunks);
}
