import { describe, expect, it } from 'vitest';
import { isEmbedPage, pageSecurityHeaders } from './headers.ts';

describe('pageSecurityHeaders', () => {
  it('app pages may be framed by their own origin only', () => {
    for (const path of ['/', '/index.html', '/?lesson=1', '/docs/embed.html', '/assets/index.js']) {
      expect(pageSecurityHeaders(path)).toEqual({
        'Content-Security-Policy': "frame-ancestors 'self'",
        'X-Frame-Options': 'SAMEORIGIN',
      });
    }
  });

  it('the embed page may be framed by anyone', () => {
    expect(isEmbedPage('/embed.html?lesson=images')).toBe(true);
    expect(pageSecurityHeaders('/embed.html')).toEqual({});
    expect(pageSecurityHeaders('/embed.html#x')).toEqual({});
    expect(isEmbedPage('/embed.html.evil')).toBe(false);
  });

  it('extra ancestors replace X-Frame-Options, which cannot name them', () => {
    expect(pageSecurityHeaders('/', ['https://school.example'])).toEqual({
      'Content-Security-Policy': "frame-ancestors 'self' https://school.example",
    });
  });
});
