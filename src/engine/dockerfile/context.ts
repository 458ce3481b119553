/**
 * The build context: `.dockerignore` filtering and COPY/ADD source resolution, with Docker's rules.
 *
 * A context is a flat list of entries `{ path, mode, data }` (path relative to the context root,
 * `mode` a Unix st_mode; directories may be implicit). Nothing here touches a real filesystem.
 */
import { DockerfileError } from './errors.ts';
import { baseName, joinPath } from './paths.ts';
import { compilePattern, hasWildcards, normalizeRelative, type CompiledPattern } from './pattern.ts';
import type { CopySpec } from './plan.ts';
import { readStreamBytes } from '../util/bytes.ts';

export interface ContextEntry {
  path: string;
  /** Unix st_mode: 0o100644 regular file, 0o040755 directory, 0o120777 symlink (data = target). */
  mode: number;
  data: Uint8Array;
  /** Modification time, seconds since the epoch; COPY keeps it (absent: the build's time). */
  mtime?: number;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

export function isDirectory(entry: { mode: number }): boolean {
  return (entry.mode & S_IFMT) === S_IFDIR;
}
export function isSymlink(entry: { mode: number }): boolean {
  return (entry.mode & S_IFMT) === S_IFLNK;
}

/**
 * A tar member as a context entry (path relative, mode with its file type), or null for what a build
 * context cannot hold (devices, fifos, hardlinks). Used for contexts read from the guest and `COPY --from`.
 */
export function contextEntryFromTar(item: { name: string; type: string; mode: number; mtime?: number; linkname?: string; data?: Uint8Array }): ContextEntry | null {
  const path = item.name.replace(/^\.?\/+/, '').replace(/\/+$/, '');
  const type = item.type === 'directory' ? 0o040000 : item.type === 'symlink' ? 0o120000 : item.type === 'file' ? 0o100000 : 0;
  if (!path || !type) return null;
  const data = item.type === 'symlink' ? new TextEncoder().encode(item.linkname ?? '') : (item.data ?? new Uint8Array());
  return { path, mode: type | (item.mode & 0o7777), data, ...(item.mtime !== undefined ? { mtime: item.mtime } : {}) };
}

// ---- .dockerignore ----------------------------------------------------------------------------

export interface IgnoreRule {
  /** `!pattern` lines re-include what earlier lines excluded. */
  exception: boolean;
  matcher: CompiledPattern;
  /** 1-based line in .dockerignore. */
  line: number;
}

/**
 * Reads .dockerignore like moby/patternmatcher's ReadAll: `#` lines are comments (only at the start
 * of a line), blanks are trimmed, `!` marks an exception, patterns are cleaned (`./a/` → `a`,
 * `/a` → `a`).
 */
export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, i) => {
      if (raw.startsWith('#')) return;
      let pattern = raw.trim();
      if (pattern === '') return;
      const exception = pattern.startsWith('!');
      if (exception) pattern = pattern.slice(1).trim();
      if (pattern === '') return;
      rules.push({ exception, matcher: compilePattern(pattern), line: i + 1 });
    });
  return rules;
}

/**
 * Whether a context path is excluded: each rule is tried against the path and each of its parent
 * directories, and the last rule that matches decides (MatchesOrParentMatches).
 */
export function isIgnored(rules: readonly IgnoreRule[], path: string): boolean {
  const clean = normalizeRelative(path);
  const parts = clean.split('/');
  const parents = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
  let excluded = false;
  for (const rule of rules) {
    // An exception only matters once excluded; an exclusion only while not yet excluded.
    if (rule.exception !== excluded) continue;
    const matches = rule.matcher.test(clean) || parents.some((p) => rule.matcher.test(p));
    if (matches) excluded = !rule.exception;
  }
  return excluded;
}

export interface FilterContextOptions {
  files: readonly ContextEntry[];
  /** .dockerignore text; when omitted, the context's own `.dockerignore` entry is used. */
  dockerignore?: string;
}

export interface FilteredContext {
  files: ContextEntry[];
  /** Paths left out by .dockerignore, for the UI ("excluded by .dockerignore"). */
  ignored: string[];
}

export function filterContext(options: FilterContextOptions): FilteredContext {
  const normalized = options.files.map((f) => ({ ...f, path: normalizeRelative(f.path) }));
  let text = options.dockerignore;
  if (text === undefined) {
    const entry = normalized.find((f) => f.path === '.dockerignore' && !isDirectory(f));
    text = entry ? new TextDecoder().decode(entry.data) : '';
  }
  const rules = parseDockerignore(text);
  const files: ContextEntry[] = [];
  const ignored: string[] = [];
  for (const file of normalized) {
    if (isIgnored(rules, file.path)) ignored.push(file.path);
    else files.push(file);
  }
  // A directory excluded as a whole but with a re-included file inside still exists for COPY.
  const kept = files.filter((f) => !isDirectory(f));
  for (const path of ignored) {
    const entry = normalized.find((f) => f.path === path)!;
    if (isDirectory(entry) && kept.some((f) => f.path.startsWith(path + '/'))) files.push(entry);
  }
  return { files, ignored: ignored.filter((p) => !files.some((f) => f.path === p)) };
}

// ---- COPY / ADD sources -----------------------------------------------------------------------

export interface CopyItem {
  /** Context path the item comes from. */
  source: string;
  /** Absolute path in the image. For an archive to extract, the directory to extract into. */
  target: string;
  entry: ContextEntry;
  /** ADD of a local tar: unpack it into `target` instead of copying the file. */
  extract?: ArchiveKind;
}

export interface CopyResolution {
  items: CopyItem[];
  /** Mirrors CopySpec.destIsDir, now knowing how many sources the wildcards matched. */
  destIsDir: boolean;
  /**
   * A single file copied to a destination without a trailing `/`: if that path already exists as a
   * directory in the image, the executor puts the file inside it under this name (Docker's rule).
   */
  fileNameIfDestIsDirectory?: string;
}

export interface ResolveSourcesOptions {
  /** The context after filterContext. */
  context: readonly ContextEntry[];
  copy: CopySpec;
  /** The instruction's Dockerfile line, for errors. */
  line: number;
}

/**
 * Expands a COPY/ADD step's sources against the build context: wildcards, directories (their
 * *contents* are copied), destination rules, and ADD's tar extraction. Throws DockerfileError for
 * a missing source, naming the line.
 */
export async function resolveCopySources(options: ResolveSourcesOptions): Promise<CopyResolution> {
  const { copy, line } = options;
  if (copy.origin.kind !== 'context') {
    throw new DockerfileError({ line, message: `${copy.kind} --from sources are read from the stage's image, not the build context`, hint: 'The executor resolves these in the stage filesystem' });
  }
  const index = new ContextIndex(options.context);
  const matches: { path: string; entry: ContextEntry }[] = [];
  for (const source of copy.sources) {
    const found = index.match(source);
    if (found.length === 0) {
      throw new DockerfileError({
        line,
        message: `${copy.kind} failed: file not found in build context or excluded by .dockerignore: stat ${source}: file does not exist`,
        hint: `Add ${source} to the build context, fix the name, or check that .dockerignore doesn't exclude it`,
      });
    }
    matches.push(...found);
  }
  const destIsDir = copy.destIsDir || matches.length + copy.inlineFiles.length > 1;
  if (destIsDir && !copy.destIsDir) {
    throw new DockerfileError({ line, message: `When using ${copy.kind} with more than one source file, the destination must be a directory and end with a /`, hint: `The wildcard matched ${matches.length} files: write the destination as ${copy.rawDest}/` });
  }

  const items: CopyItem[] = [];
  for (const match of matches) {
    if (isDirectory(match.entry)) {
      for (const child of index.below(match.path)) {
        items.push({ source: child.path, target: joinPath(copy.dest, child.path.slice(match.path === '.' ? 0 : match.path.length + 1)), entry: child });
      }
      continue;
    }
    const archive = copy.extractArchives && !isSymlink(match.entry) ? await detectArchive(match.entry.data) : null;
    if (archive) {
      items.push({ source: match.path, target: copy.dest, entry: match.entry, extract: archive });
    } else {
      items.push({ source: match.path, target: destIsDir ? joinPath(copy.dest, baseName(match.path)) : copy.dest, entry: match.entry });
    }
  }
  const single = !destIsDir && matches.length === 1 && !isDirectory(matches[0]!.entry) && !items[0]?.extract;
  return { items, destIsDir, fileNameIfDestIsDirectory: single ? baseName(matches[0]!.path) : undefined };
}

/** Paths in the context, with directories that are only implied by their files made explicit. */
class ContextIndex {
  private readonly byPath = new Map<string, ContextEntry>();

  constructor(entries: readonly ContextEntry[]) {
    for (const entry of entries) {
      const path = normalizeRelative(entry.path);
      this.byPath.set(path, { ...entry, path });
      const parts = path.split('/');
      for (let i = 1; i < parts.length; i++) {
        const dir = parts.slice(0, i).join('/');
        if (!this.byPath.has(dir)) this.byPath.set(dir, { path: dir, mode: S_IFDIR | 0o755, data: new Uint8Array() });
      }
    }
  }

  match(source: string): { path: string; entry: ContextEntry }[] {
    const clean = normalizeRelative(source);
    if (clean === '.') return [{ path: '.', entry: { path: '.', mode: S_IFDIR | 0o755, data: new Uint8Array() } }];
    if (!hasWildcards(source)) {
      const entry = this.byPath.get(clean);
      return entry ? [{ path: clean, entry }] : [];
    }
    const pattern = compilePattern(clean);
    return [...this.byPath.values()].filter((e) => pattern.test(e.path)).sort(byPath).map((entry) => ({ path: entry.path, entry }));
  }

  /** Everything under a directory ('.' = the whole context), sorted. */
  below(dir: string): ContextEntry[] {
    const prefix = dir === '.' ? '' : dir + '/';
    return [...this.byPath.values()].filter((e) => e.path.startsWith(prefix) && e.path !== dir).sort(byPath);
  }
}

function byPath(a: { path: string }, b: { path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

// ---- archives ---------------------------------------------------------------------------------

export type ArchiveKind = 'tar' | 'tar+gzip';

/** Docker's ADD decides by content, not by name: a tar, or a gzip whose contents are a tar. */
export async function detectArchive(data: Uint8Array): Promise<ArchiveKind | null> {
  if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) {
    const head = await gunzipHead(data, 512);
    return head && looksLikeTar(head) ? 'tar+gzip' : null;
  }
  return looksLikeTar(data) ? 'tar' : null;
}

/** A tar header: `ustar` magic at 257, or (old v7 tars) a valid header checksum. */
export function looksLikeTar(data: Uint8Array): boolean {
  if (data.length < 512) return false;
  const magic = String.fromCharCode(...data.subarray(257, 262));
  if (magic === 'ustar') return true;
  const stored = parseInt(String.fromCharCode(...data.subarray(148, 156)).replace(/\0.*$/s, '').trim(), 8);
  if (!Number.isFinite(stored)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : data[i]!;
  return sum === stored && data[0] !== 0;
}

async function gunzipHead(data: Uint8Array, bytes: number): Promise<Uint8Array | null> {
  try {
    const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
    return await readStreamBytes(stream, { stopAfter: bytes });
  } catch {
    return null;
  }
}
