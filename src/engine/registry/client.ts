/**
 * A client for the OCI distribution API (Docker Registry HTTP API v2): manifests, blobs, uploads, with
 * Docker's auth: a 401 carries a `WWW-Authenticate` challenge, either `Basic` (send the login) or `Bearer`
 * (get a token from the realm, anonymously or with the login, for the scope asked, then retry).
 * No DOM and no Node API: `fetch` is injected (Node's fetch in the CLI; a same-origin proxy in the browser).
 */
import { sha256, isDigest, type Digest } from '../oci/digest.ts';
import { DigestMismatchError } from '../oci/errors.ts';
import { MediaType } from '../oci/types.ts';
import { RegistryError, RegistryUnavailableError } from './errors.ts';
import { textToBase64 } from '../util/base64.ts';
import { readStreamBytes } from '../util/bytes.ts';
import type { RepositoryLocation } from './location.ts';
import { jsSha256, type HasherFactory } from './hash.ts';

export type RegistryFetch = (url: string, init: RequestInit) => Promise<Response>;

export interface Credentials {
  username: string;
  password: string;
}

/** `docker login` credentials, in memory for this session only (never written to storage). */
export class CredentialStore {
  readonly #byRegistry = new Map<string, Credentials>();
  set(registry: string, credentials: Credentials) {
    this.#byRegistry.set(registry, credentials);
  }
  get(registry: string): Credentials | undefined {
    return this.#byRegistry.get(registry);
  }
  delete(registry: string): boolean {
    return this.#byRegistry.delete(registry);
  }
}

export const MANIFEST_MEDIA_TYPES = [MediaType.index, MediaType.manifest, MediaType.dockerManifestList, MediaType.dockerManifest] as const;

/** Largest manifest or index accepted (they are small JSON; a bigger answer is not a manifest). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Why a pull cannot reach a registry, when the host gave no other reason. */
export const NO_REGISTRY_ACCESS = 'this Layerlab has no way to reach registries';

export interface RegistryClientOptions {
  fetch?: RegistryFetch;
  credentials?: CredentialStore;
  /** Why registries cannot be reached when there is no fetch (shown on pull). */
  unavailableReason?: string;
  /** Incremental sha256 for streamed layers; default @noble/hashes. */
  createHasher?: HasherFactory;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"` */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]))) params[p[1].toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  return { scheme: m[1].toLowerCase(), params };
}

function basic(credentials: Credentials): string {
  return `Basic ${textToBase64(`${credentials.username}:${credentials.password}`)}`;
}

async function errorText(res: Response): Promise<{ code?: string; message: string }> {
  const text = await readLimited(res, 64 * 1024).catch(() => new Uint8Array());
  try {
    const body = JSON.parse(new TextDecoder().decode(text)) as { errors?: { code?: string; message?: string }[] };
    const first = body.errors?.[0];
    if (first) return { code: first.code, message: `${(first.code ?? '').toLowerCase().replace(/_/g, ' ')}: ${first.message ?? ''}`.trim() };
  } catch {
    /* not JSON */
  }
  return { message: `HTTP ${res.status}` };
}

/** Reads a response body whole, refusing more than `max` bytes. */
export async function readLimited(res: Response, max: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > max) throw new RegistryError(`response of ${declared} bytes is larger than the ${max} allowed`);
  if (!res.body) return new Uint8Array();
  return readStreamBytes(res.body, { maxBytes: max, tooLarge: () => new RegistryError(`response larger than the ${max} bytes allowed`) });
}

export interface FetchedManifest {
  bytes: Uint8Array;
  digest: Digest;
  mediaType: string;
}

export class RegistryClient {
  readonly credentials: CredentialStore;
  readonly createHasher: HasherFactory;
  readonly #fetch?: RegistryFetch;
  readonly #unavailable: string;
  /** Bearer tokens by `apiHost scope`, and which hosts want Basic auth. */
  readonly #tokens = new Map<string, string>();
  readonly #basicHosts = new Set<string>();

  constructor(options: RegistryClientOptions = {}) {
    this.#fetch = options.fetch;
    this.createHasher = options.createHasher ?? jsSha256;
    this.credentials = options.credentials ?? new CredentialStore();
    this.#unavailable = options.unavailableReason ?? NO_REGISTRY_ACCESS;
  }

  get available(): boolean {
    return Boolean(this.#fetch);
  }

  #base(loc: RepositoryLocation): string {
    return `${loc.scheme}://${loc.apiHost}`;
  }

  #scope(loc: RepositoryLocation, push: boolean, extra: string[] = []): string[] {
    return [`repository:${loc.repository}:${push ? 'pull,push' : 'pull'}`, ...extra];
  }

  async #send(url: string, init: RequestInit): Promise<Response> {
    if (!this.#fetch) throw new RegistryUnavailableError(this.#unavailable);
    try {
      return await this.#fetch(url, init);
    } catch (error) {
      if ((error as Error).name === 'AbortError' || error instanceof RegistryUnavailableError) throw error;
      const host = new URL(url).host;
      throw new RegistryError(`cannot reach ${host}: ${(error as Error).message}${(error as { cause?: Error }).cause ? ` (${(error as { cause?: Error }).cause!.message})` : ''}`);
    }
  }

  #authHeader(loc: RepositoryLocation, scopes: string[]): string | undefined {
    const token = this.#tokens.get(`${loc.apiHost} ${scopes.join(' ')}`);
    if (token) return `Bearer ${token}`;
    const creds = this.credentials.get(loc.registry);
    if (creds && this.#basicHosts.has(loc.apiHost)) return basic(creds);
    return undefined;
  }

  async #authenticate(loc: RepositoryLocation, challengeHeader: string | null, scopes: string[], signal?: AbortSignal): Promise<boolean> {
    const challenge = challengeHeader ? parseChallenge(challengeHeader) : undefined;
    const creds = this.credentials.get(loc.registry);
    if (challenge?.scheme === 'basic') {
      if (!creds || this.#basicHosts.has(loc.apiHost)) return false;
      this.#basicHosts.add(loc.apiHost);
      return true;
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) return false;
    const realm = new URL(challenge.params.realm);
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && loc.scheme === 'http')) {
      throw new RegistryError(`refusing token realm ${realm.href}: not https`);
    }
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    for (const scope of scopes) realm.searchParams.append('scope', scope);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (creds) headers.authorization = basic(creds);
    const res = await this.#send(realm.href, { headers, signal });
    if (!res.ok) {
      const { message } = await errorText(res);
      if (res.status === 401) throw new RegistryError(`unauthorized: incorrect username or password${creds ? '' : ' (not logged in)'}`, 401, 'UNAUTHORIZED');
      throw new RegistryError(`getting a token from ${realm.host}: ${message}`, res.status);
    }
    const body = JSON.parse(new TextDecoder().decode(await readLimited(res, 1024 * 1024))) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`the token endpoint ${realm.host} returned no token`);
    this.#tokens.set(`${loc.apiHost} ${scopes.join(' ')}`, token);
    return true;
  }

  /** One API request with auth: on a 401 answer the challenge once and retry. */
  async request(
    loc: RepositoryLocation,
    method: string,
    pathOrUrl: string,
    options: { headers?: Record<string, string>; body?: Uint8Array; push?: boolean; extraScopes?: string[]; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.#base(loc)}${pathOrUrl}`;
    const scopes = this.#scope(loc, options.push ?? false, options.extraScopes);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...options.headers };
      const auth = this.#authHeader(loc, scopes);
      if (auth) headers.authorization = auth;
      const res = await this.#send(url, { method, headers, body: options.body as RequestInit['body'], signal: options.signal, redirect: 'follow' });
      if (res.status !== 401 || attempt > 0) return res;
      const challenge = res.headers.get('www-authenticate');
      await res.body?.cancel().catch(() => {});
      if (!(await this.#authenticate(loc, challenge, scopes, options.signal))) return res;
    }
  }

  /** Checks that the registry answers and accepts the credentials (`docker login`). */
  async ping(loc: RepositoryLocation, signal?: AbortSignal): Promise<void> {
    const res = await this.request(loc, 'GET', '/v2/', { signal });
    await res.body?.cancel().catch(() => {});
    if (res.status === 401) throw new RegistryError(`login to ${loc.registry} failed: unauthorized: incorrect username or password`, 401);
    if (!res.ok) throw new RegistryError(`${loc.registry} answered HTTP ${res.status} to /v2/: is it a registry?`, res.status);
  }

  /** GET a manifest or index by tag or digest, verified: against the digest asked for, and the one the registry states. */
  async getManifest(loc: RepositoryLocation, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const res = await this.request(loc, 'GET', `/v2/${loc.repository}/manifests/${reference}`, { headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') }, signal });
    if (!res.ok) throw await this.#error(res, loc, reference);
    const bytes = await readLimited(res, MAX_MANIFEST_BYTES);
    const digest = await sha256(bytes);
    if (isDigest(reference) && digest !== reference) throw new DigestMismatchError(reference, digest, `manifest ${loc.repository}@${reference}`);
    const stated = res.headers.get('docker-content-digest');
    if (stated && isDigest(stated) && stated !== digest) throw new DigestMismatchError(stated as Digest, digest, `manifest ${loc.repository}:${reference}`);
    let mediaType = res.headers.get('content-type')?.split(';')[0].trim() ?? '';
    try {
      const parsed = JSON.parse(new TextDecoder().decode(bytes)) as { mediaType?: string; manifests?: unknown; schemaVersion?: number };
      if (parsed.mediaType) mediaType = parsed.mediaType;
      else if (!MANIFEST_MEDIA_TYPES.includes(mediaType as (typeof MANIFEST_MEDIA_TYPES)[number])) mediaType = parsed.manifests ? MediaType.index : MediaType.manifest;
      if (parsed.schemaVersion !== 2) throw new RegistryError(`${loc.repository}:${reference} uses manifest schema ${parsed.schemaVersion}, which is not supported (only schema 2 / OCI)`);
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      throw new RegistryError(`the manifest of ${loc.repository}:${reference} is not JSON`);
    }
    return { bytes, digest, mediaType };
  }

  /** A blob's bytes as a stream (the caller verifies the digest as it reads) and its length if stated. */
  async getBlob(loc: RepositoryLocation, digest: Digest, signal?: AbortSignal): Promise<{ body: ReadableStream<Uint8Array>; size?: number }> {
    const res = await this.request(loc, 'GET', `/v2/${loc.repository}/blobs/${digest}`, { signal });
    if (!res.ok || !res.body) throw await this.#error(res, loc, digest);
    const length = res.headers.get('content-length');
    return { body: res.body, size: length ? Number(length) : undefined };
  }

  async hasBlob(loc: RepositoryLocation, digest: Digest, signal?: AbortSignal): Promise<boolean> {
    const res = await this.request(loc, 'HEAD', `/v2/${loc.repository}/blobs/${digest}`, { push: true, signal });
    await res.body?.cancel().catch(() => {});
    if (res.status === 404) return false;
    if (res.ok) return true;
    throw await this.#error(res, loc, digest);
  }

  /**
   * Cross-repository mount: asks the registry to link a blob another repository of it already has. True when
   * it did (201); otherwise the upload session it opened instead is cancelled and the caller uploads.
   */
  async mountBlob(loc: RepositoryLocation, digest: Digest, from: string, signal?: AbortSignal): Promise<boolean> {
    const res = await this.request(loc, 'POST', `/v2/${loc.repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, {
      push: true,
      extraScopes: [`repository:${from}:pull`],
      headers: { 'content-length': '0' },
      signal,
    });
    await res.body?.cancel().catch(() => {});
    if (res.status === 201) return true;
    const location = res.headers.get('location');
    if (res.status === 202 && location) {
      const cancel = await this.request(loc, 'DELETE', new URL(location, `${this.#base(loc)}/v2/`).href, { push: true, signal }).catch(() => undefined);
      await cancel?.body?.cancel().catch(() => {});
    }
    return false;
  }

  /** Uploads a blob: POST for an upload session, then one monolithic PUT with the digest. */
  async putBlob(loc: RepositoryLocation, digest: Digest, data: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<void> {
    const start = await this.request(loc, 'POST', `/v2/${loc.repository}/blobs/uploads/`, {
      push: true,
      headers: { 'content-length': '0' },
      signal: options.signal,
    });
    await start.body?.cancel().catch(() => {});
    if (start.status !== 202) throw await this.#error(start, loc, digest, 'push');
    const location = start.headers.get('location');
    if (!location) throw new RegistryError(`${loc.registry} started an upload without a Location`);
    const url = new URL(location, `${this.#base(loc)}/v2/`);
    url.searchParams.set('digest', digest);
    const put = await this.request(loc, 'PUT', url.href, {
      push: true,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
      body: data,
      signal: options.signal,
    });
    await put.body?.cancel().catch(() => {});
    if (put.status !== 201) throw await this.#error(put, loc, digest, 'push');
  }

  async putManifest(loc: RepositoryLocation, reference: string, manifest: { bytes: Uint8Array; mediaType: string }, signal?: AbortSignal): Promise<Digest> {
    const res = await this.request(loc, 'PUT', `/v2/${loc.repository}/manifests/${reference}`, {
      push: true,
      headers: { 'content-type': manifest.mediaType },
      body: manifest.bytes,
      signal,
    });
    await res.body?.cancel().catch(() => {});
    if (res.status !== 201) throw await this.#error(res, loc, reference, 'push');
    const digest = await sha256(manifest.bytes);
    const stated = res.headers.get('docker-content-digest');
    if (stated && stated !== digest) throw new DigestMismatchError(stated as Digest, digest, `pushed manifest ${loc.repository}:${reference}`);
    return digest;
  }

  async #error(res: Response, loc: RepositoryLocation, reference: string, action: 'pull' | 'push' = 'pull'): Promise<RegistryError> {
    const { code, message } = await errorText(res);
    const name = `${loc.registry === 'docker.io' ? loc.repository.replace(/^library\//, '') : `${loc.registry}/${loc.repository}`}`;
    if (res.status === 401 || res.status === 403 || code === 'DENIED' || (code === 'NAME_UNKNOWN' && action === 'pull' && loc.registry === 'docker.io')) {
      return new RegistryError(
        action === 'push'
          ? `denied: requested access to the resource is denied (push to ${name}; run \`docker login ${loc.registry}\` first?)`
          : `pull access denied for ${name}, repository does not exist or may require 'docker login': ${message}`,
        res.status,
        code,
      );
    }
    if (res.status === 404 && action === 'pull') {
      const what = isDigest(reference) && reference.startsWith('sha256:') && !/manifest/.test(code?.toLowerCase() ?? 'manifest') ? reference : `${name}:${reference}`;
      return new RegistryError(
        code === 'BLOB_UNKNOWN' ? `blob ${reference} not found in ${name}` : `manifest for ${isDigest(reference) ? `${name}@${reference}` : what} not found: ${message === 'HTTP 404' ? 'manifest unknown' : message}`,
        404,
        code,
      );
    }
    return new RegistryError(`${loc.registry}: ${message}`, res.status, code);
  }
}
