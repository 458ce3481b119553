import { describe, expect, it } from 'vitest';
import { appImage, pathsWithLayers as paths } from './fixtures.ts';
import { formatBytes, normalize, toTree, treeSize, wastedUpTo, writableTree } from './tree.ts';


describe('layer tree', () => {
  it('nests flat paths and creates missing parents', () => {
    const t = toTree([{ path: '/a/b/c.txt', type: 'file', size: 3, mark: 'A' }]);
    expect(paths(t)).toEqual(['/a', '/a/b', '/a/b/c.txt']);
    expect(treeSize(t)).toBe(3);
  });

  it('adds up what the layers up to one hide, biggest first', () => {
    const hidden = (path: string, size: number, layer: number, hiddenBy: number) => ({ path, size, layer, hiddenBy, reason: 'deleted' as const });
    const layers = [
      { ...appImage.layers[0], index: 0, hidden: [] },
      { ...appImage.layers[1], index: 1, hidden: [hidden('/a', 5, 0, 1)] },
      { ...appImage.layers[2], index: 2, hidden: [hidden('/b', 50, 1, 2), hidden('/c', 1, 0, 2)] },
    ];
    expect(wastedUpTo(layers, 0)).toEqual({ total: 0, files: [] });
    expect(wastedUpTo(layers, 2).total).toBe(56);
    expect(wastedUpTo(layers, 2).files.map((f) => f.path)).toEqual(['/b', '/a', '/c']);
  });

  it('maps docker diff kinds to marks', () => {
    const t = writableTree([{ path: '/etc/x', kind: 'C', size: 1 }]);
    expect(t[0].children![0].mark).toBe('M');
  });

  it('normalizes and formats', () => {
    expect(normalize('./a//b/')).toBe('/a/b');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1_118_096)).toBe('1.1 MB');
  });
});
