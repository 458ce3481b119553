import { describe, expect, it } from 'vitest';
import { appImage, wastefulImage } from './fixtures.ts';
import { formatBytes, mergeLayers, normalize, toTree, treeSize, wastedBytes, writableTree, type MergedNodeVM } from './tree.ts';

function paths(nodes: MergedNodeVM[], out: string[] = []): string[] {
  for (const n of nodes) {
    out.push(n.path + (n.layer !== undefined ? `@${n.layer}` : ''));
    if (n.children) paths(n.children, out);
  }
  return out;
}

describe('layer tree', () => {
  it('nests flat paths and creates missing parents', () => {
    const t = toTree([{ path: '/a/b/c.txt', type: 'file', size: 3, mark: 'A' }]);
    expect(paths(t)).toEqual(['/a', '/a/b', '/a/b/c.txt']);
    expect(treeSize(t)).toBe(3);
  });

  it('merges layers with later versions winning', () => {
    const merged = mergeLayers(appImage.layers, 3);
    const p = paths(merged);
    expect(p).toContain('/app/hello.sh@3');
    expect(p).toContain('/app/built.txt@3');
    expect(p).toContain('/bin/busybox@0');
  });

  it('whiteouts remove paths from the merged view but the bytes stay (wasted)', () => {
    const before = paths(mergeLayers(wastefulImage.layers, 2));
    expect(before).toContain('/tmp/big.tar.gz@1');
    const after = paths(mergeLayers(wastefulImage.layers, 3));
    expect(after.some((x) => x.startsWith('/tmp/big.tar.gz'))).toBe(false);
    const w = wastedBytes(wastefulImage.layers, 3);
    expect(w.total).toBe(4_200_000 + 3_400);
    expect(w.files[0]).toMatchObject({ path: '/tmp/big.tar.gz', layer: 1, hiddenBy: 3, reason: 'deleted' });
    expect(wastedBytes(wastefulImage.layers, 2).total).toBe(0);
  });

  it('counts overwritten files as wasted', () => {
    const w = wastedBytes(appImage.layers, 3);
    expect(w.files).toEqual([{ path: '/app/hello.sh', size: 112, layer: 2, hiddenBy: 3, reason: 'overwritten' }]);
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
