/**
 * Docker's variable substitution, ported from BuildKit's `frontend/dockerfile/shell/lex.go`.
 *
 * Docker expands `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`, `${VAR+alt}`,
 * `${VAR:?msg}`, `${VAR?msg}`, `${VAR#prefix}`, `${VAR%suffix}` (plus `##`/`%%`) itself, removing
 * quotes and escapes as a shell would — but only in the instructions listed in
 * SUBSTITUTING_INSTRUCTIONS. RUN, CMD and ENTRYPOINT are left alone: the shell in the container
 * expands those at run time.
 */

/** Instructions whose arguments Docker substitutes (the Dockerfile reference's list). */
export const SUBSTITUTING_INSTRUCTIONS: ReadonlySet<string> = new Set([
  'ADD',
  'COPY',
  'ENV',
  'EXPOSE',
  'FROM',
  'LABEL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
  'ONBUILD',
  // Not in the reference's list, but BuildKit expands ARG defaults (`ARG B=$A`) too.
  'ARG',
]);

/**
 * Build args Docker knows without an ARG line. They can be given with `--build-arg` and are then
 * visible to RUN, but they are left out of the image history unless the Dockerfile declares them.
 */
export const PREDEFINED_ARGS: readonly string[] = [
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
];

/**
 * BuildKit's automatic platform args: in the global scope (usable in FROM) and usable in a stage
 * after `ARG TARGETARCH` without a value. Layerlab's VM is linux/386.
 */
export const AUTOMATIC_PLATFORM_ARGS: Readonly<Record<string, string>> = {
  BUILDPLATFORM: 'linux/386',
  BUILDOS: 'linux',
  BUILDARCH: '386',
  BUILDVARIANT: '',
  TARGETPLATFORM: 'linux/386',
  TARGETOS: 'linux',
  TARGETARCH: '386',
  TARGETVARIANT: '',
};

/** Variables visible to a substitution, looked up by exact (case-sensitive) name. */
export type VariableLookup = ReadonlyMap<string, string>;

export class SubstitutionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SubstitutionError';
  }
}

/**
 * The longest value one substitution may produce. Docker has no limit, but a few doubling ARG lines
 * (`ARG B=$A$A`) grow exponentially: without a cap, a 500-byte Dockerfile takes gigabytes and minutes.
 */
export const MAX_EXPANDED_LENGTH = 64 * 1024;

function refuseLongExpansion(length: number): void {
  if (length > MAX_EXPANDED_LENGTH) {
    throw new SubstitutionError(
      `the expanded value is longer than ${MAX_EXPANDED_LENGTH} characters (do variables here repeat each other, like ARG B=$A$A?)`,
    );
  }
}

export interface SubstituteOptions {
  /** The text to process: one word as it appears in the Dockerfile (quotes still in it). */
  word: string;
  /** Variables in scope: the stage's ENV plus the ARGs in scope (ENV wins). */
  variables: VariableLookup;
  /** The Dockerfile's escape character (`\` or a backtick from `# escape=`). */
  escape?: string;
}

/** Expands variables, removes quotes and escapes: one word in, one string out (ProcessWord). */
export function substituteWord(options: SubstituteOptions): string {
  return new ShellWord(options.word, options.variables, options.escape ?? '\\').process().text;
}

/**
 * Like substituteWord, but splits the result into words on blanks that were not quoted and did not
 * come from a variable's value as a whole (ProcessWords): `EXPOSE $PORTS` with PORTS="80 443".
 */
export function substituteWords(options: SubstituteOptions): string[] {
  return new ShellWord(options.word, options.variables, options.escape ?? '\\').process().words;
}

/**
 * Expands variables in a heredoc body (`COPY <<EOF` with an unquoted delimiter). Quotes are plain
 * text in a file's content, so only `$` references and escapes are processed.
 */
export function substituteHeredoc(options: SubstituteOptions): string {
  return new ShellWord(options.word, options.variables, options.escape ?? '\\', false, true).process().text;
}

/** Turns `KEY=value` lines (image config Env) into a lookup; later entries win. */
export function envListToMap(env: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of env) {
    const eq = entry.indexOf('=');
    if (eq < 0) map.set(entry, '');
    else map.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return map;
}

const SPECIAL_PARAMS = new Set(['*', '#', '@', '!', '?', '-', '$']);
const EOF = '';

/** Collects words like BuildKit's wordsStruct: quoted/escaped blanks don't split. */
class WordCollector {
  private words: string[] = [];
  private word = '';
  private inWord = false;

  addChar(ch: string): void {
    if (/\s/.test(ch) && this.inWord) {
      if (this.word.length > 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else if (!/\s/.test(ch)) {
      this.word += ch;
      this.inWord = true;
    }
  }
  addRaw(text: string): void {
    this.word += text;
    this.inWord = true;
  }
  addString(text: string): void {
    for (const ch of text) this.addChar(ch);
  }
  result(): string[] {
    if (this.word.length > 0) return [...this.words, this.word];
    return this.words;
  }
}

class ShellWord {
  private chars: string[];
  private pos = 0;

  constructor(
    text: string,
    private readonly variables: VariableLookup,
    private readonly escape: string,
    private readonly rawEscapes = false,
    private readonly quotesAreText = false,
  ) {
    this.chars = Array.from(text);
  }

  private peek(): string {
    return this.pos < this.chars.length ? this.chars[this.pos]! : EOF;
  }
  private next(): string {
    return this.pos < this.chars.length ? this.chars[this.pos++]! : EOF;
  }

  process(): { text: string; words: string[] } {
    return this.processStopOn(EOF);
  }

  private processStopOn(stop: string): { text: string; words: string[] } {
    let result = '';
    const words = new WordCollector();
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (stop !== EOF && ch === stop) {
        this.next();
        return { text: result, words: words.result() };
      }
      if (ch === "'" && !this.quotesAreText) {
        const value = this.processSingleQuote();
        result += value;
        words.addRaw(value);
      } else if (ch === '"' && !this.quotesAreText) {
        const value = this.processDoubleQuote();
        result += value;
        words.addRaw(value);
      } else if (ch === '$') {
        const value = this.processDollar();
        result += value;
        refuseLongExpansion(result.length);
        words.addString(value);
      } else {
        let c = this.next();
        if (c === this.escape) {
          if (this.rawEscapes) {
            words.addRaw(c);
            result += c;
          }
          c = this.next();
          if (c === EOF) break;
          words.addRaw(c);
        } else {
          words.addChar(c);
        }
        result += c;
      }
    }
    if (stop !== EOF) {
      throw new SubstitutionError(`unexpected end of statement while looking for matching ${stop}`);
    }
    return { text: result, words: words.result() };
  }

  private processSingleQuote(): string {
    this.next();
    let result = '';
    for (;;) {
      const ch = this.next();
      if (ch === EOF) throw new SubstitutionError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return result;
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    this.next();
    let result = '';
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) throw new SubstitutionError('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.next();
        return result;
      }
      if (ch === '$') {
        result += this.processDollar();
        refuseLongExpansion(result.length);
        continue;
      }
      let c = this.next();
      if (c === this.escape) {
        const after = this.peek();
        if (after === EOF) continue; // a lone escape at the end is dropped
        if (after === '"' || after === '$' || after === this.escape) {
          if (this.rawEscapes) result += c;
          c = this.next();
        }
        // other escapes inside double quotes are kept as typed
      }
      result += c;
    }
  }

  private lookup(name: string): string | undefined {
    return this.variables.get(name);
  }

  private processName(): string {
    let name = '';
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (name.length === 0 && /\p{Nd}/u.test(ch)) {
        while (this.peek() !== EOF && /\p{Nd}/u.test(this.peek())) name += this.next();
        return name;
      }
      if (name.length === 0 && SPECIAL_PARAMS.has(ch)) return this.next();
      if (!/[\p{L}\p{Nd}_]/u.test(ch)) break;
      name += this.next();
    }
    return name;
  }

  /** The text inside `${NAME<op>...}` up to the closing brace, itself expanded. */
  private processModifierWord(raw: boolean): string {
    if (!raw) return this.processStopOn('}').text;
    const inner = new ShellWord('', this.variables, this.escape, true, this.quotesAreText);
    inner.chars = this.chars;
    inner.pos = this.pos;
    const { text } = inner.processStopOn('}');
    this.pos = inner.pos;
    return text;
  }

  private processDollar(): string {
    this.next(); // the $
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      return this.lookup(name) ?? '';
    }
    this.next(); // the {
    const first = this.peek();
    if (first === EOF) throw new SubstitutionError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new SubstitutionError('syntax error: bad substitution');
    const name = this.processName();
    const op = this.next();
    const value = this.lookup(name);
    const isSet = value !== undefined;
    switch (op) {
      case '}':
        return value ?? '';
      case ':': {
        const modifier = this.next();
        const word = this.processModifierWord(false);
        switch (modifier) {
          case '-':
            return value ? value : word;
          case '+':
            return value ? word : '';
          case '?':
            if (!isSet) throw new SubstitutionError(`${name}: ${word || 'is not allowed to be unset'}`);
            if (value === '') throw new SubstitutionError(`${name}: ${word || 'is not allowed to be empty'}`);
            return value;
          default:
            throw new SubstitutionError(`unsupported modifier (${modifier}) in substitution`);
        }
      }
      case '-': {
        const word = this.processModifierWord(false);
        return isSet ? value : word;
      }
      case '+': {
        const word = this.processModifierWord(false);
        return isSet ? word : '';
      }
      case '?': {
        const word = this.processModifierWord(false);
        if (!isSet) throw new SubstitutionError(`${name}: ${word || 'is not allowed to be unset'}`);
        return value;
      }
      case '#':
      case '%': {
        const longest = this.peek() === op;
        if (longest) this.next();
        const pattern = this.processModifierWord(true);
        return trimByPattern(value ?? '', pattern, op === '#' ? 'prefix' : 'suffix', longest);
      }
      case EOF:
        throw new SubstitutionError("syntax error: missing '}'");
      default:
        throw new SubstitutionError(`unsupported modifier (${op}) in substitution`);
    }
  }
}

/** `${VAR#pattern}` and friends: shell glob patterns (`*`, `?`, `[...]`) against a prefix/suffix. */
function trimByPattern(value: string, pattern: string, side: 'prefix' | 'suffix', longest: boolean): string {
  const regex = new RegExp(`^${shellPatternToRegex(pattern)}$`, 's');
  const lengths = Array.from({ length: value.length + 1 }, (_, i) => i);
  if (longest) lengths.reverse();
  for (const len of lengths) {
    const part = side === 'prefix' ? value.slice(0, len) : value.slice(value.length - len);
    if (regex.test(part)) return side === 'prefix' ? value.slice(len) : value.slice(0, value.length - len);
  }
  return value;
}

function shellPatternToRegex(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else if (ch === '\\' && i + 1 < pattern.length) out += escapeRegex(pattern[++i]!);
    else if (ch === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) out += '\\[';
      else {
        let body = pattern.slice(i + 1, close);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        out += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else out += escapeRegex(ch);
  }
  return out;
}

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
