/**
 * Check evaluation: every check reads real state through `LessonContext` and explains itself with
 * what it found ("image `app` has 4 layers; this step wants 3"), so a failing step tells the learner
 * what is wrong, not just "not yet".
 */
import type { LessonContainer, ExecResult, LessonImage, LessonLayer, LessonContext } from './context.ts';
import { toMatcher, type Check, type Pattern, type Step } from './schema.ts';

export interface CheckResult {
  pass: boolean;
  /** On failure: what is wrong in the learner's state. On success: what was found. */
  message: string;
}

export interface StepResult {
  complete: boolean;
  checks: CheckResult[];
  /** Static hints of the step followed by the failing checks' messages (empty when complete). */
  hints: string[];
}

// ---------------------------------------------------------------------------------------------------
// helpers

/** A Markdown code span that shows `s` literally, whatever backticks it holds. */
export function code(s: string | number): string {
  const text = String(s);
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}
const plural = (n: number, one: string, many = one + 's') => `${n} ${n === 1 ? one : many}`;

/** `/app/x` and `app/x/` are the same path. */
export function normPath(p: string): string {
  return '/' + p.replace(/^\.?\/+/, '').replace(/\/+$/, '');
}

/** `app` means `app:latest`; ids and digests stay as they are. */
export function normRef(ref: string): string {
  if (ref.startsWith('sha256:')) return ref;
  const lastSlash = ref.lastIndexOf('/');
  return ref.slice(lastSlash + 1).includes(':') || ref.includes('@') ? ref : `${ref}:latest`;
}

function matches(p: Pattern, s: string): boolean {
  return toMatcher(p)(s);
}

function showPattern(p: Pattern): string {
  return p.startsWith('/') ? p : `"${p}"`;
}

/** Layer index with negatives counted from the top. */
function layerAt(image: LessonImage, index: number): LessonLayer | undefined {
  return image.layers[index < 0 ? image.layers.length + index : index];
}

function layerName(image: LessonImage, index: number): string {
  const i = index < 0 ? image.layers.length + index : index;
  const l = image.layers[i];
  return `layer ${i}${l ? ` (${short(l.createdBy)})` : ''}`;
}

function short(s: string, n = 48): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? one.slice(0, n - 1) + '…' : one;
}

function firstLine(s: string): string {
  const t = s.trim();
  if (!t) return '(nothing)';
  const lines = t.split('\n');
  return `${code(short(lines[0]!, 70))}${lines.length > 1 ? ` (+${lines.length - 1} more lines)` : ''}`;
}

function wants(check: Check, fallback: string): string {
  return check.want ? `this step wants ${check.want}` : fallback;
}

const noImage = (ref: string) => `there is no image ${code(ref)} yet (build it with ${code(`docker build -t ${ref} .`)}, or check the tag)`;

function containerMatchesImage(c: LessonContainer, ref: string, image: LessonImage | null): boolean {
  if (c.image === ref || normRef(c.image) === normRef(ref)) return true;
  if (!image) return false;
  return c.image === image.id || image.id.startsWith(c.image) || image.tags.some((t) => normRef(t) === normRef(c.image));
}

function findContainer(all: LessonContainer[], nameOrId: string): LessonContainer | undefined {
  const n = nameOrId.replace(/^\//, '');
  return all.find((c) => c.name === n) ?? all.find((c) => c.id === n || (n.length >= 4 && c.id.startsWith(n)));
}

function describeContainers(list: LessonContainer[]): string {
  if (list.length === 0) return 'none';
  return list
    .slice(0, 5)
    .map((c) => `${c.name} (${c.state}${c.state === 'exited' && c.exitCode !== null ? ` ${c.exitCode}` : ''})`)
    .join(', ') + (list.length > 5 ? ` and ${list.length - 5} more` : '');
}

function ok(message: string): CheckResult {
  return { pass: true, message };
}
function fail(message: string): CheckResult {
  return { pass: false, message };
}

function execOutcome(r: ExecResult, check: { exit?: number; stdout?: Pattern; stdoutNot?: Pattern; stderr?: Pattern }, what: string): CheckResult {
  const wantExit = check.exit ?? 0;
  if (r.exit !== wantExit) {
    const err = r.stderr.trim() ? `: ${firstLine(r.stderr)}` : r.stdout.trim() ? ` and printed ${firstLine(r.stdout)}` : '';
    return fail(`${what} exited with ${r.exit}${err}; expected exit code ${wantExit}`);
  }
  if (check.stdout !== undefined && !matches(check.stdout, r.stdout)) return fail(`${what} printed ${firstLine(r.stdout)}; expected output matching ${showPattern(check.stdout)}`);
  if (check.stdoutNot !== undefined && matches(check.stdoutNot, r.stdout)) return fail(`${what} printed ${firstLine(r.stdout)}, which should not match ${showPattern(check.stdoutNot)}`);
  if ('stderr' in check && check.stderr !== undefined && !matches(check.stderr, r.stderr)) return fail(`${what} wrote ${firstLine(r.stderr)} to stderr; expected ${showPattern(check.stderr)}`);
  return ok(`${what} → exit ${r.exit}${r.stdout.trim() ? `, ${firstLine(r.stdout)}` : ''}`);
}

// ---------------------------------------------------------------------------------------------------
// the checks

export async function evaluateCheck(check: Check, ctx: LessonContext): Promise<CheckResult> {
  try {
    return await evaluate(check, ctx);
  } catch (e) {
    return fail(`could not check this yet: ${(e as Error)?.message ?? String(e)}`);
  }
}

async function evaluate(check: Check, ctx: LessonContext): Promise<CheckResult> {
  switch (check.kind) {
    case 'image-exists': {
      const img = await ctx.image(check.image);
      if (!img) return fail(noImage(check.image));
      if (check.sameIdAs !== undefined) {
        const other = await ctx.image(check.sameIdAs);
        if (!other) return fail(noImage(check.sameIdAs));
        if (other.id !== img.id)
          return fail(`${code(check.image)} is ${shortId(img.id)} but ${code(check.sameIdAs)} is ${shortId(other.id)}; ${wants(check, `this step wants both tags on the same image`)}`);
        return ok(`${code(check.image)} and ${code(check.sameIdAs)} are the same image (${shortId(img.id)})`);
      }
      if (check.notSameIdAs !== undefined) {
        const other = await ctx.image(check.notSameIdAs);
        if (other && other.id === img.id)
          return fail(`${code(check.image)} and ${code(check.notSameIdAs)} are still the same image (${shortId(img.id)}); ${wants(check, 'this step wants them to be different images')}`);
        return ok(`${code(check.image)} is ${shortId(img.id)}${other ? `, ${code(check.notSameIdAs)} is ${shortId(other.id)}` : ''}`);
      }
      return ok(`image ${code(check.image)} exists (${shortId(img.id)}, ${plural(img.layers.length, 'layer')})`);
    }

    case 'image-absent': {
      const img = await ctx.image(check.image);
      if (img) return fail(`image ${code(check.image)} still exists (${shortId(img.id)}); ${wants(check, `this step wants it removed (${code(`docker rmi ${check.image}`)})`)}`);
      return ok(`there is no image ${code(check.image)}`);
    }

    case 'layers': {
      const img = await ctx.image(check.image);
      if (!img) return fail(noImage(check.image));
      const n = img.layers.length;
      const has = `image ${code(check.image)} has ${plural(n, 'layer')}`;
      if (check.count !== undefined && n !== check.count) return fail(`${has}; ${wants(check, `this step wants ${check.count}`)}`);
      if (check.min !== undefined && n < check.min) return fail(`${has}; ${wants(check, `this step wants at least ${check.min}`)}`);
      if (check.max !== undefined && n > check.max) return fail(`${has}; ${wants(check, `this step wants at most ${check.max}`)}`);
      for (const w of check.where ?? []) {
        const layer = layerAt(img, w.layer);
        if (!layer) return fail(`${has}, so there is no layer ${w.layer}; ${wants(check, 'this step wants more layers')}`);
        if (w.createdBy !== undefined && !matches(w.createdBy, layer.createdBy))
          return fail(`${layerName(img, w.layer)} of ${code(check.image)} was made by ${code(short(layer.createdBy, 70))}; ${wants(check, `this step wants it made by ${showPattern(w.createdBy)}`)}`);
        if (w.minSize !== undefined && layer.size < w.minSize)
          return fail(`${layerName(img, w.layer)} of ${code(check.image)} is ${bytes(layer.size)}; ${wants(check, `this step wants at least ${bytes(w.minSize)}`)}`);
        if (w.maxSize !== undefined && layer.size > w.maxSize)
          return fail(`${layerName(img, w.layer)} of ${code(check.image)} is ${bytes(layer.size)}; ${wants(check, `this step wants at most ${bytes(w.maxSize)}`)}`);
        if (w.sharedWith) {
          const other = await ctx.image(w.sharedWith.image);
          if (!other) return fail(noImage(w.sharedWith.image));
          const theirs = layerAt(other, w.sharedWith.layer);
          if (!theirs || theirs.diffID !== layer.diffID)
            return fail(`${layerName(img, w.layer)} of ${code(check.image)} is ${shortId(layer.diffID)}, ${theirs ? `layer ${w.sharedWith.layer} of ${code(w.sharedWith.image)} is ${shortId(theirs.diffID)}` : `${code(w.sharedWith.image)} has no layer ${w.sharedWith.layer}`}; ${wants(check, 'this step wants them to be the same layer')}`);
        }
      }
      return ok(`${has}${check.where?.length ? ', as wanted' : ''}`);
    }

    case 'layer-has-file':
    case 'layer-lacks-file': {
      const img = await ctx.image(check.image);
      if (!img) return fail(noImage(check.image));
      const path = normPath(check.path);
      const candidates = check.layer === undefined ? img.layers.map((l, i) => [i, l] as const) : [[check.layer, layerAt(img, check.layer)] as const];
      if (check.layer !== undefined && !candidates[0]![1]) return fail(`image ${code(check.image)} has ${plural(img.layers.length, 'layer')}, so there is no layer ${check.layer}`);
      const where = check.layer === undefined ? `any layer of ${code(check.image)}` : `${layerName(img, check.layer)} of ${code(check.image)}`;
      const hits = candidates.flatMap(([i, l]) => l!.files.filter((f) => normPath(f.path) === path).map((f) => ({ i, f })));
      if (check.kind === 'layer-lacks-file') {
        if (hits.length) {
          const h = hits[0]!;
          return fail(`${code(path)} is in ${layerName(img, h.i)} of ${code(check.image)} (${h.f.kind === 'D' ? 'a whiteout' : `${h.f.kind}, ${bytes(h.f.size)}`}); ${wants(check, 'this step wants no trace of it in the image')}`);
        }
        return ok(`${code(path)} is not in ${where}`);
      }
      const kindHits = check.change ? hits.filter((h) => h.f.kind === check.change) : hits;
      if (!kindHits.length) {
        const what = check.change === 'D' ? 'a whiteout (deletion) of' : check.change === 'A' ? 'an added' : check.change === 'M' ? 'a modified' : '';
        if (hits.length) {
          const h = hits[0]!;
          return fail(`${layerName(img, h.i)} of ${code(check.image)} has ${code(path)} as ${h.f.kind === 'D' ? 'a whiteout' : h.f.kind}; ${wants(check, `this step wants ${what} ${code(path)}`)}`);
        }
        return fail(`${where} has no ${code(path)}; ${wants(check, `this step wants ${what || 'the file'} ${what ? code(path) : ''}`.replace(/\s+$/, ''))}`);
      }
      const h = kindHits[0]!;
      if (check.minSize !== undefined && h.f.size < check.minSize)
        return fail(`${code(path)} in ${layerName(img, h.i)} is ${bytes(h.f.size)}; ${wants(check, `this step wants at least ${bytes(check.minSize)}`)}`);
      return ok(`${layerName(img, h.i)} of ${code(check.image)} has ${code(path)} (${h.f.kind === 'D' ? 'whiteout' : `${h.f.kind}, ${bytes(h.f.size)}`})`);
    }

    case 'config': {
      const img = await ctx.image(check.image);
      if (!img) return fail(noImage(check.image));
      const value = img.config[check.field] as unknown;
      const shown = `${check.field} of ${code(check.image)} is ${value === undefined || value === null ? 'not set' : code(JSON.stringify(value))}`;
      const entries = configEntries(value);
      if (check.absent === true && value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0))
        return fail(`${shown}; ${wants(check, 'this step wants it unset')}`);
      if (check.absent === false && (value === undefined || value === null)) return fail(`${shown}; ${wants(check, 'this step wants it set')}`);
      if (check.equals !== undefined && !deepEqual(normalizeConfig(check.field, value), normalizeConfig(check.field, check.equals)))
        return fail(`${shown}; ${wants(check, `this step wants ${code(JSON.stringify(check.equals))}`)}`);
      if (check.contains !== undefined && !entries.some((e) => matches(check.contains!, e)))
        return fail(`${shown}; ${wants(check, `this step wants it to contain ${showPattern(check.contains)}`)}`);
      if (check.notContains !== undefined && entries.some((e) => matches(check.notContains!, e)))
        return fail(`${shown}; ${wants(check, `this step wants no ${showPattern(check.notContains)} in it`)}`);
      return ok(shown);
    }

    case 'container': {
      const all = await ctx.containers();
      if (check.name !== undefined) {
        const c = findContainer(all, check.name);
        if (check.count !== undefined) {
          const n = c ? 1 : 0;
          if (n !== check.count)
            return fail(check.count === 0 ? `container ${code(check.name)} still exists (${c!.state}); ${wants(check, `this step wants it removed (${code(`docker rm ${check.name}`)})`)}` : `there is no container ${code(check.name)}; ${wants(check, 'this step wants one')}`);
          if (!c) return ok(`there is no container ${code(check.name)}`);
        }
        if (!c) return fail(`there is no container named ${code(check.name)} (containers: ${describeContainers(all)}); ${wants(check, `this step wants one`)}`);
        // Both name and image: that container, made from that image.
        if (check.image !== undefined && !containerMatchesImage(c, check.image, await ctx.image(check.image)))
          return fail(`container ${code(c.name)} was made from ${code(c.image)}; ${wants(check, `this step wants it made from ${code(check.image)}`)}`);
        return containerState(check, c, `container ${code(c.name)}`);
      }
      const ref = check.image!;
      const img = await ctx.image(ref);
      const mine = all.filter((c) => containerMatchesImage(c, ref, img));
      const selected = check.state ? mine.filter((c) => c.state === check.state) : mine;
      if (check.count !== undefined) {
        const what = `${check.state ? `${check.state} ` : ''}container${check.count === 1 ? '' : 's'} of image ${code(ref)}`;
        if (selected.length !== check.count)
          return fail(`there ${selected.length === 1 ? 'is' : 'are'} ${selected.length} ${check.state ? `${check.state} ` : ''}container${selected.length === 1 ? '' : 's'} of image ${code(ref)} (${describeContainers(mine)}); ${wants(check, `this step wants ${check.count} ${what.replace(/^.*?container/, 'container')}`)}`);
        return ok(`${check.count} ${what}`);
      }
      if (!selected.length) return fail(`no ${check.state ? `${check.state} ` : ''}container of image ${code(ref)} (containers: ${describeContainers(all)}); ${wants(check, 'this step wants one')}`);
      const results = selected.map((c) => containerState(check, c, `container ${code(c.name)}`));
      return results.find((r) => r.pass) ?? results[0]!;
    }

    case 'writable-has':
    case 'writable-lacks': {
      const all = await ctx.containers();
      const c = findContainer(all, check.container);
      if (!c) return fail(`there is no container ${code(check.container)} (containers: ${describeContainers(all)})`);
      const path = normPath(check.path);
      const e = c.writable.find((w) => normPath(w.path) === path);
      const label = `the writable layer of ${code(c.name)}`;
      if (check.kind === 'writable-lacks') {
        if (e) return fail(`${label} has ${code(path)} (${e.kind}); ${wants(check, 'this step wants it absent')}`);
        return ok(`${label} has no ${code(path)}`);
      }
      if (!e) {
        const others = c.writable.length ? `it holds ${c.writable.slice(0, 4).map((w) => `${w.kind} ${w.path}`).join(', ')}${c.writable.length > 4 ? ' …' : ''}` : 'it is empty';
        return fail(`${label} has no ${code(path)} (${others}); ${wants(check, `this step wants ${check.change ? `${check.change} ` : ''}${code(path)} there`)}`);
      }
      if (check.change && e.kind !== check.change)
        return fail(`${label} has ${code(path)} as ${e.kind}; ${wants(check, `this step wants ${check.change} (${changeWord(check.change)})`)}`);
      return ok(`${label} has ${e.kind} ${code(path)}`);
    }

    case 'volume-exists': {
      const vols = await ctx.volumes();
      const v = vols.find((x) => x.name === check.name);
      if (!v) return fail(`there is no volume ${code(check.name)} (volumes: ${vols.map((x) => x.name).join(', ') || 'none'}); ${wants(check, `this step wants one (${code(`docker volume create ${check.name}`)})`)}`);
      if (check.hasFile !== undefined) {
        const file = v.mountpoint.replace(/\/+$/, '') + normPath(check.hasFile);
        const r = await ctx.exec(['cat', file]);
        if (r.exit !== 0) return fail(`volume ${code(check.name)} has no ${code(normPath(check.hasFile))}; ${wants(check, 'this step wants a container to write it there')}`);
        if (check.fileContains !== undefined && !matches(check.fileContains, r.stdout))
          return fail(`${code(normPath(check.hasFile))} in volume ${code(check.name)} holds ${firstLine(r.stdout)}; ${wants(check, `this step wants ${showPattern(check.fileContains)}`)}`);
        return ok(`volume ${code(check.name)} holds ${code(normPath(check.hasFile))}`);
      }
      return ok(`volume ${code(check.name)} exists`);
    }

    case 'build-cached': {
      const b = ctx.lastBuild();
      if (!b) return fail(`nothing has been built yet; ${wants(check, `this step wants a build${check.image ? ` (${code(`docker build -t ${check.image} .`)})` : ''}`)}`);
      if (check.image !== undefined && (b.tag === null || normRef(b.tag) !== normRef(check.image)))
        return fail(`the last build was ${b.tag ? code(b.tag) : 'untagged'}; ${wants(check, `this step wants a build of ${code(check.image)}`)}`);
      const steps = b.steps.filter((s) => !/^FROM\b/i.test(s.instruction.trim()));
      const cached = steps.filter((s) => s.cached);
      const summary = `the last build reused ${cached.length} of ${steps.length} steps from the cache`;
      const rebuilt = steps.filter((s) => !s.cached).map((s) => `line ${s.line} ${code(short(s.instruction, 40))}`);
      const detail = rebuilt.length ? ` (rebuilt: ${rebuilt.slice(0, 3).join(', ')}${rebuilt.length > 3 ? ' …' : ''})` : '';
      if (check.all === true && cached.length !== steps.length) return fail(`${summary}${detail}; ${wants(check, 'this step wants every step CACHED: build again without changing anything')}`);
      if (check.all === false && cached.length === steps.length) return fail(`${summary}; ${wants(check, 'this step wants a change that makes some steps rebuild')}`);
      if (check.count !== undefined && cached.length !== check.count) return fail(`${summary}${detail}; ${wants(check, `this step wants exactly ${check.count} cached`)}`);
      if (check.min !== undefined && cached.length < check.min) return fail(`${summary}${detail}; ${wants(check, `this step wants at least ${check.min} cached`)}`);
      if (check.max !== undefined && cached.length > check.max) return fail(`${summary}; ${wants(check, `this step wants at most ${check.max} cached`)}`);
      for (const m of check.steps ?? []) {
        const s = b.steps.find((x) => (m.line === undefined || x.line === m.line) && (m.instruction === undefined || matches(m.instruction, x.instruction)));
        const label = m.line !== undefined ? `line ${m.line}` : `the ${showPattern(m.instruction!)} step`;
        if (!s) return fail(`the last build has no ${label}; ${wants(check, `this step wants ${label} ${m.cached ? 'CACHED' : 'rebuilt'}`)}`);
        if (s.cached !== m.cached)
          return fail(`in the last build, line ${s.line} ${code(short(s.instruction, 50))} was ${s.cached ? 'CACHED' : 'rebuilt'}; ${wants(check, `this step wants it ${m.cached ? 'CACHED' : 'rebuilt'}`)}`);
      }
      return ok(summary);
    }

    case 'command': {
      const r = await ctx.exec(check.argv);
      return execOutcome(r, check, code(check.argv.join(' ')));
    }

    case 'container-command': {
      const all = await ctx.containers();
      const c = findContainer(all, check.container);
      if (!c) return fail(`there is no container ${code(check.container)} (containers: ${describeContainers(all)}); ${wants(check, 'this step wants it running')}`);
      if (c.state !== 'running') return fail(`container ${code(c.name)} is ${c.state}; ${wants(check, `this step wants it running, to run ${code(check.argv.join(' '))} in it`)}`);
      const what = `${code(check.argv.join(' '))} in ${code(c.name)}`;
      const r = await ctx.containerExec(c.name, check.argv);
      const base = execOutcome(r, check, what);
      if (!base.pass) return base;
      for (const [argv, same] of [
        [check.sameAs, true],
        [check.notSameAs, false],
      ] as const) {
        if (!argv) continue;
        const host = await ctx.exec(argv);
        const equal = host.stdout.trim() === r.stdout.trim();
        if (equal !== same)
          return fail(`${what} printed ${firstLine(r.stdout)} and ${code(argv.join(' '))} in the VM printed ${firstLine(host.stdout)}; ${wants(check, same ? 'this step wants them equal' : 'this step wants them different')}`);
      }
      return base;
    }
  }
}

function containerState(check: Extract<Check, { kind: 'container' }>, c: LessonContainer, label: string): CheckResult {
  if (check.state !== undefined && c.state !== check.state) {
    const how: Record<string, string> = { running: `${code(`docker start ${c.name}`)}`, exited: `${code(`docker stop ${c.name}`)}`, paused: `${code(`docker pause ${c.name}`)}`, created: `${code(`docker create`)}` };
    return fail(`${label} is ${c.state}${c.state === 'exited' && c.exitCode !== null ? ` (exit code ${c.exitCode})` : ''}; ${wants(check, `this step wants it ${check.state} (${how[check.state]})`)}`);
  }
  if (check.exitCode !== undefined && c.exitCode !== check.exitCode)
    return fail(`${label} ${c.exitCode === null ? `has no exit code (it is ${c.state})` : `exited with code ${c.exitCode}`}; ${wants(check, `this step wants exit code ${check.exitCode}`)}`);
  if (check.writableEntries !== undefined && c.writable.length !== check.writableEntries)
    return fail(`the writable layer of ${code(c.name)} has ${plural(c.writable.length, 'entry', 'entries')}; ${wants(check, `this step wants ${check.writableEntries}`)}`);
  if (check.sizeRwMax !== undefined && c.sizeRw > check.sizeRwMax)
    return fail(`the writable layer of ${code(c.name)} is ${bytes(c.sizeRw)}; ${wants(check, `this step wants at most ${bytes(check.sizeRwMax)}`)}`);
  const parts = [c.state + (c.exitCode !== null && c.state === 'exited' ? `, exit code ${c.exitCode}` : '')];
  if (check.writableEntries !== undefined || check.sizeRwMax !== undefined) parts.push(`writable layer ${bytes(c.sizeRw)} (virtual ${bytes(c.sizeRootFs)})`);
  return ok(`${label}: ${parts.join('; ')}`);
}

function changeWord(k: string) {
  return k === 'A' ? 'added' : k === 'C' ? 'changed' : k === 'M' ? 'modified' : 'deleted';
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

export function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)} kB`;
  return `${(n / 1000_000).toFixed(1)} MB`;
}

/** Config values as a list of strings to match `contains` against: Env entries, Cmd args, label/port keys and `k=v`. */
function configEntries(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'object') return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => (typeof x === 'string' ? [k, `${k}=${x}`] : [k]));
  return [String(v)];
}

/** Let authors write `ExposedPorts: ["8000/tcp"]` or `Labels: {a: b}` and `Cmd: "sh"` naturally. */
function normalizeConfig(field: string, v: unknown): unknown {
  if (field === 'ExposedPorts' && Array.isArray(v)) return Object.fromEntries(v.map((p) => [String(p), {}]));
  if (field === 'ExposedPorts' && v && typeof v === 'object') return Object.fromEntries(Object.keys(v).map((k) => [k, {}]));
  return v;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

// ---------------------------------------------------------------------------------------------------
// steps

/** Evaluate every check of a step (in order, so command checks never overlap in the VM). */
export async function evaluateStep(step: Step, ctx: LessonContext): Promise<StepResult> {
  const checks: CheckResult[] = [];
  for (const c of step.checks) checks.push(await evaluateCheck(c, ctx));
  const complete = checks.every((c) => c.pass);
  return { complete, checks, hints: complete ? [] : hintsFor(step, checks) };
}

/** The step's own hints, then what the failing checks found. */
export function hintsFor(step: Step, results: CheckResult[]): string[] {
  return [...step.hints, ...results.filter((r) => !r.pass).map((r) => r.message)];
}

/** Whether a step has checks that run programs (their results can change without an engine event). */
export function stepRunsPrograms(step: Step): boolean {
  return step.checks.some((c) => c.kind === 'command' || c.kind === 'container-command' || (c.kind === 'volume-exists' && c.hasFile !== undefined));
}

/**
 * The tag a step builds (`docker build -t site-fat .` in its commands or text), so the app's tag field
 * matches what the step asks for; undefined when the step builds nothing.
 */
export function stepBuildTag(step: Pick<Step, 'commands' | 'body'>): string | undefined {
  for (const text of [...step.commands, step.body]) {
    const match = /docker (?:image )?build\b[^\n]*?(?:-t|--tag)[ =]([a-z0-9][a-z0-9._/:-]*)/.exec(text);
    if (match) return match[1].replace(/:latest$/, '');
  }
  return undefined;
}
