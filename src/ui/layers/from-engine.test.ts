/**
 * The engine's layer model carried to the layer view unchanged: a real engine (in-memory guest) loads an
 * image whose layers hold whiteouts and an opaque directory, and the view model shows what it computed.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../../engine/engine.ts';
import { MemoryBackend } from '../../engine/store/backend.ts';
import { MemoryGuest } from '../../engine/testing/memory-guest.ts';
import { writeTar, type TarWriteEntry } from '../../engine/archive/tar.ts';
import { sha256 } from '../../engine/oci/digest.ts';
import { imageVM, mergedNodes, engineLayerUpTo, filesystemLayers } from './from-engine.ts';
import type { FileNodeVM } from './model.ts';
import { wastedUpTo } from './tree.ts';

const dir = (name: string): TarWriteEntry => ({ name, type: 'directory' });
const file = (name: string, size: number): TarWriteEntry => ({ name, data: 'x'.repeat(size) });

/** A docker-archive of one image: each step a layer tar, or (a string) a config-only instruction. */
async function archive(steps: (TarWriteEntry[] | string)[]): Promise<Uint8Array> {
  const members: TarWriteEntry[] = [];
  const diffIDs: string[] = [];
  const history: { created_by: string; empty_layer?: boolean }[] = [];
  for (const [i, step] of steps.entries()) {
    if (typeof step === 'string') {
      history.push({ created_by: `/bin/sh -c #(nop)  ${step}`, empty_layer: true });
      continue;
    }
    const tar = await writeTar(step);
    diffIDs.push(await sha256(tar));
    members.push({ name: `layer${i}.tar`, data: tar });
    history.push({ created_by: `/bin/sh -c step ${i}` });
  }
  const config = JSON.stringify({ architecture: '386', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIDs }, history });
  members.push({ name: 'config.json', data: config });
  members.push({ name: 'manifest.json', data: JSON.stringify([{ Config: 'config.json', RepoTags: ['layered:1'], Layers: members.filter((m) => m.name.startsWith('layer')).map((m) => m.name) }]) });
  return writeTar(members);
}

function find(nodes: FileNodeVM[], path: string): FileNodeVM | undefined {
  for (const n of nodes) {
    if (n.path === path) return n;
    const below = n.children && find(n.children, path);
    if (below) return below;
  }
  return undefined;
}

describe('the engine\'s layer model in the view', () => {
  it('carries opaque directories, whiteouts, hidden bytes and the merged view, in the view\'s layer numbers', async () => {
    const engine = await Engine.open({ backend: new MemoryBackend(), guest: new MemoryGuest() });
    await engine.load({
      data: await archive([
        [dir('opt'), dir('opt/tool'), file('opt/tool/bin', 2000), file('opt/tool/README', 30), dir('tmp'), file('tmp/big', 500), { name: 'sh', type: 'symlink', linkname: 'busybox' }],
        'ENV PATH=/opt/tool',
        [dir('tmp'), { name: 'tmp/.wh.big' }, dir('opt'), { name: 'opt/.wh..wh..opq' }, file('opt/new', 7)],
      ]),
    });
    const image = imageVM(await engine.imageLayers({ ref: 'layered:1' }));
    expect(image.layers.map((l) => [l.index, l.emptyLayer, l.instruction])).toEqual([
      [0, false, 'RUN step 0'],
      [1, true, 'ENV PATH=/opt/tool'],
      [2, false, 'RUN step 2'],
    ]);
    const top = image.layers[2];
    expect(find(top.tree, '/opt')).toMatchObject({ mark: 'M', opaque: true });
    expect(find(top.tree, '/tmp/big')).toMatchObject({ mark: 'D' });
    expect(find(top.tree, '/opt/tool')).toMatchObject({ mark: 'D' });
    expect(find(image.layers[0].tree, '/sh')).toMatchObject({ type: 'symlink', linkTarget: 'busybox' });
    // What layer 2 hides, in view numbers: added by #0, hidden by #2.
    expect(wastedUpTo(image.layers, 1).total).toBe(0);
    expect(wastedUpTo(image.layers, 2)).toEqual({
      total: 2530,
      files: [
        { path: '/opt/tool/bin', size: 2000, layer: 0, hiddenBy: 2, reason: 'deleted' },
        { path: '/tmp/big', size: 500, layer: 0, hiddenBy: 2, reason: 'deleted' },
        { path: '/opt/tool/README', size: 30, layer: 0, hiddenBy: 2, reason: 'deleted' },
      ],
    });
    // The merged view up to the ENV step is layer 0's; up to the top, the opaque /opt holds only its new file.
    const viewIndex = filesystemLayers(image).map((l) => l.index);
    expect(engineLayerUpTo(image, 1)).toBe(0);
    const merged = mergedNodes(await engine.imageFiles({ ref: 'layered:1', layer: engineLayerUpTo(image, 2) }), viewIndex);
    expect(find(merged, '/opt')).toMatchObject({ layer: 2, mark: 'M' });
    expect(find(merged, '/opt')?.children?.map((n) => n.path)).toEqual(['/opt/new']);
    expect(find(merged, '/tmp')?.children).toEqual([]);
    expect(find(merged, '/sh')).toMatchObject({ layer: 0, mark: 'A', linkTarget: 'busybox' });
    await expect(engine.imageFiles({ ref: 'layered:1', layer: 2 })).rejects.toThrow(/has no layer 2/);
  });
});
