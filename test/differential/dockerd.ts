/**
 * Debian's docker.io dockerd for the differential suite: its own data root, exec root and socket under
 * /tmp, no iptables and no bridge (builds run with `--network=none`), so it never touches the host's
 * Docker or network. Builds use BuildKit (DOCKER_BUILDKIT=1), the builder Layerlab's history and progress
 * output follow.
 */
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readTar } from '../../src/engine/archive/tar.ts';
import { runProgram } from '../../src/process/run.ts';
import { RunningServer } from '../../src/process/server.ts';

/** Debian's client (20.10, BuildKit built in); a newer client without buildx could not build with BuildKit. */
export const DOCKER_CLI = '/usr/bin/docker';
export const DOCKERD = '/usr/sbin/dockerd';
const QEMU_I386 = '/usr/bin/qemu-i386-static';
const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface DockerOptions {
  env?: Record<string, string>;
  cwd?: string;
}

/** The docker client against the dockerd whose socket is in `root`; a failing command is returned, not thrown. */
function docker(root: string, args: string[], options: DockerOptions = {}): Promise<DockerResult> {
  return runProgram(DOCKER_CLI, args, {
    env: { ...process.env, DOCKER_HOST: `unix://${path.join(root, 'docker.sock')}`, DOCKER_CONFIG: path.join(root, 'client'), ...options.env },
    cwd: options.cwd,
    maxBytes: 256 * 1024 * 1024,
    allowFailure: true,
  });
}

export class Dockerd {
  readonly socket: string;
  #server: RunningServer;
  #root: string;

  private constructor(root: string, server: RunningServer) {
    this.#root = root;
    this.socket = path.join(root, 'docker.sock');
    this.#server = server;
  }

  /** Starts dockerd and waits until its API answers (the daemon's log is kept in `<root>/dockerd.log`). */
  static async start(): Promise<Dockerd> {
    if (process.getuid?.() !== 0) throw new Error('the differential suite runs dockerd, which needs root');
    const root = await mkdtemp(path.join(tmpdir(), 'layerlab-dockerd-'));
    const log = path.join(root, 'dockerd.log');
    await writeFile(log, '');
    const server = await RunningServer.start(
      DOCKERD,
      [
        '--data-root', path.join(root, 'data'),
        '--exec-root', path.join(root, 'exec'),
        '--pidfile', path.join(root, 'dockerd.pid'),
        '-H', `unix://${path.join(root, 'docker.sock')}`,
        '--iptables=false', '--ip6tables=false', '--bridge=none', '--ip-masq=false',
        '--storage-driver=overlay2',
      ],
      {
        output: { file: log },
        ready: async () => (await docker(root, ['version', '--format', '{{.Server.Version}}'])).code === 0,
        timeoutMs: 60_000,
        pollMs: 250,
        stopGraceMs: 20_000,
      },
    );
    return new Dockerd(root, server);
  }

  async docker(args: string[], options: DockerOptions = {}): Promise<DockerResult> {
    return docker(this.#root, args, options);
  }

  /** `docker <args>`, failing with its output when it fails. */
  async ok(args: string[], options: DockerOptions = {}): Promise<string> {
    const result = await this.docker(args, options);
    if (result.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${result.code}):\n${result.stderr}${result.stdout}`);
    return result.stdout;
  }

  async close(): Promise<void> {
    await this.#server.stop();
    await rm(this.#root, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
  }
}

/**
 * The bundled base images are i386. RUN steps execute them on the host, which works natively when the
 * kernel has IA32 emulation. The check is empirical: run the base image's own static i386 busybox. When
 * the kernel refuses it (ENOEXEC), register Debian's qemu-user-static for i386 ELF binaries through
 * binfmt_misc (flag F: the interpreter is opened now, so it works inside containers' mount namespaces).
 * Returns how i386 binaries run here.
 */
export async function ensureI386(busyboxRootfsTar: string): Promise<'native' | 'qemu-user-static (registered)' | 'qemu-user-static (already registered)'> {
  const work = await mkdtemp(path.join(tmpdir(), 'layerlab-i386-'));
  try {
    const items = await readTar(new Uint8Array(await readFile(busyboxRootfsTar)));
    const busybox = items.find((item) => item.name.replace(/^\.\//, '') === 'bin/busybox');
    if (!busybox?.data) throw new Error(`${busyboxRootfsTar} has no bin/busybox`);
    const binary = path.join(work, 'busybox');
    await writeFile(binary, busybox.data, { mode: 0o755 });
    const runs = async () => (await runProgram(binary, ['true']).then(() => true, () => false));
    if (await runs()) {
      return (await access(path.join(BINFMT_DIR, 'qemu-i386')).then(() => true, () => false)) ? 'qemu-user-static (already registered)' : 'native';
    }
    await access(QEMU_I386).catch(() => {
      throw new Error(`this kernel cannot run i386 binaries and ${QEMU_I386} is missing: apt-get install qemu-user-static`);
    });
    await access(path.join(BINFMT_DIR, 'register')).catch(async () => {
      await mkdir(BINFMT_DIR, { recursive: true }).catch(() => undefined);
      await runProgram('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT_DIR]);
    });
    // The i386 ELF magic and mask, as Debian's qemu-user-static registers them.
    const magic = '\\x7fELF\\x01\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x03\\x00';
    const mask = '\\xff\\xff\\xff\\xff\\xff\\xfe\\xfe\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff';
    await writeFile(path.join(BINFMT_DIR, 'register'), `:qemu-i386:M::${magic}:${mask}:${QEMU_I386}:F`);
    if (!(await runs())) throw new Error('qemu-i386-static is registered with binfmt_misc but i386 binaries still do not run');
    return 'qemu-user-static (registered)';
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
