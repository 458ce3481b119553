import { describe, expect, it } from 'vitest';
import { commandLineFor } from './typed.ts';

describe('commandLineFor', () => {
  it('joins a block of commands into one line that waits for Enter', () => {
    expect(commandLineFor('docker build -t app .\ndocker run --name box app\n')).toBe('docker build -t app . && docker run --name box app');
  });
  it('joins continued lines and skips comments and blank lines', () => {
    expect(commandLineFor('# build it\ndocker run \\\n  --rm app\n\n')).toBe('docker run --rm app');
  });
  it('drops newlines, carriage returns and escape sequences, so nothing is executed', () => {
    const hostile = 'echo hi\r docker rm -f web\u001b[201~\u0003';
    const typed = commandLineFor(hostile);
    expect(typed).not.toMatch(/[\r\n\u001b\u0003]/);
    expect(typed).toBe('echo hi && docker rm -f web[201~');
  });
});
