/**
 * `docker diff`: the changes in a container's writable layer (its upperdir) relative to its image, with
 * the rules of moby's archive.changes() for overlay:
 *  - walk the upperdir depth-first, names sorted; skip `/`;
 *  - a whiteout is `D`; an opaque dir that exists below is `D` (it was deleted and re-created);
 *  - a path that exists in any lower layer is `C`, except a directory whose mode and mtime are unchanged,
 *    which is skipped;
 *  - otherwise `A`;
 *  - before an `A` or `D`, its parent directory is listed as `C` unless already listed (or `/`).
 * Lowers are the image's layers (bottom first), checked top-down like overlay2's lower dirs: a path counts
 * as existing below if any lower layer has an entry or a whiteout for it, as a `stat` in the diff dir would.
 */
import {
  comparePaths,
  parentPath,
  type FileNode,
  type LayerTree,
} from "./tree.ts";

export type DockerChangeKind = "A" | "C" | "D";

export interface DockerChange {
  kind: DockerChangeKind;
  path: string;
}

export function dockerDiff(options: {
  lowers: readonly LayerTree[];
  upper: LayerTree;
}): DockerChange[] {
  const { upper } = options;
  const lowers = [...options.lowers].reverse(); // topmost lower first
  const lowerNode = (path: string): FileNode | "whiteout" | undefined => {
    for (const l of lowers) {
      const n = l.entries.get(path);
      if (n) return n;
      if (l.whiteouts.has(path)) return "whiteout";
    }
    return undefined;
  };
  const paths = [
    ...new Set([...upper.entries.keys(), ...upper.whiteouts]),
  ].sort(comparePaths);
  const changes: DockerChange[] = [];
  const changedDirs = new Set<string>();
  for (const path of paths) {
    const node = upper.entries.get(path);
    const below = lowerNode(path);
    let kind: DockerChangeKind;
    if (
      !node ||
      (node.type === "dir" && upper.opaqueDirs.has(path) && below !== undefined)
    ) {
      kind = "D";
    } else if (below === undefined) {
      kind = "A";
    } else {
      if (
        below !== "whiteout" &&
        below.type === "dir" &&
        node.type === "dir" &&
        sameDir(node, below)
      )
        continue;
      kind = "C";
    }
    if (node?.type === "dir") changedDirs.add(path);
    if (kind !== "C") {
      const parent = parentPath(path);
      if (parent !== "/" && !changedDirs.has(parent)) {
        changes.push({ kind: "C", path: parent });
        changedDirs.add(parent);
      }
    }
    changes.push({ kind, path });
  }
  return changes;
}

// moby compares size too, but a directory's size is filesystem-specific (0 in tars, 4096 on ext4); mode
// and mtime are what copy-up preserves and what adding or removing a child changes.
function sameDir(a: FileNode, b: FileNode): boolean {
  return (
    a.mode === b.mode &&
    (a.mtime === undefined || b.mtime === undefined || a.mtime === b.mtime)
  );
}
