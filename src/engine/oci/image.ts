/**
 * Building an image's config and manifest from its layers, and Docker's `inspect` shape. The config digest is
 * the image ID (as in Docker), so everything that changes the config changes the ID.
 */
import { sha256, type Digest } from "./digest.ts";
import {
  DEFAULT_PLATFORM,
  MediaType,
  type ContainerConfig,
  type HistoryEntry,
  type ImageConfig,
  type Manifest,
} from "./types.ts";

export interface LayerDescriptor {
  /** Digest of the blob as stored (usually gzip). */
  digest: Digest;
  /** Digest of the uncompressed tar: what rootfs.diff_ids lists. */
  diffID: Digest;
  /** Size of the stored blob in bytes. */
  size: number;
  mediaType: string;
}

export interface BuildImageOptions {
  layers: LayerDescriptor[];
  /** Runtime defaults (Env, Cmd, WorkingDir, ...). */
  config?: ContainerConfig;
  /** One entry per Dockerfile step; steps with `empty_layer: true` made no layer. */
  history?: HistoryEntry[];
  /** RFC 3339; defaults to now. Pass a fixed value for reproducible IDs. */
  created?: string;
  author?: string;
  architecture?: string;
  os?: string;
  annotations?: Record<string, string>;
}

export interface BuiltImage {
  config: ImageConfig;
  configBytes: Uint8Array;
  /** The image ID. */
  configDigest: Digest;
  manifest: Manifest;
  manifestBytes: Uint8Array;
  manifestDigest: Digest;
}

export async function buildImage(
  options: BuildImageOptions,
): Promise<BuiltImage> {
  const history = options.history ?? [];
  const layerSteps = history.filter((h) => !h.empty_layer).length;
  if (history.length > 0 && layerSteps !== options.layers.length) {
    throw new Error(
      `history has ${layerSteps} non-empty steps but the image has ${options.layers.length} layers`,
    );
  }
  const config: ImageConfig = {
    created: options.created ?? new Date().toISOString(),
    ...(options.author ? { author: options.author } : {}),
    architecture: options.architecture ?? DEFAULT_PLATFORM.architecture,
    os: options.os ?? DEFAULT_PLATFORM.os,
    config: options.config ?? {},
    rootfs: { type: "layers", diff_ids: options.layers.map((l) => l.diffID) },
    ...(history.length > 0 ? { history } : {}),
  };
  return buildFromConfig({
    config,
    layers: options.layers,
    annotations: options.annotations,
  });
}

/** Wrap an existing config (e.g. a loaded one) in a manifest without touching its bytes' meaning. */
export async function buildFromConfig(options: {
  config: ImageConfig;
  layers: LayerDescriptor[];
  annotations?: Record<string, string>;
  /** Exact config bytes to keep (so a loaded image keeps its ID); default JSON.stringify(config). */
  configBytes?: Uint8Array;
}): Promise<BuiltImage> {
  const configBytes = options.configBytes ?? encodeJson(options.config);
  const configDigest = await sha256(configBytes);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    config: {
      mediaType: MediaType.config,
      digest: configDigest,
      size: configBytes.length,
    },
    layers: options.layers.map((l) => ({
      mediaType: l.mediaType,
      digest: l.digest,
      size: l.size,
    })),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const manifestBytes = encodeJson(manifest);
  return {
    config: options.config,
    configBytes,
    configDigest,
    manifest,
    manifestBytes,
    manifestDigest: await sha256(manifestBytes),
  };
}

export function encodeJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

export function decodeJson<T>(bytes: Uint8Array): T {
  return JSON.parse(
    new TextDecoder("utf-8", { fatal: true }).decode(bytes),
  ) as T;
}

/** `docker image inspect` output for one image (Docker returns an array of these). */
export interface DockerImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: Record<string, unknown>;
  Architecture: string;
  Os: string;
  Size: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
}

export function inspectImage(options: {
  id: Digest;
  config: ImageConfig;
  repoTags: string[];
  /** Sum of uncompressed layer sizes. */
  size: number;
  parent?: string;
  lastTagTime?: string;
  repoDigests?: string[];
}): DockerImageInspect {
  const c = options.config.config ?? {};
  return {
    Id: options.id,
    RepoTags: options.repoTags,
    RepoDigests: options.repoDigests ?? [],
    Parent: options.parent ?? "",
    Comment: options.config.history?.at(-1)?.comment ?? "",
    Created: options.config.created ?? "",
    DockerVersion: "",
    Author: options.config.author ?? "",
    // Docker fills the container-config shape with its defaults; mirror the fields learners look at.
    Config: {
      Hostname: "",
      Domainname: "",
      User: c.User ?? "",
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ...(c.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: c.Env ?? null,
      Cmd: c.Cmd ?? null,
      ...(c.Healthcheck ? { Healthcheck: c.Healthcheck } : {}),
      Image: "",
      Volumes: c.Volumes ?? null,
      WorkingDir: c.WorkingDir ?? "",
      Entrypoint: c.Entrypoint ?? null,
      OnBuild: c.OnBuild ?? null,
      Labels: c.Labels ?? null,
      ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
      ...(c.Shell ? { Shell: c.Shell } : {}),
    },
    Architecture: options.config.architecture,
    Os: options.config.os,
    Size: options.size,
    GraphDriver: { Name: "overlay2", Data: null },
    RootFS: { Type: "layers", Layers: [...options.config.rootfs.diff_ids] },
    Metadata: { LastTagTime: options.lastTagTime ?? "0001-01-01T00:00:00Z" },
  };
}
