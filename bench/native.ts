/**
 * The side-by-side anchor: native Docker (Debian's docker.io) on this machine, in the same minute as
 * Layerlab's figures. dockerd runs with its own data root, exec root, pidfile and socket under a temp dir
 * (no iptables, no bridge), and busybox is an amd64 image imported from Debian's busybox-static.
 * If dockerd cannot start here, the figures are reported as unavailable with the reason; the bench goes on.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile, cp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram } from '../src/process/run.ts';
import { RunningServer } from '../src/process/server.ts';
import { median, round } from './stats';

const BUSYBOX = '/bin/busybox';
const DOCKERFILE = ['FROM bench-busybox', 'RUN echo one > /one.txt', 'COPY app.sh /app/app.sh', 'RUN chmod +x /app/app.sh && /app/app.sh > /ran.txt', 'CMD ["/app/app.sh"]'].join('\n');

export async function benchNative(): Promise<Record<string, number | null | string>> {
  const unavailable = (reason: string) => ({ 'native.docker_run_ms': null, 'native.build_uncached_ms': null, 'native.reason': reason });
  if (!existsSync('/usr/sbin/dockerd')) return unavailable('dockerd is not installed (apt-get install docker.io)');
  if (!existsSync(BUSYBOX)) return unavailable(`${BUSYBOX} is missing (apt-get install busybox-static)`);
  const root = await mkdtemp(join(tmpdir(), 'layerlab-native-'));
  const socket = join(root, 'docker.sock');
  const host = `unix://${socket}`;
  let daemon: RunningServer | undefined;
  const docker = (...args: string[]) => runProgram('docker', ['-H', host, ...args], { maxBytes: 16 << 20 });
  try {
    try {
      daemon = await RunningServer.start(
        '/usr/sbin/dockerd',
        ['--data-root', join(root, 'data'), '--exec-root', join(root, 'exec'), '--pidfile', join(root, 'docker.pid'), '-H', host, '--iptables=false', '--ip6tables=false', '--bridge=none', '--storage-driver=overlay2'],
        { ready: () => docker('version').then(() => true, () => false), timeoutMs: 60_000, pollMs: 300 },
      );
    } catch (error) {
      const [why, ...log] = (error as Error).message.split('\n');
      return unavailable(`${why}: ${lastError(log.join('\n'))}`);
    }

    // busybox as an image: the static binary and its applet links, imported as one layer.
    const rootfs = join(root, 'busybox-rootfs');
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    await cp(BUSYBOX, join(rootfs, 'bin', 'busybox'));
    const { stdout: applets } = await runProgram(BUSYBOX, ['--list']);
    for (const applet of applets.split('\n').filter((a) => a && a !== 'busybox')) await symlink('busybox', join(rootfs, 'bin', applet));
    for (const dir of ['tmp', 'etc', 'proc', 'sys', 'dev']) await mkdir(join(rootfs, dir), { recursive: true });
    await runProgram('tar', ['-C', rootfs, '-cf', join(root, 'busybox.tar'), '.']);
    await docker('import', '--change', 'ENV PATH=/bin', '--change', 'CMD ["sh"]', join(root, 'busybox.tar'), 'bench-busybox');

    const timed = async (args: string[]) => {
      const t = performance.now();
      const { stdout } = await docker(...args);
      return [performance.now() - t, stdout] as const;
    };
    const runs: number[] = [];
    for (let i = 0; i < 12; i++) {
      const [ms, out] = await timed(['run', '--rm', '--network', 'none', 'bench-busybox', 'echo', 'hi']);
      if (out.trim() !== 'hi') throw new Error(`unexpected output from native docker run: ${out}`);
      if (i >= 2) runs.push(ms);
    }
    const context = join(root, 'context');
    await mkdir(context);
    await writeFile(join(context, 'Dockerfile'), DOCKERFILE);
    await writeFile(join(context, 'app.sh'), '#!/bin/sh\necho hello\n', { mode: 0o755 });
    const builds: number[] = [];
    for (let i = 0; i < 6; i++) {
      // The classic builder (docker.io 20.10 without buildx), as in the anchor figure.
      const [ms] = await timed(['build', '--no-cache', '--network', 'none', '-q', '-t', 'bench-build', context]);
      if (i >= 1) builds.push(ms);
    }
    return { 'native.docker_run_ms': round(median(runs)), 'native.build_uncached_ms': round(median(builds)), 'native.reason': 'ok' };
  } catch (error) {
    return unavailable(`native docker failed: ${(error as Error).message.slice(0, 600)} | dockerd: ${lastError((await daemon?.output()) ?? '')}`);
  } finally {
    await daemon?.stop();
    await runProgram('umount', ['-R', join(root, 'data')]).catch(() => {});
    await rm(root, { recursive: true, force: true }).catch(() => {});
  }
}

function lastError(log: string): string {
  const lines = log.split('\n').filter((l) => /level=(error|fatal)|failed/i.test(l));
  return (lines.at(-1) ?? log.split('\n').filter(Boolean).at(-1) ?? '').slice(0, 300);
}
