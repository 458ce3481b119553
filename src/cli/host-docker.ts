/**
 * One docker verb with the host's files (build contexts, `docker cp`, `import -`, `--secret env=`): run in
 * the `layerlab` process, or in the CLI daemon for a client (src/cli/daemon.ts).
 */
import { lstat, mkdtemp, readdir, readFile, readlink, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { runDocker, type CliEngine, type CliIO } from '../client/commands.ts';
import type { ContextEntry } from '../engine/index.ts';
import { runProgramBytes } from '../process/run.ts';

/** Everything in `dir`, recursively, as a build context: files, directories and symlinks with their modes. */
export async function readContextDir(dir: string): Promise<ContextEntry[]> {
  const root = resolve(dir);
  const rootStat = await lstat(root);
  if (!rootStat.isDirectory()) throw new Error(`${dir}: not a directory`);
  const entries: ContextEntry[] = [];
  const walk = async (path: string): Promise<void> => {
    const names = (await readdir(path)).sort();
    for (const name of names) {
      const full = join(path, name);
      const stat = await lstat(full);
      const rel = relative(root, full).split('\\').join('/');
      const mtime = Math.floor(stat.mtimeMs / 1000);
      if (stat.isDirectory()) {
        entries.push({ path: rel, mode: stat.mode, data: new Uint8Array(), mtime });
        await walk(full);
      } else if (stat.isSymbolicLink()) {
        entries.push({ path: rel, mode: stat.mode, data: new TextEncoder().encode(await readlink(full)), mtime });
      } else if (stat.isFile()) {
        entries.push({ path: rel, mode: stat.mode, data: new Uint8Array(await readFile(full)), mtime });
      }
      // sockets, fifos and devices are not sent, as with docker build
    }
  };
  await walk(root);
  return entries;
}

/** One docker verb with the host's files: in this process, or in the daemon for a client. */
export function runDockerCommand(options: {
  engine: CliEngine;
  argv: string[];
  io: CliIO;
  cwd: string;
  json: boolean;
  /** The command's stdin (`docker import -`): this process's, or what a daemon client sent. */
  readStdin?: () => Promise<Uint8Array>;
  /** Environment variables for `build --secret …,env=`: this process's, or what a daemon client sent. */
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
}): Promise<number> {
  const { cwd, io } = options;
  return runDocker({
      engine: options.engine,
      argv: options.argv,
      io,
      cwd,
      json: options.json,
      tty: false,
      readStdin: options.readStdin ?? readProcessStdin,
      ...(options.signal ? { signal: options.signal } : {}),
      readContext: (dir) => readContextDir(resolve(cwd, dir)),
      env: options.env ?? process.env,
      readFile: async (path) => new Uint8Array(await readFile(resolve(cwd, path))),
      writeFile: (path, data) => writeFile(resolve(cwd, path), data),
      packPath: async (path) => hostTar(['-cf', '-', '-C', dirname(resolve(cwd, path)), basename(resolve(cwd, path))]),
      unpackTo: (path, tar) => unpackOnHost(resolve(cwd, path), tar),
  });
}

/** All of this process's stdin (`docker import - < fs.tar`); empty when it is a terminal. */
export async function readProcessStdin(): Promise<Uint8Array> {
  if (process.stdin.isTTY) return new Uint8Array();
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

/** `docker cp` on the host side of the Node CLI, with the system's tar. */
async function hostTar(args: string[], input?: Uint8Array): Promise<Uint8Array> {
  return (await runProgramBytes('tar', args, { input, maxBytes: 1 << 30 })).stdout;
}

async function unpackOnHost(dest: string, tar: Uint8Array): Promise<void> {
  const into = await lstat(dest).then((s) => s.isDirectory(), () => false);
  if (into) {
    await hostTar(['-xf', '-', '-C', dest, '--no-same-owner'], tar);
    return;
  }
  const tmp = await mkdtemp(join(dirname(dest), '.layerlab-cp-'));
  try {
    await hostTar(['-xf', '-', '-C', tmp, '--no-same-owner'], tar);
    const [name] = await readdir(tmp);
    await rename(join(tmp, name), dest);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
