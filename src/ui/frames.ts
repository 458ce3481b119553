/** Main-thread scheduling by animation frame, so the page's work lands between paints. */

/** Resolves after the next frame is drawn: the page's pending style and layout work is done by then. */
export function afterFrame(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

/**
 * Hands `apply` only the latest of the values pushed within one frame (a chatty build log must not flood
 * the main thread): `flush` applies a pending value at once, `drop` forgets it.
 */
export function latestPerFrame<T>(apply: (value: T) => void): { push(value: T): void; flush(): void; drop(): void } {
  let pending: { value: T } | null = null;
  const flush = () => {
    const held = pending;
    pending = null;
    if (held) apply(held.value);
  };
  return {
    push(value) {
      if (pending === null) requestAnimationFrame(flush);
      pending = { value };
    },
    flush,
    drop() {
      pending = null;
    },
  };
}
