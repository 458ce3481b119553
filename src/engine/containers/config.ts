/**
 * A container's config from its image's and back: the environment `create` gives it, and the image config
 * `docker commit` writes (with `--change`).
 */
import type { ContainerConfig } from '../oci/types.ts';
import type { ContainerRecord } from './record.ts';

/** dockerd gives a container PATH when neither the image nor `-e` sets it (an imported image has no Env). */
export function withDefaultPath(env: string[]): string[] {
  return env.some((e) => e.startsWith('PATH=')) ? env : ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...env];
}

/** The image's Env with `extra` added: a variable set again keeps its place and takes the new value. */
export function mergeEnv(base: string[], extra: string[]): string[] {
  const env = new Map(base.map((e) => [e.split('=')[0], e]));
  for (const e of extra) env.set(e.split('=')[0], e);
  return [...env.values()];
}

/** What `docker commit` writes: the image's config with the container's Cmd, Entrypoint, Env, WorkingDir and User. */
export function committedConfig(base: ContainerConfig, record: ContainerRecord): ContainerConfig {
  const config: ContainerConfig = { ...base, Env: record.env, User: record.user };
  if (record.workdir !== '/' || base.WorkingDir) config.WorkingDir = record.workdir;
  if (record.entrypoint) config.Entrypoint = record.entrypoint.length ? record.entrypoint : null;
  if (record.cmd) config.Cmd = record.cmd.length ? record.cmd : null;
  return config;
}

/** `docker commit --change`: ENV adds to the image's Env; other fields replace. */
export function mergeConfig(base: ContainerConfig, changes: Partial<ContainerConfig>): ContainerConfig {
  return {
    ...base,
    ...changes,
    ...(changes.Env ? { Env: mergeEnv(base.Env ?? [], changes.Env) } : {}),
    // EXPOSE, LABEL, VOLUME and ONBUILD add to what the image has, as in a Dockerfile.
    ...(changes.ExposedPorts ? { ExposedPorts: { ...base.ExposedPorts, ...changes.ExposedPorts } } : {}),
    ...(changes.Labels ? { Labels: { ...base.Labels, ...changes.Labels } } : {}),
    ...(changes.Volumes ? { Volumes: { ...base.Volumes, ...changes.Volumes } } : {}),
    ...(changes.OnBuild ? { OnBuild: [...(base.OnBuild ?? []), ...changes.OnBuild] } : {}),
  };
}
