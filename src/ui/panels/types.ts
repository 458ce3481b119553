/** Data shown by the Build log, Images and Containers panels, and the actions their buttons call. */
import type { ContainerState } from '../../engine/api.ts';
import type { TransferVM } from './pulls.ts';

export type { TransferVM };
import { containerStatus } from '../../client/format.ts';

export type BuildStepStatus = 'waiting' | 'running' | 'cached' | 'done' | 'error';

/** One BuildKit step (`#3 [2/4] RUN …`). */
export interface BuildStepVM {
  /** BuildKit vertex number: `#3`. */
  id: number;
  /** `[2/4] RUN apk add curl` — shown as written. */
  name: string;
  /** 1-based Dockerfile line; 0 for steps without one (load context, export). */
  line: number;
  status: BuildStepStatus;
  /** Seconds, once done. */
  seconds?: number;
  /** Output lines of the step (RUN stdout/stderr). */
  output: string[];
  error?: string;
}

export interface BuildLogVM {
  /** `idle` before the first build. */
  state: 'idle' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  steps: BuildStepVM[];
  /** 0..1 */
  progress: number;
  /** Resulting image id when succeeded. */
  imageId?: string;
  /** Total seconds. */
  seconds?: number;
  error?: string;
  /** FROM images the build pulled first, with their progress. */
  pulls?: TransferVM[];
}

export interface ImageRowVM {
  id: string;
  /** `app:latest`; `<none>:<none>` for dangling images. */
  tags: string[];
  /** Bytes (sum of layer sizes). */
  size: number;
  /** ISO date. */
  created: string;
  layerCount: number;
}

export interface ContainerRowVM {
  id: string;
  name: string;
  image: string;
  /** Image id the container was made from (to draw its writable layer over the right stack). */
  imageId: string;
  command: string;
  state: ContainerState;
  /** `Exited (0) 2 minutes ago`, `Up 5 seconds` (as of when the row was made: see startedAt). */
  status: string;
  /** ISO times the status is computed from, so it keeps ticking between engine updates. */
  startedAt?: string | null;
  finishedAt?: string | null;
  /** Writable layer bytes (`docker ps -s` size). */
  size: number;
  /** Image bytes + writable (`virtual`). */
  virtualSize: number;
  exitCode?: number;
  /** Published ports while running (`-p 8080:8000` → hostPort 8080, containerPort 8000). */
  ports?: { hostIp: string; hostPort: number; containerPort: number }[];
}

/** What the panels' buttons do. The backend implements it on the engine (same effect as typing the command). */
export interface Actions {
  run(image: string, options?: { name?: string; detach?: boolean; command?: string[] }): Promise<void>;
  start(container: string): Promise<void>;
  stop(container: string): Promise<void>;
  /** `docker pause` / `docker unpause`. Absent: the backend cannot freeze containers. */
  pause?(container: string): Promise<void>;
  unpause?(container: string): Promise<void>;
  rm(container: string, options?: { force?: boolean }): Promise<void>;
  commit(container: string, options?: { tag?: string; message?: string }): Promise<void>;
  rmi(image: string, options?: { force?: boolean }): Promise<void>;
  /** `docker save`: the image as a tar (`docker` = docker-archive, what `docker load` reads; `oci` = OCI layout). */
  save(image: string, options?: { format?: 'docker' | 'oci' }): Promise<Uint8Array>;
  /** `docker load`: images from a docker-archive or OCI tar. */
  load(data: Uint8Array): Promise<{ images: { id: string; tags: string[] }[]; warnings: string[] }>;
  /** `docker pull`; progress arrives through EngineView.transfers. Absent: the backend cannot pull. */
  pull?(ref: string): Promise<void>;
}

/** A container's STATUS as `docker ps` prints it at `now` (Docker's formatter, so the UI and CLI agree). */
export function statusAt(row: ContainerRowVM, now: number): string {
  if (row.startedAt === undefined) return row.status;
  return containerStatus({ state: row.state === 'running' || row.state === 'paused' || row.state === 'created' ? row.state : 'exited', exitCode: row.exitCode ?? null, startedAt: row.startedAt, finishedAt: row.finishedAt ?? null, now });
}
