/**
 * Keeping what did not change: the engine's feed gives whole lists again at every refresh, and a list
 * or row that is a new object makes Svelte redraw what shows it. Rows equal to the previous ones stay the
 * previous objects, and a list with nothing changed stays the previous list, so only what changed is drawn.
 */

/** Equal as data: same fields with the same values (rows are plain JSON-like objects). */
export function sameData(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/**
 * `next`, with each row that equals (by `same`) the row of the same `key` in `previous` replaced by that
 * previous row; `previous` itself when every row is kept in the same order.
 */
export function keepUnchanged<T>(previous: readonly T[], next: readonly T[], key: (row: T) => string, same: (a: T, b: T) => boolean = sameData): T[] {
  const before = new Map(previous.map((row) => [key(row), row] as const));
  let changed = previous.length !== next.length;
  const rows = next.map((row, i) => {
    const old = before.get(key(row));
    if (old !== undefined && same(old, row)) {
      if (previous[i] !== old) changed = true;
      return old;
    }
    changed = true;
    return row;
  });
  return changed ? rows : (previous as T[]);
}
