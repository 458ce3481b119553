/**
 * The image config a build produces, shaped like Docker's (`docker inspect` → `.Config`), and the
 * classic builder's `created_by` history strings, which `docker history` shows.
 */
import { parseGoDuration } from './parse.ts';

export interface HealthConfig {
  /** ['NONE'] | ['CMD', ...argv] | ['CMD-SHELL', command] */
  Test: string[];
  /** Nanoseconds, like Docker's JSON. */
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The image config's `config` section as a build carries it from step to step (moby's runConfig), every field set. */
export interface RunConfig {
  Env: string[];
  Cmd: string[] | null;
  Entrypoint: string[] | null;
  /** '' means not set (the runtime uses `/`). */
  WorkingDir: string;
  User: string;
  Labels: Record<string, string>;
  ExposedPorts: Record<string, Record<string, never>>;
  Volumes: Record<string, Record<string, never>>;
  StopSignal?: string;
  Healthcheck?: HealthConfig;
  /** Only present after a SHELL instruction. */
  Shell?: string[];
  OnBuild: string[];
  /** BuildKit sets it with every CMD and ENTRYPOINT (and images keep it). */
  ArgsEscaped?: boolean;
}

export const DEFAULT_SHELL: readonly string[] = ['/bin/sh', '-c'];

export function emptyConfig(): RunConfig {
  return { Env: [], Cmd: null, Entrypoint: null, WorkingDir: '', User: '', Labels: {}, ExposedPorts: {}, Volumes: {}, OnBuild: [] };
}

/** Fills the fields a base image's config may leave out, copying so steps never share arrays. */
export function normalizeConfig(config: Partial<RunConfig> | undefined): RunConfig {
  const base = emptyConfig();
  if (!config) return base;
  return {
    ...base,
    ...structuredClone(config),
    Env: [...(config.Env ?? [])],
    Labels: { ...(config.Labels ?? {}) },
    ExposedPorts: { ...(config.ExposedPorts ?? {}) },
    Volumes: { ...(config.Volumes ?? {}) },
    OnBuild: [...(config.OnBuild ?? [])],
  };
}

export function shellOf(config: RunConfig): string[] {
  return config.Shell && config.Shell.length > 0 ? [...config.Shell] : [...DEFAULT_SHELL];
}

/** Sets KEY=value in an Env list, replacing an earlier entry for the same key in place. */
export function setEnv(env: string[], key: string, value: string): string[] {
  const next = [...env];
  const index = next.findIndex((entry) => entry === key || entry.startsWith(key + '='));
  if (index >= 0) next[index] = `${key}=${value}`;
  else next.push(`${key}=${value}`);
  return next;
}

// ---- created_by, as BuildKit (Docker's default builder) writes it ----------------------------
//
// RUN                 `RUN /bin/sh -c apk add x # buildkit`; with build args in scope
//                     `RUN |2 A=1 B=2 /bin/sh -c apk add x # buildkit` (exec form: the argv joined with spaces)
// COPY, ADD           `COPY hello.txt /app/ # buildkit`: the sources and destination as written, flags left out
// WORKDIR             `WORKDIR /app` (a layer, but no "# buildkit": BuildKit only marks RUN/COPY/ADD)
// config-only steps   the instruction: `ENV A=1`, `USER app`, `LABEL a=b`, `ARG V=1`
// CMD/ENTRYPOINT use Go's %q for a string list: `CMD ["python3" "app.py"]`; VOLUME and SHELL use %v:
// `VOLUME [/data]`; EXPOSE prints the new ports as a Go map: `EXPOSE map[8080/tcp:{}]`; HEALTHCHECK
// prints the struct: `HEALTHCHECK &{["CMD-SHELL" "wget x"] "30s" ...}`.

/** BuildKit marks the history of the steps that ran an LLB operation (RUN, COPY, ADD). */
export function withBuildkitMark(text: string): string {
  return `${text} # buildkit`;
}

export function runCreatedBy(argv: readonly string[], historyArgs: readonly string[]): string {
  const prefix = historyArgs.length > 0 ? [`|${historyArgs.length}`, ...historyArgs] : [];
  return withBuildkitMark(['RUN', ...prefix, ...argv].join(' '));
}

/** Go's %v of a map[string]struct{} (keys sorted, as fmt prints maps): `map[80/tcp:{} 8080/tcp:{}]`. */
export function goPortSet(ports: readonly string[]): string {
  return `map[${[...new Set(ports)].sort().map((port) => `${port}:{}`).join(' ')}]`;
}

/** Go's %q of a []string: `["a" "b"]`. */
export function goQuoteList(values: readonly string[] | null): string {
  if (values === null) return '[]';
  return `[${values.map(goQuote).join(' ')}]`;
}

export function goQuote(value: string): string {
  return JSON.stringify(value).replace(/\\u([0-9a-f]{4})/g, (_, hex: string) => `\\u${hex}`);
}

/** Go's time.Duration.String(): 30s, 1m30s, 500ms, 0s. */
export function goDuration(nanoseconds: number): string {
  if (nanoseconds === 0) return '0s';
  if (nanoseconds < 1e9) {
    if (nanoseconds < 1e3) return `${nanoseconds}ns`;
    if (nanoseconds < 1e6) return `${trimZeros(nanoseconds / 1e3)}µs`;
    return `${trimZeros(nanoseconds / 1e6)}ms`;
  }
  let seconds = nanoseconds / 1e9;
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  const s = `${trimZeros(Number(seconds.toFixed(9)))}s`;
  if (hours > 0) return `${hours}h${minutes}m${s}`;
  if (minutes > 0) return `${minutes}m${s}`;
  return s;
}

function trimZeros(n: number): string {
  return String(Number(n.toFixed(9)));
}

export function healthcheckHistory(health: HealthConfig): string {
  const d = (ns: number | undefined) => goQuote(goDuration(ns ?? 0));
  const retries = `'\\x${(health.Retries ?? 0).toString(16).padStart(2, '0')}'`;
  return `HEALTHCHECK &{${goQuoteList(health.Test)} ${d(health.Interval)} ${d(health.Timeout)} ${d(health.StartPeriod)} ${d(health.StartInterval)} ${retries}}`;
}

export function durationOrUndefined(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  return parseGoDuration(text) ?? undefined;
}
