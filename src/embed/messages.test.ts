import { describe, expect, it } from 'vitest';
import { judgeMessage, parseCommand } from './messages.ts';

const parent = { name: 'parent window' };
const other = { name: 'another window' };
const gate = { parent, origins: ['https://docs.example.com'] };
const good = { source: 'layerlab', type: 'build' };

describe('judgeMessage', () => {
  it.each([
    ['obeys the parent from a listed origin', { data: good, origin: 'https://docs.example.com', source: parent }, { ok: true }],
    ['ignores an unlisted origin', { data: good, origin: 'https://evil.example', source: parent }, { ok: false, reason: 'origin' }],
    ['ignores a listed origin that is not the parent (a popup, a sibling frame)', { data: good, origin: 'https://docs.example.com', source: other }, { ok: false, reason: 'not-parent' }],
    ['ignores messages without a source', { data: good, origin: 'https://docs.example.com', source: null }, { ok: false, reason: 'not-parent' }],
    ['ignores other protocols', { data: { type: 'build' }, origin: 'https://docs.example.com', source: parent }, { ok: false, reason: 'not-layerlab' }],
    ['ignores strings', { data: 'layerlab', origin: 'https://docs.example.com', source: parent }, { ok: false, reason: 'not-layerlab' }],
    ['refuses malformed commands', { data: { source: 'layerlab', type: 'rm -rf' }, origin: 'https://docs.example.com', source: parent }, { ok: false, reason: 'malformed' }],
  ])('%s', (_, message, verdict) => {
    expect(judgeMessage(message, gate)).toMatchObject(verdict);
  });

  it('obeys nobody when the allow-list is empty', () => {
    expect(judgeMessage({ data: good, origin: 'https://docs.example.com', source: parent }, { parent, origins: [] })).toMatchObject({ ok: false, reason: 'origin' });
  });

  it('obeys nobody when there is no parent (the page opened on its own)', () => {
    expect(judgeMessage({ data: good, origin: 'https://docs.example.com', source: null }, { parent: null, origins: gate.origins })).toMatchObject({ ok: false, reason: 'not-parent' });
  });
});

describe('parseCommand', () => {
  it.each([
    [{ type: 'set-files', files: { Dockerfile: 'FROM busybox' } }, { type: 'set-files', files: { Dockerfile: 'FROM busybox' }, replace: false }],
    [{ type: 'set-files', files: {}, replace: true, id: 'a' }, { type: 'set-files', files: {}, replace: true, id: 'a' }],
    [{ type: 'build' }, { type: 'build' }],
    [{ type: 'build', tag: 'app:v2' }, { type: 'build', tag: 'app:v2' }],
    [{ type: 'run', command: 'docker ps\n' }, { type: 'run', command: 'docker ps' }],
  ])('%j', (data, command) => {
    expect(parseCommand(data)).toEqual(expect.objectContaining(command));
  });

  it.each([
    { type: 'set-files', files: { a: 1 } },
    { type: 'set-files', files: ['a'] },
    { type: 'set-files', files: {}, replace: 'yes' },
    { type: 'build', tag: 'UPPER' },
    { type: 'run', command: '' },
    { type: 'run', command: 'x'.repeat(5000) },
    { type: 'run', command: 'ls', id: 42 },
    { type: 'eval', code: 'alert(1)' },
  ])('refuses %j', (data) => {
    expect(() => parseCommand(data)).toThrow();
  });
});
