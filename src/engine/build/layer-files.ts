import { readTar, type TarItem } from '../archive/tar.ts';
import type { Digest } from '../oci/digest.ts';
import type { ImageStore } from '../store/image-store.ts';
import { GuestLayers } from '../runtime/guest-layers.ts';
import type { Guest } from '../guest.ts';
import {
  layerTreeFromTar,
  layerTreeFromUpperdir,
  mergeLayers,
  type LayerTree,
  type ListEntry,
  type MergedTree,
} from '../layers/index.ts';

/** Downloads a layer's shipped file list (JSON, the agent's `list` entries); anything else is refused. */
export async function fetchListing(fetchFn: typeof fetch, url: string): Promise<ListEntry[]> {
  const response = await fetchFn(url);
  if (!response.ok) throw new Error(`could not download ${url}: HTTP ${response.status}`);
  const entries: unknown = await response.json();
  const valid = (e: unknown) =>
    !!e && typeof e === 'object' && typeof (e as ListEntry).path === 'string' && typeof (e as ListEntry).type === 'string' &&
    ['mode', 'size', 'uid', 'gid', 'mtime'].every((key) => typeof (e as Record<string, unknown>)[key] === 'number');
  if (!Array.isArray(entries) || !entries.every(valid)) throw new Error(`${url} is not a layer file list`);
  return entries as ListEntry[];
}

/**
 * What is inside each layer, by diffID: its file tree (for WORKDIR/COPY destination rules, user lookups,
 * the layer view) and, when needed, file contents. A base layer's tree comes from the listing the VM build
 * ships with it; trees of other layers unpacked in the guest from the agent's `list` of the layer dir (no tar
 * download; python's layer took ~85 million guest instructions, seconds); others from the layer tar in the store.
 */
export class LayerFiles {
  #trees = new Map<Digest, Promise<LayerTree>>();
  #listings = new Map<Digest, () => Promise<ListEntry[]>>();
  #store: ImageStore;
  #guest: Guest;
  #guestLayers: GuestLayers;

  constructor(options: { store: ImageStore; guest: Guest; guestLayers: GuestLayers }) {
    this.#store = options.store;
    this.#guest = options.guest;
    this.#guestLayers = options.guestLayers;
  }

  tree(diffID: Digest): Promise<LayerTree> {
    let tree = this.#trees.get(diffID);
    if (!tree) {
      tree = this.#loadTree(diffID);
      tree.catch(() => this.#trees.delete(diffID));
      this.#trees.set(diffID, tree);
    }
    return tree;
  }

  /** The layer's file list in the agent's `list` form, read (once) instead of listing the layer in the guest. */
  addListing(diffID: Digest, read: () => Promise<ListEntry[]>): void {
    this.#listings.set(diffID, read);
  }

  /** Remember a tree computed elsewhere (a layer just built from a tar we hold). */
  remember(diffID: Digest, tree: LayerTree): void {
    this.#trees.set(diffID, Promise.resolve(tree));
  }

  async merged(diffIDs: readonly Digest[]): Promise<MergedTree> {
    return mergeLayers(await Promise.all(diffIDs.map((diffID) => this.tree(diffID))));
  }

  async #loadTree(diffID: Digest): Promise<LayerTree> {
    const listing = this.#listings.get(diffID);
    if (listing) {
      try {
        return layerTreeFromUpperdir(await listing());
      } catch (error) {
        console.warn(`layerlab: the file list of layer ${diffID} could not be read (${(error as Error).message}); listing it in the VM`);
      }
    }
    if (await this.#guestLayers.has(diffID)) {
      const { entries } = await this.#guest.request('list', {
        dir: GuestLayers.layerDir(diffID),
      });
      return layerTreeFromUpperdir(entries);
    }
    return layerTreeFromTar(await this.tarItems(diffID));
  }

  async tarItems(diffID: Digest): Promise<TarItem[]> {
    const layer = await this.#store.getLayer({ diffID });
    return readTar(await this.#store.layerTar({ digest: layer.digest }));
  }

  /** The merged filesystem of a stack with file contents: what `COPY --from` reads. */
  async mergedContents(diffIDs: readonly Digest[]): Promise<Map<string, TarItem>> {
    const files = new Map<string, TarItem>();
    for (const diffID of diffIDs) {
      for (const item of await this.tarItems(diffID)) {
        const path = '/' + item.name.replace(/^\.?\/+/, '').replace(/\/+$/, '');
        const slash = path.lastIndexOf('/');
        const base = path.slice(slash + 1);
        const dir = path.slice(0, slash) || '/';
        if (base === '.wh..wh..opq') {
          for (const key of [...files.keys()]) if (key.startsWith(dir === '/' ? '/' : dir + '/')) files.delete(key);
        } else if (base.startsWith('.wh.')) {
          const gone = (dir === '/' ? '' : dir) + '/' + base.slice(4);
          for (const key of [...files.keys()]) if (key === gone || key.startsWith(gone + '/')) files.delete(key);
        } else {
          files.set(path, item);
        }
      }
    }
    return files;
  }
}
