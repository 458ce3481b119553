/**
 * Incremental sha256 for blobs that stream (WebCrypto hashes only whole buffers). The default is
 * @noble/hashes (plain JavaScript: the browser and Node alike); a host may inject a faster native one
 * (Node's crypto, see src/host/node.ts).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Digest } from '../oci/digest.ts';

export interface IncrementalHash {
  update(chunk: Uint8Array): void;
  digest(): Digest;
}

export type HasherFactory = () => Promise<IncrementalHash>;

export const jsSha256: HasherFactory = async () => {
  const hasher = sha256.create();
  return {
    update: (chunk) => void hasher.update(chunk),
    digest: () => `sha256:${bytesToHex(hasher.digest())}` as Digest,
  };
};
