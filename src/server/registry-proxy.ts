/**
 * The same-origin registry path: `/registry/<host>/<path>` forwards to `https://<host>/<path>` (plain http
 * for an allow-listed localhost registry), so the app in the browser can speak the Docker Registry HTTP API
 * v2 to registries that send no CORS headers (Docker Hub).
 *
 * What it refuses, so it cannot be used as an open proxy:
 * - hosts not on the allow-list, and paths outside the registry API (`/v2/...`) and token endpoints;
 * - connections to private, loopback and link-local addresses, checked on the resolved address of every
 *   connection (the allow-list may name a localhost registry explicitly, for tests and development);
 * - bodies over the size cap, both ways.
 * Blob redirects (Docker Hub sends layers from a CDN) are followed here, each target checked again, so the
 * browser never talks to another origin. Cookies are dropped both ways.
 */
import http from 'node:http';
import https from 'node:https';
import dns from 'node:dns';
import net from 'node:net';
import { Transform, pipeline } from 'node:stream';

export interface RegistryProxyOptions {
  /**
   * Registry and token hosts that may be reached, `host` or `host:port` (e.g. `registry-1.docker.io`,
   * `auth.docker.io`, `127.0.0.1:5000`). Loopback and private hosts are reachable only when listed here.
   */
  allowedHosts: string[];
  /** Largest request or response body forwarded, bytes. */
  maxBytes?: number;
  /** Mount path; default `/registry`. */
  basePath?: string;
  /** Largest number of redirects followed for one request. */
  maxRedirects?: number;
}

export const DEFAULT_REGISTRY_HOSTS = [
  'registry-1.docker.io',
  'auth.docker.io',
  'ghcr.io',
  'quay.io',
  'registry.gitlab.com',
  'public.ecr.aws',
  'gcr.io',
  'mcr.microsoft.com',
];
export const DEFAULT_MAX_BYTES = 1024 * 1024 * 1024;

/** Reads the allow-list from `LAYERLAB_REGISTRIES` (comma or space separated; `none` disables the proxy). */
export function registryProxyOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): RegistryProxyOptions | null {
  const list = env.LAYERLAB_REGISTRIES?.trim();
  if (list === 'none') return null;
  const hosts = list ? list.split(/[\s,]+/).filter(Boolean) : DEFAULT_REGISTRY_HOSTS;
  const extra = env.LAYERLAB_REGISTRIES_EXTRA?.split(/[\s,]+/).filter(Boolean) ?? [];
  const maxBytes = env.LAYERLAB_REGISTRY_MAX_BYTES ? Number(env.LAYERLAB_REGISTRY_MAX_BYTES) : DEFAULT_MAX_BYTES;
  return { allowedHosts: [...hosts, ...extra], maxBytes: Number.isFinite(maxBytes) && maxBytes > 0 ? maxBytes : DEFAULT_MAX_BYTES };
}

const FORWARDED_REQUEST_HEADERS = ['accept', 'authorization', 'content-type', 'content-length', 'content-range', 'range', 'docker-upload-uuid', 'user-agent'];
const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'content-length',
  'content-range',
  'range',
  'docker-content-digest',
  'docker-distribution-api-version',
  'docker-upload-uuid',
  'www-authenticate',
  'location',
  'etag',
];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** True for addresses a public proxy must never connect to. */
export function isPrivateAddress(address: string): boolean {
  if (net.isIPv4(address)) {
    const [a, b] = address.split('.').map(Number);
    return (
      a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 198 && (b === 18 || b === 19)) || a >= 224
    );
  }
  const v6 = address.toLowerCase();
  if (v6.startsWith('::ffff:')) return isPrivateAddress(v6.slice(7));
  return v6 === '::' || v6 === '::1' || v6.startsWith('fc') || v6.startsWith('fd') || v6.startsWith('fe8') || v6.startsWith('fe9') || v6.startsWith('fea') || v6.startsWith('feb') || v6.startsWith('ff');
}

function isLocalHostName(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '127.0.0.1' || name === '::1';
}

/** A DNS lookup that fails for private addresses unless the host was explicitly allowed. */
function guardedLookup(allowPrivate: boolean): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return (callback as (...a: unknown[]) => void)(error);
      const list = addresses as dns.LookupAddress[];
      const bad = list.find((a) => !allowPrivate && isPrivateAddress(a.address));
      if (bad) return (callback as (...a: unknown[]) => void)(new Error(`refused: ${hostname} resolves to a private address (${bad.address})`));
      if (options.all) return (callback as (...a: unknown[]) => void)(null, list);
      (callback as (...a: unknown[]) => void)(null, list[0].address, list[0].family);
    });
  };
}

export class ProxyRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Registry API and token paths only. */
function allowedPath(path: string): boolean {
  if (path.includes('..') || path.includes('\\')) return false;
  return path === '/v2/' || path.startsWith('/v2/') || path === '/token' || path === '/oauth2/token' || path === '/v2/auth';
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, next?: (error?: unknown) => void) => void;

/** Connect-style middleware (Vite's dev server, the production server): handles `<basePath>/...` only. */
export function createRegistryProxy(options: RegistryProxyOptions): Handler {
  const basePath = options.basePath ?? '/registry';
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxRedirects = options.maxRedirects ?? 5;
  const allowed = new Set(options.allowedHosts.map((h) => h.toLowerCase()));

  function refuse(res: http.ServerResponse, status: number, message: string) {
    if (res.headersSent) return res.destroy();
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ errors: [{ code: 'PROXY_REFUSED', message }] }));
  }

  function target(req: http.IncomingMessage): URL {
    const url = new URL(req.url ?? '/', 'http://proxy.invalid');
    const rest = url.pathname.slice(basePath.length); // /<host>/<path>
    const slash = rest.indexOf('/', 1);
    if (!rest.startsWith('/') || slash < 0) throw new ProxyRefusal(404, 'expected /registry/<host>/v2/...');
    const host = decodeURIComponent(rest.slice(1, slash)).toLowerCase();
    const path = rest.slice(slash);
    if (!allowed.has(host)) {
      throw new ProxyRefusal(403, `registry host ${host} is not on this server's allow-list (LAYERLAB_REGISTRIES)`);
    }
    if (!allowedPath(path)) throw new ProxyRefusal(403, `only the registry API (/v2/...) is forwarded, not ${path}`);
    const scheme = isLocalHostName(host) ? 'http' : 'https';
    return new URL(`${scheme}://${host}${path}${url.search}`);
  }

  function forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    method: string,
    body: http.IncomingMessage | null,
    redirects: number,
    explicitHost: boolean,
  ) {
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    // Credentials go only to the host the browser addressed, never to a redirect target (a CDN).
    if (redirects > 0) delete headers.authorization;
    // Node skips `lookup` for IP literals: check those here.
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    const allowPrivate = explicitHost && isLocalHostName(url.host);
    if (net.isIP(literal) && isPrivateAddress(literal) && !allowPrivate) {
      return refuse(res, 502, `refused: ${url.host} is a private address`);
    }
    const client = url.protocol === 'https:' ? https : http;
    const upstream = client.request(
      url,
      { method, headers, lookup: guardedLookup(allowPrivate), timeout: 60_000 },
      (up) => {
        const status = up.statusCode ?? 502;
        const location = up.headers.location;
        // Blob downloads redirect to storage; follow them here so no other origin is exposed.
        if ([301, 302, 303, 307, 308].includes(status) && location && (method === 'GET' || method === 'HEAD') && /\/blobs\/sha256:/.test(url.pathname)) {
          up.resume();
          if (redirects >= maxRedirects) return refuse(res, 502, 'too many redirects');
          const next = new URL(location, url);
          const sameAllowed = allowed.has(next.host.toLowerCase());
          if (next.protocol !== 'https:' && !(sameAllowed && isLocalHostName(next.host))) {
            return refuse(res, 502, `refused redirect to ${next.protocol}//${next.host}: only https`);
          }
          return forward(req, res, next, method, null, redirects + 1, sameAllowed);
        }
        const declared = Number(up.headers['content-length'] ?? 0);
        if (declared > maxBytes) {
          up.destroy();
          return refuse(res, 502, `response of ${declared} bytes is over this server's limit (${maxBytes})`);
        }
        const out: Record<string, string> = { 'cache-control': 'no-store' };
        for (const name of FORWARDED_RESPONSE_HEADERS) {
          const value = up.headers[name];
          if (typeof value === 'string') out[name] = value;
        }
        res.writeHead(status, out);
        let seen = 0;
        const cap = new Transform({
          transform(chunk: Buffer, _enc, done) {
            seen += chunk.length;
            if (seen > maxBytes) return done(new Error('response over the size limit'));
            done(null, chunk);
          },
        });
        pipeline(up, cap, res, () => {});
      },
    );
    upstream.on('timeout', () => upstream.destroy(new Error('registry did not answer in time')));
    upstream.on('error', (error) => refuse(res, 502, `cannot reach ${url.host}: ${error.message}`));
    if (!body) return upstream.end();
    // Upload bodies stream through, cut off at the cap.
    let sent = 0;
    const cap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        sent += chunk.length;
        if (sent > maxBytes) return done(new Error(`request body over this server's limit (${maxBytes} bytes)`));
        done(null, chunk);
      },
    });
    pipeline(body, cap, upstream, (error) => {
      if (error) refuse(res, 413, error.message);
    });
  }

  return (req, res, next) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== basePath && !path.startsWith(`${basePath}/`)) return next ? next() : refuse(res, 404, 'not found');
    let url: URL;
    try {
      if (!METHODS.has(req.method ?? '')) throw new ProxyRefusal(405, `method ${req.method} is not forwarded`);
      url = target(req);
    } catch (error) {
      const status = error instanceof ProxyRefusal ? error.status : 400;
      return refuse(res, status, (error as Error).message);
    }
    const method = req.method!;
    if (method === 'GET' || method === 'HEAD' || method === 'DELETE') {
      req.resume();
      return forward(req, res, url, method, null, 0, true);
    }
    if (Number(req.headers['content-length'] ?? 0) > maxBytes) return refuse(res, 413, `request body over this server's limit (${maxBytes} bytes)`);
    forward(req, res, url, method, req, 0, true);
  };
}
