import { describe, expect, it } from 'vitest';
import { decodeFiles, encodeFiles, EmbedConfigError } from './codec.ts';
import { parseEmbedConfig, parseOrigins, type EmbedContext } from './config.ts';

const framed: EmbedContext = { framed: true, embedder: 'https://docs.example.com' };
const parse = (query: string, context: EmbedContext = framed) => parseEmbedConfig(new URL(`https://layerlab.example/embed.html${query}`), context);

describe('files in the hash', () => {
  it('round-trips UTF-8 text through base64url', () => {
    const files = { Dockerfile: 'FROM busybox\n', 'app/héllo ✓.txt': 'naïve — ✓\n' };
    const encoded = encodeFiles(files);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeFiles(encoded)).toEqual(files);
    expect(parse(`#files=${encoded}`).files).toEqual(files);
  });

  it.each([
    ['not base64', '%%%'],
    ['not JSON', btoa('nope')],
    ['an array', btoa('["a"]')],
    ['a non-text file', btoa('{"a": 1}')],
  ])('refuses %s', (_, text) => {
    expect(() => decodeFiles(text)).toThrow(EmbedConfigError);
  });
});

describe('parseEmbedConfig', () => {
  it('defaults to the full app, editable, light, allowing only the embedder', () => {
    expect(parse('')).toMatchObject({
      files: null,
      panels: { editor: true, layers: true, terminal: true },
      readOnly: false,
      theme: 'light',
      command: null,
      height: null,
      origins: ['https://docs.example.com'],
      fakeBackend: false,
    });
  });

  it.each([
    ['?panels=layers,terminal', { panels: { editor: false, layers: true, terminal: true } }],
    ['?readonly', { readOnly: true }],
    ['?readonly=1', { readOnly: true }],
    ['?readonly=0', { readOnly: false }],
    ['?theme=dark', { theme: 'dark' }],
    ['?theme=neon', { theme: 'light' }],
    ['?height=480', { height: 480 }],
    ['?command=docker%20build%20.%0A', { command: 'docker build .' }],
    ['?lesson=03-copy-on-write', { lesson: '03-copy-on-write' }],
    ['?filesUrl=/ex/files.json', { filesUrl: 'https://layerlab.example/ex/files.json' }],
    ['?origins=https://a.example,http://localhost:8080/', { origins: ['https://a.example', 'http://localhost:8080'] }],
  ])('%s', (query, expected) => {
    expect(parse(query)).toMatchObject(expected);
  });

  it.each([
    '?panels=editor,sidebar',
    '?panels=',
    '?height=20',
    '?height=tall',
    '?lesson=../../etc',
    '?filesUrl=javascript:alert(1)',
    '?origins=*',
    '?origins=https://*.example.com',
    '?origins=https://a.example/path',
    '?origins=null',
    '?tag=Bad Tag',
  ])('refuses %s', (query) => {
    expect(() => parse(query)).toThrow(EmbedConfigError);
  });
});

describe('registry access', () => {
  it('is off unless the embedding page opts in with registry=1', () => {
    expect(parse('').registry).toBe(false);
    expect(parse('?registry=yes').registry).toBe(false);
    expect(parse('?registry=1').registry).toBe(true);
  });
});

describe('allow-list and storage namespace', () => {
  it('allows nobody when the embedder is unknown and no origins= is given', () => {
    expect(parse('', { framed: true, embedder: null }).origins).toEqual([]);
  });

  it('keeps nothing when framed by an unknown embedder', () => {
    expect(parse('?ns=a', { framed: true, embedder: null }).storageNamespace).toBeNull();
  });

  it('names storage by embedder origin, embed and example, never by origins=', () => {
    const a = parse('?ns=demo1#files=' + encodeFiles({ Dockerfile: 'FROM busybox\n' }));
    expect(a.storageNamespace).toMatch(/^embed:https:\/\/docs\.example\.com:demo1:[0-9a-z]+$/);
    // Another site embedding the same thing, even claiming the first site in origins=, gets other storage.
    const evil = parseEmbedConfig(new URL(`https://layerlab.example/embed.html?ns=demo1&origins=https://docs.example.com#files=${encodeFiles({ Dockerfile: 'FROM busybox\n' })}`), { framed: true, embedder: 'https://evil.example' });
    expect(evil.storageNamespace).not.toBe(a.storageNamespace);
    // Another embed on the same page, or changed example files: other storage.
    expect(parse('?ns=demo2#files=' + encodeFiles({ Dockerfile: 'FROM busybox\n' })).storageNamespace).not.toBe(a.storageNamespace);
    expect(parse('?ns=demo1#files=' + encodeFiles({ Dockerfile: 'FROM python\n' })).storageNamespace).not.toBe(a.storageNamespace);
  });

  it('parses origin lists exactly', () => {
    expect(parseOrigins(' https://a.example , https://a.example ')).toEqual(['https://a.example']);
    expect(() => parseOrigins('docs.example.com')).toThrow(EmbedConfigError);
  });
});
