import { describe, expect, it } from 'vitest';
import { lintDockerfile, type LintCode } from './lint.ts';
import { parseDockerfile } from './parse.ts';

function lint(text: string) {
  return lintDockerfile({ dockerfile: parseDockerfile({ text }) }).map((f) => [f.line, f.code] as [number, LintCode]);
}

describe('lintDockerfile', () => {
  it('stays quiet on a clean Dockerfile', () => {
    const clean = [
      'FROM python:3.12-slim AS build',
      'WORKDIR /app',
      'COPY requirements.txt .',
      'RUN pip install --no-cache-dir -r requirements.txt',
      'COPY . .',
      'RUN apt-get update && apt-get install -y --no-install-recommends gcc && rm -rf /var/lib/apt/lists/*',
      'FROM alpine:3.20',
      'RUN apk add --no-cache python3',
      'COPY --from=build /app /app',
      'ADD vendor.tar.gz /opt/',
      'USER nobody',
      'CMD ["python3", "/app/app.py"]',
    ].join('\n');
    expect(lint(clean)).toEqual([]);
  });

  it.each<[string, [number, LintCode][]]>([
    ['FROM busybox:1.36\nCOPY big.bin /data/big.bin\nRUN rm /data/big.bin', [[3, 'delete-in-later-layer']]],
    ['FROM busybox:1.36\nWORKDIR /w\nCOPY . .\nRUN rm -rf tests', [[4, 'delete-in-later-layer']]],
    ['FROM busybox:1.36\nRUN wget -O /tmp/x.tgz http://e/x.tgz && tar xzf /tmp/x.tgz\nCMD ["sh"]\nRUN rm /tmp/x.tgz', [[4, 'delete-in-later-layer']]],
    ['FROM debian:12\nRUN apt-get update && apt-get install -y curl\nRUN rm -rf /var/lib/apt/lists/*', [[2, 'apt-lists-left'], [2, 'consecutive-runs'], [3, 'delete-in-later-layer']]],
    ['FROM alpine:3.20\nRUN apk add python3', [[2, 'apk-cache-left']]],
    ['FROM python:3.12\nCOPY requirements.txt .\nRUN pip install -r requirements.txt', [[3, 'pip-cache-left']]],
    ['FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD ["node", "."]', [[3, 'copy-all-before-install']]],
    ['FROM busybox:1.36\nRUN echo a\nARG X\nRUN echo b\nRUN echo c\nCOPY a /a\nRUN echo d', [[2, 'consecutive-runs']]],
    ['FROM busybox', [[1, 'untagged-base-image']]],
    ['FROM busybox:latest', [[1, 'untagged-base-image']]],
    ['FROM busybox:1.36\nADD app.py /app/', [[2, 'add-instead-of-copy']]],
    ['FROM busybox:1.36\nRUN cd /tmp && make', [[2, 'cd-in-run']]],
    ['FROM busybox:1.36\nCMD python3 app.py', [[2, 'shell-form-cmd']]],
    ['FROM busybox:1.36\nENTRYPOINT ["python3"]\nCMD app.py', []], // CMD is just args to an exec ENTRYPOINT
    ['FROM busybox:1.36\nCMD exec python3 app.py', []],
    ['FROM busybox:1.36 AS a\nFROM a\nRUN rm -rf /tmp/*', []], // nothing earlier created /tmp files
    ['FROM busybox@sha256:abc', []],
  ])('%j', (text, expected) => {
    expect(lint(text)).toEqual(expected);
  });

  it('names the line of the layer that holds the bytes', () => {
    const [finding] = lintDockerfile({ dockerfile: parseDockerfile({ text: 'FROM x:1\nCOPY big.bin /big.bin\nENV A=1\nRUN rm /big.bin' }) });
    expect(finding!.message).toContain('the bytes stay in the layer of line 2');
  });

  it('suggests a pinned tag only when the store has one (advice that builds)', () => {
    const message = (text: string, knownTags?: string[]) => lintDockerfile({ dockerfile: parseDockerfile({ text }), knownTags })[0]!.message;
    expect(message('FROM busybox', ['busybox:latest', 'busybox:1.36.1', 'busybox:1.36', 'python:3.11'])).toContain('(here: busybox:1.36)');
    expect(message('FROM python:latest', ['python:3.11.2', 'python:3.11', 'python:latest'])).toContain('(here: python:3.11)');
    // Only :latest here: no tag is invented.
    const latestOnly = message('FROM busybox', ['busybox:latest']);
    expect(latestOnly).not.toMatch(/busybox:\d/);
    expect(latestOnly).toContain('Pin a version tag');
    expect(message('FROM busybox')).not.toContain('1.36');
  });
});
