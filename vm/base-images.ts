/**
 * The base images the VM build ships (public/vm/base/images.json, written by vm/build.sh): their layer
 * tars are unpacked inside the VM snapshot, so `FROM busybox` costs nothing at run time.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface BaseLayerSpec {
  file: string;
  /** sha256 of the uncompressed tar: the layer's diffID. */
  digest: string;
  size: number;
  created_by: string;
  /** The layer's file list (vm/layer-files.ts writes it). */
  files?: string;
}

export interface BaseImageSpec {
  name: string;
  tags: string[];
  architecture: string;
  os: string;
  layers: BaseLayerSpec[];
  config: { Env?: string[]; Cmd?: string[]; Entrypoint?: string[]; WorkingDir?: string };
}

export async function readBaseImages(dir: string): Promise<BaseImageSpec[]> {
  return JSON.parse(await readFile(join(dir, 'base', 'images.json'), 'utf8'));
}

/** Every distinct layer tar of the base images (or of the named ones), once: busybox's layer is shared with python's. */
export async function baseLayerFiles(dir: string, images?: string[]) {
  const seen = new Map<string, { file: string; path: string; diffIdHex: string }>();
  for (const image of await readBaseImages(dir)) {
    if (images && !images.includes(image.name)) continue;
    for (const layer of image.layers) {
      const diffIdHex = layer.digest.replace(/^sha256:/, '');
      if (!seen.has(diffIdHex)) seen.set(diffIdHex, { file: layer.file, path: join(dir, 'base', layer.file), diffIdHex });
    }
  }
  return [...seen.values()];
}
