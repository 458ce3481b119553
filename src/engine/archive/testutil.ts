/** Crafted tar bytes for hostile-input tests (modern-tar refuses to write most of these). */
import { concatBytes } from "../util/bytes.ts";
/** A raw ustar header, for archives modern-tar would refuse to write. */
export function rawHeader(options: {
  name: string;
  size?: number;
  sizeField?: string;
  type?: string;
  linkname?: string;
}): Uint8Array {
  const h = new Uint8Array(512);
  const put = (off: number, s: string) =>
    h.set(new TextEncoder().encode(s), off);
  put(0, options.name.slice(0, 100));
  put(100, "0000644\0");
  put(108, "0000000\0");
  put(116, "0000000\0");
  put(
    124,
    options.sizeField ??
      (options.size ?? 0).toString(8).padStart(11, "0") + "\0",
  );
  put(136, "00000000000\0");
  put(156, options.type ?? "0");
  if (options.linkname) put(157, options.linkname);
  put(257, "ustar\0");
  put(263, "00");
  h.fill(0x20, 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  put(148, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(parts);
}

export function rawTar(
  members: Array<{
    name: string;
    data?: string;
    type?: string;
    linkname?: string;
  }>,
): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const m of members) {
    const data = new TextEncoder().encode(m.data ?? "");
    parts.push(
      rawHeader({
        name: m.name,
        size: data.length,
        type: m.type,
        linkname: m.linkname,
      }),
    );
    const padded = new Uint8Array(Math.ceil(data.length / 512) * 512);
    padded.set(data);
    parts.push(padded);
  }
  parts.push(new Uint8Array(1024));
  return concat(...parts);
}
