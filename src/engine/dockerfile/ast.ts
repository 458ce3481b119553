/**
 * Layerlab's own typed Dockerfile AST. Argument values are kept as written (quotes, escapes and
 * `$VARS` still in them) because substitution depends on build state; plan.ts substitutes them.
 */
import type { LineRange } from './errors.ts';

/** Shell form (`RUN apk add x`) is run by the config's SHELL; exec form (`RUN ["a","b"]`) is not. */
export type CommandForm = { form: 'shell'; command: string } | { form: 'exec'; argv: string[] };

export interface Heredoc {
  /** Delimiter word, e.g. `EOF`. */
  name: string;
  /** Body, each line ending in `\n` (leading tabs removed for `<<-`). */
  content: string;
  /** False for a quoted delimiter (`<<'EOF'`): the body is taken literally. */
  expand: boolean;
  chomp: boolean;
  lines: LineRange;
}

interface Base {
  /** 1-based inclusive lines, heredoc bodies included. */
  lines: LineRange;
  /** The instruction as one logical line, continuations joined (Docker's `Original`). */
  original: string;
  /** Flags Docker accepts but Layerlab doesn't act on (e.g. `--mount`, `--network`). */
  ignoredFlags: string[];
}

export interface FromInstruction extends Base {
  kind: 'FROM';
  image: string;
  /** `AS name`, lower-cased as Docker does. */
  stageName?: string;
  platform?: string;
}

export interface RunInstruction extends Base {
  kind: 'RUN';
  command: CommandForm;
  heredocs: Heredoc[];
  /** `--mount=` values as written (mounts.ts parses them once build args are substituted). */
  mounts: string[];
  /** `--network=none|host` (absent: default, the builder's own network). */
  network?: 'none' | 'host';
}

export interface CopyInstruction extends Base {
  kind: 'COPY' | 'ADD';
  /** Source words as written; `<<EOF` words refer to entries of `heredocs`. */
  sources: string[];
  dest: string;
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  heredocs: Heredoc[];
}

export interface KeyValue {
  key: string;
  value: string;
}

export interface EnvInstruction extends Base {
  kind: 'ENV';
  pairs: KeyValue[];
}

export interface LabelInstruction extends Base {
  kind: 'LABEL';
  pairs: KeyValue[];
}

export interface ArgDeclaration {
  name: string;
  /** Undefined when declared without `=`. */
  defaultValue?: string;
}

export interface ArgInstruction extends Base {
  kind: 'ARG';
  args: ArgDeclaration[];
}

export interface WorkdirInstruction extends Base {
  kind: 'WORKDIR';
  path: string;
}

export interface UserInstruction extends Base {
  kind: 'USER';
  user: string;
}

export interface CmdInstruction extends Base {
  kind: 'CMD' | 'ENTRYPOINT';
  command: CommandForm;
}

export interface ExposeInstruction extends Base {
  kind: 'EXPOSE';
  ports: string[];
}

export interface VolumeInstruction extends Base {
  kind: 'VOLUME';
  paths: string[];
}

export interface ShellInstruction extends Base {
  kind: 'SHELL';
  argv: string[];
}

export interface StopSignalInstruction extends Base {
  kind: 'STOPSIGNAL';
  signal: string;
}

export interface HealthcheckOptions {
  interval?: string;
  timeout?: string;
  startPeriod?: string;
  startInterval?: string;
  retries?: number;
}

export interface HealthcheckInstruction extends Base {
  kind: 'HEALTHCHECK';
  /** null for `HEALTHCHECK NONE` (turns off an inherited check). */
  command: CommandForm | null;
  options: HealthcheckOptions;
}

export interface OnbuildInstruction extends Base {
  kind: 'ONBUILD';
  /** The trigger as written, e.g. `RUN make`: recorded in the image config, run by child builds. */
  trigger: string;
  triggerKeyword: string;
}

export interface MaintainerInstruction extends Base {
  kind: 'MAINTAINER';
  name: string;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CopyInstruction
  | EnvInstruction
  | LabelInstruction
  | ArgInstruction
  | WorkdirInstruction
  | UserInstruction
  | CmdInstruction
  | ExposeInstruction
  | VolumeInstruction
  | ShellInstruction
  | StopSignalInstruction
  | HealthcheckInstruction
  | OnbuildInstruction
  | MaintainerInstruction;

export type InstructionKind = Instruction['kind'];

export const INSTRUCTION_KEYWORDS: readonly InstructionKind[] = [
  'FROM',
  'RUN',
  'COPY',
  'ADD',
  'ENV',
  'LABEL',
  'ARG',
  'WORKDIR',
  'USER',
  'CMD',
  'ENTRYPOINT',
  'EXPOSE',
  'VOLUME',
  'SHELL',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'ONBUILD',
  'MAINTAINER',
];

export interface ParserDirectives {
  /** `# syntax=` value, recorded only: Layerlab always uses its own front end. */
  syntax?: string;
  /** `\` unless `# escape=`` ` ``. */
  escape: string;
  /** `# check=` value, recorded only. */
  check?: string;
}
