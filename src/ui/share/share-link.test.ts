import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeShareLink, encodeShareLink, MAX_SHARE_BYTES, SHARE_PREFIX, ShareLinkError, shareId, toBase64Url } from './share-link.ts';

/** Builds a link from any JSON value, bypassing encode's checks (what a hand-made link could hold). */
async function linkOf(value: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  return SHARE_PREFIX + toBase64Url(new Uint8Array(await new Response(stream).arrayBuffer()));
}

async function kindOf(hash: string): Promise<string> {
  try {
    await decodeShareLink(hash);
    return 'ok';
  } catch (error) {
    expect(error).toBeInstanceOf(ShareLinkError);
    return (error as ShareLinkError).kind;
  }
}

describe('share links', () => {
  it('round-trips text files, tag and open file; binary files are skipped and named', async () => {
    const encoded = await encodeShareLink({
      files: [
        { path: 'Dockerfile', content: 'FROM busybox\nCOPY app/ /app/\n' },
        { path: 'app/main.sh', content: 'echo "héllo ✓"\n' },
        { path: 'logo.png', content: new Uint8Array([137, 80, 78, 71, 0]) },
      ],
      tag: 'demo:v1',
      active: 'app/main.sh',
    });
    expect(encoded.hash.startsWith(SHARE_PREFIX)).toBe(true);
    expect(encoded.hash).toMatch(/^#share=[A-Za-z0-9_-]+$/);
    expect(encoded.skipped).toEqual(['logo.png']);
    expect(await decodeShareLink(encoded.hash)).toEqual({
      files: [
        { path: 'Dockerfile', content: 'FROM busybox\nCOPY app/ /app/\n' },
        { path: 'app/main.sh', content: 'echo "héllo ✓"\n' },
      ],
      tag: 'demo:v1',
      active: 'app/main.sh',
    });
  });

  it('the same files get the same workspace id; different files a different one', async () => {
    const a = await shareId({ files: [{ path: 'Dockerfile', content: 'FROM a' }] });
    expect(a).toMatch(/^shared:[0-9a-f]{16}$/);
    expect(await shareId({ files: [{ path: 'Dockerfile', content: 'FROM a' }], tag: 'x' })).toBe(a);
    expect(await shareId({ files: [{ path: 'Dockerfile', content: 'FROM b' }] })).not.toBe(a);
  });

  it('refuses to encode more than the limit, and a workspace with no text', async () => {
    const big = { path: 'big.txt', content: 'x'.repeat(MAX_SHARE_BYTES) };
    await expect(encodeShareLink({ files: [big] })).rejects.toMatchObject({ kind: 'too-large' });
    await expect(encodeShareLink({ files: [{ path: 'a.bin', content: new Uint8Array([0]) }] })).rejects.toMatchObject({ kind: 'empty' });
  });

  it.each([
    ['not base64url', '#share=abc$def', 'malformed'],
    ['empty', '#share=', 'malformed'],
    ['cut off', null, 'malformed'],
    ['not deflate', '#share=' + toBase64Url(new TextEncoder().encode('{"v":1}')), 'malformed'],
  ])('a %s link is malformed', async (_name, hash, kind) => {
    const link = hash ?? (await encodeShareLink({ files: [{ path: 'Dockerfile', content: 'FROM busybox\n'.repeat(50) }] })).hash.slice(0, 20);
    expect(await kindOf(link)).toBe(kind);
  });

  it.each<[string, unknown, string]>([
    ['a newer version', { v: 2, files: [['Dockerfile', 'FROM a']] }, 'unsupported'],
    ['no files', { v: 1, files: [] }, 'empty'],
    ['files that are not pairs', { v: 1, files: [{ path: 'a', content: 'b' }] }, 'malformed'],
    ['non-string content', { v: 1, files: [['a', 42]] }, 'malformed'],
    ['a parent path', { v: 1, files: [['../etc/passwd', 'x']] }, 'bad-path'],
    ['a nested parent path', { v: 1, files: [['app/../../x', 'x']] }, 'bad-path'],
    ['an absolute path', { v: 1, files: [['/etc/passwd', 'x']] }, 'bad-path'],
    ['a backslash path', { v: 1, files: [['..\\x', 'x']] }, 'bad-path'],
    ['a duplicate path', { v: 1, files: [['a', '1'], ['a', '2']] }, 'bad-path'],
    ['a file inside a file', { v: 1, files: [['a', '1'], ['a/b', '2']] }, 'bad-path'],
    ['a bad tag', { v: 1, files: [['a', '1']], tag: 'Not A Tag' }, 'malformed'],
    ['an array', [1, 2], 'malformed'],
    ['null', null, 'malformed'],
  ])('a link with %s is refused', async (_name, value, kind) => {
    expect(await kindOf(await linkOf(value))).toBe(kind);
  });

  it('an open file that is not in the link is dropped, not trusted', async () => {
    const shared = await decodeShareLink(await linkOf({ v: 1, files: [['Dockerfile', 'FROM a']], active: '../x' }));
    expect(shared.active).toBeUndefined();
  });

  it('a small link that inflates past the limit is refused without decoding it all (zip bomb)', async () => {
    const bomb = await linkOf({ v: 1, files: [['a', ' '.repeat(10 * MAX_SHARE_BYTES)]] });
    expect(bomb.length).toBeLessThan(10_000);
    expect(await kindOf(bomb)).toBe('too-large');
  });

  it('property: no string makes decode throw anything but ShareLinkError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.stringMatching(/^[A-Za-z0-9_-]{0,200}$/)), async (tail) => {
        for (const hash of [tail, SHARE_PREFIX + tail]) {
          try {
            await decodeShareLink(hash);
          } catch (error) {
            if (!(error instanceof ShareLinkError)) throw error;
          }
        }
      }),
      { numRuns: 200 },
    );
  }, 30_000);

  it('property: random compressed JSON never crashes decode', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        try {
          await decodeShareLink(await linkOf(value));
        } catch (error) {
          if (!(error instanceof ShareLinkError)) throw error;
        }
      }),
      { numRuns: 150 },
    );
  }, 30_000);

  const segment = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,11}$/).filter((s) => s !== '.' && s !== '..');
  const path = fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'));

  it('property: any workspace of valid text files round-trips', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.record({ path, content: fc.string({ unit: 'grapheme', maxLength: 300 }) }), {
          minLength: 1,
          maxLength: 8,
          selector: (f) => f.path.split('/')[0],
        }),
        async (files) => {
          const decoded = await decodeShareLink((await encodeShareLink({ files })).hash);
          expect(decoded.files).toEqual(files);
        },
      ),
      { numRuns: 100 },
    );
  }, 30_000);
});
