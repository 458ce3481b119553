import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { filterContext, isIgnored, parseDockerignore, resolveCopySources, detectArchive, type ContextEntry } from './context.ts';
import { DockerfileError } from './errors.ts';
import { parseDockerfile } from './parse.ts';
import { planBuild } from './plan.ts';

const text = (s: string) => new TextEncoder().encode(s);
const file = (path: string, data = path): ContextEntry => ({ path, mode: 0o100644, data: text(data) });

describe('.dockerignore matching', () => {
  it.each([
    // [patterns, path, ignored?]
    ['*.md', 'README.md', true],
    ['*.md', 'docs/README.md', false], // * does not cross /
    ['**/*.md', 'docs/a/README.md', true],
    ['**/*.md', 'README.md', true], // ** matches zero directories
    ['docs', 'docs/a/b.txt', true], // a directory excludes everything below
    ['/docs', 'docs/x', true], // leading / stripped
    ['./docs/', 'docs/x', true], // ./ and trailing / stripped
    ['node_modules', 'src/node_modules/x', false], // patterns are anchored at the root
    ['**/node_modules', 'src/node_modules/x', true],
    ['temp?', 'temp1', true],
    ['temp?', 'temp12', false],
    ['[a-c].txt', 'b.txt', true],
    ['[^a-c].txt', 'b.txt', false],
    ['[^a-c].txt', 'd.txt', true],
    ['*\n!keep.md', 'keep.md', false],
    ['*.md\n!README.md', 'README.md', false],
    ['*.md\n!README.md', 'CHANGES.md', true],
    ['!README.md\n*.md', 'README.md', true], // last match wins
    ['docs\n!docs/keep.txt', 'docs/keep.txt', false],
    ['docs\n!docs/keep.txt', 'docs/other.txt', true],
    ['# comment\n\n  app.py  ', 'app.py', true],
    ['#app.py', 'app.py', false],
    ['a/**/b', 'a/b', true],
    ['a/**/b', 'a/x/y/b', true],
    ['a/**', 'a/x/y', true],
    ['\\*.txt', '*.txt', true],
    ['\\*.txt', 'x.txt', false],
    ['file.txt', 'file_txt', false], // . is literal
  ])('%j on %s → %s', (patterns, path, ignored) => {
    expect(isIgnored(parseDockerignore(patterns), path)).toBe(ignored);
  });

  it('filters a context using its own .dockerignore', () => {
    const result = filterContext({ files: [file('.dockerignore', '*.log\nsecret/\n'), file('app.py'), file('debug.log'), file('secret/key'), file('./src/main.py')] });
    expect(result.files.map((f) => f.path)).toEqual(['.dockerignore', 'app.py', 'src/main.py']);
    expect(result.ignored).toEqual(['debug.log', 'secret/key']);
  });
});

function copyStep(dockerfile: string) {
  const plan = planBuild({ dockerfile: parseDockerfile({ text: dockerfile }) });
  const step = plan.stages[0]!.steps.find((s) => s.copy)!;
  return { copy: step.copy!, line: step.lines.start };
}

describe('resolveCopySources', () => {
  const context = [file('app.py'), file('requirements.txt'), file('src/a.py'), file('src/lib/b.py'), file('README.md'), file('docs/x.md')];

  it.each([
    ['COPY app.py /app/', [['app.py', '/app/app.py']]],
    ['COPY app.py /app/main.py', [['app.py', '/app/main.py']]],
    ['WORKDIR /w\nCOPY app.py .', [['app.py', '/w']]],
    ['COPY src /code', [['src/a.py', '/code/a.py'], ['src/lib', '/code/lib'], ['src/lib/b.py', '/code/lib/b.py']]], // contents, not the dir
    ['COPY *.py *.txt /app/', [['app.py', '/app/app.py'], ['requirements.txt', '/app/requirements.txt']]],
    ['COPY src/*.py /app/', [['src/a.py', '/app/a.py']]],
    ['COPY **/*.md /docs/', [['README.md', '/docs/README.md'], ['docs/x.md', '/docs/x.md']]],
  ])('%s', async (dockerfile, expected) => {
    const { copy, line } = copyStep('FROM x\n' + dockerfile);
    const result = await resolveCopySources({ context, copy, line });
    expect(result.items.map((i) => [i.source, i.target])).toEqual(expected);
  });

  it('tells the executor the file name for a destination that may be a directory', async () => {
    const { copy, line } = copyStep('FROM x\nCOPY app.py /app');
    expect((await resolveCopySources({ context, copy, line })).fileNameIfDestIsDirectory).toBe('app.py');
  });

  it("a missing source is Docker's error on the COPY line", async () => {
    const { copy, line } = copyStep('FROM x\nRUN true\nCOPY main.py /app/');
    const error = await resolveCopySources({ context, copy, line }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerfileError);
    expect(error).toMatchObject({ line: 3, message: 'COPY failed: file not found in build context or excluded by .dockerignore: stat main.py: file does not exist' });
  });

  it('a wildcard matching several files needs a directory destination', async () => {
    const { copy, line } = copyStep('FROM x\nCOPY *.* /app');
    const error = await resolveCopySources({ context, copy, line }).catch((e: unknown) => e);
    expect((error as DockerfileError).message).toContain('must be a directory and end with a /');
  });

  it('ADD marks local tar archives for extraction, by content', async () => {
    const tar = new Uint8Array(1024);
    tar.set(text('hello.txt'), 0);
    tar.set(text('ustar'), 257);
    const archives = [{ path: 'files.tar', mode: 0o100644, data: tar }, { path: 'files.tgz', mode: 0o100644, data: new Uint8Array(gzipSync(tar)) }, file('fake.tar', 'not a tar')];
    const { copy, line } = copyStep('FROM x\nADD files.tar files.tgz fake.tar /opt/');
    const result = await resolveCopySources({ context: archives, copy, line });
    expect(result.items.map((i) => [i.source, i.target, i.extract])).toEqual([
      ['files.tar', '/opt', 'tar'],
      ['files.tgz', '/opt', 'tar+gzip'],
      ['fake.tar', '/opt/fake.tar', undefined],
    ]);
    expect(await detectArchive(new Uint8Array(gzipSync(text('plain text'))))).toBeNull();
  });
});
