import { describe, expect, it } from 'vitest';
import { LineTail, TextTail } from './tail.ts';

describe('LineTail', () => {
  it('keeps the last lines of 3 million and says how many came before', () => {
    const tail = new LineTail(1000);
    for (let i = 1; i <= 3_000_000; i++) tail.push(String(i));
    const lines = tail.lines();
    expect(lines).toHaveLength(1001);
    expect(lines[0]).toBe('[… 2999000 earlier lines not shown]');
    expect(lines[1]).toBe('2999001');
    expect(lines.at(-1)).toBe('3000000');
  });
  it('adds no note when nothing was dropped', () => {
    const tail = new LineTail(5);
    tail.push('a', 'b');
    expect(tail.lines()).toEqual(['a', 'b']);
  });
});

describe('TextTail', () => {
  it('keeps the last characters within its budget', () => {
    const tail = new TextTail(10);
    for (let i = 0; i < 100_000; i++) tail.append('0123456789');
    expect(tail.text()).toBe('0123456789');
    expect(tail.dropped).toBe(999_990);
    expect(tail.toString()).toBe('[… 999990 earlier characters not shown]\n0123456789');
  });
});
