/**
 * What lesson checks may ask about the learner's real state. src/lessons/engine-context.ts implements this over the engine
 * (image store, containers, build cache) and the VM (programs run in the guest). Checks only read state:
 * nothing here changes an image, a container or a file.
 *
 * Paths are absolute inside the image or container (`/app/x.txt`); checks also accept `app/x.txt`.
 * Image references are what a learner types: `app`, `app:1.0`, `python:3.11`, or an image id.
 */
import type { ContainerState, LayerChangeKind, WritableChangeKind } from '../engine/api.ts';

export type { ContainerState };

/** One file entry in a layer's diff against the layers below it. `D` is a whiteout. */
export interface LayerFileView {
  path: string;
  kind: LayerChangeKind;
  size: number;
}

/** One real filesystem layer (config-only instructions have no layer). */
export interface LayerView {
  /** `sha256:…` of the uncompressed layer tar. */
  diffID: string;
  /** The instruction that made the layer, as in `docker history` (e.g. `RUN echo hi` or `COPY hello.txt /`). */
  createdBy: string;
  size: number;
  files: LayerFileView[];
}

export interface ImageConfigView {
  Cmd?: string[];
  Entrypoint?: string[];
  /** `KEY=value` entries. */
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  /** `{"8000/tcp": {}}` */
  ExposedPorts?: Record<string, unknown>;
  Labels?: Record<string, string>;
}

export interface ImageView {
  /** `sha256:…` */
  id: string;
  /** `app:latest`, `app:1.0` … */
  tags: string[];
  /** Bottom first; only real layers. */
  layers: LayerView[];
  /** One entry per instruction, bottom first, including config-only ones (`emptyLayer: true`). */
  history: { createdBy: string; emptyLayer: boolean }[];
  config: ImageConfigView;
  size: number;
}

/** One entry of `docker diff`: A added, C changed, D deleted (a whiteout in the writable layer). */
export interface WritableEntryView {
  path: string;
  kind: WritableChangeKind;
  size: number;
}

export interface ContainerView {
  id: string;
  name: string;
  /** The reference the container was created from, as given (`app`, `app:1.0`) or the image id. */
  image: string;
  state: ContainerState;
  /** Exit code of the last run; null when it never ran or is running. */
  exitCode: number | null;
  writable: WritableEntryView[];
  /** Bytes in the writable layer (`docker ps -s` "size"). */
  sizeRw: number;
  /** Image + writable layer (`docker ps -s` "virtual"). */
  sizeRootFs: number;
}

export interface VolumeView {
  name: string;
  /** Where the volume's files live in the VM (readable with `exec`). */
  mountpoint: string;
}

export interface BuildStepView {
  /** 1-based line of the instruction in the Dockerfile. */
  line: number;
  /** The instruction as written, e.g. `RUN python3 make_index.py`. */
  instruction: string;
  cached: boolean;
  /** Bytes of the layer the step made (0 for config-only steps). */
  layerSize: number;
}

export interface BuildSummary {
  /** The tag given with `-t` (`app`, `app:1.0`); null for an untagged build. */
  tag: string | null;
  steps: BuildStepView[];
}

export interface ExecResult {
  exit: number;
  stdout: string;
  stderr: string;
}

export interface LessonContext {
  /** The image a reference names, or null when there is none. */
  image(ref: string): Promise<ImageView | null>;
  /** Every container that exists (running or not). */
  containers(): Promise<ContainerView[]>;
  volumes(): Promise<VolumeView[]>;
  /** The most recent finished build (successful or not), or null when nothing was built in this lesson. */
  lastBuild(): BuildSummary | null;
  /** A program run in the VM, outside any container. */
  exec(argv: string[]): Promise<ExecResult>;
  /** A program run inside a running container (by name or id). */
  containerExec(container: string, argv: string[]): Promise<ExecResult>;
}
