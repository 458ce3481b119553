import { describe, expect, it } from 'vitest';
import { countStages, layoutGraph, stageGraph } from './graph.ts';

const TWO_STAGES = `FROM busybox AS build
WORKDIR /src
COPY hello.sh .
RUN chmod +x hello.sh

FROM busybox
COPY --from=build /src/hello.sh /usr/local/bin/hello
CMD ["hello"]
`;

describe('stage graph', () => {
  it('counts stages cheaply', () => {
    expect(countStages(TWO_STAGES)).toBe(2);
    expect(countStages('FROM a\n# FROM b\nRUN echo FROM x\n')).toBe(1);
    expect(countStages('')).toBe(0);
  });

  it('two stages: a builder, a copy edge with its paths, the final stage', () => {
    const g = stageGraph(TWO_STAGES);
    expect(g.problem).toBeNull();
    expect(g.target).toBe(1);
    expect(g.stages.map((s) => [s.label, s.base, s.role, s.line, s.steps])).toEqual([
      ['build', 'busybox', 'builder', 1, 3],
      ['stage 1', 'busybox', 'final', 6, 2],
    ]);
    expect(g.edges).toEqual([{ kind: 'copy', from: 0, to: 1, line: 7, paths: ['/src/hello.sh'], dest: '/usr/local/bin/hello' }]);
    expect(g.finalImage).toEqual({ base: 'busybox', copies: [{ from: 'build', paths: ['/src/hello.sh'], dest: '/usr/local/bin/hello' }] });
  });

  it('FROM <stage> chains into the final image; an unused stage is skipped; --from an image is noted', () => {
    const g = stageGraph(`ARG V=1.0
FROM alpine AS base
RUN apk add curl
FROM base AS test
RUN make test
FROM golang AS build
COPY --from=0 /etc/os-release /tmp/
RUN go build -o /out/app-\${V} .
FROM base
ARG V
COPY --from=build /out/app-\${V} /bin/app
COPY --from=nginx:1.27 /etc/nginx/nginx.conf /etc/nginx/
`);
    expect(g.problem).toBeNull();
    expect(g.stages.map((s) => [s.label, s.role])).toEqual([
      ['base', 'final'],
      ['test', 'skipped'],
      ['build', 'builder'],
      ['stage 3', 'final'],
    ]);
    expect(g.edges).toEqual([
      { kind: 'from', from: 0, to: 1, line: 4, paths: [] },
      { kind: 'copy', from: 0, to: 2, line: 7, paths: ['/etc/os-release'], dest: '/tmp/' },
      { kind: 'from', from: 0, to: 3, line: 9, paths: [] },
      // Planned stages have their ARGs substituted (a global ARG once redeclared in the stage, as in Docker).
      { kind: 'copy', from: 2, to: 3, line: 11, paths: ['/out/app-1.0'], dest: '/bin/app' },
    ]);
    expect(g.stages[3]!.imageCopies).toEqual([{ image: 'nginx:1.27', paths: ['/etc/nginx/nginx.conf'], dest: '/etc/nginx/', line: 12 }]);
    expect(g.finalImage.base).toBe('alpine');
    expect(g.finalImage.copies.map((c) => c.from)).toEqual(['build', 'nginx:1.27']);
  });

  it('a Dockerfile the planner refuses is still drawn from the parse, with the reason', () => {
    const g = stageGraph('FROM a AS x\nRUN true\nFROM b AS x\nCOPY --from=x /a /b\n');
    expect(g.problem).toMatch(/Duplicate stage name/);
    expect(g.stages).toHaveLength(2);
    expect(g.stages[1]!.role).toBe('final');
  });

  it('no FROM at all gives an empty graph, not an exception', () => {
    const g = stageGraph('RUN echo hi\n');
    expect(g.stages).toEqual([]);
    expect(layoutGraph(g, 300)).toMatchObject({ boxes: [], arrows: [], height: 0 });
  });

  it('layout: boxes top to bottom, one lane per arrow, copy arrows end at their row', () => {
    const g = stageGraph(TWO_STAGES);
    const l = layoutGraph(g, 400);
    expect(l.boxes).toHaveLength(2);
    expect(l.boxes[1]!.y).toBeGreaterThan(l.boxes[0]!.y + l.boxes[0]!.h);
    expect(l.boxes[1]!.copies).toHaveLength(1);
    expect(l.arrows).toHaveLength(1);
    expect(l.width).toBeLessThanOrEqual(400);
    const end = l.arrows[0]!.path.trim().split(/\s+/);
    // The path ends on the target box's edge, at the copy row's height.
    expect(Number(end[end.length - 1 - 2])).toBeCloseTo(l.boxes[1]!.copies[0]!.y - 4);
  });
});

describe('stageGraph: runaway substitution', () => {
  it('a Dockerfile of doubling ARGs gets a problem naming the line, not a hung tab', () => {
    const text = [
      'FROM busybox',
      'ARG A0=0123456789abcdef',
      ...Array.from({ length: 30 }, (_, i) => `ARG A${i + 1}=$A${i}$A${i}`),
      'RUN echo $A30',
      '',
    ].join('\n');
    expect(stageGraph(text).problem).toMatch(/Dockerfile:15: .*longer than 65536 characters/);
  });
});
