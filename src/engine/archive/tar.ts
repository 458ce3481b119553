/**
 * The one place tar bytes are read and written (a thin layer over modern-tar). Reading validates the header
 * chain first, because modern-tar silently stops at a truncated archive and we must not mistake half a
 * layer for a whole one. Writing is deterministic: same entries, same bytes, same digest.
 */
import { packTar, unpackTar, type TarEntry, type TarHeader } from "modern-tar";
import { ArchiveError } from "./errors.ts";
import { readStreamBytes } from "../util/bytes.ts";

export type TarEntryType =
  | "file"
  | "directory"
  | "symlink"
  | "link"
  | "character-device"
  | "block-device"
  | "fifo";

export interface TarItem {
  /** The member name exactly as stored (pax/GNU long names applied); dirs may end with `/`. */
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Symlink or hardlink target. */
  linkname?: string;
  /** File contents (regular files only). */
  data?: Uint8Array;
}

export interface TarWriteEntry {
  name: string;
  type?: TarEntryType;
  /** Default 0o644 for files, 0o755 for directories, 0o777 for symlinks. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch; default 0 so output is reproducible. */
  mtime?: number;
  linkname?: string;
  data?: Uint8Array | string;
}

export interface ReadTarOptions {
  /** Refuse archives with more members than this. Default 100 000. */
  maxEntries?: number;
}

const BLOCK = 512;

export async function readTar(
  data: Uint8Array,
  options: ReadTarOptions = {},
): Promise<TarItem[]> {
  scanHeaders(data, options.maxEntries ?? 100_000);
  let parsed;
  try {
    parsed = await unpackTar(data, { strict: true });
  } catch (err) {
    throw new ArchiveError(
      `not a valid tar archive: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const items: TarItem[] = [];
  for (const { header, data: body } of parsed) {
    const type = (header.type ?? "file") as
      TarEntryType | "pax-header" | "pax-global-header";
    if (type === "pax-header" || type === "pax-global-header") continue;
    if (type !== "file" && header.size > 0) {
      // A pax "size" record on a bodyless entry: the same disagreement the header scan refuses.
      throw new ArchiveError(`entry "${header.name}" (${type}) has no body but a size of ${header.size} bytes; refusing the archive`, {
        entry: header.name,
      });
    }
    const item: TarItem = {
      name: header.name,
      type: type as TarEntryType,
      mode: header.mode ?? 0,
      uid: header.uid ?? 0,
      gid: header.gid ?? 0,
      size: header.size,
      mtime: header.mtime ? Math.floor(header.mtime.getTime() / 1000) : 0,
    };
    if (header.linkname) item.linkname = header.linkname;
    if (item.type === "file") item.data = body ?? new Uint8Array(0);
    items.push(item);
  }
  return items;
}

export async function writeTar(
  entries: readonly TarWriteEntry[],
): Promise<Uint8Array> {
  const packed: TarEntry[] = entries.map((e) => {
    const type = e.type ?? "file";
    const body =
      typeof e.data === "string" ? new TextEncoder().encode(e.data) : e.data;
    const header: TarHeader = {
      name:
        type === "directory" && !e.name.endsWith("/") ? `${e.name}/` : e.name,
      type,
      size: type === "file" ? (body?.length ?? 0) : 0,
      mode:
        e.mode ??
        (type === "directory" ? 0o755 : type === "symlink" ? 0o777 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      uname: "",
      gname: "",
      mtime: new Date((e.mtime ?? 0) * 1000),
      ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
    };
    return type === "file"
      ? { header, body: body ?? new Uint8Array(0) }
      : { header };
  });
  return packTar(packed);
}

/**
 * Walk the header chain: checksums, numeric fields, and that every member's claimed size fits in the bytes
 * we have. Catches truncation, garbage and absurd sizes with a message naming the entry.
 */
function scanHeaders(data: Uint8Array, maxEntries: number): void {
  if (data.length === 0)
    throw new ArchiveError("not a tar archive: it is empty");
  if (data.length < BLOCK)
    throw new ArchiveError(`not a tar archive: only ${data.length} bytes`);
  let offset = 0;
  let count = 0;
  let paxSize: number | undefined;
  while (offset + BLOCK <= data.length) {
    const header = data.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) return; // end-of-archive marker
    const name = cString(header, 0, 100);
    const stored = parseNumber(header, 148, 8);
    if (stored === undefined || stored !== checksum(header)) {
      throw new ArchiveError(
        `bad tar header checksum at offset ${offset}`,
        name ? { entry: name } : {},
      );
    }
    const headerSize = parseNumber(header, 124, 12);
    // A preceding pax header's "size" record replaces the header's (it is how sizes over 8 GiB are stored).
    const size = paxSize ?? headerSize;
    paxSize = undefined;
    if (size === undefined || size < 0 || !Number.isSafeInteger(size)) {
      throw new ArchiveError(`invalid size field at offset ${offset}`, {
        entry: name,
      });
    }
    const typeflag = String.fromCharCode(header[156] || 0x30);
    // Links, devices, directories and fifos have no body. Readers disagree on whether a size there means
    // bytes to skip (the guest agent refuses it too), so refuse rather than read the tar differently.
    const hasBody = !BODYLESS_TYPES.includes(typeflag);
    if (!hasBody && size !== 0) {
      throw new ArchiveError(
        `entry "${name}" (type '${typeflag}') has no body but a size of ${size} bytes; refusing the archive`,
        { entry: name },
      );
    }
    const bodyBlocks = hasBody ? Math.ceil(size / BLOCK) * BLOCK : 0;
    const remaining = data.length - offset - BLOCK;
    if (hasBody && size > remaining) {
      throw new ArchiveError(
        `truncated tar: entry claims ${size} bytes but only ${Math.max(remaining, 0)} remain`,
        { entry: name },
      );
    }
    if (++count > maxEntries)
      throw new ArchiveError(`tar has more than ${maxEntries} entries`);
    if (typeflag === "g" || typeflag === "x") {
      const records = paxRecords(data.subarray(offset + BLOCK, offset + BLOCK + size));
      if (typeflag === "g") refuseGlobalPaxOverrides(records, name, offset);
      else if (records.has("size")) paxSize = /^\d+$/.test(records.get("size")!) ? Number(records.get("size")) : -1;
    }
    offset += BLOCK + Math.min(bodyBlocks, remaining);
  }
  // Archives that end right after a member without the zero blocks are accepted (many writers do this);
  // a partial trailing block is not.
  if (offset !== data.length)
    throw new ArchiveError(
      `truncated tar: ${data.length - offset} stray bytes at end`,
    );
}

/** Global pax keys that would rename, retarget or resize every later entry. */
const REFUSED_GLOBAL_PAX_KEYS = ["path", "linkpath", "size"];
/** Types whose header is all there is: hardlink, symlink, char/block device, directory, fifo. */
const BODYLESS_TYPES = "123456";

/**
 * A global pax header (`g`) applies to all later entries. Tar readers disagree on whether path, linkpath
 * and size count there (the guest agent ignores them), so an archive that sets them is refused.
 */
function refuseGlobalPaxOverrides(records: Map<string, string>, name: string, offset: number): void {
  for (const key of REFUSED_GLOBAL_PAX_KEYS) {
    if (records.has(key)) {
      throw new ArchiveError(
        `global pax header "${name}" at offset ${offset} sets "${key}" for all later entries; refusing (tar readers disagree on it)`,
        { entry: name },
      );
    }
  }
}

/** The key=value records of a pax header body ("<length> <key>=<value>\n" each); malformed ones end the list. */
function paxRecords(body: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    if (space < 0) break;
    const length = Number(new TextDecoder().decode(body.subarray(at, space)));
    if (!Number.isSafeInteger(length) || length <= space - at || length > body.length - at) break;
    const record = new TextDecoder().decode(body.subarray(space + 1, at + length - 1));
    const equals = record.indexOf("=");
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    at += length;
  }
  return records;
}

function cString(bytes: Uint8Array, start: number, length: number): string {
  const field = bytes.subarray(start, start + length);
  const end = field.indexOf(0);
  return new TextDecoder().decode(end >= 0 ? field.subarray(0, end) : field);
}

/** Octal (NUL/space padded) or GNU base-256 numeric field; undefined when neither. */
function parseNumber(
  bytes: Uint8Array,
  start: number,
  length: number,
): number | undefined {
  const field = bytes.subarray(start, start + length);
  if (field[0] & 0x80) {
    if (field[0] === 0xff) return undefined; // negative base-256: never valid for size/checksum
    let n = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i];
    return n;
  }
  const text = new TextDecoder()
    .decode(field)
    .replace(/[\0 ]+$/, "")
    .replace(/^[ ]+/, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  return parseInt(text, 8);
}

function checksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return sum;
}

/**
 * Member names as relative paths: `./a/b/` → `a/b`. Returns undefined for names that must never be
 * followed (absolute, `..` components, NUL): the caller refuses or drops them.
 */
export function safeArchivePath(name: string): string | undefined {
  if (name.includes("\0") || name.startsWith("/")) return undefined;
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.some((p) => p === "..")) return undefined;
  return parts.join("/");
}

export function isGzip(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
}

export async function gzip(data: Uint8Array): Promise<Uint8Array> {
  return collect(
    new Blob([data as Uint8Array<ArrayBuffer>])
      .stream()
      .pipeThrough(new CompressionStream("gzip")),
  );
}

export interface GunzipOptions {
  /** Stop and throw when the output would exceed this many bytes (zip bombs). Default 1 GiB. */
  maxBytes?: number;
  /** Named in error messages. */
  what?: string;
}

export async function gunzip(
  data: Uint8Array,
  options: GunzipOptions = {},
): Promise<Uint8Array> {
  const max = options.maxBytes ?? 1 << 30;
  const stream = new Blob([data as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new DecompressionStream("gzip"));
  try {
    return await collect(stream, max);
  } catch (err) {
    if (err instanceof ArchiveError) throw err;
    throw new ArchiveError(
      `bad gzip data${options.what ? ` in ${options.what}` : ""}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  maxBytes = Infinity,
): Promise<Uint8Array> {
  return readStreamBytes(stream, { maxBytes, tooLarge: () => new ArchiveError(`decompressed data exceeds ${maxBytes} bytes`) });
}

/**
 * Resolve a relative path that may contain `..` (a symlink target joined to its directory) inside the
 * archive root; undefined when it climbs out of the root.
 */
export function resolveArchivePath(path: string): string | undefined {
  if (path.includes("\0") || path.startsWith("/")) return undefined;
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(part);
  }
  return out.join("/");
}
