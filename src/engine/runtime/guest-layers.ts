import { GUEST_PATHS, isUnknownOp, type Guest } from '../guest';
import { shInGuest } from '../guest-spawn.ts';
import { decompress } from '../util/decompress.ts';
import { readStreamBytes } from '../util/bytes.ts';

/** `sha256:abc…` → `abc…`: layer dirs in the guest are named by the diffID's hex. */
export function digestHex(digest: string): string {
  return digest.startsWith('sha256:') ? digest.slice(7) : digest;
}

export interface MountedRootfs {
  /** Container (or build step) id; names its folder in the guest. */
  id: string;
  /** The folder holding upper/, work/, rootfs/ and config.json. */
  dir: string;
  /** The writable layer: overlayfs upperdir. */
  upper: string;
  /** The merged view the process sees. */
  rootfs: string;
}

/**
 * A layer shipped as a read-only filesystem image (vm/build.sh makes python's): the guest loop-mounts it
 * as the layer's lower dir, which takes a fraction of a second where unpacking its tar takes tens.
 */
export interface LayerImage {
  type: 'squashfs';
  /** The image's bytes (fetched once; later calls may return the same promise). */
  read: () => Promise<Uint8Array>;
}

/**
 * Downloads a layer's filesystem image of `size` bytes. A file that is itself zstd- or gzip-compressed
 * (an image without compression inside) is decompressed on the host; one larger than `size` is refused.
 */
export async function fetchLayerImage(fetchFn: typeof fetch, url: string, size: number): Promise<Uint8Array> {
  const response = await fetchFn(url);
  if (!response.ok || !response.body) throw new Error(`could not download ${url}: HTTP ${response.status}`);
  const plain = decompress(response.body, { maxBytes: size, what: `the layer image ${url}` });
  return readStreamBytes(plain);
}

/**
 * The image layers unpacked in the guest (overlay lower dirs, one per diffID) and the overlay mounts
 * built from them. Layers are unpacked on demand from the store; base layers are already unpacked in
 * the VM snapshot.
 */
export class GuestLayers {
  #present: Set<string> | null = null;
  #guest: Guest;
  #readLayerTar: (diffID: string) => Promise<Uint8Array>;
  #transferCount = 0;
  #images = new Map<string, LayerImage>();
  /** Images already written to the 9p share, by diffID hex (the share lives in the VM state, as the mounts do). */
  #staged = new Map<string, Promise<string>>();
  /** Image mounts started, by diffID hex. */
  #mounting = new Map<string, Promise<void>>();

  constructor(options: { guest: Guest; readLayerTar: (diffID: string) => Promise<Uint8Array> }) {
    this.#guest = options.guest;
    this.#readLayerTar = options.readLayerTar;
  }

  /** Mount `diffID` from this filesystem image instead of unpacking its tar. */
  addImage(diffID: string, image: LayerImage): void {
    this.#images.set(digestHex(diffID), image);
  }

  /** Writes the layer's image into the 9p share (host-side only: no guest work), once. */
  #stage(hex: string, image: LayerImage): Promise<string> {
    let staged = this.#staged.get(hex);
    if (!staged) {
      const file = `layer-${hex}.${image.type}`;
      staged = image.read().then(async (bytes) => {
        await this.#guest.putFile(file, bytes);
        return file;
      });
      staged.catch(() => this.#staged.delete(hex)); // a failed fetch is retried on use
      this.#staged.set(hex, staged);
    }
    return staged;
  }

  /**
   * Fetches the layer images not yet mounted into the share and mounts them ahead of use (while the learner
   * reads), so the first container of such an image pays for neither. A mount costs the guest next to
   * nothing until files are read.
   */
  async prefetchImages(): Promise<void> {
    const present = await this.#presentLayers();
    for (const [hex, image] of this.#images) {
      if (present.has(hex)) continue;
      await this.#mountImage(hex, image)
        .then(() => present.add(hex))
        .catch(() => {}); // retried on first use, which reports the error
    }
  }

  /** Mounts a layer image once, even when a container asks for it while the prefetch is mounting it. */
  #mountImage(hex: string, image: LayerImage): Promise<void> {
    let mounting = this.#mounting.get(hex);
    if (!mounting) {
      mounting = (async () => {
        const file = await this.#stage(hex, image);
        const mount = 'mkdir -p "$2" && mount -t "$3" -o loop,ro "$1" "$2"';
        await shInGuest(this.#guest, `could not mount layer sha256:${hex} in the VM`, mount, `${GUEST_PATHS.share}/${file}`, GuestLayers.layerDir(hex), image.type);
      })();
      mounting.catch(() => this.#mounting.delete(hex));
      this.#mounting.set(hex, mounting);
    }
    return mounting;
  }

  static layerDir(diffID: string): string {
    return `${GUEST_PATHS.layers}/${digestHex(diffID)}`;
  }

  async #presentLayers(): Promise<Set<string>> {
    if (!this.#present) {
      const listing = await this.#guest.request('readdir', { path: GUEST_PATHS.layers });
      this.#present = new Set(listing.names);
    }
    return this.#present;
  }

  /** Whether the layer is unpacked in the guest already. */
  async has(diffID: string): Promise<boolean> {
    return (await this.#presentLayers()).has(digestHex(diffID));
  }

  /** Forget what is unpacked (after the VM was restarted from its snapshot). */
  reset(): void {
    this.#present = null;
    this.#staged.clear(); // a VM restored from its snapshot has an empty share
    this.#mounting.clear();
  }

  /** Makes sure every layer is unpacked in the guest; unpacks the missing ones from the store. */
  async ensure(diffIDs: string[], signal?: AbortSignal): Promise<void> {
    const present = await this.#presentLayers();
    for (const diffID of diffIDs) {
      const hex = digestHex(diffID);
      if (present.has(hex)) continue;
      signal?.throwIfAborted();
      const image = this.#images.get(hex);
      if (image) {
        await this.#mountImage(hex, image);
        present.add(hex);
        continue;
      }
      const transfer = `xfer-${Date.now().toString(36)}-${this.#transferCount++}.tar`;
      await this.#guest.putFile(transfer, await this.#readLayerTar(diffID));
      try {
        await this.#guest.request(
          'unpack',
          { tar: `${GUEST_PATHS.share}/${transfer}`, dest: GuestLayers.layerDir(diffID) },
          { timeoutMs: 300_000, signal },
        );
      } finally {
        await this.#guest.request('rm', { path: `${GUEST_PATHS.share}/${transfer}` }).catch(() => {});
      }
      present.add(hex);
    }
  }

  /**
   * Unpacks a layer tar the host already holds as the lower dir of `diffID` (for a writable layer that
   * lived on its own size-limited tmpfs, which cannot be renamed into the layer store).
   */
  async install(diffID: string, tar: Uint8Array, signal?: AbortSignal): Promise<void> {
    const present = await this.#presentLayers();
    const hex = digestHex(diffID);
    if (present.has(hex)) return;
    const transfer = `xfer-${Date.now().toString(36)}-${this.#transferCount++}.tar`;
    await this.#guest.putFile(transfer, tar);
    try {
      await this.#guest.request('unpack', { tar: `${GUEST_PATHS.share}/${transfer}`, dest: GuestLayers.layerDir(diffID) }, { timeoutMs: 300_000, signal });
    } finally {
      await this.#guest.request('rm', { path: `${GUEST_PATHS.share}/${transfer}` }).catch(() => {});
    }
    present.add(hex);
  }

  /** Turns a finished writable layer (an upperdir) into the lower dir of a new image layer, in place. */
  async adopt(upperDir: string, diffID: string): Promise<void> {
    const present = await this.#presentLayers();
    const hex = digestHex(diffID);
    if (present.has(hex)) return;
    await this.#guest.request('rename', { from: upperDir, to: GuestLayers.layerDir(diffID) });
    present.add(hex);
  }

  /** Mounts `diffIDs` (base first, as in rootfs.diff_ids) plus a fresh writable layer for `id`. */
  /** `init`: a dir mounted over the image's layers and under the writable one (Docker's `<id>-init` layer). */
  async mount(id: string, diffIDs: string[], signal?: AbortSignal, init?: string): Promise<MountedRootfs> {
    await this.ensure(diffIDs, signal);
    const dir = `${GUEST_PATHS.containers}/${id}`;
    const mounted = { id, dir, upper: `${dir}/upper`, rootfs: `${dir}/rootfs` };
    // overlayfs wants the topmost lower dir first, and refuses one named twice (ELOOP), as a layer whose
    // changes repeat an earlier one's (two empty RUN layers) would be: the topmost copy hides all the lower
    // one would show, so only that one is kept.
    const layers = [...new Set([...diffIDs].reverse().map((diffID) => GuestLayers.layerDir(diffID)))];
    await this.#guest.request('mount', {
      lowers: [...(init ? [init] : []), ...layers],
      upper: mounted.upper,
      work: `${dir}/work`,
      target: mounted.rootfs,
    });
    return mounted;
  }

  /** Unmounts and deletes the container's folder, writable layer included. */
  async remove(id: string): Promise<void> {
    const dir = `${GUEST_PATHS.containers}/${id}`;
    // Sent together: the agent does them in order (rm after both unmounts), in one round trip instead of three.
    const unmounted = [
      this.#guest.request('umount', { target: `${dir}/rootfs` }).catch(() => {}),
      this.#guest.request('umount', { target: dir }).catch(() => {}), // its size-limited tmpfs, if any
    ];
    const removed = this.#guest.request('rm', { path: dir });
    await Promise.all([...unmounted, removed]);
  }

  /**
   * Gives a container's folder (writable layer included) its own tmpfs of `bytes`, so a process filling
   * the disk fills only that, not the VM's memory-backed root where every layer lives.
   */
  async limitSize(id: string, bytes: number): Promise<void> {
    const dir = `${GUEST_PATHS.containers}/${id}`;
    try {
      await this.#guest.request('tmpfs', { target: dir, bytes });
    } catch (error) {
      // An agent older than the op (a saved state from an earlier build): the same with three programs.
      if (!isUnknownOp(error as Error)) throw error;
      const script = 'mkdir -p "$1" && mountpoint -q "$1" || mount -t tmpfs -o "size=$2,mode=0755" tmpfs "$1"';
      await shInGuest(this.#guest, `could not limit the size of container ${id}'s writable layer`, script, dir, String(bytes));
    }
  }

  /** Packs a writable layer into an OCI layer tar and reads it back to the host. */
  async pack(upperDir: string): Promise<Uint8Array> {
    const transfer = `xfer-${Date.now().toString(36)}-${this.#transferCount++}.tar`;
    await this.#guest.request('pack', { dir: upperDir, tar: `${GUEST_PATHS.share}/${transfer}` }, { timeoutMs: 300_000 });
    try {
      return await this.#guest.getFile(transfer);
    } finally {
      await this.#guest.request('rm', { path: `${GUEST_PATHS.share}/${transfer}` }).catch(() => {});
    }
  }
}
