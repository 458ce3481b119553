/** POSIX path helpers with Go's path.Clean semantics (no Node `path`: this runs in the browser). */

export function cleanPath(path: string): string {
  if (path === '') return '.';
  const absolute = path.startsWith('/');
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
      else if (!absolute) parts.push('..');
      continue;
    }
    parts.push(part);
  }
  const joined = parts.join('/');
  if (absolute) return '/' + joined;
  return joined === '' ? '.' : joined;
}

export function joinPath(...parts: string[]): string {
  return cleanPath(parts.filter((p) => p !== '').join('/'));
}

export function baseName(path: string): string {
  const clean = cleanPath(path);
  if (clean === '/') return '/';
  return clean.slice(clean.lastIndexOf('/') + 1);
}

export function dirName(path: string): string {
  const clean = cleanPath(path);
  const slash = clean.lastIndexOf('/');
  if (slash < 0) return '.';
  if (slash === 0) return '/';
  return clean.slice(0, slash);
}

/** WORKDIR and COPY destinations: relative paths resolve against the current WORKDIR ('' = /). */
export function resolveAgainst(workdir: string, path: string): string {
  if (path.startsWith('/')) return cleanPath(path);
  return joinPath('/', workdir || '/', path);
}
