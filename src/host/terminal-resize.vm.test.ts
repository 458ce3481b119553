/**
 * The terminal's size reaches `docker run -it` / `docker exec -it` sessions in the guest: the app resizes
 * the VM's serial console (`stty -F /dev/ttyS0 rows R cols C`, what the backend does on an xterm resize),
 * and `stty size` inside the container shows that size, at the start and after a resize mid-session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeLessonRunner, type NodeLessonRunner } from './lesson-runner.ts';
import type { Lesson } from '../lessons/schema.ts';

let runner: NodeLessonRunner;
let serial = '';

beforeAll(async () => {
  runner = createNodeLessonRunner({ onSerial: (text) => (serial += text) });
  await runner.reset({ id: 'terminal-resize' } as Lesson, []);
}, 600_000);

afterAll(() => runner?.close());

/** What the backend does when the learner's terminal changes size. */
async function resizeTerminal(cols: number, rows: number): Promise<void> {
  const { exit } = await runner.machine.request('spawn', { argv: ['/bin/stty', '-F', '/dev/ttyS0', 'rows', String(rows), 'cols', String(cols)] });
  expect(exit).toBe(0);
}

async function waitForSerial(pattern: RegExp, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pattern.test(serial)) {
    if (Date.now() > deadline) throw new Error(`the terminal never showed ${pattern}; last output: ${serial.slice(-300)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Prints the container's terminal size once it has one (the client sizes the pty as soon as it exists). */
const SIZE = `sh -c 'i=0; while ! stty size >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; stty size'`;

/**
 * A container command that prints its terminal's size, then waits (150 looks) until it is `rows cols`
 * (stty sets rows and columns one at a time: two SIGWINCHs) and prints it again.
 */
const watchSize = (rows: number, cols: number) =>
  `sh -c 'i=0; while ! stty size >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; echo "start $(stty size)"; i=0; while [ "$(stty size)" != "${rows} ${cols}" ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done; echo "now $(stty size)"'`;

describe('terminal size in -it sessions', () => {
  it('docker run -it: the terminal size at start, and after a resize', async () => {
    await resizeTerminal(100, 30);
    expect((await runner.shell(`docker run --rm -it busybox ${SIZE}`)).output).toContain('30 100');
    serial = '';
    const session = runner.shell(`docker run --rm -it busybox ${watchSize(43, 132)}`);
    await waitForSerial(/start 30 100/, 120_000);
    await resizeTerminal(132, 43);
    expect((await session).output).toContain('now 43 132');
  }, 900_000);

  it('docker exec -it: the same', async () => {
    await resizeTerminal(90, 25);
    expect((await runner.shell('docker run -d --name sizer busybox sleep 600')).exit).toBe(0);
    expect((await runner.shell(`docker exec -it sizer ${SIZE}`)).output).toContain('25 90');
    serial = '';
    const session = runner.shell(`docker exec -it sizer ${watchSize(35, 110)}`);
    await waitForSerial(/start 25 90/, 120_000);
    await resizeTerminal(110, 35);
    expect((await session).output).toContain('now 35 110');
  }, 900_000);
});
