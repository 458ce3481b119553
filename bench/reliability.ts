/**
 * Reliability counts (issue #5): hostile archives tried and refused, fuzz cases run, runaway containers
 * survived. Counts, not timings: each must equal what was tried.
 */
import fc from 'fast-check';
import { ImageStore } from '../src/engine/store/image-store.ts';
import { MemoryBackend } from '../src/engine/store/backend.ts';
import { loadImages } from '../src/engine/archive/load.ts';
import { readTar } from '../src/engine/archive/tar.ts';
import { ArchiveError } from '../src/engine/archive/errors.ts';
import { rawTar, rawHeader, concat } from '../src/engine/archive/testutil.ts';
import { parseDockerfile, planBuild, DockerfileError } from '../src/engine/dockerfile/index.ts';
import { decodeShareLink, ShareLinkError } from '../src/ui/share/share-link.ts';
import { openNodeEngine } from '../src/host/node.ts';
import { sha256 } from '../src/engine/oci/digest.ts';
import { buildImage, encodeJson } from '../src/engine/oci/image.ts';
import { writeTar } from '../src/engine/archive/tar.ts';
import { LineTail } from '../src/engine/util/tail.ts';
import { marked } from 'marked';
import { evaluateCheck } from '../src/lessons/checks.ts';
import { fakeContext } from '../src/lessons/fake-context.ts';
import { gzipSync } from 'node:zlib';

/** A docker-archive whose one layer is `stored` (its uncompressed tar is `tar`). */
async function dockerArchive(tar: Uint8Array, stored: Uint8Array = tar): Promise<Uint8Array> {
  const diffID = await sha256(tar);
  const image = await buildImage({ layers: [{ digest: diffID, diffID, size: tar.length, mediaType: 'x' }], created: '2024-01-01T00:00:00Z' });
  return writeTar([
    { name: 'c.json', data: image.configBytes },
    { name: 'l.tar', data: stored },
    { name: 'manifest.json', data: encodeJson([{ Config: 'c.json', RepoTags: ['h:1'], Layers: ['l.tar'] }]) },
  ]);
}

/** Archives added by issue #11: disagreements between tar readers, bombs, symlinked parents. */
export async function hostileImageArchives(): Promise<[string, Uint8Array][]> {
  const zeros = new Uint8Array(128 << 20);
  const bombLayer = new Uint8Array(gzipSync(concat(rawHeader({ name: 'zeros', size: zeros.length }), zeros, new Uint8Array(1024))));
  return [
    ['global pax path', await dockerArchive(rawTar([{ name: 'pax_global_header', type: 'g', data: '16 path=evil.sh\n' }, { name: 'a', data: 'a' }]))],
    ['symlink with a size', await dockerArchive(rawTar([{ name: 'l', type: '2', linkname: 'a', data: 'x'.repeat(600) }]))],
    ['write through a symlinked parent', await dockerArchive(rawTar([{ name: 'app', type: '2', linkname: '/etc' }, { name: 'app/passwd', data: 'x' }]))],
    ['double-gzipped 128 MiB layer in 1 MiB', new Uint8Array(gzipSync(await dockerArchive(new Uint8Array(512), bombLayer)))],
  ];
}

const HOSTILE: [string, Uint8Array][] = [
  ['.. member', rawTar([{ name: '../../etc/passwd', data: 'x' }])],
  ['absolute member', rawTar([{ name: '/etc/passwd', data: 'x' }])],
  ['symlink out', rawTar([{ name: 'manifest.json', type: '2', linkname: '../../../etc/passwd' }])],
  ['hardlink out', rawTar([{ name: 'index.json', type: '1', linkname: '/etc/shadow' }])],
  ['device node', rawTar([{ name: 'dev', type: '3' }])],
  ['absurd size', concat(rawHeader({ name: 'big', sizeField: '77777777777\0' }), new Uint8Array(1024))],
  ['non-octal size', concat(rawHeader({ name: 'x', sizeField: 'zzzzzzzzzzz\0' }), new Uint8Array(1024))],
  ['truncated', rawTar([{ name: 'manifest.json', data: '[]'.repeat(400) }]).slice(0, 700)],
  ['garbage', crypto.getRandomValues(new Uint8Array(4096))],
  ['empty', new Uint8Array(0)],
];

export async function benchReliability(): Promise<Record<string, number | null | string>> {
  const results: Record<string, number | null | string> = {};

  let refused = 0;
  for (const [, data] of HOSTILE) {
    const store = await ImageStore.open({ backend: new MemoryBackend() });
    try {
      await loadImages({ store, data });
    } catch (error) {
      if (error instanceof ArchiveError || /not an image archive|archive/i.test((error as Error).message)) refused++;
    }
  }
  results['reliability.hostile_archives_tried'] = HOSTILE.length;
  results['reliability.hostile_archives_refused'] = refused;

  // Issue #11 cases: each must be refused with an ArchiveError (the bomb within a 64 MiB budget).
  const images = await hostileImageArchives();
  let imagesRefused = 0;
  for (const [, data] of images) {
    const store = await ImageStore.open({ backend: new MemoryBackend() });
    await loadImages({ store, data, maxBytes: 64 << 20 }).catch((error) => {
      if (error instanceof ArchiveError) imagesRefused++;
    });
  }
  results['reliability.hostile_images_tried'] = images.length;
  results['reliability.hostile_images_refused'] = imagesRefused;

  // A 500-byte Dockerfile of doubling ARGs: refused on its line, not minutes and gigabytes.
  const doubling = ['FROM busybox', 'ARG A0=0123456789abcdef', ...Array.from({ length: 30 }, (_, i) => `ARG A${i + 1}=$A${i}$A${i}`), ''].join('\n');
  let dockerfileRefused = 0;
  try {
    planBuild({ dockerfile: parseDockerfile({ text: doubling }) });
  } catch (error) {
    if (error instanceof DockerfileError && error.line === 15) dockerfileRefused++;
  }
  results['reliability.doubling_args_refused'] = dockerfileRefused;

  // Container output quoted in a lesson check message stays text (no button that types a command).
  const check = await evaluateCheck(
    { kind: 'container-command', container: 'web', argv: ['cat', '/x'], stdout: 'never' },
    fakeContext({
      containers: [{ id: 'c', name: 'web', image: 'app', state: 'running', exitCode: null, writable: [], sizeRw: 0, sizeRootFs: 0 }],
      inContainer: { 'web: cat /x': { exit: 0, stdout: '<button class="type-cmd" data-cmd="docker rm -f web">ok</button>\n', stderr: '' } },
    }),
  );
  // The message is Markdown: what matters is whether it renders to a button.
  results['reliability.check_message_html_injected'] = /<button/i.test(marked.parseInline(check.message, { async: false }) as string) ? 1 : 0;

  // `seq 3000000` in a build log: the kept lines stay bounded.
  const log = new LineTail(1000);
  for (let i = 1; i <= 3_000_000; i++) log.push(String(i));
  results['reliability.seq_3000000_lines_kept'] = log.lines().length;

  // Fuzzing: the front end, tar reading and share links only ever fail with their own error types.
  let cases = 0;
  let crashes = 0;
  const property = <T>(arbitrary: fc.Arbitrary<T>, run: (value: T) => Promise<void> | void, expected: (error: unknown) => boolean) =>
    fc.assert(
      fc.asyncProperty(arbitrary, async (value) => {
        cases++;
        try {
          await run(value);
        } catch (error) {
          if (!expected(error)) crashes++;
        }
      }),
      { numRuns: 1000 },
    );
  await property(fc.string({ maxLength: 400 }), (text) => {
    const parsed = parseDockerfile({ text });
    if (!parsed.errors.length) planBuild({ dockerfile: parsed });
  }, (e) => e instanceof DockerfileError);
  await property(fc.uint8Array({ maxLength: 3000 }), (bytes) => readTar(bytes).then(() => {}), (e) => e instanceof ArchiveError);
  await property(fc.string({ maxLength: 300 }), (text) => decodeShareLink(`#share=${text}`).then(() => {}), (e) => e instanceof ShareLinkError);
  results['reliability.fuzz_cases'] = cases;
  results['reliability.fuzz_unexpected_errors'] = crashes;

  // Runaway containers in the real VM, each followed by a normal container.
  const { engine, close } = await openNodeEngine();
  const scenarios: [string, () => Promise<unknown>][] = [
    ['fork bomb', () => engine.run({ image: 'busybox', autoRemove: true, pidsLimit: 32, command: ['sh', '-c', 'for i in $(seq 200); do sleep 5 & done'] })],
    ['memory hog', () => engine.run({ image: 'busybox', autoRemove: true, memoryBytes: 16 << 20, command: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'] })],
    ['disk filler', () => engine.run({ image: 'busybox', autoRemove: true, command: ['dd', 'if=/dev/zero', 'of=/fill', 'bs=1M', 'count=200'] })],
    ['output flood', () => engine.run({ image: 'busybox', autoRemove: true, command: ['sh', '-c', 'yes | head -c 2000000'], onOutput: () => {} })],
    [
      'endless loop',
      async () => {
        const c = await engine.run({ image: 'busybox', detach: true, command: ['sh', '-c', 'while :; do :; done'] });
        await engine.kill({ container: c.id });
        await engine.wait({ container: c.id });
        await engine.rm({ container: c.id });
      },
    ],
  ];
  let survived = 0;
  try {
    for (const [, scenario] of scenarios) {
      await scenario().catch(() => {});
      let out = '';
      await engine.run({ image: 'busybox', autoRemove: true, command: ['echo', 'ok'], onOutput: (_s, t) => (out += t) });
      if (out === 'ok\n') survived++;
    }
  } finally {
    await close();
  }
  results['reliability.runaway_scenarios'] = scenarios.length;
  results['reliability.runaway_survived'] = survived;

  // Container hardening in the real VM: each probe must be refused (exit code not 0).
  const { engine: probeEngine, close: closeProbes } = await openNodeEngine();
  const probes = ['mount -t tmpfs none /mnt', 'test -s /proc/kcore', 'mknod /b b 1 0 && head -c 1 /b', 'echo 1 > /proc/sys/kernel/panic'];
  let probesRefused = 0;
  try {
    for (const probe of probes) {
      const view = await probeEngine.run({ image: 'busybox', autoRemove: true, command: ['sh', '-c', `${probe} 2>/dev/null`] });
      if (view.exitCode !== 0) probesRefused++;
    }
  } finally {
    await closeProbes();
  }
  results['reliability.hardening_probes'] = probes.length;
  results['reliability.hardening_probes_refused'] = probesRefused;
  return results;
}
