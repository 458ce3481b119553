import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DockerfileError } from './errors.ts';
import { lintDockerfile } from './lint.ts';
import { parseDockerfile } from './parse.ts';
import { planBuild } from './plan.ts';

/** Text that looks a bit like a Dockerfile, so the fuzzer reaches the interesting paths. */
const fragment = fc.oneof(
  fc.constantFrom('FROM ', 'RUN ', 'COPY ', 'ADD ', 'ENV ', 'ARG ', 'WORKDIR ', 'CMD ', 'ENTRYPOINT ', 'LABEL ', 'EXPOSE ', 'VOLUME ', 'SHELL ', 'HEALTHCHECK ', 'ONBUILD ', 'USER ', 'STOPSIGNAL ', 'AS ', '--from=', '--mount=x '),
  fc.constantFrom('\n', '\\\n', '`\n', '# escape=`\n', '# syntax=x\n', '#', ' ', '\t', '"', "'", '[', ']', ',', '=', '$', '${', '}', ':-', ':+', '<<', '<<-', 'EOF', '\nEOF\n', '*', '**/', '!', '.', '/', '..'),
  fc.string({ maxLength: 8 }),
  fc.stringMatching(/^[a-z0-9_./-]{1,8}$/),
);
const dockerfileish = fc.array(fragment, { maxLength: 40 }).map((parts) => parts.join(''));

describe('robustness', () => {
  it('parse + plan + lint never throw anything but DockerfileError, and finish', () => {
    fc.assert(
      fc.property(dockerfileish, fc.option(fc.constantFrom('a', 'b', '0', 'x')), (text, target) => {
        const started = performance.now();
        const parsed = parseDockerfile({ text });
        lintDockerfile({ dockerfile: parsed });
        try {
          planBuild({ dockerfile: parsed, target: target ?? undefined, buildArgs: { A: '1' } });
        } catch (error) {
          if (!(error instanceof DockerfileError)) throw error;
          expect(error.line).toBeGreaterThanOrEqual(0);
        }
        expect(performance.now() - started).toBeLessThan(1000);
      }),
      { numRuns: 1500 },
    );
  });

  it('arbitrary unicode text is handled too', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        const parsed = parseDockerfile({ text });
        try {
          planBuild({ dockerfile: parsed });
        } catch (error) {
          if (!(error instanceof DockerfileError)) throw error;
        }
      }),
      { numRuns: 500 },
    );
  });
});
