/**
 * The host ↔ guest agent protocol as types: one entry per op of vm/agent/PROTOCOL.md with its params and its
 * result, the notifications the host sends, and the events the agent sends. `Guest.request` is checked
 * against these, so a misspelt op or a missing param is a compile error, not an `unknown op` at run time.
 * Keep in step with PROTOCOL.md (and the agent's `handle_line` in vm/agent/main.c).
 */
import type { ListEntry } from './layers/tree.ts';

/** Binary data inside a message (PROTOCOL.md: "Binary data inside messages is base64"). */
export type Base64 = string;

/** An op with no result fields beyond `ok`. */
type Done = Record<string, never>;

/** A tar's member count and file size, as `unpack`, `pack` and `cpout` report them. */
export type TarCounts = { entries: number; bytes: number };

export type GuestOps = {
  hello: { params: Done; result: { version: number } };
  unpack: { params: { tar: string; dest: string }; result: TarCounts };
  pack: { params: { dir: string; tar: string }; result: TarCounts };
  cpout: { params: { root: string; path: string; tar: string }; result: TarCounts };
  cpin: { params: { root: string; path: string; tar: string }; result: { entries: number } };
  list: { params: { dir: string }; result: { entries: ListEntry[] } };
  /** `lowers` topmost first. */
  mount: { params: { lowers: string[]; upper: string; work: string; target: string }; result: Done };
  umount: { params: { target: string }; result: Done };
  tmpfs: { params: { target: string; bytes: number }; result: Done };
  /**
   * Attached: `{exit}` after the stream events; detached: `{pid}` at once (no `exit`), the `exit` event later.
   * Detached with `waitCreated`: `{pid, created}` once crun's state exists (`created: true`: `crun exec`/`kill`
   * work now) or crun has exited or 30 s have passed (`created: false`); always before the `exit` event.
   * `nice` (0-19): crun's and the container's niceness from crun's start, for background work.
   */
  run: {
    params: { name: string; bundle: string; config: object; detach?: boolean; waitCreated?: boolean; stdin?: Base64; nice?: number };
    result: { exit?: number; pid?: number; created?: boolean };
  };
  signal: { params: { name: string; signal: number }; result: Done };
  delete: { params: { name: string }; result: Done };
  spawn: { params: { argv: string[]; cwd?: string; env?: string[]; stdin?: Base64 }; result: { exit: number } };
  rm: { params: { path: string }; result: Done };
  write: { params: { path: string; data: Base64; mode?: number }; result: Done };
  readdir: { params: { path: string }; result: { names: string[] } };
  rename: { params: { from: string; to: string }; result: Done };
  read: { params: { path: string }; result: { data: Base64 } };
  'tcp-connect': { params: { ip: string; port: number; timeoutMs?: number }; result: { conn: number } };
  'tcp-send': { params: { conn: number; data: Base64 }; result: Done };
  'tcp-close': { params: { conn: number; how?: 'write' | 'both' }; result: Done };
  /** Sets the guest's wall clock (ms since the epoch). */
  clock: { params: { ms: number }; result: Done };
  /** Takes a network interface up or down. */
  link: { params: { name: string; up: boolean }; result: Done };
};

export type GuestOp = keyof GuestOps;
export type GuestParams<Op extends GuestOp> = GuestOps[Op]['params'];
export type GuestResult<Op extends GuestOp> = GuestOps[Op]['result'];

/** Host → guest messages that get no reply (the guest `docker` command's output, exit and attached runs). */
export type GuestNotifications = {
  'cli-output': { cid: number; stream: 'stdout' | 'stderr'; data: Base64 };
  'cli-exit': { cid: number; code: number };
  'cli-exec': { cid: number; argv: string[]; ref: string };
};
export type GuestNotification = keyof GuestNotifications;

/** Guest → host unsolicited events. */
export type GuestEvent =
  | { event: 'ready'; version: number }
  | { event: 'output'; name: string; stream: 'stdout' | 'stderr'; data: Base64 }
  | { event: 'exit'; name: string; code: number }
  | { event: 'tcp-data'; conn: number; data: Base64 }
  | { event: 'tcp-end'; conn: number; error?: string }
  | { event: 'cli'; cid: number; argv: string[]; cwd: string; tty: boolean; cols: number; rows: number; env?: Record<string, string> }
  | { event: 'cli-exec-exit'; cid: number; ref: string; code: number }
  | { event: 'cli-closed'; cid: number }
  | { event: 'cli-stdin'; cid: number; data?: Base64; eof?: boolean };
