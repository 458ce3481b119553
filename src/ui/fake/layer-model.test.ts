import { describe, expect, it } from 'vitest';
import { appImage, wastefulImage, pathsWithLayers as paths } from '../layers/fixtures.ts';
import type { ImageVM } from '../layers/model.ts';
import { toTree, wastedUpTo } from '../layers/tree.ts';
import { analyzedLayers, imageFiles, visibleFiles } from './layer-model.ts';


describe("the fake's layers through the engine's model", () => {
  it('merges layers with later versions winning, numbered as the view numbers layers', () => {
    const p = paths(imageFiles(appImage, 3));
    expect(p).toContain('/app/hello.sh@3');
    expect(p).toContain('/app/built.txt@3');
    expect(p).toContain('/bin/busybox@0');
    // The config-only CMD (view index 4) changes no file: up to it is up to layer 3.
    expect(paths(imageFiles(appImage, 4))).toEqual(p);
  });

  it('whiteouts remove paths from the merged view but the bytes stay (wasted)', () => {
    expect(paths(imageFiles(wastefulImage, 2))).toContain('/tmp/big.tar.gz@1');
    expect(paths(imageFiles(wastefulImage, 3)).some((x) => x.startsWith('/tmp/big.tar.gz'))).toBe(false);
    const layers = analyzedLayers(wastefulImage.layers);
    const w = wastedUpTo(layers, 3);
    expect(w.total).toBe(4_200_000 + 3_400);
    expect(w.files[0]).toEqual({ path: '/tmp/big.tar.gz', size: 4_200_000, layer: 1, hiddenBy: 3, reason: 'deleted' });
    expect(wastedUpTo(layers, 2).total).toBe(0);
  });

  it('counts overwritten files as wasted', () => {
    const w = wastedUpTo(analyzedLayers(appImage.layers), 3);
    expect(w.files).toEqual([{ path: '/app/hello.sh', size: 112, layer: 2, hiddenBy: 3, reason: 'overwritten' }]);
  });

  it('an opaque directory hides what the layers below had in it', () => {
    const opaque: ImageVM = {
      ...wastefulImage,
      layers: [
        ...wastefulImage.layers.slice(0, 2),
        { ...wastefulImage.layers[3], index: 2, tree: toTree([{ path: '/opt', type: 'dir', size: 0, mark: 'M', opaque: true }, { path: '/opt/new', type: 'file', size: 3, mark: 'A' }]) },
      ],
    };
    expect(paths(imageFiles(opaque, 2)).filter((p) => p.startsWith('/opt'))).toEqual(['/opt@2', '/opt/new@2']);
    expect(visibleFiles(opaque.layers).has('/opt/tool/bin')).toBe(false);
    const w = wastedUpTo(analyzedLayers(opaque.layers), 2);
    expect(w.files.map((f) => [f.path, f.reason, f.hiddenBy])).toEqual([
      ['/opt/tool/bin', 'deleted', 2],
      ['/opt/tool/README', 'deleted', 2],
    ]);
  });
});
