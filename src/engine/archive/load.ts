/**
 * `docker load`: read an OCI image layout tar or a docker-archive tar (detected from its contents; gzip
 * accepted) into the store. The archive is never extracted anywhere: members are looked up by name in
 * memory, every blob is checked against its digest, every layer against its diffID, and every layer tar's
 * paths are checked before anything is committed. Unsafe members (absolute or `..` names, links out of the
 * archive, devices) are dropped with a warning; a missing or mismatching blob refuses the whole image.
 */
import { isDigest, sha256, type Digest } from "../oci/digest.ts";
import { buildFromConfig, decodeJson, type BuiltImage } from "../oci/image.ts";
import { parseReference } from "../oci/reference.ts";
import {
  MediaType,
  REF_NAME_ANNOTATION,
  isGzipLayerMediaType,
  type Descriptor,
  type ImageConfig,
  type Index,
  type Manifest,
} from "../oci/types.ts";
import type { ImageStore, LayerRecord } from "../store/image-store.ts";
import { ArchiveError } from "./errors.ts";
import { decompress, sniffCompression } from "../util/decompress.ts";
import { concatBytes } from "../util/bytes.ts";
import {
  isGzip,
  readTar,
  resolveArchivePath,
  safeArchivePath,
  type TarItem,
} from "./tar.ts";

export interface LoadOptions {
  store: ImageStore;
  data: Uint8Array;
  /** Called for each dropped member or other non-fatal problem. */
  onWarning?: (message: string) => void;
  /** Refuse an archive, or a layer, that decompresses to more than this. Default 1 GiB. */
  maxBytes?: number;
  signal?: AbortSignal;
}

export interface LoadResult {
  format: "oci" | "docker";
  images: Array<{ id: Digest; tags: string[] }>;
  warnings: string[];
}

const CONTAINERD_NAME = "io.containerd.image.name";
const MAX_JSON = 4 << 20;
const DEFAULT_MAX_BYTES = 1 << 30;
/** More image entries than any real archive holds: a repeated index entry is refused, not loaded N times. */
const MAX_IMAGES = 256;

/**
 * gzip or zstd → the bytes, within the cap (plain data is returned as is); a broken or oversized stream
 * is an ArchiveError naming `what`.
 */
export async function inflate(data: Uint8Array, what: string, maxBytes = DEFAULT_MAX_BYTES): Promise<Uint8Array> {
  if (sniffCompression(data) === "none") return data;
  const chunks: Uint8Array[] = [];
  try {
    const reader = decompress(new Blob([data as Uint8Array<ArrayBuffer>]).stream(), { maxBytes, what }).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
  } catch (err) {
    throw new ArchiveError((err as Error)?.message ?? String(err), { entry: what, cause: err });
  }
  return concatBytes(chunks);
}

export async function loadImages(options: LoadOptions): Promise<LoadResult> {
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    options.onWarning?.(m);
  };
  const data = await inflate(options.data, "archive", options.maxBytes);
  const files = indexMembers(await readTar(data), warn);

  const result: LoadResult = {
    format: files.has("manifest.json") ? "docker" : "oci",
    images: [],
    warnings,
  };
  if (files.has("manifest.json")) {
    await loadDockerArchive(options, files, result, warn);
  } else if (files.has("index.json")) {
    await loadOciLayout(options, files, result, warn);
  } else {
    throw new ArchiveError(
      "not an image archive: no manifest.json (docker-archive) or index.json (OCI layout)",
    );
  }
  return result;
}

/** Members by normalized name; symlinks and hardlinks resolved to their target's bytes. */
function indexMembers(
  items: TarItem[],
  warn: (m: string) => void,
): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const links: Array<{ name: string; target: string }> = [];
  for (const item of items) {
    const name = safeArchivePath(item.name);
    if (name === undefined) {
      warn(
        `dropped archive member ${JSON.stringify(item.name)}: absolute path or ".." component`,
      );
      continue;
    }
    if (item.type === "directory") continue;
    if (item.type === "file") {
      if (files.has(name))
        warn(
          `archive member ${JSON.stringify(name)} appears twice; using the last`,
        );
      files.set(name, item.data ?? new Uint8Array(0));
    } else if (item.type === "symlink" || item.type === "link") {
      // Old docker-archives symlink shared layers (`<id>/layer.tar -> ../<other>/layer.tar`).
      const raw = item.linkname ?? "";
      const base =
        item.type === "symlink" ? name.split("/").slice(0, -1).join("/") : "";
      const target = raw.startsWith("/")
        ? undefined
        : resolveArchivePath(base ? `${base}/${raw}` : raw);
      if (target === undefined) {
        warn(
          `dropped archive member ${JSON.stringify(item.name)}: link to ${JSON.stringify(raw)} points outside the archive`,
        );
        continue;
      }
      links.push({ name, target });
    } else {
      warn(
        `dropped archive member ${JSON.stringify(item.name)}: ${item.type} entries are not allowed in image archives`,
      );
    }
  }
  for (const { name, target } of links) {
    const bytes = files.get(target);
    if (bytes) files.set(name, bytes);
    else
      warn(
        `dropped archive member ${JSON.stringify(name)}: link target ${JSON.stringify(target)} is not a file in the archive`,
      );
  }
  return files;
}

function readJson<T>(files: Map<string, Uint8Array>, name: string): T {
  const bytes = files.get(name);
  if (!bytes) throw new ArchiveError("missing member", { entry: name });
  if (bytes.length > MAX_JSON)
    throw new ArchiveError(`JSON member is ${bytes.length} bytes, too large`, {
      entry: name,
    });
  try {
    return decodeJson<T>(bytes);
  } catch (err) {
    throw new ArchiveError(`invalid JSON: ${(err as Error).message}`, {
      entry: name,
    });
  }
}

function blobPath(digest: string, where: string): string {
  if (!isDigest(digest))
    throw new ArchiveError(`invalid digest ${JSON.stringify(digest)}`, {
      entry: where,
    });
  return `blobs/sha256/${digest.slice(7)}`;
}

async function verifiedBlob(
  files: Map<string, Uint8Array>,
  desc: Descriptor,
  where: string,
): Promise<Uint8Array> {
  const path = blobPath(desc.digest, where);
  const bytes = files.get(path);
  if (!bytes)
    throw new ArchiveError(
      `blob ${desc.digest} referenced by ${where} is missing`,
      { entry: path },
    );
  const actual = await sha256(bytes);
  if (actual !== desc.digest)
    throw new ArchiveError(`digest mismatch: content hashes to ${actual}`, {
      entry: path,
    });
  if (typeof desc.size === "number" && desc.size !== bytes.length) {
    throw new ArchiveError(
      `size mismatch: descriptor says ${desc.size}, blob has ${bytes.length} bytes`,
      { entry: path },
    );
  }
  return bytes;
}

function checkConfig(config: ImageConfig, entry: string): void {
  if (
    !config ||
    typeof config !== "object" ||
    !config.rootfs ||
    !Array.isArray(config.rootfs.diff_ids)
  ) {
    throw new ArchiveError("image config has no rootfs.diff_ids", { entry });
  }
  for (const d of config.rootfs.diff_ids) {
    if (!isDigest(d))
      throw new ArchiveError(`invalid diff_id ${JSON.stringify(d)}`, { entry });
  }
}

/**
 * Check a layer's tar and return it uncompressed: structure (via readTar), member paths, and that its sha256
 * is the diffID the config promises.
 */
async function checkLayer(
  blob: Uint8Array,
  diffID: Digest,
  entry: string,
  maxBytes?: number,
  warn: (m: string) => void = () => {},
): Promise<Uint8Array> {
  const tar = await inflate(blob, entry, maxBytes);
  let items: TarItem[];
  try {
    items = await readTar(tar);
  } catch (err) {
    throw new ArchiveError(
      `layer is not a valid tar: ${(err as Error).message}`,
      { entry, cause: err },
    );
  }
  // Symlinks in this layer: a later member under one would be written through the link when unpacked.
  const symlinks = new Set<string>();
  let absolute = 0;
  const devices: string[] = [];
  for (const item of items) {
    const path = safeArchivePath(item.name.replace(/^\/+/, ""));
    if (item.name.startsWith("/")) absolute++;
    if (path !== undefined) {
      const parts = path.split("/");
      for (let i = 1; i < parts.length; i++) {
        const parent = parts.slice(0, i).join("/");
        if (symlinks.has(parent))
          throw new ArchiveError(
            `layer member ${JSON.stringify(item.name)} lies under ${JSON.stringify(parent)}, a symlink in the same layer: unpacking it would write through the link`,
            { entry },
          );
      }
      if (item.type === "symlink") symlinks.add(path);
      if (item.type === "character-device" || item.type === "block-device") devices.push(path);
    }
    if (path === undefined) {
      throw new ArchiveError(
        `layer member ${JSON.stringify(item.name)} escapes the layer root`,
        { entry },
      );
    }
    if (
      item.type === "link" &&
      safeArchivePath((item.linkname ?? "").replace(/^\/+/, "")) === undefined
    ) {
      throw new ArchiveError(
        `layer hardlink ${JSON.stringify(item.name)} points outside the layer (${item.linkname})`,
        { entry },
      );
    }
  }
  if (absolute)
    warn(`${entry}: ${absolute} member name${absolute === 1 ? "" : "s"} began with "/"; read as relative to the layer root`);
  if (devices.length)
    warn(`${entry}: device node${devices.length === 1 ? "" : "s"} ${devices.slice(0, 3).join(", ")}${devices.length > 3 ? " …" : ""} kept, but containers cannot open them (Docker's default device rules allow only the standard devices)`);
  const actual = await sha256(tar);
  if (actual !== diffID)
    throw new ArchiveError(
      `layer diffID mismatch: config says ${diffID}, content is ${actual}`,
      { entry },
    );
  return tar;
}

function tagsFrom(
  names: Array<string | undefined>,
  warn: (m: string) => void,
): string[] {
  const tags: string[] = [];
  for (const n of names) {
    if (!n) continue;
    try {
      tags.push(parseReference(n).full);
    } catch (err) {
      warn(`ignored tag ${JSON.stringify(n)}: ${(err as Error).message}`);
    }
  }
  return [...new Set(tags)];
}

async function commitImage(
  options: LoadOptions,
  built: BuiltImage,
  tags: string[],
  result: LoadResult,
): Promise<void> {
  await options.store.putImage({ image: built, tags });
  const existing = result.images.find((i) => i.id === built.configDigest);
  if (existing) existing.tags = [...new Set([...existing.tags, ...tags])];
  else result.images.push({ id: built.configDigest, tags });
}

async function loadDockerArchive(
  options: LoadOptions,
  files: Map<string, Uint8Array>,
  result: LoadResult,
  warn: (m: string) => void,
): Promise<void> {
  const manifest = readJson<unknown>(files, "manifest.json");
  if (!Array.isArray(manifest))
    throw new ArchiveError("expected a JSON array", { entry: "manifest.json" });
  if (manifest.length > MAX_IMAGES)
    throw new ArchiveError(`more than ${MAX_IMAGES} images in manifest.json; refusing the archive`, { entry: "manifest.json" });
  for (const [i, m] of manifest.entries()) {
    options.signal?.throwIfAborted();
    const where = `manifest.json[${i}]`;
    const entry = m as {
      Config?: unknown;
      RepoTags?: unknown;
      Layers?: unknown;
    };
    if (
      typeof entry?.Config !== "string" ||
      !Array.isArray(entry.Layers) ||
      !entry.Layers.every((l) => typeof l === "string")
    ) {
      throw new ArchiveError(
        "needs Config (string) and Layers (array of strings)",
        { entry: where },
      );
    }
    const configName = safeArchivePath(entry.Config);
    const configBytes =
      configName !== undefined ? files.get(configName) : undefined;
    if (!configBytes)
      throw new ArchiveError(
        `config ${JSON.stringify(entry.Config)} is missing`,
        { entry: where },
      );
    // Config names carry the config digest (blobs/sha256/<hex> or <hex>.json): hold them to it.
    const configDigest = await sha256(configBytes);
    const hex = /([0-9a-f]{64})(?:\.json)?$/.exec(configName!)?.[1];
    if (hex && `sha256:${hex}` !== configDigest) {
      throw new ArchiveError(
        `digest mismatch: config hashes to ${configDigest}`,
        { entry: configName },
      );
    }
    const config = readJson<ImageConfig>(files, configName!);
    checkConfig(config, configName!);
    const layerNames = entry.Layers as string[];
    if (layerNames.length !== config.rootfs.diff_ids.length) {
      throw new ArchiveError(
        `${layerNames.length} layers but the config lists ${config.rootfs.diff_ids.length} diff_ids`,
        { entry: where },
      );
    }
    const records: LayerRecord[] = [];
    for (const [li, layerName] of layerNames.entries()) {
      const name = safeArchivePath(layerName);
      const blob = name !== undefined ? files.get(name) : undefined;
      if (!blob)
        throw new ArchiveError(
          `layer ${JSON.stringify(layerName)} is missing`,
          { entry: where },
        );
      const compressed = isGzip(blob);
      const tar = await checkLayer(
        blob,
        config.rootfs.diff_ids[li],
        name!,
        options.maxBytes,
        warn,
      );
      // The tar is passed along, so the store does not decompress the layer a second time.
      records.push(
        await options.store.addLayer(
          compressed
            ? { compressed: blob, tar, validate: false }
            : { tar, validate: false },
        ),
      );
    }
    const built = await buildFromConfig({
      config,
      configBytes,
      layers: records, // a LayerRecord is a LayerDescriptor (and more)
    });
    const tags = tagsFrom(
      Array.isArray(entry.RepoTags) ? (entry.RepoTags as string[]) : [],
      warn,
    );
    await commitImage(options, built, tags, result);
  }
}

async function loadOciLayout(
  options: LoadOptions,
  files: Map<string, Uint8Array>,
  result: LoadResult,
  warn: (m: string) => void,
): Promise<void> {
  if (!files.has("oci-layout"))
    warn("OCI layout has no oci-layout file; reading index.json anyway");
  const index = readJson<Index>(files, "index.json");
  const queue: Array<{ desc: Descriptor; where: string; depth: number }> = [];
  if (!Array.isArray(index?.manifests))
    throw new ArchiveError("index has no manifests array", {
      entry: "index.json",
    });
  if (index.manifests.length > MAX_IMAGES)
    throw new ArchiveError(`more than ${MAX_IMAGES} entries in the image index; refusing the archive`, { entry: "index.json" });
  index.manifests.forEach((desc, i) =>
    queue.push({ desc, where: `index.json manifests[${i}]`, depth: 0 }),
  );
  let entries = 0;
  while (queue.length) {
    options.signal?.throwIfAborted();
    const { desc, where, depth } = queue.shift()!;
    if (++entries > MAX_IMAGES)
      throw new ArchiveError(`more than ${MAX_IMAGES} entries in the image index; refusing the archive`, { entry: "index.json" });
    if (
      desc.mediaType === MediaType.index ||
      desc.mediaType === MediaType.dockerManifestList
    ) {
      if (depth >= 2)
        throw new ArchiveError("indexes nested too deeply", { entry: where });
      const nested = decodeJson<Index>(await verifiedBlob(files, desc, where));
      (nested.manifests ?? []).forEach((d, i) =>
        // Keep the outer name on the nested manifests so tags survive.
        queue.push({
          desc: {
            ...d,
            annotations: { ...desc.annotations, ...d.annotations },
          },
          where: `${where} > manifests[${i}]`,
          depth: depth + 1,
        }),
      );
      continue;
    }
    if (
      desc.mediaType !== MediaType.manifest &&
      desc.mediaType !== MediaType.dockerManifest
    ) {
      warn(`skipped ${where}: unsupported media type ${desc.mediaType}`);
      continue;
    }
    const manifestBytes = await verifiedBlob(files, desc, where);
    let manifest: Manifest;
    try {
      manifest = decodeJson<Manifest>(manifestBytes);
    } catch (err) {
      throw new ArchiveError(
        `invalid manifest JSON: ${(err as Error).message}`,
        { entry: blobPath(desc.digest, where) },
      );
    }
    if (!manifest?.config || !Array.isArray(manifest.layers)) {
      throw new ArchiveError("manifest has no config or layers", {
        entry: blobPath(desc.digest, where),
      });
    }
    const configBytes = await verifiedBlob(
      files,
      manifest.config,
      `manifest ${desc.digest}`,
    );
    let config: ImageConfig;
    try {
      config = decodeJson<ImageConfig>(configBytes);
    } catch (err) {
      throw new ArchiveError(`invalid config JSON: ${(err as Error).message}`, {
        entry: blobPath(manifest.config.digest, where),
      });
    }
    checkConfig(config, blobPath(manifest.config.digest, where));
    if (manifest.layers.length !== config.rootfs.diff_ids.length) {
      throw new ArchiveError(
        `manifest has ${manifest.layers.length} layers but the config lists ${config.rootfs.diff_ids.length} diff_ids`,
        { entry: blobPath(desc.digest, where) },
      );
    }
    const records: LayerRecord[] = [];
    for (const [li, layerDesc] of manifest.layers.entries()) {
      const blob = await verifiedBlob(
        files,
        layerDesc,
        `manifest ${desc.digest} layer ${li}`,
      );
      const tar = await checkLayer(
        blob,
        config.rootfs.diff_ids[li],
        blobPath(layerDesc.digest, where),
        options.maxBytes,
        warn,
      );
      const gz = isGzipLayerMediaType(layerDesc.mediaType) && isGzip(blob);
      records.push(
        await options.store.addLayer(
          gz ? { compressed: blob, tar, validate: false } : { tar, validate: false },
        ),
      );
    }
    // Keep the manifest byte-for-byte (and so its digest) when the store holds exactly its layer blobs.
    const same =
      records.every((r, i) => r.digest === manifest.layers[i].digest) &&
      manifest.mediaType === MediaType.manifest;
    const built: BuiltImage = same
      ? {
          config,
          configBytes,
          configDigest: manifest.config.digest,
          manifest,
          manifestBytes,
          manifestDigest: desc.digest,
        }
      : await buildFromConfig({
          config,
          configBytes,
          layers: records, // a LayerRecord is a LayerDescriptor (and more)
        });
    const a = desc.annotations ?? {};
    const refName = a[REF_NAME_ANNOTATION];
    // A bare ref.name ("latest") is only a tag; without a repository name it can't name an image.
    const name =
      a[CONTAINERD_NAME] ??
      (refName && /[:/]/.test(refName) ? refName : undefined);
    if (!name && refName)
      warn(
        `${where}: ref.name ${JSON.stringify(refName)} has no repository name; loaded untagged`,
      );
    await commitImage(options, built, tagsFrom([name], warn), result);
  }
}
