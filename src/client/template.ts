/**
 * The small part of Go's text/template that `docker inspect -f` users reach for: `{{.Id}}`,
 * `{{.Config.Cmd}}`, `{{json .Config}}`, `{{.State.Status}}`, `{{index .Config.Labels "k"}}`,
 * `{{index .RepoDigests 0}}`, `{{join .Config.Cmd " "}}`, `{{upper …}}`, `{{lower …}}`, `{{len …}}`, and pipes (`{{.Config | json}}`).
 * Values print the way Go prints them (`[sh -c echo]`, `map[a:b]`, `<no value>`), JSON the way Go's
 * encoder writes it (`<`, `>`, `&` escaped).
 */
import { formatTable } from './format.ts';

export class TemplateError extends Error {}

/** Go's encoding/json output: compact (or indented) with HTML-sensitive characters escaped. */
export function goJson(value: unknown, indent?: number): string {
  return JSON.stringify(value ?? null, null, indent)
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

const MISSING = Symbol('missing');

/** How `{{.X}}` prints a value in Go. */
export function goString(value: unknown): string {
  if (value === MISSING || value === undefined) return '<no value>';
  if (value === null) return '<nil>';
  if (Array.isArray(value)) return `[${value.map(goString).join(' ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, v]) => `${k}:${goString(v)}`).join(' ')}]`;
  }
  return String(value);
}

type Token = { kind: 'field'; path: string[] } | { kind: 'string'; value: string } | { kind: 'number'; value: number } | { kind: 'ident'; name: string } | { kind: 'pipe' };

function tokenize(action: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(\|)|"((?:[^"\\]|\\.)*)"|(\.[\w.]*)|([A-Za-z_]\w*)|(-?\d+))/y;
  let pos = 0;
  while (pos < action.length) {
    if (!action.slice(pos).trim()) break;
    re.lastIndex = pos;
    const m = re.exec(action);
    if (!m) throw new TemplateError(`template: :1: unexpected "${action.slice(pos).trim()[0]}" in command`);
    pos = re.lastIndex;
    if (m[1]) tokens.push({ kind: 'pipe' });
    else if (m[2] !== undefined) tokens.push({ kind: 'string', value: JSON.parse(`"${m[2]}"`) as string });
    else if (m[3]) tokens.push({ kind: 'field', path: m[3].split('.').filter(Boolean) });
    else if (m[5]) tokens.push({ kind: 'number', value: Number(m[5]) });
    else tokens.push({ kind: 'ident', name: m[4] });
  }
  return tokens;
}

const FUNCS: Record<string, (...args: unknown[]) => unknown> = {
  json: (v) => goJson(v === MISSING ? null : v),
  upper: (v) => goString(v).toUpperCase(),
  lower: (v) => goString(v).toLowerCase(),
  len: (v) => (Array.isArray(v) || typeof v === 'string' ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0),
  join: (v, sep) => (Array.isArray(v) ? v.map(goString).join(String(sep)) : goString(v)),
  index: (v, key) => {
    if (Array.isArray(v)) {
      if (typeof key !== 'number') throw new TemplateError(`template: :1: error calling index: cannot index slice/array with type string`);
      if (key < 0 || key >= v.length) throw new TemplateError(`template: :1: error calling index: index out of range: ${key}`);
      return v[key];
    }
    return v && typeof v === 'object' ? ((v as Record<string, unknown>)[String(key)] ?? MISSING) : MISSING;
  },
  println: (...v) => v.map(goString).join(' ') + '\n',
};

function lookup(data: unknown, path: string[]): unknown {
  let value: unknown = data;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !(key in (value as object))) return MISSING;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function evalCommand(tokens: Token[], data: unknown, piped: unknown[]): unknown {
  const [head, ...rest] = tokens;
  const arg = (t: Token): unknown => {
    if (t.kind === 'field') return lookup(data, t.path);
    if (t.kind === 'string' || t.kind === 'number') return t.value;
    throw new TemplateError(`template: :1: unexpected ${t.kind === 'ident' ? `"${t.name}"` : '"|"'} in operand`);
  };
  if (!head) throw new TemplateError('template: :1: missing value for command');
  if (head.kind === 'ident') {
    const fn = FUNCS[head.name];
    if (!fn) throw new TemplateError(`template: :1: function "${head.name}" not defined`);
    return fn(...rest.map(arg), ...piped);
  }
  if (rest.length) throw new TemplateError(`template: :1: can't give argument to non-function ${goString(arg(head))}`);
  return arg(head);
}

/** Renders `template` against `data` (one inspected object). */
export function renderTemplate(template: string, data: unknown): string {
  let out = '';
  let pos = 0;
  for (;;) {
    const open = template.indexOf('{{', pos);
    if (open === -1) break;
    const close = template.indexOf('}}', open);
    if (close === -1) throw new TemplateError('template: :1: unclosed action');
    out += template.slice(pos, open);
    const action = template.slice(open + 2, close).replace(/^-\s/, '').replace(/\s-$/, '');
    const commands: Token[][] = [[]];
    for (const token of tokenize(action)) {
      if (token.kind === 'pipe') commands.push([]);
      else commands.at(-1)!.push(token);
    }
    let value: unknown = MISSING;
    commands.forEach((command, i) => {
      value = evalCommand(command, data, i === 0 ? [] : [value]);
    });
    out += goString(value);
    pos = close + 2;
  }
  return out + template.slice(pos);
}

/** Go's time.Time as Docker's list formatters print `.CreatedAt`: `2024-05-01 11:58:00 +0000 UTC`. */
export function goTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : `${d.toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
}

/**
 * `--format` for list verbs (ps, images), as Docker's formatter does it: `json` prints one object per line;
 * `table …` prints a header row (each field's column name) and aligns the tab-separated cells as Docker's
 * tabwriter does; any other template prints one line per row. `\t` and `\n` typed in the template are tabs
 * and newlines. Returns undefined for a bare `table` (the verb's own table).
 */
export function formatRows(format: string, rows: Record<string, unknown>[], headers: Record<string, string>): string | undefined {
  if (format === 'json') return rows.map((row) => `${goJson(row)}\n`).join('');
  const table = /^table(\s|$)/.test(format);
  const template = (table ? format.slice('table'.length) : format).trim().replaceAll('\\t', '\t').replaceAll('\\n', '\n');
  if (table && !template) return undefined;
  const lines = rows.map((row) => renderTemplate(template, row));
  if (!table) return lines.map((line) => `${line}\n`).join('');
  const head = renderTemplate(template, headers).split('\t');
  return formatTable({ columns: head.map((header, i) => ({ header, value: (cells: string[]) => cells[i] ?? '' })), rows: lines.map((line) => line.split('\t')) });
}
