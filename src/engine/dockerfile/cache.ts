/**
 * Build cache keys, keyed like Docker's classic builder: a step is reused when its parent is the
 * same, its instruction reads the same after substitution, the build args RUN sees are the same,
 * and (COPY/ADD) every source file has the same path, mode and bytes. The key is a sha256 of those
 * inputs; the inputs are kept so explainMiss() can tell the learner *why* a step rebuilt.
 */
import type { LineRange } from './errors.ts';
import type { CopyItem } from './context.ts';
import type { Step } from './plan.ts';

export interface FileFingerprint {
  /** Where the file lands in the image (so renaming a destination busts the cache too). */
  path: string;
  /** Where it came from in the context, for messages. */
  source: string;
  mode: number;
  /** `sha256:<hex>` of the bytes (for a symlink: of its target). */
  digest: string;
}

export interface CacheInputs {
  /**
   * The previous step's key; for a stage's first step the base image's digest (or the base stage's
   * last key). Config-only steps have keys too, so an ENV change reaches every later step.
   */
  parent: string;
  /** The step's text after substitution (heredoc bodies included). */
  instruction: string;
  /** Build args RUN sees (`|N K=V` in history); empty for other steps. */
  buildArgs: Record<string, string>;
  /** COPY/ADD: every source file, sorted by path. */
  files: FileFingerprint[];
  /** COPY --from=<stage>: that stage's final key (its files are not in the context). */
  fromStage?: string;
  /** Where the step was, for messages only: moving a line does not change the key. */
  lines: LineRange;
}

export interface CacheKey {
  /** `sha256:<hex>` */
  key: string;
  inputs: CacheInputs;
  /** What went into the key, one line per ingredient, for a tooltip. */
  explanation: string[];
}

export interface CacheKeyOptions {
  step: Step;
  parent: string;
  /** Fingerprints of the files COPY/ADD reads (see fingerprintItems). */
  files?: FileFingerprint[];
  fromStage?: string;
}

export async function computeCacheKey(options: CacheKeyOptions): Promise<CacheKey> {
  const { step } = options;
  const buildArgs = step.run ? Object.fromEntries(step.run.historyArgs.map(splitKeyValue)) : {};
  const files = [...(options.files ?? [])].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const inputs: CacheInputs = { parent: options.parent, instruction: step.text, buildArgs, files, lines: step.lines, fromStage: options.fromStage };
  // JSON of the inputs without `lines`: a stable, unambiguous encoding.
  const material = JSON.stringify([inputs.parent, inputs.instruction, Object.entries(buildArgs).sort(), files.map((f) => [f.path, f.mode, f.digest]), inputs.fromStage ?? null]);
  const key = await sha256Hex(new TextEncoder().encode(material));
  const explanation = [
    `parent: ${short(options.parent)}`,
    `instruction (line ${step.lines.start}): ${step.text.split('\n')[0]}`,
    ...Object.entries(buildArgs).map(([k, v]) => `build arg ${k}=${v}`),
    ...files.map((f) => `file ${f.source} (${(f.mode & 0o7777).toString(8)}, ${short(f.digest)})`),
    ...(options.fromStage ? [`stage result ${short(options.fromStage)}`] : []),
  ];
  return { key: `sha256:${key}`, inputs, explanation };
}

/** Fingerprints what a COPY/ADD copies: destination path, mode and content digest. */
export async function fingerprintItems(items: readonly CopyItem[]): Promise<FileFingerprint[]> {
  return Promise.all(
    items.map(async (item) => ({ path: item.target, source: item.source, mode: item.entry.mode, digest: `sha256:${await sha256Hex(item.entry.data)}` })),
  );
}

export type CacheMissReason =
  | { kind: 'no-previous'; message: string }
  | { kind: 'parent'; message: string }
  | { kind: 'instruction'; message: string; before: string; after: string }
  | { kind: 'build-arg'; message: string; name: string; before?: string; after?: string }
  | { kind: 'file'; message: string; path: string; change: 'added' | 'removed' | 'modified' | 'mode' }
  | { kind: 'stage'; message: string };

export interface ExplainMissOptions {
  /** Inputs of the step the last time it was built (undefined: never built). */
  previous: CacheInputs | undefined;
  current: CacheInputs;
}

/**
 * Why a step missed the cache, most specific first: the step's own changes (line changed, file
 * changed, build arg changed), then "a previous step changed". Empty when nothing differs.
 */
export function explainMiss(options: ExplainMissOptions): CacheMissReason[] {
  const { previous, current } = options;
  const line = current.lines.start;
  if (!previous) return [{ kind: 'no-previous', message: `line ${line} has not been built before` }];
  const reasons: CacheMissReason[] = [];
  if (previous.instruction !== current.instruction) {
    reasons.push({ kind: 'instruction', message: `line ${line} changed`, before: previous.instruction, after: current.instruction });
  }
  for (const name of new Set([...Object.keys(previous.buildArgs), ...Object.keys(current.buildArgs)])) {
    const before = previous.buildArgs[name];
    const after = current.buildArgs[name];
    if (before !== after) {
      const message = before === undefined ? `build arg ${name} is new (${after})` : after === undefined ? `build arg ${name} is gone` : `build arg ${name} changed (${before} → ${after})`;
      reasons.push({ kind: 'build-arg', message, name, before, after });
    }
  }
  const before = new Map(previous.files.map((f) => [f.path, f]));
  const after = new Map(current.files.map((f) => [f.path, f]));
  for (const [path, file] of after) {
    const old = before.get(path);
    if (!old) reasons.push({ kind: 'file', message: `${file.source} was added`, path, change: 'added' });
    else if (old.digest !== file.digest) reasons.push({ kind: 'file', message: `${file.source} changed`, path, change: 'modified' });
    else if (old.mode !== file.mode) reasons.push({ kind: 'file', message: `${file.source} changed mode (${(old.mode & 0o7777).toString(8)} → ${(file.mode & 0o7777).toString(8)})`, path, change: 'mode' });
  }
  for (const [path, file] of before) {
    if (!after.has(path)) reasons.push({ kind: 'file', message: `${file.source} was removed`, path, change: 'removed' });
  }
  if (previous.fromStage !== current.fromStage) reasons.push({ kind: 'stage', message: 'the stage it copies from changed' });
  if (previous.parent !== current.parent) reasons.push({ kind: 'parent', message: 'a previous step changed' });
  return reasons;
}

export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

function splitKeyValue(entry: string): [string, string] {
  const eq = entry.indexOf('=');
  return [entry.slice(0, eq), entry.slice(eq + 1)];
}

function short(digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  return hex.length > 12 ? hex.slice(0, 12) : digest;
}
