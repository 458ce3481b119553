/**
 * The `layerlab` CLI as a person runs it (node bin/layerlab.mjs, a fresh store):
 * - cli.first_command_ms: `layerlab images` with no daemon running: starts the daemon (VM restore) and runs;
 * - cli.warm_command_ms: later `layerlab ps` commands, answered by the daemon (median of 10);
 * - cli.nodaemon_command_ms: one `layerlab ps` with LAYERLAB_DAEMON=off (its own VM), for comparison.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram } from '../src/process/run.ts';
import { median, round, time } from './stats';

const LAUNCHER = join(import.meta.dirname, '..', 'bin', 'layerlab.mjs');

async function layerlab(store: string, env: Record<string, string>, ...argv: string[]): Promise<void> {
  await runProgram(process.execPath, [LAUNCHER, '--store', store, ...argv], { env: { ...process.env, ...env }, timeoutMs: 300_000 }).catch((error: Error) => {
    throw new Error(`layerlab ${argv.join(' ')}: ${error.message}`);
  });
}

export async function benchCli(): Promise<Record<string, number | null | string>> {
  const store = await mkdtemp(join(tmpdir(), 'layerlab-bench-cli-'));
  const env = { LAYERLAB_DAEMON: '', LAYERLAB_DAEMON_IDLE: '120' };
  try {
    const [first] = await time(() => layerlab(store, env, 'images'));
    const warm: number[] = [];
    for (let i = 0; i < 10; i++) warm.push((await time(() => layerlab(store, env, 'ps')))[0]);
    await layerlab(store, env, 'daemon', 'stop');
    const [alone] = await time(() => layerlab(store, { LAYERLAB_DAEMON: 'off' }, 'ps'));
    return { 'cli.first_command_ms': round(first, 0), 'cli.warm_command_ms': round(median(warm), 0), 'cli.nodaemon_command_ms': round(alone, 0) };
  } finally {
    await layerlab(store, env, 'daemon', 'stop').catch(() => {});
    await rm(store, { recursive: true, force: true });
  }
}
