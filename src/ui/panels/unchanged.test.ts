import { describe, expect, it } from 'vitest';
import { keepUnchanged, sameData } from './unchanged.ts';

const row = (id: string, size: number) => ({ id, size, tags: [`${id}:latest`] });
const byId = (r: { id: string }) => r.id;

describe('keepUnchanged', () => {
  it('gives back the previous list when every row is equal', () => {
    const previous = [row('a', 1), row('b', 2)];
    expect(keepUnchanged(previous, [row('a', 1), row('b', 2)], byId)).toBe(previous);
  });

  it('keeps equal rows as the previous objects and takes changed ones', () => {
    const previous = [row('a', 1), row('b', 2)];
    const next = keepUnchanged(previous, [row('a', 1), row('b', 3)], byId);
    expect(next).not.toBe(previous);
    expect(next[0]).toBe(previous[0]);
    expect(next[1]).toEqual(row('b', 3));
    expect(next[1]).not.toBe(previous[1]);
  });

  it('is a new list when rows are added, removed or reordered', () => {
    const previous = [row('a', 1), row('b', 2)];
    const added = keepUnchanged(previous, [row('a', 1), row('b', 2), row('c', 3)], byId);
    expect(added).toHaveLength(3);
    expect(added[1]).toBe(previous[1]);
    const removed = keepUnchanged(previous, [row('b', 2)], byId);
    expect(removed).toEqual([previous[1]]);
    expect(removed[0]).toBe(previous[1]);
    const reordered = keepUnchanged(previous, [row('b', 2), row('a', 1)], byId);
    expect(reordered).toEqual([previous[1], previous[0]]);
  });

  it('uses the equality it is given', () => {
    const previous = [{ id: 'a', status: 'Up 1 second', startedAt: 't' }];
    const ignoringStatus = (x: { status: string }, y: { status: string }) => sameData({ ...x, status: '' }, { ...y, status: '' });
    expect(keepUnchanged(previous, [{ id: 'a', status: 'Up 2 seconds', startedAt: 't' }], byId, ignoringStatus)).toBe(previous);
    expect(keepUnchanged(previous, [{ id: 'a', status: 'Up 2 seconds', startedAt: 't' }], byId)).not.toBe(previous);
  });
});
