/**
 * One HTTP/1.1 exchange over a PortConnection: what the app's preview needs to show a container's web
 * server through a Service Worker. The request goes with `Connection: close`; the response is read whole
 * (Content-Length, chunked, or until the server closes), bounded in size.
 */
import type { PortHttpRequest, PortHttpResponse } from '../api.ts';
import type { PortConnection } from './tcp.ts';
import { concatBytes } from '../util/bytes.ts';

export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/** Hop-by-hop and browser-owned headers that must not be forwarded as they are. */
const DROPPED_REQUEST_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'host', 'content-length']);

export class HttpExchangeError extends Error {}

export function encodeRequest(request: PortHttpRequest, hostHeader: string): Uint8Array {
  const body = request.body ?? new Uint8Array(0);
  const lines = [`${request.method} ${request.path || '/'} HTTP/1.1`, `Host: ${hostHeader}`];
  for (const [name, value] of request.headers) {
    if (!DROPPED_REQUEST_HEADERS.has(name.toLowerCase()) && !/[\r\n]/.test(name + value)) lines.push(`${name}: ${value}`);
  }
  if (body.length || !['GET', 'HEAD'].includes(request.method)) lines.push(`Content-Length: ${body.length}`);
  lines.push('Connection: close', '', '');
  return concatBytes([new TextEncoder().encode(lines.join('\r\n')), body]);
}

/** Parses a complete HTTP/1.x response (the connection has ended). */
export function parseResponse(bytes: Uint8Array, method = 'GET'): PortHttpResponse {
  const headerEnd = indexOf(bytes, [13, 10, 13, 10]);
  if (headerEnd < 0) throw new HttpExchangeError(bytes.length ? 'the server closed the connection before the end of the response headers' : 'the server closed the connection without answering (is it an HTTP server?)');
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, headerEnd)).split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(head[0]);
  if (!status) throw new HttpExchangeError(`not an HTTP response: ${JSON.stringify(head[0].slice(0, 80))}`);
  const headers: [string, string][] = head.slice(1).flatMap((line) => {
    const colon = line.indexOf(':');
    return colon > 0 ? [[line.slice(0, colon).trim(), line.slice(colon + 1).trim()] as [string, string]] : [];
  });
  const get = (name: string) => headers.find(([n]) => n.toLowerCase() === name)?.[1];
  let body = bytes.subarray(headerEnd + 4);
  const code = Number(status[1]);
  if (method === 'HEAD' || code === 204 || code === 304 || (code >= 100 && code < 200)) body = new Uint8Array(0);
  else if (get('transfer-encoding')?.toLowerCase().includes('chunked')) body = dechunk(body);
  else if (get('content-length') !== undefined) body = body.subarray(0, Number(get('content-length')));
  return {
    status: code,
    statusText: status[2] ?? '',
    headers: headers.filter(([n]) => !['transfer-encoding', 'connection', 'keep-alive'].includes(n.toLowerCase())),
    body: body.slice(),
  };
}

export async function httpExchange(connection: PortConnection, request: PortHttpRequest): Promise<PortHttpResponse> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const done = new Promise<void>((resolve, reject) => {
    connection.onData((bytes) => {
      size += bytes.length;
      if (size > MAX_RESPONSE_BYTES) {
        connection.close();
        reject(new HttpExchangeError(`the response is larger than ${MAX_RESPONSE_BYTES >> 20} MiB`));
      }
      chunks.push(bytes);
    });
    connection.onEnd((error) => (error ? reject(new HttpExchangeError(`connection failed: ${error}`)) : resolve()));
  });
  try {
    await connection.write(encodeRequest(request, `localhost:${request.port}`));
    await done;
  } finally {
    connection.close();
  }
  return parseResponse(concatBytes(chunks), request.method);
}

function dechunk(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = indexOf(bytes, [13, 10], at);
    if (lineEnd < 0) break;
    const size = parseInt(new TextDecoder().decode(bytes.subarray(at, lineEnd)).split(';')[0], 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return concatBytes(parts);
}

function indexOf(bytes: Uint8Array, pattern: number[], from = 0): number {
  outer: for (let i = from; i <= bytes.length - pattern.length; i++) {
    for (let j = 0; j < pattern.length; j++) if (bytes[i + j] !== pattern[j]) continue outer;
    return i;
  }
  return -1;
}
