import { describe, expect, it } from 'vitest';
import { parseDockerfile } from './parse.ts';
import type { Instruction } from './ast.ts';

function parseOk(text: string): Instruction[] {
  const result = parseDockerfile({ text });
  expect(result.errors.map(String)).toEqual([]);
  return result.instructions;
}
/** The instruction type for a keyword (COPY and ADD share one type). */
type InstructionOf<K> = Instruction extends infer I ? (I extends { kind: infer IK } ? (K extends IK ? I : never) : never) : never;

function only<K extends Instruction['kind']>(text: string, kind: K): InstructionOf<K> {
  const found = parseOk(text).filter((i) => i.kind === kind);
  expect(found).toHaveLength(1);
  return found[0] as InstructionOf<K>;
}

describe('parseDockerfile: instruction forms', () => {
  it.each([
    ['FROM busybox', { image: 'busybox', stageName: undefined, platform: undefined }],
    ['FROM busybox:1.36 AS Build', { image: 'busybox:1.36', stageName: 'build' }],
    ['FROM --platform=linux/386 alpine as b', { image: 'alpine', stageName: 'b', platform: 'linux/386' }],
    ['from busybox', { image: 'busybox' }],
  ])('%s', (text, expected) => {
    expect(only(text, 'FROM')).toMatchObject(expected);
  });

  it.each([
    ['RUN echo hi', { form: 'shell', command: 'echo hi' }],
    ['RUN ["echo", "hi"]', { form: 'exec', argv: ['echo', 'hi'] }],
    // Docker's rule: text that is not a valid JSON array is shell form.
    ['RUN [not json', { form: 'shell', command: '[not json' }],
    ["RUN ['single', 'quotes']", { form: 'shell', command: "['single', 'quotes']" }],
    ['RUN echo a \\\n    && echo b', { form: 'shell', command: 'echo a     && echo b' }],
    ['RUN echo a \\\n# a comment\n\n  b', { form: 'shell', command: 'echo a   b' }],
  ])('%j', (text, command) => {
    expect(only('FROM x\n' + text, 'RUN').command).toEqual(command);
  });

  it('keeps RUN --mount values for the planner, without a warning', () => {
    const result = parseDockerfile({ text: 'FROM x\nRUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=tok pip install x' });
    const run = result.instructions[1] as Extract<Instruction, { kind: 'RUN' }>;
    expect(run.command).toEqual({ form: 'shell', command: 'pip install x' });
    expect(run.mounts).toEqual(['type=cache,target=/root/.cache', 'type=secret,id=tok']);
    expect(run.ignoredFlags).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it('RUN --network and --security: none/host kept, bad values and insecure refused', () => {
    const ok = parseDockerfile({ text: 'FROM x\nRUN --network=none true\nRUN --network=default --security=sandbox true' });
    expect(ok.errors).toEqual([]);
    expect((ok.instructions[1] as Extract<Instruction, { kind: 'RUN' }>).network).toBe('none');
    expect((ok.instructions[2] as Extract<Instruction, { kind: 'RUN' }>).network).toBeUndefined();
    const bad = parseDockerfile({ text: 'FROM x\nRUN --network=bridge true\nRUN --security=insecure true' });
    expect(bad.errors.map((e) => [e.line, e.message])).toEqual([
      [2, 'unsupported network mode "bridge"'],
      [3, 'RUN --security=insecure is not supported by Layerlab: build steps never run privileged here'],
    ]);
  });

  it('refuses a bad RUN --mount with BuildKit\'s message and the line', () => {
    const result = parseDockerfile({ text: 'FROM x\nRUN echo\nRUN --mount=type=foo,target=/x true' });
    expect(result.errors.map((e) => [e.line, e.message])).toEqual([[3, 'unsupported mount type "foo"']]);
  });

  it('COPY/ADD with flags, JSON form and multiple sources', () => {
    expect(only('FROM x\nCOPY --from=build --chown=app:app --chmod=644 --link a b /dst/', 'COPY')).toMatchObject({
      sources: ['a', 'b'],
      dest: '/dst/',
      from: 'build',
      chown: 'app:app',
      chmod: '644',
      link: true,
    });
    expect(only('FROM x\nCOPY ["my file.txt", "/app/"]', 'COPY')).toMatchObject({ sources: ['my file.txt'], dest: '/app/' });
    expect(parseOk('FROM x\nADD app.tar.gz /opt/')[1]).toMatchObject({ kind: 'ADD', sources: ['app.tar.gz'], dest: '/opt/' });
  });

  it('ENV and LABEL, new and legacy forms', () => {
    expect(only('FROM x\nENV a=1 b="two words" c=\\$x', 'ENV').pairs).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '"two words"' },
      { key: 'c', value: '\\$x' },
    ]);
    expect(only('FROM x\nENV PATH /usr/local/bin:$PATH', 'ENV').pairs).toEqual([{ key: 'PATH', value: '/usr/local/bin:$PATH' }]);
    expect(only('FROM x\nLABEL "com.example.name"="a b" version=1', 'LABEL').pairs).toEqual([
      { key: '"com.example.name"', value: '"a b"' },
      { key: 'version', value: '1' },
    ]);
  });

  it('ARG with and without defaults, several per line', () => {
    expect(only('ARG A B=2\nFROM x', 'ARG').args).toEqual([{ name: 'A' }, { name: 'B', defaultValue: '2' }]);
  });

  it.each([
    ['WORKDIR /my app', 'WORKDIR', { path: '/my app' }],
    ['USER app:app', 'USER', { user: 'app:app' }],
    ['STOPSIGNAL SIGINT', 'STOPSIGNAL', { signal: 'SIGINT' }],
    ['MAINTAINER Ada <ada@example.com>', 'MAINTAINER', { name: 'Ada <ada@example.com>' }],
    ['EXPOSE 80 53/udp', 'EXPOSE', { ports: ['80', '53/udp'] }],
    ['VOLUME /data /logs', 'VOLUME', { paths: ['/data', '/logs'] }],
    ['VOLUME ["/data"]', 'VOLUME', { paths: ['/data'] }],
    ['SHELL ["/bin/bash", "-c"]', 'SHELL', { argv: ['/bin/bash', '-c'] }],
    ['CMD python3 app.py', 'CMD', { command: { form: 'shell', command: 'python3 app.py' } }],
    ['CMD ["python3", "app.py"]', 'CMD', { command: { form: 'exec', argv: ['python3', 'app.py'] } }],
    ['ENTRYPOINT ["/entry.sh"]', 'ENTRYPOINT', { command: { form: 'exec', argv: ['/entry.sh'] } }],
    ['HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost', 'HEALTHCHECK', { command: { form: 'shell', command: 'wget -q localhost' }, options: { interval: '5s', retries: 3 } }],
    ['HEALTHCHECK NONE', 'HEALTHCHECK', { command: null }],
    ['ONBUILD COPY . /app', 'ONBUILD', { trigger: 'COPY . /app', triggerKeyword: 'COPY' }],
  ] as const)('%s', (text, kind, expected) => {
    expect(only('FROM x\n' + text, kind)).toMatchObject(expected);
  });
});

describe('parseDockerfile: directives, comments, lines', () => {
  it('reads # syntax and # escape, and uses a backtick escape for continuations', () => {
    const result = parseDockerfile({ text: '# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nRUN echo a `\n  b\nCOPY c:\\dir\\ /x/' });
    expect(result.errors).toEqual([]);
    expect(result.directives).toEqual({ syntax: 'docker/dockerfile:1', escape: '`' });
    expect(result.instructions[1]).toMatchObject({ kind: 'RUN', command: { command: 'echo a   b' }, lines: { start: 4, end: 5 } });
    expect(result.instructions[2]).toMatchObject({ sources: ['c:\\dir\\'] });
  });

  it('a directive after a comment is just a comment', () => {
    expect(parseDockerfile({ text: '# hello\n# escape=`\nFROM x' }).directives.escape).toBe('\\');
  });

  it('gives 1-based line ranges for every instruction', () => {
    const result = parseDockerfile({ text: '# comment\n\nFROM x\nRUN a \\\n  b \\\n  c\n\nCMD ["x"]\n' });
    expect(result.instructions.map((i) => [i.kind, i.lines.start, i.lines.end])).toEqual([
      ['FROM', 3, 3],
      ['RUN', 4, 6],
      ['CMD', 8, 8],
    ]);
  });

  it('handles CRLF line endings', () => {
    expect(parseOk('FROM x\r\nRUN echo a \\\r\n  b\r\n')[1]).toMatchObject({ command: { command: 'echo a   b' } });
  });
});

describe('parseDockerfile: heredocs', () => {
  it('RUN <<EOF', () => {
    const run = only('FROM x\nRUN <<EOF\necho hi\necho there\nEOF\nCMD x', 'RUN');
    expect(run.heredocs).toEqual([{ name: 'EOF', content: 'echo hi\necho there\n', expand: true, chomp: false, lines: { start: 3, end: 5 } }]);
    expect(run.lines).toEqual({ start: 2, end: 5 });
  });

  it('quoted delimiters do not expand, <<- strips tabs, several heredocs in order', () => {
    const run = only("FROM x\nRUN <<'A' sh && <<-B cat\n$HOME\nA\n\tb\n\tB\n", 'RUN');
    expect(run.heredocs.map((h) => [h.name, h.content, h.expand, h.chomp])).toEqual([
      ['A', '$HOME\n', false, false],
      ['B', 'b\n', true, true],
    ]);
  });

  it('COPY <<EOF /file', () => {
    const copy = only('FROM x\nCOPY <<EOF /etc/motd\nhello\nEOF\n', 'COPY');
    expect(copy).toMatchObject({ sources: ['<<EOF'], dest: '/etc/motd' });
    expect(copy.heredocs[0]!.content).toBe('hello\n');
  });

  it('an unterminated heredoc is an error on its line', () => {
    const result = parseDockerfile({ text: 'FROM x\nRUN <<EOF\necho hi\n' });
    expect(result.errors.map((e) => [e.line, e.message])).toEqual([[2, expect.stringContaining('Unterminated heredoc')]]);
  });
});

describe('parseDockerfile: errors', () => {
  it('unknown instruction with a suggestion and its line', () => {
    const result = parseDockerfile({ text: 'FROM x\n\nRUNN echo hi' });
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ line: 3, column: 1, message: 'Unknown instruction: RUNN. Did you mean RUN?' });
  });

  it('collects every error, sorted by line', () => {
    const result = parseDockerfile({ text: 'RUN echo early\nFROM x\nCOPY onlyone\nWORKDIR\nFOO bar\nENV a=1 b\nSHELL /bin/bash\n' });
    expect(result.errors.map((e) => [e.line, e.message])).toEqual([
      [1, 'RUN comes before the first FROM'],
      [3, 'COPY requires at least two arguments, but only one was provided. Destination could not be determined.'],
      [4, 'WORKDIR requires exactly one argument'],
      [5, 'Unknown instruction: FOO'],
      [6, `Syntax error - can't find = in "b". Must be of the form: name=value`],
      [7, 'SHELL requires the arguments to be in JSON form'],
    ]);
    expect(result.errors.every((e) => e.hint !== undefined)).toBe(true);
  });

  it.each([
    ['', 'The Dockerfile is empty'],
    ['# only a comment\n', 'The Dockerfile has no instructions'],
    ['ARG A=1\n', 'The Dockerfile has no FROM instruction'],
    ['FROM a b', 'FROM requires either one or three arguments'],
    ['FROM x\nRUN', 'RUN requires at least one argument'],
    ['FROM x\nCMD ["a", 1]', 'when using JSON array syntax, arrays must be comprised of strings only'],
    ['FROM x\nCOPY --form=a b c', 'Unknown flag: --form'],
    ['FROM x\nHEALTHCHECK RUN x', 'Unknown type "RUN" in HEALTHCHECK (try CMD)'],
    ['FROM x\nONBUILD ONBUILD RUN x', 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed'],
    ['FROM x AS 1abc', 'Invalid name for build stage: "1abc"'],
    ['# escape=x\nFROM x', "Invalid escape token 'x' does not match ` or \\"],
  ])('%j → %s', (text, message) => {
    expect(parseDockerfile({ text }).errors.map((e) => e.message)).toContain(message);
  });
});
