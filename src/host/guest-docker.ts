/**
 * Serves the `docker` command typed in the guest (vm/agent/PROTOCOL.md, "The docker command in the
 * guest"): the client's argv arrives as a `cli` event, runs through the same docker verbs as the Node CLI,
 * and the output goes back as `cli-output` / `cli-exit` notifications, like the docker CLI and dockerd.
 */
import { GUEST_PATHS, type Guest } from '../engine/guest.ts';
import type { EngineApi } from '../engine/api.ts';
import { contextEntryFromTar, type ContextEntry } from '../engine/dockerfile/index.ts';
import { resolvePath } from '../client/shared.ts';
import { readTar } from '../engine/archive/tar.ts';
import { fromBase64, toBase64 } from '../engine/util/base64.ts';
import { runDocker } from '../client/commands.ts';
import { extractToGuestPath, packGuestPath } from '../engine/containers/copy.ts';

let transfers = 0;
/** Piped stdin kept for one command at most (memory stays bounded). */
const MAX_STDIN_BYTES = 16 * 1024 * 1024;

export function serveGuestDocker(options: { engine: EngineApi; guest: Guest }): () => void {
  const { engine, guest } = options;
  const execs = new Map<string, (code: number) => void>();
  /** Commands still running, by client: Ctrl-C closes the client, which stops `logs -f`, `stats`, `attach`. */
  const running = new Map<number, AbortController>();
  /** Piped stdin the client forwards (`echo hi | docker run -i …`), collected until its end. */
  const inputs = new Map<number, { chunks: Uint8Array[]; bytes: number; done: boolean; wake: () => void }>();
  const encoder = new TextEncoder();

  return guest.onEvent((event) => {
    if (event.event === 'cli-exec-exit') {
      execs.get(`${event.cid}/${event.ref}`)?.(Number(event.code ?? 0));
      execs.delete(`${event.cid}/${event.ref}`);
      return;
    }
    if (event.event === 'cli-stdin') {
      const input = inputs.get(Number(event.cid));
      if (!input || input.done) return;
      if (event.eof) input.done = true;
      else if (input.bytes < MAX_STDIN_BYTES) {
        const data = fromBase64(String(event.data ?? ''));
        input.chunks.push(data);
        input.bytes += data.length;
      }
      if (input.done) input.wake();
      return;
    }
    if (event.event === 'cli-closed') {
      inputs.get(Number(event.cid))?.wake();
      running.get(Number(event.cid))?.abort();
      return;
    }
    if (event.event !== 'cli') return;
    const cid = Number(event.cid);
    const aborter = new AbortController();
    running.set(cid, aborter);
    const input = { chunks: [] as Uint8Array[], bytes: 0, done: false, wake: () => {} };
    const inputDone = new Promise<void>((resolve) => (input.wake = resolve));
    inputs.set(cid, input);
    // The client forwards stdin only when it is not a terminal (and -i is given): with a terminal there is none.
    const readStdin = async () => {
      await inputDone;
      if (input.bytes >= MAX_STDIN_BYTES) throw new Error(`stdin is larger than ${MAX_STDIN_BYTES / 1024 / 1024} MiB; give a file instead`);
      const all = new Uint8Array(input.bytes);
      let at = 0;
      for (const chunk of input.chunks) all.set(chunk, (at += chunk.length) - chunk.length);
      return all;
    };
    const cwd = String(event.cwd ?? '/');
    const output = (stream: 'stdout' | 'stderr') => (text: string) => {
      if (text) guest.notify('cli-output', { cid, stream, data: toBase64(encoder.encode(text)) });
    };
    void runDocker({
      engine,
      argv: (event.argv as string[]) ?? [],
      cwd,
      tty: Boolean(event.tty),
      // The client sends only the variables its `build --secret` specs name.
      env: typeof event.env === 'object' && event.env !== null ? (event.env as Record<string, string>) : {},
      signal: aborter.signal,
      ...(!event.tty && clientForwardsStdin((event.argv as string[]) ?? []) ? { readStdin } : {}),
      io: {
        stdout: output('stdout'),
        stderr: output('stderr'),
        exec: (argv, ref) =>
          new Promise<number>((resolve) => {
            execs.set(`${cid}/${ref}`, resolve);
            guest.notify('cli-exec', { cid, argv, ref });
          }),
      },
      readContext: (dir) => readGuestDir(guest, resolvePath(cwd, dir)),
      writeFile: (path, data) => writeGuestFile(guest, resolvePath(cwd, path), data),
      readFile: (path) => readGuestFile(guest, resolvePath(cwd, path)),
      packPath: (path) => packGuestPath(guest, resolvePath(cwd, path)),
      unpackTo: (path, tar) => extractToGuestPath(guest, tar, resolvePath(cwd, path)),
    })
      .catch((error) => {
        output('stderr')(`docker: ${(error as Error).message}\n`);
        return 1;
      })
      .then((code) => {
        running.delete(cid);
        inputs.delete(cid);
        guest.notify('cli-exit', { cid, code });
      });
  });
}

/** A guest directory as a build context: the agent packs it into a tar in the 9p share. */
async function readGuestDir(guest: Guest, dir: string): Promise<ContextEntry[]> {
  const name = `ctx-${transfers++}.tar`;
  await guest.request('pack', { dir, tar: `${GUEST_PATHS.share}/${name}` }, { timeoutMs: 120_000 });
  try {
    const items = await readTar(await guest.getFile(name));
    return items.map(contextEntryFromTar).filter((entry): entry is ContextEntry => entry !== null);
  } finally {
    await guest.request('rm', { path: `${GUEST_PATHS.share}/${name}` }).catch(() => {});
  }
}

async function writeGuestFile(guest: Guest, path: string, data: Uint8Array): Promise<void> {
  const name = `out-${transfers++}.bin`;
  await guest.putFile(name, data);
  try {
    const { exit } = await guest.request('spawn', { argv: ['/bin/cp', `${GUEST_PATHS.share}/${name}`, path] });
    if (exit !== 0) throw new Error(`open ${path}: cannot write the file`);
  } finally {
    await guest.request('rm', { path: `${GUEST_PATHS.share}/${name}` }).catch(() => {});
  }
}

async function readGuestFile(guest: Guest, path: string): Promise<Uint8Array> {
  const name = `in-${transfers++}.bin`;
  const { exit } = await guest.request('spawn', { argv: ['/bin/cp', path, `${GUEST_PATHS.share}/${name}`] });
  if (exit !== 0) throw new Error(`open ${path}: no such file or directory`);
  try {
    return await guest.getFile(name);
  } finally {
    await guest.request('rm', { path: `${GUEST_PATHS.share}/${name}` }).catch(() => {});
  }
}

/** The guest client's rule (vm/agent PROTOCOL.md): it forwards a piped stdin when an argument is `-i`-like. */
export function clientForwardsStdin(argv: string[]): boolean {
  return argv.some((a) => a === '-i' || a === '--interactive' || /^-[a-zA-Z]*i[a-zA-Z]*$/.test(a));
}
