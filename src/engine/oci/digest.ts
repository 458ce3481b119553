/**
 * Content digests as OCI spells them: `sha256:<64 lowercase hex>`. Hashing uses WebCrypto so the same code
 * runs in the browser and in Node.
 */
import { InvalidDigestError } from "./errors.ts";

export type Digest = `sha256:${string}`;

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: unknown): value is Digest {
  return typeof value === "string" && DIGEST_RE.test(value);
}

/** Throws InvalidDigestError unless `value` is a well-formed sha256 digest. */
export function parseDigest(value: string): Digest {
  if (!isDigest(value)) throw new InvalidDigestError(value);
  return value;
}

export async function sha256(data: Uint8Array | string): Promise<Digest> {
  const bytes =
    typeof data === "string" ? new TextEncoder().encode(data) : data;
  const hash = await globalThis.crypto.subtle.digest(
    "SHA-256",
    bytes as Uint8Array<ArrayBuffer>,
  );
  return `sha256:${toHex(new Uint8Array(hash))}`;
}

/** The 64 hex characters of a digest (what file names under blobs/sha256/ use). */
export function digestHex(digest: Digest): string {
  return digest.slice("sha256:".length);
}

/** Docker's short image ID: the first 12 hex characters. */
export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, "").slice(0, 12);
}

function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}
