/**
 * Dockerfile text → Layerlab's typed AST (ast.ts).
 *
 * dockerfile-ast (the parser behind VS Code's Docker support) finds the parser directives and where
 * each instruction starts and ends; syntax.ts then applies BuildKit's own rules to the instruction's
 * lines, so what we build matches what `docker build` would. Every problem is collected with its
 * line instead of stopping at the first.
 */
import '../util/buffer-shim.ts'; // dockerfile-ast needs Buffer.from, which browsers lack
import { DockerfileParser } from 'dockerfile-ast';
import type * as Ast from './ast.ts';
import { INSTRUCTION_KEYWORDS } from './ast.ts';
import { DockerfileError, type DockerfileWarning } from './errors.ts';
import { closestMatch } from './suggest.ts';
import { runMountSyntaxError } from './mounts.ts';
import {
  extractBuilderFlags,
  findHeredocMarkers,
  heredocWordName,
  joinLogicalLine,
  parseMaybeJson,
  parseWords,
  splitWhitespace,
  type BuilderFlag,
} from './syntax.ts';

export interface ParseOptions {
  /** The Dockerfile's text. */
  text: string;
}

export interface ParseResult {
  instructions: Ast.Instruction[];
  directives: Ast.ParserDirectives;
  /** Every problem found; the build must not start while this is non-empty. */
  errors: DockerfileError[];
  warnings: DockerfileWarning[];
}

/** Flags each instruction accepts; the ones in IGNORED_FLAGS parse but do nothing in Layerlab. */
const KNOWN_FLAGS: Partial<Record<Ast.InstructionKind, readonly string[]>> = {
  FROM: ['platform'],
  RUN: ['mount', 'network', 'security'],
  COPY: ['from', 'chown', 'chmod', 'link', 'parents', 'exclude'],
  ADD: ['chown', 'chmod', 'link', 'checksum', 'keep-git-dir', 'exclude', 'unpack'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
};
const IGNORED_FLAGS = new Set(['parents', 'exclude', 'checksum', 'keep-git-dir', 'unpack']);

/** Parses a Dockerfile. Never throws for bad input: problems come back in `errors`. */
export function parseDockerfile(options: ParseOptions): ParseResult {
  const text = options.text.replace(/^\uFEFF/, '');
  const docLines = text.split(/\r?\n/);
  const errors: DockerfileError[] = [];
  const warnings: DockerfileWarning[] = [];
  const parsed = DockerfileParser.parse(text);
  const directives = readDirectives(parsed, errors);
  const escape = directives.escape;

  const instructions: Ast.Instruction[] = [];
  let consumedUpTo = -1; // last 0-based line already used (heredoc bodies)
  for (const node of parsed.getInstructions()) {
    const range = node.getRange();
    const startLine = range.start.line;
    if (startLine <= consumedUpTo) continue;
    const endLine = Math.max(startLine, range.end.line);
    const line = startLine + 1;
    const column = node.getInstructionRange().start.character + 1;
    const keyword = node.getKeyword().toUpperCase();

    const logical = joinLogicalLine(docLines.slice(startLine, endLine + 1), escape);
    if (logical.hadEmptyContinuation) {
      warnings.push({ line, message: 'Empty continuation line found: empty lines inside a continued instruction are ignored and will be an error in a future Docker release' });
    }
    const original = logical.text.trim();
    const rest = original.replace(/^\S+\s*/, '');
    let lastLine = startLine + logical.lastLine;

    if (!INSTRUCTION_KEYWORDS.includes(keyword as Ast.InstructionKind)) {
      errors.push(unknownInstructionError(node.getInstruction(), line, column));
      consumedUpTo = Math.max(consumedUpTo, lastLine);
      continue;
    }
    const kind = keyword as Ast.InstructionKind;

    let heredocs: Ast.Heredoc[] = [];
    if ((kind === 'RUN' || kind === 'COPY' || kind === 'ADD') && rest.includes('<<')) {
      const read = readHeredocs(docLines, lastLine + 1, findHeredocMarkers(rest));
      heredocs = read.heredocs;
      if (read.unterminated) {
        errors.push(new DockerfileError({ line, message: `Unterminated heredoc: no line "${read.unterminated}" ends it`, hint: `Put ${read.unterminated} alone on a line after the heredoc's text` }));
      }
      lastLine = read.lastLine;
    }
    consumedUpTo = Math.max(consumedUpTo, lastLine);

    const context: InstructionContext = {
      kind,
      rest,
      original,
      escape,
      heredocs,
      lines: { start: line, end: lastLine + 1 },
      fail: (message, hint) => errors.push(new DockerfileError({ line, column, message, hint })),
      warn: (message) => warnings.push({ line, message }),
    };
    const instruction = parseInstruction(context);
    if (instruction) instructions.push(instruction);
  }

  checkStructure(instructions, errors, text);
  errors.sort((a, b) => a.line - b.line);
  return { instructions, directives, errors, warnings };
}

function readDirectives(parsed: ReturnType<typeof DockerfileParser.parse>, errors: DockerfileError[]): Ast.ParserDirectives {
  const directives: Ast.ParserDirectives = { escape: '\\' };
  for (const directive of parsed.getDirectives()) {
    const name = directive.getName().toLowerCase();
    const value = directive.getValue();
    const line = directive.getRange().start.line + 1;
    if (name === 'escape') {
      if (value !== '\\' && value !== '`') {
        errors.push(new DockerfileError({ line, message: `Invalid escape token '${value}' does not match \` or \\`, hint: 'Use "# escape=\\" (the default) or "# escape=`"' }));
      } else {
        directives.escape = value;
      }
    } else if (name === 'syntax') {
      directives.syntax = value;
    } else if (name === 'check') {
      directives.check = value;
    }
  }
  return directives;
}

function readHeredocs(
  docLines: string[],
  from: number,
  markers: ReturnType<typeof findHeredocMarkers>,
): { heredocs: Ast.Heredoc[]; lastLine: number; unterminated?: string } {
  const heredocs: Ast.Heredoc[] = [];
  let index = from;
  for (const marker of markers) {
    const bodyStart = index;
    let content = '';
    let terminated = false;
    for (; index < docLines.length; index++) {
      const raw = docLines[index]!;
      const candidate = marker.chomp ? raw.replace(/^\t+/, '') : raw;
      if (candidate === marker.name) {
        terminated = true;
        break;
      }
      content += (marker.chomp ? raw.replace(/^\t+/, '') : raw) + '\n';
    }
    if (!terminated) return { heredocs, lastLine: docLines.length - 1, unterminated: marker.name };
    heredocs.push({ name: marker.name, content, expand: marker.expand, chomp: marker.chomp, lines: { start: bodyStart + 1, end: index + 1 } });
    index++;
  }
  return { heredocs, lastLine: index - 1 };
}

interface InstructionContext {
  kind: Ast.InstructionKind;
  /** Arguments after the keyword, one logical line. */
  rest: string;
  original: string;
  escape: string;
  heredocs: Ast.Heredoc[];
  lines: Ast.Heredoc['lines'];
  fail(message: string, hint?: string): void;
  warn(message: string): void;
}

function parseInstruction(ctx: InstructionContext): Ast.Instruction | null {
  const base = { lines: ctx.lines, original: ctx.original, ignoredFlags: [] as string[] };
  let rest = ctx.rest;
  let flags: BuilderFlag[] = [];
  const known = KNOWN_FLAGS[ctx.kind];
  if (known) {
    ({ flags, rest } = extractBuilderFlags(rest));
    for (const flag of flags) {
      if (!known.includes(flag.name)) {
        ctx.fail(`Unknown flag: --${flag.name}`, `${ctx.kind} accepts ${known.map((f) => '--' + f).join(', ')}`);
      } else if (IGNORED_FLAGS.has(flag.name)) {
        base.ignoredFlags.push(flag.name);
        ctx.warn(`${ctx.kind} --${flag.name} is not supported by Layerlab and is ignored`);
      }
    }
  }
  const flag = (name: string) => flags.find((f) => f.name === name);

  switch (ctx.kind) {
    case 'FROM': {
      const words = splitWhitespace(rest);
      if (words.length !== 1 && !(words.length === 3 && words[1]!.toLowerCase() === 'as')) {
        ctx.fail(words.length === 0 ? 'FROM requires an image name' : 'FROM requires either one or three arguments', 'Write FROM <image> or FROM <image> AS <name>');
        return null;
      }
      const stageName = words[2]?.toLowerCase();
      if (stageName !== undefined && !/^[a-z][a-z0-9\-_.]*$/.test(stageName)) {
        ctx.fail(`Invalid name for build stage: "${words[2]}"`, "A stage name starts with a letter and has only letters, digits, '-', '_' and '.'");
        return null;
      }
      const platform = flag('platform')?.value ?? undefined;
      return { ...base, kind: 'FROM', image: words[0]!, stageName, platform };
    }
    case 'RUN': {
      const command = parseCommand(ctx, rest, 'RUN');
      if (!command) return null;
      if (command.form === 'exec' && command.argv.length === 0) {
        ctx.fail('RUN requires at least one argument', 'Write the command to run, e.g. RUN echo hello');
        return null;
      }
      const mounts = flags.filter((f) => f.name === 'mount').map((f) => f.value ?? '');
      for (const mount of mounts) {
        const problem = runMountSyntaxError(mount);
        if (problem) ctx.fail(problem, 'See https://docs.docker.com/reference/dockerfile/#run---mount for the mount types and their options');
      }
      // BuildKit's RUN --network and --security values.
      const network = flag('network')?.value ?? undefined;
      if (network !== undefined && !['default', 'none', 'host'].includes(network)) ctx.fail(`unsupported network mode "${network}"`, 'RUN --network takes default, none or host');
      const security = flag('security')?.value ?? undefined;
      if (security === 'insecure') ctx.fail('RUN --security=insecure is not supported by Layerlab: build steps never run privileged here', 'Leave --security out (sandbox is the default)');
      else if (security !== undefined && security !== 'sandbox') ctx.fail(`unsupported security mode "${security}"`, 'RUN --security takes sandbox or insecure');
      return { ...base, kind: 'RUN', command, heredocs: ctx.heredocs, mounts, ...(network && network !== 'default' ? { network: network as 'none' | 'host' } : {}) };
    }
    case 'COPY':
    case 'ADD':
      return parseCopy(ctx, base, rest, flags);
    case 'ENV':
    case 'LABEL': {
      const pairs = parseNameValue(ctx, rest);
      return pairs ? { ...base, kind: ctx.kind, pairs } : null;
    }
    case 'ARG': {
      const words = parseWords(rest, ctx.escape);
      if (words.length === 0) {
        ctx.fail('ARG requires at least one argument', 'Write ARG NAME or ARG NAME=default');
        return null;
      }
      const args = words.map((word) => {
        const eq = word.indexOf('=');
        return eq < 0 ? { name: word } : { name: word.slice(0, eq), defaultValue: word.slice(eq + 1) };
      });
      for (const arg of args) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(arg.name)) ctx.fail(`Invalid ARG name: "${arg.name}"`, 'ARG names are letters, digits and _');
      }
      return { ...base, kind: 'ARG', args };
    }
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL':
    case 'MAINTAINER': {
      if (rest === '') {
        ctx.fail(`${ctx.kind} requires exactly one argument`, exampleFor(ctx.kind));
        return null;
      }
      if (ctx.kind === 'WORKDIR') return { ...base, kind: 'WORKDIR', path: rest };
      if (ctx.kind === 'USER') return { ...base, kind: 'USER', user: rest };
      if (ctx.kind === 'STOPSIGNAL') return { ...base, kind: 'STOPSIGNAL', signal: rest };
      ctx.warn('MAINTAINER is deprecated: use LABEL org.opencontainers.image.authors="..." instead');
      return { ...base, kind: 'MAINTAINER', name: rest };
    }
    case 'CMD':
    case 'ENTRYPOINT': {
      const command = parseCommand(ctx, rest, ctx.kind);
      return command ? { ...base, kind: ctx.kind, command } : null;
    }
    case 'EXPOSE': {
      const ports = splitWhitespace(rest);
      if (ports.length === 0) {
        ctx.fail('EXPOSE requires at least one argument', exampleFor('EXPOSE'));
        return null;
      }
      return { ...base, kind: 'EXPOSE', ports };
    }
    case 'VOLUME': {
      const parsed = parseMaybeJson(rest);
      if ('error' in parsed) {
        ctx.fail(parsed.error);
        return null;
      }
      const paths = parsed.json ? parsed.values : splitWhitespace(parsed.text);
      if (paths.length === 0 || paths.some((p) => p.trim() === '')) {
        ctx.fail('VOLUME specified can not be an empty string', exampleFor('VOLUME'));
        return null;
      }
      return { ...base, kind: 'VOLUME', paths };
    }
    case 'SHELL': {
      const parsed = parseMaybeJson(rest);
      if (!('json' in parsed) || !parsed.json || parsed.values.length === 0) {
        ctx.fail('SHELL requires the arguments to be in JSON form', 'Write SHELL ["/bin/sh", "-c"]');
        return null;
      }
      return { ...base, kind: 'SHELL', argv: parsed.values };
    }
    case 'HEALTHCHECK':
      return parseHealthcheck(ctx, base, rest, flags);
    case 'ONBUILD': {
      const triggerKeyword = (rest.split(/\s+/)[0] ?? '').toUpperCase();
      if (rest === '') {
        ctx.fail('ONBUILD requires at least one argument', 'Write ONBUILD <instruction>, e.g. ONBUILD COPY . /app');
        return null;
      }
      if (triggerKeyword === 'ONBUILD') ctx.fail('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      else if (triggerKeyword === 'FROM' || triggerKeyword === 'MAINTAINER') ctx.fail(`${triggerKeyword} isn't allowed as an ONBUILD trigger`);
      else if (!INSTRUCTION_KEYWORDS.includes(triggerKeyword as Ast.InstructionKind)) ctx.fail(`Unknown instruction in ONBUILD: ${triggerKeyword}`);
      return { ...base, kind: 'ONBUILD', trigger: rest, triggerKeyword };
    }
  }
}

function parseCommand(ctx: InstructionContext, rest: string, keyword: string): Ast.CommandForm | null {
  const parsed = parseMaybeJson(rest);
  if ('error' in parsed) {
    ctx.fail(parsed.error, 'Exec form is a JSON array of strings: ["executable", "arg"]');
    return null;
  }
  if (parsed.json) return { form: 'exec', argv: parsed.values };
  if (parsed.text === '') {
    ctx.fail(`${keyword} requires at least one argument`, exampleFor(keyword));
    return null;
  }
  return { form: 'shell', command: parsed.text };
}

function parseCopy(
  ctx: InstructionContext,
  base: { lines: Ast.Heredoc['lines']; original: string; ignoredFlags: string[] },
  rest: string,
  flags: BuilderFlag[],
): Ast.CopyInstruction | null {
  const kind = ctx.kind as 'COPY' | 'ADD';
  const parsed = parseMaybeJson(rest);
  if ('error' in parsed) {
    ctx.fail(parsed.error);
    return null;
  }
  // Heredoc bodies are separate lines; the instruction line itself holds only `<<EOF` words.
  const words = parsed.json ? parsed.values : splitWhitespace(parsed.text);
  if (words.length < 2) {
    ctx.fail(
      words.length === 0 ? `${kind} requires at least two arguments` : `${kind} requires at least two arguments, but only one was provided. Destination could not be determined.`,
      `Write ${kind} <source>... <destination>, e.g. ${kind} app.py /app/`,
    );
    return null;
  }
  const sources = words.slice(0, -1);
  for (const source of sources) {
    const name = heredocWordName(source);
    if (name && !ctx.heredocs.some((h) => h.name === name)) ctx.fail(`Heredoc ${name} has no body`);
  }
  const value = (name: string) => flags.find((f) => f.name === name)?.value ?? undefined;
  const link = flags.find((f) => f.name === 'link');
  return {
    ...base,
    kind,
    sources,
    dest: words[words.length - 1]!,
    from: value('from'),
    chown: value('chown'),
    chmod: value('chmod'),
    link: link !== undefined && link.value !== 'false',
    heredocs: ctx.heredocs,
  };
}

/** ENV/LABEL: `KEY value` (legacy, one pair) or `K1=v1 K2="v 2"` (BuildKit's parseNameVal). */
function parseNameValue(ctx: InstructionContext, rest: string): Ast.KeyValue[] | null {
  const words = parseWords(rest, ctx.escape);
  if (words.length === 0) {
    ctx.fail(`${ctx.kind} requires at least one argument`, exampleFor(ctx.kind));
    return null;
  }
  if (!words[0]!.includes('=')) {
    const parts = rest.split(/[ \t\r\n\v\f]+/);
    if (parts.length < 2) {
      ctx.fail(`${ctx.kind} must have two arguments`, exampleFor(ctx.kind));
      return null;
    }
    const key = parts[0]!;
    ctx.warn(`"${ctx.kind} key value" is the legacy form; write ${ctx.kind} ${key}=value`);
    return [{ key, value: rest.slice(rest.indexOf(key) + key.length).trim() }];
  }
  const pairs: Ast.KeyValue[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) {
      ctx.fail(`Syntax error - can't find = in "${word}". Must be of the form: name=value`, 'Quote values that contain spaces: KEY="a b"');
      return null;
    }
    if (eq === 0) {
      ctx.fail(`${ctx.kind} names can not be blank`);
      return null;
    }
    pairs.push({ key: word.slice(0, eq), value: word.slice(eq + 1) });
  }
  return pairs;
}

function parseHealthcheck(
  ctx: InstructionContext,
  base: { lines: Ast.Heredoc['lines']; original: string; ignoredFlags: string[] },
  rest: string,
  flags: BuilderFlag[],
): Ast.HealthcheckInstruction | null {
  const match = /^(\S+)\s*([\s\S]*)$/.exec(rest);
  const type = match?.[1]?.toUpperCase();
  if (type === 'NONE') {
    if (match![2] !== '' || flags.length > 0) ctx.fail('HEALTHCHECK NONE takes no arguments');
    return { ...base, kind: 'HEALTHCHECK', command: null, options: {} };
  }
  if (type !== 'CMD') {
    ctx.fail(type ? `Unknown type "${match![1]}" in HEALTHCHECK (try CMD)` : 'HEALTHCHECK requires at least one argument', 'Write HEALTHCHECK CMD <command> or HEALTHCHECK NONE');
    return null;
  }
  const command = parseCommand(ctx, match![2]!, 'HEALTHCHECK CMD');
  if (!command) return null;
  const options: Ast.HealthcheckOptions = {};
  for (const flag of flags) {
    const value = flag.value ?? '';
    if (flag.name === 'retries') {
      const retries = Number(value);
      if (!Number.isInteger(retries) || retries < 0) ctx.fail(`--retries must be a whole number, not "${value}"`);
      else options.retries = retries;
      continue;
    }
    if (parseGoDuration(value) === null) {
      ctx.fail(`--${flag.name}: "${value}" is not a duration`, 'Durations look like 30s, 1m30s or 500ms');
      continue;
    }
    if (flag.name === 'interval') options.interval = value;
    else if (flag.name === 'timeout') options.timeout = value;
    else if (flag.name === 'start-period') options.startPeriod = value;
    else if (flag.name === 'start-interval') options.startInterval = value;
  }
  return { ...base, kind: 'HEALTHCHECK', command, options };
}

/** Go's time.ParseDuration for the units Docker users write; returns nanoseconds. */
export function parseGoDuration(text: string): number | null {
  if (text === '0') return 0;
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * units[m[2]!]!;
    consumed = re.lastIndex;
  }
  return consumed === text.length && text.length > 0 ? Math.round(total) : null;
}

function checkStructure(instructions: Ast.Instruction[], errors: DockerfileError[], text: string): void {
  if (instructions.length === 0) {
    if (errors.length === 0) {
      errors.push(new DockerfileError({ line: 1, message: text.trim() === '' ? 'The Dockerfile is empty' : 'The Dockerfile has no instructions', hint: 'Start with FROM <image>, e.g. FROM busybox' }));
    }
    return;
  }
  const firstFrom = instructions.findIndex((i) => i.kind === 'FROM');
  if (firstFrom < 0) {
    errors.push(new DockerfileError({ line: instructions[0]!.lines.start, message: 'The Dockerfile has no FROM instruction', hint: 'Every build starts from an image: add FROM <image> (e.g. FROM busybox) as the first instruction' }));
    return;
  }
  for (const instruction of instructions.slice(0, firstFrom)) {
    if (instruction.kind !== 'ARG') {
      errors.push(new DockerfileError({ line: instruction.lines.start, message: `${instruction.kind} comes before the first FROM`, hint: 'Only ARG may come before FROM; move this line below FROM' }));
    }
  }
}

function unknownInstructionError(word: string, line: number, column: number): DockerfileError {
  const upper = word.toUpperCase();
  const suggestion = closestMatch(upper, INSTRUCTION_KEYWORDS);
  return new DockerfileError({
    line,
    column,
    message: `Unknown instruction: ${upper}` + (suggestion ? `. Did you mean ${suggestion}?` : ''),
    hint: `Check the spelling: instructions are ${INSTRUCTION_KEYWORDS.join(', ')}`,
  });
}

function exampleFor(keyword: string): string {
  const examples: Record<string, string> = {
    RUN: 'e.g. RUN echo hello',
    CMD: 'e.g. CMD ["python3", "app.py"]',
    ENTRYPOINT: 'e.g. ENTRYPOINT ["python3"]',
    'HEALTHCHECK CMD': 'e.g. HEALTHCHECK CMD wget -q -O- http://localhost/',
    ENV: 'e.g. ENV NAME=value',
    LABEL: 'e.g. LABEL version="1.0"',
    WORKDIR: 'e.g. WORKDIR /app',
    USER: 'e.g. USER nobody',
    STOPSIGNAL: 'e.g. STOPSIGNAL SIGTERM',
    MAINTAINER: 'e.g. MAINTAINER Ada <ada@example.com>',
    EXPOSE: 'e.g. EXPOSE 8080',
    VOLUME: 'e.g. VOLUME /data',
  };
  return examples[keyword] ?? '';
}
