/**
 * The lesson format (see lessons/README.md) and its validator. Everything here is pure: the loaders
 * hand in file contents, and get back `Lesson` objects or a list of problems that name the file and
 * the field ("lessons/03-copy-on-write/lesson.md: steps[2].checks[0].kind: unknown check …").
 */
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { ContainerState, LayerChangeKind, WritableChangeKind } from '../engine/api.ts';

// ---------------------------------------------------------------------------------------------------
// Types

/** A string matched as a substring, or as a regular expression when written `/…/flags`. */
export type Pattern = string;
export type ConfigField = 'Cmd' | 'Entrypoint' | 'Env' | 'WorkingDir' | 'User' | 'ExposedPorts' | 'Labels';

/** Fields every check may have. */
interface CheckBase {
  /** What the learner should aim for, in words; replaces the generic "this step wants …" in failures. */
  want?: string;
}

export interface LayerMatch {
  /** Layer index, bottom = 0; negative counts from the top (-1 = top layer). */
  layer: number;
  createdBy?: Pattern;
  /** The same layer (same diffID) as layer `layer` of another image. */
  sharedWith?: { image: string; layer: number };
  minSize?: number;
  maxSize?: number;
}

export interface BuildStepMatch {
  line?: number;
  instruction?: Pattern;
  cached: boolean;
}

export type Check = CheckBase &
  (
    | { kind: 'image-exists'; image: string; sameIdAs?: string; notSameIdAs?: string }
    | { kind: 'image-absent'; image: string }
    | { kind: 'layers'; image: string; count?: number; min?: number; max?: number; where?: LayerMatch[] }
    | { kind: 'layer-has-file'; image: string; path: string; layer?: number; change?: LayerChangeKind; minSize?: number }
    | { kind: 'layer-lacks-file'; image: string; path: string; layer?: number }
    | {
        kind: 'config';
        image: string;
        field: ConfigField;
        equals?: unknown;
        contains?: Pattern;
        notContains?: Pattern;
        absent?: boolean;
      }
    | {
        kind: 'container';
        name?: string;
        image?: string;
        state?: ContainerState;
        exitCode?: number;
        count?: number;
        writableEntries?: number;
        sizeRwMax?: number;
      }
    | { kind: 'writable-has'; container: string; path: string; change?: WritableChangeKind }
    | { kind: 'writable-lacks'; container: string; path: string }
    | { kind: 'volume-exists'; name: string; hasFile?: string; fileContains?: Pattern }
    | { kind: 'build-cached'; image?: string; all?: boolean; count?: number; min?: number; max?: number; steps?: BuildStepMatch[] }
    | { kind: 'command'; argv: string[]; exit?: number; stdout?: Pattern; stdoutNot?: Pattern; stderr?: Pattern }
    | {
        kind: 'container-command';
        container: string;
        argv: string[];
        exit?: number;
        stdout?: Pattern;
        stdoutNot?: Pattern;
        sameAs?: string[];
        notSameAs?: string[];
      }
  );

export type CheckKind = Check['kind'];

/** What the layer view and terminal should highlight while a step is current. */
export type Focus = 'editor' | 'terminal' | 'layers' | 'writable' | 'build' | 'containers' | 'images';

/**
 * A predict-then-run question: asked before the step's commands are shown, answered in the player,
 * the reason shown after. `answer` is the index of the right choice.
 */
export interface Prediction {
  question: string;
  choices: string[];
  answer: number;
  /** Why the right answer is right, in Markdown; shown once the learner has chosen. */
  why: string;
}

/** The ideas CURRICULUM.md's table numbers (1–15). */
export const CURRICULUM_IDEAS = 15;

export const LEVELS = ['beginner', 'intermediate'] as const;
export type Level = (typeof LEVELS)[number];

export interface Step {
  /** 0-based. */
  index: number;
  title: string;
  /**
   * A goal-only challenge (`## Challenge: …`): the prose states the goal and the catch, never the
   * commands; hints come one at a time; the checks test the outcome, so any solution passes.
   */
  challenge: boolean;
  predict?: Prediction;
  /** Markdown shown to the learner (the check block removed). */
  body: string;
  checks: Check[];
  hints: string[];
  focus?: Focus;
  /** The commands a learner would type for this step (from solution.sh). */
  commands: string[];
  /** solution.sh says to load solution/ into the workspace at this step (`#> apply solution`). */
  appliesSolution: boolean;
}

export interface LessonFile {
  /** Relative to files/ or solution/, with `/` separators: `Dockerfile`, `app/main.py`. */
  path: string;
  content: string;
}

export interface Lesson {
  /** Folder name, e.g. `03-copy-on-write`. */
  id: string;
  number: number;
  title: string;
  summary: string;
  /** CURRICULUM.md idea numbers (1–15). */
  ideas: number[];
  /** The wrong claim the lesson corrects, if any. */
  corrects?: string;
  /** The image tag the lesson builds (the app shows its layers). */
  image?: string;
  /** Where the lesson sits on the course map. */
  level: Level;
  /** About how long the lesson takes a newcomer, in minutes. */
  minutes: number;
  /** Markdown before the first step. */
  intro: string;
  /** Markdown under `## Recap`, shown when the lesson is complete. */
  recap: string;
  steps: Step[];
  files: LessonFile[];
  solution: LessonFile[];
}

/** The raw pieces of one lesson folder, as the loaders read them. */
export interface LessonSource {
  /** Folder name: `03-copy-on-write`. */
  id: string;
  /** How messages name the folder: `lessons/03-copy-on-write`. */
  dir: string;
  markdown: string | null;
  solutionScript: string | null;
  files: LessonFile[];
  solution: LessonFile[];
}

export class LessonProblem {
  constructor(
    /** `lessons/03-copy-on-write/lesson.md` */
    readonly file: string,
    /** `steps[2].checks[0].kind`, or '' for the file as a whole. */
    readonly field: string,
    readonly message: string,
  ) {}
  toString() {
    return this.field ? `${this.file}: ${this.field}: ${this.message}` : `${this.file}: ${this.message}`;
  }
}

export class LessonValidationError extends Error {
  constructor(readonly problems: LessonProblem[]) {
    super(`${problems.length} problem${problems.length === 1 ? '' : 's'} in lessons:\n` + problems.map((p) => `  ${p}`).join('\n'));
    this.name = 'LessonValidationError';
  }
}

// ---------------------------------------------------------------------------------------------------
// Field specs: one table per check kind, so the validator, the docs and the tests agree.

type FieldType =
  | 'string'
  | 'int'
  | 'uint'
  | 'bool'
  | 'pattern'
  | 'argv'
  | 'any'
  | { enum: readonly string[] }
  | { list: Record<string, FieldSpec> }
  | { object: Record<string, FieldSpec> };

interface FieldSpec {
  type: FieldType;
  required?: boolean;
}

const CHANGE_A_M_D = { enum: ['A', 'M', 'D'] satisfies LayerChangeKind[] } as const;
const CHANGE_A_C_D = { enum: ['A', 'C', 'D'] satisfies WritableChangeKind[] } as const;
export const CONTAINER_STATES = ['created', 'running', 'exited', 'paused'] as const satisfies readonly ContainerState[];
export const CONFIG_FIELDS = ['Cmd', 'Entrypoint', 'Env', 'WorkingDir', 'User', 'ExposedPorts', 'Labels'] as const;
export const FOCUS_VALUES = ['editor', 'terminal', 'layers', 'writable', 'build', 'containers', 'images'] as const;

const req = (type: FieldType): FieldSpec => ({ type, required: true });
const opt = (type: FieldType): FieldSpec => ({ type });

export const CHECK_SPECS: Record<CheckKind, Record<string, FieldSpec>> = {
  'image-exists': { image: req('string'), sameIdAs: opt('string'), notSameIdAs: opt('string') },
  'image-absent': { image: req('string') },
  layers: {
    image: req('string'),
    count: opt('uint'),
    min: opt('uint'),
    max: opt('uint'),
    where: opt({
      list: {
        layer: req('int'),
        createdBy: opt('pattern'),
        sharedWith: opt({ object: { image: req('string'), layer: req('int') } }),
        minSize: opt('uint'),
        maxSize: opt('uint'),
      },
    }),
  },
  'layer-has-file': { image: req('string'), path: req('string'), layer: opt('int'), change: opt(CHANGE_A_M_D), minSize: opt('uint') },
  'layer-lacks-file': { image: req('string'), path: req('string'), layer: opt('int') },
  config: {
    image: req('string'),
    field: req({ enum: CONFIG_FIELDS }),
    equals: opt('any'),
    contains: opt('pattern'),
    notContains: opt('pattern'),
    absent: opt('bool'),
  },
  container: {
    name: opt('string'),
    image: opt('string'),
    state: opt({ enum: CONTAINER_STATES }),
    exitCode: opt('int'),
    count: opt('uint'),
    writableEntries: opt('uint'),
    sizeRwMax: opt('uint'),
  },
  'writable-has': { container: req('string'), path: req('string'), change: opt(CHANGE_A_C_D) },
  'writable-lacks': { container: req('string'), path: req('string') },
  'volume-exists': { name: req('string'), hasFile: opt('string'), fileContains: opt('pattern') },
  'build-cached': {
    image: opt('string'),
    all: opt('bool'),
    count: opt('uint'),
    min: opt('uint'),
    max: opt('uint'),
    steps: opt({ list: { line: opt('uint'), instruction: opt('pattern'), cached: req('bool') } }),
  },
  command: { argv: req('argv'), exit: opt('int'), stdout: opt('pattern'), stdoutNot: opt('pattern'), stderr: opt('pattern') },
  'container-command': {
    container: req('string'),
    argv: req('argv'),
    exit: opt('int'),
    stdout: opt('pattern'),
    stdoutNot: opt('pattern'),
    sameAs: opt('argv'),
    notSameAs: opt('argv'),
  },
};

/** Fields allowed on every check besides its kind's own. */
const COMMON_CHECK_FIELDS: Record<string, FieldSpec> = { kind: req('string'), want: opt('string') };

export const CHECK_KINDS = Object.keys(CHECK_SPECS) as CheckKind[];

const FRONTMATTER_SPEC: Record<string, FieldSpec> = {
  title: req('string'),
  summary: req('string'),
  ideas: req('any'),
  corrects: opt('string'),
  image: opt('string'),
  level: req({ enum: LEVELS }),
  minutes: req('uint'),
};

const PREDICT_SPEC: Record<string, FieldSpec> = {
  question: req('string'),
  choices: req('any'),
  answer: req('uint'),
  why: req('string'),
};

const STEP_BLOCK_SPEC: Record<string, FieldSpec> = {
  checks: req('any'),
  hints: opt('any'),
  focus: opt({ enum: FOCUS_VALUES }),
  predict: opt('any'),
};

// ---------------------------------------------------------------------------------------------------
// Helpers

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

export function didYouMean(word: string, options: readonly string[]): string {
  let best = '';
  let bestScore = Infinity;
  const w = word.toLowerCase();
  for (const o of options) {
    const lo = o.toLowerCase();
    // a shared prefix/containment counts as close ("layer-count" → "layers")
    const score = lo.includes(w) || w.includes(lo) || w.split('-')[0] === lo.replace(/s$/, '') ? 1 : distance(w, lo);
    if (score < bestScore) {
      bestScore = score;
      best = o;
    }
  }
  return best && bestScore <= Math.max(2, Math.floor(word.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

export function isRegexPattern(p: string): boolean {
  return /^\/.+\/[gimsuy]*$/s.test(p);
}

/** Compile a pattern (throws on a bad regex). */
export function toMatcher(p: Pattern): (s: string) => boolean {
  if (isRegexPattern(p)) {
    const end = p.lastIndexOf('/');
    const re = new RegExp(p.slice(1, end), p.slice(end + 1).replace('g', ''));
    return (s) => re.test(s);
  }
  return (s) => s.includes(p);
}

class Problems {
  readonly list: LessonProblem[] = [];
  add(file: string, field: string, message: string) {
    this.list.push(new LessonProblem(file, field, message));
  }
}

const join = (base: string, key: string) => (base ? `${base}.${key}` : key);

/** Check `value` against a spec table; returns the value when it has no problems. */
function checkFields(
  problems: Problems,
  file: string,
  base: string,
  value: unknown,
  spec: Record<string, FieldSpec>,
  what: string,
): Record<string, unknown> | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.add(file, base, `expected a mapping (${what}), got ${describe(value)}`);
    return null;
  }
  const obj = value as Record<string, unknown>;
  const before = problems.list.length;
  for (const key of Object.keys(obj)) {
    if (!(key in spec)) {
      problems.add(file, join(base, key), `unknown field for ${what}${didYouMean(key, Object.keys(spec))}; allowed: ${Object.keys(spec).join(', ')}`);
    }
  }
  for (const [key, f] of Object.entries(spec)) {
    const v = obj[key];
    if (v === undefined || v === null) {
      if (f.required) problems.add(file, join(base, key), `required for ${what}`);
      continue;
    }
    checkType(problems, file, join(base, key), v, f.type);
  }
  return problems.list.length === before ? obj : null;
}

function checkType(problems: Problems, file: string, field: string, v: unknown, type: FieldType) {
  const bad = (want: string) => problems.add(file, field, `expected ${want}, got ${describe(v)}`);
  if (type === 'any') return;
  if (type === 'string') {
    if (typeof v !== 'string' || v.trim() === '') bad('a non-empty string');
  } else if (type === 'int' || type === 'uint') {
    if (typeof v !== 'number' || !Number.isInteger(v) || (type === 'uint' && v < 0)) bad(type === 'uint' ? 'a whole number ≥ 0' : 'a whole number');
  } else if (type === 'bool') {
    if (typeof v !== 'boolean') bad('true or false');
  } else if (type === 'pattern') {
    if (typeof v !== 'string' || v === '') return bad('a string or /regex/');
    if (isRegexPattern(v)) {
      try {
        toMatcher(v);
      } catch (e) {
        problems.add(file, field, `bad regular expression ${v}: ${(e as Error).message}`);
      }
    }
  } else if (type === 'argv') {
    if (!Array.isArray(v) || v.length === 0 || !v.every((a) => typeof a === 'string')) bad('a list of strings (program and arguments), e.g. [cat, /etc/hostname]');
  } else if ('enum' in type) {
    if (typeof v !== 'string' || !type.enum.includes(v)) {
      problems.add(file, field, `expected one of ${type.enum.join(', ')}, got ${describe(v)}${typeof v === 'string' ? didYouMean(v, type.enum) : ''}`);
    }
  } else if ('list' in type) {
    if (!Array.isArray(v) || v.length === 0) return bad('a non-empty list');
    v.forEach((item, i) => checkFields(problems, file, `${field}[${i}]`, item, type.list, field.split('.').pop()!.replace(/\[\d+\]$/, '') + ' entry'));
  } else if ('object' in type) {
    checkFields(problems, file, field, v, type.object, field.split('.').pop()!);
  }
}

/** Rules that span fields of one check. */
function checkSemantics(problems: Problems, file: string, base: string, c: Record<string, unknown>) {
  const has = (k: string) => c[k] !== undefined && c[k] !== null;
  const need = (msg: string) => problems.add(file, base, msg);
  switch (c.kind) {
    case 'layers':
      if (!['count', 'min', 'max', 'where'].some(has)) need('a layers check needs count, min, max or where');
      if (has('count') && (has('min') || has('max'))) need('give count, or min/max, not both');
      (Array.isArray(c.where) ? c.where : []).forEach((w: Record<string, unknown>, i: number) => {
        if (!['createdBy', 'sharedWith', 'minSize', 'maxSize'].some((k) => w?.[k] !== undefined))
          problems.add(file, `${base}.where[${i}]`, 'needs createdBy, sharedWith, minSize or maxSize');
      });
      break;
    case 'config':
      if (!['equals', 'contains', 'notContains', 'absent'].some(has)) need('a config check needs equals, contains, notContains or absent');
      break;
    case 'container':
      if (!has('name') && !has('image')) need('a container check needs name or image (which containers to look at)');
      if (!['state', 'exitCode', 'count', 'writableEntries', 'sizeRwMax'].some(has)) need('a container check needs state, exitCode, count, writableEntries or sizeRwMax');
      break;
    case 'build-cached':
      if (!['all', 'count', 'min', 'max', 'steps'].some(has)) need('a build-cached check needs all, count, min, max or steps');
      (Array.isArray(c.steps) ? c.steps : []).forEach((s: Record<string, unknown>, i: number) => {
        if (s?.line === undefined && s?.instruction === undefined) problems.add(file, `${base}.steps[${i}]`, 'needs line or instruction');
      });
      break;
    case 'volume-exists':
      if (has('fileContains') && !has('hasFile')) problems.add(file, `${base}.fileContains`, 'needs hasFile (which file to read)');
      break;
    case 'container-command':
      break;
  }
}

function validateCheck(problems: Problems, file: string, base: string, raw: unknown): Check | null {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.add(file, base, `expected a check (a mapping with kind: …), got ${describe(raw)}`);
    return null;
  }
  const kind = (raw as Record<string, unknown>).kind;
  if (typeof kind !== 'string') {
    problems.add(file, `${base}.kind`, `required; one of ${CHECK_KINDS.join(', ')}`);
    return null;
  }
  if (!(kind in CHECK_SPECS)) {
    problems.add(file, `${base}.kind`, `unknown check "${kind}"${didYouMean(kind, CHECK_KINDS)}`);
    return null;
  }
  const spec = { ...COMMON_CHECK_FIELDS, ...CHECK_SPECS[kind as CheckKind] };
  const before = problems.list.length;
  const obj = checkFields(problems, file, base, raw, spec, `a "${kind}" check`);
  if (obj) checkSemantics(problems, file, base, obj);
  return problems.list.length === before ? (obj as unknown as Check) : null;
}

// ---------------------------------------------------------------------------------------------------
// lesson.md

export const LESSON_ID = /^(\d{2})-[a-z0-9]+(?:-[a-z0-9]+)*$/;
const STEP_HEADING = /^##\s+(Step|Challenge):\s*(.*)$/;
const RECAP_HEADING = /^##\s+Recap\s*$/;
const FENCE = /^(`{3,}|~{3,})\s*([\w-]*)\s*$/;

interface RawStep {
  title: string;
  challenge: boolean;
  lines: string[];
}

function splitFrontmatter(md: string): { yaml: string | null; body: string; bodyLine: number } {
  const text = md.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (!text.startsWith('---\n')) return { yaml: null, body: text, bodyLine: 1 };
  const end = text.indexOf('\n---', 4);
  if (end < 0) return { yaml: null, body: text, bodyLine: 1 };
  const after = text.indexOf('\n', end + 4);
  const yaml = text.slice(4, end + 1);
  const body = after < 0 ? '' : text.slice(after + 1);
  return { yaml, body, bodyLine: yaml.split('\n').length + 2 };
}

export interface SolutionScript {
  /** Commands per step, index 0 = step 1. */
  steps: { commands: string[]; appliesSolution: boolean }[];
}

/** `# step N` starts a block; `#> apply solution` loads solution/; a trailing `\` continues a line. */
export function parseSolutionScript(problems: Problems | null, file: string, text: string): SolutionScript {
  const steps: { number: number; commands: string[]; appliesSolution: boolean }[] = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let pending = '';
  lines.forEach((line, i) => {
    const stepMatch = /^#\s*step\s+(\d+)\b/i.exec(line.trim());
    if (pending) {
      pending += '\n' + line;
      if (!line.endsWith('\\')) {
        steps.at(-1)!.commands.push(pending);
        pending = '';
      }
      return;
    }
    const t = line.trim();
    if (stepMatch) {
      const n = Number(stepMatch[1]);
      const want = steps.length + 1;
      if (n !== want) problems?.add(file, `line ${i + 1}`, `"# step ${n}" out of order: expected "# step ${want}"`);
      steps.push({ number: n, commands: [], appliesSolution: false });
      return;
    }
    if (/^#>\s*apply solution\s*$/.test(t)) {
      if (!steps.length) problems?.add(file, `line ${i + 1}`, '"#> apply solution" before the first "# step 1"');
      else steps.at(-1)!.appliesSolution = true;
      return;
    }
    if (t.startsWith('#>')) {
      problems?.add(file, `line ${i + 1}`, `unknown directive "${t}" (the only one is "#> apply solution")`);
      return;
    }
    if (t === '' || t.startsWith('#')) return;
    if (!steps.length) {
      problems?.add(file, `line ${i + 1}`, 'command before the first "# step 1" comment');
      return;
    }
    if (line.endsWith('\\')) pending = line;
    else steps.at(-1)!.commands.push(line.trimEnd());
  });
  if (pending) problems?.add(file, 'end', 'the last command ends with "\\" (a continuation with nothing after it)');
  return { steps: steps.map(({ commands, appliesSolution }) => ({ commands, appliesSolution })) };
}

/** Validate one lesson folder. Returns the lesson, or null with problems added. */
function buildLesson(problems: Problems, src: LessonSource): Lesson | null {
  const before = problems.list.length;
  const mdFile = `${src.dir}/lesson.md`;
  const shFile = `${src.dir}/solution.sh`;
  const idMatch = LESSON_ID.exec(src.id);
  if (!idMatch) problems.add(src.dir, '', `folder name must be NN-slug (two digits, a dash, lowercase words with dashes), e.g. 03-copy-on-write`);
  if (src.markdown === null) {
    problems.add(mdFile, '', 'missing (every lesson folder needs lesson.md)');
    return null;
  }
  const { yaml, body } = splitFrontmatter(src.markdown);
  if (yaml === null) {
    problems.add(mdFile, 'frontmatter', 'missing: the file must start with a --- block (title, summary, ideas)');
    return null;
  }
  let fm: unknown;
  try {
    fm = parseYaml(yaml);
  } catch (e) {
    problems.add(mdFile, 'frontmatter', `not valid YAML: ${e instanceof YAMLParseError ? e.message.split('\n')[0] : String(e)}`);
    return null;
  }
  const front = checkFields(problems, mdFile, '', fm ?? {}, FRONTMATTER_SPEC, 'frontmatter');
  let ideas: number[] = [];
  if (front) {
    const raw = front.ideas;
    if (!Array.isArray(raw) || raw.length === 0 || !raw.every((n) => Number.isInteger(n) && n >= 1 && n <= CURRICULUM_IDEAS)) {
      problems.add(mdFile, 'ideas', `expected a non-empty list of CURRICULUM idea numbers 1–${CURRICULUM_IDEAS}, e.g. [3, 4], got ${JSON.stringify(raw)}`);
    } else ideas = raw as number[];
    if (typeof front.image === 'string' && !/^[a-z0-9][a-z0-9._/-]*(:[\w][\w.-]*)?$/.test(front.image)) {
      problems.add(mdFile, 'image', `not a valid image tag: "${front.image}" (lowercase name, optional :tag)`);
    }
  }

  // Split the body: intro, `## Step: title` sections, optional `## Recap`.
  const introLines: string[] = [];
  const recapLines: string[] = [];
  const raws: RawStep[] = [];
  let where: 'intro' | 'step' | 'recap' = 'intro';
  let fence: string | null = null;
  for (const line of body.split('\n')) {
    const f = FENCE.exec(line);
    if (f && fence === null) fence = f[1]!;
    else if (f && fence !== null && line.trim().startsWith(fence) && f[2] === '') fence = null;
    else if (fence === null) {
      const s = STEP_HEADING.exec(line);
      if (s) {
        raws.push({ title: s[2]!.trim(), challenge: s[1] === 'Challenge', lines: [] });
        where = 'step';
        continue;
      }
      if (RECAP_HEADING.test(line)) {
        where = 'recap';
        continue;
      }
    }
    (where === 'intro' ? introLines : where === 'recap' ? recapLines : raws.at(-1)!.lines).push(line);
  }
  if (raws.length === 0) problems.add(mdFile, 'steps', 'no steps: add at least one "## Step: <title>" (or a final "## Challenge: <title>") heading followed by prose and a ```check block');

  const steps: Step[] = [];
  raws.forEach((raw, i) => {
    const base = `steps[${i}]`;
    if (!raw.title) problems.add(mdFile, `${base}.title`, 'empty: write "## Step: <title>"');
    // Find ```check blocks.
    const blocks: { start: number; end: number }[] = [];
    for (let j = 0; j < raw.lines.length; j++) {
      const f = FENCE.exec(raw.lines[j]!);
      if (!f) continue;
      const marker = f[1]!;
      let k = j + 1;
      while (k < raw.lines.length && !(raw.lines[k]!.trim().startsWith(marker) && FENCE.exec(raw.lines[k]!)?.[2] === '')) k++;
      if (f[2] === 'check') blocks.push({ start: j, end: k });
      j = k;
    }
    if (blocks.length !== 1) {
      problems.add(mdFile, base, blocks.length === 0 ? `step "${raw.title}" has no \`\`\`check block` : `step "${raw.title}" has ${blocks.length} \`\`\`check blocks; write one`);
      return;
    }
    const { start, end } = blocks[0]!;
    const yamlText = raw.lines.slice(start + 1, end).join('\n');
    const prose = [...raw.lines.slice(0, start), ...raw.lines.slice(end + 1)].join('\n').trim();
    if (!prose) problems.add(mdFile, `${base}.body`, `step "${raw.title}" has no prose: tell the learner what to do and why`);
    let block: unknown;
    try {
      block = parseYaml(yamlText);
    } catch (e) {
      problems.add(mdFile, `${base}.check`, `not valid YAML: ${e instanceof YAMLParseError ? e.message.split('\n')[0] : String(e)}`);
      return;
    }
    const obj = checkFields(problems, mdFile, base, block, STEP_BLOCK_SPEC, 'a ```check block');
    if (!obj) return;
    const checks: Check[] = [];
    if (!Array.isArray(obj.checks) || obj.checks.length === 0) {
      problems.add(mdFile, `${base}.checks`, 'expected a non-empty list of checks: a step completes when all its checks pass');
    } else {
      obj.checks.forEach((c, j) => {
        const check = validateCheck(problems, mdFile, `${base}.checks[${j}]`, c);
        if (check) checks.push(check);
      });
    }
    const hints: string[] = [];
    if (obj.hints !== undefined && obj.hints !== null) {
      if (!Array.isArray(obj.hints)) problems.add(mdFile, `${base}.hints`, `expected a list of strings, got ${describe(obj.hints)}`);
      else
        obj.hints.forEach((h, j) => {
          if (typeof h !== 'string' || !h.trim()) problems.add(mdFile, `${base}.hints[${j}]`, `expected a non-empty string, got ${describe(h)}`);
          else hints.push(h);
        });
    }
    let predict: Prediction | undefined;
    if (obj.predict !== undefined && obj.predict !== null) {
      const pr = checkFields(problems, mdFile, `${base}.predict`, obj.predict, PREDICT_SPEC, 'a prediction');
      if (pr) {
        const choices = pr.choices;
        if (!Array.isArray(choices) || choices.length < 2 || !choices.every((c) => typeof c === 'string' && c.trim())) {
          problems.add(mdFile, `${base}.predict.choices`, `expected a list of at least two answers, got ${describe(choices)}`);
        } else if ((pr.answer as number) >= choices.length) {
          problems.add(mdFile, `${base}.predict.answer`, `is ${String(pr.answer)}, but there are only ${choices.length} choices (counting from 0)`);
        } else predict = { question: pr.question as string, choices: choices as string[], answer: pr.answer as number, why: pr.why as string };
      }
    }
    if (raw.challenge) {
      if (i !== raws.length - 1) problems.add(mdFile, base, `challenge "${raw.title}" must be the last step`);
      if (/^(`{3,}|~{3,})\s*(sh|shell|bash|console)\s*$/m.test(prose)) {
        problems.add(mdFile, `${base}.body`, `challenge "${raw.title}" shows commands: state the goal and the catch, and leave the commands to hints`);
      }
      if (hints.length === 0) problems.add(mdFile, `${base}.hints`, `challenge "${raw.title}" needs hints (revealed one at a time)`);
    }
    steps.push({
      index: i,
      title: raw.title,
      challenge: raw.challenge,
      predict,
      body: prose,
      checks,
      hints,
      focus: obj.focus as Focus | undefined,
      commands: [],
      appliesSolution: false,
    });
  });

  // solution.sh
  if (src.solutionScript === null) {
    problems.add(shFile, '', 'missing: write the commands a learner types, under "# step 1", "# step 2" … comments');
  } else {
    const script = parseSolutionScript(problems, shFile, src.solutionScript);
    if (raws.length && script.steps.length !== raws.length) {
      problems.add(shFile, 'steps', `has ${script.steps.length} "# step N" blocks; lesson.md has ${raws.length} steps`);
    }
    script.steps.forEach((s, i) => {
      if (s.commands.length === 0 && !s.appliesSolution) problems.add(shFile, `step ${i + 1}`, 'no commands: a step needs something to do');
      const step = steps.find((st) => st.index === i);
      if (step) {
        step.commands = s.commands;
        step.appliesSolution = s.appliesSolution;
      }
    });
    if (script.steps.some((s) => s.appliesSolution) && src.solution.length === 0) {
      problems.add(`${src.dir}/solution`, '', 'solution.sh says "#> apply solution" but solution/ is empty or missing');
    }
    if (src.solution.length > 0 && !script.steps.some((s) => s.appliesSolution)) {
      problems.add(shFile, '', 'solution/ has files but no step says "#> apply solution" (at the point the learner edits them)');
    }
  }
  if (src.files.length === 0) problems.add(`${src.dir}/files`, '', 'missing or empty: the starting workspace (at least a Dockerfile, or a .keep file)');

  if (problems.list.length > before || !front) return null;
  return {
    id: src.id,
    number: Number(idMatch?.[1] ?? 0),
    title: front.title as string,
    summary: front.summary as string,
    ideas,
    corrects: front.corrects as string | undefined,
    image: front.image as string | undefined,
    level: front.level as Level,
    minutes: front.minutes as number,
    intro: introLines.join('\n').trim(),
    recap: recapLines.join('\n').trim(),
    steps,
    files: src.files.filter((f) => !f.path.endsWith('.keep')),
    solution: src.solution,
  };
}

/** Validate one lesson; returns it, or the problems. */
export function validateLesson(src: LessonSource): { lesson: Lesson | null; problems: LessonProblem[] } {
  const problems = new Problems();
  const lesson = buildLesson(problems, src);
  return { lesson, problems: problems.list };
}

/** Validate a whole course: every lesson, plus unique numbers. Throws `LessonValidationError`. */
export function buildCourse(sources: LessonSource[]): Lesson[] {
  const problems = new Problems();
  const lessons: Lesson[] = [];
  const numbers = new Map<string, string>();
  for (const src of [...sources].sort((a, b) => a.id.localeCompare(b.id))) {
    const n = LESSON_ID.exec(src.id)?.[1];
    if (n && numbers.has(n)) problems.add(src.dir, '', `number ${n} is already used by ${numbers.get(n)}`);
    if (n) numbers.set(n, src.id);
    const lesson = buildLesson(problems, src);
    if (lesson) lessons.push(lesson);
  }
  if (problems.list.length) throw new LessonValidationError(problems.list);
  return lessons;
}
