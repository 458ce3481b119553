/**
 * One way to run a program in the VM (the agent's `spawn`) and get its output as text: the exit code and
 * each stream decoded, kept to its last `maxChars` characters so memory stays bounded whatever it prints.
 */
import type { GuestParams, GuestResult } from './guest-protocol.ts';
import { TextTail } from './util/tail.ts';

/** The part of a `Guest` this needs: `Machine` and any engine `Guest` fit. */
export interface SpawnGuest {
  request(
    op: 'spawn',
    params: GuestParams<'spawn'>,
    options?: { timeoutMs?: number; onStream?: (stream: 'stdout' | 'stderr', data: Uint8Array) => void },
  ): Promise<GuestResult<'spawn'>>;
}

export interface SpawnOutput {
  exit: number;
  stdout: string;
  stderr: string;
}

/** Characters kept of each stream by default. */
const KEPT_CHARS = 1024 * 1024;

export async function spawnInGuest(
  guest: SpawnGuest,
  argv: string[],
  options: { stdin?: string; timeoutMs?: number; maxChars?: number } = {},
): Promise<SpawnOutput> {
  const kept = { stdout: new TextTail(options.maxChars ?? KEPT_CHARS), stderr: new TextTail(options.maxChars ?? KEPT_CHARS) };
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  const { exit } = await guest.request('spawn', { argv, ...(options.stdin !== undefined ? { stdin: options.stdin } : {}) }, {
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    onStream: (stream, data) => kept[stream].append(decoders[stream].decode(data, { stream: true })),
  });
  for (const stream of ['stdout', 'stderr'] as const) kept[stream].append(decoders[stream].decode());
  return { exit, stdout: kept.stdout.text(), stderr: kept.stderr.text() };
}

/** `sh -c script args…` in the VM, for a step that must work: fails with `what` and the end of its stderr. */
export async function shInGuest(guest: SpawnGuest, what: string, script: string, ...args: string[]): Promise<void> {
  const { exit, stderr } = await spawnInGuest(guest, ['/bin/sh', '-c', script, 'sh', ...args], { maxChars: 2000 });
  if (exit !== 0) throw new Error(`${what}: ${stderr.trim() || `exit ${exit}`}`);
}
