import { describe, expect, it } from 'vitest';
import { base64ToText, fromBase64, fromBase64Url, textToBase64, toBase64, toBase64Url } from './base64.ts';

describe('base64', () => {
  it('round-trips every byte value, across the chunk size', () => {
    const bytes = Uint8Array.from({ length: 0x8000 * 2 + 3 }, (_, i) => (i * 7) & 0xff);
    expect(fromBase64(toBase64(bytes))).toEqual(bytes);
  });

  it('encodes text as UTF-8 where btoa alone throws (a run -it config with non-Latin-1 env and args)', () => {
    const config = JSON.stringify({ process: { args: ['echo', 'héllo ✓ 🐳'], env: ['GREETING=こんにちは'] } });
    expect(() => btoa(config)).toThrow();
    const encoded = textToBase64(config);
    expect(encoded).toBe(Buffer.from(config, 'utf8').toString('base64'));
    expect(base64ToText(encoded)).toBe(config);
  });

  it('base64url has no padding, + or /, and decodes with or without padding', () => {
    const bytes = Uint8Array.from([0xfb, 0xff, 0xbf, 0x01]);
    const url = toBase64Url(bytes);
    expect(url).toBe('-_-_AQ');
    expect(fromBase64Url(url)).toEqual(bytes);
    expect(fromBase64Url(`${url}==`)).toEqual(bytes);
  });
});
