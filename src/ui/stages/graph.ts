/**
 * A multi-stage Dockerfile as a graph, from the engine's own front end (parse + plan), so the picture
 * agrees with what `docker build` does: stages, `FROM <stage>` and `COPY --from=<stage>` edges with the
 * copied paths, which stages end up in the final image and which the build skips. Pure, no DOM.
 */
import { parseDockerfile, planBuild, DockerfileError, type BuildPlan, type CopyInstruction, type FromInstruction } from '../../engine/index.ts';

export type StageRole =
  /** The target stage, or a stage it is built FROM: its layers are the final image's. */
  | 'final'
  /** Needed by the final stage, but only files copied out of it reach the image. */
  | 'builder'
  /** Not needed by the final stage: the build skips it. */
  | 'skipped';

export interface StageNode {
  index: number;
  /** `AS name`, when given. */
  name?: string;
  /** `build`, or `stage 0` for an unnamed stage. */
  label: string;
  /** What FROM names: an image (`golang:1.22`), `scratch`, or an earlier stage's label. */
  base: string;
  baseKind: 'image' | 'stage' | 'scratch';
  /** 1-based line of the FROM. */
  line: number;
  /** Instructions after the FROM. */
  steps: number;
  role: StageRole;
  /** `COPY --from=<image>` of images (not stages) in this stage. */
  imageCopies: { image: string; paths: string[]; dest: string; line: number }[];
}

export interface StageEdge {
  kind: 'from' | 'copy';
  /** Stage indexes. */
  from: number;
  to: number;
  /** Line of the FROM or COPY. */
  line: number;
  /** For copies: the source paths as planned (after ARG substitution when the stage is built). */
  paths: string[];
  dest?: string;
}

export interface StageGraph {
  stages: StageNode[];
  edges: StageEdge[];
  /** Index of the target (last) stage; -1 when there are no stages. */
  target: number;
  /** What ends up in the final image: the base chain, and files copied in from other stages or images. */
  finalImage: { base: string; copies: { from: string; paths: string[]; dest: string }[] };
  /** Why the plan could not be made (the graph is then drawn from the parse alone); null when fine. */
  problem: string | null;
}

export { countStages } from './count.ts';

export function stageGraph(text: string): StageGraph {
  const parsed = parseDockerfile({ text });
  const froms: { from: FromInstruction; copies: CopyInstruction[]; steps: number }[] = [];
  for (const instruction of parsed.instructions) {
    if (instruction.kind === 'FROM') froms.push({ from: instruction, copies: [], steps: 0 });
    else if (froms.length) {
      const stage = froms[froms.length - 1]!;
      stage.steps++;
      if ((instruction.kind === 'COPY' || instruction.kind === 'ADD') && instruction.from !== undefined) stage.copies.push(instruction);
    }
  }

  let plan: BuildPlan | null = null;
  let problem: string | null = null;
  try {
    // No image store here: unknown `--from` names count as images, as Docker takes them.
    plan = planBuild({ dockerfile: parsed });
  } catch (error) {
    problem = error instanceof DockerfileError ? error.toString() : String((error as Error)?.message ?? error);
  }

  const names = froms.map((s) => s.from.stageName);
  const label = (i: number) => names[i] ?? `stage ${i}`;
  /** A stage named by FROM or --from as written (for stages the plan does not cover). */
  const stageNamed = (word: string, before: number): number => {
    const byName = names.findIndex((n, i) => n !== undefined && n === word.toLowerCase() && i < before);
    if (byName >= 0) return byName;
    return /^\d+$/.test(word) && Number(word) < before ? Number(word) : -1;
  };

  const planned = new Map(plan?.stages.map((s) => [s.index, s] as const) ?? []);
  const edges: StageEdge[] = [];
  const stages: StageNode[] = froms.map((raw, index) => {
    const p = planned.get(index);
    let base: StageNode['base'];
    let baseKind: StageNode['baseKind'];
    if (p) {
      baseKind = p.base.kind;
      base = p.base.kind === 'image' ? p.base.ref : p.base.kind === 'stage' ? label(p.base.index) : 'scratch';
      if (p.base.kind === 'stage') edges.push({ kind: 'from', from: p.base.index, to: index, line: p.lines.start, paths: [] });
    } else {
      const parent = stageNamed(raw.from.image, index);
      baseKind = parent >= 0 ? 'stage' : raw.from.image.toLowerCase() === 'scratch' ? 'scratch' : 'image';
      base = parent >= 0 ? label(parent) : raw.from.image;
      if (parent >= 0) edges.push({ kind: 'from', from: parent, to: index, line: raw.from.lines.start, paths: [] });
    }
    const imageCopies: StageNode['imageCopies'] = [];
    if (p) {
      for (const step of p.steps) {
        const copy = step.copy;
        if (!copy) continue;
        if (copy.origin.kind === 'stage') edges.push({ kind: 'copy', from: copy.origin.index, to: index, line: step.lines.start, paths: copy.sources, dest: copy.rawDest });
        else if (copy.origin.kind === 'image') imageCopies.push({ image: copy.origin.ref, paths: copy.sources, dest: copy.rawDest, line: step.lines.start });
      }
    } else {
      for (const copy of raw.copies) {
        const from = stageNamed(copy.from!, froms.length);
        if (from >= 0) edges.push({ kind: 'copy', from, to: index, line: copy.lines.start, paths: copy.sources, dest: copy.dest });
        else imageCopies.push({ image: copy.from!, paths: copy.sources, dest: copy.dest, line: copy.lines.start });
      }
    }
    return { index, name: names[index], label: label(index), base, baseKind, line: raw.from.lines.start, steps: raw.steps, role: 'skipped', imageCopies };
  });

  const target = plan?.target ?? stages.length - 1;
  // Needed: what the plan runs; without a plan, everything reachable from the target.
  const needed = new Set<number>(plan ? plan.stages.map((s) => s.index) : []);
  if (!plan && target >= 0) {
    const visit = (i: number) => {
      if (needed.has(i)) return;
      needed.add(i);
      for (const e of edges) if (e.to === i) visit(e.from);
    };
    visit(target);
  }
  // The final image is the target's layers, which include those of the stages it is built FROM.
  const finalChain = new Set<number>();
  for (let i = target; i >= 0 && !finalChain.has(i); ) {
    finalChain.add(i);
    i = edges.find((e) => e.kind === 'from' && e.to === i)?.from ?? -1;
  }
  for (const s of stages) s.role = finalChain.has(s.index) ? 'final' : needed.has(s.index) ? 'builder' : 'skipped';

  const rootOfChain = [...finalChain].map((i) => stages[i]!).find((s) => s.baseKind !== 'stage');
  const finalImage: StageGraph['finalImage'] = { base: rootOfChain?.base ?? '', copies: [] };
  for (const i of [...finalChain].reverse()) {
    for (const e of edges) if (e.kind === 'copy' && e.to === i) finalImage.copies.push({ from: stages[e.from]!.label, paths: e.paths, dest: e.dest ?? '' });
    for (const c of stages[i]!.imageCopies) finalImage.copies.push({ from: c.image, paths: c.paths, dest: c.dest });
  }
  return { stages, edges, target, finalImage, problem };
}

/** Boxes and arrows placed for drawing (pure numbers; the component only renders them). */
export interface GraphLayout {
  width: number;
  height: number;
  boxes: {
    index: number;
    x: number;
    y: number;
    w: number;
    h: number;
    /** Incoming copies, one text row each, at `y` (baseline); the arrow of a stage copy ends there. */
    copies: { y: number; from: string; paths: string[]; dest: string; image: boolean; line: number }[];
  }[];
  /** Arrows in the right-hand gutter, one lane each so they never overlap. */
  arrows: { edge: StageEdge; path: string; lane: number }[];
}

export const LAYOUT = { head: 44, row: 17, gap: 26, lane: 14, pad: 8 } as const;

/**
 * Stages top to bottom in Dockerfile order (dependencies come first, so arrows point down). Each box
 * lists the copies coming into it; each edge runs from the source box's right side out to its own lane
 * and back into the target box, at the FROM line or at the copy's row.
 */
export function layoutGraph(graph: StageGraph, width: number): GraphLayout {
  const { head, row, gap, lane, pad } = LAYOUT;
  const lanes = Math.max(1, graph.edges.length);
  const boxW = Math.max(180, width - pad * 2 - lanes * lane - 10);
  const right = pad + boxW;
  let y = pad;
  const boxes: GraphLayout['boxes'] = graph.stages.map((s) => {
    const copies: GraphLayout['boxes'][number]['copies'] = [];
    const incoming = [
      ...graph.edges.filter((e) => e.kind === 'copy' && e.to === s.index).map((e) => ({ from: graph.stages[e.from]!.label, paths: e.paths, dest: e.dest ?? '', image: false, line: e.line })),
      ...s.imageCopies.map((c) => ({ from: c.image, paths: c.paths, dest: c.dest, image: true, line: c.line })),
    ].sort((a, b) => a.line - b.line);
    incoming.forEach((c, i) => copies.push({ ...c, y: y + head + 4 + i * row }));
    const h = head + (copies.length ? copies.length * row + 6 : 0);
    const box = { index: s.index, x: pad, y, w: boxW, h, copies };
    y += h + gap;
    return box;
  });
  // Short edges get the inner lanes.
  const order = graph.edges.map((edge, i) => ({ edge, i })).sort((a, b) => Math.abs(a.edge.to - a.edge.from) - Math.abs(b.edge.to - b.edge.from) || a.i - b.i);
  const arrows = order.map(({ edge }, laneIndex) => {
    const a = boxes[edge.from]!;
    const b = boxes[edge.to]!;
    const x = right + 10 + laneIndex * lane;
    const y1 = a.y + Math.min(a.h - 10, 30);
    const y2 = edge.kind === 'from' ? b.y + 15 : (b.copies.find((c) => !c.image && c.line === edge.line)?.y ?? b.y + b.h / 2) - 4;
    // A `--from` may name a later stage: the arrow then goes up.
    const r = 5 * Math.sign(y2 - y1 || 1);
    const path = `M ${right} ${y1} H ${x - 5} Q ${x} ${y1} ${x} ${y1 + r} V ${y2 - r} Q ${x} ${y2} ${x - 5} ${y2} H ${right + 2}`;
    return { edge, path, lane: laneIndex };
  });
  const last = boxes[boxes.length - 1];
  return { width: right + 10 + lanes * lane + pad, height: last ? last.y + last.h + pad : 0, boxes, arrows };
}
