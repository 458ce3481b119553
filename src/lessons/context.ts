/**
 * What lesson checks may ask about the learner's real state. src/lessons/engine-context.ts implements this over the engine
 * (image store, containers, build cache) and the VM (programs run in the guest). Checks only read state:
 * nothing here changes an image, a container or a file.
 *
 * Paths are absolute inside the image or container (`/app/x.txt`); checks also accept `app/x.txt`.
 * Image references are what a learner types: `app`, `app:1.0`, `python:3.11`, or an image id.
 */
import type { ContainerState, ContainerView, LayerView, WritableEntry } from '../engine/api.ts';

export type { ContainerState };

/** One file entry in a layer's diff against the layers below it. `D` is a whiteout. */
export type LessonLayerFile = Pick<LayerView['changes'][number], 'path' | 'kind' | 'size'>;

/**
 * One real filesystem layer (config-only instructions have no layer): its diffID (`sha256:…` of the
 * uncompressed tar), the instruction that made it as in `docker history` (`RUN echo hi`), its size.
 */
export interface LessonLayer extends Pick<LayerView, 'diffID' | 'createdBy' | 'size'> {
  files: LessonLayerFile[];
}

export interface LessonImageConfig {
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

export interface LessonImage {
  /** `sha256:…` */
  id: string;
  /** `app:latest`, `app:1.0` … */
  tags: string[];
  /** Bottom first; only real layers. */
  layers: LessonLayer[];
  /** One entry per instruction, bottom first, including config-only ones (`emptyLayer: true`). */
  history: { createdBy: string; emptyLayer: boolean }[];
  config: LessonImageConfig;
  size: number;
}

/** One entry of `docker diff`: A added, C changed, D deleted (a whiteout in the writable layer). */
export type LessonWritableEntry = Pick<WritableEntry, 'path' | 'kind' | 'size'>;

/**
 * A container as checks see it: `image` is the reference it was created from as given (`app`, `app:1.0`)
 * or the image id; `exitCode` is null when it never ran or is running; `sizeRw` is the writable layer's
 * bytes and `sizeRootFs` image + writable layer (`docker ps -s` "size" and "virtual").
 */
export interface LessonContainer extends Pick<ContainerView, 'id' | 'name' | 'image' | 'state' | 'exitCode' | 'sizeRw' | 'sizeRootFs'> {
  writable: LessonWritableEntry[];
}

export interface LessonVolume {
  name: string;
  /** Where the volume's files live in the VM (readable with `exec`). */
  mountpoint: string;
}

export interface LessonBuildStep {
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
  steps: LessonBuildStep[];
}

export interface ExecResult {
  exit: number;
  stdout: string;
  stderr: string;
}

export interface LessonContext {
  /** The image a reference names, or null when there is none. */
  image(ref: string): Promise<LessonImage | null>;
  /** Every container that exists (running or not). */
  containers(): Promise<LessonContainer[]>;
  volumes(): Promise<LessonVolume[]>;
  /** The most recent finished build (successful or not), or null when nothing was built in this lesson. */
  lastBuild(): BuildSummary | null;
  /** A program run in the VM, outside any container. */
  exec(argv: string[]): Promise<ExecResult>;
  /** A program run inside a running container (by name or id). */
  containerExec(container: string, argv: string[]): Promise<ExecResult>;
}
