/**
 * Export an image as a tar (`docker save`) and import one (`docker load`) from the Images panel.
 * Failures become notices; nothing here can take the page down.
 */
import type { AppState } from '../app.svelte.ts';
import type { ImageRowVM } from './types.ts';

/** Archives larger than this are refused on import: the engine holds them in this tab's memory. */
export const MAX_IMPORT_BYTES = 512 * 1024 * 1024;

/** `app:latest` → `app.tar`, `lab/web:v2` → `lab_web-v2.tar`, untagged → `image-<short id>.tar`. */
export function exportFileName(image: Pick<ImageRowVM, 'id' | 'tags'>): string {
  const tag = image.tags.find((t) => t !== '<none>:<none>');
  if (!tag) return `image-${image.id.replace(/^sha256:/, '').slice(0, 12)}.tar`;
  const colon = tag.lastIndexOf(':');
  const [name, version] = colon > tag.lastIndexOf('/') ? [tag.slice(0, colon), tag.slice(colon + 1)] : [tag, 'latest'];
  const base = (version === 'latest' ? name : `${name}-${version}`).replace(/[^A-Za-z0-9._-]+/g, '_');
  return `${base}.tar`;
}

/** Downloads the image as a docker-archive tar (what `docker load` reads). */
export async function exportImage(app: AppState, image: ImageRowVM, download: (bytes: Uint8Array, name: string) => void = saveFile): Promise<void> {
  const name = exportFileName(image);
  const tag = image.tags.find((t) => t !== '<none>:<none>');
  // While a build runs, its tag may move to the new image halfway through: pin this one by id.
  const ref = app.building || !tag ? image.id : tag;
  if (app.building) app.notify(`A build is running; exporting ${tag ?? 'the image'} as it is now, not the image being built.`, 'info');
  await app.act('Export', async () => {
    const bytes = await app.actions.save(ref, { format: 'docker' });
    download(bytes, name);
    app.notify(`Exported ${name} (${(bytes.length / 1024 / 1024).toFixed(1)} MB). Load it anywhere with: docker load -i ${name}`, 'success');
  });
}

/** Loads images from a tar picked from disk. */
export async function importImage(app: AppState, file: File): Promise<void> {
  if (file.size > MAX_IMPORT_BYTES) {
    app.notify(`${file.name} is ${(file.size / 1024 / 1024).toFixed(0)} MB; Layerlab imports archives up to ${MAX_IMPORT_BYTES / 1024 / 1024} MB (the whole engine runs in this tab).`, 'error');
    return;
  }
  await app.act(`Import of ${file.name}`, async () => {
    const result = await app.actions.load(new Uint8Array(await file.arrayBuffer()));
    const names = result.images.map((i) => i.tags[0] ?? i.id.slice(7, 19));
    app.notify(`Loaded ${names.join(', ') || 'nothing'} from ${file.name}.${result.warnings.length ? ' ' + result.warnings.join(' ') : ''}`, names.length ? 'success' : 'info');
  });
}

function saveFile(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/x-tar' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  // The download has its own reference by now; keep the URL a little for slow browsers.
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}
