import { describe, expect, it } from 'vitest';
import { encodeRequest, parseResponse } from './http.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

describe('HTTP over a published port', () => {
  it('writes a request that closes the connection and drops hop-by-hop headers', () => {
    const request = text(
      encodeRequest({ port: 8080, method: 'POST', path: '/api?x=1', headers: [['Accept', 'text/html'], ['Connection', 'keep-alive'], ['X-Bad', 'a\r\nInjected: 1']], body: bytes('hi') }, 'localhost:8080'),
    );
    expect(request).toBe('POST /api?x=1 HTTP/1.1\r\nHost: localhost:8080\r\nAccept: text/html\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi');
  });

  it('reads Content-Length, chunked and read-until-close bodies', () => {
    const sized = parseResponse(bytes('HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello world'));
    expect(sized).toMatchObject({ status: 200, statusText: 'OK', headers: [['Content-Type', 'text/html'], ['Content-Length', '5']] });
    expect(text(sized.body)).toBe('hello');
    const chunked = parseResponse(bytes('HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'));
    expect(chunked.status).toBe(404);
    expect(chunked.headers).toEqual([]);
    expect(text(chunked.body)).toBe('hello world');
    expect(text(parseResponse(bytes('HTTP/1.0 200 OK\r\n\r\nuntil close')).body)).toBe('until close');
    expect(parseResponse(bytes('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'), 'HEAD').body.length).toBe(0);
  });

  it('explains answers that are not HTTP', () => {
    expect(() => parseResponse(new Uint8Array(0))).toThrow('without answering (is it an HTTP server?)');
    expect(() => parseResponse(bytes('SSH-2.0-OpenSSH\r\n\r\n'))).toThrow('not an HTTP response');
    expect(() => parseResponse(bytes('HTTP/1.1 200 OK\r\nX: 1'))).toThrow('before the end of the response headers');
  });
});
