/** Boot progress as data: the VM layer reports named steps, the overlay draws them. */
export interface BootProgress {
  /** What is happening, for people: "Downloading VM (3.2 / 12 MB)", "Restoring snapshot", "Starting shell". */
  step: string;
  /** 0..1 overall progress. */
  value: number;
}

export type BootErrorKind = 'unsupported-browser' | 'asset-failed' | 'storage-unavailable' | 'crashed';

/** Throw this from `Backend.boot` so the overlay can say precisely what went wrong. */
export class BootError extends Error {
  constructor(
    readonly kind: BootErrorKind,
    message: string,
    /** e.g. the asset URL that failed, or the missing feature. */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'BootError';
  }
}

/** Features the app needs; checked before anything downloads. Returns the first one missing. */
export function missingBrowserFeature(g: typeof globalThis = globalThis): BootError | null {
  if (typeof (g as { WebAssembly?: unknown }).WebAssembly !== 'object') {
    return new BootError(
      'unsupported-browser',
      'This browser cannot run WebAssembly, which Layerlab needs to run its Linux VM.',
      'WebAssembly',
    );
  }
  if (!('indexedDB' in g) || !g.indexedDB) {
    return new BootError(
      'storage-unavailable',
      'This browser does not offer IndexedDB (private mode can turn it off), so your work could not be saved.',
      'IndexedDB',
    );
  }
  return null;
}
