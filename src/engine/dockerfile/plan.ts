/**
 * Parsed Dockerfile + build args + target → BuildPlan: the stages that must run, in order, and for
 * each stage the steps with everything substituted and resolved, so the executor only has to carry
 * them out. Semantics follow Docker's classic builder (see config.ts for the history formats).
 */
import type * as Ast from './ast.ts';
import {
  DEFAULT_SHELL,
  durationOrUndefined,
  goQuoteList,
  healthcheckHistory,
  goPortSet,
  withBuildkitMark,
  normalizeConfig,
  runCreatedBy,
  setEnv,
  shellOf,
  type HealthConfig,
  type RunConfig,
} from './config.ts';
import { DockerfileError, throwIfErrors, type DockerfileWarning, type LineRange } from './errors.ts';
import { parseDockerfile, type ParseResult } from './parse.ts';
import { cleanPath, resolveAgainst } from './paths.ts';
import {
  AUTOMATIC_PLATFORM_ARGS,
  PREDEFINED_ARGS,
  SubstitutionError,
  envListToMap,
  substituteHeredoc,
  substituteWord,
  substituteWords,
} from './substitute.ts';
import { closestMatch } from './suggest.ts';
import { heredocWordName } from './syntax.ts';
import { mountFromField, parseRunMount, RunMountError, type RunMount } from './mounts.ts';

export type StageBase = { kind: 'image'; ref: string } | { kind: 'stage'; index: number } | { kind: 'scratch' };

/** Where COPY/ADD read from: the build context, an earlier stage's result, or an image. */
export type CopyOrigin = { kind: 'context' } | { kind: 'stage'; index: number } | { kind: 'image'; ref: string };

/** Whether a step changes the filesystem (WORKDIR always makes a layer, empty when the directory exists). */
export type LayerEffect = 'layer' | 'none';

export interface RunSpec {
  /** What to exec: SHELL + command for shell form, the JSON array for exec form. */
  argv: string[];
  /** The process environment: the config's Env plus the build args in scope (ENV wins). */
  env: string[];
  /** Fed to the process's stdin (a heredoc script with a `#!` line runs as `interpreter /dev/stdin`). */
  stdin?: string;
  /** `K=V` build args recorded in history as `|N K=V ...`, sorted. */
  historyArgs: string[];
  user: string;
  /** Absolute working directory ('/' when unset). */
  workdir: string;
  /** `--mount=` specs, substituted, with `from` resolved. */
  mounts: PlannedRunMount[];
  /** `--network=none`: no network at all (absent: the builder's network). */
  network?: 'none' | 'host';
}

/** A RUN mount with its `from` resolved: bind/cache sources come from the context, a stage or an image. */
export interface PlannedRunMount extends RunMount {
  origin: CopyOrigin;
}

export interface InlineFile {
  /** The heredoc name; it is the file's name when the destination is a directory. */
  name: string;
  content: string;
}

export interface CopySpec {
  kind: 'COPY' | 'ADD';
  origin: CopyOrigin;
  /** Source patterns after substitution (wildcards allowed); heredoc sources are in inlineFiles. */
  sources: string[];
  inlineFiles: InlineFile[];
  /** Absolute, cleaned destination. */
  dest: string;
  /** The destination as written, after substitution (used in created_by). */
  rawDest: string;
  /**
   * True when the destination ends in `/` or there are several sources: copy *into* it. When false
   * and the destination already exists as a directory at copy time, a file still goes inside it
   * (Docker's rule; only the executor can see that).
   */
  destIsDir: boolean;
  chown?: string;
  chmod?: string;
  link: boolean;
  /** ADD unpacks local tar archives (context.ts detects them by content). */
  extractArchives: boolean;
}

export interface Step {
  /** Stage index in the Dockerfile (0-based) and step index within it. */
  stage: number;
  index: number;
  kind: Ast.InstructionKind;
  lines: LineRange;
  /** The instruction after substitution, as progress shows it and the cache key hashes it. */
  text: string;
  /**
   * Docker history `created_by`, as BuildKit writes it (see config.ts).
   */
  createdBy: string;
  layer: LayerEffect;
  /** The config fields this step sets (new values). */
  configPatch: Partial<RunConfig>;
  /** The whole config after this step. */
  config: RunConfig;
  /** Build args in scope with a value, for the cache key. */
  buildArgs: Record<string, string>;
  run?: RunSpec;
  copy?: CopySpec;
  /** WORKDIR: the absolute directory to create if missing. */
  workdir?: string;
  /** false: the step changes the config without a history entry (ONBUILD, as BuildKit). */
  history?: false;
}

export interface PlannedStage {
  index: number;
  name?: string;
  base: StageBase;
  platform?: string;
  /** The FROM line. */
  lines: LineRange;
  steps: Step[];
  /** The stage's final config (the image config when this is the target). */
  config: RunConfig;
  /** Stages this one needs first (its base stage and COPY --from stages). */
  dependsOn: number[];
  /** From MAINTAINER (the image's `author` field). */
  author?: string;
}

export interface BuildPlan {
  /** Only the stages the target needs, in an order where dependencies come first. */
  stages: PlannedStage[];
  /** Index of the target stage. */
  target: number;
  /** How many stages the Dockerfile has in all. */
  stageCount: number;
  warnings: DockerfileWarning[];
  /** `--build-arg` names no ARG consumed (Docker warns about these). */
  unusedBuildArgs: string[];
}

export interface PlanOptions {
  dockerfile: ParseResult;
  /** `--build-arg` values. */
  buildArgs?: Record<string, string>;
  /** `--target`: a stage name or index; default the last stage. */
  target?: string;
  /** The config of a base image (its Env, WorkingDir, Cmd…), when the store has it. */
  baseImageConfig?: (ref: string) => Partial<RunConfig> | undefined;
  /**
   * Whether an image exists, for `COPY --from=<name>` that matches no stage. Without it such names
   * are taken as image references, as Docker does.
   */
  isKnownImage?: (ref: string) => boolean;
}


interface RawStage {
  index: number;
  from: Ast.FromInstruction;
  name?: string;
  instructions: Ast.Instruction[];
}

/** Builds the plan; throws DockerfileError (all problems in `.all`) when the Dockerfile can't build. */
export function planBuild(options: PlanOptions): BuildPlan {
  throwIfErrors(options.dockerfile.errors);
  const planner = new Planner(options);
  return planner.plan();
}

class Planner {
  private readonly errors: DockerfileError[] = [];
  private readonly warnings: DockerfileWarning[];
  private readonly buildArgs: Record<string, string>;
  private readonly consumed = new Set<string>();
  private readonly globals = new Map<string, string | undefined>();
  private readonly escape: string;
  private readonly stages: RawStage[] = [];
  private readonly planned = new Map<number, PlannedStage>();

  constructor(private readonly options: PlanOptions) {
    this.warnings = [...options.dockerfile.warnings];
    this.buildArgs = options.buildArgs ?? {};
    this.escape = options.dockerfile.directives.escape;
  }

  plan(): BuildPlan {
    this.splitStages();
    const bases = this.stages.map((stage) => this.resolveBase(stage));
    const deps = this.stages.map((stage, i) => this.collectDependencies(stage, bases[i]));
    throwIfErrors(this.errors);

    const target = this.resolveTarget();
    const order = this.orderNeededStages(target, deps);
    throwIfErrors(this.errors);

    for (const index of order) {
      this.planned.set(index, this.planStage(this.stages[index]!, bases[index]!, deps[index]!));
    }
    throwIfErrors(this.errors);

    for (const name of PREDEFINED_ARGS) this.consumed.add(name);
    const unusedBuildArgs = Object.keys(this.buildArgs).filter((name) => !this.consumed.has(name));
    if (unusedBuildArgs.length > 0) {
      this.warnings.push({ line: 0, message: `One or more build-args [${unusedBuildArgs.join(' ')}] were not consumed` });
    }
    return { stages: order.map((i) => this.planned.get(i)!), target, stageCount: this.stages.length, warnings: this.warnings, unusedBuildArgs };
  }

  private fail(line: number, message: string, hint?: string): void {
    this.errors.push(new DockerfileError({ line, message, hint }));
  }

  /** Substitutes, turning lexer errors into DockerfileErrors on the instruction's line. */
  private substitute(word: string, variables: ReadonlyMap<string, string>, line: number): string {
    try {
      return substituteWord({ word, variables, escape: this.escape });
    } catch (error) {
      if (!(error instanceof SubstitutionError)) throw error;
      this.fail(line, `Variable substitution failed: ${error.message}`, 'Check the ${...} expression on this line');
      return '';
    }
  }

  private splitStages(): void {
    let current: RawStage | undefined;
    for (const instruction of this.options.dockerfile.instructions) {
      if (instruction.kind === 'FROM') {
        current = { index: this.stages.length, from: instruction, name: instruction.stageName, instructions: [] };
        if (current.name && this.stages.some((s) => s.name === current!.name)) {
          this.fail(instruction.lines.start, `Duplicate stage name "${current.name}"`, 'Give each stage its own name after AS');
        }
        this.stages.push(current);
      } else if (current) {
        current.instructions.push(instruction);
      } else if (instruction.kind === 'ARG') {
        this.declareGlobalArgs(instruction);
      }
    }
  }

  private globalLookup(): Map<string, string> {
    const lookup = new Map(Object.entries(AUTOMATIC_PLATFORM_ARGS));
    for (const [name, value] of this.globals) if (value !== undefined) lookup.set(name, value);
    return lookup;
  }

  private declareGlobalArgs(instruction: Ast.ArgInstruction): void {
    for (const arg of instruction.args) {
      let value: string | undefined;
      if (arg.name in this.buildArgs) {
        value = this.buildArgs[arg.name];
        this.consumed.add(arg.name);
      } else if (arg.defaultValue !== undefined) {
        value = this.substitute(arg.defaultValue, this.globalLookup(), instruction.lines.start);
      }
      this.globals.set(arg.name, value);
    }
  }

  private resolveBase(stage: RawStage): StageBase {
    const line = stage.from.lines.start;
    const image = this.substitute(stage.from.image, this.globalLookup(), line);
    if (image === '') {
      this.fail(line, `Base name (${stage.from.image}) should not be blank`, 'Give the ARG used in FROM a default value, or pass it with --build-arg');
      return { kind: 'scratch' };
    }
    if (image.toLowerCase() === 'scratch') return { kind: 'scratch' };
    const earlier = this.stages.findIndex((s) => s.index < stage.index && s.name === image.toLowerCase());
    if (earlier >= 0) return { kind: 'stage', index: earlier };
    return { kind: 'image', ref: image };
  }

  /** The stages a stage needs, and where each `--from` points. */
  private collectDependencies(stage: RawStage, base: StageBase | undefined): StageDependency[] {
    const deps: StageDependency[] = [];
    if (base?.kind === 'stage') deps.push({ stage: base.index, line: stage.from.lines.start });
    for (const instruction of stage.instructions) {
      if (instruction.kind === 'RUN') {
        for (const value of instruction.mounts) {
          const from = mountFromField(value);
          if (from === undefined) continue;
          const origin = this.resolveFrom(from, instruction.lines.start, 'RUN --mount from');
          if (origin.kind === 'stage') deps.push({ stage: origin.index, line: instruction.lines.start });
        }
        continue;
      }
      if (instruction.kind !== 'COPY' && instruction.kind !== 'ADD') continue;
      if (instruction.from === undefined) continue;
      const origin = this.resolveCopyFrom(instruction, stage);
      if (origin.kind === 'stage') deps.push({ stage: origin.index, line: instruction.lines.start });
    }
    return deps;
  }

  private resolveCopyFrom(instruction: Ast.CopyInstruction, stage: RawStage): CopyOrigin {
    const line = instruction.lines.start;
    const value = this.substitute(instruction.from ?? '', this.globalLookup(), line);
    if (instruction.kind === 'ADD') {
      this.fail(line, 'ADD does not support --from', 'Use COPY --from=<stage> instead');
      return { kind: 'context' };
    }
    void stage;
    return this.resolveFrom(value, line, 'COPY --from');
  }

  /** A `--from` value (COPY, RUN --mount): a stage by name or index, else an image. */
  resolveFrom(value: string, line: number, label: string): CopyOrigin {
    const byName = this.stages.findIndex((s) => s.name === value.toLowerCase());
    if (byName >= 0) return { kind: 'stage', index: byName };
    if (/^\d+$/.test(value)) {
      const index = Number(value);
      if (index >= this.stages.length) {
        this.fail(line, `${label}=${value}: there is no stage ${value}`, `Stages are numbered from 0; this Dockerfile has ${this.stages.length}`);
        return { kind: 'context' };
      }
      return { kind: 'stage', index };
    }
    if (this.options.isKnownImage && !this.options.isKnownImage(value)) {
      const names = this.stages.map((s) => s.name).filter((n): n is string => n !== undefined);
      const suggestion = closestMatch(value.toLowerCase(), names);
      this.fail(
        line,
        `${label}=${value}: no stage or image is named "${value}"`,
        suggestion ? `Did you mean --from=${suggestion}?` : names.length > 0 ? `Stages here are: ${names.join(', ')}` : 'Name a stage with FROM <image> AS <name>',
      );
      return { kind: 'context' };
    }
    return { kind: 'image', ref: value };
  }

  private resolveTarget(): number {
    const target = this.options.target;
    if (target === undefined || target === '') return this.stages.length - 1;
    const byName = this.stages.findIndex((s) => s.name === target.toLowerCase());
    if (byName >= 0) return byName;
    if (/^\d+$/.test(target) && Number(target) < this.stages.length) return Number(target);
    const names = this.stages.map((s) => s.name).filter((n): n is string => n !== undefined);
    const suggestion = closestMatch(target.toLowerCase(), names);
    throw new DockerfileError({
      line: 0,
      message: `Target stage "${target}" could not be found`,
      hint: suggestion ? `Did you mean ${suggestion}?` : names.length ? `Stages are: ${names.join(', ')}` : 'This Dockerfile has no named stages',
    });
  }

  /** Depth-first from the target: post-order is a valid run order; a back edge is a cycle. */
  private orderNeededStages(target: number, deps: StageDependency[][]): number[] {
    const state = new Map<number, 'visiting' | 'done'>();
    const order: number[] = [];
    const visit = (index: number): void => {
      state.set(index, 'visiting');
      for (const dep of deps[index] ?? []) {
        const seen = state.get(dep.stage);
        if (seen === 'visiting') {
          const name = this.stages[dep.stage]!.name ?? String(dep.stage);
          this.fail(dep.line, `Circular dependency detected on stage: ${name}`, 'A stage cannot COPY --from a stage that (directly or through others) builds on it');
          continue;
        }
        if (seen === undefined) visit(dep.stage);
      }
      state.set(index, 'done');
      order.push(index);
    };
    visit(target);
    return order;
  }

  /** The triggers as instructions on the FROM line; one that does not parse is an error there. */
  private onbuildTriggers(triggers: string[], lines: LineRange): Ast.Instruction[] {
    const parsed = parseDockerfile({ text: ['FROM scratch', ...triggers].join('\n') });
    for (const error of parsed.errors) this.fail(lines.start, `ONBUILD trigger of the base image: ${error.message}`, 'Rebuild the base image with a valid ONBUILD instruction');
    return parsed.instructions.slice(1).map((instruction) => ({ ...instruction, lines }));
  }

  private planStage(raw: RawStage, base: StageBase, deps: StageDependency[]): PlannedStage {
    let config: RunConfig;
    if (base.kind === 'stage') config = normalizeConfig(this.planned.get(base.index)?.config);
    else if (base.kind === 'image') config = normalizeConfig(this.options.baseImageConfig?.(base.ref));
    else config = normalizeConfig(undefined);
    // A base image's ONBUILD triggers run first, as if written after FROM (on its line), and the new
    // image does not inherit them (BuildKit).
    const triggers = config.OnBuild.length > 0 ? this.onbuildTriggers(config.OnBuild, raw.from.lines) : [];
    config.OnBuild = [];
    const stage = new StagePlanner(this, raw, config);
    const steps = [...triggers, ...raw.instructions].map((instruction, i) => stage.step(instruction, i));
    return {
      index: raw.index,
      name: raw.name,
      base,
      platform: raw.from.platform,
      lines: raw.from.lines,
      steps: steps.filter((s): s is Step => s !== null),
      config: stage.config,
      dependsOn: [...new Set(deps.map((d) => d.stage))],
      author: stage.author,
    };
  }

  // ---- shared with StagePlanner -------------------------------------------------------------
  argFromBuildArgs(name: string): string | undefined {
    if (!(name in this.buildArgs)) return undefined;
    this.consumed.add(name);
    return this.buildArgs[name];
  }
  globalArg(name: string): { declared: boolean; value?: string } {
    return { declared: this.globals.has(name), value: this.globals.get(name) };
  }
  predefinedGiven(): [string, string][] {
    return PREDEFINED_ARGS.filter((n) => n in this.buildArgs).map((n) => [n, this.buildArgs[n]!]);
  }
  report(line: number, message: string, hint?: string): void {
    this.fail(line, message, hint);
  }
  substituteOn(word: string, variables: ReadonlyMap<string, string>, line: number): string {
    return this.substitute(word, variables, line);
  }
  wordsOn(word: string, variables: ReadonlyMap<string, string>, line: number): string[] {
    try {
      return substituteWords({ word, variables, escape: this.escape });
    } catch (error) {
      if (!(error instanceof SubstitutionError)) throw error;
      this.fail(line, `Variable substitution failed: ${error.message}`);
      return [];
    }
  }
  heredocOn(text: string, variables: ReadonlyMap<string, string>, line: number): string {
    try {
      return substituteHeredoc({ word: text, variables, escape: this.escape });
    } catch (error) {
      if (!(error instanceof SubstitutionError)) throw error;
      this.fail(line, `Variable substitution failed: ${error.message}`);
      return text;
    }
  }
  copyOrigin(instruction: Ast.CopyInstruction, stage: RawStage): CopyOrigin {
    if (instruction.from === undefined) return { kind: 'context' };
    const origin = this.resolveCopyFrom(instruction, stage);
    if (origin.kind === 'stage' && origin.index === stage.index) {
      this.fail(instruction.lines.start, `Circular dependency detected on stage: ${stage.name ?? stage.index}`, 'A stage cannot COPY --from itself');
    }
    return origin;
  }
}

interface StageDependency {
  stage: number;
  /** The line that creates the dependency (FROM or COPY --from). */
  line: number;
}

/** Walks one stage's instructions, carrying its config and ARG scope. */
class StagePlanner {
  /** ARGs declared in this stage: name → value (undefined: declared without a value). */
  private readonly args = new Map<string, string | undefined>();
  private cmdSet = false;
  author?: string;

  constructor(
    private readonly planner: Planner,
    private readonly raw: RawStage,
    public config: RunConfig,
  ) {}

  /** Build args with values in scope (ENV of the same name hides them from substitution). */
  private argValues(): Map<string, string> {
    const values = new Map<string, string>();
    for (const [name, value] of this.args) if (value !== undefined) values.set(name, value);
    return values;
  }

  /** What `$NAME` means here: ARGs in scope, overridden by ENV (Docker: ENV always wins). */
  private variables(): Map<string, string> {
    const lookup = this.argValues();
    for (const [name, value] of envListToMap(this.config.Env)) lookup.set(name, value);
    return lookup;
  }

  private sub(word: string, line: number, variables = this.variables()): string {
    return this.planner.substituteOn(word, variables, line);
  }

  step(instruction: Ast.Instruction, index: number): Step | null {
    const line = instruction.lines.start;
    const make = (fields: Omit<Step, 'stage' | 'index' | 'kind' | 'lines' | 'config' | 'buildArgs' | 'configPatch'> & { configPatch?: Partial<RunConfig> }): Step => {
      const patch = fields.configPatch ?? {};
      this.config = { ...this.config, ...structuredClone(patch) };
      return {
        stage: this.raw.index,
        index,
        kind: instruction.kind,
        lines: instruction.lines,
        buildArgs: Object.fromEntries(this.argValues()),
        ...fields,
        configPatch: patch,
        config: this.config,
      };
    };

    switch (instruction.kind) {
      case 'FROM':
        return null;
      case 'ARG': {
        const parts: string[] = [];
        const declared: string[] = [];
        for (const arg of instruction.args) {
          const value = this.declareArg(arg, line);
          parts.push(value === undefined ? arg.name : `${arg.name}=${value}`);
          declared.push(arg.defaultValue === undefined ? arg.name : `${arg.name}=${this.sub(arg.defaultValue, line)}`);
        }
        const text = `ARG ${parts.join(' ')}`;
        // History keeps the declaration (its default), not a --build-arg's value: BuildKit's created_by.
        return make({ text, createdBy: `ARG ${declared.join(' ')}`, layer: 'none' });
      }
      case 'ENV': {
        // All values on one line are expanded with the env from *before* the line.
        const variables = this.variables();
        let env = this.config.Env;
        const parts: string[] = [];
        for (const pair of instruction.pairs) {
          const key = this.sub(pair.key, line, variables);
          const value = this.sub(pair.value, line, variables);
          env = setEnv(env, key, value);
          parts.push(`${key}=${value}`);
        }
        const text = `ENV ${parts.join(' ')}`;
        return make({ text, createdBy: text, layer: 'none', configPatch: { Env: env } });
      }
      case 'LABEL': {
        const variables = this.variables();
        const labels = { ...this.config.Labels };
        const parts: string[] = [];
        for (const pair of instruction.pairs) {
          const key = this.sub(pair.key, line, variables);
          const value = this.sub(pair.value, line, variables);
          labels[key] = value;
          parts.push(`${key}=${value}`);
        }
        const text = `LABEL ${parts.join(' ')}`;
        return make({ text, createdBy: text, layer: 'none', configPatch: { Labels: labels } });
      }
      case 'WORKDIR': {
        const path = this.sub(instruction.path, line);
        const workdir = resolveAgainst(this.config.WorkingDir, path);
        const text = `WORKDIR ${workdir}`;
        // BuildKit's WORKDIR is a mkdir -p: always a layer, empty when the directory exists.
        return make({ text, createdBy: text, layer: 'layer', workdir, configPatch: { WorkingDir: workdir } });
      }
      case 'USER': {
        const user = this.sub(instruction.user, line);
        const text = `USER ${user}`;
        return make({ text, createdBy: text, layer: 'none', configPatch: { User: user } });
      }
      case 'EXPOSE': {
        const ports = { ...this.config.ExposedPorts };
        const added: string[] = [];
        for (const word of instruction.ports) {
          for (const port of this.planner.wordsOn(word, this.variables(), line)) {
            const key = normalizePort(port);
            if (!key) {
              this.planner.report(line, `Invalid port "${port}" in EXPOSE`, 'Write a port number with an optional protocol: 8080, 53/udp, 8000-8010');
              continue;
            }
            ports[key] = {};
            added.push(port);
          }
        }
        const text = `EXPOSE ${added.join(' ')}`;
        return make({ text, createdBy: `EXPOSE ${goPortSet(added.map((port) => normalizePort(port)!))}`, layer: 'none', configPatch: { ExposedPorts: ports } });
      }
      case 'VOLUME': {
        const volumes = { ...this.config.Volumes };
        const paths = instruction.paths.map((p) => this.sub(p, line));
        for (const path of paths) {
          if (path.trim() === '') this.planner.report(line, 'VOLUME specified can not be an empty string');
          else volumes[path] = {};
        }
        return make({ text: `VOLUME ${JSON.stringify(paths)}`, createdBy: `VOLUME [${paths.join(' ')}]`, layer: 'none', configPatch: { Volumes: volumes } });
      }
      case 'STOPSIGNAL': {
        const signal = this.sub(instruction.signal, line);
        if (!/^(SIG[A-Z0-9+-]+|\d+|RTMIN(\+\d+)?|RTMAX(-\d+)?)$/i.test(signal)) {
          this.planner.report(line, `Invalid signal: ${signal}`, 'Use a signal name like SIGTERM or SIGINT, or its number');
        }
        const text = `STOPSIGNAL ${signal}`;
        return make({ text, createdBy: text, layer: 'none', configPatch: { StopSignal: signal } });
      }
      case 'SHELL': {
        const text = `SHELL ${JSON.stringify(instruction.argv)}`;
        return make({ text, createdBy: `SHELL [${instruction.argv.join(' ')}]`, layer: 'none', configPatch: { Shell: [...instruction.argv] } });
      }
      case 'CMD': {
        const cmd = this.commandArgv(instruction.command);
        this.cmdSet = true;
        return make({ text: instruction.original, createdBy: `CMD ${goQuoteList(cmd)}`, layer: 'none', configPatch: { Cmd: cmd, ArgsEscaped: true } });
      }
      case 'ENTRYPOINT': {
        const entrypoint = this.commandArgv(instruction.command);
        // An ENTRYPOINT drops a CMD inherited from the base image, but not one set in this stage.
        const patch: Partial<RunConfig> = { Entrypoint: entrypoint };
        if (!this.cmdSet) patch.Cmd = null;
        return make({ text: instruction.original, createdBy: `ENTRYPOINT ${goQuoteList(entrypoint)}`, layer: 'none', configPatch: patch });
      }
      case 'HEALTHCHECK': {
        const health = this.healthConfig(instruction);
        return make({ text: instruction.original, createdBy: healthcheckHistory(health), layer: 'none', configPatch: { Healthcheck: health } });
      }
      case 'ONBUILD': {
        const text = `ONBUILD ${instruction.trigger}`;
        // BuildKit records a trigger in the config only, with no history entry.
        return make({ text, createdBy: text, layer: 'none', history: false, configPatch: { OnBuild: [...this.config.OnBuild, instruction.trigger] } });
      }
      case 'MAINTAINER': {
        this.author = instruction.name;
        const text = `MAINTAINER ${instruction.name}`;
        return make({ text, createdBy: text, layer: 'none' });
      }
      case 'RUN': {
        const run = this.runSpec(instruction);
        const text = [instruction.original, ...instruction.heredocs.map((h) => h.content + h.name)].join('\n');
        return make({ text, createdBy: runCreatedBy(run.argv, run.historyArgs), layer: 'layer', run });
      }
      case 'COPY':
      case 'ADD': {
        const copy = this.copySpec(instruction);
        const flags = [
          copy.origin.kind !== 'context' && instruction.from !== undefined ? `--from=${this.sub(instruction.from, line)}` : '',
          copy.chown ? `--chown=${copy.chown}` : '',
          copy.chmod ? `--chmod=${copy.chmod}` : '',
          copy.link ? '--link' : '',
        ].filter(Boolean);
        const inline = copy.inlineFiles.map((f) => `<<${f.name}\n${f.content}${f.name}`);
        const text = [instruction.kind, ...flags, ...copy.sources, ...inline, copy.rawDest].join(' ');
        return make({
          text,
          createdBy: withBuildkitMark([instruction.kind, ...copy.sources, ...copy.inlineFiles.map((f) => `<<${f.name}`), copy.rawDest].join(' ')),
          layer: 'layer',
          copy,
        });
      }
    }
  }

  private declareArg(arg: Ast.ArgDeclaration, line: number): string | undefined {
    let value = this.planner.argFromBuildArgs(arg.name);
    if (value === undefined) {
      if (arg.defaultValue !== undefined) value = this.sub(arg.defaultValue, line);
      else {
        const global = this.planner.globalArg(arg.name);
        if (global.declared) value = global.value;
        else if (arg.name in AUTOMATIC_PLATFORM_ARGS) value = AUTOMATIC_PLATFORM_ARGS[arg.name];
      }
    }
    this.args.set(arg.name, value);
    return value;
  }

  private commandArgv(command: Ast.CommandForm): string[] {
    return command.form === 'exec' ? [...command.argv] : [...shellOf(this.config), command.command];
  }

  private healthConfig(instruction: Ast.HealthcheckInstruction): HealthConfig {
    if (instruction.command === null) return { Test: ['NONE'] };
    const test = instruction.command.form === 'exec' ? ['CMD', ...instruction.command.argv] : ['CMD-SHELL', instruction.command.command];
    const o = instruction.options;
    const health: HealthConfig = { Test: test };
    const set = (key: 'Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval', text: string | undefined) => {
      const ns = durationOrUndefined(text);
      if (ns !== undefined) health[key] = ns;
    };
    set('Interval', o.interval);
    set('Timeout', o.timeout);
    set('StartPeriod', o.startPeriod);
    set('StartInterval', o.startInterval);
    if (o.retries !== undefined) health.Retries = o.retries;
    return health;
  }

  private runSpec(instruction: Ast.RunInstruction): RunSpec {
    const envMap = envListToMap(this.config.Env);
    const argsOnly = [...this.argValues()].filter(([name]) => !envMap.has(name)).map(([n, v]) => `${n}=${v}`).sort();
    // History lists every ARG in scope; an ENV of the same name shows its value there (as BuildKit does).
    const historyArgs = [...this.argValues()].map(([n, v]) => `${n}=${envMap.get(n) ?? v}`).sort();
    const env = [...this.config.Env, ...argsOnly];
    for (const [name, value] of this.planner.predefinedGiven()) {
      if (!envMap.has(name) && !this.args.has(name)) env.push(`${name}=${value}`);
    }
    const { argv, stdin } = this.runArgv(instruction);
    const workdir = this.config.WorkingDir || '/';
    return { argv, env, stdin, historyArgs, user: this.config.User, workdir, mounts: this.runMounts(instruction, workdir), ...(instruction.network ? { network: instruction.network } : {}) };
  }

  private runMounts(instruction: Ast.RunInstruction, workdir: string): PlannedRunMount[] {
    const line = instruction.lines.start;
    const variables = this.variables();
    const mounts: PlannedRunMount[] = [];
    for (const value of instruction.mounts) {
      try {
        const mount = parseRunMount(value, { expand: (word) => this.sub(word, line, variables), workdir });
        const origin: CopyOrigin = mount.from === undefined ? { kind: 'context' } : this.planner.resolveFrom(mount.from, line, 'RUN --mount from');
        if (origin.kind === 'stage' && origin.index === this.raw.index) {
          this.planner.report(line, `Circular dependency detected on stage: ${this.raw.name ?? this.raw.index}`, 'A RUN cannot mount its own stage');
        }
        mounts.push({ ...mount, origin });
      } catch (error) {
        if (!(error instanceof RunMountError)) throw error;
        this.planner.report(line, error.message, 'See https://docs.docker.com/reference/dockerfile/#run---mount for the mount types and their options');
      }
    }
    return mounts;
  }

  private runArgv(instruction: Ast.RunInstruction): { argv: string[]; stdin?: string } {
    const command = instruction.command;
    if (command.form === 'exec') return { argv: [...command.argv] };
    const shell = shellOf(this.config);
    const heredocs = instruction.heredocs;
    if (heredocs.length === 0) return { argv: [...shell, command.command] };
    // `RUN <<EOF` alone: the body is the script. With a #! line it runs under that interpreter.
    if (heredocs.length === 1 && heredocWordName(command.command.trim()) === heredocs[0]!.name) {
      const body = heredocs[0]!.content;
      const shebang = /^#!(.*)\n/.exec(body);
      if (shebang) return { argv: [...shebang[1]!.trim().split(/\s+/), '/dev/stdin'], stdin: body };
      return { argv: [...shell, body] };
    }
    // Otherwise the shell gets the whole text, heredocs included, and handles them itself.
    const script = [command.command, ...heredocs.map((h) => h.content + h.name)].join('\n');
    return { argv: [...shell, script] };
  }

  private copySpec(instruction: Ast.CopyInstruction): CopySpec {
    const line = instruction.lines.start;
    const variables = this.variables();
    const origin = this.planner.copyOrigin(instruction, this.raw);
    const sources: string[] = [];
    const inlineFiles: InlineFile[] = [];
    for (const word of instruction.sources) {
      const heredocName = heredocWordName(word);
      const heredoc = heredocName ? instruction.heredocs.find((h) => h.name === heredocName) : undefined;
      if (heredoc) {
        const content = heredoc.expand ? this.planner.heredocOn(heredoc.content, variables, line) : heredoc.content;
        inlineFiles.push({ name: heredoc.name, content });
      } else {
        sources.push(this.sub(word, line, variables));
      }
    }
    const rawDest = this.sub(instruction.dest, line, variables);
    const count = sources.length + inlineFiles.length;
    const endsInSlash = rawDest.endsWith('/');
    if (count > 1 && !endsInSlash) {
      this.planner.report(line, `When using ${instruction.kind} with more than one source file, the destination must be a directory and end with a /`, `Write the destination as ${rawDest}/`);
    }
    for (const source of sources) {
      if (instruction.kind === 'ADD' && /^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
        this.planner.report(line, "ADD from a URL needs network access, which Layerlab's sandbox doesn't have; use COPY", 'Put the file in the build context and COPY it');
      }
      if (origin.kind === 'context' && cleanPath(source).startsWith('..')) {
        this.planner.report(line, `Forbidden path outside the build context: ${source}`, 'COPY can only read files inside the build context');
      }
    }
    let dest = resolveAgainst(this.config.WorkingDir, rawDest);
    if (dest === '') dest = '/';
    return {
      kind: instruction.kind,
      origin,
      sources,
      inlineFiles,
      dest,
      rawDest,
      destIsDir: endsInSlash || count > 1 || dest === '/',
      chown: instruction.chown !== undefined ? this.sub(instruction.chown, line, variables) : undefined,
      chmod: instruction.chmod !== undefined ? this.sub(instruction.chmod, line, variables) : undefined,
      link: instruction.link,
      extractArchives: instruction.kind === 'ADD',
    };
  }
}

/** `80` → `80/tcp`; `53/UDP` → `53/udp`; ranges stay ranges. */
function normalizePort(port: string): string | null {
  const match = /^(\d+)(?:-(\d+))?(?:\/([a-zA-Z]+))?$/.exec(port);
  if (!match) return null;
  const protocol = (match[3] ?? 'tcp').toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(protocol)) return null;
  return `${match[1]}${match[2] ? '-' + match[2] : ''}/${protocol}`;
}

export { DEFAULT_SHELL };
