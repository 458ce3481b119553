import { EngineError } from '../oci/errors.ts';

/** A registry answered with an error (or could not be reached). */
export class RegistryError extends EngineError {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The image exists but has no variant the VM can run. */
export class PlatformError extends EngineError {}

/** Registries cannot be reached from here at all (a static deployment, an embed without opt-in). */
export class RegistryUnavailableError extends EngineError {}
