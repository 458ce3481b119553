/**
 * Docker's pull/push progress vocabulary: the daemon's JSON messages, one per layer and status. The client
 * renders them (src/client/transfer-progress.ts).
 */
export type LayerStatus =
  | 'Pulling fs layer'
  | 'Waiting'
  | 'Downloading'
  | 'Verifying Checksum'
  | 'Download complete'
  | 'Extracting'
  | 'Pull complete'
  | 'Already exists'
  | 'Preparing'
  | 'Pushing'
  | 'Pushed'
  | 'Layer already exists'
  | 'Mounted from';

export type TransferEvent =
  /** A header line: `1.36: Pulling from library/busybox`, `The push refers to repository [...]`. */
  | { kind: 'status'; text: string }
  | { kind: 'layer'; id: string; status: LayerStatus; current?: number; total?: number; detail?: string };
