/**
 * Framing rules for every server that hosts Layerlab (the Vite dev server, `npm run serve`, or a host's own).
 * A meta-tag CSP cannot carry `frame-ancestors`, so these must be HTTP headers: the app pages refuse to be
 * framed by other sites (clickjacking: a hostile page could overlay the terminal's buttons), while
 * embed.html exists to be framed anywhere.
 */

/** True for the embed page (and its query-string variants), which any site may frame. */
export function isEmbedPage(path: string): boolean {
  const pathname = path.split(/[?#]/)[0] ?? '';
  return pathname === '/embed' || pathname === '/embed.html';
}

/**
 * The framing headers for a response to `path`. `frameAncestors` lists extra origins (`https://school.example`)
 * allowed to frame the app pages; X-Frame-Options (for old browsers) can only say SAMEORIGIN, so it is sent
 * only when there are none.
 */
export function pageSecurityHeaders(path: string, frameAncestors: readonly string[] = []): Record<string, string> {
  if (isEmbedPage(path)) return {};
  return {
    'Content-Security-Policy': `frame-ancestors ${["'self'", ...frameAncestors].join(' ')}`,
    ...(frameAncestors.length === 0 ? { 'X-Frame-Options': 'SAMEORIGIN' } : {}),
  };
}
