/**
 * Path patterns the way Docker matches them (moby/patternmatcher): Go's filepath.Match syntax
 * (`*`, `?`, `[a-z]`, `[^a-z]`, `\` escapes) where `*` and `?` never cross a `/`, plus `**` for any
 * number of directories. Used by .dockerignore and by COPY/ADD wildcards.
 */
import { cleanPath } from './paths.ts';

export interface CompiledPattern {
  /** The pattern after cleaning (`./a/` → `a`). */
  pattern: string;
  test(path: string): boolean;
}

const REGEX_SPECIAL = '.+()|{}$^';

/** True when the text has wildcard characters (so COPY must search instead of stat). */
export function hasWildcards(pattern: string): boolean {
  return /[*?[\\]/.test(pattern);
}

/** Cleans a pattern or context path: no leading `/` or `./`, no trailing `/`. */
export function normalizeRelative(path: string): string {
  let clean = cleanPath(path);
  if (clean.startsWith('/')) clean = clean.slice(1);
  return clean === '' ? '.' : clean;
}

export function compilePattern(rawPattern: string): CompiledPattern {
  const pattern = normalizeRelative(rawPattern);
  const chars = Array.from(pattern);
  let regex = '^';
  let exact = true;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') {
      exact = false;
      if (chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++; // `**/` is `**`
        // `**` at the end matches everything below; elsewhere any number of directories (even 0).
        regex += i + 1 >= chars.length ? '.*' : '(.*/)?';
      } else {
        regex += '[^/]*';
      }
    } else if (ch === '?') {
      exact = false;
      regex += '[^/]';
    } else if (ch === '\\') {
      exact = false;
      if (i + 1 < chars.length) regex += escapeChar(chars[++i]!);
      else regex += '\\\\';
    } else if (ch === '[') {
      exact = false;
      const close = findClassEnd(chars, i);
      if (close < 0) {
        regex += '\\[';
        continue;
      }
      let body = chars.slice(i + 1, close).join('');
      let negate = false;
      if (body.startsWith('^') || body.startsWith('!')) {
        negate = true;
        body = body.slice(1);
      }
      regex += `[${negate ? '^/' : ''}${body.replace(/\\(.)/g, (_, c: string) => escapeChar(c)).replace(/[\]^[]/g, (c) => (c === '-' ? c : '\\' + c))}]`;
      i = close;
    } else {
      regex += escapeChar(ch);
    }
  }
  const compiled = exact ? null : new RegExp(regex + '$', 's');
  return { pattern, test: (path) => (compiled ? compiled.test(path) : path === pattern) };
}

function findClassEnd(chars: string[], open: number): number {
  let i = open + 1;
  if (chars[i] === '^' || chars[i] === '!') i++;
  if (chars[i] === ']') i++;
  for (; i < chars.length; i++) {
    if (chars[i] === '\\') i++;
    else if (chars[i] === ']') return i;
  }
  return -1;
}

function escapeChar(ch: string): string {
  return REGEX_SPECIAL.includes(ch) || ch === '*' || ch === '?' || ch === '[' || ch === ']' || ch === '\\' || ch === '/' ? '\\' + ch : ch;
}
