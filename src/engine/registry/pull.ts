/**
 * `docker pull`: resolve a reference to the linux/386 manifest, then stream each missing layer into the
 * store, hashing the compressed bytes (the blob digest) and the decompressed bytes (the diffID) as they go.
 * A layer is written under its digest only after both check out; the image (and its tag) becomes visible in
 * one commit after every layer is in. An interrupted pull leaves at most complete, verified layers (which the
 * next pull reuses: "Already exists"), never a half blob or a half image.
 */
import { sha256, shortId, type Digest } from '../oci/digest.ts';
import { DigestMismatchError, EngineError } from '../oci/errors.ts';
import { decodeJson, type BuiltImage } from '../oci/image.ts';
import { parseReference, type Reference } from '../oci/reference.ts';
import { MediaType, type Descriptor, type ImageConfig, type Manifest, type Platform } from '../oci/types.ts';
import type { ImageStore, LayerRecord } from '../store/image-store.ts';
import { readLimited, type RegistryClient } from './client.ts';
import { PlatformError, RegistryError } from './errors.ts';
import { locate, type RepositoryLocation } from './location.ts';
import { decompress } from '../util/decompress.ts';
import type { TransferEvent } from './progress.ts';

/** The only platform the VM runs. */
export const VM_PLATFORM = 'linux/386';
/** Official images known to publish linux/386, named in the platform error. */
export const I386_OFFICIAL_IMAGES = ['busybox', 'alpine', 'debian', 'ubuntu', 'python', 'httpd', 'redis'];
/** Largest image config accepted. */
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
/** Largest uncompressed layer accepted (memory and storage stay bounded whatever a registry sends). */
export const MAX_LAYER_BYTES = 2 * 1024 * 1024 * 1024;
/** Layers downloaded at once (Docker's default is 3). */
const CONCURRENT_DOWNLOADS = 3;

export interface PullOptions {
  client: RegistryClient;
  store: ImageStore;
  ref: string;
  /** `--platform`; only linux/386 is accepted. */
  platform?: string;
  onProgress?: (event: TransferEvent) => void;
  signal?: AbortSignal;
}

export interface PullResult {
  imageId: Digest;
  /** The digest the reference resolved to (the index's, for a multi-platform image): Docker's `Digest:` line. */
  digest: Digest;
  /** `name:tag`, or `name@sha256:…` when pulled by digest. */
  ref: string;
  /** `docker.io/library/busybox:1.36`: the last line Docker prints. */
  canonical: string;
  repoDigest: string;
  /** Nothing new was downloaded and the tag already pointed at this image. */
  upToDate: boolean;
  /** Layers downloaded now / already in the store. */
  downloaded: number;
  existing: number;
  bytes: number;
}

/** Refuses `--platform` values other than linux/386, saying why. */
export function checkPlatform(platform: string | undefined): void {
  if (!platform) return;
  const normalized = platform.toLowerCase().replace(/^linux\/i386$/, VM_PLATFORM).replace(/^linux\/x86$/, VM_PLATFORM);
  if (normalized !== VM_PLATFORM) {
    throw new PlatformError(
      `--platform ${platform} is not available: Layerlab runs a 32-bit x86 Linux VM, so it can pull and run only linux/386 images (use --platform linux/386, or leave it out)`,
    );
  }
}

export function platformString(p: Partial<Platform> | undefined): string {
  if (!p) return 'unknown';
  return `${p.os ?? '?'}/${p.architecture ?? '?'}${p.variant ? `/${p.variant}` : ''}`;
}

function noI386(shown: string, available: string[]): PlatformError {
  const has = available.length ? ` (it has ${[...new Set(available)].join(', ')})` : '';
  return new PlatformError(
    `${shown} has no linux/386 image${has}; Layerlab runs 32-bit x86 images; official images that publish linux/386 include ${I386_OFFICIAL_IMAGES.join(', ')}; ` +
      'or build your own FROM one of them',
  );
}

function shownName(ref: Reference): string {
  return ref.digest ? `${ref.name}@${ref.digest}` : ref.full;
}

/** `docker.io/library/busybox:1.36` (what Docker prints last). */
export function canonicalName(ref: Reference, loc: RepositoryLocation): string {
  const base = `${loc.registry}/${loc.repository}`;
  return ref.digest ? `${base}@${ref.digest}` : `${base}:${ref.tag}`;
}

interface Resolved {
  topDigest: Digest;
  manifest: Manifest;
  manifestBytes: Uint8Array;
  manifestDigest: Digest;
  config: ImageConfig;
  configBytes: Uint8Array;
}

/** Tag or digest → the linux/386 manifest and its config, all verified against their digests. */
export async function resolveImage(client: RegistryClient, ref: Reference, loc: RepositoryLocation, signal?: AbortSignal): Promise<Resolved> {
  const shown = shownName(ref);
  const top = await client.getManifest(loc, ref.digest ?? ref.tag, signal);
  let fetched = top;
  const parsed = decodeJson<{ manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] }>(top.bytes);
  if (top.mediaType === MediaType.index || top.mediaType === MediaType.dockerManifestList || parsed.manifests) {
    const manifests = parsed.manifests ?? [];
    const pick = manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === '386' && m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest');
    if (!pick) {
      const platforms = manifests.filter((m) => m.platform && m.platform.os !== 'unknown').map((m) => platformString(m.platform));
      throw noI386(shown, platforms);
    }
    fetched = await client.getManifest(loc, pick.digest, signal);
  }
  const manifest = decodeJson<Manifest>(fetched.bytes);
  if (!manifest.config?.digest || !Array.isArray(manifest.layers)) throw new RegistryError(`${shown}: the manifest has no config or layers`);
  for (const layer of manifest.layers) {
    if (/nondistributable|foreign/.test(layer.mediaType)) throw new RegistryError(`${shown}: layer ${shortId(layer.digest)} is a foreign (Windows) layer, which Layerlab cannot use`);
  }
  const { body } = await client.getBlob(loc, manifest.config.digest, signal);
  const configBytes = await readLimited(new Response(body), MAX_CONFIG_BYTES);
  const configDigest = await sha256(configBytes);
  if (configDigest !== manifest.config.digest) throw new DigestMismatchError(manifest.config.digest, configDigest, `config of ${shown}`);
  const config = decodeJson<ImageConfig>(configBytes);
  if (config.os !== 'linux' || config.architecture !== '386') throw noI386(shown, [platformString(config)]);
  if ((config.rootfs?.diff_ids?.length ?? -1) !== manifest.layers.length) {
    throw new RegistryError(`${shown}: the config lists ${config.rootfs?.diff_ids?.length ?? 0} layers but the manifest has ${manifest.layers.length}`);
  }
  return { topDigest: top.digest, manifest, manifestBytes: fetched.bytes, manifestDigest: fetched.digest, config, configBytes };
}

async function drain(stream: ReadableStream<Uint8Array>, each: (chunk: Uint8Array) => void | Promise<void>) {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      await each(value);
    }
  } finally {
    reader.releaseLock();
  }
}

/** Streams one layer into the store, verified; returns its record (not yet committed). */
async function downloadLayer(options: {
  client: RegistryClient;
  store: ImageStore;
  loc: RepositoryLocation;
  layer: Descriptor;
  expectedDiffID: Digest;
  onBytes: (current: number) => void;
  signal?: AbortSignal;
}): Promise<{ record: LayerRecord; release: () => void }> {
  const { layer } = options;
  const { body } = await options.client.getBlob(options.loc, layer.digest, options.signal);
  const writer = await options.store.openBlobWriter(layer.digest);
  const blobHash = await options.client.createHasher();
  const diffHash = await options.client.createHasher();
  let compressed = 0;
  let uncompressed = 0;
  try {
    // One pass over the bytes: stored and hashed as they come (blob digest), decompressed and hashed (diffID).
    const [forBlob, forDiff] = body.tee();
    const writing = drain(forBlob, async (chunk) => {
      compressed += chunk.length;
      if (compressed > layer.size) throw new DigestMismatchError(layer.digest, 'more bytes than the manifest states' as Digest, `layer ${shortId(layer.digest)}`);
      blobHash.update(chunk);
      await writer.write(chunk);
      options.onBytes(compressed);
    });
    // gzip, zstd or plain, by magic bytes; capped so a decompression bomb stops early.
    const hashingDiff = drain(decompress(forDiff, { maxBytes: MAX_LAYER_BYTES, what: `layer ${shortId(layer.digest)}` }), (chunk) => {
      uncompressed += chunk.length;
      diffHash.update(chunk);
    });
    const results = await Promise.allSettled([writing, hashingDiff]);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failed) {
      await forBlob.cancel().catch(() => {});
      await forDiff.cancel().catch(() => {});
      throw failed.reason;
    }
    const digest = blobHash.digest();
    if (digest !== layer.digest || compressed !== layer.size) {
      throw new DigestMismatchError(layer.digest, digest, `layer ${shortId(layer.digest)} (${compressed} of ${layer.size} bytes)`);
    }
    const diffID = diffHash.digest();
    if (diffID !== options.expectedDiffID) throw new DigestMismatchError(options.expectedDiffID, diffID, `uncompressed layer ${shortId(layer.digest)}`);
    await writer.commit();
  } catch (error) {
    await writer.abort().catch(() => {});
    writer.release();
    if (options.signal?.aborted && !(error instanceof EngineError)) throw options.signal.reason ?? error;
    if (error instanceof TypeError || (error as Error).name === 'TypeError') {
      throw new RegistryError(`download of layer ${shortId(layer.digest)} failed: ${(error as Error).message}${(error as { cause?: Error }).cause ? ` (${(error as { cause?: Error }).cause!.message})` : ''}`);
    }
    throw error;
  }
  return {
    record: { digest: layer.digest, diffID: options.expectedDiffID, size: compressed, diffSize: uncompressed, mediaType: layer.mediaType },
    release: writer.release,
  };
}

export async function pullImage(options: PullOptions): Promise<PullResult> {
  checkPlatform(options.platform);
  const ref = parseReference(options.ref);
  const loc = locate(ref);
  const emit = options.onProgress ?? (() => {});
  emit({ kind: 'status', text: ref.digest ? `${ref.digest}: Pulling from ${loc.registry === 'docker.io' ? loc.repository : `${loc.repository}`}` : `${ref.tag}: Pulling from ${loc.repository}` });
  const resolved = await resolveImage(options.client, ref, loc, options.signal);
  const { manifest, config } = resolved;
  const diffIDs = config.rootfs.diff_ids as Digest[];

  const existing = new Set<number>();
  for (const [i, layer] of manifest.layers.entries()) {
    if (await options.store.hasLayer(layer.digest)) existing.add(i);
  }
  for (const [i, layer] of manifest.layers.entries()) {
    emit({ kind: 'layer', id: shortId(layer.digest), status: existing.has(i) ? 'Already exists' : 'Pulling fs layer' });
  }

  const releases: (() => void)[] = [];
  const records = new Map<number, LayerRecord>();
  let bytes = 0;
  // One failed layer stops the others (their partial blobs are discarded).
  const inner = new AbortController();
  const onAbort = () => inner.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort);
  const downloads = new Map<number, Promise<void>>();
  try {
    const queue = manifest.layers.map((layer, i) => ({ layer, i })).filter(({ i }) => !existing.has(i));
    let next = 0;
    const startNext = (): Promise<void> | undefined => {
      if (next >= queue.length) return undefined;
      const { layer, i } = queue[next++];
      const id = shortId(layer.digest);
      let lastShown = -1;
      const job = downloadLayer({
        client: options.client,
        store: options.store,
        loc,
        layer,
        expectedDiffID: diffIDs[i],
        signal: inner.signal,
        onBytes: (current) => {
          // One event per percent step keeps the output (and the worker channel) small.
          const step = Math.floor((current * 100) / Math.max(1, layer.size));
          if (step === lastShown) return;
          lastShown = step;
          emit({ kind: 'layer', id, status: 'Downloading', current, total: layer.size });
        },
      }).then(({ record, release }) => {
        releases.push(release);
        records.set(i, record);
        bytes += record.size;
        emit({ kind: 'layer', id, status: 'Verifying Checksum' });
        emit({ kind: 'layer', id, status: 'Download complete' });
      });
      job.catch(() => undefined); // awaited in order below; a later layer may fail first
      downloads.set(i, job);
      return job.then(() => startNext());
    };
    const workers: Promise<void | undefined>[] = [];
    for (let w = 0; w < CONCURRENT_DOWNLOADS; w++) {
      const worker = startNext();
      // Failures surface through `downloads` (awaited in order below); the chain itself must not go unhandled.
      if (worker) workers.push(worker.catch(() => undefined));
    }
    // Layers complete in order, bottom first, as Docker extracts them.
    for (const [i, layer] of manifest.layers.entries()) {
      if (existing.has(i)) continue;
      while (!downloads.has(i)) await Promise.race([...downloads.values(), ...workers]);
      await downloads.get(i);
      await options.store.addStreamedLayer(records.get(i)!);
      emit({ kind: 'layer', id: shortId(layer.digest), status: 'Pull complete' });
    }
    await Promise.all(workers);

    const tag = ref.digest ? undefined : ref.full;
    const before = tag ? await options.store.resolve({ ref: tag }).catch(() => undefined) : undefined;
    const image: BuiltImage = {
      config,
      configBytes: resolved.configBytes,
      configDigest: await sha256(resolved.configBytes),
      manifest,
      manifestBytes: resolved.manifestBytes,
      manifestDigest: resolved.manifestDigest,
    };
    const repoDigest = `${ref.name}@${resolved.topDigest}`;
    await options.store.putImage({ image, tags: tag ? [tag] : [], repoDigests: [repoDigest] });
    const upToDate = records.size === 0 && before?.id === image.configDigest;
    emit({ kind: 'status', text: `Digest: ${resolved.topDigest}` });
    emit({ kind: 'status', text: `Status: ${upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${shownName(ref)}` });
    return {
      imageId: image.configDigest,
      digest: resolved.topDigest,
      ref: shownName(ref),
      canonical: canonicalName(ref, loc),
      repoDigest,
      upToDate,
      downloaded: records.size,
      existing: existing.size,
      bytes,
    };
  } catch (error) {
    inner.abort(error);
    await Promise.allSettled(downloads.values());
    throw options.signal?.aborted ? (options.signal.reason ?? error) : error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    for (const release of releases) release();
  }
}
