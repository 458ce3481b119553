/**
 * The production server (`npm run serve`): the built app (dist/) and the registry proxy in one Node
 * process, the way a school or a docs site hosts Layerlab.
 *
 * Extension points:
 * - `middlewares`: Connect-style request handlers tried in order before the static files;
 * - `upgradeHandlers`: WebSocket (HTTP Upgrade) handlers; each returns true when it took the socket,
 *   the first one that does wins; a request nobody takes is answered 404 and closed.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import sirv from 'sirv';
import { createRegistryProxy, type RegistryProxyOptions } from './registry-proxy.ts';

export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse, next: (error?: unknown) => void) => void;
/** Takes an Upgrade request (e.g. a WebSocket); returns true when it handled the socket. */
export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => boolean;

export interface LayerlabServerOptions {
  /** The built app: `vite build` output. */
  distDir: string;
  /** Registry proxy settings; null serves no proxy (pulls then explain how to enable it). */
  registry: RegistryProxyOptions | null;
  middlewares?: RequestHandler[];
  upgradeHandlers?: UpgradeHandler[];
  /** Origins allowed to frame the app pages (the embed page may be framed by anyone). Default: none. */
  frameAncestors?: string[];
}

/**
 * Framing: app pages refuse to be framed by other sites (clickjacking); embed.html exists to be framed.
 */
export function pageSecurityHeaders(path: string, frameAncestors: string[] = []): Record<string, string> {
  if (/^\/embed(\.html)?$/.test(path) || path.startsWith('/embed.html')) return {};
  const ancestors = ["'self'", ...frameAncestors].join(' ');
  return {
    'Content-Security-Policy': `frame-ancestors ${ancestors}`,
    ...(frameAncestors.length === 0 ? { 'X-Frame-Options': 'SAMEORIGIN' } : {}),
  };
}

/** The registry proxy settings the app reads at start: which path to use, if any. */
export function registryConfigHandler(registry: RegistryProxyOptions | null): RequestHandler {
  return (req, res, next) => {
    if ((req.url ?? '').split('?')[0] !== '/registry-config.json') return next();
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(registry ? { proxy: registry.basePath ?? '/registry', hosts: registry.allowedHosts } : { proxy: null }));
  };
}

export function createLayerlabServer(options: LayerlabServerOptions): http.Server {
  const statics = sirv(options.distDir, {
    etag: true,
    gzip: false,
    setHeaders(res, pathname) {
      for (const [name, value] of Object.entries(pageSecurityHeaders(pathname, options.frameAncestors))) res.setHeader(name, value);
      // SharedArrayBuffer is not needed; the VM assets are large and immutable per build.
      if (pathname.startsWith('/assets/')) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    },
  });
  const handlers: RequestHandler[] = [
    registryConfigHandler(options.registry),
    ...(options.registry ? [createRegistryProxy(options.registry) as RequestHandler] : []),
    ...(options.middlewares ?? []),
    (req, res, next) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/' || path === '/index.html') {
        for (const [name, value] of Object.entries(pageSecurityHeaders(path, options.frameAncestors))) res.setHeader(name, value);
      }
      statics(req, res, next);
    },
  ];

  const server = http.createServer((req, res) => {
    let i = 0;
    const next = (error?: unknown) => {
      if (error) {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        return res.end('internal error');
      }
      const handler = handlers[i++];
      if (!handler) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('not found');
      }
      try {
        handler(req, res, next);
      } catch (e) {
        next(e ?? new Error('handler failed'));
      }
    };
    next();
  });
  server.on('upgrade', (req, socket, head) => {
    for (const handler of options.upgradeHandlers ?? []) if (handler(req, socket, head)) return;
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });
  return server;
}
