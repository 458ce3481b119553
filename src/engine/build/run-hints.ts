/**
 * What a failed RUN most likely ran into, in words a learner can act on. The builder adds the hint under
 * Docker's own `process "…" did not complete successfully` line.
 */

/** Output of tools that could not reach the network (DNS, connect, the package managers' own words). */
const NETWORK_FAILURE = [
  /Temporary failure in name resolution/i,
  /Name or service not known/i,
  /Could not resolve host/i,
  /bad address '/i,
  /Network is unreachable/i,
  /Failed to establish a new connection/i,
  /Could not fetch URL/i,
  /No matching distribution found/i,
  /Connection refused/i,
  /Connection timed out/i,
  /Could not connect to/i,
  /unable to (?:select packages|fetch)/i,
];

/**
 * The hint for a download that failed because the sandbox cannot reach the internet, or undefined when
 * the output does not look like one.
 */
export function networkFailureHint(output: string): string | undefined {
  if (!NETWORK_FAILURE.some((pattern) => pattern.test(output))) return undefined;
  return 'this step tried to download something, and the Layerlab VM has no network: nothing can be fetched from the internet here. Copy what it needs into the build context and use COPY instead.';
}

/** `/bin/sh: pip: not found` (exit 127): which program the image lacks. */
export function missingCommandHint(output: string, exitCode: number): string | undefined {
  if (exitCode !== 127) return undefined;
  const match = /(?:^|\n)(?:\/bin\/sh: )?(?:\d+: )?([^\s:]+): (?:not found|command not found)/.exec(output);
  if (!match) return undefined;
  const command = match[1];
  const pip = /^pip\d?(?:\.\d+)?$/.test(command) ? " (for Python packages, 'python3 -m pip' uses the pip that comes with the interpreter, where the image has one)" : '';
  return `'${command}' is not installed in this image, so the shell could not run it${pip}. Start FROM an image that has it, or install it in an earlier RUN.`;
}

/** The most useful hint for a failed RUN, given its (tail of) output and exit code. */
export function runFailureHint(output: string, exitCode: number): string | undefined {
  return missingCommandHint(output, exitCode) ?? networkFailureHint(output);
}
