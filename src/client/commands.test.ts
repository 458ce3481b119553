import { clientForwardsStdin } from '../host/guest-docker.ts';
import { PlatformError, RegistryError, BuildError, ConflictError, NotFoundError, type ContainerView, type EngineApi, type RunOptions, type BuildEvent, type BuildStepInfo } from '../engine/index.ts';
import { describe, expect, it } from 'vitest';
import { renderBuildProgress } from './build-progress.ts';
import { GROUPS, runDocker, VERBS, type CliIO } from './commands.ts';
import { UNIMPLEMENTED_VERBS } from './unimplemented.ts';
import { secretEnvNames } from './secrets.ts';
import { renderTemplate } from './template.ts';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();
const BUSYBOX = `sha256:${'a1b2c3d4e5f6'.repeat(5)}abcd`;
const APP = `sha256:${'0f1e2d3c4b5a'.repeat(5)}0123`;
const ID1 = '4d3c2b1a0f9e'.repeat(5) + '8d7c';
const ID2 = '9e8d7c6b5a4f'.repeat(5) + '3e2d';

const step = (n: number, instruction: string, extra: Partial<BuildStepInfo> = {}): BuildStepInfo => ({
  n, total: 3, stage: '', stageStep: n + 1, stageSteps: 4, line: n + 1, endLine: n + 1, instruction, configOnly: false, ...extra,
});

/** An in-memory engine with fixed data and timestamps. */
class FakeEngine implements EngineApi {
  calls: { method: string; options: unknown }[] = [];
  buildEvents: BuildEvent[] = [];
  buildError?: BuildError;
  images_ = [
    { id: BUSYBOX, repoTags: ['busybox:latest'], created: ago(30 * 86_400_000), size: 4_261_232, layerCount: 1, repoDigests: ['busybox@sha256:abababababababababababababababababababababababababababababababab'] },
    { id: APP, repoTags: ['app:latest', 'app:v1'], created: ago(2 * 60_000), size: 4_261_300, layerCount: 2, repoDigests: [] },
  ];
  containers: ContainerView[] = [
    {
      id: ID1, name: 'web', image: 'busybox', imageId: BUSYBOX, command: ['sh', '-c', 'echo hello; sleep 1000'], state: 'running', exitCode: null,
      created: ago(3 * 60_000), startedAt: ago(2 * 60_000), finishedAt: null, sizeRw: 0, sizeRootFs: 4_261_232, mounts: [],
      ports: [{ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 8000, protocol: 'tcp' }], exposedPorts: [8000], networkMode: 'default', networks: {},
    },
    {
      id: ID2, name: 'eager_turing', image: 'app', imageId: APP, command: ['echo', 'hi'], state: 'exited', exitCode: 0,
      created: ago(60_000), startedAt: ago(60_000), finishedAt: ago(3_000), sizeRw: 1234, sizeRootFs: 4_262_534, mounts: [{ type: 'volume', name: 'data', source: '/v/data', destination: '/data' }],
      ports: [], exposedPorts: [], networkMode: 'default', networks: {},
    },
  ];

  #record(method: string, options: unknown) {
    this.calls.push({ method, options });
  }
  #find(ref: string) {
    const c = this.containers.find((c) => c.name === ref || c.id.startsWith(ref));
    if (!c) throw new NotFoundError('container', ref);
    return c;
  }
  #image(ref: string) {
    const full = ref.includes(':') || ref.startsWith('sha256') ? ref : `${ref}:latest`;
    const image = this.images_.find((i) => i.repoTags.includes(full) || i.id === ref || i.id.slice(7).startsWith(ref));
    if (!image) throw new NotFoundError('image', full);
    return image;
  }

  async build(options: Parameters<EngineApi['build']>[0]) {
    this.#record('build', { ...options, context: options.context.map((e) => e.path), onEvent: undefined });
    for (const event of this.buildEvents) options.onEvent?.(event);
    if (this.buildError) throw this.buildError;
    return { imageId: APP, tags: options.tags ?? [] };
  }
  async images() {
    return this.images_;
  }
  async pull(options: Parameters<EngineApi['pull']>[0]) {
    this.#record('pull', { ...options, onProgress: undefined });
    if (options.platform && options.platform !== 'linux/386') throw new PlatformError(`--platform ${options.platform} is not available`);
    if (options.ref.startsWith('foo')) throw new RegistryError("pull access denied for foo, repository does not exist or may require 'docker login': denied: requested access to the resource is denied");
    const digest = `sha256:${'cd'.repeat(32)}` as const;
    options.onProgress?.({ kind: 'status', text: 'latest: Pulling from library/alpine' });
    options.onProgress?.({ kind: 'layer', id: 'aaaaaaaaaaaa', status: 'Pulling fs layer' });
    options.onProgress?.({ kind: 'layer', id: 'aaaaaaaaaaaa', status: 'Downloading', current: 1_000_000, total: 2_000_000 });
    options.onProgress?.({ kind: 'layer', id: 'aaaaaaaaaaaa', status: 'Pull complete' });
    options.onProgress?.({ kind: 'status', text: `Digest: ${digest}` });
    options.onProgress?.({ kind: 'status', text: 'Status: Downloaded newer image for alpine:latest' });
    return { imageId: APP as `sha256:${string}`, digest, ref: 'alpine:latest', canonical: 'docker.io/library/alpine:latest', repoDigest: `alpine@${digest}`, upToDate: false, downloaded: 1, existing: 0, bytes: 2_000_000 };
  }
  async push(options: Parameters<EngineApi['push']>[0]) {
    this.#record('push', { ...options, onProgress: undefined });
    return { tag: 'latest', digest: `sha256:${'ef'.repeat(32)}` as const, size: 528, repoDigest: '', pushed: 1, existing: 0 };
  }
  async manifestInspect(options: Parameters<EngineApi['manifestInspect']>[0]) {
    this.#record('manifestInspect', options);
    return { digest: `sha256:${'ab'.repeat(32)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', text: '{"schemaVersion":2,"config":{"digest":"sha256:c"},"layers":[]}' };
  }
  async login(options: Parameters<EngineApi['login']>[0]) {
    this.#record('login', options);
    return { registry: options.server ?? 'docker.io' };
  }
  async logout(options: Parameters<EngineApi['logout']>[0]) {
    return { registry: options.server ?? 'docker.io', wasLoggedIn: true };
  }
  async history(options: { ref: string }) {
    const image = this.#image(options.ref);
    return {
      id: image.id,
      history: [
        { created: ago(30 * 86_400_000), created_by: '/bin/sh -c #(nop) ADD file:7e9002edaafd4e4579b65c8f0aaabde1aeb7fd3f8d95579f7fd3443cef785fd1 in / ' },
        { created: ago(30 * 86_400_000), created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true },
        { created: ago(2 * 60_000), created_by: 'RUN /bin/sh -c echo hi > /hi.txt # buildkit', comment: 'buildkit.dockerfile.v0' },
      ],
      layerSizes: [4_261_232, 3],
    };
  }
  async inspectImage(options: { ref: string }) {
    const image = this.#image(options.ref);
    return {
      Id: image.id, RepoTags: image.repoTags, RepoDigests: [], Parent: '', Comment: '', Created: image.created, DockerVersion: '', Author: '',
      Config: { Env: ['PATH=/usr/bin'], Cmd: ['sh', '-c', 'echo <hi> & bye'], Labels: null },
      Architecture: '386', Os: 'linux', Size: image.size, GraphDriver: { Name: 'overlay2', Data: null }, RootFS: { Type: 'layers', Layers: [] }, Metadata: { LastTagTime: '' },
    };
  }
  async imageLayers(options: { ref: string }) {
    const image = this.#image(options.ref);
    const layers = [{ index: 0, diffID: 'sha256:base', createdBy: '', size: 4_261_232, changes: [], hidden: [] }];
    if (image.id === APP) layers.push({ index: 1, diffID: 'sha256:top', createdBy: '', size: 68, changes: [], hidden: [] });
    return { id: image.id, repoTags: image.repoTags, layers, history: [], totalBytes: 0, wastedBytes: 0, wasted: [] };
  }
  async imageFiles(): Promise<never> {
    throw new Error('not used by the CLI');
  }
  async tag(options: { source: string; target: string }) {
    this.#record('tag', options);
    this.#image(options.source);
  }
  async rmi(options: { ref: string; force?: boolean }) {
    const image = this.#image(options.ref);
    if (!options.force && this.containers.some((c) => c.imageId === image.id)) {
      throw new ConflictError(`conflict: unable to remove repository reference "${options.ref}" (must force) - container ${ID2.slice(0, 12)} is using its referenced image ${image.id.slice(7, 19)}`);
    }
    return [{ untagged: `${options.ref}:latest` }, { deleted: image.id }];
  }
  async save(options: { refs: string[] }) {
    this.#record('save', options);
    return new Uint8Array([1, 2, 3]);
  }
  async load() {
    return { images: [{ id: APP, tags: ['app:latest'] }, { id: BUSYBOX, tags: [] }], warnings: [] };
  }
  async pruneImages() {
    return { deleted: [APP], reclaimed: 68 };
  }
  buildCacheMounts = [{ id: '3f2a9c1e0b7d4a6f8e5c2b1a0', cacheId: '/root/.cache/pip', size: 2048 }];
  async buildCache() {
    return this.buildCacheMounts;
  }
  async pruneBuildCache() {
    const deleted = this.buildCacheMounts.map((m) => m.id);
    const reclaimed = this.buildCacheMounts.reduce((s, m) => s + m.size, 0);
    this.buildCacheMounts = [];
    return { deleted, reclaimed };
  }
  async create(options: RunOptions) {
    this.#record('create', options);
    this.#image(options.image);
    return { ...this.containers[1], id: ID2 };
  }
  async start(options: { container: string; onOutput?: RunOptions['onOutput'] }) {
    options.onOutput?.('stdout', 'started\n');
    return this.#find(options.container);
  }
  async run(options: RunOptions) {
    this.#record('run', { ...options, onOutput: undefined });
    this.#image(options.image);
    if (options.name === 'web') {
      throw new ConflictError(`Conflict. The container name "/web" is already in use by container "${ID1}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    if (options.command?.[0] === 'nosuch') {
      options.onOutput?.('stderr', 'crun: executable file `nosuch` not found in $PATH: No such file or directory\n');
      return { ...this.containers[1], exitCode: 127 };
    }
    options.onOutput?.('stdout', 'hello\n');
    options.onOutput?.('stderr', 'warn\n');
    return { ...this.containers[1], exitCode: options.command?.[0] === 'false' ? 1 : 0 };
  }
  async stop(options: { container: string }) {
    return this.#find(options.container);
  }
  async kill(options: { container: string; signal?: string }) {
    this.#record('kill', options);
    const c = this.#find(options.container);
    if (c.state !== 'running') throw new ConflictError(`Cannot kill container: ${options.container}: Container ${c.id} is not running`);
    return c;
  }
  async restart(options: { container: string }) {
    return this.#find(options.container);
  }
  async rm(options: { container: string; force?: boolean }) {
    const c = this.#find(options.container);
    if (c.state === 'running' && !options.force) {
      throw new ConflictError(`You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`);
    }
  }
  async ps(options: { all?: boolean } = {}) {
    return this.containers.filter((c) => options.all || c.state === 'running');
  }
  async inspectContainer(options: { container: string }) {
    const c = this.#find(options.container);
    return { Id: c.id, Name: `/${c.name}`, State: { Status: c.state, Running: c.state === 'running', ExitCode: c.exitCode ?? 0 }, Config: { Cmd: c.command } };
  }
  async logs(options: { container: string }) {
    this.#find(options.container);
    return [
      { stream: 'stdout' as const, text: 'one\ntwo\n' },
      { stream: 'stderr' as const, text: 'oops\n' },
      { stream: 'stdout' as const, text: 'three\n' },
    ];
  }
  async exec(options: Parameters<EngineApi['exec']>[0]) {
    this.#record('exec', { ...options, onOutput: undefined });
    this.#find(options.container);
    options.onOutput?.('stdout', 'root\n');
    return { exitCode: 0, stdout: 'root\n', stderr: '' };
  }
  async diff(options: { container: string }) {
    this.#find(options.container);
    return [
      { kind: 'C' as const, path: '/etc', size: 0, type: 'dir' },
      { kind: 'A' as const, path: '/etc/motd', size: 6, type: 'file' },
      { kind: 'D' as const, path: '/etc/profile', size: 0, type: 'file' },
    ];
  }
  async commit(options: Parameters<EngineApi['commit']>[0]) {
    this.#record('commit', options);
    return { imageId: APP };
  }
  async copyFrom(options: { container: string; path: string }) {
    this.calls.push({ method: 'copyFrom', options });
    this.#find(options.container);
    return new TextEncoder().encode('tar-bytes');
  }
  async copyTo(options: { container: string; path: string; tar: Uint8Array }) {
    this.calls.push({ method: 'copyTo', options: { container: options.container, path: options.path, bytes: options.tar.length } });
  }
  async pause(options: { container: string }) {
    this.calls.push({ method: 'pause', options });
    return this.#find(options.container);
  }
  async unpause(options: { container: string }) {
    this.calls.push({ method: 'unpause', options });
    return this.#find(options.container);
  }
  async top(options: { container: string }) {
    this.#find(options.container);
    return { titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'], processes: [['root', '1234', '1200', '0', '23:30', '?', '00:00:00', 'sleep 300']] };
  }
  async stats(options: { containers?: string[]; all?: boolean }) {
    this.calls.push({ method: 'stats', options });
    return [];
  }
  async attach(options: Parameters<EngineApi['attach']>[0]) {
    this.#find(options.container);
    return { exitCode: 0 };
  }
  async exportContainer(options: { container: string }) {
    this.calls.push({ method: 'exportContainer', options });
    this.#find(options.container);
    return new TextEncoder().encode('fs-tar');
  }
  async importImage(options: Parameters<EngineApi['importImage']>[0]) {
    this.calls.push({ method: 'importImage', options: { ...options, data: options.data.length } });
    return { imageId: `sha256:${'c'.repeat(64)}` };
  }
  async rename(options: { container: string; name: string }) {
    this.calls.push({ method: 'rename', options });
    this.#find(options.container);
  }
  async wait(options: { container: string }) {
    return { exitCode: this.#find(options.container).exitCode ?? 0 };
  }
  async pruneContainers() {
    return { deleted: [ID2], reclaimed: 1234 };
  }
  async attachCommand(options: Parameters<EngineApi['attachCommand']>[0]) {
    this.#record('attachCommand', options);
    if (options.kind === 'run') this.#image(options.run.image);
    return { argv: ['/usr/bin/crun', 'run', '--bundle', '/x', 'c1'], ref: 'ref1' };
  }
  async attachEnded(options: { ref: string; exitCode: number }) {
    this.#record('attachEnded', options);
  }
  async volumeCreate(options: { name?: string }) {
    return { name: options.name ?? 'f00d' };
  }
  async volumes() {
    return [{ name: 'data', mountpoint: '/v/data', created: ago(0) }, { name: 'cache', mountpoint: '/v/cache', created: ago(0) }];
  }
  async volumeRm(options: { name: string }) {
    this.#record('volumeRm', options);
    if (options.name === 'nope') throw new NotFoundError('volume', 'nope');
  }
  networks_ = [
    { id: 'a'.repeat(64), name: 'bridge', driver: 'bridge' as const, scope: 'local' as const, created: ago(86_400_000), subnet: '172.17.0.0/16', gateway: '172.17.0.1', internal: false, labels: {}, containers: [] },
    { id: 'b'.repeat(64), name: 'host', driver: 'host' as const, scope: 'local' as const, created: ago(86_400_000), internal: false, labels: {}, containers: [] },
  ];
  async networkCreate(options: Parameters<EngineApi['networkCreate']>[0]) {
    this.#record('networkCreate', options);
    return { id: 'c'.repeat(64) };
  }
  async networks() {
    return this.networks_;
  }
  async networkInspect(options: { network: string }) {
    const network = this.networks_.find((n) => n.name === options.network);
    if (!network) throw new NotFoundError('network', options.network);
    return { Name: network.name, Id: network.id };
  }
  async networkRm(options: { network: string }) {
    this.#record('networkRm', options);
    return { name: options.network };
  }
  async networkConnect(options: Parameters<EngineApi['networkConnect']>[0]) {
    this.#record('networkConnect', options);
  }
  async networkDisconnect(options: Parameters<EngineApi['networkDisconnect']>[0]) {
    this.#record('networkDisconnect', options);
  }
  async port(options: { container: string }) {
    return this.#find(options.container).ports;
  }
  async fetchPort(): Promise<never> {
    throw new Error('not in the fake');
  }
  async volumeInspect(options: { name: string }) {
    if (options.name !== 'data') throw new NotFoundError('volume', options.name);
    return { Name: 'data', Driver: 'local', Mountpoint: '/v/data' };
  }
  subscribe() {
    return () => {};
  }
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  engine: FakeEngine;
}

async function docker(line: string | string[], extra: { engine?: FakeEngine; json?: boolean; exec?: CliIO['exec']; tty?: boolean; files?: Record<string, string> } = {}): Promise<Result> {
  const engine = extra.engine ?? new FakeEngine();
  let stdout = '';
  let stderr = '';
  const written: Record<string, Uint8Array> = {};
  const code = await runDocker({
    engine,
    argv: Array.isArray(line) ? line : line.split(' ').filter(Boolean),
    io: { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), ...(extra.exec ? { exec: extra.exec } : {}) },
    cwd: '/root',
    json: extra.json,
    tty: extra.tty,
    now: () => NOW,
    readContext: async (dir) => {
      if (dir !== '.' && dir !== '/root') throw new Error('ENOENT');
      return Object.entries(extra.files ?? { Dockerfile: 'FROM busybox\nRUN echo hi\n' }).map(([path, text]) => ({ path, mode: 0o100644, data: new TextEncoder().encode(text) }));
    },
    writeFile: async (path, data) => {
      written[path] = data;
    },
    env: { API_TOKEN: 'from-env' },
    readFile: async (path) => {
      if (path.endsWith('app.tar')) return new Uint8Array([1]);
      if (path === 'token.txt') return new TextEncoder().encode('from-file');
      throw new Error('ENOENT');
    },
    packPath: async (path) => {
      engine.calls.push({ method: 'packPath', options: path });
      return new Uint8Array(3);
    },
    unpackTo: async (path, tar) => {
      engine.calls.push({ method: 'unpackTo', options: { path, bytes: tar.length } });
    },
  });
  return { code, stdout, stderr, engine };
}

describe('registry verbs', () => {
  it('docker manifest inspect prints the manifest indented with tabs, as Docker does', async () => {
    const r = await docker('manifest inspect registry.lab/me/app:1');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{\n\t"schemaVersion": 2,\n\t"config": {\n\t\t"digest": "sha256:c"\n\t},\n\t"layers": []\n}\n');
    expect((await docker('manifest inspect -v registry.lab/me/app:1')).stderr).toContain('leave out --verbose');
    expect((await docker('manifest inspect --insecure registry.lab/me/app:1')).stderr).toContain('plain HTTP only to localhost');
  });

  it('docker pull prints Docker\'s progress lines and the canonical name', async () => {
    const r = await docker('pull alpine');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'Using default tag: latest\nlatest: Pulling from library/alpine\naaaaaaaaaaaa: Pulling fs layer\n' +
        'aaaaaaaaaaaa: Downloading [=========================>                        ]      1MB/2MB\naaaaaaaaaaaa: Pull complete\n' +
        `Digest: sha256:${'cd'.repeat(32)}\nStatus: Downloaded newer image for alpine:latest\ndocker.io/library/alpine:latest\n`,
    );
    const tty = await docker('pull alpine', { tty: true });
    expect(tty.stdout).toContain('\x1b[1A\r\x1b[2Kaaaaaaaaaaaa: Downloading');
    const refused = await docker('pull --platform linux/amd64 alpine');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--platform linux/amd64 is not available');
  });

  it('docker login keeps credentials for the session only, and says so', async () => {
    const r = await docker('login -u me -p pw 127.0.0.1:5000');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('in memory for this session only');
    expect(r.stdout).toContain('Login Succeeded');
    expect(r.engine.calls).toContainEqual({ method: 'login', options: { server: '127.0.0.1:5000', username: 'me', password: 'pw' } });
    expect((await docker('logout')).stdout).toBe('Removing login credentials for https://index.docker.io/v1/\n');
  });

  it('docker images --digests', async () => {
    const r = await docker('images --digests');
    expect(r.stdout.split('\n')[0]).toMatch(/^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(r.stdout).toMatch(new RegExp(`busybox\\s+latest\\s+sha256:${'ab'.repeat(32)}\\s+[0-9a-f]{12}\\s`));
    expect(r.stdout).toMatch(/app\s+v1\s+<none>\s+[0-9a-f]{12}\s/);
  });
});

describe('docker cp', () => {
  it('copies out of and into a container, and refuses what Docker refuses', async () => {
    const out = await docker('cp web:/etc/hostname .');
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('Successfully copied 9B to .\n');
    expect(out.engine.calls.filter((c) => c.method === 'copyFrom' || c.method === 'unpackTo').map((c) => c.options)).toEqual([
      { container: 'web', path: '/etc/hostname' },
      { path: '.', bytes: 9 },
    ]);
    const into = await docker('cp notes.txt web:/tmp/');
    expect(into.code).toBe(0);
    expect(into.engine.calls.find((c) => c.method === 'copyTo')?.options).toEqual({ container: 'web', path: '/tmp/', bytes: 3 });
    expect(await docker('cp a b')).toMatchObject({ code: 1, stderr: expect.stringContaining('must specify at least one container source') });
    expect(await docker('cp nosuch:/x .')).toMatchObject({ code: 1, stderr: expect.stringContaining('No such container: nosuch') });
  });
});

describe('image listings', () => {
  it('docker images', async () => {
    const r = await docker('images');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatchInlineSnapshot(`
      "REPOSITORY   TAG       IMAGE ID       CREATED         SIZE
      app          latest    0f1e2d3c4b5a   2 minutes ago   4.26MB
      app          v1        0f1e2d3c4b5a   2 minutes ago   4.26MB
      busybox      latest    a1b2c3d4e5f6   4 weeks ago     4.26MB
      "
    `);
  });

  it('docker images -q / --no-trunc / filter / management form', async () => {
    expect((await docker('images -q')).stdout).toMatchInlineSnapshot(`
      "0f1e2d3c4b5a
      0f1e2d3c4b5a
      a1b2c3d4e5f6
      "
    `);
    expect((await docker('image ls --no-trunc app')).stdout).toMatchInlineSnapshot(`
      "REPOSITORY   TAG       IMAGE ID                                                                  CREATED         SIZE
      app          latest    sha256:0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c4b5a0123   2 minutes ago   4.26MB
      app          v1        sha256:0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c4b5a0123   2 minutes ago   4.26MB
      "
    `);
    expect((await docker('image list -f reference=busy*')).stdout).toMatchInlineSnapshot(`
      "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE
      busybox      latest    a1b2c3d4e5f6   4 weeks ago   4.26MB
      "
    `);
  });

  it('docker history', async () => {
    expect((await docker('history app')).stdout).toMatchInlineSnapshot(`
      "IMAGE          CREATED         CREATED BY                                      SIZE      COMMENT
      0f1e2d3c4b5a   2 minutes ago   RUN /bin/sh -c echo hi > /hi.txt # buildkit     3B        buildkit.dockerfile.v0
      <missing>      4 weeks ago     /bin/sh -c #(nop)  CMD ["sh"]                   0B        
      <missing>      4 weeks ago     /bin/sh -c #(nop) ADD file:7e9002edaafd4e457…   4.26MB    
      "
    `);
    expect((await docker('history -q app')).stdout).toMatchInlineSnapshot(`
      "0f1e2d3c4b5a
      <missing>
      <missing>
      "
    `);
  });

  it('docker rename CONTAINER NEW_NAME calls the engine; a missing name is a usage error', async () => {
    const result = await docker('rename web site');
    expect(result.code).toBe(0);
    expect(result.engine.calls.at(-1)).toEqual({ method: 'rename', options: { container: 'web', name: 'site' } });
    expect((await docker('rename web')).code).not.toBe(0);
  });

  it('docker history --format: a template over ID, CreatedSince, CreatedBy, Size, Comment; json; no table', async () => {
    expect((await docker(['history', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}', 'app'])).stdout).toBe(
      '0f1e2d3c4b5a|RUN /bin/sh -c echo hi > /hi.txt # buildkit|3B|buildkit.dockerfile.v0\n<missing>|/bin/sh -c #(nop)  CMD ["sh"]|0B|\n<missing>|/bin/sh -c #(nop) ADD file:7e9002edaafd4e457…|4.26MB|\n',
    );
    const json = (await docker(['history', '--format', 'json', '--human=false', 'app'])).stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(json[0]).toEqual({ ID: '0f1e2d3c4b5a', CreatedSince: '2024-05-01T11:58:00Z', CreatedAt: '2024-05-01T11:58:00Z', CreatedBy: 'RUN /bin/sh -c echo hi > /hi.txt # buildkit', Size: '3', Comment: 'buildkit.dockerfile.v0' });
    const table = await docker(['history', '--format', 'table {{.ID}}', 'app']);
    expect(table.code).not.toBe(0);
    expect(table.stderr).toContain('not supported by Layerlab');
  });

  it('docker history --no-trunc -H=false', async () => {
    expect((await docker('image history --no-trunc --human=false app')).stdout).toMatchInlineSnapshot(`
      "IMAGE                                                                     CREATED AT             CREATED BY                                                                                          SIZE      COMMENT
      sha256:0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c4b5a0123   2024-05-01T11:58:00Z   RUN /bin/sh -c echo hi > /hi.txt # buildkit                                                         3         buildkit.dockerfile.v0
      <missing>                                                                 2024-04-01T12:00:00Z   /bin/sh -c #(nop)  CMD ["sh"]                                                                       0         
      <missing>                                                                 2024-04-01T12:00:00Z   /bin/sh -c #(nop) ADD file:7e9002edaafd4e4579b65c8f0aaabde1aeb7fd3f8d95579f7fd3443cef785fd1 in /    4261232   
      "
    `);
  });
});

describe('containers', () => {
  it('docker ps / ps -a / ps -s', async () => {
    expect((await docker('ps')).stdout).toMatchInlineSnapshot(`
      "CONTAINER ID   IMAGE     COMMAND                  CREATED         STATUS         PORTS                    NAMES
      4d3c2b1a0f9e   busybox   "sh -c 'echo hello; …"   3 minutes ago   Up 2 minutes   0.0.0.0:8080->8000/tcp   web
      "
    `);
    expect((await docker('ps -a')).stdout).toMatchInlineSnapshot(`
      "CONTAINER ID   IMAGE     COMMAND                  CREATED              STATUS                     PORTS                    NAMES
      4d3c2b1a0f9e   busybox   "sh -c 'echo hello; …"   3 minutes ago        Up 2 minutes               0.0.0.0:8080->8000/tcp   web
      9e8d7c6b5a4f   app       "echo hi"                About a minute ago   Exited (0) 3 seconds ago                            eager_turing
      "
    `);
    expect((await docker('container ls -as')).stdout).toMatchInlineSnapshot(`
      "CONTAINER ID   IMAGE     COMMAND                  CREATED              STATUS                     PORTS                    NAMES          SIZE
      4d3c2b1a0f9e   busybox   "sh -c 'echo hello; …"   3 minutes ago        Up 2 minutes               0.0.0.0:8080->8000/tcp   web            0B (virtual 4.26MB)
      9e8d7c6b5a4f   app       "echo hi"                About a minute ago   Exited (0) 3 seconds ago                            eager_turing   1.23kB (virtual 4.26MB)
      "
    `);
    expect((await docker('ps -aq --no-trunc')).stdout).toMatchInlineSnapshot(`
      "4d3c2b1a0f9e4d3c2b1a0f9e4d3c2b1a0f9e4d3c2b1a0f9e4d3c2b1a0f9e8d7c
      9e8d7c6b5a4f9e8d7c6b5a4f9e8d7c6b5a4f9e8d7c6b5a4f9e8d7c6b5a4f3e2d
      "
    `);
    expect((await docker('ps -a --filter status=exited -q')).stdout).toMatchInlineSnapshot(`
      "9e8d7c6b5a4f
      "
    `);
  });

  it('docker ps / images --format: templates, table with headers, json', async () => {
    expect((await docker(['ps', '-a', '--format', '{{.Names}} {{.State}}'])).stdout).toBe('web running\neager_turing exited\n');
    expect((await docker(['ps', '-a', '--format', 'table {{.Names}}\\t{{.Status}}'])).stdout).toBe(
      'NAMES          STATUS\nweb            Up 2 minutes\neager_turing   Exited (0) 3 seconds ago\n',
    );
    expect((await docker(['ps', '--format', 'table'])).stdout).toBe((await docker('ps')).stdout);
    expect(JSON.parse((await docker(['ps', '--format', 'json'])).stdout)).toMatchObject({ ID: '4d3c2b1a0f9e', Names: 'web', Image: 'busybox', State: 'running' });
    expect((await docker(['ps', '--filter', 'name=nobody', '--format', '{{.Names}}'])).stdout).toBe('');
    expect((await docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).stdout.split('\n')[0]).toMatch(/^\S+:\S+ [0-9a-f]{12}$/);
    expect((await docker(['images', '--format', 'table {{.Repository}}\\t{{.Size}}'])).stdout.split('\n')[0]).toBe('REPOSITORY   SIZE');
  });

  it('docker diff', async () => {
    expect((await docker('diff web')).stdout).toMatchInlineSnapshot(`
      "C /etc
      A /etc/motd
      D /etc/profile
      "
    `);
  });

  it('docker run, attached: streams output and returns the exit code', async () => {
    const r = await docker('run --rm -e A=1 -e B=2 -w /tmp -m 64m --pids-limit 50 --network none busybox echo hello -n');
    expect(r).toMatchObject({ code: 0, stdout: 'hello\n', stderr: 'warn\n' });
    expect(r.engine.calls[0]).toEqual({
      method: 'run',
      options: { image: 'busybox', command: ['echo', 'hello', '-n'], env: ['A=1', 'B=2'], workdir: '/tmp', memoryBytes: 64 * 1024 * 1024, pidsLimit: 50, network: 'none', autoRemove: true, onOutput: undefined },
    });
    expect((await docker('run busybox false')).code).toBe(1);
  });

  it('docker run -d prints the full id', async () => {
    const r = await docker('run -d --name db busybox sleep 100');
    expect(r).toMatchObject({ code: 0, stdout: `${ID2}\n`, stderr: '' });
  });

  it('docker run of an unknown image', async () => {
    const r = await docker('run foo');
    expect(r.code).toBe(125);
    expect(r.stderr).toMatchInlineSnapshot(`
      "Unable to find image 'foo:latest' locally
      docker: Error response from daemon: pull access denied for foo, repository does not exist or may require 'docker login': denied: requested access to the resource is denied
      See 'docker run --help'.
      Layerlab: Images here: busybox:latest, app:latest, app:v1 (see 'docker images'), or build one with 'docker build'.
      "
    `);
  });

  it('docker run: name conflict, bad flags, missing image argument, command not found', async () => {
    const conflict = await docker('run --name web busybox');
    expect(conflict.code).toBe(125);
    expect(conflict.stderr).toMatchInlineSnapshot(`
      "docker: Error response from daemon: Conflict. The container name "/web" is already in use by container "4d3c2b1a0f9e4d3c2b1a0f9e4d3c2b1a0f9e4d3c2b1a0f9e4d3c2b1a0f9e8d7c". You have to remove (or rename) that container to be able to reuse that name.
      See 'docker run --help'.
      "
    `);
    const flag = await docker('run --nope busybox');
    expect(flag).toMatchObject({ code: 125, stderr: "unknown flag: --nope\nSee 'docker run --help'.\n" });
    const missing = await docker('run');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatchInlineSnapshot(`
      ""docker run" requires at least 1 argument.
      See 'docker run --help'.

      Usage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]

      Create and run a new container from an image
      "
    `);
    const memory = await docker('run -m lots busybox');
    expect(memory).toMatchObject({ code: 125 });
    expect(memory.stderr).toContain(`invalid argument "lots" for "-m, --memory" flag`);
    const notFound = await docker('run busybox nosuch');
    expect(notFound.code).toBe(127);
    expect(notFound.stderr).toMatchInlineSnapshot(`
      "docker: Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: executable file \`nosuch\` not found in $PATH: No such file or directory: unknown.
      "
    `);
  });

  it('docker run -it attaches through io.exec, or falls back with a note', async () => {
    const seen: string[][] = [];
    const r = await docker('run -it --rm busybox sh', { exec: async (argv) => (seen.push(argv), 3) });
    expect(r.code).toBe(3);
    expect(seen).toEqual([['/usr/bin/crun', 'run', '--bundle', '/x', 'c1']]);
    expect(r.engine.calls.map((c) => c.method)).toEqual(['attachCommand', 'attachEnded']);
    expect(r.engine.calls[1].options).toEqual({ ref: 'ref1', exitCode: 3 });
    const fallback = await docker('run -it busybox sh');
    expect(fallback.code).toBe(0);
    expect(fallback.stderr).toContain('Layerlab: no terminal to attach to here');
    const noTty = await docker('run -it busybox sh', { tty: false, exec: async () => 0 });
    expect(noTty).toMatchObject({ code: 1, stderr: 'the input device is not a TTY\n' });
  });

  it('docker exec', async () => {
    const r = await docker('exec -e X=1 -u nobody web id -u');
    expect(r).toMatchObject({ code: 0, stdout: 'root\n' });
    expect(r.engine.calls[0].options).toEqual({ container: 'web', command: ['id', '-u'], env: ['X=1'], user: 'nobody', onOutput: undefined });
    const usage = await docker('exec web');
    expect(usage.stderr.split('\n')[0]).toBe('"docker exec" requires at least 2 arguments.');
    const it_ = await docker('exec -it web sh', { exec: async () => 0 });
    expect(it_.engine.calls[0]).toEqual({ method: 'attachCommand', options: { kind: 'exec', container: 'web', command: ['sh'] } });
  });

  it('stop stops all its containers at once, reporting in argument order', async () => {
    const engine = new FakeEngine();
    let inFlight = 0;
    let most = 0;
    engine.stop = async (options: { container: string }) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, options.container === 'web' ? 20 : 1));
      inFlight--;
      return engine.containers.find((c) => c.name === options.container)!;
    };
    expect(await docker('stop web eager_turing', { engine })).toMatchObject({ code: 0, stdout: 'web\neager_turing\n' });
    expect(most).toBe(2);
  });

  it('rm / stop / kill print names and report per-container errors', async () => {
    expect(await docker('rm eager_turing')).toMatchObject({ code: 0, stdout: 'eager_turing\n' });
    const r = await docker('rm web eager_turing ghost');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('eager_turing\n');
    expect(r.stderr).toMatchInlineSnapshot(`
      "Error response from daemon: You cannot remove a running container 4d3c2b1a0f9e4d3c2b1a0f9e4d3c2b1a0f9e4d3c2b1a0f9e4d3c2b1a0f9e8d7c. Stop the container before attempting removal or force remove
      Error response from daemon: No such container: ghost
      "
    `);
    expect(await docker('rm -f web')).toMatchObject({ code: 0, stdout: 'web\n' });
    expect(await docker('stop -t 1 web')).toMatchObject({ code: 0, stdout: 'web\n' });
    const kill = await docker('kill -s HUP web');
    expect(kill.engine.calls[0].options).toEqual({ container: 'web', signal: 'HUP' });
    expect(await docker('container kill eager_turing')).toMatchObject({ code: 1, stderr: `Error response from daemon: Cannot kill container: eager_turing: Container ${ID2} is not running\n` });
  });

  it('logs --tail, wait, start -a, create, commit', async () => {
    expect(await docker('logs web')).toMatchObject({ stdout: 'one\ntwo\nthree\n', stderr: 'oops\n' });
    expect(await docker('logs --tail 2 web')).toMatchObject({ stdout: 'three\n', stderr: 'oops\n' });
    expect(await docker('wait eager_turing')).toMatchObject({ code: 0, stdout: '0\n' });
    expect(await docker('start -a eager_turing')).toMatchObject({ code: 0, stdout: 'started\n' });
    expect(await docker('start eager_turing')).toMatchObject({ code: 0, stdout: 'eager_turing\n' });
    expect(await docker('create --name x busybox')).toMatchObject({ code: 0, stdout: `${ID2}\n` });
    const commit = await docker(['commit', '-a', 'Ada', '-m', 'add motd', '-c', 'CMD ["sh"]', 'web', 'app:v2']);
    expect(commit).toMatchObject({ code: 0, stdout: `${APP}\n` });
    expect(commit.engine.calls[0].options).toEqual({ container: 'web', ref: 'app:v2', author: 'Ada', message: 'add motd', changes: ['CMD ["sh"]'] });
  });

  it('container prune requires -f here', async () => {
    const asked = await docker('container prune');
    expect(asked.code).toBe(1);
    expect(asked.stderr).toContain('WARNING! This will remove all stopped containers.');
    expect((await docker('container prune -f')).stdout).toMatchInlineSnapshot(`
      "Deleted Containers:
      9e8d7c6b5a4f9e8d7c6b5a4f9e8d7c6b5a4f9e8d7c6b5a4f9e8d7c6b5a4f3e2d

      Total reclaimed space: 1.234kB
      "
    `);
  });
});

describe('inspect', () => {
  it('prints a JSON array with 4-space indent and Go escaping', async () => {
    const r = await docker('image inspect busybox');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatchInlineSnapshot(`
      "[
          {
              "Id": "sha256:a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6abcd",
              "RepoTags": [
                  "busybox:latest"
              ],
              "RepoDigests": [],
              "Parent": "",
              "Comment": "",
              "Created": "2024-04-01T12:00:00.000Z",
              "DockerVersion": "",
              "Author": "",
              "Config": {
                  "Env": [
                      "PATH=/usr/bin"
                  ],
                  "Cmd": [
                      "sh",
                      "-c",
                      "echo \\u003chi\\u003e \\u0026 bye"
                  ],
                  "Labels": null
              },
              "Architecture": "386",
              "Os": "linux",
              "Size": 4261232,
              "GraphDriver": {
                  "Name": "overlay2",
                  "Data": null
              },
              "RootFS": {
                  "Type": "layers",
                  "Layers": []
              },
              "Metadata": {
                  "LastTagTime": ""
              }
          }
      ]
      "
    `);
  });

  it('--format templates', async () => {
    expect((await docker(['inspect', '-f', '{{.Id}}', 'busybox'])).stdout).toBe(`${BUSYBOX}\n`);
    expect((await docker(['inspect', '--format', '{{.Config.Cmd}}', 'app'])).stdout).toBe('[sh -c echo <hi> & bye]\n');
    expect((await docker(['inspect', '--format={{json .Config.Env}}', 'app'])).stdout).toBe('["PATH=/usr/bin"]\n');
    expect((await docker(['inspect', '-f', '{{.State.Status}} {{.Name}}', 'web'])).stdout).toBe('running /web\n');
    expect((await docker(['container', 'inspect', '-f', '{{.State.ExitCode}}', 'eager_turing'])).stdout).toBe('0\n');
  });

  it('unknown objects', async () => {
    expect(await docker('inspect ghost')).toMatchObject({ code: 1, stdout: '[]\n', stderr: 'Error: No such object: ghost\n' });
    expect(await docker('image inspect ghost')).toMatchObject({ code: 1, stderr: 'Error: No such image: ghost\n' });
  });

  it('template evaluator', () => {
    const data = { A: { B: [1, 'x'], M: { z: 1, a: true } }, N: null };
    expect(renderTemplate('{{.A.B}} {{.A.M}} {{.N}} {{.Nope}}', data)).toBe('[1 x] map[a:true z:1] <nil> <no value>');
    expect(renderTemplate('{{json .A}}|{{.A.M | json}}|{{index .A.M "z"}}|{{join .A.B ","}}|{{upper "x"}}', data)).toBe('{"B":[1,"x"],"M":{"z":1,"a":true}}|{"z":1,"a":true}|1|1,x|X');
    expect(renderTemplate('{{index .A.B 1}}', data)).toBe('x');
    expect(() => renderTemplate('{{index .A.B 2}}', data)).toThrow('index out of range: 2');
    expect(() => renderTemplate('{{nofunc .A}}', data)).toThrow('function "nofunc" not defined');
  });
});

describe('tag / rmi / save / load / prune', () => {
  it('tag and rmi', async () => {
    expect(await docker('tag app app:v3')).toMatchObject({ code: 0, stdout: '' });
    expect(await docker('tag ghost x')).toMatchObject({ code: 1, stderr: 'Error response from daemon: No such image: ghost:latest\n' });
    expect(await docker('rmi -f app')).toMatchObject({ code: 0, stdout: `Untagged: app:latest\nDeleted: ${APP}\n` });
    const inUse = await docker('image rm app');
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toMatch(/^Error response from daemon: conflict: unable to remove repository reference "app" \(must force\)/);
    expect((await docker('tag app')).stderr).toMatchInlineSnapshot(`
      ""docker tag" requires exactly 2 arguments.
      See 'docker tag --help'.

      Usage:  docker tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]

      Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
      "
    `);
  });

  it('save needs -o; load needs -i', async () => {
    expect(await docker('save -o app.tar app')).toMatchObject({ code: 0 });
    expect((await docker('save app')).code).toBe(1);
    expect(await docker('load -i app.tar')).toMatchObject({ code: 0, stdout: `Loaded image: app:latest\nLoaded image ID: ${BUSYBOX}\n` });
    expect(await docker('load -i missing.tar')).toMatchObject({ code: 1, stderr: 'open missing.tar: no such file or directory\n' });
  });

  it('image prune', async () => {
    expect((await docker('image prune -f')).stdout).toMatchInlineSnapshot(`
      "Deleted Images:
      deleted: sha256:0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c4b5a0123

      Total reclaimed space: 68B
      "
    `);
  });
});

describe('volumes and system', () => {
  it('volume verbs', async () => {
    expect((await docker('volume ls')).stdout).toMatchInlineSnapshot(`
      "DRIVER    VOLUME NAME
      local     cache
      local     data
      "
    `);
    expect(await docker('volume create data')).toMatchObject({ stdout: 'data\n' });
    expect(await docker('volume rm data nope')).toMatchObject({ code: 1, stdout: 'data\n', stderr: 'Error response from daemon: No such volume: nope\n' });
    const prune = await docker('volume prune -af');
    expect(prune.stdout).toBe('Deleted Volumes:\ncache\n\nTotal reclaimed space: 0B\n');
  });

  it('system df', async () => {
    expect((await docker('system df')).stdout).toMatchInlineSnapshot(`
      "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE
      Images          2         2         4.261MB   0B (0%)
      Containers      2         1         1.234kB   1.234kB (100%)
      Local Volumes   2         1         0B        0B
      Build Cache     1         0         2.048kB   2.048kB
      "
    `);
  });

  it('system df -v: the four sections, as Docker lays them out', async () => {
    const text = (await docker('system df -v')).stdout;
    expect(text.split('\n').filter((line) => line.endsWith(':') || line.startsWith('Build cache usage'))).toEqual([
      'Images space usage:',
      'Containers space usage:',
      'Local Volumes space usage:',
      'Build cache usage: 2.048kB',
    ]);
    expect(text).toContain('REPOSITORY   TAG       IMAGE ID       CREATED');
    expect(text).toContain('SHARED SIZE   UNIQUE SIZE   CONTAINERS');
    expect(text).toContain('CONTAINER ID   IMAGE');
    expect(text).toContain('VOLUME NAME   LINKS     SIZE');
    expect(text).toMatch(/3f2a9c1e0b7d   exec\.cachemount   2\.048kB   false     cached mount \/root\/\.cache\/pip\n/);
  });

  it('builder prune removes the cache mounts, and asks first', async () => {
    const engine = new FakeEngine();
    expect(await docker('builder prune -f', { engine })).toMatchObject({ code: 0, stdout: 'Deleted build cache objects:\n3f2a9c1e0b7d4a6f8e5c2b1a0\n\nTotal reclaimed space: 2.048kB\n' });
    expect((await docker('builder prune -f', { engine })).stdout).toBe('Total reclaimed space: 0B\n');
    expect((await docker('builder prune')).stderr + (await docker('builder prune')).stdout).toContain('This will remove all dangling build cache.');
  });
});

describe('dispatch, help, json', () => {
  it('unknown verbs', async () => {
    expect(await docker('foo')).toMatchObject({ code: 1, stderr: "docker: 'foo' is not a docker command.\nSee 'docker --help'\n" });
    expect(await docker('image frob')).toMatchObject({ code: 1, stderr: "docker: 'image frob' is not a docker command.\nSee 'docker image --help'\n" });
  });

  it('docker verbs Layerlab lacks get a note saying what to do instead', async () => {
    const search = await docker('search nginx');
    expect(search.code).toBe(1);
    expect(search.stderr).toContain("docker: 'search' is a docker command that Layerlab does not have.");
    expect((await docker('container update c')).stderr).toContain("'docker run -m 64m");
    // A verb leaves the table when it is implemented: none is both.
    for (const verb of Object.keys(UNIMPLEMENTED_VERBS)) {
      const [first, second] = verb.split(' ');
      expect(second === undefined ? first in VERBS || first in GROUPS : second in (GROUPS[first]?.verbs ?? {}), verb).toBe(false);
    }
  });

  it('help texts', async () => {
    expect((await docker('images --help')).stdout).toMatchInlineSnapshot(`
      "
      Usage:  docker images [OPTIONS] [REPOSITORY[:TAG]]

      List images

      Options:
        -a, --all             Show all images (default hides intermediate images)
        -q, --quiet           Only show image IDs
            --no-trunc        Don't truncate output
            --digests         Show digests
        -f, --filter list     Filter output based on conditions provided
            --format string   Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template
      "
    `);
    expect((await docker('help image ls')).stdout).toContain('Usage:  docker image ls [OPTIONS] [REPOSITORY[:TAG]]');
    expect((await docker('--help')).stdout).toContain('Management Commands:\n  image       Manage images\n');
    expect((await docker('container')).stdout).toContain('Usage:  docker container COMMAND');
  });

  it('--json prints machine-readable data', async () => {
    const images = await docker('images', { json: true });
    expect(JSON.parse(images.stdout)).toHaveLength(3);
    const ps = await docker('ps -a', { json: true });
    expect(JSON.parse(ps.stdout).map((c: ContainerView) => c.name)).toEqual(['web', 'eager_turing']);
    const err = await docker('rmi ghost', { json: true });
    expect(err.code).toBe(1);
    const build = await docker('build -t app .', { json: true });
    expect(JSON.parse(build.stdout)).toEqual({ imageId: APP, tags: ['app'] });
    expect(build.stderr).toBe('');
  });
});

// ---- build

const RUN_STEP = step(1, 'RUN echo hi', { line: 2, endLine: 2 });
const COPY_STEP = step(2, 'COPY app.txt /app.txt', { line: 3, endLine: 3 });
const CMD_STEP = step(3, 'CMD ["cat", "/app.txt"]', { line: 4, endLine: 4, configOnly: true });
const DOCKERFILE = 'FROM busybox\nRUN echo hi\nCOPY app.txt /app.txt\nCMD ["cat", "/app.txt"]\n';

function buildEvents(cached: boolean): BuildEvent[] {
  const steps = [RUN_STEP, COPY_STEP, CMD_STEP];
  return [
    { type: 'start', steps, warnings: [] },
    { type: 'step-start', step: RUN_STEP },
    ...(cached ? [] : [{ type: 'step-output' as const, step: RUN_STEP, stream: 'stdout' as const, text: 'h', elapsedMs: 312 }, { type: 'step-output' as const, step: RUN_STEP, stream: 'stdout' as const, text: 'i\nthere\n', elapsedMs: 320 }]),
    { type: 'step-done', step: RUN_STEP, cached, ms: 412, layer: { diffID: 'sha256:x', size: 3, files: 1 }, missReasons: [] },
    { type: 'step-start', step: COPY_STEP },
    { type: 'step-done', step: COPY_STEP, cached, ms: 20, layer: { diffID: 'sha256:y', size: 3, files: 1 }, missReasons: [] },
    { type: 'step-start', step: CMD_STEP },
    { type: 'step-done', step: CMD_STEP, cached: false, ms: 0, missReasons: [] },
    { type: 'done', imageId: APP, tags: ['app:latest'], ms: 800, cachedSteps: cached ? 2 : 0, totalSteps: 3 },
  ];
}

describe('build progress (BuildKit plain)', () => {
  it('uncached build', () => {
    expect(renderBuildProgress(buildEvents(false), { dockerfile: DOCKERFILE, contextBytes: 12 })).toMatchInlineSnapshot(`
      "#0 building with "default" instance using docker driver

      #1 [internal] load build definition from Dockerfile
      #1 transferring dockerfile: 71B done
      #1 DONE 0.0s

      #2 [internal] load metadata for docker.io/library/busybox:latest
      #2 DONE 0.0s

      #3 [internal] load .dockerignore
      #3 transferring context: 2B done
      #3 DONE 0.0s

      #4 [internal] load build context
      #4 transferring context: 12B done
      #4 DONE 0.0s

      #5 [1/4] FROM docker.io/library/busybox:latest
      #5 DONE 0.0s

      #6 [2/4] RUN echo hi
      #6 0.312 hi
      #6 0.320 there
      #6 DONE 0.4s

      #7 [3/4] COPY app.txt /app.txt
      #7 DONE 0.0s

      #8 exporting to image
      #8 exporting layers 0.0s done
      #8 writing image sha256:0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c4b5a0123 done
      #8 naming to docker.io/library/app:latest done
      #8 DONE 0.0s

      "
    `);
  });

  it('cached build', () => {
    const text = renderBuildProgress(buildEvents(true), { dockerfile: DOCKERFILE, contextBytes: 12 });
    expect(text).toContain('#6 [2/4] RUN echo hi\n#6 CACHED\n\n#7 [3/4] COPY app.txt /app.txt\n#7 CACHED\n\n');
  });

  it('a failing step', () => {
    const message = 'process "/bin/sh -c exit 1" did not complete successfully: exit code: 1';
    const failing = step(2, 'RUN exit 1', { line: 3, endLine: 3 });
    const events: BuildEvent[] = [
      { type: 'start', steps: [RUN_STEP, failing], warnings: [] },
      { type: 'step-start', step: RUN_STEP },
      { type: 'step-done', step: RUN_STEP, cached: true, ms: 1, missReasons: [] },
      { type: 'step-start', step: failing },
      { type: 'step-output', step: failing, stream: 'stderr', text: 'about to fail\n', elapsedMs: 50 },
      { type: 'step-error', step: failing, message },
      { type: 'error', message, line: 3 },
    ];
    expect(renderBuildProgress(events, { dockerfile: 'FROM busybox\nRUN echo hi\nRUN exit 1\nCMD ["sh"]\n' })).toMatchInlineSnapshot(`
      "#0 building with "default" instance using docker driver

      #1 [internal] load build definition from Dockerfile
      #1 transferring dockerfile: 47B done
      #1 DONE 0.0s

      #2 [internal] load metadata for docker.io/library/busybox:latest
      #2 DONE 0.0s

      #3 [internal] load .dockerignore
      #3 transferring context: 2B done
      #3 DONE 0.0s

      #4 [1/4] FROM docker.io/library/busybox:latest
      #4 DONE 0.0s

      #5 [2/4] RUN echo hi
      #5 CACHED

      #6 [3/4] RUN exit 1
      #6 0.050 about to fail
      #6 ERROR: process "/bin/sh -c exit 1" did not complete successfully: exit code: 1
      ------
       > [3/4] RUN exit 1:
      0.050 about to fail
      ------
      Dockerfile:3
      --------------------
         1 |     FROM busybox
         2 |     RUN echo hi
         3 | >>> RUN exit 1
         4 |     CMD ["sh"]
         5 |     
      --------------------
      ERROR: failed to solve: process "/bin/sh -c exit 1" did not complete successfully: exit code: 1
      "
    `);
  });

  it('multi-stage labels, FROM of an earlier stage, COPY --from', () => {
    const dockerfile = 'FROM busybox AS builder\nRUN echo built > /out\nFROM scratch\nCOPY --from=builder /out /out\nWORKDIR /\n';
    const a = step(1, 'RUN echo built > /out', { stage: 'builder', stageStep: 2, stageSteps: 2, line: 2, endLine: 2 });
    const b = step(2, 'COPY --from=builder /out /out', { stage: 'stage-1', stageStep: 2, stageSteps: 3, line: 4, endLine: 4 });
    const c = step(3, 'WORKDIR /', { stage: 'stage-1', stageStep: 3, stageSteps: 3, line: 5, endLine: 5, configOnly: true });
    const events: BuildEvent[] = [
      { type: 'start', steps: [a, b, c], warnings: [{ line: 5, message: 'WorkdirRelativePath: example warning' }] },
      ...[a, b, c].flatMap((s): BuildEvent[] => [{ type: 'step-start', step: s }, { type: 'step-done', step: s, cached: false, ms: 150, missReasons: [] }]),
      { type: 'done', imageId: APP, tags: [], ms: 1, cachedSteps: 0, totalSteps: 3 },
    ];
    const text = renderBuildProgress(events, { dockerfile });
    expect(text).not.toContain('load build context');
    expect(text).not.toContain('FROM scratch');
    expect(text).toContain('#4 [builder 1/2] FROM docker.io/library/busybox:latest\n#4 DONE 0.0s\n\n#5 [builder 2/2] RUN echo built > /out\n#5 DONE 0.1s\n\n');
    expect(text).toContain('#6 [stage-1 2/3] COPY --from=builder /out /out\n#6 DONE 0.1s\n\n#7 [stage-1 3/3] WORKDIR /\n');
    expect(text).toContain('\n 1 warning found (use docker --debug to expand):\n - WorkdirRelativePath: example warning (line 5)\n');
  });

  it('docker build through the CLI: progress on stderr, -q prints the id, errors exit 1', async () => {
    const engine = new FakeEngine();
    engine.buildEvents = buildEvents(true);
    const files = { Dockerfile: DOCKERFILE, 'app.txt': 'hi\n' };
    const r = await docker(['build', '-t', 'app', '--build-arg', 'V=1', '--no-cache', '.'], { engine, files });
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(r.stderr).toContain('#1 [internal] load build definition from Dockerfile\n#1 transferring dockerfile: 71B done\n');
    expect(r.stderr).toContain('#8 naming to docker.io/library/app:latest done\n');
    expect(engine.calls[0].options).toMatchObject({ dockerfile: DOCKERFILE, tags: ['app'], buildArgs: { V: '1' }, noCache: true, context: ['Dockerfile', 'app.txt'] });

    const quiet = await docker('build -q .', { engine: new FakeEngine() });
    expect(quiet).toMatchObject({ code: 0, stdout: `${APP}\n`, stderr: '' });

    const failing = new FakeEngine();
    failing.buildError = new BuildError('No such image: nope:latest', 1);
    const failed = await docker('build .', { engine: failing });
    expect(failed).toMatchObject({ code: 1 });
    expect(failed.stderr).toBe('ERROR: failed to solve: No such image: nope:latest\n');

    expect(await docker('build missing')).toMatchObject({ code: 1, stderr: 'ERROR: unable to prepare context: path "missing" not found\n' });
    expect(await docker('build -f Other.dockerfile .')).toMatchObject({ code: 1, stderr: 'ERROR: failed to solve: failed to read dockerfile: open Other.dockerfile: no such file or directory\n' });
    expect((await docker('build')).stderr.split('\n')[0]).toBe('"docker build" requires exactly 1 argument.');
  });

  it('docker build --secret: from a file (relative to the caller), a variable, or the variable named like the id', async () => {
    const engine = new FakeEngine();
    const r = await docker(['build', '--secret', 'id=tok,src=token.txt', '--secret', 'id=api,env=API_TOKEN', '--secret', 'id=API_TOKEN', '--secret', 'id=unset,env=NOPE', '.'], { engine });
    expect(r.code).toBe(0);
    const secrets = (engine.calls[0].options as { secrets: Record<string, Uint8Array> }).secrets;
    expect(Object.fromEntries(Object.entries(secrets).map(([id, data]) => [id, new TextDecoder().decode(data)]))).toEqual({ tok: 'from-file', api: 'from-env', API_TOKEN: 'from-env' });
    expect(await docker('build --secret src=token.txt .')).toMatchObject({ code: 1, stderr: 'could not parse secrets: [src=token.txt]: secret missing ID\n' });
    expect(await docker('build --secret id=x,src=/nope .')).toMatchObject({ code: 1, stderr: 'could not parse secrets: [id=x,src=/nope]: failed to stat /nope: stat /nope: no such file or directory\n' });
    expect((await docker('build --secret id=x,foo=bar .')).stderr).toBe("could not parse secrets: [id=x,foo=bar]: unexpected key 'foo' in 'foo=bar'\n");
    expect(secretEnvNames(['build', '--secret', 'id=a,env=B', '--secret=id=C', '--secret', 'id=d,src=f', '.'])).toEqual(['B', 'C']);
  });
});

describe('networks and ports', () => {
  it('docker network ls / create / rm / connect, docker port', async () => {
    expect((await docker('network ls')).stdout).toMatchInlineSnapshot(`
      "NETWORK ID     NAME      DRIVER    SCOPE
      aaaaaaaaaaaa   bridge    bridge    local
      bbbbbbbbbbbb   host      host      local
      "
    `);
    const engine = new FakeEngine();
    const created = await docker('network create --subnet 10.5.0.0/24 appnet', { engine });
    expect(created.stdout).toBe(`${'c'.repeat(64)}\n`);
    expect(engine.calls.at(-1)).toEqual({ method: 'networkCreate', options: { name: 'appnet', driver: undefined, subnet: '10.5.0.0/24', gateway: undefined, internal: false, labels: {} } });
    expect((await docker('network rm appnet', { engine })).stdout).toBe('appnet\n');
    await docker('network connect --alias db appnet web', { engine });
    expect(engine.calls.at(-1)).toEqual({ method: 'networkConnect', options: { network: 'appnet', container: 'web', aliases: ['db'], ip: undefined } });
    expect((await docker('port web')).stdout).toBe('8000/tcp -> 0.0.0.0:8080\n');
    expect((await docker('port web 8000')).stdout).toBe('0.0.0.0:8080\n');
    const missing = await docker('port web 9000');
    expect(missing).toMatchObject({ code: 1, stderr: "Error: No public port '9000/tcp' published for web\n" });
    const inspect = await docker('network inspect nope');
    expect(inspect.code).toBe(1);
    expect(inspect.stderr).toBe('Error response from daemon: network nope not found\n');
  });

  it('run passes -p, -P, --network and --network-alias to the engine', async () => {
    const engine = new FakeEngine();
    await docker('run -d -p 127.0.0.1:8080:8000 -P --network appnet --network-alias api busybox', { engine });
    expect(engine.calls.find((c) => c.method === 'run')?.options).toMatchObject({
      publish: ['127.0.0.1:8080:8000'],
      publishAll: true,
      network: 'appnet',
      networkAliases: ['api'],
    });
  });
});

describe('piped stdin from the guest client', () => {
  it('is forwarded exactly when an argument is -i-like, as the client decides', () => {
    expect(clientForwardsStdin(['run', '-i', 'busybox', 'cat'])).toBe(true);
    expect(clientForwardsStdin(['exec', '-di', 'c', 'cat'])).toBe(true);
    expect(clientForwardsStdin(['run', '--interactive', 'busybox'])).toBe(true);
    expect(clientForwardsStdin(['import', '-', 'x'])).toBe(false);
    expect(clientForwardsStdin(['run', '-t', 'busybox', '--name=i'])).toBe(false);
  });
});
