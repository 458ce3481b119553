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
  type MergedTree,
} from '../layers/index.ts';

/**
 * What is inside each layer, by diffID: its file tree (for WORKDIR/COPY destination rules, user lookups,
 * the layer view) and, when needed, file contents. Trees of layers unpacked in the guest come from the
 * agent's `list` of the layer dir (no tar download); others from the layer tar in the store.
 */
export class LayerFiles {
  #trees = new Map<Digest, Promise<LayerTree>>();
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

  /** Remember a tree computed elsewhere (a layer just built from a tar we hold). */
  remember(diffID: Digest, tree: LayerTree): void {
    this.#trees.set(diffID, Promise.resolve(tree));
  }

  async merged(diffIDs: readonly Digest[]): Promise<MergedTree> {
    return mergeLayers(await Promise.all(diffIDs.map((diffID) => this.tree(diffID))));
  }

  async #loadTree(diffID: Digest): Promise<LayerTree> {
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
