import { describe, expect, it } from 'vitest';
import { readStreamBytes } from './bytes.ts';

const streamOf = (...chunks: number[][]) => {
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks.shift();
      if (chunk) controller.enqueue(Uint8Array.from(chunk));
      else controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, cancelled: () => cancelled };
};

describe('readStreamBytes', () => {
  it('joins every chunk in order', async () => {
    expect(await readStreamBytes(streamOf([1, 2], [], [3]).stream)).toEqual(Uint8Array.from([1, 2, 3]));
  });

  it('cancels the stream and throws the given error past the limit', async () => {
    const source = streamOf([1, 2], [3, 4]);
    await expect(readStreamBytes(source.stream, { maxBytes: 3, tooLarge: () => new Error('too big') })).rejects.toThrow('too big');
    expect(source.cancelled()).toBe(true);
  });

  it('stops after a header and cancels the rest, reporting progress per chunk', async () => {
    const source = streamOf([1, 2], [3, 4], [5, 6]);
    const seen: number[] = [];
    expect(await readStreamBytes(source.stream, { stopAfter: 3, onBytes: (n) => seen.push(n) })).toEqual(Uint8Array.from([1, 2, 3, 4]));
    expect(seen).toEqual([2, 4]);
    expect(source.cancelled()).toBe(true);
  });
});
