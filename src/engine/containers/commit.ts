/** `docker commit`: a new image, the container's image + its writable layer as one more layer. */
import type { Digest } from '../oci/digest.ts';
import { buildImage } from '../oci/image.ts';
import type { ContainerConfig } from '../oci/types.ts';
import { committedConfig, mergeConfig } from './config.ts';
import type { ContainerRecord } from './record.ts';
import type { ContainerParts } from './parts.ts';

export interface CommitOptions {
  tag?: string;
  author?: string;
  message?: string;
  changes?: Partial<ContainerConfig>;
  createdBy?: string;
  pause?: boolean;
}

export async function commitContainer(parts: ContainerParts, record: ContainerRecord, options: CommitOptions): Promise<Digest> {
  const { store, filesystems, runtime } = parts;
  await filesystems.ensureMounted(record);
  // `docker commit -p` (the default): no process writes while the layer is read.
  const freeze = options.pause !== false && record.state === 'running' && !record.paused;
  if (freeze) await runtime.crun('pause', record.id);
  let tar: Uint8Array;
  try {
    tar = await filesystems.packWritable(record);
  } finally {
    if (freeze) await runtime.crun('resume', record.id).catch(() => {});
  }
  const layer = await store.addLayer({ tar, validate: false });
  const base = await store.getConfig({ id: record.imageId });
  const baseLayers = await Promise.all((await store.resolve({ ref: record.imageId })).layers.map((digest) => store.getLayer({ digest })));
  const image = await buildImage({
    layers: [...baseLayers, layer],
    config: mergeConfig(committedConfig(base.config ?? {}, record), options.changes ?? {}),
    history: [
      ...(base.history ?? []),
      { created: new Date().toISOString(), created_by: options.createdBy ?? record.args.join(' '), ...(options.author ? { author: options.author } : {}), ...(options.message ? { comment: options.message } : {}) },
    ],
    author: options.author,
  });
  await store.putImage({ image, tags: options.tag ? [options.tag] : [], parent: record.imageId });
  parts.emit({ type: 'image', action: 'create', id: image.configDigest, ref: options.tag });
  return image.configDigest;
}
