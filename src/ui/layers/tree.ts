/**
 * Pure functions over the layer view-model for display: turning flat path lists into trees, sizes, and
 * picking the wasted bytes the engine found below a layer. The model itself (merged trees, what each
 * layer hides) comes from the engine. No DOM, unit-tested.
 */
import type { ChangeMark, FileNodeVM, LayerVM, MergedNodeVM, WastedFileVM, WritableEntryVM } from './model.ts';

export type { MergedNodeVM };

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

/** Compares names as `localeCompare` does; one collator, made on first use (ICU's set-up takes ~20 ms). */
let collator: Intl.Collator | null = null;
function byName(a: string, b: string): number {
  collator ??= new Intl.Collator();
  return collator.compare(a, b);
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
  // Entries in any order: a parent named after its children were placed only gets its own fields.
  for (const e of entries) {
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
    nodes.sort((a, b) => (a.type === 'dir') !== (b.type === 'dir') ? (a.type === 'dir' ? -1 : 1) : byName(a.name, b.name));
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

/**
 * The bytes wasted in the image up to layer `upTo`: what layers 0..upTo hide of the layers below them
 * (a file deleted or replaced later still ships in the lower layer's tar; why `RUN rm` does not shrink
 * an image), biggest first.
 */
export function wastedUpTo(layers: LayerVM[], upTo: number): { total: number; files: WastedFileVM[] } {
  const files = layers.filter((l) => l.index <= upTo).flatMap((l) => l.hidden);
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
