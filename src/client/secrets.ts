/**
 * `docker build --secret id=ID[,src=PATH|,env=VAR][,type=file|env]`, as Docker's client reads it: the
 * same fields and defaults (no source: the environment variable named like the id, else the file named
 * like it), paths relative to the caller's directory, and the client's messages.
 */
import { CliError } from './shared.ts';

export interface SecretSpec {
  id: string;
  file?: string;
  env?: string;
}

function refuse(spec: string, why: string): CliError {
  return new CliError(`could not parse secrets: [${spec}]: ${why}`);
}

export function parseSecretSpec(spec: string): SecretSpec {
  const parsed: { id?: string; file?: string; env?: string; type?: string } = {};
  for (const field of spec.split(',')) {
    const eq = field.indexOf('=');
    if (eq < 0) throw refuse(spec, `invalid field '${field}' must be a key=value pair`);
    const key = field.slice(0, eq).toLowerCase();
    const value = field.slice(eq + 1);
    if (key === 'type') {
      if (value !== 'file' && value !== 'env') throw refuse(spec, `unsupported secret type ${JSON.stringify(value)}`);
      parsed.type = value;
    } else if (key === 'id') parsed.id = value;
    else if (key === 'source' || key === 'src') parsed.file = value;
    else if (key === 'env') parsed.env = value;
    else throw refuse(spec, `unexpected key '${key}' in '${field}'`);
  }
  if (!parsed.id) throw refuse(spec, 'secret missing ID');
  // `type=env,src=NAME` names a variable, as the client reads it.
  if (parsed.type === 'env' && parsed.file !== undefined) return { id: parsed.id, env: parsed.env ?? parsed.file };
  return { id: parsed.id, ...(parsed.file !== undefined ? { file: parsed.file } : {}), ...(parsed.env !== undefined ? { env: parsed.env } : {}) };
}

/**
 * The secrets' bytes by id. A variable that is not set leaves the secret out (a RUN that requires it
 * fails); a file that cannot be read fails here, as Docker's client does.
 */
export async function loadSecrets(
  specs: string[],
  from: { readFile?: (path: string) => Promise<Uint8Array>; env?: Record<string, string | undefined> },
): Promise<Record<string, Uint8Array>> {
  const secrets: Record<string, Uint8Array> = {};
  for (const text of specs) {
    const spec = parseSecretSpec(text);
    let env = spec.env;
    let file = spec.file;
    // Neither given: the variable named like the id when it is set, else the file named like it.
    if (env === undefined && file === undefined) {
      if (from.env?.[spec.id] !== undefined) env = spec.id;
      else file = spec.id;
    }
    if (env !== undefined) {
      const value = from.env?.[env];
      if (value !== undefined) secrets[spec.id] = new TextEncoder().encode(value);
      continue;
    }
    if (!from.readFile) throw refuse(text, 'this terminal cannot read files');
    try {
      secrets[spec.id] = await from.readFile(file!);
    } catch {
      throw refuse(text, `failed to stat ${file}: stat ${file}: no such file or directory`);
    }
  }
  return secrets;
}

/**
 * The environment variables a `docker build` command line may read for its secrets: a client that runs
 * elsewhere (the guest terminal, a daemon's client) sends only these.
 */
export function secretEnvNames(argv: string[]): string[] {
  const names = new Set<string>();
  argv.forEach((arg, i) => {
    const spec = arg === '--secret' ? argv[i + 1] : arg.startsWith('--secret=') ? arg.slice('--secret='.length) : undefined;
    if (spec === undefined) return;
    try {
      const parsed = parseSecretSpec(spec);
      names.add(parsed.env ?? (parsed.file === undefined ? parsed.id : ''));
    } catch {
      // the build reports it
    }
  });
  names.delete('');
  return [...names];
}
