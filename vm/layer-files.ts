/**
 * Writes each base layer's file list next to its tar (public/vm/base/<name>.files.json, the name its layer
 * gives in images.json's "files"), in the agent's `list` form: the engine reads a base layer's tree from it
 * instead of walking the layer in the VM, which for python's layer cost ~85 million guest instructions,
 * seconds, in the learner's first python container. Usage: tsx vm/layer-files.ts <dir with base/>
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readTar } from '../src/engine/archive/tar.ts';
import { listEntriesFromTar } from '../src/engine/layers/tree.ts';
import { readBaseImages } from './base-images.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: tsx vm/layer-files.ts <dir holding base/images.json>');
const written = new Set<string>();
for (const image of await readBaseImages(dir)) {
  for (const layer of image.layers) {
    if (!layer.files || written.has(layer.files)) continue;
    const entries = listEntriesFromTar(await readTar(await readFile(join(dir, 'base', layer.file))));
    await writeFile(join(dir, 'base', layer.files), JSON.stringify(entries));
    written.add(layer.files);
    console.log(`${layer.files}: ${entries.length} entries`);
  }
}
