/**
 * Dive-style analysis: per layer, what it added, modified and removed compared with the layers below; for
 * the image, the merged tree and the bytes wasted on files that later layers overwrite or delete.
 */
import {
  applyLayer,
  comparePaths,
  descendants,
  parentPath,
  sortedEntries,
  type FileNode,
  type LayerTree,
  type MergedTree,
} from "./tree.ts";
import type { ImageFileView } from "../api.ts";

export const DiffType = {
  Added: "added",
  Modified: "modified",
  Removed: "removed",
  Unmodified: "unmodified",
} as const;
export type DiffType = (typeof DiffType)[keyof typeof DiffType];

export interface LayerChange {
  path: string;
  diff: DiffType;
  /** The node in this layer (added/modified/unmodified) or the lower node it removes. */
  node: FileNode;
  /** Content bytes involved: the new file's size, or the total size of what was removed. */
  size: number;
}

/** Compare one layer against the merged tree of the layers below it. Sorted in walk order. */
export function diffLayer(options: {
  lower: MergedTree;
  layer: LayerTree;
}): LayerChange[] {
  const { lower, layer } = options;
  const changes: LayerChange[] = [];
  const removed = new Set<string>();
  const removeSubtree = (path: string) => {
    const node = lower.get(path);
    if (!node || removed.has(path)) return;
    removed.add(path);
    const size = [path, ...descendants(lower, path)].reduce(
      (s, p) => s + (lower.get(p)?.size ?? 0),
      0,
    );
    changes.push({ path, diff: DiffType.Removed, node, size });
  };
  for (const w of layer.whiteouts) removeSubtree(w);
  for (const dir of layer.opaqueDirs) {
    // Hidden lower children that the layer doesn't re-create are gone.
    for (const p of descendants(lower, dir)) {
      if (parentPath(p) === dir && !layer.entries.has(p)) removeSubtree(p);
    }
  }
  for (const [path, node] of layer.entries) {
    const before = lower.get(path);
    let diff: DiffType;
    if (!before) diff = DiffType.Added;
    else if (
      node.type === "dir" &&
      before.type === "dir" &&
      sameMetadata(node, before) &&
      // An opaque directory replaces everything below it: a change even when its metadata is the same.
      !layer.opaqueDirs.has(path)
    )
      diff = DiffType.Unmodified;
    else diff = DiffType.Modified;
    changes.push({ path, diff, node, size: node.size });
  }
  return changes.sort((a, b) => comparePaths(a.path, b.path));
}

function sameMetadata(a: FileNode, b: FileNode): boolean {
  return a.mode === b.mode && a.uid === b.uid && a.gid === b.gid;
}

/** Bytes a lower layer still ships although this layer hides them (dive's wasted space, per layer). */
export interface HiddenFile {
  path: string;
  bytes: number;
  /** The layer whose copy is hidden (the last that wrote the path). */
  layer: number;
  /** Removed (a whiteout or an opaque directory) or overwritten by a new version. */
  reason: "deleted" | "overwritten";
}

export interface LayerAnalysis {
  index: number;
  changes: LayerChange[];
  /** Sum of file sizes this layer contains. */
  size: number;
  /** Lower files this layer hides, biggest first: the image wastes their bytes from here on. */
  hidden: HiddenFile[];
}

/** Where the visible version of a path comes from: the layer that last added or modified it. */
export interface PathOrigin {
  layer: number;
  diff: typeof DiffType.Added | typeof DiffType.Modified;
}

export interface WastedFile {
  path: string;
  /** How many layers wrote or removed this path. */
  count: number;
  /** Those layers' indexes, bottom first: the one that first wrote it, then each that overwrote or removed it. */
  layers: number[];
  /** Bytes of lower copies made dead by later layers. */
  wastedBytes: number;
}

export interface ImageAnalysis {
  layers: LayerAnalysis[];
  merged: MergedTree;
  /** Sum of file sizes over all layers. */
  totalBytes: number;
  /** Bytes of files overwritten or deleted by later layers: shipped, but never visible. */
  wastedBytes: number;
  /** (totalBytes - wastedBytes) / totalBytes; 1 for an empty image. */
  efficiency: number;
  /** Paths that waste bytes, most wasteful first. */
  wasted: WastedFile[];
  /** For each path of `merged` (and some removed ones): the layer its visible version comes from. */
  origins: Map<string, PathOrigin>;
}

/** Analyze an image's layer stack (bottom layer first). */
export function analyzeImage(options: {
  layers: readonly LayerTree[];
}): ImageAnalysis {
  let merged: MergedTree = new Map();
  const layers: LayerAnalysis[] = [];
  const wasted = new Map<string, WastedFile>();
  let totalBytes = 0;
  /** The last layer that wrote each path. */
  const origins = new Map<string, PathOrigin>();
  options.layers.forEach((layer, index) => {
    const changes = diffLayer({ lower: merged, layer });
    const hidden: HiddenFile[] = [];
    const waste = (path: string, bytes: number, reason: HiddenFile["reason"]) => {
      const writer = origins.get(path)?.layer;
      const w = wasted.get(path) ?? { path, count: 1, wastedBytes: 0, layers: writer === undefined ? [] : [writer] };
      w.count++;
      w.layers.push(index);
      w.wastedBytes += bytes;
      wasted.set(path, w);
      hidden.push({ path, bytes, layer: writer ?? 0, reason });
    };
    let size = 0;
    for (const node of layer.entries.values()) size += node.size;
    totalBytes += size;
    for (const c of changes) {
      if (c.diff === DiffType.Removed) {
        for (const p of [c.path, ...descendants(merged, c.path)]) {
          const n = merged.get(p);
          if (n && n.size > 0) waste(p, n.size, "deleted");
        }
      } else if (c.diff === DiffType.Modified) {
        const before = merged.get(c.path);
        if (before && before.size > 0) waste(c.path, before.size, "overwritten");
      }
      if (c.diff === DiffType.Added || c.diff === DiffType.Modified) origins.set(c.path, { layer: index, diff: c.diff });
    }
    merged = applyLayer(merged, layer);
    hidden.sort((a, b) => b.bytes - a.bytes || comparePaths(a.path, b.path));
    layers.push({ index, changes, size, hidden });
  });
  const wastedBytes = [...wasted.values()].reduce(
    (s, w) => s + w.wastedBytes,
    0,
  );
  return {
    layers,
    merged,
    totalBytes,
    wastedBytes,
    efficiency: totalBytes === 0 ? 1 : (totalBytes - wastedBytes) / totalBytes,
    wasted: [...wasted.values()].sort(
      (a, b) => b.wastedBytes - a.wastedBytes || comparePaths(a.path, b.path),
    ),
    origins,
  };
}

/**
 * The merged view "up to here": the filesystem of layers 0..upTo (bottom first), in walk order, each path
 * with the layer its visible version comes from and whether that layer added or modified it.
 */
export function mergedUpTo(options: {
  layers: readonly LayerTree[];
  upTo: number;
}): ImageFileView[] {
  const { merged, origins } = analyzeImage({ layers: options.layers.slice(0, options.upTo + 1) });
  return sortedEntries(merged).map(([path, node]) => {
    const origin = origins.get(path) ?? { layer: 0, diff: DiffType.Added };
    return {
      path,
      type: node.type,
      size: node.size,
      ...(node.type === "symlink" && node.linkTarget !== undefined ? { linkTarget: node.linkTarget } : {}),
      layer: origin.layer,
      kind: origin.diff === DiffType.Added ? "A" : "M",
    };
  });
}
