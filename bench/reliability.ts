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
  return results;
}
