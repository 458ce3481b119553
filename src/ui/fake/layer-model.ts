/**
 * The fake's layers through the engine's own layer model (src/engine/layers): what each layer hides, the
 * merged view up to a layer and what is visible below a step come from the same code the real engine
 * runs, so the view shows the engine's answers on the fixtures too.
 */
import { analyzeImage, emptyLayerTree, mergedUpTo, mergeLayers, type FileNode, type LayerTree } from '../../engine/index.ts';
import { engineLayerUpTo, filesystemLayers, hiddenVM, mergedNodes } from '../layers/from-engine.ts';
import type { ImageVM, LayerVM, MergedNodeVM } from '../layers/model.ts';
import { flatten, normalize } from '../layers/tree.ts';

/** A fake layer's changes as the engine's layer tree: D marks are whiteouts, opaque dirs hide what is below. */
function layerTree(layer: LayerVM): LayerTree {
  const tree = emptyLayerTree();
  for (const e of flatten(layer.tree)) {
    const path = normalize(e.path);
    if (e.mark === 'D') {
      tree.whiteouts.add(path);
      continue;
    }
    if (e.opaque && e.type === 'dir') tree.opaqueDirs.add(path);
    const node: FileNode = { path, type: e.type, mode: e.type === 'dir' ? 0o755 : 0o644, size: e.type === 'dir' ? 0 : e.size, uid: 0, gid: 0 };
    if (e.linkTarget) node.linkTarget = e.linkTarget;
    tree.entries.set(path, node);
  }
  return tree;
}

/** The layers with `hidden` filled in by the engine's analysis (as the real backend's come). */
export function analyzedLayers(layers: LayerVM[]): LayerVM[] {
  const filesystem = filesystemLayers({ id: '', tags: [], layers });
  const viewIndex = filesystem.map((l) => l.index);
  const analysis = analyzeImage({ layers: filesystem.map(layerTree) });
  return layers.map((layer) => {
    const i = filesystem.indexOf(layer);
    return { ...layer, hidden: i < 0 ? [] : hiddenVM(analysis.layers[i].hidden, layer.index, viewIndex) };
  });
}

/** The merged view up to view index `layer`, as the real backend answers it. */
export function imageFiles(image: ImageVM, layer: number): MergedNodeVM[] {
  const filesystem = filesystemLayers(image);
  const upTo = engineLayerUpTo(image, layer);
  return mergedNodes(mergedUpTo({ layers: filesystem.map(layerTree), upTo }), filesystem.map((l) => l.index));
}

/** What a container started from these layers sees, by path. */
export function visibleFiles(layers: LayerVM[]): Map<string, FileNode> {
  return mergeLayers(layers.filter((l) => !l.emptyLayer).map(layerTree));
}
