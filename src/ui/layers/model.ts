/**
 * View-model of the layer view. The engine's OCI model (layers, diffs, whiteouts) is mapped onto these
 * plain types by the code that wires the engine in; the components only ever see these.
 */
import type { ContainerState, LayerChangeKind, WritableChangeKind } from '../../engine/api.ts';

export type { ContainerState };

/** A = added in this layer, M = modified (replaces a file from a lower layer), D = deleted by a whiteout. */
export type ChangeMark = LayerChangeKind;

export interface FileNodeVM {
  /** Last path component. */
  name: string;
  /** Absolute path in the image, e.g. `/app/hello.sh`. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Bytes of this entry (for a directory: 0; the view sums children itself). */
  size: number;
  /** The change this layer makes to the path; absent for a directory that only holds changed children. */
  mark?: ChangeMark;
  /** `true` for an opaque directory (`.wh..wh..opq`): everything below from lower layers is hidden. */
  opaque?: boolean;
  linkTarget?: string;
  children?: FileNodeVM[];
}

export interface LayerVM {
  /** 0 = base layer. Config-only steps get an index too, so the list follows the Dockerfile. */
  index: number;
  /** `sha256:…` of the layer blob; empty for a config-only step. */
  digest: string;
  /** The instruction as written, e.g. `RUN apk add curl`. For base layers, `FROM busybox` (or history). */
  instruction: string;
  /** 1-based Dockerfile line that made it; 0 when unknown (base image layers). */
  line: number;
  /** Bytes the layer adds (uncompressed tar contents). */
  size: number;
  changedFiles: number;
  /** `true` for config-only steps (ENV, CMD, LABEL, EXPOSE…): no filesystem layer. */
  emptyLayer: boolean;
  /** This layer's own changes (not merged). */
  tree: FileNodeVM[];
  /** Build cache outcome of the last build, when known. */
  cached?: boolean;
  /** `true` for layers that came with the base image (FROM), not made by this Dockerfile. */
  base?: boolean;
  /** Lower files this layer deletes or overwrites (their bytes stay in the image), biggest first. */
  hidden: WastedFileVM[];
}

/** A file a lower layer still ships although a later one hides it (dive's wasted space). */
export interface WastedFileVM {
  path: string;
  /** Bytes kept in `layer` that nobody can see from `hiddenBy` up. */
  size: number;
  layer: number;
  /** The layer that hid it, and how. */
  hiddenBy: number;
  reason: 'deleted' | 'overwritten';
}

/** A node of a file tree as the view shows it: in the merged view, with the layer its version comes from. */
export interface MergedNodeVM extends FileNodeVM {
  layer?: number;
  children?: MergedNodeVM[];
}

export interface WritableEntryVM {
  path: string;
  /** As `docker diff`: A added, C changed (copied up), D deleted (whiteout). */
  kind: WritableChangeKind;
  size: number;
}

export interface WritableLayerVM {
  containerName: string;
  containerId?: string;
  /** Image id or reference the container was created from; the view draws it over that image's stack. */
  image: string;
  state: ContainerState;
  entries: WritableEntryVM[];
}

export interface ImageVM {
  /** `sha256:…` image (config) id. */
  id: string;
  /** e.g. `['app:latest']`. */
  tags: string[];
  layers: LayerVM[];
}
