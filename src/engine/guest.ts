/**
 * What the engine needs from the VM: the agent's request channel (vm/agent/PROTOCOL.md) and the 9p share
 * for bulk data. src/machine implements it with v86; unit tests implement it with fakes. Keeping the engine on
 * this interface is what lets it run without a DOM and without v86 in tests.
 */
import type { GuestNotification, GuestNotifications, GuestOp, GuestParams, GuestResult } from './guest-protocol.ts';
import { fromBase64 } from './util/base64.ts';

export type * from './guest-protocol.ts';

export interface RequestOptions {
  signal?: AbortSignal;
  /** Milliseconds before the request fails with a GuestTimeoutError. Default 30 000. */
  timeoutMs?: number;
  /** Called with each stdout/stderr chunk streamed for this request (run, spawn). */
  onStream?: (stream: 'stdout' | 'stderr', data: Uint8Array) => void;
}

export interface Guest {
  /** One agent request; resolves with the final `ok: true` message (minus id/ok), rejects with GuestError.
   * Params and result are the op's in guest-protocol.ts (vm/agent/PROTOCOL.md). */
  request<Op extends GuestOp>(op: Op, params: GuestParams<Op>, options?: RequestOptions): Promise<GuestResult<Op>>;
  /** A message to the agent that gets no reply (vm/agent/PROTOCOL.md: `cli-output`, `cli-exit`, `cli-exec`). */
  notify<Op extends GuestNotification>(op: Op, params: GuestNotifications[Op]): void;
  /** Write a file into the 9p share; the guest sees it at `/mnt/host/<path>`. */
  putFile(path: string, data: Uint8Array): Promise<void>;
  /** Read a file from the 9p share (`/mnt/host/<path>` in the guest). */
  getFile(path: string): Promise<Uint8Array>;
  /** Unsolicited agent events (`exit` of detached containers, ...; their shapes: `GuestEvent`). Returns an
   * unsubscribe function. */
  onEvent(listener: (event: { event: string; [key: string]: unknown }) => void): () => void;
  /** Why the guest cannot reach the network, when it cannot (a failed RUN step appends it). */
  readonly offlineReason?: string | null;
  /** Destinations the relay refused since the last call, with the reason (a failed RUN step appends them). */
  takeNetworkNotes?(): string[];
  /** Keeps the emulator from compiling guest code until the result is called (src/machine/jit-gate.ts): for
   * hidden work whose compile cost would land in the learner's next commands. */
  holdCompiling?(): () => void;
  /** Keeps the emulator compiling guest code until the result is called: for hidden work in idle time that
   * runs the code the learner's next commands run, so that theirs runs compiled. */
  forceCompiling?(): () => void;
}

/** Where the guest keeps things; shared by engine and agent. */
export const GUEST_PATHS = {
  layers: '/var/lib/layerlab/layers',
  containers: '/var/lib/layerlab/containers',
  volumes: '/var/lib/layerlab/volumes',
  /** `RUN --mount=type=cache` directories, one per cache id, kept across builds. */
  buildCache: '/var/lib/layerlab/build-cache',
  share: '/mnt/host',
} as const;

/** A guest file's contents as text (the agent's `read`); rejects as the request does (a missing file). */
export async function readGuestText(guest: Pick<Guest, 'request'>, path: string): Promise<string> {
  const { data } = await guest.request('read', { path });
  return new TextDecoder().decode(fromBase64(data));
}

/** An agent older than the op (a saved state from an earlier build) answers `unknown op`. */
export function isUnknownOp(error: Error): boolean {
  return /unknown op/.test(error.message);
}

export class GuestError extends Error {
  constructor(
    readonly op: string,
    message: string,
  ) {
    super(`guest ${op}: ${message}`);
    this.name = 'GuestError';
  }
}

export class GuestTimeoutError extends GuestError {
  constructor(op: string, timeoutMs: number) {
    super(op, `no answer within ${timeoutMs} ms (is the VM still running?)`);
    this.name = 'GuestTimeoutError';
  }
}
