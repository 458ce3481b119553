/**
 * The layer model (after dive's filetree): what one layer contains, and the merged view of a stack of layers
 * as overlayfs shows it. Two sources produce the same LayerTree: a layer tar (OCI whiteouts `.wh.<name>`,
 * `.wh..wh..opq`) and the agent's `list` of a container's upperdir (whiteout char devices, opaque dirs).
 */
import type { TarItem } from "../archive/tar.ts";

export type FileType =
  | "file"
  | "dir"
  | "symlink"
  | "hardlink"
  | "char"
  | "block"
  | "fifo"
  | "socket";

export interface FileNode {
  /** Absolute path inside the image, no trailing slash: `/etc/passwd`. */
  path: string;
  type: FileType;
  /** Permission bits (0–07777). */
  mode: number;
  /** Bytes of content (regular files; 0 for everything else). */
  size: number;
  uid: number;
  gid: number;
  /** Symlink target as written, or the absolute path a hardlink points to. */
  linkTarget?: string;
  /** Seconds since the epoch, when known. */
  mtime?: number;
}

export interface LayerTree {
  /** Files, dirs, links the layer adds or replaces, by path. */
  entries: Map<string, FileNode>;
  /** Paths the layer deletes (`.wh.<name>` / whiteout device). */
  whiteouts: Set<string>;
  /** Dirs whose lower contents the layer hides (`.wh..wh..opq` / opaque xattr). */
  opaqueDirs: Set<string>;
}

/** What a stack of layers looks like from inside a container. */
export type MergedTree = Map<string, FileNode>;

/** A non-fatal problem with one entry (dive's PathError): the entry is skipped, the rest goes on. */
export interface PathProblem {
  path: string;
  problem: string;
}

export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_MARKER = ".wh..wh..opq";

export function emptyLayerTree(): LayerTree {
  return { entries: new Map(), whiteouts: new Set(), opaqueDirs: new Set() };
}

const TAR_TYPES: Record<TarItem["type"], FileType> = {
  file: "file",
  directory: "dir",
  symlink: "symlink",
  link: "hardlink",
  "character-device": "char",
  "block-device": "block",
  fifo: "fifo",
};

/** Normalize a tar member name or listed path to `/a/b`; undefined if it escapes (`..`) or is empty. */
export function normalizePath(name: string): string | undefined {
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.some((p) => p === "..") || name.includes("\0")) return undefined;
  return "/" + parts.join("/");
}

export function parentPath(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** An entry's path, or undefined for the root (which carries nothing we model) and for one that escapes (noted). */
function entryPath(name: string, problems: PathProblem[], escapes: string): string | undefined {
  const path = normalizePath(name);
  if (path === undefined) problems.push({ path: name, problem: escapes });
  return path === "/" ? undefined : path;
}

/** A node from an entry's metadata: permission bits only, and a size for regular files only. */
function fileNode(
  path: string,
  type: FileType,
  meta: { mode: number; size: number; uid: number; gid: number; mtime?: number },
): FileNode {
  return {
    path,
    type,
    mode: meta.mode & 0o7777,
    size: type === "file" ? meta.size : 0,
    uid: meta.uid,
    gid: meta.gid,
    mtime: meta.mtime,
  };
}

/** Build a LayerTree from a layer tar's entries (see archive/tar.ts readTar). */
export function layerTreeFromTar(
  items: readonly TarItem[],
  problems: PathProblem[] = [],
): LayerTree {
  const tree = emptyLayerTree();
  for (const item of items) {
    const path = entryPath(item.name, problems, "path escapes the layer (..); skipped");
    if (path === undefined) continue;
    const name = baseName(path);
    if (name === OPAQUE_MARKER) {
      tree.opaqueDirs.add(parentPath(path));
      continue;
    }
    if (name.startsWith(WHITEOUT_PREFIX)) {
      const dir = parentPath(path);
      tree.whiteouts.add(
        dir === "/" ? `/${name.slice(4)}` : `${dir}/${name.slice(4)}`,
      );
      continue;
    }
    const type = TAR_TYPES[item.type];
    const node = fileNode(path, type, item);
    if (
      item.linkname !== undefined &&
      (type === "symlink" || type === "hardlink")
    ) {
      if (type === "hardlink") {
        const target = normalizePath(item.linkname);
        if (target === undefined) {
          problems.push({
            path: item.name,
            problem: `hardlink target ${item.linkname} escapes the layer; skipped`,
          });
          continue;
        }
        node.linkTarget = target;
      } else {
        node.linkTarget = item.linkname;
      }
    }
    tree.entries.set(path, node);
  }
  return tree;
}

/** One entry of the agent's `list` result (vm/agent/PROTOCOL.md). */
export interface ListEntry {
  path: string;
  type: "f" | "d" | "l" | "w" | "c" | "b" | "p" | "s";
  mode: number;
  size: number;
  uid: number;
  gid: number;
  mtime: number;
  link?: string;
  opaque?: boolean;
}

const TAR_LIST_TYPES: Partial<Record<TarItem["type"], ListEntry["type"]>> = {
  file: "f",
  directory: "d",
  symlink: "l",
  "character-device": "c",
  "block-device": "b",
  fifo: "p",
};

const utf8 = new TextEncoder();

/** Compares two names by their UTF-8 bytes. */
function byteOrder(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** Compares two paths as the agent's `list` orders them: depth first, siblings by the bytes of their names. */
function listOrder(a: string, b: string): number {
  const x = a.split("/");
  const y = b.split("/");
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return byteOrder(x[i]!, y[i]!);
  return x.length - y.length;
}

/**
 * What the agent's `list` shows of a dir this tar was unpacked into, for a tar of plain files, dirs and
 * symlinks (a base layer: the VM build writes it next to the tar, so the engine knows the layer's tree
 * without walking it in the VM). Whiteouts, opaque markers and hardlinks have no single such form and are
 * refused.
 */
export function listEntriesFromTar(items: readonly TarItem[]): ListEntry[] {
  const entries: ListEntry[] = [];
  for (const item of items) {
    const path = normalizePath(item.name);
    if (path === undefined) throw new Error(`${item.name}: path escapes the layer`);
    if (path === "/") continue;
    const type = TAR_LIST_TYPES[item.type];
    if (!type || baseName(path).startsWith(WHITEOUT_PREFIX)) throw new Error(`${item.name}: a ${item.type} entry cannot be listed from the tar alone`);
    entries.push({
      path,
      type,
      mode: item.mode & 0o7777,
      size: type === "f" ? item.size : 0,
      uid: item.uid,
      gid: item.gid,
      mtime: item.mtime,
      ...(type === "l" ? { link: item.linkname ?? "" } : {}),
    });
  }
  return entries.sort((a, b) => listOrder(a.path, b.path));
}

const LIST_TYPES: Record<Exclude<ListEntry["type"], "w">, FileType> = {
  f: "file",
  d: "dir",
  l: "symlink",
  c: "char",
  b: "block",
  p: "fifo",
  s: "socket",
};

/** Build a LayerTree from a `list` of a container's upperdir. */
export function layerTreeFromUpperdir(
  entries: readonly ListEntry[],
  problems: PathProblem[] = [],
): LayerTree {
  const tree = emptyLayerTree();
  for (const e of entries) {
    const path = entryPath(e.path, problems, "path escapes the upperdir; skipped");
    if (path === undefined) continue;
    if (e.type === "w") {
      tree.whiteouts.add(path);
      continue;
    }
    const type = LIST_TYPES[e.type];
    if (!type) {
      problems.push({
        path: e.path,
        problem: `unknown type ${JSON.stringify(e.type)}; skipped`,
      });
      continue;
    }
    if (e.opaque && type === "dir") tree.opaqueDirs.add(path);
    tree.entries.set(path, {
      ...fileNode(path, type, e),
      ...(e.link !== undefined ? { linkTarget: e.link } : {}),
    });
  }
  return tree;
}

function isUnder(path: string, dir: string): boolean {
  return dir === "/" ? path !== "/" : path.startsWith(dir + "/");
}

/** Paths in `tree` strictly under `dir`. */
export function descendants(tree: MergedTree, dir: string): string[] {
  return [...tree.keys()].filter((p) => isUnder(p, dir));
}

/** The merged tree after putting `layer` on top of `lower` (overlayfs semantics). Does not modify `lower`. */
export function applyLayer(lower: MergedTree, layer: LayerTree): MergedTree {
  const merged = new Map(lower);
  for (const dir of layer.opaqueDirs)
    for (const p of descendants(merged, dir)) merged.delete(p);
  for (const w of layer.whiteouts) {
    merged.delete(w);
    for (const p of descendants(merged, w)) merged.delete(p);
  }
  for (const [path, node] of sortedEntries(layer.entries)) {
    // A non-directory over a directory hides everything below it.
    if (node.type !== "dir")
      for (const p of descendants(merged, path)) merged.delete(p);
    merged.set(path, node);
  }
  return merged;
}

export function mergeLayers(layers: readonly LayerTree[]): MergedTree {
  return layers.reduce<MergedTree>((m, l) => applyLayer(m, l), new Map());
}

/** Order of a depth-first walk with each directory's names sorted bytewise (Go's filepath.Walk). */
export function comparePaths(a: string, b: string): number {
  const pa = a.split("/");
  const pb = b.split("/");
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return pa.length - pb.length;
}

export function sortedEntries(
  map: Map<string, FileNode>,
): Array<[string, FileNode]> {
  return [...map.entries()].sort(([a], [b]) => comparePaths(a, b));
}
