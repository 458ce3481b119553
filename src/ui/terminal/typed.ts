/**
 * Text that a "Type it" button puts at the terminal's prompt. It is typed, never run: the learner reads
 * it and presses Enter. So a block of several commands becomes one line joined with `&&` (a failing
 * command stops the rest, as when typed one by one), `\`-continued lines are joined, and control
 * characters (newlines, escape sequences) are dropped, so no text can press Enter or drive the terminal.
 */
export function commandLineFor(text: string): string {
  const lines = text
    .replace(/\r\n?/g, '\n')
    .replace(/\\\n[ \t]*/g, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  return lines.join(' && ').replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
}
