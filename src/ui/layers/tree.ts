/**
 * Pure functions over the layer view-model: merging layers into the view "up to here", finding wasted
 * bytes (dive's idea: bytes that stay in a lower layer although a later layer hides them), and turning
 * flat path lists into trees. No DOM, unit-tested.
 */
import type { ChangeMark, FileNodeVM, LayerVM, WritableEntryVM } from './model.ts';

export interface FlatEntry {
  path: string;
  type: FileNodeVM['type'];
  size: number;
  mark?: ChangeMark;
  opaque?: boolean;
  linkTarget?: string;
  /** Index of the layer the visible version comes from (merged view). */
  layer?: number;
}

export interface MergedNodeVM extends FileNodeVM {
  layer?: number;
  children?: MergedNodeVM[];
}

export function walk(nodes: FileNodeVM[], visit: (n: FileNodeVM) => void): void {
  for (const n of nodes) {
    visit(n);
    if (n.children) walk(n.children, visit);
  }
}

/** Every node of a tree, as a flat list (directories included). */
export function flatten(nodes: FileNodeVM[]): FlatEntry[] {
  const out: FlatEntry[] = [];
  walk(nodes, (n) =>
    out.push({ path: n.path, type: n.type, size: n.size, mark: n.mark, opaque: n.opaque, linkTarget: n.linkTarget }),
  );
  return out;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** Nest a flat list of absolute paths into a sorted tree; missing parent directories are created. */
export function toTree(entries: FlatEntry[]): MergedNodeVM[] {
  const root: MergedNodeVM = { name: '', path: '/', type: 'dir', size: 0, children: [] };
  const byPath = new Map<string, MergedNodeVM>([['/', root]]);
  const ensureDir = (path: string): MergedNodeVM => {
    const found = byPath.get(path);
    if (found) {
      found.children ??= [];
      return found;
    }
    const parent = ensureDir(parentOf(path));
    const node: MergedNodeVM = { name: path.slice(path.lastIndexOf('/') + 1), path, type: 'dir', size: 0, children: [] };
    parent.children!.push(node);
    byPath.set(path, node);
    return node;
  };
  const sorted = [...entries].sort((a, b) => a.path.localeCompare(b.path));
  for (const e of sorted) {
    const path = normalize(e.path);
    if (path === '/') continue;
    const existing = byPath.get(path);
    const fields = {
      name: path.slice(path.lastIndexOf('/') + 1),
      path,
      type: e.type,
      size: e.type === 'dir' ? 0 : e.size,
      ...(e.mark ? { mark: e.mark } : {}),
      ...(e.opaque ? { opaque: true } : {}),
      ...(e.linkTarget ? { linkTarget: e.linkTarget } : {}),
      ...(e.layer !== undefined ? { layer: e.layer } : {}),
    };
    if (existing) {
      Object.assign(existing, fields);
      continue;
    }
    const parent = ensureDir(parentOf(path));
    const node: MergedNodeVM = { ...fields, ...(e.type === 'dir' ? { children: [] } : {}) };
    parent.children!.push(node);
    byPath.set(path, node);
  }
  const sortRec = (nodes: MergedNodeVM[]) => {
    nodes.sort((a, b) => (a.type === 'dir') !== (b.type === 'dir') ? (a.type === 'dir' ? -1 : 1) : a.name.localeCompare(b.name));
    for (const n of nodes) if (n.children) sortRec(n.children);
  };
  sortRec(root.children!);
  return root.children!;
}

export function normalize(path: string): string {
  const parts = path.split('/').filter((p) => p && p !== '.');
  return '/' + parts.join('/');
}

/** Total bytes below a node (files and symlinks). */
export function treeSize(nodes: FileNodeVM[]): number {
  let total = 0;
  walk(nodes, (n) => {
    if (n.type !== 'dir' && n.mark !== 'D') total += n.size;
  });
  return total;
}

export function nodeSize(node: FileNodeVM): number {
  return node.type === 'dir' ? treeSize(node.children ?? []) : node.mark === 'D' ? 0 : node.size;
}

function isBelow(path: string, dir: string): boolean {
  return dir === '/' ? path !== '/' : path.startsWith(dir + '/');
}

/**
 * The filesystem a container would see with layers 0..upTo stacked (overlayfs semantics): later layers
 * replace paths, whiteouts (D) remove the path and everything below it, opaque directories hide lower
 * contents. Each visible node carries the index of the layer its version comes from, and the mark that
 * layer gave it.
 */
export function mergeLayers(layers: LayerVM[], upTo: number): MergedNodeVM[] {
  const visible = new Map<string, FlatEntry>();
  for (const layer of layers) {
    if (layer.index > upTo) break;
    if (layer.emptyLayer) continue;
    for (const e of flatten(layer.tree)) {
      const path = normalize(e.path);
      if (e.mark === 'D' || (e.opaque && e.type === 'dir')) {
        for (const p of [...visible.keys()]) if (p === path || isBelow(p, path)) visible.delete(p);
        if (e.mark === 'D') continue;
      }
      // A directory without a mark only carries changed children; it doesn't replace the lower one.
      if (e.type === 'dir' && !e.mark && visible.has(path)) continue;
      visible.set(path, { ...e, path, layer: layer.index });
    }
  }
  return toTree([...visible.values()]);
}

export interface WastedFile {
  path: string;
  /** Bytes kept in `layer` that nobody can see from `upTo`. */
  size: number;
  layer: number;
  /** The layer that hid it, and how. */
  hiddenBy: number;
  reason: 'deleted' | 'overwritten';
}

/**
 * Bytes stored in layers 0..upTo that are invisible in the merged view up to `upTo`: a file deleted or
 * replaced by a later layer still ships in the lower layer's tar. This is why `RUN rm` in a later step
 * does not shrink an image.
 */
export function wastedBytes(layers: LayerVM[], upTo: number): { total: number; files: WastedFile[] } {
  const live = new Map<string, { size: number; layer: number }>();
  const files: WastedFile[] = [];
  const hide = (path: string, by: number, reason: WastedFile['reason']) => {
    for (const [p, v] of [...live]) {
      if (p === path || isBelow(p, path)) {
        if (v.size > 0) files.push({ path: p, size: v.size, layer: v.layer, hiddenBy: by, reason });
        live.delete(p);
      }
    }
  };
  for (const layer of layers) {
    if (layer.index > upTo) break;
    if (layer.emptyLayer) continue;
    for (const e of flatten(layer.tree)) {
      const path = normalize(e.path);
      if (e.mark === 'D') {
        hide(path, layer.index, 'deleted');
        continue;
      }
      if (e.type === 'dir') {
        if (e.opaque) hide(path, layer.index, 'deleted');
        continue;
      }
      if (live.has(path)) hide(path, layer.index, 'overwritten');
      live.set(path, { size: e.size, layer: layer.index });
    }
  }
  files.sort((a, b) => b.size - a.size);
  return { total: files.reduce((s, f) => s + f.size, 0), files };
}

/** A container's writable-layer entries (`docker diff` A/C/D) as a tree with the view's marks. */
export function writableTree(entries: WritableEntryVM[]): MergedNodeVM[] {
  return toTree(
    entries.map((e) => ({
      path: e.path,
      type: e.path.endsWith('/') ? 'dir' : 'file',
      size: e.size,
      mark: e.kind === 'C' ? 'M' : e.kind,
    })),
  );
}

/** Number of changed paths in a layer's tree (marked nodes). */
export function countChanges(nodes: FileNodeVM[]): number {
  let n = 0;
  walk(nodes, (node) => {
    if (node.mark) n++;
  });
  return n;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB'];
  let v = bytes;
  let i = -1;
  do {
    v /= 1000;
    i++;
  } while (v >= 1000 && i < units.length - 1);
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}
