/**
 * `RUN --mount=…` specs, parsed as BuildKit's Dockerfile frontend parses them (instructions/
 * commands_runmount.go): CSV fields of `key=value` (or a bare `ro`/`rw`/`required`), the same defaults and
 * the same error texts, so a learner's mistake reads as it would under `docker build`.
 */

export const RUN_MOUNT_TYPES = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'] as const;
export type RunMountType = (typeof RUN_MOUNT_TYPES)[number];

export type CacheSharing = 'shared' | 'private' | 'locked';

export interface RunMount {
  type: RunMountType;
  /** Where the RUN sees it: absolute, cleaned. Secrets default to /run/secrets/<id>. */
  target: string;
  /** bind: the path in the context / `from` stage or image; cache: the path inside `from`. */
  source?: string;
  /** bind/cache: a stage name or index, or an image (the context when absent). */
  from?: string;
  readonly: boolean;
  /** cache: the cache's name (default: the target); secret: the secret's id (default: the target's base name). */
  id?: string;
  sharing?: CacheSharing;
  /** cache/secret: the mode, owner and group of the cache directory or the secret file. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** secret: a missing secret fails the build instead of leaving the file out. */
  required: boolean;
  /** secret: also exposed as this environment variable (BuildKit's Dockerfile 1.10 `env=`). */
  env?: string;
}

const ALL_KEYS = ['type', 'from', 'source', 'target', 'readonly', 'id', 'sharing', 'required', 'mode', 'uid', 'gid', 'src', 'dst', 'ro', 'rw', 'readwrite', 'destination', 'env'];

export class RunMountError extends Error {}

/** Go's strconv.ParseBool. */
function parseBool(key: string, value: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new RunMountError(`invalid value for ${key}: ${value}`);
}

/** Go's encoding/csv for one record: fields split on commas, `"…"` quoting with `""` for a quote. */
function csvFields(text: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new RunMountError(`failed to parse csv mounts: extraneous or missing " in quoted-field`);
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += text[i++];
      }
      if (i < text.length && text[i] !== ',') throw new RunMountError(`failed to parse csv mounts: extraneous or missing " in quoted-field`);
    } else {
      while (i < text.length && text[i] !== ',') field += text[i++];
    }
    fields.push(field);
    if (i >= text.length) return fields;
    i++; // the comma
  }
}

function cleanTarget(target: string, workdir: string): string {
  const absolute = target.startsWith('/') ? target : `${workdir.replace(/\/$/, '')}/${target}`;
  const parts: string[] = [];
  for (const part of absolute.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return '/' + parts.join('/');
}

/**
 * One `--mount` value → a RunMount. `expand` substitutes `$VARS` in values (as the frontend does at
 * dispatch); without it, values are checked only for what needs no substitution. `workdir` makes a
 * relative target absolute. Throws RunMountError with BuildKit's message.
 */
export function parseRunMount(value: string, options: { expand?: (word: string) => string; workdir?: string } = {}): RunMount {
  const mount: Omit<RunMount, 'target'> & { target?: string } = { type: 'bind', readonly: true, required: false };
  let readonlyGiven = false;
  let sharing: string | undefined;
  for (const field of csvFields(value)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro' || key === 'readwrite' || key === 'rw') {
        mount.readonly = key === 'readonly' || key === 'ro';
        readonlyGiven = true;
        continue;
      }
      if (key === 'required') {
        if (mount.type !== 'secret' && mount.type !== 'ssh') throw new RunMountError(`unexpected key '${key}' for mount type '${mount.type}'`);
        mount.required = true;
        continue;
      }
      throw new RunMountError(`invalid field '${field}' must be a key=value pair`);
    }
    let fieldValue = field.slice(eq + 1);
    if (key === 'from' && /\$./.test(fieldValue)) throw new RunMountError(`'${key}' doesn't support variable expansion, define alias stage instead`);
    if (options.expand && key !== 'from') fieldValue = options.expand(fieldValue);
    switch (key) {
      case 'type': {
        const type = fieldValue.toLowerCase();
        if (!(RUN_MOUNT_TYPES as readonly string[]).includes(type)) throw new RunMountError(`unsupported mount type ${JSON.stringify(fieldValue)}`);
        mount.type = type as RunMountType;
        break;
      }
      case 'from':
        mount.from = fieldValue;
        break;
      case 'source':
      case 'src':
        mount.source = fieldValue;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        mount.target = fieldValue;
        break;
      case 'readonly':
      case 'ro':
        mount.readonly = parseBool(key, fieldValue);
        readonlyGiven = true;
        break;
      case 'readwrite':
      case 'rw':
        mount.readonly = !parseBool(key, fieldValue);
        readonlyGiven = true;
        break;
      case 'required':
        if (mount.type !== 'secret' && mount.type !== 'ssh') throw new RunMountError(`unexpected key '${key}' for mount type '${mount.type}'`);
        mount.required = parseBool(key, fieldValue);
        break;
      case 'id':
        mount.id = fieldValue;
        break;
      case 'sharing':
        if (mount.type !== 'cache') throw new RunMountError(`invalid cache sharing set for ${mount.type} mount`);
        sharing = fieldValue.toLowerCase();
        break;
      case 'mode': {
        if (!/^[0-7]+$/.test(fieldValue) || parseInt(fieldValue, 8) > 0xffffffff) throw new RunMountError(`invalid value ${fieldValue} for mode`);
        mount.mode = parseInt(fieldValue, 8);
        break;
      }
      case 'uid':
      case 'gid': {
        if (!/^\d+$/.test(fieldValue) || Number(fieldValue) > 0xffffffff) throw new RunMountError(`invalid value ${fieldValue} for ${key}`);
        mount[key] = Number(fieldValue);
        break;
      }
      case 'env':
        if (mount.type !== 'secret') throw new RunMountError(`unexpected key '${key}' for mount type '${mount.type}'`);
        mount.env = fieldValue;
        break;
      default: {
        const hint = ALL_KEYS.find((k) => k.startsWith(key.slice(0, 3)) && key.length > 2);
        throw new RunMountError(`unexpected key '${key}' in '${field}'${hint ? ` (did you mean ${hint}?)` : ''}`);
      }
    }
  }
  const fileInfoAllowed = mount.type === 'secret' || mount.type === 'ssh' || mount.type === 'cache';
  for (const key of ['mode', 'uid', 'gid'] as const) {
    if (mount[key] !== undefined && !fileInfoAllowed) throw new RunMountError(`${key} not allowed for ${JSON.stringify(mount.type)} type mounts`);
  }
  if (!readonlyGiven) mount.readonly = !(mount.type === 'cache' || mount.type === 'tmpfs');
  if (sharing !== undefined) {
    if (sharing !== 'shared' && sharing !== 'private' && sharing !== 'locked') throw new RunMountError(`unsupported sharing value ${JSON.stringify(sharing)}`);
    mount.sharing = sharing;
  }
  if (mount.type === 'secret') {
    if (mount.from !== undefined) throw new RunMountError('secret mount should not have a from');
    if (mount.source === undefined && mount.target === undefined && mount.id === undefined) throw new RunMountError('invalid secret mount. one of source, target required');
    if (mount.source !== undefined && mount.id !== undefined) throw new RunMountError("both source and id can't be set");
    // `source` names the secret too; the id defaults to the target's base name, the target to /run/secrets/<id>.
    const id = mount.id ?? mount.source ?? mount.target!.replace(/\/+$/, '').split('/').pop()!;
    delete mount.source;
    mount.id = id;
    mount.target ??= `/run/secrets/${id}`;
  }
  if (mount.type === 'ssh') {
    throw new RunMountError('mount type "ssh" is not supported by Layerlab: it has no SSH agent to forward into the build (use a secret mount for a key, --mount=type=secret,id=…)');
  }
  const target = cleanTarget(mount.target ?? '', options.workdir ?? '/');
  if (target === '/') throw new RunMountError(`invalid mount target ${JSON.stringify(target)}`);
  if (mount.type === 'cache') mount.id ??= target;
  return { ...mount, target };
}

/** Checks a `--mount` value as far as it can before substitution (at parse time): its message or undefined. */
export function runMountSyntaxError(value: string): string | undefined {
  if (value.includes('$')) return undefined; // checked once substituted, by the planner
  try {
    parseRunMount(value);
    return undefined;
  } catch (error) {
    if (error instanceof RunMountError) return error.message;
    throw error;
  }
}

/** The `from=` field of a `--mount` value, without parsing the rest (for the stage dependency graph). */
export function mountFromField(value: string): string | undefined {
  try {
    for (const field of csvFields(value)) {
      const eq = field.indexOf('=');
      if (eq > 0 && field.slice(0, eq).toLowerCase() === 'from') return field.slice(eq + 1);
    }
  } catch {
    // reported by the parser
  }
  return undefined;
}
