/**
 * The sandbox's own registry, `registry.lab`: the OCI distribution API (the subset `docker push` and
 * `docker pull` use, plus tags/list and the catalog) answered in process, over the engine's store, so
 * images can travel in a sandbox with no network: push, remove, pull back, pin by digest.
 *
 * It is a separate registry, not the image store under another name: it keeps its own manifests, tags and
 * per-repository blob links. Blob bytes share the store's content-addressed blobs (a layer pushed from the
 * store costs nothing twice); the store keeps any blob the registry holds when it collects garbage, while
 * its own layer records go as usual, so a pull after `docker rmi` downloads again, as from a real registry.
 */
import { isDigest, sha256, type Digest } from '../oci/digest.ts';
import { MediaType } from '../oci/types.ts';
import type { BlobBackend } from '../store/backend.ts';
import { MAX_MANIFEST_BYTES, type RegistryFetch } from './client.ts';
import { RegistryUnavailableError } from './errors.ts';
import { jsSha256, type HasherFactory } from './hash.ts';

/** The sandbox registry's name, as in `docker push registry.lab/me/app:1`. */
export const SANDBOX_REGISTRY = 'registry.lab';

/** Upload sessions kept open at once (each is only a name until its PUT). */
const MAX_UPLOADS = 64;

const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

const key = {
  tag: (repo: string, tag: string) => `registry/tag/${repo}:${tag}`,
  manifest: (repo: string, digest: Digest) => `registry/manifest/${repo}@${digest}`,
  blob: (repo: string, digest: Digest) => `registry/blob/${repo}@${digest}`,
};

interface ManifestRecord {
  mediaType: string;
  size: number;
}

type ErrorCode = 'BLOB_UNKNOWN' | 'BLOB_UPLOAD_UNKNOWN' | 'DIGEST_INVALID' | 'MANIFEST_BLOB_UNKNOWN' | 'MANIFEST_INVALID' | 'MANIFEST_UNKNOWN' | 'NAME_INVALID' | 'NAME_UNKNOWN' | 'TAG_INVALID' | 'UNSUPPORTED';

function errorResponse(status: number, code: ErrorCode, message: string): Response {
  return new Response(JSON.stringify({ errors: [{ code, message }] }), { status, headers: { 'content-type': 'application/json' } });
}

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });
}

function bodyBytes(body: RequestInit['body']): Uint8Array {
  if (body == null) return new Uint8Array();
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (typeof body === 'string') return new TextEncoder().encode(body);
  throw new TypeError('the sandbox registry takes request bodies as bytes');
}

export class SandboxRegistry {
  readonly #backend: BlobBackend;
  readonly #hasher: HasherFactory;
  /** Open upload sessions: id → repository. */
  readonly #uploads = new Map<string, string>();
  #nextUpload = 1;

  constructor(options: { backend: BlobBackend; createHasher?: HasherFactory }) {
    this.#backend = options.backend;
    this.#hasher = options.createHasher ?? jsSha256;
  }

  /** True for URLs of this registry (`https://registry.lab/v2/…`). */
  static handles(url: string): boolean {
    return new URL(url).host === SANDBOX_REGISTRY;
  }

  /**
   * A fetch for the registry client: this registry's URLs are answered here, others go to `outer`; with no
   * `outer`, they fail with `unavailable` (the reason registries cannot be reached from this host).
   */
  route(outer: RegistryFetch | undefined, unavailable: string): RegistryFetch {
    return (url, init) => {
      if (SandboxRegistry.handles(url)) return this.fetch(url, init);
      if (!outer) return Promise.reject(new RegistryUnavailableError(`${unavailable} (the sandbox's own registry, ${SANDBOX_REGISTRY}, works offline)`));
      return outer(url, init);
    };
  }

  /** Every blob some repository links or some manifest is: the store must not collect these. */
  async heldBlobs(): Promise<Set<Digest>> {
    const held = new Set<Digest>();
    for (const prefix of ['registry/blob/', 'registry/manifest/']) {
      for (const [k] of await this.#backend.listMeta(prefix)) held.add(k.slice(k.lastIndexOf('@') + 1) as Digest);
    }
    return held;
  }

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const { pathname, searchParams } = new URL(url);
    const method = (init.method ?? 'GET').toUpperCase();
    const path = decodeURIComponent(pathname);
    if (path === '/v2/' || path === '/v2') return json({});
    if (path === '/v2/_catalog' && method === 'GET') return json({ repositories: await this.#repositories() });
    let m: RegExpExecArray | null;
    if ((m = /^\/v2\/(.+)\/tags\/list$/.exec(path)) && method === 'GET') return this.#tagList(m[1]);
    if ((m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path))) return this.#manifest(method, m[1], m[2], init);
    if ((m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(path))) return this.#upload(method, m[1], m[2], searchParams, init);
    if ((m = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(path)) && (method === 'GET' || method === 'HEAD')) return this.#blob(method, m[1], m[2]);
    return errorResponse(405, 'UNSUPPORTED', `${method} ${path} is not supported by the sandbox registry`);
  }

  async #repositories(): Promise<string[]> {
    const repos = new Set<string>();
    for (const [k] of await this.#backend.listMeta('registry/manifest/')) repos.add(k.slice('registry/manifest/'.length, k.lastIndexOf('@')));
    return [...repos].sort();
  }

  async #tagList(repo: string): Promise<Response> {
    const tags = (await this.#backend.listMeta(`registry/tag/${repo}:`)).map(([k]) => k.slice(`registry/tag/${repo}:`.length));
    if (tags.length === 0 && !(await this.#repositories()).includes(repo)) return errorResponse(404, 'NAME_UNKNOWN', `repository name not known to registry: ${repo}`);
    return json({ name: repo, tags });
  }

  async #resolve(repo: string, reference: string): Promise<Digest | undefined> {
    if (isDigest(reference)) return (await this.#backend.getMeta(key.manifest(repo, reference))) ? reference : undefined;
    return this.#backend.getMeta<Digest>(key.tag(repo, reference));
  }

  async #manifest(method: string, repo: string, reference: string, init: RequestInit): Promise<Response> {
    if (!REPOSITORY.test(repo)) return errorResponse(400, 'NAME_INVALID', `invalid repository name: ${repo}`);
    if (method === 'PUT') return this.#putManifest(repo, reference, init);
    if (method === 'DELETE') {
      // As the distribution registry: by digest only (a tag is deleted with the manifest it names).
      if (!isDigest(reference)) return errorResponse(400, 'UNSUPPORTED', 'a manifest is deleted by digest, not by tag');
      if (!(await this.#backend.getMeta(key.manifest(repo, reference)))) return errorResponse(404, 'MANIFEST_UNKNOWN', 'manifest unknown');
      const tags = (await this.#backend.listMeta<Digest>(`registry/tag/${repo}:`)).filter(([, d]) => d === reference).map(([k]) => k);
      await this.#backend.commit({ delete: [key.manifest(repo, reference), ...tags] });
      return new Response(null, { status: 202 });
    }
    if (method !== 'GET' && method !== 'HEAD') return errorResponse(405, 'UNSUPPORTED', `${method} on a manifest is not supported`);
    const digest = await this.#resolve(repo, reference);
    const record = digest && (await this.#backend.getMeta<ManifestRecord>(key.manifest(repo, digest)));
    const bytes = record && (await this.#backend.getBlob(digest));
    if (!digest || !record || !bytes) return errorResponse(404, 'MANIFEST_UNKNOWN', 'manifest unknown');
    const headers = { 'content-type': record.mediaType, 'content-length': String(bytes.length), 'docker-content-digest': digest };
    return new Response(method === 'HEAD' ? null : (bytes as Uint8Array<ArrayBuffer>), { status: 200, headers });
  }

  async #putManifest(repo: string, reference: string, init: RequestInit): Promise<Response> {
    if (!isDigest(reference) && !TAG.test(reference)) return errorResponse(400, 'TAG_INVALID', `invalid tag: ${reference}`);
    const bytes = bodyBytes(init.body);
    if (bytes.length > MAX_MANIFEST_BYTES) return errorResponse(400, 'MANIFEST_INVALID', `manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
    const digest = await sha256(bytes);
    if (isDigest(reference) && reference !== digest) return errorResponse(400, 'DIGEST_INVALID', `the manifest's digest is ${digest}, not ${reference}`);
    let parsed: { schemaVersion?: number; mediaType?: string; config?: { digest?: string }; layers?: Array<{ digest?: string }>; manifests?: Array<{ digest?: string }> };
    try {
      parsed = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return errorResponse(400, 'MANIFEST_INVALID', 'manifest is not JSON');
    }
    if (parsed.schemaVersion !== 2) return errorResponse(400, 'MANIFEST_INVALID', 'only schema 2 manifests are accepted');
    const headerType = new Headers(init.headers).get('content-type')?.split(';')[0].trim();
    const mediaType = parsed.mediaType ?? headerType ?? (parsed.manifests ? MediaType.index : MediaType.manifest);
    if (parsed.manifests) {
      for (const child of parsed.manifests) {
        if (!isDigest(child.digest) || !(await this.#backend.getMeta(key.manifest(repo, child.digest))))
          return errorResponse(400, 'MANIFEST_BLOB_UNKNOWN', `the index names manifest ${String(child.digest)}, which ${repo} does not have`);
      }
    } else {
      for (const blob of [parsed.config, ...(parsed.layers ?? [])]) {
        if (!blob || !isDigest(blob.digest) || !(await this.#backend.getMeta(key.blob(repo, blob.digest))))
          return errorResponse(400, 'MANIFEST_BLOB_UNKNOWN', `blob unknown to registry: ${String(blob?.digest)} (push it to ${repo} first)`);
      }
    }
    await this.#backend.putBlob(digest, bytes);
    const put: Record<string, unknown> = { [key.manifest(repo, digest)]: { mediaType, size: bytes.length } satisfies ManifestRecord };
    if (!isDigest(reference)) put[key.tag(repo, reference)] = digest;
    await this.#backend.commit({ put });
    return new Response(null, { status: 201, headers: { 'docker-content-digest': digest, location: `/v2/${repo}/manifests/${digest}` } });
  }

  async #blob(method: string, repo: string, reference: string): Promise<Response> {
    if (!isDigest(reference)) return errorResponse(400, 'DIGEST_INVALID', `invalid digest: ${reference}`);
    const size = await this.#backend.getMeta<number>(key.blob(repo, reference));
    const bytes = size === undefined ? undefined : method === 'HEAD' ? null : await this.#backend.getBlob(reference);
    if (size === undefined || bytes === undefined) return errorResponse(404, 'BLOB_UNKNOWN', 'blob unknown to registry');
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(size), 'docker-content-digest': reference };
    return new Response(bytes as Uint8Array<ArrayBuffer> | null, { status: 200, headers });
  }

  async #upload(method: string, repo: string, id: string, params: URLSearchParams, init: RequestInit): Promise<Response> {
    if (!REPOSITORY.test(repo)) return errorResponse(400, 'NAME_INVALID', `invalid repository name: ${repo}`);
    if (method === 'POST' && id === '') {
      const mount = params.get('mount');
      const from = params.get('from');
      if (mount && from && isDigest(mount)) {
        const size = await this.#backend.getMeta<number>(key.blob(from, mount));
        if (size !== undefined && (await this.#backend.hasBlob(mount))) {
          await this.#backend.commit({ put: { [key.blob(repo, mount)]: size } });
          return new Response(null, { status: 201, headers: { 'docker-content-digest': mount, location: `/v2/${repo}/blobs/${mount}` } });
        }
      }
      if (this.#uploads.size >= MAX_UPLOADS) this.#uploads.delete(this.#uploads.keys().next().value!);
      const upload = `u${this.#nextUpload++}`;
      this.#uploads.set(upload, repo);
      return new Response(null, { status: 202, headers: { location: `/v2/${repo}/blobs/uploads/${upload}`, 'docker-upload-uuid': upload, range: '0-0' } });
    }
    if (this.#uploads.get(id) !== repo) return errorResponse(404, 'BLOB_UPLOAD_UNKNOWN', `blob upload unknown: ${id}`);
    if (method === 'DELETE') {
      this.#uploads.delete(id);
      return new Response(null, { status: 204 });
    }
    if (method !== 'PUT') return errorResponse(405, 'UNSUPPORTED', 'uploads are monolithic here: POST, then one PUT with ?digest=');
    const wanted = params.get('digest');
    if (!wanted || !isDigest(wanted)) return errorResponse(400, 'DIGEST_INVALID', 'the PUT that ends an upload needs ?digest=sha256:…');
    const bytes = bodyBytes(init.body);
    const hasher = await this.#hasher();
    hasher.update(bytes);
    const actual = hasher.digest();
    this.#uploads.delete(id);
    if (actual !== wanted) return errorResponse(400, 'DIGEST_INVALID', `the uploaded bytes are ${actual}, not ${wanted}`);
    await this.#backend.putBlob(actual, bytes);
    await this.#backend.commit({ put: { [key.blob(repo, actual)]: bytes.length } });
    return new Response(null, { status: 201, headers: { 'docker-content-digest': actual, location: `/v2/${repo}/blobs/${actual}` } });
  }
}
