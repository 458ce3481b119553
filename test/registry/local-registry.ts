/**
 * Real registries for tests: Debian's `docker-registry` (the CNCF distribution registry) on 127.0.0.1 with a
 * throwaway config and storage directory, optionally behind htpasswd basic auth; fixtures written as OCI
 * layouts and pushed with `skopeo copy --all`.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { writeTar, gzip, type TarWriteEntry } from '../../src/engine/archive/tar.ts';
import { sha256, digestHex, type Digest } from '../../src/engine/oci/digest.ts';
import { encodeJson } from '../../src/engine/oci/image.ts';
import { MediaType } from '../../src/engine/oci/types.ts';
import { runProgram } from '../../src/process/run.ts';
import { listening, RunningServer } from '../../src/process/server.ts';

export interface LocalRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  port: number;
  storageDir: string;
  credentials?: { username: string; password: string };
  stop(): Promise<void>;
  /** Starts it again on the same port and storage (after `stop`). */
  restart(): Promise<void>;
  /** Stops it and removes its config and storage. */
  close(): Promise<void>;
}

/** A free port in the range given to these tests (LAYERLAB_TEST_PORTS=15210-15299 by default). */
export async function freePort(): Promise<number> {
  const [from, to] = (process.env.LAYERLAB_TEST_PORTS ?? '15210-15299').split('-').map(Number);
  for (let i = 0; i < 40; i++) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error(`no free port in ${from}-${to}`);
}

export async function startRegistry(options: { auth?: { username: string; password: string }; port?: number } = {}): Promise<LocalRegistry> {
  const dir = await mkdtemp(path.join(tmpdir(), 'layerlab-registry-'));
  const storageDir = path.join(dir, 'storage');
  await mkdir(storageDir);
  const port = options.port ?? (await freePort());
  let authBlock = '';
  if (options.auth) {
    const { stdout } = await runProgram('htpasswd', ['-nbB', options.auth.username, options.auth.password]);
    await writeFile(path.join(dir, 'htpasswd'), stdout.trim() + '\n');
    authBlock = `auth:\n  htpasswd:\n    realm: layerlab-test\n    path: ${path.join(dir, 'htpasswd')}\n`;
  }
  const config = `version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: ${storageDir}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
  secret: layerlab-test-secret
${authBlock}`;
  const configPath = path.join(dir, 'config.yml');
  await writeFile(configPath, config);

  let server: RunningServer | undefined;
  const launch = async () => {
    server = await RunningServer.start('/usr/bin/docker-registry', ['serve', configPath], {
      ready: listening(port),
      timeoutMs: 10_000,
      pollMs: 50,
      stopSignal: 'SIGKILL',
    });
  };
  await launch();
  const stopChild = async () => server?.stop();
  return {
    host: `127.0.0.1:${port}`,
    port,
    storageDir,
    credentials: options.auth,
    stop: stopChild,
    restart: launch,
    async close() {
      await stopChild();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface FixtureImage {
  platform: { os: string; architecture: string; variant?: string };
  /** Layers, bottom first: each either files for a new tar or an already gzipped layer. */
  layers: ({ files: TarWriteEntry[] } | { gzipped: Uint8Array })[];
  cmd?: string[];
}

async function writeBlob(layout: string, data: Uint8Array): Promise<Digest> {
  const digest = await sha256(data);
  await writeFile(path.join(layout, 'blobs', 'sha256', digestHex(digest)), data);
  return digest;
}

/**
 * Writes an OCI image layout holding one index (several platforms) or one manifest (`single`), tagged `tag`.
 */
export async function writeOciLayout(dir: string, tag: string, images: FixtureImage[], options: { single?: boolean } = {}) {
  await mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifests = [];
  for (const image of images) {
    const layers = [];
    const diffIds: Digest[] = [];
    for (const layer of image.layers) {
      let compressed: Uint8Array;
      let tar: Uint8Array;
      if ('files' in layer) {
        tar = await writeTar(layer.files);
        compressed = await gzip(tar);
      } else {
        compressed = layer.gzipped;
        const { gunzip } = await import('../../src/engine/archive/tar.ts');
        tar = await gunzip(compressed);
      }
      diffIds.push(await sha256(tar));
      const digest = await writeBlob(dir, compressed);
      layers.push({ mediaType: MediaType.layerGzip, digest, size: compressed.length });
    }
    const config = encodeJson({
      architecture: image.platform.architecture,
      os: image.platform.os,
      ...(image.platform.variant ? { variant: image.platform.variant } : {}),
      created: '2026-01-01T00:00:00Z',
      config: { Cmd: image.cmd ?? ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: image.layers.map(() => ({ created: '2026-01-01T00:00:00Z', created_by: 'fixture' })),
    });
    const configDigest = await writeBlob(dir, config);
    const manifest = encodeJson({
      schemaVersion: 2,
      mediaType: MediaType.manifest,
      config: { mediaType: MediaType.config, digest: configDigest, size: config.length },
      layers,
    });
    const manifestDigest = await writeBlob(dir, manifest);
    manifests.push({ mediaType: MediaType.manifest, digest: manifestDigest, size: manifest.length, platform: image.platform });
  }
  let top;
  if (options.single) {
    const { platform: _platform, ...rest } = manifests[0];
    top = rest;
  } else {
    const index = encodeJson({ schemaVersion: 2, mediaType: MediaType.index, manifests });
    top = { mediaType: MediaType.index, digest: await writeBlob(dir, index), size: index.length };
  }
  await writeFile(
    path.join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.index, manifests: [{ ...top, annotations: { 'org.opencontainers.image.ref.name': tag } }] }),
  );
}

/** `skopeo copy --all oci:<layout>:<tag> docker://<host>/<repo>` over plain HTTP. */
export async function skopeoPush(layout: string, tag: string, target: string, credentials?: { username: string; password: string }) {
  const args = ['copy', '--all', '--quiet', '--dest-tls-verify=false'];
  if (credentials) args.push('--dest-creds', `${credentials.username}:${credentials.password}`);
  args.push(`oci:${layout}:${tag}`, `docker://${target}`);
  await runProgram('skopeo', args, { maxBytes: 1 << 24 });
}

/** `skopeo inspect --raw` (manifest bytes) or parsed `skopeo inspect` of a pushed image. */
export async function skopeoInspect(target: string, options: { raw?: boolean; credentials?: { username: string; password: string } } = {}) {
  const args = ['inspect', '--tls-verify=false'];
  if (options.raw) args.push('--raw');
  if (options.credentials) args.push('--creds', `${options.credentials.username}:${options.credentials.password}`);
  args.push(`docker://${target}`);
  const { stdout } = await runProgram('skopeo', args, { maxBytes: 1 << 24 });
  return stdout;
}
