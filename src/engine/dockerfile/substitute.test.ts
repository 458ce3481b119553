import { describe, expect, it } from 'vitest';
import { SubstitutionError, substituteHeredoc, substituteWord, substituteWords } from './substitute.ts';

const vars = new Map([
  ['NAME', 'world'],
  ['EMPTY', ''],
  ['DIR', '/app'],
  ['FILE', 'archive.tar.gz'],
  ['PORTS', '80 443'],
]);

describe('substituteWord (Docker documented behaviour)', () => {
  it.each([
    ['$NAME', 'world'],
    ['${NAME}', 'world'],
    ['hello-$NAME!', 'hello-world!'],
    ['${NAME}_x', 'world_x'],
    ['$NAME_x', ''], // NAME_x is one (unset) name
    ['$UNSET', ''],
    ['${UNSET:-default}', 'default'],
    ['${EMPTY:-default}', 'default'],
    ['${NAME:-default}', 'world'],
    ['${UNSET-default}', 'default'],
    ['${EMPTY-default}', ''], // set but empty: `-` keeps it
    ['${NAME:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${UNSET:+alt}', ''],
    ['${EMPTY+alt}', 'alt'], // set (even empty): `+` gives alt
    ['${UNSET+alt}', ''],
    ['${UNSET:-$DIR/x}', '/app/x'], // nested expansion in the default
    ['\\$NAME', '$NAME'],
    ['\\${NAME}', '${NAME}'],
    ["'$NAME'", '$NAME'], // single quotes are literal
    ['"$NAME"', 'world'],
    ['"a \\"b\\" c"', 'a "b" c'],
    ['"a\\nb"', 'a\\nb'], // other escapes in double quotes stay
    ['a\\ b', 'a b'],
    ['$', '$'],
    ['a$', 'a$'],
    ['${FILE%.gz}', 'archive.tar'],
    ['${FILE%%.*}', 'archive'],
    ['${FILE#*.}', 'tar.gz'],
    ['${FILE##*.}', 'gz'],
    ['$1', ''],
  ])('%s → %s', (word, expected) => {
    expect(substituteWord({ word, variables: vars })).toBe(expected);
  });

  it('uses the escape directive', () => {
    expect(substituteWord({ word: '`$NAME and C:\\path', variables: vars, escape: '`' })).toBe('$NAME and C:\\path');
  });

  it.each([
    ['${NAME', "syntax error: missing '}'"],
    ['${}', 'syntax error: bad substitution'],
    ['${NAME:*x}', 'unsupported modifier (*) in substitution'],
    ['"unterminated', 'unexpected end of statement while looking for matching double-quote'],
    ["'unterminated", 'unexpected end of statement while looking for matching single-quote'],
    ['${UNSET:?must be set}', 'UNSET: must be set'],
    ['${UNSET?}', 'UNSET: is not allowed to be unset'],
    ['${EMPTY:?}', 'EMPTY: is not allowed to be empty'],
  ])('%s fails with "%s"', (word, message) => {
    expect(() => substituteWord({ word, variables: vars })).toThrow(new SubstitutionError(message));
  });
});

describe('substituteWords', () => {
  it('splits unquoted expansions on blanks but keeps quoted ones whole', () => {
    expect(substituteWords({ word: '$PORTS', variables: vars })).toEqual(['80', '443']);
    expect(substituteWords({ word: '"$PORTS" 8080', variables: vars })).toEqual(['80 443', '8080']);
  });
});

describe('substituteHeredoc', () => {
  it('expands variables but keeps quotes as text', () => {
    expect(substituteHeredoc({ word: 'echo "hello $NAME" \'x\' \\$HOME\n', variables: vars })).toBe('echo "hello world" \'x\' $HOME\n');
  });
});
