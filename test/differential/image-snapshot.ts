/**
 * An image as the differential suite compares it: read from a `docker save` archive (Docker's or
 * Layerlab's) and normalized, so that only what may legitimately differ between two builders is gone:
 * ids, digests and times. Everything else (layer count, each layer's entries with names, types, modes,
 * owners, link targets and contents, the config, the history's created_by and empty_layer) stays, as
 * lines of text, so a difference reads as a line diff.
 */
import { createHash } from 'node:crypto';
import { gunzip, isGzip, readTar, type TarItem } from '../../src/engine/archive/tar.ts';

export interface ImageSnapshot {
  config: Record<string, unknown>;
  history: string[];
  /** One entry per layer: its diff ID (kept out of comparisons) and its entries as lines. */
  layers: { diffId: string; entries: string[] }[];
}

interface ArchiveManifest {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

/** Config fields that carry times, ids or the builder's own bookkeeping. */
const UNCOMPARED_CONFIG = new Set(['created', 'history', 'rootfs', 'container', 'container_config', 'docker_version', 'moby.buildkit.buildinfo.v1']);

function withoutNulls(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined));
}

export function entryLine(item: TarItem): string {
  const name = item.name.replace(/^\.\//, '').replace(/\/$/, '');
  const mode = (item.mode & 0o7777).toString(8).padStart(4, '0');
  let line = `${item.type} ${mode} ${item.uid}:${item.gid} ${name}`;
  if (item.type === 'symlink' || item.type === 'link') line += ` -> ${(item.linkname ?? '').replace(/^\.\//, '')}`;
  if (item.type === 'file') {
    const data = item.data ?? new Uint8Array();
    line += ` ${data.length}B sha256:${createHash('sha256').update(data).digest('hex').slice(0, 12)}`;
  }
  return line;
}

/** Reads every image of a `docker save` archive, by its first tag. */
export async function readSavedImages(archive: Uint8Array): Promise<Map<string, ImageSnapshot>> {
  const items = await readTar(archive, { maxEntries: 1_000_000 });
  const byName = new Map(items.map((item) => [item.name.replace(/^\.\//, ''), item]));
  const read = (name: string): Uint8Array => {
    const data = byName.get(name)?.data;
    if (!data) throw new Error(`the archive has no ${name}`);
    return data;
  };
  const manifest = JSON.parse(new TextDecoder().decode(read('manifest.json'))) as ArchiveManifest[];
  const images = new Map<string, ImageSnapshot>();
  for (const entry of manifest) {
    const config = JSON.parse(new TextDecoder().decode(read(entry.Config))) as Record<string, unknown> & {
      config?: Record<string, unknown>;
      history?: { created_by?: string; empty_layer?: boolean; comment?: string }[];
      rootfs: { diff_ids: string[] };
    };
    const compared: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(config)) {
      if (UNCOMPARED_CONFIG.has(key) || value === null) continue;
      compared[key] = key === 'config' ? withoutNulls(value as Record<string, unknown>) : value;
    }
    const history = (config.history ?? []).map((h) => `${h.empty_layer ? '(empty) ' : ''}${h.created_by ?? ''}${h.comment ? `  [${h.comment}]` : ''}`);
    const layers = [];
    for (const [index, layerPath] of entry.Layers.entries()) {
      let data = read(layerPath);
      if (isGzip(data)) data = await gunzip(data);
      const entries = (await readTar(data, { maxEntries: 1_000_000 })).map(entryLine).sort(byPath);
      layers.push({ diffId: config.rootfs.diff_ids[index], entries });
    }
    images.set(entry.RepoTags?.[0] ?? entry.Config, { config: compared, history, layers });
  }
  return images;
}

/** Orders entry lines by their path (the fourth field), whatever their type. */
function byPath(a: string, b: string): number {
  const path = (line: string) => line.split(' ')[3];
  return path(a) < path(b) ? -1 : path(a) > path(b) ? 1 : 0;
}
