/**
 * Teaching lints about layers: each one points at a habit that makes images bigger or the cache
 * weaker, and says why in terms of layers. They read the AST only (no build needed), so the editor
 * can show them as you type.
 */
import type * as Ast from './ast.ts';
import type { ParseResult } from './parse.ts';
import { cleanPath, resolveAgainst } from './paths.ts';

export type LintSeverity = 'warning' | 'info';

export type LintCode =
  | 'delete-in-later-layer'
  | 'apt-lists-left'
  | 'apk-cache-left'
  | 'pip-cache-left'
  | 'copy-all-before-install'
  | 'consecutive-runs'
  | 'untagged-base-image'
  | 'add-instead-of-copy'
  | 'cd-in-run'
  | 'shell-form-cmd';

export interface LintFinding {
  line: number;
  severity: LintSeverity;
  code: LintCode;
  message: string;
}

export interface LintOptions {
  dockerfile: ParseResult;
  /**
   * References of the images the store holds (`busybox:1.36`, `python:3.11.2`…): advice to pin a base
   * image suggests only a tag that exists here, so following it builds. Absent: no example tag.
   */
  knownTags?: readonly string[];
}

export function lintDockerfile(options: LintOptions): LintFinding[] {
  const findings: LintFinding[] = [];
  const stages = splitStages(options.dockerfile.instructions);
  const stageNames = new Set(stages.map((s) => s.from.stageName).filter(Boolean));
  for (const stage of stages) {
    checkBaseImage(stage.from, stageNames, options.knownTags ?? [], findings);
    checkStage(stage.body, findings);
  }
  return findings.sort((a, b) => a.line - b.line);
}

interface Stage {
  from: Ast.FromInstruction;
  body: Ast.Instruction[];
}

function splitStages(instructions: readonly Ast.Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.kind === 'FROM') stages.push({ from: instruction, body: [] });
    else stages[stages.length - 1]?.body.push(instruction);
  }
  return stages;
}

/**
 * A pinned tag of `name` that the store holds, for the lint's example: version-like tags only (`1.36`,
 * `3.11.2`), the shortest (least specific) first, as a learner would pin a minor release.
 */
export function pinnedTagExample(name: string, knownTags: readonly string[]): string | undefined {
  const tags = knownTags
    .filter((ref) => ref.lastIndexOf(':') > ref.lastIndexOf('/') && ref.slice(0, ref.lastIndexOf(':')) === name)
    .map((ref) => ref.slice(ref.lastIndexOf(':') + 1))
    .filter((tag) => /^\d+(\.\d+)*/.test(tag));
  tags.sort((a, b) => a.length - b.length || a.localeCompare(b));
  return tags[0] === undefined ? undefined : `${name}:${tags[0]}`;
}

function checkBaseImage(from: Ast.FromInstruction, stageNames: Set<string | undefined>, knownTags: readonly string[], findings: LintFinding[]): void {
  const image = from.image;
  if (image.includes('$') || image.includes('@') || image.toLowerCase() === 'scratch' || stageNames.has(image.toLowerCase())) return;
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const tag = lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : undefined;
  if (tag !== undefined && tag !== 'latest') return;
  const name = tag ? image.slice(0, -':latest'.length) : image;
  const example = pinnedTagExample(name, knownTags);
  findings.push({
    line: from.lines.start,
    severity: 'info',
    code: 'untagged-base-image',
    message: `${tag ? `"${image}"` : `"${image}" has no tag, which means :latest`}: the tag moves, so a rebuild can start from different layers. Pin a version ${example ? `(here: ${example}) ` : 'tag '}to get the same base every time.`,
  });
}

/** The text a RUN's shell will execute, heredoc bodies included. */
function runScript(run: Ast.RunInstruction): string {
  const command = run.command.form === 'shell' ? run.command.command : run.command.argv.join(' ');
  return [command, ...run.heredocs.map((h) => h.content)].join('\n');
}

/** Simple commands of a shell script, each as words (quotes removed, good enough for lints). */
function simpleCommands(script: string): string[][] {
  return script
    .split(/&&|\|\||;|\||\n/)
    .map((part) => part.trim().split(/\s+/).filter(Boolean).map((w) => w.replace(/^['"]|['"]$/g, '')))
    .filter((words) => words.length > 0);
}

const INSTALL_COMMAND = /\b(npm (install|ci|i)\b|yarn( install)?\s*($|&&|;)|pnpm (install|i)\b|pip3? install\b[^&;|]*(-r|--requirement)\b|poetry install|pipenv install|bundle install|go mod download|composer install|cargo (build|fetch))/;

function checkStage(body: readonly Ast.Instruction[], findings: LintFinding[]): void {
  let workdir = '';
  /** Paths earlier layers put into the image, with the line that did it. */
  const created: { path: string; line: number }[] = [];
  let aptUpdateLine: number | undefined;
  let runGroup: Ast.RunInstruction[] = [];
  const hasExecEntrypoint = body.some((i) => i.kind === 'ENTRYPOINT' && i.command.form === 'exec');

  const flushRunGroup = () => {
    if (runGroup.length >= 2) {
      const lines = runGroup.map((r) => r.lines.start);
      findings.push({
        line: lines[0]!,
        severity: 'info',
        code: 'consecutive-runs',
        message: `The RUNs on lines ${lines.join(', ')} make ${lines.length} layers; joined into one RUN with && they make one, and files one command deletes never reach a layer.`,
      });
    }
    runGroup = [];
  };

  for (const [position, instruction] of body.entries()) {
    const line = instruction.lines.start;
    if (instruction.kind === 'RUN') {
      if (instruction.command.form === 'shell' && instruction.heredocs.length === 0) runGroup.push(instruction);
      else flushRunGroup();
    } else if (instruction.kind !== 'ARG' && instruction.kind !== 'ENV') {
      // ARG/ENV between RUNs don't stop you from joining them.
      flushRunGroup();
    }

    switch (instruction.kind) {
      case 'WORKDIR':
        if (!instruction.path.includes('$')) workdir = resolveAgainst(workdir, instruction.path);
        break;
      case 'COPY':
      case 'ADD':
        if (!instruction.dest.includes('$')) created.push({ path: resolveAgainst(workdir, instruction.dest), line });
        if (instruction.kind === 'ADD') checkAdd(instruction, findings);
        if (instruction.kind === 'COPY' && instruction.from === undefined && instruction.sources.some((s) => cleanPath(s) === '.')) {
          const install = body.slice(position + 1).find((i): i is Ast.RunInstruction => i.kind === 'RUN' && INSTALL_COMMAND.test(runScript(i)));
          if (install) {
            findings.push({
              line,
              severity: 'warning',
              code: 'copy-all-before-install',
              message: `COPY . copies every file before the dependency install on line ${install.lines.start}, so editing any file reruns the install. Copy only the dependency list first (package.json, requirements.txt…), install, then COPY the rest.`,
            });
          }
        }
        break;
      case 'CMD':
      case 'ENTRYPOINT':
        if (instruction.command.form === 'shell' && !/^exec\s/.test(instruction.command.command) && (instruction.kind === 'ENTRYPOINT' || !hasExecEntrypoint)) {
          findings.push({
            line,
            severity: 'info',
            code: 'shell-form-cmd',
            message: `Shell form runs "/bin/sh -c ${instruction.command.command}": the shell is PID 1 and does not pass SIGTERM on, so docker stop waits and then kills. Exec form runs your program directly: ${instruction.kind} ${JSON.stringify(instruction.command.command.split(/\s+/))}.`,
          });
        }
        break;
      case 'RUN': {
        const script = runScript(instruction);
        const commands = simpleCommands(script);
        checkPackageCaches(script, commands, line, findings);
        checkDeletes(commands, workdir, created, aptUpdateLine, line, findings);
        if (commands.some((words) => words[0] === 'cd')) {
          findings.push({ line, severity: 'info', code: 'cd-in-run', message: 'cd lasts only until the end of this RUN. Use WORKDIR to set the directory for the following instructions (and for the container).' });
        }
        if (/apt-get\s+(-\S+\s+)*update/.test(script)) aptUpdateLine = line;
        for (const words of commands) {
          for (const word of words.slice(1)) {
            if (looksLikePath(word)) created.push({ path: resolveAgainst(workdir, word), line });
          }
        }
        break;
      }
    }
  }
  flushRunGroup();
}

function looksLikePath(word: string): boolean {
  return !word.startsWith('-') && !word.includes('://') && !word.includes('$') && (word.startsWith('/') || word.startsWith('./') || /\.\w+$/.test(word));
}

function checkAdd(instruction: Ast.CopyInstruction, findings: LintFinding[]): void {
  const local = instruction.sources.filter((s) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(s) && !s.startsWith('<<'));
  if (local.length === 0 || local.some((s) => /\.(tar|tgz|tar\.(gz|bz2|xz)|txz|tbz2?)$/i.test(s))) return;
  findings.push({
    line: instruction.lines.start,
    severity: 'info',
    code: 'add-instead-of-copy',
    message: 'ADD also unpacks archives and fetches URLs, so a reader has to wonder which happens. For plain files COPY says exactly what it does.',
  });
}

function checkPackageCaches(script: string, commands: string[][], line: number, findings: LintFinding[]): void {
  if (/apt-get\s+(-\S+\s+)*(install|update)/.test(script) && !/rm\s+(-\S+\s+)*\/var\/lib\/apt\/lists/.test(script)) {
    findings.push({
      line,
      severity: 'warning',
      code: 'apt-lists-left',
      message: 'apt-get leaves its package lists in /var/lib/apt/lists (tens of MB) in this layer. End the same RUN with && rm -rf /var/lib/apt/lists/* — a later RUN cannot take them out of this layer.',
    });
  }
  for (const words of commands) {
    if (words[0] === 'apk' && words.includes('add') && !words.includes('--no-cache') && !/rm\s+(-\S+\s+)*\/var\/cache\/apk/.test(script)) {
      findings.push({ line, severity: 'warning', code: 'apk-cache-left', message: 'apk add keeps its package index in /var/cache/apk in this layer. Use apk add --no-cache.' });
    }
    const pip = words.findIndex((w) => /^pip3?$/.test(w));
    if (pip >= 0 && words[pip + 1] === 'install' && !words.includes('--no-cache-dir')) {
      findings.push({ line, severity: 'warning', code: 'pip-cache-left', message: "pip install keeps downloaded packages in ~/.cache/pip in this layer. Use pip install --no-cache-dir (the image doesn't need the download cache)." });
    }
  }
}

function checkDeletes(
  commands: string[][],
  workdir: string,
  created: readonly { path: string; line: number }[],
  aptUpdateLine: number | undefined,
  line: number,
  findings: LintFinding[],
): void {
  for (const words of commands) {
    if (words[0] !== 'rm') continue;
    for (const target of words.slice(1).filter((w) => !w.startsWith('-'))) {
      const path = resolveAgainst(workdir, target.replace(/\/\*$/, ''));
      let origin = [...created].reverse().find((c) => c.line !== line && c.path !== "/" && overlaps(c.path, path))?.line;
      if (origin === undefined && aptUpdateLine !== undefined && aptUpdateLine !== line && path.startsWith('/var/lib/apt/lists')) origin = aptUpdateLine;
      if (origin === undefined) continue;
      findings.push({
        line,
        severity: 'warning',
        code: 'delete-in-later-layer',
        message: `Deleting ${target} in a later RUN does not shrink the image: the bytes stay in the layer of line ${origin}, and this layer only adds a whiteout hiding them. Delete in the same RUN that created it, or use a multi-stage build.`,
      });
    }
  }
}

/** Same path, or one inside the other. */
function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(b === '/' ? '/' : b + '/') || b.startsWith(a === '/' ? '/' : a + '/');
}
