/**
 * The engine's layer model (src/engine/api.ts) as the layer view shows it. The engine numbers filesystem
 * layers only; the view numbers every step of the image's history (config-only ones too), so layer
 * numbers are translated here and nothing else is computed.
 */
import type { HiddenFileView, ImageFileView, ImageLayersView } from '../../engine/api.ts';
import type { ImageVM, LayerVM, MergedNodeVM, WastedFileVM } from './model.ts';
import { toTree, type FlatEntry } from './tree.ts';

/** The view draws directories, symlinks, and everything else as a file. */
export function entryType(type: string): FlatEntry['type'] {
  return type === 'dir' || type === 'symlink' ? type : 'file';
}

/** The image's filesystem layers, in the engine's order: the view index of engine layer `i` is `[i].index`. */
export function filesystemLayers(image: ImageVM): LayerVM[] {
  return image.layers.filter((l) => !l.emptyLayer);
}

/** The engine's index of the topmost filesystem layer at or below view index `layer` (-1: none). */
export function engineLayerUpTo(image: ImageVM, layer: number): number {
  return filesystemLayers(image).filter((l) => l.index <= layer).length - 1;
}

/** What the layer at view index `hiddenBy` hides, with view indexes; `viewIndex[i]` is engine layer i's. */
export function hiddenVM(hidden: readonly HiddenFileView[], hiddenBy: number, viewIndex: readonly number[]): WastedFileVM[] {
  return hidden.map((h) => ({ path: h.path, size: h.bytes, layer: viewIndex[h.layer] ?? h.layer, hiddenBy, reason: h.reason }));
}

/** The engine's merged files up to a layer as the view's tree, each with the view index of its layer. */
export function mergedNodes(files: readonly ImageFileView[], viewIndex: readonly number[]): MergedNodeVM[] {
  return toTree(files.map((f) => ({ ...f, type: entryType(f.type), mark: f.kind, layer: viewIndex[f.layer] ?? f.layer })));
}

/** Engine layers (with config-only history entries between them) → the layer view's model. */
export function imageVM(layers: ImageLayersView): ImageVM {
  const builtHere = layers.history.some((h) => h.line);
  /** View index (history entries, config-only ones included) of each filesystem layer. */
  const viewIndex: number[] = [];
  layers.history.forEach((entry, i) => {
    if (entry.layerIndex !== null) viewIndex[entry.layerIndex] = i;
  });
  const result = layers.history.map((entry, index): LayerVM => {
    const layer = entry.layerIndex === null ? undefined : layers.layers[entry.layerIndex];
    return {
      index,
      digest: layer?.diffID ?? '',
      instruction: entry.instruction ?? instructionOf(entry.createdBy),
      line: entry.line ?? 0,
      size: layer?.size ?? 0,
      changedFiles: layer?.changes.length ?? 0,
      emptyLayer: !layer,
      tree: layer ? toTree(layer.changes.map((change) => ({ ...change, type: entryType(change.type), mark: change.kind }))) : [],
      base: builtHere ? !entry.line : false,
      hidden: hiddenVM(layer?.hidden ?? [], index, viewIndex),
    };
  });
  return { id: layers.id, tags: layers.repoTags, layers: result };
}

/** `/bin/sh -c #(nop)  ENV a=b` → `ENV a=b`; `/bin/sh -c echo hi` → `RUN echo hi`. */
function instructionOf(createdBy: string): string {
  const nop = /^\/bin\/sh -c #\(nop\)\s+(.*)$/s.exec(createdBy);
  if (nop) return nop[1].trim();
  if (/^(RUN|COPY|ADD|WORKDIR|ENV|CMD|ENTRYPOINT|LABEL|EXPOSE|USER|VOLUME|ARG|SHELL|STOPSIGNAL|HEALTHCHECK)\b/.test(createdBy)) return createdBy;
  const run = /^(?:\|\d+ (?:\S+=\S* )*)?\/bin\/sh -c (.*)$/s.exec(createdBy);
  return run ? `RUN ${run[1]}` : createdBy;
}
