/**
 * Build progress in BuildKit's `--progress=plain` style, from BuildEvents: numbered vertices (`#3 [2/4] RUN
 * echo hi`), output lines with their time offset (`#3 0.312 hi`), `#3 CACHED` / `#3 DONE 0.4s`, the export
 * vertex, and on failure the Dockerfile excerpt with the failing line marked `>>>` followed by
 * `ERROR: failed to solve: …`. The `docker build` verb (images.ts) prints it; the app's build
 * panel reduces the same events to its own view (BuildLog in src/ui/panels/build-log.ts).
 */
import { layerLine } from './transfer-progress.ts';
import type { BuildEvent, BuildStepInfo } from '../engine/index.ts';
import { humanSize } from './format.ts';
import { fullyQualified, parseReference } from '../engine/index.ts';

export interface BuildProgressOptions {
  write(text: string): void;
  /** The Dockerfile text: for FROM / metadata vertices and the excerpt around a failing line. */
  dockerfile?: string;
  /** Name shown in `Dockerfile:3` (the `-f` file's base name). */
  dockerfileName?: string;
  /** Bytes sent as the build context (`transferring context: 1.2kB done`). */
  contextBytes?: number;
  /** Print the `#0 building with …` line and the `[internal]` vertices (default true). */
  internal?: boolean;
}

export interface BuildProgress {
  onEvent(event: BuildEvent): void;
  /** True once an `ERROR: failed to solve` line was written (so callers don't print the error twice). */
  readonly failed: boolean;
}

const secs = (ms: number, digits = 1) => (Math.max(0, ms) / 1000).toFixed(digits);

interface FromLine {
  line: number;
  image: string;
  stageName?: string;
}

/** The FROM lines of a Dockerfile (continuations are rare on FROM lines and are not followed). */
export function fromLines(dockerfile: string): FromLine[] {
  const result: FromLine[] = [];
  dockerfile.split('\n').forEach((text, i) => {
    const match = /^\s*from\s+(.*)$/i.exec(text);
    if (!match) return;
    const words = match[1].trim().split(/\s+/).filter((w) => !w.startsWith('--'));
    if (!words[0]) return;
    const as = words[1]?.toLowerCase() === 'as' ? words[2] : undefined;
    result.push({ line: i + 1, image: words[0], ...(as ? { stageName: as.toLowerCase() } : {}) });
  });
  return result;
}

/** `busybox` → `docker.io/library/busybox:latest`, as BuildKit names images; unparsable refs unchanged. */
function qualified(ref: string): string {
  try {
    return fullyQualified(parseReference(ref));
  } catch {
    return ref;
  }
}

/**
 * BuildKit's source excerpt: the failing lines marked `>>>`, padded with context lines around them (4 lines
 * of context for a single line, 2 for a range), between dashed rules.
 */
export function dockerfileExcerpt(options: { dockerfile: string; name?: string; line: number; endLine?: number }): string {
  const lines = options.dockerfile.split('\n');
  const first = Math.min(Math.max(1, options.line), lines.length);
  const last = Math.min(Math.max(first, options.endLine ?? first), lines.length);
  let start = first;
  let end = last;
  const pad = start === end ? 4 : 2;
  for (let added = 0; added < pad; ) {
    const before = added;
    if (start > 1 && added < pad) {
      start--;
      added++;
    }
    if (end < lines.length && added < pad) {
      end++;
      added++;
    }
    if (added === before) break;
  }
  const rule = '--------------------\n';
  let text = `${options.name ?? 'Dockerfile'}:${first === last ? first : `${first}-${last}`}\n${rule}`;
  for (let n = start; n <= end; n++) {
    const mark = n >= first && n <= last ? '>>>' : '   ';
    text += ` ${String(n).padStart(3)} | ${mark} ${lines[n - 1]}\n`;
  }
  return text + rule;
}

export function createBuildProgress(options: BuildProgressOptions): BuildProgress {
  const { write } = options;
  const name = options.dockerfileName ?? 'Dockerfile';
  const froms = options.dockerfile === undefined ? [] : fromLines(options.dockerfile);
  const stageNames = new Set(froms.flatMap((f) => (f.stageName ? [f.stageName] : [])));
  const isImage = (ref: string) => ref.toLowerCase() !== 'scratch' && !stageNames.has(ref.toLowerCase()) && !/^\d+$/.test(ref);

  let next = 1;
  const vertex = (title: string, body: string[] = [], done: string | null = 'DONE 0.0s') => {
    const n = next++;
    write(`#${n} ${title}\n`);
    for (const line of body) write(`#${n} ${line}\n`);
    if (done) write(`#${n} ${done}\n\n`);
    return n;
  };

  const stepNumbers = new Map<number, number>();
  const pending = new Map<number, { text: string; at: number }>();
  const recent = new Map<number, string[]>();
  const fromShown = new Set<number>();
  const warnings: { line: number; message: string }[] = [];
  let failedStep: BuildStepInfo | undefined;
  let failed = false;

  const label = (step: BuildStepInfo, position = step.stageStep) =>
    `[${step.stage ? `${step.stage} ` : ''}${position}/${step.stageSteps}]`;

  const emitLine = (step: BuildStepInfo, text: string, at: number) => {
    const line = `${secs(at, 3)} ${text}`;
    write(`#${stepNumbers.get(step.n)} ${line}\n`);
    const lines = recent.get(step.n) ?? [];
    lines.push(line);
    recent.set(step.n, lines.slice(-6));
  };
  const flush = (step: BuildStepInfo) => {
    const rest = pending.get(step.n);
    if (rest && rest.text) emitLine(step, rest.text, rest.at);
    pending.delete(step.n);
  };

  const start = (steps: BuildStepInfo[]) => {
    if (options.internal === false) return;
    write('#0 building with "default" instance using docker driver\n\n');
    const size = humanSize(new TextEncoder().encode(options.dockerfile ?? '').length);
    vertex(`[internal] load build definition from ${name}`, [`transferring dockerfile: ${size} done`]);
    for (const image of new Set(froms.map((f) => f.image).filter(isImage))) {
      vertex(`[internal] load metadata for ${qualified(image)}`);
    }
    vertex('[internal] load .dockerignore', ['transferring context: 2B done']);
    if (steps.some((s) => /^(copy|add)\s/i.test(s.instruction) && !/--from[= ]/i.test(s.instruction))) {
      vertex('[internal] load build context', [`transferring context: ${humanSize(options.contextBytes ?? 0)} done`]);
    }
  };

  const stepStart = (step: BuildStepInfo) => {
    const from = [...froms].reverse().find((f) => f.line < step.line);
    if (from && !fromShown.has(from.line)) {
      fromShown.add(from.line);
      if (isImage(from.image)) vertex(`${label(step, 1)} FROM ${qualified(from.image)}`);
    }
    // BuildKit shows no vertex for config-only instructions (ENV, CMD, …), but always one for WORKDIR.
    if (step.configOnly && !/^workdir\s/i.test(step.instruction)) return;
    stepNumbers.set(step.n, vertex(`${label(step)} ${step.instruction}`, [], null));
  };

  const output = (step: BuildStepInfo, text: string, at: number) => {
    if (!stepNumbers.has(step.n)) return;
    const buffered = pending.get(step.n) ?? { text: '', at };
    const parts = (buffered.text + text).split('\n');
    let lineAt = buffered.text ? buffered.at : at;
    for (const part of parts.slice(0, -1)) {
      emitLine(step, part.replace(/\r$/, ''), lineAt);
      lineAt = at;
    }
    const tail = parts.at(-1)!;
    pending.set(step.n, { text: tail, at: tail && parts.length === 1 ? lineAt : at });
  };

  const error = (message: string, line?: number) => {
    if (failedStep && stepNumbers.has(failedStep.n)) {
      write(`------\n > ${label(failedStep)} ${failedStep.instruction}:\n`);
      for (const l of recent.get(failedStep.n) ?? []) write(`${l}\n`);
      write('------\n');
    }
    if (options.dockerfile !== undefined && line) {
      const endLine = failedStep && failedStep.line === line ? failedStep.endLine : line;
      write(dockerfileExcerpt({ dockerfile: options.dockerfile, name, line, endLine }));
    }
    write(`ERROR: failed to solve: ${message}\n`);
    failed = true;
  };

  return {
    get failed() {
      return failed;
    },
    onEvent(event) {
      switch (event.type) {
        case 'start':
          start(event.steps);
          if (event.warnings.length) warnings.push(...event.warnings);
          break;
        case 'step-start':
          stepStart(event.step);
          break;
        case 'step-output':
          output(event.step, event.text, event.elapsedMs);
          break;
        case 'step-done': {
          const n = stepNumbers.get(event.step.n);
          if (n === undefined) break;
          flush(event.step);
          write(event.cached ? `#${n} CACHED\n\n` : `#${n} DONE ${secs(event.ms)}s\n\n`);
          break;
        }
        case 'step-error': {
          failedStep = event.step;
          const n = stepNumbers.get(event.step.n);
          if (n === undefined) break;
          flush(event.step);
          write(`#${n} ERROR: ${event.message}\n`);
          break;
        }
        case 'done': {
          const body = ['exporting layers 0.0s done', `writing image ${event.imageId} done`];
          for (const tag of event.tags) body.push(`naming to ${qualified(tag)} done`);
          vertex('exporting to image', body);
          printWarnings();
          break;
        }
        case 'error':
          error(event.message, event.line);
          printWarnings();
          break;
        case 'pull': {
          // A FROM image the store lacked, pulled before the steps run: Docker's pull lines, finished states only.
          const e = event.event;
          if (e.kind === 'status') write(`[pull ${event.ref}] ${e.text}\n`);
          else if (e.status !== 'Downloading' && e.status !== 'Pulling fs layer') write(`[pull ${event.ref}] ${layerLine(e)}\n`);
          break;
        }
      }
    },
  };

  function printWarnings() {
    if (!warnings.length) return;
    const n = warnings.length;
    write(`\n ${n} warning${n === 1 ? '' : 's'} found (use docker --debug to expand):\n`);
    for (const w of warnings) write(` - ${w.message} (line ${w.line})\n`);
    warnings.length = 0;
  }
}

/** All events at once, as text (for tests and for replaying a stored build log). */
export function renderBuildProgress(events: readonly BuildEvent[], options: Omit<BuildProgressOptions, 'write'> = {}): string {
  let text = '';
  const progress = createBuildProgress({ ...options, write: (t) => (text += t) });
  for (const event of events) progress.onEvent(event);
  return text;
}
