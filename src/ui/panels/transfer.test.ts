import { describe, expect, it } from 'vitest';
import { exportFileName } from './transfer.ts';

describe('export file names', () => {
  it.each([
    [['app:latest'], 'app.tar'],
    [['app:v2'], 'app-v2.tar'],
    [['lab/web:1.0'], 'lab_web-1.0.tar'],
    [['localhost:5000/web'], 'localhost_5000_web.tar'],
    [['<none>:<none>'], 'image-0123456789ab.tar'],
    [[], 'image-0123456789ab.tar'],
  ])('%j → %s', (tags, name) => {
    expect(exportFileName({ id: 'sha256:0123456789abcdef', tags })).toBe(name);
  });
});
