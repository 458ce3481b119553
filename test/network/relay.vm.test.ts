/**
 * The VM's own network through the in-process relay (src/server/relay.ts): a RUN step and a container
 * fetch from a Python http.server on this machine through host.docker.internal when LAYERLAB_NETWORK_ALLOW
 * lists it; the same host without an allow entry, and a private address, are refused with the reason
 * reported by the relay; without a relay a failed RUN says there is no network.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readTar } from '../../src/engine/archive/tar.ts';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main, type OpenEngine } from '../../src/cli/main.ts';
import { openNodeEngine } from '../../src/host/node.ts';
import { parseAllowList } from '../../src/server/network-policy.ts';
import { DEFAULT_GATEWAY, type RelayOptions } from '../../src/server/relay.ts';
import { answers, RunningServer } from '../../src/process/server.ts';

const PORT = Number(process.env.LAYERLAB_TEST_HTTP_PORT ?? 15411);
const UNLISTED_PORT = PORT + 1;
let work: string;
let server: RunningServer | undefined;
const refused: string[] = [];

function relay(allow: string): RelayOptions {
  return { policy: { allow: parseAllowList(allow), gateway: DEFAULT_GATEWAY }, onRefused: (destination, reason) => refused.push(`${destination}: ${reason}`) };
}

async function layerlab(openEngine: OpenEngine, cwd: string, ...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main({ argv: ['--store', path.join(work, 'store'), ...argv], io: { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) }, cwd, openEngine });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'layerlab-relay-'));
  await writeFile(path.join(work, 'hello.txt'), 'hello from the host\n');
  server = await RunningServer.start('python3', ['-m', 'http.server', String(PORT), '--bind', '127.0.0.1', '--directory', work], {
    ready: answers(`http://127.0.0.1:${PORT}/hello.txt`),
    timeoutMs: 20_000,
  });
}, 30_000);

afterAll(async () => {
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('outbound network through the relay', () => {
  let opened: Awaited<ReturnType<typeof openNodeEngine>>;
  const openEngine: OpenEngine = async () => ({ engine: opened.engine, close: async () => {} });

  beforeAll(async () => {
    opened = await openNodeEngine({ relay: relay(`host.docker.internal:${PORT}`) });
  }, 300_000);
  afterAll(async () => opened?.close());

  it('a RUN step downloads from an allowed host through host.docker.internal', async () => {
    const ctx = path.join(work, 'ctx');
    await rm(ctx, { recursive: true, force: true });
    await mkdir(ctx);
    await writeFile(path.join(ctx, 'Dockerfile'), `FROM busybox\nRUN wget -q -O /fetched.txt http://host.docker.internal:${PORT}/hello.txt && cat /fetched.txt\n`);
    const build = await layerlab(openEngine, ctx, 'build', '-t', 'fetched', '.');
    expect(build.stderr + build.stdout).toContain('hello from the host');
    expect(build.code).toBe(0);
    const run = await layerlab(openEngine, ctx, 'run', '--rm', 'fetched', 'cat', '/fetched.txt');
    expect(run.stdout).toBe('hello from the host\n');
    // The resolver files are the build's, not the layer's: the RUN layer holds only what the step wrote.
    const saved = path.join(work, 'fetched.tar');
    expect((await layerlab(openEngine, ctx, 'save', '-o', saved, 'fetched')).code).toBe(0);
    const archive = await readTar(new Uint8Array(await readFile(saved)));
    const manifest = JSON.parse(new TextDecoder().decode(archive.find((e) => e.name === 'manifest.json')!.data)) as { Layers: string[] }[];
    const top = archive.find((e) => e.name === manifest[0]!.Layers.at(-1))!;
    const names = (await readTar(top.data!)).map((e) => e.name.replace(/\/$/, ''));
    expect(names).toContain('fetched.txt');
    expect(names.filter((n) => n === 'etc/resolv.conf' || n === 'etc/hosts')).toEqual([]);
  }, 300_000);

  async function buildFetching(url: string) {
    const ctx = path.join(work, 'refused');
    await mkdir(ctx, { recursive: true });
    await writeFile(path.join(ctx, 'Dockerfile'), `FROM busybox\nRUN wget -q -O /x ${url}\n`);
    return layerlab(openEngine, ctx, 'build', '--no-cache', '.');
  }

  it('the same host on a port not listed is refused, and the relay says why', async () => {
    refused.length = 0;
    const build = await buildFetching(`http://host.docker.internal:${UNLISTED_PORT}/hello.txt`);
    expect(build.code).not.toBe(0);
    expect(build.stderr).toContain(
      `did not complete successfully: exit code: 1\nnetwork: refused host.docker.internal:${UNLISTED_PORT} (the machine running Layerlab) is not allowed; allow it with LAYERLAB_NETWORK_ALLOW=host.docker.internal:${UNLISTED_PORT}`,
    );
    expect(refused).toEqual([
      `${DEFAULT_GATEWAY}:${UNLISTED_PORT}: host.docker.internal:${UNLISTED_PORT} (the machine running Layerlab) is not allowed; allow it with LAYERLAB_NETWORK_ALLOW=host.docker.internal:${UNLISTED_PORT}`,
    ]);
  }, 300_000);

  it('a private address is refused', async () => {
    refused.length = 0;
    const build = await buildFetching('http://10.11.12.13:8080/');
    expect(build.code).not.toBe(0);
    expect(build.stderr).toContain('network: refused 10.11.12.13:8080 is not a public address');
    expect(refused).toEqual(['10.11.12.13:8080: 10.11.12.13:8080 is not a public address; allow it with LAYERLAB_NETWORK_ALLOW=10.11.12.13:8080']);
  }, 300_000);
});

describe('without a relay', () => {
  it('a failing download in a build says there is no network', async () => {
    const opened = await openNodeEngine({ relay: null });
    try {
      const ctx = path.join(work, 'offline');
      await mkdir(ctx, { recursive: true });
      await writeFile(path.join(ctx, 'Dockerfile'), `FROM busybox\nRUN wget -q -O /x http://host.docker.internal:${PORT}/hello.txt\n`);
      const build = await layerlab(async () => ({ engine: opened.engine, close: async () => {} }), ctx, 'build', '.');
      expect(build.code).not.toBe(0);
      expect(build.stderr).toContain('no network: the relay is off (LAYERLAB_RELAY=off)');
    } finally {
      await opened.close();
    }
  }, 300_000);
});
