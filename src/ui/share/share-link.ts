/**
 * Share links: a workspace's text files in the URL hash, `#share=` + base64url(deflate-raw(JSON)).
 * Pure (no DOM): `CompressionStream`, `TextEncoder` and `crypto.subtle` exist in browsers and Node.
 *
 * A link is untrusted input. `decodeShareLink` reads at most MAX_SHARE_BYTES of decompressed data (a
 * small link can inflate to gigabytes), checks every path like a typed one, and only ever rejects
 * with a `ShareLinkError`. The files it returns are plain strings, shown as text or in Monaco only.
 */
import { checkPath, WorkspaceError, type WorkspaceFile } from '../workspace/files.ts';
import { readStreamBytes } from '../../engine/util/bytes.ts';
import { fromBase64Url, toBase64Url } from '../../engine/util/base64.ts';

export const SHARE_PREFIX = '#share=';
/** Largest decoded payload (the JSON) a link may carry. */
export const MAX_SHARE_BYTES = 200 * 1024;
/** Most files a link may carry. */
export const MAX_SHARE_FILES = 200;
/** Format version written into every link; decode refuses others with a clear message. */
const VERSION = 1;

export type ShareLinkErrorKind = 'malformed' | 'too-large' | 'unsupported' | 'bad-path' | 'empty';

export class ShareLinkError extends Error {
  constructor(
    readonly kind: ShareLinkErrorKind,
    message: string,
    /** The offending file path, for `bad-path`. */
    readonly path?: string,
  ) {
    super(message);
    this.name = 'ShareLinkError';
  }
}

export interface SharedWorkspace {
  files: { path: string; content: string }[];
  /** Image tag in the top bar. */
  tag?: string;
  /** File open in the editor. */
  active?: string;
}

export interface EncodedShare {
  /** `#share=…`, to append to the page URL. */
  hash: string;
  /** Binary files left out (a link carries text only). */
  skipped: string[];
  /** Size of the JSON before compression. */
  bytes: number;
}

/** Encodes the text files of a workspace. Throws ShareLinkError('too-large' | 'empty'). */
export async function encodeShareLink(workspace: { files: WorkspaceFile[]; tag?: string; active?: string }): Promise<EncodedShare> {
  const files = workspace.files.filter((f): f is { path: string; content: string } => typeof f.content === 'string');
  const skipped = workspace.files.filter((f) => typeof f.content !== 'string').map((f) => f.path);
  if (files.length === 0) throw new ShareLinkError('empty', 'There are no text files to share.');
  const payload: { v: number; files: [string, string][]; tag?: string; active?: string } = { v: VERSION, files: files.map((f) => [f.path, f.content]) };
  if (workspace.tag) payload.tag = workspace.tag;
  if (workspace.active && files.some((f) => f.path === workspace.active)) payload.active = workspace.active;
  const json = new TextEncoder().encode(JSON.stringify(payload));
  if (json.length > MAX_SHARE_BYTES) {
    throw new ShareLinkError('too-large', `The workspace is ${kb(json.length)} of text; a share link holds up to ${kb(MAX_SHARE_BYTES)}. Remove large files and try again.`);
  }
  const compressed = await pipe(json, new CompressionStream('deflate-raw'), Infinity);
  return { hash: SHARE_PREFIX + toBase64Url(compressed), skipped, bytes: json.length };
}

/** True when a location hash looks like a share link (whether or not it is a valid one). */
export function isShareHash(hash: string): boolean {
  return hash.startsWith(SHARE_PREFIX);
}

/** Decodes `#share=…` (or the part after it). Rejects only with ShareLinkError. */
export async function decodeShareLink(hash: string): Promise<SharedWorkspace> {
  try {
    return await decode(hash);
  } catch (error) {
    if (error instanceof ShareLinkError) throw error;
    throw new ShareLinkError('malformed', 'This share link is damaged (perhaps cut off when it was copied), so nothing was loaded.');
  }
}

async function decode(hash: string): Promise<SharedWorkspace> {
  const data = hash.startsWith(SHARE_PREFIX) ? hash.slice(SHARE_PREFIX.length) : hash;
  if (!/^[A-Za-z0-9_-]+$/.test(data) || data.length % 4 === 1) throw malformed();
  // Deflate never shrinks text below ~1/1000; refusing huge input early saves decoding it.
  if (data.length > MAX_SHARE_BYTES * 2) throw tooLarge();
  const json = await pipe(fromBase64Url(data), new DecompressionStream('deflate-raw'), MAX_SHARE_BYTES);
  const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  return validate(value);
}

function validate(value: unknown): SharedWorkspace {
  if (!isRecord(value)) throw malformed();
  if (value.v !== VERSION) throw new ShareLinkError('unsupported', 'This share link was made by a newer version of Layerlab; reload the page to update, then open the link again.');
  if (!Array.isArray(value.files)) throw malformed();
  if (value.files.length === 0) throw new ShareLinkError('empty', 'This share link holds no files.');
  if (value.files.length > MAX_SHARE_FILES) throw tooLarge();
  const files: { path: string; content: string }[] = [];
  const seen: string[] = [];
  for (const entry of value.files) {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') throw malformed();
    let path: string;
    try {
      // The same rules as a name typed in the file tree: relative, no `..`, no duplicates or file/folder clashes.
      path = checkPath(entry[0], seen);
    } catch (error) {
      const reason = error instanceof WorkspaceError ? error.message : 'invalid path';
      throw new ShareLinkError('bad-path', `This share link has a file path Layerlab will not use ("${printable(entry[0])}": ${reason}), so nothing was loaded.`, entry[0]);
    }
    if (path !== entry[0]) throw new ShareLinkError('bad-path', `This share link has a file path that is not in normal form ("${printable(entry[0])}"), so nothing was loaded.`, entry[0]);
    seen.push(path);
    files.push({ path, content: entry[1] });
  }
  const out: SharedWorkspace = { files };
  if (value.tag !== undefined) {
    if (typeof value.tag !== 'string' || !/^[a-z0-9][a-z0-9._/-]{0,127}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/.test(value.tag)) throw malformed();
    out.tag = value.tag;
  }
  if (value.active !== undefined) {
    if (typeof value.active !== 'string') throw malformed();
    if (seen.includes(value.active)) out.active = value.active;
  }
  return out;
}

/** A short, stable id for a shared workspace: the same link opens the same saved copy. */
export async function shareId(shared: SharedWorkspace): Promise<string> {
  const canonical = JSON.stringify(shared.files.map((f) => [f.path, f.content]));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical)));
  return `shared:${[...digest.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** Runs bytes through a (de)compression stream, giving up past `limit` output bytes. */
async function pipe(input: Uint8Array, transform: CompressionStream | DecompressionStream, limit: number): Promise<Uint8Array> {
  const writer = transform.writable.getWriter();
  // Errors surface on the reader; these promises must not reject unobserved.
  writer.write(input as Uint8Array<ArrayBuffer>).catch(() => {});
  writer.close().catch(() => {});
  return readStreamBytes(transform.readable, { maxBytes: limit, tooLarge });
}

export { toBase64Url, fromBase64Url };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const kb = (n: number) => `${Math.ceil(n / 1024)} KB`;
const printable = (s: string) => (s.length > 60 ? s.slice(0, 60) + '…' : s).replace(/[\u0000-\u001f\u007f]/g, '?');
const malformed = () => new ShareLinkError('malformed', 'This share link is damaged (perhaps cut off when it was copied), so nothing was loaded.');
const tooLarge = () => new ShareLinkError('too-large', `This share link holds more than ${kb(MAX_SHARE_BYTES)} of files, more than Layerlab opens, so nothing was loaded.`);
