import { describe, expect, it } from 'vitest';
import { missingCommandHint, networkFailureHint, runFailureHint } from './run-hints.ts';

describe('run failure hints', () => {
  it('names the missing program of a bare "not found"', () => {
    const hint = runFailureHint('/bin/sh: pip: not found\n', 127)!;
    expect(hint).toContain("'pip' is not installed in this image");
    expect(hint).toContain('python3 -m pip');
    expect(missingCommandHint('/bin/sh: 1: curl: not found\n', 127)).toContain("'curl'");
    expect(missingCommandHint('pip: not found', 1)).toBeUndefined();
  });

  it('says when a download failed for lack of network', () => {
    const pip = "WARNING: Retrying … NewConnectionError: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution\nERROR: No matching distribution found for flask\n";
    expect(runFailureHint(pip, 1)).toContain('has no network');
    expect(networkFailureHint("wget: bad address 'example.com'\n")).toContain('has no network');
    expect(networkFailureHint('Hello\n')).toBeUndefined();
  });
});
