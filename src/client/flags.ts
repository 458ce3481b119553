/**
 * Docker-style command-line flags: `-t x`, `--tag x`, `--tag=x`, combined booleans (`-it`, `-dit`),
 * repeatable flags (`-e A -e B`), and `--` or the first positional ending flag parsing for verbs like
 * `run IMAGE CMD...` where the command's own flags belong to the command.
 */

export interface FlagSpec {
  /** Long name without dashes, e.g. `tag`. */
  name: string;
  /** One-letter short name, e.g. `t`. */
  short?: string;
  /** `bool` takes no value; `string` takes one; `list` takes one and may repeat. */
  kind: 'bool' | 'string' | 'list';
  description?: string;
}

export interface ParsedFlags {
  flags: Record<string, string | boolean | string[]>;
  args: string[];
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseFlags(
  argv: string[],
  specs: FlagSpec[],
  options: { stopAtFirstArg?: boolean; verb: string },
): ParsedFlags {
  const byLong = new Map(specs.map((spec) => [spec.name, spec]));
  const byShort = new Map(specs.filter((spec) => spec.short).map((spec) => [spec.short!, spec]));
  const flags: ParsedFlags['flags'] = {};
  for (const spec of specs) if (spec.kind === 'list') flags[spec.name] = [];
  const args: string[] = [];

  const set = (spec: FlagSpec, value: string | boolean) => {
    if (spec.kind === 'list') (flags[spec.name] as string[]).push(String(value));
    else flags[spec.name] = value;
  };
  const unknown = (flag: string) =>
    new UsageError(`unknown flag: ${flag}\nSee 'docker ${options.verb} --help'.`);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--') && arg.length > 2) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq === -1 ? undefined : eq);
      const spec = byLong.get(name);
      if (!spec) throw unknown(`--${name}`);
      if (spec.kind === 'bool') {
        const value = eq === -1 ? 'true' : arg.slice(eq + 1);
        if (value !== 'true' && value !== 'false') {
          throw new UsageError(`invalid argument "${value}" for "--${name}" flag: expected true or false`);
        }
        set(spec, value === 'true');
      } else if (eq !== -1) {
        set(spec, arg.slice(eq + 1));
      } else {
        if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: --${name}`);
        set(spec, argv[++i]);
      }
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // Combined short flags: every letter a bool, except a last one that may take a value (`-it`, `-p8080`).
      for (let j = 1; j < arg.length; j++) {
        const spec = byShort.get(arg[j]);
        if (!spec) throw unknown(`-${arg[j]}`);
        if (spec.kind === 'bool') {
          set(spec, true);
          continue;
        }
        const rest = arg.slice(j + 1).replace(/^=/, '');
        if (rest) set(spec, rest);
        else if (i + 1 < argv.length) set(spec, argv[++i]);
        else throw new UsageError(`flag needs an argument: '${arg[j]}' in -${arg[j]}`);
        break;
      }
      continue;
    }
    args.push(arg);
    if (options.stopAtFirstArg) {
      args.push(...argv.slice(i + 1));
      break;
    }
  }
  return { flags, args };
}
