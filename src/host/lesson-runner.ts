/**
 * A `LessonRunner` over the real engine and VM under Node, for `layerlab lesson verify` and the VM test
 * suite. Every `reset` restores a fresh VM from the snapshot with a fresh in-memory store (base images
 * only), fills /workspace with the lesson's files, and plays commands in the learner's shell on serial 0,
 * exactly as typed in the app's terminal (so `docker …` goes through the guest's docker client).
 */
import type { LessonRunner } from '../lessons/verify.ts';
import type { Lesson, LessonFile } from '../lessons/schema.ts';
import type { LessonContext } from '../lessons/context.ts';
import { createEngineContext, type EngineLessonContext } from '../lessons/engine-context.ts';
import { toBase64 } from '../engine/util/base64.ts';
import { openNodeEngine } from './node.ts';
import type { Engine } from '../engine/engine.ts';
import type { Machine } from '../machine/machine.ts';

export const WORKSPACE = '/workspace';

export interface NodeLessonRunnerOptions {
  /** VM assets folder (default public/vm). */
  assetsDir?: string;
  /** Milliseconds one shell command may take (default 5 min). */
  commandTimeoutMs?: number;
  /** Every byte the shell prints (debugging). */
  onSerial?: (text: string) => void;
}

export interface NodeLessonRunner extends LessonRunner {
  readonly engine: Engine;
  readonly machine: Machine;
  /** Stop the VM. */
  close(): Promise<void>;
}

export class ShellTimeoutError extends Error {
  constructor(command: string, ms: number, output: string) {
    super(`\`${command}\` did not finish within ${ms} ms; output so far: ${output.trim().split('\n').slice(-5).join(' / ') || '(nothing)'}`);
    this.name = 'ShellTimeoutError';
  }
}

const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]/g;
const PROMPT = /root@layerlab:[^\n#]*# ?/g;

/** What the learner would read: no escape sequences, no prompts, `\n` line ends. */
export function cleanShellOutput(text: string): string {
  return text.replace(ANSI, '').replace(/\r+\n/g, '\n').replace(/\r/g, '').replace(PROMPT, '');
}

/** A shell on the VM's serial console driven from code: one command at a time, ended by a marker. */
class SerialShell {
  #machine: Machine;
  #buffer = '';
  #waiters = new Set<() => void>();
  #next = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #unlisten: () => void;
  #decoder = new TextDecoder();

  constructor(machine: Machine, onSerial?: (text: string) => void) {
    this.#machine = machine;
    this.#unlisten = machine.onSerial((bytes) => {
      const text = this.#decoder.decode(bytes, { stream: true });
      onSerial?.(text);
      this.#buffer += text;
      for (const w of [...this.#waiters]) w();
    });
  }

  close(): void {
    this.#unlisten();
    for (const w of [...this.#waiters]) w();
  }

  /** Runs one command line; resolves with its exit code and what it printed. Commands never overlap. */
  run(command: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<{ exit: number; output: string }> {
    const result = this.#queue.then(() => this.#run(command, options));
    this.#queue = result.catch(() => {});
    return result;
  }

  async #run(command: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<{ exit: number; output: string }> {
    options.signal?.throwIfAborted();
    const id = `${Date.now().toString(36)}${(this.#next++).toString(36)}`;
    // The typed line holds a literal `$?`, so an echo of it can never match the marker's digits.
    const marker = new RegExp(`__E${id}_(\\d+)__`);
    // What is left from the last command is its prompt (maybe only half of it so far): keep it, so
    // the prompt is whole when it is stripped from this command's output.
    const body = command.trimEnd();
    const line = `${body}${body.endsWith('&') ? '' : ';'} echo "__E${id}_$?__"\n`;
    this.#machine.writeSerial(line);
    return new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        options.signal?.removeEventListener('abort', abort);
        fn();
      };
      const check = () => {
        const m = marker.exec(this.#buffer);
        if (!m) return;
        const output = cleanShellOutput(this.#buffer.slice(0, m.index));
        this.#buffer = this.#buffer.slice(m.index + m[0].length);
        done(() => resolve({ exit: Number(m[1]), output }));
      };
      const timer = setTimeout(() => {
        this.#machine.writeSerial('\x03');
        const sofar = cleanShellOutput(this.#buffer);
        this.#buffer = '';
        done(() => reject(new ShellTimeoutError(command, options.timeoutMs, sofar)));
      }, options.timeoutMs);
      const abort = () => {
        this.#machine.writeSerial('\x03');
        this.#buffer = '';
        done(() => reject(options.signal!.reason ?? new Error('aborted')));
      };
      options.signal?.addEventListener('abort', abort, { once: true });
      this.#waiters.add(check);
      check();
    });
  }
}

/** `lesson` files whose content starts with `#!` are made executable, like a checked-out script. */
function modeOf(file: LessonFile): number {
  return file.content.startsWith('#!') ? 0o755 : 0o644;
}

export function createNodeLessonRunner(options: NodeLessonRunnerOptions = {}): NodeLessonRunner {
  const commandTimeoutMs = options.commandTimeoutMs ?? 5 * 60_000;
  let current: { engine: Engine; machine: Machine; close(): Promise<void>; shell: SerialShell; context: EngineLessonContext } | null = null;

  const need = () => {
    if (!current) throw new Error('the lesson runner has no VM yet: call reset() first');
    return current;
  };

  async function writeFiles(files: LessonFile[]): Promise<void> {
    const { machine } = need();
    for (const file of files) {
      const path = `${WORKSPACE}/${file.path.replace(/^\/+/, '')}`;
      await machine.request('write', { path, data: toBase64(new TextEncoder().encode(file.content)), mode: modeOf(file) });
    }
  }

  // Checks go to whatever engine is current, so `runner.context` stays valid across resets.
  const context: LessonContext = {
    image: (ref) => need().context.image(ref),
    containers: () => need().context.containers(),
    volumes: () => need().context.volumes(),
    lastBuild: () => need().context.lastBuild(),
    exec: (argv) => need().context.exec(argv),
    containerExec: (container, argv) => need().context.containerExec(container, argv),
  };

  async function closeCurrent(): Promise<void> {
    if (!current) return;
    const c = current;
    current = null;
    c.context.close();
    c.shell.close();
    await c.close();
  }

  return {
    get engine() {
      return need().engine;
    },
    get machine() {
      return need().machine;
    },
    context,

    async reset(_lesson: Lesson, files: LessonFile[]) {
      await closeCurrent();
      // Lessons run offline, as in a static deployment: no relay, so no network to wait for or reconnect to.
      const opened = await openNodeEngine({ assetsDir: options.assetsDir, relay: null });
      const shell = new SerialShell(opened.machine, options.onSerial);
      current = { ...opened, shell, context: createEngineContext({ engine: opened.engine, guest: opened.machine }) };
      // Quiet terminal (no echo, so busybox also skips line editing), in the workspace.
      const ready = await shell.run(`stty -echo; mkdir -p ${WORKSPACE} && cd ${WORKSPACE}`, { timeoutMs: 30_000 });
      if (ready.exit !== 0) throw new Error(`the VM shell could not enter ${WORKSPACE}: ${ready.output.trim()}`);
      // The workspace is exactly the lesson's files: remove whatever the snapshot had there.
      const { names } = await opened.machine.request<{ names: string[] }>('readdir', { path: WORKSPACE });
      for (const name of names) if (name !== '.' && name !== '..') await opened.machine.request('rm', { path: `${WORKSPACE}/${name}` });
      await writeFiles(files);
    },

    async applyFiles(files: LessonFile[]) {
      await writeFiles(files);
    },

    async shell(command: string, signal?: AbortSignal) {
      return need().shell.run(command, { timeoutMs: commandTimeoutMs, signal });
    },

    close: closeCurrent,
  };
}
