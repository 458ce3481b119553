/**
 * `docker save`: images to one tar, in either of two layouts real tools load.
 *  - `oci`: an OCI image layout (oci-layout, index.json, blobs/sha256/*) holding the stored blobs as they
 *    are (gzip layers), so manifest and layer digests are exactly the store's.
 *  - `docker`: what Docker ≥ 25 writes: manifest.json (Config, RepoTags, Layers) and `repositories` for
 *    `docker load`, with uncompressed layers named by diffID, plus an OCI layout over the same blobs.
 * Lazy layers are fetched here (the only time their bytes are needed besides running them).
 */
import { digestHex, sha256, type Digest } from "../oci/digest.ts";
import { encodeJson } from "../oci/image.ts";
import { fullyQualified, parseReference } from "../oci/reference.ts";
import {
  MediaType,
  REF_NAME_ANNOTATION,
  type Descriptor,
  type Index,
  type Manifest,
} from "../oci/types.ts";
import type { ImageStore } from "../store/image-store.ts";
import { writeTar, type TarWriteEntry } from "./tar.ts";

export type ArchiveFormat = "oci" | "docker";

export interface SaveOptions {
  store: ImageStore;
  /** Names or IDs; a name saves that tag, an ID saves the image with all its tags. */
  refs: string[];
  /** Default `oci`. */
  format?: ArchiveFormat;
  signal?: AbortSignal;
}

const CONTAINERD_NAME = "io.containerd.image.name";

export async function saveImages(options: SaveOptions): Promise<Uint8Array> {
  const { store } = options;
  const format = options.format ?? "oci";
  const blobs = new Map<Digest, Uint8Array>();
  const indexEntries: Descriptor[] = [];
  const dockerManifest: Array<{
    Config: string;
    RepoTags: string[] | null;
    Layers: string[];
  }> = [];
  const repositories: Record<string, Record<string, string>> = {};
  const seen = new Set<string>();

  for (const ref of options.refs) {
    options.signal?.throwIfAborted();
    const img = await store.resolve({ ref });
    // By name: that tag only. By ID: every tag the image has (as docker save does).
    const all = await store.tagsOf(img.id);
    const tags = all.includes(safeFull(ref)) ? [safeFull(ref)] : all;
    const configBytes = await store.getBlob(img.id);
    blobs.set(img.id, configBytes);
    const stored = await store.getManifest({ id: img.id });

    let manifestBytes: Uint8Array;
    let manifestDigest: Digest;
    const dockerLayers: string[] = [];
    if (format === "oci") {
      for (const l of stored.layers)
        blobs.set(
          l.digest,
          await store.layerBlob({ digest: l.digest, signal: options.signal }),
        );
      manifestBytes = await store.getBlob(img.manifestDigest);
      manifestDigest = img.manifestDigest;
    } else {
      const layers: Descriptor[] = [];
      for (const l of stored.layers) {
        const tar = await store.layerTar({
          digest: l.digest,
          signal: options.signal,
        });
        const diffID = await sha256(tar);
        blobs.set(diffID, tar);
        layers.push({
          mediaType: MediaType.layer,
          digest: diffID,
          size: tar.length,
        });
        dockerLayers.push(`blobs/sha256/${digestHex(diffID)}`);
      }
      const manifest: Manifest = { ...stored, layers };
      manifestBytes = encodeJson(manifest);
      manifestDigest = await sha256(manifestBytes);
    }
    blobs.set(manifestDigest, manifestBytes);

    const descriptors = tags.length ? tags : [undefined];
    for (const tag of descriptors) {
      const key = `${manifestDigest} ${tag ?? ""}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const annotations: Record<string, string> = {};
      if (tag) {
        const parsed = parseReference(tag);
        annotations[CONTAINERD_NAME] = fullyQualified(parsed);
        annotations[REF_NAME_ANNOTATION] = parsed.tag;
      }
      indexEntries.push({
        mediaType: MediaType.manifest,
        digest: manifestDigest,
        size: manifestBytes.length,
        ...(tag ? { annotations } : {}),
      });
    }
    if (format === "docker") {
      const existing = dockerManifest.find(
        (m) => m.Config === `blobs/sha256/${digestHex(img.id)}`,
      );
      if (existing) existing.RepoTags = [...(existing.RepoTags ?? []), ...tags];
      else
        dockerManifest.push({
          Config: `blobs/sha256/${digestHex(img.id)}`,
          RepoTags: tags.length ? tags : null,
          Layers: dockerLayers,
        });
      for (const t of tags) {
        const p = parseReference(t);
        (repositories[p.name] ??= {})[p.tag] = digestHex(img.id);
      }
    }
  }

  const index: Index = {
    schemaVersion: 2,
    mediaType: MediaType.index,
    manifests: indexEntries,
  };
  const entries: TarWriteEntry[] = [
    { name: "blobs/", type: "directory" },
    { name: "blobs/sha256/", type: "directory" },
  ];
  for (const [digest, data] of [...blobs.entries()].sort(([a], [b]) =>
    a < b ? -1 : 1,
  )) {
    entries.push({ name: `blobs/sha256/${digestHex(digest)}`, data });
  }
  entries.push({ name: "index.json", data: encodeJson(index) });
  if (format === "docker") {
    entries.push({ name: "manifest.json", data: encodeJson(dockerManifest) });
    if (Object.keys(repositories).length)
      entries.push({ name: "repositories", data: encodeJson(repositories) });
  }
  entries.push({
    name: "oci-layout",
    data: encodeJson({ imageLayoutVersion: "1.0.0" }),
  });
  return writeTar(entries);
}

function safeFull(ref: string): string {
  try {
    return parseReference(ref).full;
  } catch {
    return ref;
  }
}
