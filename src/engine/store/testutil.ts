/** Helpers for tests: small layers and images built through the real code paths. */
import { writeTar, type TarWriteEntry } from "../archive/tar.ts";
import { buildImage } from "../oci/image.ts";
import type { ImageStore, ImageRecord } from "./image-store.ts";

export async function layerTar(
  files: Record<string, string | null>,
): Promise<Uint8Array> {
  const entries: TarWriteEntry[] = Object.entries(files).map(([name, data]) =>
    data === null ? { name, type: "directory" } : { name, data },
  );
  return writeTar(entries);
}

/** Store an image whose layers contain `layers[i]` files; tags as given. */
export async function makeImage(
  store: ImageStore,
  options: {
    layers: Array<Record<string, string | null>>;
    tags?: string[];
    parent?: ImageRecord["id"];
    created?: string;
    cmd?: string[];
  },
): Promise<ImageRecord> {
  const records = [];
  for (const files of options.layers)
    records.push(await store.addLayer({ tar: await layerTar(files) }));
  const image = await buildImage({
    layers: records,
    created: options.created ?? "2024-01-01T00:00:00Z",
    config: { Cmd: options.cmd ?? ["sh"] },
    history: records.map((_, i) => ({
      created_by: `step ${i}`,
      created: options.created ?? "2024-01-01T00:00:00Z",
    })),
  });
  return store.putImage({ image, tags: options.tags, parent: options.parent });
}
