/**
 * Docker's own text rules for instruction arguments, ported from BuildKit's
 * `frontend/dockerfile/parser` (line_parsers.go, parser.go). dockerfile-ast finds where instructions
 * begin and end; these functions turn an instruction's lines into the strings Docker would see, so
 * quoting, continuations and JSON detection behave exactly like `docker build`.
 */

const WHITESPACE = /[ \t\r\n\v\f]/;

/** Escape char followed by optional blanks at the very end of a line means "continues". */
function continuationPattern(escape: string): RegExp {
  return new RegExp(`\\${escape}[ \\t]*$`);
}

export interface LogicalLine {
  /** The joined text, continuation escapes removed, comment lines inside it dropped. */
  text: string;
  /** Index (into the given lines) of the last physical line that belongs to it. */
  lastLine: number;
  /** True when a continued line was empty (Docker warns about these). */
  hadEmptyContinuation: boolean;
}

/**
 * Joins an instruction's physical lines into one logical line the way BuildKit does: the first line
 * is trimmed on the left, continuation lines keep their leading blanks, whole-line comments and empty
 * lines inside a continuation are skipped.
 */
export function joinLogicalLine(lines: string[], escape: string): LogicalLine {
  const cont = continuationPattern(escape);
  let text = (lines[0] ?? '').trimStart();
  let continues = cont.test(text);
  if (continues) text = text.replace(cont, '');
  let index = 0;
  let hadEmptyContinuation = false;
  while (continues && index + 1 < lines.length) {
    index++;
    const physical = lines[index]!;
    if (/^\s*#/.test(physical)) continue;
    if (physical.trim() === '') {
      hadEmptyContinuation = true;
      continue;
    }
    continues = cont.test(physical);
    text += continues ? physical.replace(cont, '') : physical;
  }
  return { text, lastLine: index, hadEmptyContinuation };
}

/** Splits off the keyword: `RUN  echo hi` → ['RUN', 'echo hi']. */
export function splitKeyword(logical: string): [string, string] {
  const trimmed = logical.trim();
  const match = /^(\S+)\s*([\s\S]*)$/.exec(trimmed);
  if (!match) return ['', ''];
  return [match[1]!, match[2]!];
}

/**
 * Splits words the way BuildKit's `parseWords` does: blanks separate words, quotes group, and the
 * quotes and escapes are kept (the shell-word processor in substitute.ts removes them later).
 */
export function parseWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  const chars = Array.from(rest);
  for (let pos = 0; pos <= chars.length; pos++) {
    const atEnd = pos === chars.length;
    let ch = atEnd ? '' : chars[pos]!;
    if (phase === 'spaces') {
      if (atEnd) break;
      if (WHITESPACE.test(ch)) continue;
      phase = 'word';
    }
    if (atEnd) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (WHITESPACE.test(ch)) {
        phase = 'spaces';
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue;
        word += ch;
        pos++;
        ch = chars[pos]!;
      }
      word += ch;
      continue;
    }
    // phase === 'quote'
    if (ch === quote) phase = 'word';
    if (ch === escape && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      pos++;
      word += ch;
      ch = chars[pos]!;
    }
    word += ch;
  }
  return words;
}

/** Words separated by blanks, no quote handling (BuildKit's parseStringsWhitespaceDelimited). */
export function splitWhitespace(rest: string): string[] {
  const trimmed = rest.trim();
  return trimmed === '' ? [] : trimmed.split(/[ \t\r\n\v\f]+/);
}

export interface BuilderFlag {
  name: string;
  /** null for a bare `--link`. */
  value: string | null;
}

/**
 * Takes the leading `--name[=value]` flags off an instruction's arguments (BuildKit's
 * extractBuilderFlags). Values may be quoted; a `--` word ends the flags.
 */
export function extractBuilderFlags(rest: string): { flags: BuilderFlag[]; rest: string } {
  const flags: BuilderFlag[] = [];
  let pos = 0;
  const n = rest.length;
  for (;;) {
    while (pos < n && WHITESPACE.test(rest[pos]!)) pos++;
    if (!rest.startsWith('--', pos)) break;
    let word = '';
    let quote = '';
    let end = pos;
    for (; end < n; end++) {
      const ch = rest[end]!;
      if (quote) {
        if (ch === quote) quote = '';
        else word += ch;
        continue;
      }
      if (ch === '"' || ch === "'") {
        quote = ch;
        continue;
      }
      if (WHITESPACE.test(ch)) break;
      word += ch;
    }
    if (word === '--') {
      pos = end;
      break;
    }
    const body = word.slice(2);
    const eq = body.indexOf('=');
    flags.push(eq < 0 ? { name: body, value: null } : { name: body.slice(0, eq), value: body.slice(eq + 1) });
    pos = end;
  }
  return { flags, rest: rest.slice(pos).trim() };
}

export type MaybeJson = { json: true; values: string[] } | { json: false; text: string } | { error: string };

/**
 * BuildKit's parseMaybeJSON: text that starts with `[` and parses as a JSON array is exec form;
 * a JSON array with non-strings is an error; anything else (including broken JSON) is shell form.
 */
export function parseMaybeJson(rest: string): MaybeJson {
  const text = rest.trim();
  if (text.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { json: false, text };
    }
    if (Array.isArray(parsed)) {
      if (parsed.every((v) => typeof v === 'string')) return { json: true, values: parsed as string[] };
      return { error: 'when using JSON array syntax, arrays must be comprised of strings only' };
    }
  }
  return { json: false, text };
}

export interface HeredocMarker {
  name: string;
  /** `<<-EOF`: leading tabs are stripped from the body and the terminator. */
  chomp: boolean;
  /** Unquoted delimiters expand variables in the body; quoted ones (`<<'EOF'`) don't. */
  expand: boolean;
}

/** Finds `<<EOF`, `<<-EOF`, `<<"EOF"` markers outside quotes (not `<<<` here-strings). */
export function findHeredocMarkers(line: string): HeredocMarker[] {
  const markers: HeredocMarker[] = [];
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) quote = '';
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      continue;
    }
    if (ch !== '<' || line[i + 1] !== '<' || line[i + 2] === '<') continue;
    const match = /^<<(-?)(["']?)([A-Za-z0-9_.\-]+)\2/.exec(line.slice(i));
    if (match) {
      markers.push({ name: match[3]!, chomp: match[1] === '-', expand: match[2] === '' });
      i += match[0].length - 1;
    } else {
      i++;
    }
  }
  return markers;
}

/** `<<EOF` / `<<-"EOF"` as a whole word (COPY/ADD sources). */
export function heredocWordName(word: string): string | null {
  const match = /^<<-?(["']?)([A-Za-z0-9_.\-]+)\1$/.exec(word);
  return match ? match[2]! : null;
}
