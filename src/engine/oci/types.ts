/**
 * The OCI image model (image-spec v1.1): descriptors, manifests, image configs, indexes. Field names are the
 * spec's JSON names so these objects serialize to exactly what real tools read.
 */
import type { Digest } from "./digest.ts";

export const MediaType = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  index: "application/vnd.oci.image.index.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList:
    "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
} as const;

export type LayerMediaType =
  | typeof MediaType.layer
  | typeof MediaType.layerGzip
  | typeof MediaType.dockerLayer
  | typeof MediaType.dockerLayerGzip;

export function isGzipLayerMediaType(mediaType: string): boolean {
  return mediaType.endsWith("+gzip") || mediaType.endsWith(".tar.gzip");
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Manifest {
  schemaVersion: 2;
  mediaType: typeof MediaType.manifest;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface Index {
  schemaVersion: 2;
  mediaType: typeof MediaType.index;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** One `history` entry; `empty_layer` marks config-only steps (ENV, CMD, ...) that made no layer. */
export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The runtime defaults an image carries (the `config` member of the image config). */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Shell?: string[];
  Healthcheck?: {
    Test?: string[];
    Interval?: number;
    Timeout?: number;
    StartPeriod?: number;
    Retries?: number;
  };
  OnBuild?: string[] | null;
  ArgsEscaped?: boolean;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: ContainerConfig;
  rootfs: { type: "layers"; diff_ids: Digest[] };
  history?: HistoryEntry[];
}

/** Bundled images run in an i386 guest. */
export const DEFAULT_PLATFORM: Platform = { architecture: "386", os: "linux" };

/** `org.opencontainers.image.ref.name`: the tag an index entry stands for. */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";
