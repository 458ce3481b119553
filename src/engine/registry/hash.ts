/**
 * Incremental sha256 for blobs that stream (WebCrypto hashes only whole buffers). The default is hash-wasm
 * (WebAssembly, works in the browser and in Node); a host may inject a faster native one (Node's crypto).
 */
import { createSHA256 } from 'hash-wasm';
import type { Digest } from '../oci/digest.ts';

export interface IncrementalHash {
  update(chunk: Uint8Array): void;
  digest(): Digest;
}

export type HasherFactory = () => Promise<IncrementalHash>;

export const wasmSha256: HasherFactory = async () => {
  const hasher = await createSHA256();
  hasher.init();
  return {
    update: (chunk) => void hasher.update(chunk),
    digest: () => `sha256:${hasher.digest('hex')}` as Digest,
  };
};
