/**
 * Inline files in the embed URL: `#files=` + base64url(UTF-8 JSON of a FileMap). base64url needs no
 * escaping in a URL, and the hash is never sent to a server (no logs, no request-size limits).
 * The loader has its own copy of `encodeFiles` (it must not import anything); the embed e2e test
 * round-trips non-ASCII text through both.
 */
import type { FileMap } from './protocol.ts';
import { fromBase64Url, toBase64Url } from '../engine/util/base64.ts';

export function encodeFiles(files: FileMap): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(files)));
}

export class EmbedConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbedConfigError';
  }
}

/** Throws EmbedConfigError when `text` is not base64url JSON of a `{ path: text }` object. */
export function decodeFiles(text: string): FileMap {
  let json: unknown;
  try {
    const bytes = fromBase64Url(text);
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new EmbedConfigError(`The embed's #files= is not base64url JSON (${(e as Error).message}).`);
  }
  return asFileMap(json, '#files=');
}

/** Limits on what a host page can put in a sandbox: the workspace's own (5 MB), and a sane file count. */
export const MAX_FILES = 200;
export const MAX_TOTAL_BYTES = 5 * 1024 * 1024;

/** Checks the shape (an object of strings, within limits) and returns it; paths are checked by the workspace. */
export function asFileMap(value: unknown, where: string): FileMap {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new EmbedConfigError(`${where} must be an object of { "path": "text" }.`);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_FILES) throw new EmbedConfigError(`${where} has ${entries.length} files; the limit is ${MAX_FILES}.`);
  let total = 0;
  const out: FileMap = {};
  for (const [path, content] of entries) {
    if (typeof content !== 'string') throw new EmbedConfigError(`${where}: the content of ${JSON.stringify(path)} must be text.`);
    total += content.length;
    out[path] = content;
  }
  if (total > MAX_TOTAL_BYTES) throw new EmbedConfigError(`${where} holds more than 5 MB.`);
  return out;
}
