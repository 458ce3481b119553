/** An in-memory `LessonContext` for tests and UI development: state is plain data you edit. */
import type { BuildSummary, LessonContainer, ExecResult, LessonImage, LessonContext, LessonVolume } from './context.ts';

export interface FakeState {
  images: Record<string, LessonImage>;
  containers: LessonContainer[];
  volumes: LessonVolume[];
  build: BuildSummary | null;
  /** Keyed by argv joined with spaces; VM files for `cat`. */
  vm: Record<string, ExecResult>;
  files: Record<string, string>;
  /** Keyed by `container: argv joined`. */
  inContainer: Record<string, ExecResult>;
}

export function fakeContext(state: Partial<FakeState> = {}): LessonContext & { state: FakeState } {
  const s: FakeState = { images: {}, containers: [], volumes: [], build: null, vm: {}, files: {}, inContainer: {}, ...state };
  const notFound: ExecResult = { exit: 127, stdout: '', stderr: 'not found' };
  return {
    state: s,
    async image(ref) {
      const key = ref.includes(':') || ref.startsWith('sha256:') ? ref : `${ref}:latest`;
      return s.images[key] ?? Object.values(s.images).find((i) => i.id === ref) ?? null;
    },
    async containers() {
      return s.containers;
    },
    async volumes() {
      return s.volumes;
    },
    lastBuild() {
      return s.build;
    },
    async exec(argv) {
      if (argv[0] === 'cat' && argv[1]! in s.files) return { exit: 0, stdout: s.files[argv[1]!]!, stderr: '' };
      if (argv[0] === 'cat') return { exit: 1, stdout: '', stderr: `cat: can't open '${argv[1]}': No such file or directory` };
      return s.vm[argv.join(' ')] ?? notFound;
    },
    async containerExec(container, argv) {
      return s.inContainer[`${container}: ${argv.join(' ')}`] ?? notFound;
    },
  };
}

/** An image with layers given as [createdBy, files] pairs. */
export function fakeImage(
  id: string,
  tags: string[],
  layers: [string, { path: string; kind?: 'A' | 'M' | 'D'; size?: number }[]][],
  config: LessonImage['config'] = {},
): LessonImage {
  return {
    id,
    tags,
    layers: layers.map(([createdBy, files], i) => ({
      diffID: `sha256:${createdBy.startsWith('ADD busybox') ? 'b'.repeat(64) : `${id.slice(7, 10)}${i}`.padEnd(64, '0')}`,
      createdBy,
      size: files.reduce((n, f) => n + (f.size ?? 10), 0),
      files: files.map((f) => ({ path: f.path, kind: f.kind ?? 'A', size: f.size ?? 10 })),
    })),
    history: layers.map(([createdBy]) => ({ createdBy, emptyLayer: false })),
    config,
    size: 1000,
  };
}
