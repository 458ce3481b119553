/**
 * Each container's filesystem in the guest: its image layers and writable layer mounted as an overlay
 * (again after a VM restart, the writable layer restored from its saved tar), and what is read from it.
 */
import type { BlobBackend } from '../store/backend.ts';
import { GUEST_PATHS, type Guest } from '../guest.ts';
import type { GuestLayers } from '../runtime/guest-layers.ts';
import { sha256 } from '../oci/digest.ts';
import { layerTreeFromUpperdir, dockerDiff, type ListEntry, type LayerTree } from '../layers/index.ts';
import type { LayerFiles } from '../build/layer-files.ts';
import type { WritableEntry } from '../api.ts';
import { containerDir, NETWORK_FILES, volumeDir, WRITABLE_LAYER_LIMIT, type ContainerRecord } from './record.ts';
import type { ContainerRecords } from './records.ts';

export class ContainerFilesystems {
  #guest: Guest;
  #backend: BlobBackend;
  #layers: GuestLayers;
  #files: LayerFiles;
  #records: ContainerRecords;
  /** Containers whose overlay is mounted in the guest in this VM session. */
  #mounted = new Set<string>();
  #mounting = new Map<string, Promise<void>>();

  constructor(options: { guest: Guest; backend: BlobBackend; layers: GuestLayers; files: LayerFiles; records: ContainerRecords }) {
    this.#guest = options.guest;
    this.#backend = options.backend;
    this.#layers = options.layers;
    this.#files = options.files;
    this.#records = options.records;
  }

  isMounted(id: string): boolean {
    return this.#mounted.has(id);
  }

  /** Still mounted in a VM restored from a checkpoint. */
  markMounted(id: string): void {
    this.#mounted.add(id);
  }

  /** Unmounts the overlay and deletes the writable layer. */
  async remove(id: string): Promise<void> {
    await this.#layers.remove(id).catch(() => {});
    this.#mounted.delete(id);
  }

  /**
   * Mounts a container's filesystem once. Callers that ask at the same time (the writable-layer feed and
   * a `docker diff` right after a reload) share one mount: two would race over the same transfer file.
   */
  async ensureMounted(record: ContainerRecord, signal?: AbortSignal): Promise<void> {
    if (this.#mounted.has(record.id)) return;
    let pending = this.#mounting.get(record.id);
    if (!pending) {
      pending = this.#mount(record, signal).finally(() => this.#mounting.delete(record.id));
      this.#mounting.set(record.id, pending);
    }
    return pending;
  }

  async #mount(record: ContainerRecord, signal?: AbortSignal): Promise<void> {
    await this.#layers.ensure(record.diffIDs, signal);
    for (const volume of record.volumes) await this.#ensureVolume(volume.name);
    await this.#layers.limitSize(record.id, WRITABLE_LAYER_LIMIT);
    if (record.savedWritable) {
      const tar = await this.#backend.getBlob(record.savedWritable);
      if (tar) {
        const transfer = `xfer-rw-${record.id.slice(0, 12)}.tar`;
        await this.#guest.putFile(transfer, tar);
        await this.#guest.request('unpack', { tar: `${GUEST_PATHS.share}/${transfer}`, dest: `${containerDir(record.id)}/upper` });
        await this.#guest.request('rm', { path: `${GUEST_PATHS.share}/${transfer}` });
      }
    }
    // Docker's init layer: the files the network setup bind-mounts over exist below the writable layer,
    // so they never show in `docker diff` or a commit; so does /.dockerenv, the empty file by which
    // programs tell they run in a Docker container. `docker export` has them all, empty, 0755, as Docker's.
    const init = `${containerDir(record.id)}/init`;
    // Sent together with the mount that uses them: the agent does its requests in order, so the files exist
    // when the overlay is mounted, and the start waits for one round trip, not five.
    const written = Promise.all(
      [...NETWORK_FILES.map((file) => `/etc/${file}`), '/.dockerenv'].map((path) => this.#guest.request('write', { path: `${init}${path}`, data: '', mode: 0o755 })),
    );
    const mounted = this.#layers.mount(record.id, record.diffIDs, signal, init);
    await Promise.all([written, mounted]);
    this.#mounted.add(record.id);
  }

  async #ensureVolume(name: string): Promise<void> {
    await this.#guest.request('write', { path: `${volumeDir(name)}/.layerlab-volume`, data: '' }).catch(() => {});
    await this.#guest.request('rm', { path: `${volumeDir(name)}/.layerlab-volume` }).catch(() => {});
  }

  /** The writable layer as a tar (whiteouts included), as `commit` adds it. */
  packWritable(record: ContainerRecord): Promise<Uint8Array> {
    return this.#layers.pack(`${containerDir(record.id)}/upper`);
  }

  /** The merged filesystem (image layers + writable layer) as one tar, as `docker export` writes it. */
  async packMerged(record: ContainerRecord): Promise<Uint8Array> {
    await this.ensureMounted(record);
    return this.#layers.pack(`${containerDir(record.id)}/rootfs`);
  }

  /** Saves the writable layer as a tar blob, so it survives a VM restart (a page reload). */
  async persistWritable(record: ContainerRecord): Promise<void> {
    const tar = await this.packWritable(record);
    const digest = await sha256(tar);
    if (digest === record.savedWritable) return;
    await this.#backend.putBlob(digest, tar);
    const old = record.savedWritable;
    record.savedWritable = digest;
    await this.#records.save(record);
    if (old) await this.#backend.deleteBlob(old).catch(() => {});
  }

  /** `docker diff`: the writable layer's changes against the image's merged layers. */
  async writableEntries(record: ContainerRecord): Promise<WritableEntry[]> {
    const { entries } = await this.#guest.request('list', { dir: `${containerDir(record.id)}/upper` });
    const upper = layerTreeFromUpperdir(entries);
    const lowers: LayerTree[] = await Promise.all(record.diffIDs.map((d) => this.#files.tree(d)));
    const sizes = new Map(entries.map((e) => [e.path, e]));
    return dockerDiff({ lowers, upper }).map((change) => {
      const entry = sizes.get(change.path);
      return { path: change.path, kind: change.kind, size: entry?.type === 'f' ? entry.size : 0, type: entry ? typeName(entry.type) : 'whiteout' };
    });
  }

  /** SizeRw: the bytes of the files in the writable layer (0 while it is not mounted). */
  async sizeRw(record: ContainerRecord): Promise<number> {
    if (!this.#mounted.has(record.id)) return 0;
    const { entries } = await this.#guest.request('list', { dir: `${containerDir(record.id)}/upper` });
    return entries.reduce((sum, e) => sum + (e.type === 'f' ? e.size : 0), 0);
  }
}

function typeName(type: ListEntry['type']): string {
  return { f: 'file', d: 'dir', l: 'symlink', w: 'whiteout', c: 'char', b: 'block', p: 'fifo', s: 'socket' }[type];
}
