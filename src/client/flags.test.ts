import { describe, expect, it } from 'vitest';
import { parseFlags, type FlagSpec } from './flags';

const runSpecs: FlagSpec[] = [
  { name: 'interactive', short: 'i', kind: 'bool' },
  { name: 'tty', short: 't', kind: 'bool' },
  { name: 'detach', short: 'd', kind: 'bool' },
  { name: 'name', kind: 'string' },
  { name: 'env', short: 'e', kind: 'list' },
  { name: 'rm', kind: 'bool' },
];

describe('parseFlags', () => {
  it.each([
    [['-it', 'busybox', 'sh'], { interactive: true, tty: true, env: [] }, ['busybox', 'sh']],
    [['--name=web', '-d', 'busybox'], { name: 'web', detach: true, env: [] }, ['busybox']],
    [['--name', 'web', '-e', 'A=1', '-eB=2', 'busybox'], { name: 'web', env: ['A=1', 'B=2'] }, ['busybox']],
    // Flags after the image belong to the container's command.
    [['--rm', 'busybox', 'ls', '-l', '--name', 'x'], { rm: true, env: [] }, ['busybox', 'ls', '-l', '--name', 'x']],
    [['--rm=false', '--', '-weird'], { rm: false, env: [] }, ['-weird']],
  ])('%j', (argv, flags, args) => {
    expect(parseFlags(argv, runSpecs, { verb: 'run', stopAtFirstArg: true })).toEqual({ flags, args });
  });

  it.each([
    [['--nope'], "unknown flag: --nope\nSee 'docker run --help'."],
    [['-x'], 'unknown flag: -x'],
    [['--name'], 'flag needs an argument: --name'],
    [['--rm=maybe'], 'invalid argument "maybe" for "--rm" flag'],
  ])('rejects %j', (argv, message) => {
    expect(() => parseFlags(argv, runSpecs, { verb: 'run' })).toThrow(message);
  });
});
