/**
 * `docker push`: every layer the registry lacks (a HEAD first: "Layer already exists"), then the config,
 * then the manifest under the tag. The manifest bytes are the stored ones, so the pushed digest is the
 * image's manifest digest and a pull of it gets back the same image ID.
 */
import { shortId, type Digest } from '../oci/digest.ts';
import { decodeJson } from '../oci/image.ts';
import { parseReference } from '../oci/reference.ts';
import { MediaType } from '../oci/types.ts';
import type { ImageStore } from '../store/image-store.ts';
import type { RegistryClient } from './client.ts';
import { RegistryError } from './errors.ts';
import { locate } from './location.ts';
import type { TransferEvent } from './progress.ts';

export interface PushOptions {
  client: RegistryClient;
  store: ImageStore;
  ref: string;
  onProgress?: (event: TransferEvent) => void;
  signal?: AbortSignal;
}

export interface PushResult {
  tag: string;
  digest: Digest;
  /** Bytes of the manifest (Docker's `size:`). */
  size: number;
  repoDigest: string;
  pushed: number;
  existing: number;
}

export async function pushImage(options: PushOptions): Promise<PushResult> {
  const ref = parseReference(options.ref);
  if (ref.digest) throw new RegistryError(`cannot push a digest reference (${options.ref}): push a tag`);
  const loc = locate(ref);
  const emit = options.onProgress ?? (() => {});
  const image = await options.store.resolve({ ref: ref.full });
  const config = await options.store.getConfig({ id: image.id });
  const { digest: manifestDigest, bytes: manifestBytes } = await options.store.manifestBytes({ id: image.id });
  const manifest = decodeJson<{ mediaType?: string; layers: { digest: Digest; size: number }[] }>(manifestBytes);
  const diffIDs = config.rootfs.diff_ids;

  emit({ kind: 'status', text: `The push refers to repository [${loc.registry === 'docker.io' ? `docker.io/${loc.repository}` : `${loc.registry}/${loc.repository}`}]` });
  // Docker lists layers top first, named by their diffID.
  const order = manifest.layers.map((layer, i) => ({ layer, id: shortId(diffIDs[i]) })).reverse();
  for (const { id } of order) emit({ kind: 'layer', id, status: 'Preparing' });
  let pushed = 0;
  let existing = 0;
  // A repository of the same registry this image came from (or went to) has the layers: mount, don't upload.
  const mountFrom = (image.repoDigests ?? [])
    .map((d) => locate(parseReference(d)))
    .find((other) => other.apiHost === loc.apiHost && other.repository !== loc.repository)?.repository;
  for (const { layer, id } of order) {
    if (await options.client.hasBlob(loc, layer.digest, options.signal)) {
      existing++;
      emit({ kind: 'layer', id, status: 'Layer already exists' });
      continue;
    }
    if (mountFrom) {
      if (await options.client.mountBlob(loc, layer.digest, mountFrom, options.signal)) {
        existing++;
        emit({ kind: 'layer', id, status: 'Mounted from', detail: mountFrom });
        continue;
      }
    }
    emit({ kind: 'layer', id, status: 'Pushing', current: 0, total: layer.size });
    const bytes = await options.store.layerBlob({ digest: layer.digest, signal: options.signal });
    await options.client.putBlob(loc, layer.digest, bytes, { signal: options.signal });
    emit({ kind: 'layer', id, status: 'Pushing', current: bytes.length, total: layer.size });
    emit({ kind: 'layer', id, status: 'Pushed' });
    pushed++;
  }
  if (!(await options.client.hasBlob(loc, image.id, options.signal))) {
    await options.client.putBlob(loc, image.id, await options.store.getBlob(image.id), { signal: options.signal });
  }
  const mediaType = manifest.mediaType ?? MediaType.manifest;
  const digest = await options.client.putManifest(loc, ref.tag, { bytes: manifestBytes, mediaType }, options.signal);
  if (digest !== manifestDigest) throw new RegistryError(`the pushed manifest's digest ${digest} differs from the stored ${manifestDigest}`);
  const repoDigest = `${ref.name}@${digest}`;
  await options.store.addRepoDigest({ id: image.id, repoDigest });
  emit({ kind: 'status', text: `${ref.tag}: digest: ${digest} size: ${manifestBytes.length}` });
  return { tag: ref.tag, digest, size: manifestBytes.length, repoDigest, pushed, existing };
}
