/** The pieces a container's life is made of, shared by the lifecycle, attach and the `Containers` facade. */
import type { BlobBackend } from '../store/backend.ts';
import type { ImageStore } from '../store/image-store.ts';
import type { Guest } from '../guest.ts';
import type { ChangeEvent } from '../api.ts';
import type { ContainerRecords } from './records.ts';
import type { ContainerOutput } from './output.ts';
import type { ContainerFilesystems } from './filesystem.ts';
import type { WritableFeed } from './writable-feed.ts';
import type { ContainerNetworking } from './networking.ts';
import type { ContainerRuntime } from './runtime.ts';

export interface ContainerParts {
  store: ImageStore;
  backend: BlobBackend;
  guest: Guest;
  records: ContainerRecords;
  output: ContainerOutput;
  filesystems: ContainerFilesystems;
  feed: WritableFeed;
  networking: ContainerNetworking;
  runtime: ContainerRuntime;
  emit: (event: ChangeEvent) => void;
}
